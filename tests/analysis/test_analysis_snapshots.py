"""Analyses on a hand-built snapshot in a real store: every figure checked against a direct computation."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from segmentum import snapshot
from segmentum.analysis import compare, crosstab, migration, pareto, profile, segment_history, time_in_segment
from segmentum.errors import NotFoundError
from segmentum.workspace import Workspace

CUSTOMERS = [("c1", "UA", "software"), ("c2", "UA", "transport"), ("c3", "PL", "software"), ("c4", "DE", None)]
ORDERS = [  # order_id, customer, day, amount, status
    ("o1", "c1", "2024-01-05", 100, None), ("o2", "c1", "2024-02-05", 300, None), ("o3", "c2", "2024-02-10", 50, None),
    ("o4", "c3", "2024-02-11", 20, "cancelled"), ("o5", "c3", "2024-02-12", 30, None),
    ("o6", "c1", "2024-05-01", 999, None),  # after both runs' as_of: invisible
]
RUNS = {1: "2024-01-31 23:59:59", 2: "2024-02-29 23:59:59"}
MEMBERS = {  # run -> customer -> value_tier segment
    1: {"c1": "vip", "c2": "low", "c3": "low", "c4": "low"},
    2: {"c1": "vip", "c2": "vip", "c3": "low", "c4": "low"},
}
ABC = {2: {"c1": "A", "c2": "B", "c3": "C", "c4": "none"}}


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = Workspace.init(tmp_path / "ws")
    con = ws.store.con
    con.execute("CREATE TABLE customers (customer_id VARCHAR, country VARCHAR, industry VARCHAR)")
    con.executemany("INSERT INTO customers VALUES (?, ?, ?)", CUSTOMERS)
    con.execute("CREATE TABLE orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, "
                "amount DECIMAL(38, 6), status VARCHAR)")
    con.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?)", ORDERS)
    snapshot.ensure_tables(ws.store)
    for run_id, as_of in RUNS.items():
        con.execute("INSERT INTO segmentum.runs (run_id, as_of, status, kind, customers) "
                    "VALUES (?, ?, 'complete', 'batch', 4)", [run_id, as_of])
        con.execute(f"CREATE TABLE segmentum.traits_{run_id} (customer_id VARCHAR, spend DECIMAL(38, 6))")
        for customer, segment in MEMBERS[run_id].items():
            con.execute("INSERT INTO segmentum.memberships VALUES (?, ?, 'value_tier', ?, ?)",
                        [run_id, customer, segment, f"value_tier.{segment}"])
        for customer, segment in ABC.get(run_id, {}).items():
            con.execute("INSERT INTO segmentum.memberships VALUES (?, ?, 'abc', ?, ?)",
                        [run_id, customer, segment, f"abc.{segment}"])
    con.executemany("INSERT INTO segmentum.traits_2 VALUES (?, ?)", [("c1", 400), ("c2", 50), ("c3", 30), ("c4", 0)])
    yield ws
    ws.close()


def test_profile_figures_match_a_direct_computation(ws: Workspace) -> None:
    p = profile(ws, "value_tier.vip")
    assert p["run_id"] == 2 and p["size"] == 2 and p["share"] == 0.5
    # qualifying orders up to 2024-02-29: c1 100 + 300, c2 50, c3 30 (the cancelled one does not count)
    assert p["revenue"] == 450 and p["revenue_share"] == pytest.approx(450 / 480)
    assert p["avg_order_value"] == pytest.approx(450 / 3)
    assert p["avg_orders"] == pytest.approx(1.5)
    countries = p["attributes"][p["attributes"]["attribute"] == "country"].set_index("value")
    assert countries.loc["UA", "segment_share"] == 1.0 and countries.loc["UA", "base_share"] == 0.5
    assert countries.loc["UA", "lift"] == 2.0
    spend = p["numeric"].set_index("feature").loc["spend"]
    assert spend["segment_mean"] == pytest.approx(225) and spend["base_mean"] == pytest.approx(120)


def test_unknown_segment_suggests_the_closest(ws: Workspace) -> None:
    with pytest.raises(NotFoundError, match="did you mean 'value_tier.vip'"):
        profile(ws, "value_tier.vp")


def test_compare_and_crosstab(ws: Workspace) -> None:
    table = compare(ws, ["value_tier.vip", "value_tier.low"]).set_index("name")
    assert table.loc["value_tier.low", "size"] == 2 and table.loc["value_tier.low", "revenue"] == 30
    cross = crosstab(ws, "value_tier", "country")
    assert cross["customers"].sum() == 4
    cell = cross[(cross["value_tier"] == "vip") & (cross["country"] == "UA")].iloc[0]
    assert cell["customers"] == 2 and cell["revenue"] == 450


def test_pareto_curve_and_abc_cuts(ws: Workspace) -> None:
    result = pareto(ws)
    curve = result["curve"]
    assert curve.iloc[0].tolist() == [0.0, 0.0] and curve.iloc[-1].tolist() == [1.0, 1.0]
    assert result["cuts"]["A"] == {"customer_share": 0.25, "revenue_share": pytest.approx(400 / 480), "customers": 1}
    assert curve["revenue_share"].is_monotonic_increasing


def test_migration_counts_add_up_to_both_runs_sizes(ws: Workspace) -> None:
    result = migration(ws, "value_tier")
    assert (result["from_run"], result["to_run"]) == (1, 2)
    matrix = result["matrix"]
    assert matrix.loc["low", "vip"] == 1 and matrix.loc["vip", "vip"] == 1 and matrix.loc["low", "low"] == 2
    assert matrix.sum(axis=1).to_dict() == {"low": 3, "vip": 1}  # sizes in run 1
    assert matrix.sum(axis=0).to_dict() == {"low": 2, "vip": 2}  # sizes in run 2
    who = migration(ws, "value_tier", who=("low", "vip"))["customers"]
    assert who["customer_id"].tolist() == ["c2"]


def test_history_and_time_in_segment(ws: Workspace) -> None:
    history = segment_history(ws, "value_tier")
    assert history.groupby("run_id")["customers"].sum().tolist() == [4, 4]
    stay = time_in_segment(ws, "value_tier").set_index("segment")
    assert stay.loc["vip", "customers"] == 2
    assert stay.loc["vip", "mean_runs"] == pytest.approx(1.5)  # c1 two runs, c2 one
    assert isinstance(history, pd.DataFrame)
