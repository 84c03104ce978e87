"""A profile's numeric features are aggregated wide (one aggregate per column, GROUP BY segment) instead of
unpivoted to a row per member, segment and feature (40 times the rows, most of a report's time at 1M
customers): every segment's numeric features equal those of the unpivoted queries (kept here, verbatim, as
the reference) on the demo's data, and everyone's side is computed once per `warm_profiles` call."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from segmentum.analysis.base import frame, segment_names
from segmentum.sql import ident
from segmentum.store import snapshots as snapshot
from segmentum.workspace import Workspace

# the module (segmentum.analysis exports a function of the same name)
P = importlib.import_module("segmentum.analysis.profile")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    from segmentum.demo.workspace import create_demo_workspace

    root = tmp_path_factory.mktemp("wide") / "demo"
    create_demo_workspace(root, customers=600, seed=5, report=False)
    with Workspace(root) as ws:
        yield ws


def old_numeric_lift(ws: Workspace, scope: Any, names: list[str], units: dict[str, str | None]) -> dict:
    """The unpivoted numeric features of the profile before the wide aggregation (without the merge of
    duplicates, which is unchanged): (segment, feature) -> row."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for table, kind, cols in P._numeric_sources(ws, scope.run_id):
        doubles = ", ".join(f"{ident(c)}::DOUBLE AS {ident(c)}" for c in cols)
        columns = ", ".join(ident(c) for c in cols)
        base = frame(
            ws,
            f"""
            WITH base AS ({scope.base}),
            x AS (SELECT customer_id, {doubles} FROM {table} WHERE customer_id IN (SELECT customer_id FROM base)),
            long AS (UNPIVOT x ON {columns} INTO NAME feature VALUE v),
            e AS (
                SELECT feature, avg(v) AS m0, median(v) AS md0, min(v) AS lo, count(v) AS n0,
                       (sum(hash(customer_id || '|' || v::VARCHAR) >> 12) % 9007199254740881)::BIGINT
                           AS fingerprint
                FROM long GROUP BY feature),
            totals AS (SELECT feature, sum(long.v - e.m0) AS t0, sum((long.v - e.m0) * (long.v - e.m0)) AS q0
                       FROM long JOIN e USING (feature) GROUP BY feature)
            SELECT e.*, totals.t0, totals.q0 FROM e JOIN totals USING (feature)
        """,
            scope.params,
        )
        seg = frame(
            ws,
            f"""
            WITH grp AS ({scope.group}),
            x AS (SELECT customer_id, {doubles} FROM {table} WHERE customer_id IN (SELECT customer_id FROM grp)),
            long AS (UNPIVOT x ON {columns} INTO NAME feature VALUE v),
            e AS (SELECT unnest($features::VARCHAR[]) AS feature, unnest($means::DOUBLE[]) AS m0)
            SELECT g.name, long.feature, avg(long.v) AS m1, stddev_samp(long.v) AS s1, count(long.v) AS n1,
                   median(long.v) AS md1, sum(long.v - e.m0) AS t1,
                   sum((long.v - e.m0) * (long.v - e.m0)) AS q1
            FROM long JOIN e USING (feature) JOIN grp g USING (customer_id) GROUP BY ALL
        """,
            scope.params
            | {
                "features": base["feature"].tolist(),
                "means": [None if pd.isna(m) else float(m) for m in base["m0"]],
            },
        )
        stats_frame = (
            pd.DataFrame({"name": names})
            .merge(base, how="cross")
            .merge(seg, how="left", on=["name", "feature"])
        )
        stats_frame["n1"] = stats_frame["n1"].fillna(0)
        stats_frame["t1"] = stats_frame["t1"].fillna(0)
        stats_frame["q1"] = stats_frame["q1"].fillna(0)
        stats_frame = stats_frame.astype(object).where(stats_frame.notna(), None)
        for r in stats_frame.to_dict(orient="records"):
            row = P._numeric_row(r["feature"], kind, units.get(r["feature"]), r)
            out[(r["name"], r["feature"])] = row | {"key": (P._count(r["n0"]), P._count(r["fingerprint"]))}
    return out


def _close(a: Any, b: Any) -> bool:
    a, b = (
        None if isinstance(v, float) and v != v else v for v in (a, b)
    )  # a frame's NaN is a missing value
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return a == pytest.approx(b, rel=1e-9, abs=1e-12)
    return bool(a == b)


def test_wide_numeric_features_equal_the_unpivoted_ones(demo: Workspace) -> None:
    run = snapshot.latest_run(demo.store)
    assert run is not None
    names = [*segment_names(demo, run.run_id), "no_such_segment"]  # an empty segment too
    scope = P._scope(demo, run, names)
    units = P.feature_units(demo, demo.definitions())
    expected = old_numeric_lift(demo, scope, names, units)
    everyone: dict[str, Any] = {}
    new = P._numeric_lift(demo, scope, names, units, everyone=everyone)
    compared = 0
    for name in names:
        # the same rows (duplicates merged alike: the keys of equal columns are equal)
        shown = new[name].to_dict(orient="records")
        assert {r["feature"] for r in shown} <= {f for n, f in expected if n == name}, name
        for r in shown:
            old = expected[(name, r["feature"])]
            for column, value in r.items():
                assert _close(value, old[column]), (name, r["feature"], column, value, old[column])
            compared += r["segment_mean"] is not None
        features = [f for n, f in expected if n == name]
        kept = {expected[(name, f)]["key"] for f in features}
        assert len(shown) == len(kept), name  # one row per measure
    assert compared > 500  # real values compared, not only empty segments
    assert len(everyone) >= 1  # everyone's side kept for the next pass


def test_a_second_pass_reads_everyones_side_instead_of_computing_it(demo: Workspace) -> None:
    run = snapshot.latest_run(demo.store)
    assert run is not None
    names = segment_names(demo, run.run_id)
    units = P.feature_units(demo, demo.definitions())
    everyone: dict[str, Any] = {}
    first = P._numeric_lift(demo, P._scope(demo, run, names[:3]), names[:3], units, everyone=everyone)
    kept = {k: list(v) for k, v in everyone.items()}
    # a pass with a poisoned cache shows the poison: the second pass read it rather than recomputing
    poisoned = {k: [b | {"m0": 1e9} for b in v] for k, v in everyone.items()}
    second = P._numeric_lift(demo, P._scope(demo, run, names[3:6]), names[3:6], units, everyone=poisoned)
    assert all((df["base_mean"] == 1e9).all() for df in second.values() if not df.empty)
    again = P._numeric_lift(demo, P._scope(demo, run, names[:3]), names[:3], units, everyone=kept)
    for name in names[:3]:
        pd.testing.assert_frame_equal(again[name], first[name])


def old_categorical_counts(ws: Workspace, scope: Any) -> pd.DataFrame:
    """The counts behind the shares before the grouping sets: a UNION ALL of a row per customer and column."""
    frames = []
    for table, kind, columns in P._categorical_sources(ws, scope.run_id):
        unions = " UNION ALL ".join(
            f"SELECT '{c}' AS attribute, {ident(c)}::VARCHAR AS value, customer_id FROM {table} "
            f"WHERE {ident(c)} IS NOT NULL"
            for c in columns
        )
        df = frame(
            ws,
            f"""
            WITH grp AS ({scope.group}), base AS ({scope.base}),
            a AS (SELECT * FROM ({unions}) WHERE customer_id IN (SELECT customer_id FROM base)),
            everyone AS (SELECT attribute, value, count(*) AS k FROM a GROUP BY ALL),
            seg AS (SELECT g.name, a.attribute, a.value, count(*) AS k FROM a JOIN grp g USING (customer_id)
                    GROUP BY ALL),
            sizes AS (SELECT name, count(*) AS n FROM grp GROUP BY name)
            SELECT n.name, everyone.attribute, everyone.value, coalesce(seg.k, 0) AS segment_count,
                   everyone.k AS base_count, coalesce(sizes.n, 0) AS n_seg, (SELECT count(*) FROM base) AS n_base
            FROM (SELECT unnest($names) AS name) n CROSS JOIN everyone
            LEFT JOIN seg ON seg.name = n.name AND seg.attribute = everyone.attribute AND seg.value = everyone.value
            LEFT JOIN sizes ON sizes.name = n.name
        """,
            scope.params,
        )
        df["kind"] = kind
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def test_shares_by_grouping_sets_equal_the_unioned_ones(demo: Workspace) -> None:
    run = snapshot.latest_run(demo.store)
    assert run is not None
    names = [*segment_names(demo, run.run_id), "no_such_segment"]
    scope = P._scope(demo, run, names)
    old = old_categorical_counts(demo, scope)
    new = P._categorical_lift(demo, scope, names)
    assert old["segment_count"].sum() > 1000 and old["attribute"].nunique() > 3  # real values compared
    for name in names:
        expected = old[old["name"] == name]
        shown = new[name]
        assert len(shown) == len(expected), name
        k = {(r.attribute, r.value, r.kind): r for r in expected.itertuples()}
        for r in shown.itertuples():
            e = k[(r.attribute, r.value, r.kind)]
            # shares are exact quotients of the same counts
            assert r.segment_share == (e.segment_count / e.n_seg if e.n_seg else None) or (
                e.n_seg == 0 and r.segment_share != r.segment_share
            ), (name, r)
            assert r.base_share == e.base_count / e.n_base, (name, r)


def test_round6_equals_duckdbs_round_of_a_line_value() -> None:
    import duckdb

    from segmentum.sql import round6

    con = duckdb.connect()
    edges = ["999999.9999995", "-999999.9999995", "999999.999999999999", "1000000.0000005", "0.0000005"]
    edges += ["-0.0000005", "1.0000004999", "-2.5000005", "12345678901234567890.1234565"]
    rows = con.execute(
        f"SELECT x, {round6('x')}, round(x, 6) FROM (SELECT unnest(?)::DECIMAL(38,12) AS x)", [edges]
    ).fetchall()
    assert all(r[1] == r[2] for r in rows), rows
    # products of quantities and prices with 6 decimals, on both sides of a million
    differ = con.execute(
        f"""SELECT count(*) FILTER (WHERE {round6("q * p")} IS DISTINCT FROM round(q * p, 6)),
                   count(*) FILTER (WHERE abs(q * p) >= 1000000), count(*) FILTER (WHERE round(q * p, 6) <> q * p)
            FROM (SELECT (random() * 2e6 - 1e6)::DECIMAL(38,6) AS q, (random() * 3)::DECIMAL(38,6) AS p
                  FROM range(200000))"""
    ).fetchone()
    assert differ is not None and differ[0] == 0 and differ[1] > 1000 and differ[2] > 1000, differ


def test_equal_means_up_to_rounding_have_no_direction() -> None:
    """The rest's mean comes from everyone's sums minus the segment's, so a segment whose mean equals the
    rest's differs from it by rounding alone; which sign the rounding takes must not say 'higher' or 'lower'
    (it flipped with the order of the sums between two ways of computing the same profile)."""
    # everyone: 4 members of values 1, 3, 1, 3 (mean 2); the segment: 1 and 3 (mean 2), the rest the same
    base = {"m0": 2.0, "n0": 4, "n1": 2, "s1": 2**0.5, "lo": 1.0, "md0": 2.0, "md1": 2.0}
    sums = {"t0": 0.0, "q0": 4.0, "q1": 2.0}
    for nudge in (1e-15, -1e-15):  # the segment's centred sum a rounding error off zero, either way
        row = P._numeric_row("x", "numeric", None, {**base, **sums, "m1": 2.0, "t1": nudge})
        assert row["effect"] == 0.0 and row["direction"] is None, row
        assert row["p_value"] == pytest.approx(1.0)
    apart = P._numeric_row("x", "numeric", None, {**base, **sums, "m1": 2.5, "t1": 1.0})
    assert apart["direction"] == "higher" and apart["effect"] > 0
