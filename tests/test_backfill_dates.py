from __future__ import annotations

from datetime import date, timedelta

import pytest

from segmentum.runs.backfill import BackfillError, backfill_dates


def test_month_ends_and_the_last_day() -> None:
    points = backfill_dates(date(2010, 1, 15), date(2010, 4, 9), "1m")
    assert points == [date(2010, 1, 31), date(2010, 2, 28), date(2010, 3, 31), date(2010, 4, 9)]


def test_leap_february_and_two_month_step() -> None:
    assert backfill_dates(date(2024, 1, 1), date(2024, 5, 31), "2m") == [
        date(2024, 1, 31),
        date(2024, 3, 31),
        date(2024, 5, 31),
    ]
    assert date(2024, 2, 29) in backfill_dates(date(2024, 2, 1), date(2024, 3, 1), "1m")


def test_days_weeks_and_years() -> None:
    assert backfill_dates(date(2024, 1, 1), date(2024, 1, 15), "1w") == [
        date(2024, 1, 1),
        date(2024, 1, 8),
        date(2024, 1, 15),
    ]
    assert backfill_dates(date(2020, 6, 1), date(2022, 3, 1), "1y") == [
        date(2020, 12, 31),
        date(2021, 12, 31),
        date(2022, 3, 1),
    ]


@pytest.mark.parametrize("every", ["month", "0d", "1q"])
def test_bad_step_is_explained(every: str) -> None:
    with pytest.raises(BackfillError, match="--every"):
        backfill_dates(date(2024, 1, 1), date(2024, 2, 1), every)


def test_end_before_start() -> None:
    with pytest.raises(BackfillError, match="before"):
        backfill_dates(date(2024, 2, 1), date(2024, 1, 1), "1d")


def test_a_series_longer_than_the_limit_is_refused_before_any_point_is_listed() -> None:
    """A typo in a year (0204 for 2024) must not start millions of runs that hold the run lock for days."""
    from segmentum.runs.backfill import MAX_POINTS

    days = (date(2024, 12, 31) - date(2, 1, 1)).days + 1
    with pytest.raises(BackfillError, match=rf"about {days:,} runs.*at most 3,660.*--every 1w"):
        backfill_dates(date(2, 1, 1), date(2024, 12, 31), "1d")
    with pytest.raises(BackfillError, match="at most"):
        backfill_dates(date(1, 1, 1), date(9999, 12, 31), "1m")
    # the limit itself is allowed: ten years of days
    assert len(backfill_dates(date(2015, 1, 1), date(2015, 1, 1) + timedelta(days=MAX_POINTS - 1), "1d")) == (
        MAX_POINTS
    )
    assert (
        len(backfill_dates(date(1, 1, 1), date(9999, 12, 31), "3y")) == 3334
    )  # 3,333 year ends and the last day
