"""The Pareto curve of a run with many customers and tied revenues, against a ranking of every customer done here.

`pareto` ranks in the store and brings back only the rows it shows; this ranks all of them in pandas (revenue
descending, then customer id) and picks the points, cuts and the 20 % share from the whole list.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from segmentum.analysis import pareto
from segmentum.store.memberships import add as add_memberships
from segmentum.workspace import Workspace

CUSTOMERS = 257  # not a multiple of the points: the last customer is a point of its own
AS_OF = "2024-06-30 23:59:59"


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = Workspace.init(tmp_path / "ws")
    con = ws.store.con
    ids = [f"c{i:03d}" for i in range(CUSTOMERS)]
    con.execute("CREATE TABLE customers (customer_id VARCHAR)")
    con.executemany("INSERT INTO customers VALUES (?)", [(c,) for c in ids])
    con.execute(
        "CREATE TABLE orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, "
        "amount DECIMAL(38, 6), status VARCHAR)"
    )
    orders = []
    for i, customer in enumerate(ids):
        # few distinct amounts: many ties, broken by customer id; every seventh customer buys nothing
        for k in range(i % 7):
            orders.append((f"o{i}-{k}", customer, f"2024-0{1 + k % 5}-10", (i * 13 + k) % 4 * 10, None))
        if i % 11 == 0:  # after as_of: not counted
            orders.append((f"late{i}", customer, "2024-08-01", 5000, None))
        if i % 13 == 0:  # cancelled: not a qualifying order
            orders.append((f"x{i}", customer, "2024-03-01", 7000, "cancelled"))
    con.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?)", orders)
    con.execute(
        "INSERT INTO segmentum.runs (run_id, as_of, status, kind, customers) VALUES (1, ?, 'complete', 'batch', ?)",
        [AS_OF, CUSTOMERS],
    )
    con.execute("CREATE TABLE segmentum.traits_1 (customer_id VARCHAR)")
    con.executemany("INSERT INTO segmentum.traits_1 VALUES (?)", [(c,) for c in ids])
    for i, customer in enumerate(ids):
        cls = "ABC"[i % 3] if i % 5 else "none"
        add_memberships(con, "VALUES (?, ?, 'abc', ?, ?)", [1, customer, cls, f"abc.{cls}"])
    yield ws
    ws.close()


def _expected(ws: Workspace, points: int) -> dict:
    orders = ws.store.cursor().sql("SELECT * FROM orders").df()
    counted = orders[(orders["ordered_at"] <= pd.Timestamp(AS_OF)) & orders["status"].isna()]
    revenue = counted.groupby("customer_id")["amount"].sum().astype(float)
    members = ws.store.cursor().sql("SELECT customer_id, segment FROM segmentum.memberships").df()
    ranked = members.assign(revenue=members["customer_id"].map(revenue).fillna(0.0))
    ranked = ranked.sort_values(["revenue", "customer_id"], ascending=[False, True]).reset_index(drop=True)
    n = len(ranked)
    ranked["customer_share"] = (ranked.index + 1) / n
    ranked["revenue_share"] = ranked["revenue"].cumsum() / ranked["revenue"].sum()
    step = max(1, n // points)
    picks = sorted(set(range(step - 1, n, step)) | {n - 1})
    cuts = {
        cls: {
            "customer_share": group["customer_share"].iloc[-1],
            "revenue_share": group["revenue_share"].iloc[-1],
            "customers": len(group),
        }
        for cls, group in ranked.groupby("segment")
    }
    return {
        "curve": [
            (0.0, 0.0),
            *zip(ranked["customer_share"].iloc[picks], ranked["revenue_share"].iloc[picks], strict=True),
        ],
        "cuts": cuts,
        "top": ranked["revenue_share"].iloc[max(0, int(round(0.2 * n)) - 1)],
    }


@pytest.mark.parametrize("points", [1, 2, 10, 100, 1000])
def test_the_curve_cuts_and_top_share_are_those_of_the_whole_ranking(ws: Workspace, points: int) -> None:
    result = pareto(ws, points=points)
    expected = _expected(ws, points)
    curve = list(result["curve"].itertuples(index=False, name=None))
    assert len(curve) == len(expected["curve"])
    assert curve == [pytest.approx(point) for point in expected["curve"]]
    assert sorted(result["cuts"]) == sorted(expected["cuts"]) == ["A", "B", "C", "none"]
    for cls, cut in expected["cuts"].items():
        assert result["cuts"][cls] == pytest.approx(cut)
    assert result["top_20_percent_revenue_share"] == pytest.approx(expected["top"])
