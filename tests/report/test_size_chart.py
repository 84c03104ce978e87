"""The "size over time" chart (dashboard segment page; `report.charts.size_over_time`): a month-end point is
labelled with its own date, not with the next month (issue 14 item 8: "Nov 2026" under 31 October), and the
y axis starts at 0."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from segmentum.i18n import Translator
from segmentum.report.charts import MAX_DATE_TICKS, size_over_time


def _month_ends(year: int, months: range) -> list[datetime]:
    # the end of the last day, as `--as-of YYYY-MM-DD` and backfills write it
    return [
        datetime(year, m + 1, 1) - timedelta(microseconds=1)
        if m < 12
        else datetime(year, 12, 31, 23, 59, 59, 999999)
        for m in months
    ]


def _history(as_of: list[datetime], sizes: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"as_of": as_of, "name": "rfm.champions", "customers": sizes})


def test_month_end_points_carry_their_own_dates_and_y_starts_at_0() -> None:
    ends = _month_ends(2026, range(8, 11))  # 31 August, 30 September, 31 October
    fig = size_over_time(_history(ends, [120, 130, 125]), Translator("en"))
    axis = fig.layout.xaxis
    assert list(axis.ticktext) == ["2026-08-31", "2026-09-30", "2026-10-31"]
    assert [pd.Timestamp(v) for v in axis.tickvals] == [
        pd.Timestamp(v) for v in ends
    ]  # each tick on its point
    assert axis.tickmode == "array"
    assert fig.layout.yaxis.rangemode == "tozero"
    (trace,) = fig.data
    assert list(trace.text) == ["2026-08-31", "2026-09-30", "2026-10-31"]  # hover says the same date
    uk = size_over_time(_history(ends, [120, 130, 125]), Translator("uk"))
    assert list(uk.layout.xaxis.ticktext) == ["31.08.2026", "30.09.2026", "31.10.2026"]


def test_a_long_history_gets_at_most_twelve_labels_ending_with_the_newest() -> None:
    ends = _month_ends(2024, range(1, 13)) + _month_ends(2025, range(1, 13)) + _month_ends(2026, range(1, 11))
    fig = size_over_time(_history(ends, list(range(len(ends)))), Translator("en"))
    labels = list(fig.layout.xaxis.ticktext)
    assert 1 < len(labels) <= MAX_DATE_TICKS
    assert labels[-1] == "2026-10-31" and all(
        label in {d.date().isoformat() for d in ends} for label in labels
    )
