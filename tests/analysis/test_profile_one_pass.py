"""A profile's top categories and products, NPS, CSAT and churn are computed for all the segments of a run in
one pass (GROUP BY segment): each segment's values equal those of the per-segment queries the segment page
used to run one segment at a time (kept here, verbatim, as the reference), on the demo's data (every fifth
segment: the reference takes seconds a segment)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pandas as pd
import pytest

from segmentum.analysis.base import frame, run_customers_sql, segment_names
from segmentum.analysis.experience import answer_texts, nps_settings
from segmentum.analysis.profile import CHURN_WINDOW_DAYS, profile, stored_profile, warm_profiles
from segmentum.compile.rules import qualifying_sql
from segmentum.models.churn import churn_rates
from segmentum.store import snapshots as snapshot
from segmentum.workspace import Workspace

TOP = 5


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    from segmentum.demo.workspace import create_demo_workspace

    root = tmp_path_factory.mktemp("one-pass") / "demo"
    create_demo_workspace(root, customers=600, seed=11, report=False)
    with Workspace(root) as ws:
        yield ws


def _members(name: str) -> str:
    return f"SELECT customer_id FROM segmentum.memberships WHERE run_id = $run_id AND name = {name}"


def old_top_items(ws: Workspace, params: dict[str, Any], column: str, top: int) -> pd.DataFrame:
    """The per-segment query of the profile before the one pass."""
    return frame(
        ws,
        f"""
        WITH members AS ({_members("$name")}), base AS ({run_customers_sql(ws, params["run_id"])}),
        q AS (SELECT order_id FROM main.orders WHERE ordered_at <= $as_of AND {qualifying_sql()}),
        items AS (SELECT i.customer_id, i.{column} AS value, round(i.quantity * i.unit_price, 6) AS line_value
                  FROM main.order_items i JOIN q USING (order_id) WHERE i.{column} IS NOT NULL),
        seg AS (SELECT value, count(DISTINCT customer_id) AS customers, sum(line_value) AS revenue
                FROM items WHERE customer_id IN (SELECT customer_id FROM members) GROUP BY value),
        everyone AS (SELECT value, count(DISTINCT customer_id) AS customers
                     FROM items WHERE customer_id IN (SELECT customer_id FROM base) GROUP BY value),
        sizes AS (SELECT (SELECT count(*) FROM members) AS n_seg, (SELECT count(*) FROM base) AS n_base)
        SELECT seg.value AS {column}, seg.customers, seg.revenue::DOUBLE AS revenue,
               seg.customers / nullif(n_seg, 0) AS segment_share,
               everyone.customers / nullif(n_base, 0) AS base_share,
               (seg.customers / nullif(n_seg, 0)) / nullif(everyone.customers / nullif(n_base, 0), 0) AS lift
        FROM seg JOIN everyone USING (value), sizes
        ORDER BY seg.revenue DESC NULLS LAST, seg.value LIMIT {int(top)}
    """,
        params,
    )


def old_experience(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """NPS, CSAT and churn of one segment as the profile computed them before the one pass."""
    settings = nps_settings(ws)
    scores = {k: answer_texts(settings[f"{k}_scores"]) for k in ("promoter", "passive", "detractor")}
    row = (
        ws.store.cursor()
        .execute(
            f"""
        WITH members AS ({_members("$name")}),
        latest AS (
            SELECT customer_id, question, arg_max(answer, answered_at) AS answer FROM main.responses
            WHERE answered_at <= $as_of
              AND ((question = $nps_question AND list_contains($promoter || $passive || $detractor, answer))
                   OR (question = $csat_question AND TRY_CAST(answer AS DOUBLE) IS NOT NULL))
              AND customer_id IN (SELECT customer_id FROM members) GROUP BY ALL),
        nps AS (SELECT answer FROM latest WHERE question = $nps_question)
        SELECT (SELECT count(*) FILTER (WHERE list_contains($promoter || $passive || $detractor, answer)) FROM nps),
               (SELECT count(*) FILTER (WHERE list_contains($promoter, answer)) FROM nps),
               (SELECT count(*) FILTER (WHERE list_contains($detractor, answer)) FROM nps),
               (SELECT avg(TRY_CAST(answer AS DOUBLE)) FROM latest WHERE question = $csat_question)
    """,
            {
                **params,
                **scores,
                "nps_question": str(settings["nps_question"]),
                "csat_question": str(settings["csat_question"]),
            },
        )
        .fetchone()
    )
    assert row is not None
    out: dict[str, Any] = {"nps": 100.0 * (row[1] - row[2]) / row[0] if row[0] else None, "csat": row[3]}
    if out["csat"] is None:
        out["csat"] = (
            ws.store.cursor()
            .execute(
                f"WITH members AS ({_members('$name')}) SELECT avg(csat) FROM main.tickets "
                "WHERE opened_at <= $as_of AND customer_id IN (SELECT customer_id FROM members)",
                params,
            )
            .fetchone()[0]
        )
    as_of = params["as_of"]
    members = snapshot.memberships(ws.store, params["run_id"], params["name"])["customer_id"].tolist()
    rates = churn_rates(
        ws, as_of=as_of, bounds=[as_of - timedelta(days=CHURN_WINDOW_DAYS), as_of], customers=members
    )
    overall = rates[rates["segment"].isna()]["churn_rate"]
    out["churn_rate"] = None if overall.empty or pd.isna(overall.iloc[0]) else float(overall.iloc[0])
    return out


def test_the_one_pass_equals_the_per_segment_queries(demo: Workspace) -> None:
    run = snapshot.latest_run(demo.store)
    assert run is not None
    names = segment_names(demo, run.run_id)
    assert len(names) > 50
    warmed = warm_profiles(demo, run.run_id, top=TOP)  # every segment in one pass, stored
    assert sorted(warmed) == names
    seen = {"categories": 0, "nps": 0, "csat": 0, "churn": 0}
    for name in names[::5]:  # the reference queries take about a second each on a loaded machine
        stored = stored_profile(demo, name, run_id=run.run_id, top=TOP)  # what the page renders
        params = {"run_id": run.run_id, "as_of": run.as_of, "name": name}
        for key, column in (("top_categories", "category"), ("top_products", "product_id")):
            expected = old_top_items(demo, params, column, TOP)
            pd.testing.assert_frame_equal(stored[key], expected, check_exact=True)
            assert list(stored[key].columns) == list(expected.columns)
        seen["categories"] += not stored["top_categories"].empty
        old = old_experience(demo, params)
        for key in ("nps", "csat", "churn_rate"):
            assert stored[key] == old[key], (name, key, stored[key], old[key])
        seen["nps"] += stored["nps"] is not None
        seen["csat"] += stored["csat"] is not None
        seen["churn"] += stored["churn_rate"] is not None
    # the comparison covered real values, not only empty segments
    assert min(seen.values()) > 5, seen


def _rows(df: pd.DataFrame) -> pd.DataFrame:
    if df.empty:
        return df.reset_index(drop=True)
    labels = [c for c in df.columns if not pd.api.types.is_float_dtype(df[c])]  # floats: compared with rtol
    return df.sort_values(labels, key=lambda c: c.astype(str), kind="stable").reset_index(drop=True)


def test_warming_in_chunks_stores_what_each_profile_computes(demo: Workspace) -> None:
    # chunks bound the memory of a pass (analysis/profile.py: WARM_CHUNK); a segment's profile must not depend
    # on the other segments of its pass
    run = snapshot.latest_run(demo.store)
    assert run is not None
    names = segment_names(demo, run.run_id)
    top = TOP + 2  # a `top` no other test stores
    warmed = warm_profiles(demo, run.run_id, top=top, chunk=7)
    assert sorted(warmed) == names
    for name in names[::9]:
        stored = stored_profile(demo, name, run_id=run.run_id, top=top)
        fresh = profile(demo, name, run_id=run.run_id, top=top)
        assert stored.keys() == fresh.keys(), name
        for key, value in fresh.items():
            if isinstance(value, pd.DataFrame):
                # means over a pass of several segments add in another order than over one (the last bits move),
                # and rows that tie keep no fixed order: compared as sets of rows
                pd.testing.assert_frame_equal(
                    _rows(stored[key]), _rows(value), rtol=1e-9, obj=f"{name} {key}"
                )
            else:
                assert stored[key] == value or (value != value and stored[key] != stored[key]), (name, key)


def test_a_single_profile_completes_as_the_one_pass_does(demo: Workspace) -> None:
    run = snapshot.latest_run(demo.store)
    assert run is not None
    name = "rfm.champions"
    one = profile(demo, name, run_id=run.run_id, top=TOP)
    stored = stored_profile(demo, name, run_id=run.run_id, top=TOP)
    for key in ("top_categories", "top_products"):
        pd.testing.assert_frame_equal(one[key], stored[key], check_exact=True)
    assert {k: one[k] for k in ("nps", "csat", "churn_rate")} == {
        k: stored[k] for k in ("nps", "csat", "churn_rate")
    }


def test_churn_rates_per_segment_of_a_run_equal_each_segments_own(demo: Workspace) -> None:
    run = snapshot.latest_run(demo.store)
    assert run is not None
    names = ["lifecycle.active", "lifecycle.churned", "rfm.champions", "big_spenders", "no_such_segment"]
    bounds = [run.as_of - timedelta(days=365), run.as_of]
    grouped = churn_rates(demo, as_of=run.as_of, bounds=bounds, members_of=(run.run_id, names))
    per = grouped[grouped["segment"].notna()].set_index("segment")
    for name in names:
        members = snapshot.memberships(demo.store, run.run_id, name)["customer_id"].tolist()
        own = churn_rates(demo, as_of=run.as_of, bounds=bounds, customers=members)
        overall = own[own["segment"].isna()].iloc[0]
        if name not in per.index:
            assert overall["active_start"] == 0, name
            continue
        assert per.loc[name, "active_start"] == overall["active_start"] > 0
        assert per.loc[name, "churned"] == overall["churned"]
        assert per.loc[name, "churn_rate"] == overall["churn_rate"]
