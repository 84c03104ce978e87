"""The purchase summary computed in DuckDB: same-day purchases, zero-value and cancelled orders, periods, units."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from segmentum.errors import ModelError
from segmentum.models.summary import check_summary, purchase_summary
from segmentum.workspace import Workspace

ORDERS = [
    # order_id, customer_id, ordered_at, amount, status
    ("1", "A", "2024-01-01 09:00", "10.00", None),
    ("2", "A", "2024-01-01 18:30", "5.50", "completed"),  # same day: one purchase of 15.50
    ("3", "A", "2024-01-08 12:00", "0", None),  # zero-value purchase counts
    ("4", "A", "2024-01-15 10:00", "99.00", "cancelled"),  # not a purchase
    ("5", "A", "2024-01-16 10:00", "-20.00", None),  # refund: not a purchase
    (
        "6",
        "A",
        "2024-01-22 10:00",
        "30.00",
        "Returned",
    ),  # not a purchase (status compared case-insensitively)
    ("7", "A", "2024-01-29 23:59:59.999", "12.00", None),  # last moment of the calibration end: inside
    ("8", "A", "2024-01-30 00:00", "7.00", None),  # holdout
    ("9", "A", "2024-01-30 15:00", "3.00", None),  # holdout, same day as 8
    ("10", "A", "2024-02-12 08:00", "20.00", None),  # holdout
    ("11", "A", "2024-03-01 08:00", "20.00", None),  # after the holdout end: ignored
    ("12", "B", "2024-01-15 08:00", "40.00", None),  # single purchase
    ("13", "C", "2024-01-30 08:00", "40.00", None),  # first purchase after calibration: excluded
    ("14", "D", "2024-01-10 08:00", "25.00", "cancelled"),  # only a cancelled order: no purchase
]


@pytest.fixture
def shop(workspace: Workspace) -> Workspace:
    con = workspace.store.cursor()
    con.execute("""CREATE TABLE main.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP,
                   amount DECIMAL(38, 6), status VARCHAR)""")
    con.executemany(
        "INSERT INTO main.orders VALUES (?, ?, CAST(? AS TIMESTAMP), CAST(? AS DECIMAL(38, 6)), ?)", ORDERS
    )
    return workspace


def test_weekly_summary_of_a_hand_made_shop(shop: Workspace) -> None:
    s = purchase_summary(shop, calibration_end="2024-01-29")
    assert list(s.index) == ["A", "B"]
    a, b = s.loc["A"], s.loc["B"]
    # A bought on Jan 1 (15.50), Jan 8 (0) and Jan 29 (12): two repeat purchase days
    assert a["frequency"] == 2
    assert a["recency"] == pytest.approx(28 / 7)
    assert a["T"] == pytest.approx(28 / 7)
    assert a["monetary_value"] == pytest.approx((0 + 12) / 2)
    assert (b["frequency"], b["recency"], b["T"], b["monetary_value"]) == (0, 0, pytest.approx(14 / 7), 0)
    assert s.attrs["time_unit"] == "week" and s.attrs["calibration_end"] == "2024-01-29"


def test_day_and_month_units(shop: Workspace) -> None:
    days = purchase_summary(shop, calibration_end="2024-01-29", time_unit="day")
    assert (days.loc["A", "recency"], days.loc["A", "T"], days.loc["B", "T"]) == (28, 28, 14)
    months = purchase_summary(shop, calibration_end="2024-01-29", time_unit="month")
    assert months.loc["A", "T"] == pytest.approx(28 / (365.25 / 12))


def test_holdout_columns(shop: Workspace) -> None:
    s = purchase_summary(
        shop, calibration_end=datetime(2024, 1, 29, 8, 0), holdout_end="2024-02-29", time_unit="day"
    )
    a, b = s.loc["A"], s.loc["B"]
    assert a["frequency"] == 2  # a datetime means its whole day
    # holdout purchase days: Jan 30 (7 + 3) and Feb 12 (20); Mar 1 is after the holdout end
    assert (a["frequency_holdout"], a["monetary_holdout"], a["duration_holdout"]) == (2, 15, 31)
    assert (b["frequency_holdout"], b["monetary_holdout"]) == (0, 0)
    assert "C" not in s.index  # first purchase in the holdout: not a calibration customer


def test_period_and_unit_errors(shop: Workspace) -> None:
    with pytest.raises(ModelError, match="holdout end 2024-01-29 is not after calibration end 2024-01-29"):
        purchase_summary(shop, calibration_end="2024-01-29", holdout_end="2024-01-29")
    with pytest.raises(ModelError, match="time unit 'fortnight' is not supported; allowed: day, week, month"):
        purchase_summary(shop, calibration_end="2024-01-29", time_unit="fortnight")
    with pytest.raises(ModelError, match="is not a date"):
        purchase_summary(shop, calibration_end="29/01/2024")


def test_no_orders_table_is_a_domain_error(workspace: Workspace) -> None:
    with pytest.raises(ModelError, match="no orders table"):
        purchase_summary(workspace, calibration_end="2024-01-29")


def test_check_summary_counts_impossible_histories() -> None:
    bad = pd.DataFrame({"frequency": [1, 2, 0, 3], "recency": [5, 9, 0, 1], "T": [4, 8, 3, 10]})
    with pytest.raises(ModelError, match="recency is larger than T for 2 customers"):
        check_summary(bad)
    with pytest.raises(ModelError, match=r"frequency is negative for 1 customer\."):
        check_summary(pd.DataFrame({"frequency": [-1, 0], "recency": [0, 0], "T": [1, 1]}))
    with pytest.raises(ModelError, match="lacks column"):
        check_summary(pd.DataFrame({"frequency": [1]}))
    with pytest.raises(ModelError, match="no customers"):
        check_summary(pd.DataFrame({"frequency": [], "recency": [], "T": []}))


def test_latest_calibration_end_is_the_newest_qualifying_order_day(shop: Workspace) -> None:
    s = purchase_summary(shop, calibration_end="latest", time_unit="day")
    assert s.attrs["calibration_end"] == "2024-03-01"
    assert set(s.index) == {"A", "B", "C"}
    assert s.loc["A", "T"] == 60  # Jan 1 .. Mar 1 2024
