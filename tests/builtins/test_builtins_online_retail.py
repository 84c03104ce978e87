"""rfm, abc and lifecycle on Online Retail II against an independent pandas implementation of DESIGN.md section 6.

Written from the design text alone (not from the built-in YAML): every customer must land in the same segment,
at the end of the data and at the month ends of a backfill, where only the customers seen by then exist
(section 4, `first_seen_at`; computed here from the raw file).
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from segmentum.runs.backfill import backfill
from segmentum.store import snapshots as snapshot
from segmentum.workspace import Workspace

pytestmark = [pytest.mark.slow, pytest.mark.realdata]

GRID = {  # (R, F) -> segment, DESIGN.md section 6
    5: ["new_customers", "potential_loyalists", "potential_loyalists", "champions", "champions"],
    4: ["promising", "potential_loyalists", "potential_loyalists", "loyal_customers", "loyal_customers"],
    3: ["about_to_sleep", "about_to_sleep", "need_attention", "loyal_customers", "loyal_customers"],
    2: ["hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"],
    1: ["hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"],
}


def quintile_scores(values: pd.Series, bins: int = 5) -> pd.Series:
    """score = 1 + #{k : value > P_k}, P_k the smallest value whose cumulative share is at least k/bins."""
    ordered = sorted(values.tolist())
    n = len(ordered)
    cuts = [next(v for v in ordered if bins * bisect_right(ordered, v) >= k * n) for k in range(1, bins)]
    return values.map(lambda v: 1 + sum(1 for p in cuts if v > p))


@pytest.fixture
def retail(tmp_path: Path, shared_data: Path) -> tuple[Workspace, int, datetime]:
    ws = Workspace.init(tmp_path / "retail", name="retail")
    ws.ingest("order_items", shared_data / "online_retail_ii_2009_2010.parquet")
    result = ws.run(as_of="latest")
    yield ws, result.run_id, result.as_of
    ws.close()


def first_seen(path: Path) -> pd.Series:
    """customer id -> the first timestamp of any line of theirs (cancellations too), read from the raw file."""
    raw = pd.read_parquet(path, columns=["Customer ID", "InvoiceDate"]).dropna(subset=["Customer ID"])
    ids = raw["Customer ID"].map(lambda v: str(int(v)) if float(v).is_integer() else str(v))
    return raw.groupby(ids)["InvoiceDate"].min()


def expected_segments(ws: Workspace, as_of: datetime, seen: pd.Series | None = None) -> pd.DataFrame:
    """Every customer's rfm, abc and lifecycle segment at `as_of`; with `seen` (customer -> first_seen_at),
    only the customers seen at or before `as_of` are customers of the run."""
    orders = (
        ws.store.cursor()
        .execute("SELECT order_id, customer_id, ordered_at, amount, status FROM main.orders")
        .df()
    )
    customers = ws.store.cursor().execute("SELECT customer_id FROM main.customers").df()
    if seen is not None:
        customers = customers[customers["customer_id"].map(seen) <= pd.Timestamp(as_of)]
    orders["amount"] = orders["amount"].map(Decimal)
    qualifying = orders[
        (orders["amount"] >= 0)
        & ~orders["status"].fillna("").str.lower().isin(["cancelled", "returned"])
        & (orders["ordered_at"] <= as_of)
    ]
    day = as_of.date()
    per = qualifying.groupby("customer_id").agg(
        first=("ordered_at", "min"),
        last=("ordered_at", "max"),
        frequency=("order_id", "count"),
        monetary=("amount", "sum"),
    )
    per["recency"] = per["last"].map(lambda t: (day - t.date()).days)
    r = quintile_scores(-per["recency"])
    f = quintile_scores(per["frequency"])
    per["rfm"] = [GRID[rs][fs - 1] for rs, fs in zip(r, f, strict=True)]
    # ABC: revenue descending, then customer_id; `before` = revenue of the customers ahead
    revenue = customers.set_index("customer_id").join(per["monetary"]).fillna({"monetary": Decimal(0)})
    revenue["monetary"] = revenue["monetary"].map(lambda v: v if isinstance(v, Decimal) else Decimal(0))
    ranked = revenue.reset_index().sort_values(
        ["monetary", "customer_id"], ascending=[False, True], kind="mergesort"
    )
    total = sum(ranked["monetary"], Decimal(0))
    before, classes = Decimal(0), {}
    for cid, amount in zip(ranked["customer_id"], ranked["monetary"], strict=True):
        if amount <= 0:
            classes[cid] = "none"
        elif 100 * before < 80 * total:
            classes[cid] = "A"
        elif 100 * before < 95 * total:
            classes[cid] = "B"
        else:
            classes[cid] = "C"
        before += amount
    # lifecycle: first match of the ordered rules
    q = qualifying.sort_values(["customer_id", "ordered_at", "order_id"])
    q["gap"] = q.groupby("customer_id")["ordered_at"].transform(
        lambda s: s.map(lambda t: t.date()).diff().map(lambda d: d.days if pd.notna(d) else None)
    )
    recent = q[q["ordered_at"] > as_of - timedelta(days=90)]
    reactivated = set(recent[recent["gap"].astype(float) > 180]["customer_id"])
    stages = {}
    for cid in customers["customer_id"]:
        if cid not in per.index:
            stages[cid] = "prospect"
            continue
        first_days = (day - per.at[cid, "first"].date()).days
        last_days = per.at[cid, "recency"]
        stages[cid] = (
            "new"
            if first_days <= 30
            else "reactivated"
            if cid in reactivated
            else "active"
            if last_days <= 90
            else "at_risk"
            if last_days <= 180
            else "lapsed"
            if last_days <= 365
            else "churned"
        )
    out = customers.copy()
    out["rfm"] = out["customer_id"].map(per["rfm"]).fillna("no_purchase")
    out["abc"] = out["customer_id"].map(classes)
    out["lifecycle"] = out["customer_id"].map(stages)
    return out.set_index("customer_id").sort_index()


def got_segments(ws: Workspace, run_id: int) -> pd.DataFrame:
    got = snapshot.memberships(ws.store, run_id)
    return (
        got[got["segmentation"].isin(["rfm", "abc", "lifecycle"])]
        .pivot(index="customer_id", columns="segmentation", values="segment")
        .sort_index()
    )


def assert_same_segments(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(got.index) == list(expected.index)  # the same customers, none lost, none early
    for segmentation in ("rfm", "abc", "lifecycle"):
        differ = got[segmentation] != expected[segmentation]
        assert not differ.any(), (
            segmentation,
            pd.concat([got[segmentation], expected[segmentation]], axis=1)[differ].head(10),
        )


def test_every_customer_lands_in_the_same_rfm_abc_and_lifecycle_segment(retail) -> None:  # type: ignore[no-untyped-def]
    ws, run_id, as_of = retail
    expected = expected_segments(ws, as_of)
    got = got_segments(ws, run_id)
    assert len(got) == len(expected) == 4383  # every customer of the run, none lost
    assert_same_segments(got, expected)
    # sanity: the classic shapes hold on real data
    assert (expected["abc"] == "A").mean() < 0.35
    assert set(expected["lifecycle"]) >= {"new", "active", "at_risk", "lapsed", "prospect"}
    assert expected["rfm"].nunique() >= 9 and expected["abc"].nunique() == 4


def test_a_monthly_backfill_holds_at_each_month_end_exactly_the_customers_seen_by_then(
    tmp_path: Path, shared_data: Path
) -> None:
    """DESIGN.md section 4: customers derived from the orders exist from their first line on, so no month end
    counts a customer who had not appeared yet (as a prospect or a `no_purchase`); rfm, abc and lifecycle at
    three month ends equal the independent computation at that date."""
    path = shared_data / "online_retail_ii_2009_2010.parquet"
    ws = Workspace.init(tmp_path / "retail", name="retail")
    try:
        ws.ingest("order_items", path)
        results = backfill(ws, date(2009, 12, 1), date(2010, 12, 9), "1m")
        seen = first_seen(path)
        assert len(results) == 13
        for result in results:
            customers = set(result.traits()["customer_id"])
            assert customers == set(seen[seen <= pd.Timestamp(result.as_of)].index), result.as_of
        assert [len(set(r.traits()["customer_id"])) for r in results][:3] == [1045, 1439, 1802]
        for result in (results[0], results[4], results[9]):  # 2009-12-31, 2010-04-30, 2010-09-30
            expected = expected_segments(ws, result.as_of, seen)
            assert_same_segments(got_segments(ws, result.run_id), expected)
            # only customers whose lines so far are all cancellations have no purchase (not 70 % of the base)
            assert (expected["rfm"] == "no_purchase").mean() < 0.1
    finally:
        ws.close()
