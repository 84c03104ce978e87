"""Analyses on a hand-built snapshot in a real store: every figure checked against a direct computation."""

from __future__ import annotations

import pandas as pd
import pytest

from segmentum.analysis import compare, crosstab, migration, pareto, profile, time_in_segment
from segmentum.errors import NotFoundError
from segmentum.views.history import segmentation_history
from segmentum.workspace import Workspace


@pytest.fixture
def ws(handmade_snapshot: Workspace) -> Workspace:
    return handmade_snapshot


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
    assert result["cuts"]["A"] == {
        "customer_share": 0.25,
        "revenue_share": pytest.approx(400 / 480),
        "customers": 1,
    }
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
    history = segmentation_history(ws, "value_tier")
    assert history.groupby("run_id")["customers"].sum().tolist() == [4, 4]
    stay = time_in_segment(ws, "value_tier").set_index("segment")
    assert stay.loc["vip", "customers"] == 2
    assert stay.loc["vip", "mean_runs"] == pytest.approx(1.5)  # c1 two runs, c2 one
    assert isinstance(history, pd.DataFrame)


def test_profile_nps_and_csat_use_the_nps_builtin_definitions(ws: Workspace) -> None:
    ws.store.con.execute(
        "CREATE TABLE responses (customer_id VARCHAR, question VARCHAR, answer VARCHAR, "
        "answered_at TIMESTAMP)"
    )
    ws.store.con.executemany(
        "INSERT INTO responses VALUES (?, ?, ?, ?)",
        [
            ("c1", "nps", "3", "2024-01-01"),
            ("c1", "nps", "10", "2024-02-01"),  # latest answer counts
            ("c2", "nps", "6.0", "2024-02-01"),
            ("c2", "csat", "4", "2024-02-01"),
            ("c1", "nps", "0", "2024-03-15"),  # after the run's as_of: invisible
            # a later 'n/a' does not hide the latest valid score (the nps built-in's rule)
            ("c1", "nps", "n/a", "2024-02-20"),
            ("c2", "csat", "n/a", "2024-02-21"),
        ],
    )
    p = profile(ws, "value_tier.vip")
    assert p["nps"] == 0.0  # one promoter (10), one detractor (6.0)
    assert p["csat"] == 4.0
