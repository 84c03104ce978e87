from __future__ import annotations

from datetime import date

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
