"""Segment profiles: size, value, behaviour, who they are, and what distinguishes them from everyone else.

The base is every customer of the run (not only those in some segment). Distinguishing features are shares
(categorical and boolean traits and attributes: share in the segment against everyone, lift, Cohen's h and a
two-proportion z-test) and means (numeric traits and attributes: mean and median against everyone, Cohen's d
and Welch's t-test), tested against the rest of the base and ranked by effect size.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from segmentum.analysis.base import (
    check_in_run,
    customer_values_sql,
    execute,
    frame,
    resolve_run,
    run_customers_sql,
    segment_names,
)
from segmentum.analysis.experience import answer_texts, nps_settings
from segmentum.compile.rules import qualifying_sql
from segmentum.errors import NotFoundError, SegmentumError, did_you_mean
from segmentum.jsonable import jsonable
from segmentum.progress import notify
from segmentum.schema import MONEY_COLUMNS, is_numeric_type
from segmentum.spec import ast
from segmentum.spec.builtins import segment_metadata
from segmentum.spec.models import AggregateTrait, ExprTrait, TotalTrait
from segmentum.sql import ident, literal, one, round6
from segmentum.store import snapshots as snapshot
from segmentum.store.tables import META, PROFILES_TABLE, qualified, traits_table
from segmentum.views.catalog import check_segment, definitions_stamp  # the one check that a segment exists

if TYPE_CHECKING:
    from segmentum.context import Context
    from segmentum.i18n import Translator
    from segmentum.progress import Progress
    from segmentum.spec.loader import Definitions

log = logging.getLogger("segmentum.profile")

SIGNIFICANCE = 0.05
MIN_EFFECT = 0.2  # |Cohen's d or h| below "small" sets nothing apart, however significant on a big base
CHURN_WINDOW_DAYS = 365  # the profile's churn rate covers the year before the run
MAX_CATEGORY_VALUES = 50  # text attributes with more distinct values (names, emails) are not profiled
DAYS = "days"
# the demo's latent ground truth (demo/generator.py), not something known about a real customer
NOT_PROFILED = frozenset({"persona"})


def _group_sql() -> str:
    """(name, customer_id) of every segment in `$names` (one pass profiles many segments)."""
    return "SELECT name, customer_id FROM segmentum.memberships WHERE run_id = $run_id AND list_contains($names, name)"


@dataclass(frozen=True)
class _Scope:
    """The SQL pieces of profiling some segments of one run: the run's customers (the base), the members of
    the segments (`group`: name, customer_id) and the parameters."""

    run_id: int
    params: dict[str, Any]
    base: str
    group: str = _group_sql()


def profile(
    ws: Context,
    name: str,
    *,
    run_id: int | None = None,
    top: int = 10,
    definitions: Definitions | None = None,
    brief: bool = False,
) -> dict[str, Any]:
    """Everything about one segment (`segment` or `segmentation.segment`) in a complete run.

    `definitions` (already loaded) saves reloading them; `brief` leaves out the top categories and products,
    NPS, CSAT and churn (the report's profiles show none of them).
    """
    info = snapshot.resolve_run_of(ws.store, name, run_id)
    check_segment(ws, name, run_id=info.run_id)
    check_in_run(ws, name, info)
    result = profiles(ws, [name], run_id=info.run_id, top=top, definitions=definitions)[name]
    if not brief:
        _complete(ws, info, {name: result}, top)
    return result


def _complete(ws: Context, info: snapshot.RunInfo, results: dict[str, dict[str, Any]], top: int) -> None:
    """Add what brief profiles (`profiles`, name -> profile) leave out (`_completions`)."""
    for name, extra in _completions(ws, info, list(results), top).items():
        results[name].update(extra)


def _completions(
    ws: Context, info: snapshot.RunInfo, names: list[str], top: int
) -> dict[str, dict[str, Any]]:
    """What brief profiles leave out, per segment of `names`: the top categories and products, NPS, CSAT and
    churn, each computed in one pass for all the segments (GROUP BY segment): one segment at a time took
    about a second each, most of warming a run's profiles. Its memory grows with segments times values
    (the `top` per segment kept), not with customers, so `warm_profiles` makes one pass for all its chunks."""
    scope = _scope(ws, info, names)
    items = _top_items(ws, scope, top)
    experience = _experience(ws, scope.params)
    return {
        name: {
            "top_categories": items["category"][name],
            "top_products": items["product_id"][name],
            **experience[name],
        }
        for name in names
    }


# ------------------------------------------------------------------ stored profiles
# A profile reads the run's memberships and traits (fixed once the run is complete), but also the data tables,
# the model outputs and the definitions as they are now: the stored one is reused while `_stamp` is unchanged.
# profiles computed by `stored_profile` in this process (tests tell reuse from recomputation by it)
COMPUTED = {"count": 0}
_counter_lock = threading.Lock()


def stored_profile(ws: Context, name: str, *, run_id: int | None = None, top: int = 10) -> dict[str, Any]:
    """`profile(ws, name, run_id=run_id, top=top)`, computed once per run, segment and `top` and stored in
    `segmentum.segment_profiles`, then read back from there while the data, model fits and definitions it
    read are unchanged (a later ingest, fit, erasure or definition edit computes it afresh)."""
    info = snapshot.resolve_run_of(ws.store, name, run_id)
    check_segment(ws, name, run_id=info.run_id)
    stamp = profile_stamp(ws)
    kept = _stored(ws, info.run_id, [name], top, stamp)
    if name in kept:
        return kept[name]
    result = profile(ws, name, run_id=info.run_id, top=top)
    _store(ws, info.run_id, name, top, stamp, result)
    return result


# segments per pass of `warm_profiles`: the brief part's lift tests hold every feature of every segment of the pass
# in memory (5.5 GB for 167 segments at 100k customers); a pass per chunk bounds that at some passes' cost
WARM_CHUNK = 40
# the distinguishing features a segment page shows: the `top` warming stores, and the report reads (its first few)
PAGE_TOP = 8


def warm_profiles(
    ws: Context,
    run_id: int,
    *,
    top: int = PAGE_TOP,
    stop: Callable[[], bool] = lambda: False,
    chunk: int = WARM_CHUNK,
    names: list[str] | None = None,
    definitions: Definitions | None = None,
    progress: Progress | None = None,
) -> dict[str, dict[str, Any]]:
    """The profiles of a run, each stored once: those of `names` (default: every segment with members in the
    run) still current are read back, the others computed and stored, so the first visit to a segment page
    (and the report) computes nothing. Stops early when `stop()` says so. Returns name -> profile of those
    stored (or computed, on a read-only store). The one home of "the profiles of a run": serve's warming after
    a batch run and the report call it.

    What completes every profile (`_completions`: top items, NPS, CSAT, churn) is computed in one pass over
    the data for all the segments (a pass per segment took seconds each on a big base), the brief part
    (`profiles`) `chunk` segments at a time (memory): what is stored equals what `stored_profile` would
    have computed one by one. `definitions` (already loaded) saves loading them for each chunk; `progress`
    counts the segments computed (nothing when all are stored)."""
    info = snapshot.resolve_run(ws.store, run_id)
    stamp = profile_stamp(ws)
    names = segment_names(ws, run_id) if names is None else list(names)
    done = _stored(ws, run_id, names, top, stamp)
    missing = []
    for name in names:
        if name in done:
            continue
        try:  # the checks `stored_profile` and `profile` make, so warming stores no profile a page would refuse
            check_segment(ws, name, run_id=run_id, definitions=definitions)
            check_in_run(ws, name, info)
        except SegmentumError as exc:  # e.g. a segment no longer defined: its page computes nothing either
            log.info("no profile of %s in run %s: %s", name, run_id, exc)
            continue
        missing.append(name)
    label = "segment profiles"
    if missing:
        notify(progress, 0, len(missing), label)
    if missing and definitions is None:
        try:  # loaded once for every chunk (`profiles` would load them for each)
            definitions = ws.definitions()
        except Exception:  # noqa: BLE001 - definitions may be broken since the run; the profile still stands
            definitions = None
    size = max(1, chunk)
    everyone: dict[str, Any] = {}  # computed by the first pass, read by the others
    # the top items, NPS, CSAT and churn of every missing segment in one pass (not one per chunk: each pass
    # reads every order line and survey answer again, and their memory does not grow with the customers)
    if missing and stop():
        return done
    completions = _completions(ws, info, missing, top) if missing else {}
    for start in range(0, len(missing), size):
        part = missing[start : start + size]
        if stop():
            return done
        brief = profiles(ws, part, run_id=run_id, top=top, definitions=definitions, everyone=everyone)
        if stop():
            return done
        for name in part:
            brief[name].update(completions[name])
        for name in part:
            if stop():
                return done
            _store(ws, run_id, name, top, stamp, brief[name])
            done[name] = brief[name]
        notify(progress, start + len(part), len(missing), label)
    return done


def _stored(ws: Context, run_id: int, names: list[str], top: int, stamp: str) -> dict[str, dict[str, Any]]:
    """The stored profiles of `names` in a run that are still current (`stamp`): the one read of the table."""
    if not names:
        return {}
    rows = (
        ws.store.cursor()
        .execute(
            f"SELECT name, profile FROM {qualified(PROFILES_TABLE)} WHERE run_id = ? AND list_contains(?, name) "
            "AND top = ? AND stamp = ?",
            [run_id, list(names), int(top), stamp],
        )
        .fetchall()
    )
    return {name: _decode(json.loads(text)) for name, text in rows}


def _store(ws: Context, run_id: int, name: str, top: int, stamp: str, result: dict[str, Any]) -> None:
    with _counter_lock:
        COMPUTED["count"] += 1
    if ws.store.read_only:
        return
    try:
        ws.store.cursor().execute(
            f"INSERT OR REPLACE INTO {qualified(PROFILES_TABLE)} VALUES (?, ?, ?, ?, ?, ?)",
            [run_id, name, int(top), stamp, json.dumps(_encode(result)), datetime.now()],
        )
    except Exception:  # noqa: BLE001 - a profile that cannot be kept (a concurrent write) is still the answer
        log.warning("could not store the profile of %s in run %s", name, run_id, exc_info=True)


def profile_stamp(ws: Context) -> str:
    """What a profile read besides the run: the newest ingest, the model fits, erasures, and the definitions
    (descriptions, actions, units, the segment's own traits). Other per-run results that read the same
    (the overview's sizes and Pareto curve) are reused while it is unchanged."""
    row = ws.store.query(
        f"SELECT (SELECT max(ingest_id) FROM {qualified('ingests')}), "
        f"(SELECT max(fitted_at) FROM {qualified('fits')}), (SELECT count(*) FROM {qualified('fits')}), "
        f"(SELECT count(*) FROM {qualified('audit_log')} WHERE action = 'forget')"
    )
    return hashlib.sha256(f"{row!r} {definitions_stamp(ws)}".encode()).hexdigest()


def _encode(value: Any) -> Any:
    """A profile as JSON: frames keep their columns and dtypes, datetimes their type."""
    if isinstance(value, pd.DataFrame):
        return {
            "__frame__": {
                "columns": [str(c) for c in value.columns],
                "dtypes": [str(t) for t in value.dtypes],
                "data": [[_encode(v) for v in row] for row in value.itertuples(index=False)],
            }
        }
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, datetime):
        return {"__datetime__": value.isoformat()}
    return jsonable(value)


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "__frame__" in value:
            spec = value["__frame__"]
            df = pd.DataFrame([[_decode(v) for v in row] for row in spec["data"]], columns=spec["columns"])
            for column, dtype in zip(spec["columns"], spec["dtypes"], strict=True):
                if str(df[column].dtype) != dtype:
                    df[column] = df[column].astype(dtype)
            return df
        if "__datetime__" in value:
            return datetime.fromisoformat(value["__datetime__"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _scope(ws: Context, info: snapshot.RunInfo, names: list[str]) -> _Scope:
    params = {"run_id": info.run_id, "as_of": info.as_of, "names": list(names)}
    return _Scope(info.run_id, params, run_customers_sql(ws, info.run_id))


def profiles(
    ws: Context,
    names: list[str],
    *,
    run_id: int | None = None,
    top: int = 10,
    definitions: Definitions | None = None,
    everyone: dict[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """Brief profiles (size, value, who they are, distinguishing features; no top items or experience) of
    many segments of one run, computed in one pass per source: what the report needs for every segment.
    Names not in the run are empty segments (`profile` checks a single name first). `everyone`: everyone's
    side of the numeric features, kept across calls for the same run (`_numeric_lift`)."""
    info = snapshot.resolve_run(ws.store, run_id)
    scope = _scope(ws, info, names)
    if definitions is None:
        try:
            definitions = ws.definitions()
        except Exception:  # noqa: BLE001 - definitions may be broken since the run; the profile still stands
            definitions = None
    summaries = _summaries(ws, scope)
    attributes = _categorical_lift(ws, scope, names)
    units = feature_units(ws, definitions)
    preferred = {n: segment_traits(definitions, n) for n in names}
    numeric = _numeric_lift(ws, scope, names, units, preferred, everyone)
    out = {}
    for name in names:
        result = {"name": name, "run_id": info.run_id, "as_of": info.as_of, **summaries[name]}
        result["currency"] = ws.config.currency
        result.update(_definition_info(name, definitions))
        result["attributes"] = attributes[name]
        result["numeric"] = numeric[name]
        result["distinguishing"] = _distinguishing(attributes[name], numeric[name], top)
        out[name] = result
    return out


def _summaries(ws: Context, scope: _Scope) -> dict[str, dict[str, Any]]:
    """Size, share, revenue and its share, order value, orders and days since the last order per segment."""
    frame_ = frame(
        ws,
        f"""
        WITH base AS ({scope.base}), grp AS ({scope.group}), v AS ({customer_values_sql(ws)}),
        seg AS (
            SELECT g.name, count(*) AS customers, sum(coalesce(v.revenue, 0)) AS revenue,
                   sum(coalesce(v.orders, 0)) AS orders, avg(coalesce(v.orders, 0)) AS avg_orders,
                   avg(date_diff('day', v.last_order_at::DATE, $as_of::DATE)) AS avg_recency_days
            FROM grp g LEFT JOIN v USING (customer_id) GROUP BY g.name),
        tot AS (SELECT count(*) AS customers, sum(coalesce(v.revenue, 0)) AS revenue
                FROM base b LEFT JOIN v USING (customer_id))
        SELECT n.name, seg.* EXCLUDE (name), tot.customers AS base_customers, tot.revenue AS base_revenue
        FROM (SELECT unnest($names) AS name) n CROSS JOIN tot LEFT JOIN seg USING (name)
    """,
        scope.params,
    )
    out = {}
    for r in frame_.to_dict(orient="records"):
        size, base = _count(r["customers"]), _count(r["base_customers"])
        # an empty segment sums to null (NaN in the frame): its revenue and orders are 0
        revenue = _num(r["revenue"]) or 0.0
        base_revenue = _num(r["base_revenue"]) or 0.0
        orders = _count(r["orders"])
        out[r["name"]] = {
            "size": size,
            "share": size / base if base else 0.0,
            "revenue": revenue,
            "revenue_share": revenue / base_revenue if base_revenue else 0.0,
            "avg_order_value": revenue / orders if orders else None,
            "avg_orders": _num(r["avg_orders"]),
            "avg_recency_days": _num(r["avg_recency_days"]),
        }
    return out


def profile_order(ws: Context, names: dict[str, str | None], definitions: Definitions | None) -> list[str]:
    """Segment names (name -> segmentation or None) in the order a user chose them: their own segmentations,
    then their own standalone segments (definition order), then the built-ins in the order `builtins:` lists
    them, then whatever the run holds that the definitions no longer do (by name). Within a segmentation, its
    segments in rule order, `else` last."""
    builtins = list(ws.config.builtins)
    owners: dict[str, tuple[Any, ...]] = {}
    segment_rank: dict[str, int] = {}
    if definitions is not None:
        groups = [
            *((g.name, g.builtin) for g in definitions.segmentations.values()),
            *((g.name, g.builtin) for g in definitions.segments.values()),
        ]
        for position, (owner, builtin) in enumerate(groups):
            if builtin is None:
                owners[owner] = (0, 0, position)
            else:
                where = builtins.index(builtin) if builtin in builtins else len(builtins)
                owners[owner] = (1, where, position)
        for segmentation in definitions.segmentations.values():
            for rank, seg in enumerate(segmentation.segments):
                segment_rank[seg.name] = rank

    def key(name: str) -> tuple[Any, ...]:
        owner = names[name] or name
        return (*owners.get(owner, (2, 0, 0)), owner, segment_rank.get(name, len(segment_rank)), name)

    return sorted(names, key=key)


def _num(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _definition_info(name: str, definitions: Definitions | None) -> dict[str, Any]:
    """Description, offer, channel and recommended action of the segment (`spec.builtins.segment_metadata`,
    the rule trigger payloads use too); all None when the segment is no longer defined."""
    info: dict[str, Any] = {"description": None, "offer": None, "channel": None, "action": None}
    if definitions is None:
        return info
    try:
        seg = definitions.segment(name)
    except Exception:  # noqa: BLE001 - definitions may have changed since the run; the profile still stands
        return info
    return info | segment_metadata(seg)


TOP_ITEM_COLUMNS = ["customers", "revenue", "segment_share", "base_share", "lift"]
# the columns of order_items whose values a profile ranks (top categories, top products)
TOP_ITEM_SOURCES = ("category", "product_id")


def _top_items(ws: Context, scope: _Scope, top: int) -> dict[str, dict[str, pd.DataFrame]]:
    """Per column of `TOP_ITEM_SOURCES` (category, product) and segment of the scope: its `top` values of the
    column by revenue from its members, each with the share of its members and of everyone who bought it, and
    the lift. One pass for all the segments and both columns: each line's value is computed once, each
    member's lines are summed per value once (GROUPING SETS, a set per column), then grouped by segment."""
    names = list(scope.params["names"])
    available = ws.store.columns("order_items")
    columns = [c for c in TOP_ITEM_SOURCES if c in available]
    out: dict[str, dict[str, pd.DataFrame]] = {}
    if not columns or not ws.store.table_exists("orders"):
        for column in TOP_ITEM_SOURCES:
            empty = pd.DataFrame(columns=[column, *TOP_ITEM_COLUMNS])
            out[column] = {name: empty.copy() for name in names}
        return out
    # which set a row of `bought` belongs to: its column's value is the one not rolled up
    which = "CASE " + " ".join(f"WHEN GROUPING({ident(c)}) = 0 THEN {literal(c)}" for c in columns) + " END"
    value = "coalesce(" + ", ".join(ident(c) for c in columns) + ")"
    sets = ", ".join(f"(customer_id, {ident(c)})" for c in columns)
    found = frame(
        ws,
        f"""
        WITH grp AS ({scope.group}), base AS ({scope.base}),
        q AS (SELECT order_id FROM main.orders WHERE ordered_at <= $as_of AND {qualifying_sql()}),
        items AS (SELECT i.customer_id, {", ".join(f"i.{ident(c)}" for c in columns)},
                         {round6("i.quantity * i.unit_price")} AS line_value
                  FROM main.order_items i JOIN q USING (order_id)),
        sets AS (SELECT {which} AS __column, {value} AS value, customer_id, sum(line_value) AS revenue
                 FROM items GROUP BY GROUPING SETS ({sets})),
        bought AS (SELECT * FROM sets WHERE value IS NOT NULL),
        seg AS (SELECT b.__column, g.name, b.value, count(*) AS customers, sum(b.revenue) AS revenue
                FROM bought b JOIN grp g USING (customer_id) GROUP BY ALL),
        everyone AS (SELECT __column, value, count(*) AS customers
                     FROM bought WHERE customer_id IN (SELECT customer_id FROM base) GROUP BY ALL),
        sizes AS (SELECT name, count(*) AS n_seg FROM grp GROUP BY name),
        n AS (SELECT count(*) AS n_base FROM base)
        SELECT seg.__column, seg.name AS __segment, seg.value, seg.customers, seg.revenue::DOUBLE AS revenue,
               seg.customers / nullif(n_seg, 0) AS segment_share,
               everyone.customers / nullif(n_base, 0) AS base_share,
               (seg.customers / nullif(n_seg, 0)) / nullif(everyone.customers / nullif(n_base, 0), 0) AS lift
        FROM seg JOIN everyone USING (__column, value) JOIN sizes USING (name), n
        QUALIFY row_number() OVER (PARTITION BY seg.__column, seg.name
                                   ORDER BY seg.revenue DESC NULLS LAST, seg.value) <= {int(top)}
        ORDER BY seg.__column, __segment, seg.revenue DESC NULLS LAST, seg.value
    """,
        scope.params,
    )
    by_column = dict(iter(found.groupby("__column", sort=False)))
    for column in TOP_ITEM_SOURCES:
        part = (
            by_column.get(column, found.iloc[0:0]).drop(columns="__column").rename(columns={"value": column})
        )
        groups = dict(iter(part.groupby("__segment", sort=False)))
        # a segment without any: the empty frame its own query gave (DuckDB types an empty text column `object`)
        empty = part.iloc[0:0].drop(columns="__segment")
        empty = empty.astype(
            {c: object for c in empty.columns if pd.api.types.is_string_dtype(empty[c].dtype)}
        )
        out[column] = {
            name: (groups[name].drop(columns="__segment") if name in groups else empty).reset_index(drop=True)
            for name in names
        }
    return out


def _internal(column: str) -> bool:
    """Columns that describe no customer: hidden run columns (`__pop_*`) and the demo's ground truth."""
    return column.startswith("__") or column in NOT_PROFILED


def _categorical_columns(ws: Context, table: str, columns: dict[str, str]) -> list[str]:
    """Text and boolean columns of `table` with few distinct values (one query for all of them)."""
    candidates = [
        c
        for c, kind in columns.items()
        if c != "customer_id" and not _internal(c) and kind.upper() in ("VARCHAR", "BOOLEAN")
    ]
    if not candidates:
        return []
    counts = one(
        ws.store.cursor().execute(
            "SELECT " + ", ".join(f"approx_count_distinct({ident(c)})" for c in candidates) + f" FROM {table}"
        )
    )
    return [c for c, n in zip(candidates, counts, strict=True) if 0 < n <= MAX_CATEGORY_VALUES]


def _categorical_sources(ws: Context, run_id: int) -> list[tuple[str, str, list[str]]]:
    """(table, kind, columns): the run's text and boolean traits, then the customers' attributes."""
    sources = []
    traits = traits_table(run_id)
    if ws.store.table_exists(traits, schema=META):
        table = qualified(traits)
        sources.append(
            (table, "trait", _categorical_columns(ws, table, ws.store.columns(traits, schema=META)))
        )
    if ws.store.table_exists("customers"):
        sources.append(
            (
                "main.customers",
                "attribute",
                _categorical_columns(ws, "main.customers", ws.store.columns("customers")),
            )
        )
    return [s for s in sources if s[2]]


ATTRIBUTE_COLUMNS = [
    "attribute",
    "value",
    "kind",
    "segment_share",
    "base_share",
    "rest_share",
    "lift",
    "effect",
    "direction",
    "p_value",
]


def _categorical_lift(ws: Context, scope: _Scope, names: list[str]) -> dict[str, pd.DataFrame]:
    """Per segment and attribute value: share in the segment vs everyone (lift); effect size (Cohen's h) and a
    two-proportion z-test of the segment against the rest of the base (the segment is part of everyone)."""
    frames = []
    for table, kind, columns in _categorical_sources(ws, scope.run_id):
        # wide: a GROUPING SET per column over the table's rows (a UNION ALL of a row per customer and column
        # first, then joined to the segments, made 10 times the rows); a row's set is its column not rolled up
        text = ", ".join(f"{ident(c)}::VARCHAR AS {ident(c)}" for c in columns)
        # columns qualified by `x.`: a customer attribute may be called `name`, as the segment's column
        which = "CASE " + " ".join(f"WHEN GROUPING(x.{ident(c)}) = 0 THEN {literal(c)}" for c in columns)
        which += " END"
        value = "coalesce(" + ", ".join(f"x.{ident(c)}" for c in columns) + ")"
        everyone_sets = ", ".join(f"(x.{ident(c)})" for c in columns)
        segment_sets = ", ".join(f"(g.name, x.{ident(c)})" for c in columns)
        df = frame(
            ws,
            f"""
            WITH grp AS ({scope.group}), base AS ({scope.base}),
            x AS (SELECT customer_id, {text} FROM {table}),
            everyone AS (
                SELECT * FROM (SELECT {which} AS attribute, {value} AS value, count(*) AS k
                               FROM x WHERE customer_id IN (SELECT customer_id FROM base)
                               GROUP BY GROUPING SETS ({everyone_sets}))
                WHERE value IS NOT NULL),
            -- the members of a segment are customers of the run (base): no need to filter on it again
            seg AS (
                SELECT * FROM (SELECT g.name, {which} AS attribute, {value} AS value, count(*) AS k
                               FROM x JOIN grp g USING (customer_id) GROUP BY GROUPING SETS ({segment_sets}))
                WHERE value IS NOT NULL),
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
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    empty = pd.DataFrame(columns=ATTRIBUTE_COLUMNS)
    if df.empty:
        return {n: empty for n in names}
    n1 = df["n_seg"].astype(float)
    n0 = df["n_base"].astype(float)
    k1 = df["segment_count"].astype(float)
    k0 = df["base_count"].astype(float)
    p1 = k1 / n1.replace(0, np.nan)
    p0 = k0 / n0.replace(0, np.nan)
    rest_n = (n0 - n1).replace(0, np.nan)
    p_rest = (k0 - k1) / rest_n
    df["segment_share"] = p1
    df["base_share"] = p0
    df["rest_share"] = p_rest
    df["lift"] = p1 / p0.replace(0, np.nan)
    df["effect"] = 2 * np.arcsin(np.sqrt(p1)) - 2 * np.arcsin(np.sqrt(p_rest))
    df["direction"] = [_direction(d) for d in df["effect"]]
    pooled = p0
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1.replace(0, np.nan) + 1 / rest_n))
    z = (p1 - p_rest) / se.replace(0, np.nan)
    from scipy import stats  # here, not at import: 0.9 s that a report of stored profiles never needs

    df["p_value"] = 2 * stats.norm.sf(np.abs(z))
    df = df.astype(
        {"segment_share": float, "base_share": float, "lift": float, "effect": float, "p_value": float}
    )
    df = df.sort_values(["name", "attribute", "segment_share"], ascending=[True, True, False])
    grouped = {
        str(name): part[ATTRIBUTE_COLUMNS].reset_index(drop=True)
        for name, part in df.groupby("name", sort=False)
    }
    return {n: grouped.get(n, empty) for n in names}


NUMERIC_COLUMNS = [
    "feature",
    "kind",
    "unit",
    "segment_mean",
    "base_mean",
    "rest_mean",
    "segment_median",
    "base_median",
    "lift",
    "effect",
    "direction",
    "p_value",
]


def _numeric_sources(ws: Context, run_id: int) -> list[tuple[str, str, list[str]]]:
    """(table, kind, columns): the run's numeric traits (definition order), then numeric attributes."""
    sources: list[tuple[str, str, list[str]]] = []
    traits = traits_table(run_id)
    if ws.store.table_exists(traits, schema=META):
        cols = [
            c
            for c, t in ws.store.columns(traits, schema=META).items()
            if c != "customer_id" and is_numeric_type(t) and not _internal(c)
        ]
        sources.append((qualified(traits), "trait", cols))
    if ws.store.table_exists("customers"):
        cols = [
            c
            for c, t in ws.store.columns("customers").items()
            if c != "customer_id" and is_numeric_type(t) and not _internal(c)
        ]
        sources.append(("main.customers", "attribute", cols))
    return [s for s in sources if s[2]]


def _double(value: Any) -> str:
    """A float as an exact DOUBLE literal (its shortest repr round-trips), NULL for a missing one."""
    number = _num(value)
    return "NULL::DOUBLE" if number is None else f"{literal(repr(number))}::DOUBLE"


def _everyone_numeric(ws: Context, scope: _Scope, table: str, cols: list[str]) -> list[dict[str, Any]]:
    """Everyone's side of `cols` of `table`: per feature with a value, its mean, median, minimum, count, a
    fingerprint of its (customer, value) pairs (equal for equal columns only) and the sums of its values
    centred on the mean (t0, q0), so that the rest's variance (everyone minus the segment) keeps its
    precision. Wide (one aggregate per column, one row) rather than unpivoted: a column is read in place."""
    doubles = ", ".join(f"{ident(c)}::DOUBLE AS {ident(c)}" for c in cols)
    parts, sums = [], []
    for i, c in enumerate(cols):
        v = ident(c)
        parts.append(
            f"avg({v}) AS m0_{i}, median({v}) AS md0_{i}, min({v}) AS lo_{i}, count({v}) AS n0_{i}, "
            f"(sum(hash(customer_id || '|' || {v}::VARCHAR) >> 12) FILTER (WHERE {v} IS NOT NULL) "
            f"% 9007199254740881)::BIGINT AS fingerprint_{i}"
        )
        sums.append(
            f"sum(x.{v} - e.m0_{i}) AS t0_{i}, sum((x.{v} - e.m0_{i}) * (x.{v} - e.m0_{i})) AS q0_{i}"
        )
    cursor = execute(
        ws,
        f"""
        WITH base AS ({scope.base}),
        x AS (SELECT customer_id, {doubles} FROM {table} WHERE customer_id IN (SELECT customer_id FROM base)),
        e AS (SELECT {", ".join(parts)} FROM x)
        SELECT e.*, t.* FROM e, (SELECT {", ".join(sums)} FROM x, e) t
    """,
        scope.params,
    )
    row = one(cursor)
    names = [d[0] for d in cursor.description]
    values = dict(zip(names, row, strict=True))
    out = []
    for i, c in enumerate(cols):
        if not values[f"n0_{i}"]:  # a column without any value is no feature (as the unpivot dropped it)
            continue
        r = {k: values[f"{k}_{i}"] for k in ("m0", "md0", "lo", "n0", "fingerprint", "t0", "q0")}
        out.append({"feature": c, "column": i, **r})
    return out


def _segment_numeric(
    ws: Context, scope: _Scope, table: str, cols: list[str], base: list[dict[str, Any]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """(segment, feature) -> the segment's mean, standard deviation, count, median and sums centred on
    everyone's mean (`base`, `_everyone_numeric`) of each feature: one wide GROUP BY segment over the
    members' rows (an unpivot first made a row per member, segment and feature: 40 times the rows)."""
    if not base:
        return {}
    doubles = ", ".join(f"{ident(c)}::DOUBLE AS {ident(c)}" for c in cols)
    parts = []
    for b in base:
        # qualified by `x.`: a feature may be called `name`, as the segment's column in the join
        i, v, m0 = b["column"], f"x.{ident(b['feature'])}", _double(b["m0"])
        parts.append(
            f"avg({v}) AS m1_{i}, stddev_samp({v}) AS s1_{i}, count({v}) AS n1_{i}, median({v}) AS md1_{i}, "
            f"sum({v} - {m0}) AS t1_{i}, sum(({v} - {m0}) * ({v} - {m0})) AS q1_{i}"
        )
    cursor = execute(
        ws,
        f"""
        WITH grp AS ({scope.group}),
        x AS (SELECT customer_id, {doubles} FROM {table} WHERE customer_id IN (SELECT customer_id FROM grp))
        SELECT g.name, {", ".join(parts)} FROM x JOIN grp g USING (customer_id) GROUP BY g.name
    """,
        scope.params,
    )
    names = [d[0] for d in cursor.description]
    out = {}
    for row in cursor.fetchall():
        values = dict(zip(names, row, strict=True))
        for b in base:
            i = b["column"]
            out[(values["name"], b["feature"])] = {
                k: values[f"{k}_{i}"] for k in ("m1", "s1", "n1", "md1", "t1", "q1")
            }
    return out


def _numeric_lift(
    ws: Context,
    scope: _Scope,
    names: list[str],
    units: dict[str, str | None],
    preferred: dict[str, list[str]] | None = None,
    everyone: dict[str, Any] | None = None,
) -> dict[str, pd.DataFrame]:
    """Per segment, numeric trait and attribute: mean and median in the segment vs everyone; Cohen's d
    (standardised difference) and Welch's t-test of the segment against the rest. A lift (ratio of means) only
    where it means something: a feature that is never negative, with a positive mean in everyone.

    The same values under several names (`rfm_recency`, `lc_days_since_last`; `rfm_r` and `rfm_r5`) are one
    measure, shown once: under the first of the segment's `preferred` names (what its definition reads), else
    under the first name (definition order).

    `everyone` (source table -> everyone's aggregates) is filled on first use and read after: `warm_profiles`
    passes one for all its passes, so everyone's side (a median of every feature over the whole base) is
    computed once per call, not once per pass of `WARM_CHUNK` segments; each pass then reads only its
    segments' members."""
    everyone = {} if everyone is None else everyone
    found: dict[str, dict[tuple[Any, ...], list[dict[str, Any]]]] = {n: {} for n in names}
    empty = {"m1": None, "s1": None, "n1": 0, "md1": None, "t1": 0, "q1": 0}
    for table, kind, cols in _numeric_sources(ws, scope.run_id):
        key = f"{table}|{','.join(ident(c) for c in cols)}"
        if key not in everyone:
            everyone[key] = _everyone_numeric(ws, scope, table, cols)
        base = everyone[key]
        seg = _segment_numeric(ws, scope, table, cols, base)
        for name in names:
            for b in base:
                r = {**b, **seg.get((name, b["feature"]), empty)}
                # a segment without a value of the feature: no count, no sums (the rest is everyone)
                r.update({k: r[k] if r[k] is not None else 0 for k in ("n1", "t1", "q1")})
                row = _numeric_row(b["feature"], kind, units.get(b["feature"]), r)
                found[name].setdefault((_count(r["n0"]), _count(r["fingerprint"])), []).append(row)
    out = {}
    for name in names:
        rank = {n: i for i, n in enumerate((preferred or {}).get(name, []))}
        rows = [min(same, key=lambda r: rank.get(r["feature"], len(rank))) for same in found[name].values()]
        out[name] = pd.DataFrame(rows, columns=NUMERIC_COLUMNS)
    return out


def _numeric_row(feature: str, kind: str, unit: str | None, r: dict[str, Any]) -> dict[str, Any]:
    """One feature of one segment from everyone's and the segment's aggregates; the rest's mean and
    variance follow from everyone's minus the segment's (centred) sums."""
    m0, m1, s1, lo = _num(r["m0"]), _num(r["m1"]), _num(r["s1"]), _num(r["lo"])
    n0, n1 = _count(r["n0"]), _count(r["n1"])
    n2 = n0 - n1
    m2 = s2 = None
    if n2 > 0 and m0 is not None:
        t2 = (_num(r["t0"]) or 0.0) - (_num(r["t1"]) or 0.0)
        q2 = (_num(r["q0"]) or 0.0) - (_num(r["q1"]) or 0.0)
        m2 = m0 + t2 / n2
        if n2 > 1:
            s2 = math.sqrt(max(q2 - t2 * t2 / n2, 0.0) / (n2 - 1))
    effect = p_value = None
    if n1 > 1 and n2 > 1 and m1 is not None and m2 is not None and s1 is not None and s2 is not None:
        spread = math.sqrt((s1 * s1 + s2 * s2) / 2)
        if spread > 1e-12 * max(
            1.0, abs(m0 or 0.0)
        ):  # a constant feature (up to rounding) sets nothing apart
            effect = (m1 - m2) / spread
            if abs(effect) < 1e-9:  # equal means up to rounding: no direction (the sums' order picked one)
                effect = 0.0
            from scipy import stats  # here, not at import (see _categorical_lift)

            p_value = float(stats.ttest_ind_from_stats(m1, s1, n1, m2, s2, n2, equal_var=False).pvalue)
    ratio_scale = lo is not None and lo >= 0 and m0 is not None and m0 > 0
    return {
        "feature": feature,
        "kind": kind,
        "unit": unit,
        "segment_mean": m1,
        "base_mean": m0,
        "rest_mean": m2,
        "segment_median": _num(r["md1"]),
        "base_median": _num(r["md0"]),
        "lift": m1 / m0 if ratio_scale and m1 is not None and m0 else None,
        "effect": effect,
        "direction": _direction(effect),
        "p_value": p_value,
    }


def segment_traits(definitions: Definitions | None, name: str) -> list[str]:
    """The traits a segment's definition reads, then the traits those read (breadth first: the names it
    reads itself come first). For a segment of a segmentation: every rule of it, since a later rule means
    "none of the earlier ones"."""
    if definitions is None:
        return []
    try:
        seg = definitions.segment(name)
    except NotFoundError:
        return []
    rules = definitions.segmentations[seg.segmentation].segments if seg.segmentation else [seg]
    found: list[str] = []
    level = sorted({n for r in rules if r.where is not None for n in ast.names(r.where)})
    while level:
        found.extend(n for n in level if n not in found)
        level = sorted(
            {d for n in level if n in definitions.traits for d in definitions.traits[n].deps} - set(found)
        )
    return found


def _direction(effect: Any) -> str | None:
    d = _num(effect)
    return None if d is None or d == 0 else ("higher" if d > 0 else "lower")


def _count(value: Any) -> int:
    number = _num(value)
    return int(number) if number is not None else 0


def feature_units(ws: Context, definitions: Definitions | None) -> dict[str, str | None]:
    """Unit of each numeric trait and attribute: the workspace currency for money, "days" for day counts.

    Money: a sum, average, minimum, maximum, first or last of a money column (schema.MONEY_COLUMNS), a total
    of one, or an expression that is just another money trait; a money attribute (income, annual_revenue).
    Days: an expression `days_between(...)`. Everything else (counts, scores, ratios) has no unit.
    """
    currency = ws.config.currency
    units: dict[str, str | None] = {c: currency for c in MONEY_COLUMNS if c != "quantity"}
    if definitions is None:
        return units
    for name, trait in definitions.traits.items():  # dependency order: a trait's inputs come first
        spec = trait.spec
        unit = None
        if isinstance(spec, AggregateTrait):
            money = spec.column in MONEY_COLUMNS and spec.column != "quantity"
            if money and spec.function in ("sum", "avg", "min", "max", "first", "last"):
                unit = currency
        elif isinstance(spec, ExprTrait):
            text = spec.expr.strip()
            if text.startswith("days_between("):
                unit = DAYS
            elif text in units:
                unit = units[text]
        elif isinstance(spec, TotalTrait):
            unit = units.get(spec.target)
        units[name] = unit
    return units


DISTINGUISHING_COLUMNS = [
    "feature",
    "measure",
    "unit",
    "segment",
    "base",
    "segment_median",
    "base_median",
    "lift",
    "effect",
    "direction",
    "p_value",
]


def _distinguishing(attributes: pd.DataFrame, numeric: pd.DataFrame, top: int) -> pd.DataFrame:
    """What sets the segment apart from the rest: significant (p < SIGNIFICANCE) and at least a small effect
    (|Cohen's d or h| >= MIN_EFFECT), strongest first. d and h are on one scale (0.2 small, 0.5 medium, 0.8
    large), so shares and means rank together."""
    rows = []
    for r in attributes.itertuples():
        if _significant(r.p_value, r.effect):
            rows.append(
                {
                    "feature": f"{r.attribute} = {r.value}",
                    "measure": "share",
                    "unit": None,
                    "segment": r.segment_share,
                    "base": r.base_share,
                    "segment_median": None,
                    "base_median": None,
                    "lift": r.lift,
                    "effect": r.effect,
                    "direction": r.direction,
                    "p_value": r.p_value,
                }
            )
    for r in numeric.itertuples():
        if _significant(r.p_value, r.effect):
            rows.append(
                {
                    "feature": r.feature,
                    "measure": "mean",
                    "unit": r.unit,
                    "segment": r.segment_mean,
                    "base": r.base_mean,
                    "segment_median": r.segment_median,
                    "base_median": r.base_median,
                    "lift": r.lift,
                    "effect": r.effect,
                    "direction": r.direction,
                    "p_value": r.p_value,
                }
            )
    df = pd.DataFrame(rows, columns=DISTINGUISHING_COLUMNS)
    if df.empty:
        return df
    df["strength"] = df["effect"].astype(float).abs()
    return (
        df.sort_values(["strength", "feature"], ascending=[False, True])
        .head(top)
        .drop(columns="strength")
        .reset_index(drop=True)
    )


def _significant(p_value: Any, effect: Any) -> bool:
    p, d = _num(p_value), _num(effect)
    return p is not None and d is not None and p < SIGNIFICANCE and abs(d) >= MIN_EFFECT


def describe_feature(row: dict[str, Any], t: Translator) -> dict[str, str]:
    """One distinguishing feature as text: shares as percents, means in their unit (days, currency), the
    median beside the mean, the direction against everyone else and the effect size. The one formatting of
    these rows for the CLI, the dashboard and the report."""

    def value(v: Any, median: Any = None) -> str:
        if _num(v) is None:
            return "—"
        if row.get("measure") == "share":
            return t.percent(v)
        unit = row.get("unit")
        # a frame of str dtype (pandas 3) holds a missing unit as NaN, which is truthy: the report printed "nan"
        unit = unit if isinstance(unit, str) and unit else None
        digits = 0 if unit == DAYS and abs(float(v)) >= 10 else 2
        text = t.number(v, digits)
        if unit == DAYS:
            text = t("{n} days", n=text)
        elif unit:
            text = f"{text} {unit}"
        if _num(median) is not None:
            text += f" ({t('median')} {t.number(median, digits)})"
        return text

    lift = _num(row.get("lift"))
    effect = _num(row.get("effect"))
    direction = row.get("direction")
    return {
        "feature": str(row.get("feature")),
        "segment": value(row.get("segment"), row.get("segment_median")),
        "base": value(row.get("base"), row.get("base_median")),
        "direction": t(direction) if direction else "—",
        "effect": t.number(effect, 2) if effect is not None else "—",
        "lift": t.lift(lift) if lift is not None else "—",
    }


def _experience(ws: Context, params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per segment of `params["names"]`: NPS and CSAT (latest answer per customer up to as_of) and the churn
    rate (`_churn_rates`), each in one pass for all the segments."""
    names = list(params["names"])
    out: dict[str, dict[str, Any]] = {n: {"nps": None, "csat": None, "churn_rate": None} for n in names}
    if ws.store.table_exists("responses"):
        # the same questions and score lists as the nps built-in and the experience metrics
        settings = nps_settings(ws)
        scores = {k: answer_texts(settings[f"{k}_scores"]) for k in ("promoter", "passive", "detractor")}
        rows = execute(
            ws,
            f"""
            WITH grp AS ({_group_sql()}),
            -- the latest VALID answer, as the nps built-in: a later 'n/a' does not hide an earlier score
            latest AS (
                SELECT customer_id, question, arg_max(answer, answered_at) AS answer FROM main.responses
                WHERE answered_at <= $as_of
                  AND ((question = $nps_question AND list_contains($promoter || $passive || $detractor, answer))
                       OR (question = $csat_question AND TRY_CAST(answer AS DOUBLE) IS NOT NULL))
                  AND customer_id IN (SELECT customer_id FROM grp) GROUP BY ALL),
            answers AS (SELECT g.name, l.question, l.answer FROM latest l JOIN grp g USING (customer_id))
            SELECT name,
                   count(*) FILTER (WHERE question = $nps_question
                                    AND list_contains($promoter || $passive || $detractor, answer)),
                   count(*) FILTER (WHERE question = $nps_question AND list_contains($promoter, answer)),
                   count(*) FILTER (WHERE question = $nps_question AND list_contains($detractor, answer)),
                   avg(TRY_CAST(answer AS DOUBLE)) FILTER (WHERE question = $csat_question)
            FROM answers GROUP BY name
        """,
            {
                **params,
                **scores,
                "nps_question": str(settings["nps_question"]),
                "csat_question": str(settings["csat_question"]),
            },
        ).fetchall()
        for name, answered, promoters, detractors, csat in rows:
            if answered:
                out[name]["nps"] = 100.0 * (promoters - detractors) / answered
            out[name]["csat"] = _num(csat)
    without = [n for n in names if out[n]["csat"] is None]
    if without and "csat" in ws.store.columns("tickets"):
        rows = execute(
            ws,
            f"""
            WITH grp AS ({_group_sql()})
            SELECT g.name, avg(t.csat) FROM main.tickets t JOIN grp g USING (customer_id)
            WHERE t.opened_at <= $as_of AND list_contains($without, g.name) GROUP BY g.name""",
            {**params, "without": without},
        ).fetchall()
        for name, csat in rows:
            out[name]["csat"] = _num(csat)
    for name, rate in _churn_rates(ws, params).items():
        out[name]["churn_rate"] = rate
    return out


def _churn_rates(ws: Context, params: dict[str, Any]) -> dict[str, float | None]:
    """Churn of each segment's customers over the year before the run: `segmentum churn`'s rule and defaults
    (`churn_rates` with one period, counted per segment of the run), so a change of plan is no churn here
    either; None without the data or without a customer active at the start."""
    from segmentum.models.churn import churn_rates

    names = list(params["names"])
    if not (ws.store.table_exists("orders") or ws.store.table_exists("subscriptions")):
        return {n: None for n in names}
    as_of = params["as_of"]
    rates = churn_rates(
        ws,
        as_of=as_of,
        bounds=[as_of - timedelta(days=CHURN_WINDOW_DAYS), as_of],
        members_of=(params["run_id"], names),
    )
    found = {r.segment: _num(r.churn_rate) for r in rates[rates["segment"].notna()].itertuples(index=False)}
    return {n: found.get(n) for n in names}


def compare(ws: Context, names: list[str], *, run_id: int | None = None) -> pd.DataFrame:
    """Two or more segments side by side: size, share, revenue share, order value, frequency, recency, NPS."""
    if len(names) < 2:
        raise NotFoundError("compare needs at least two segments")
    rows = []
    for name in names:
        p = profile(ws, name, run_id=run_id, top=3)
        rows.append(
            {
                k: p[k]
                for k in (
                    "name",
                    "size",
                    "share",
                    "revenue",
                    "revenue_share",
                    "avg_order_value",
                    "avg_orders",
                    "avg_recency_days",
                    "nps",
                    "csat",
                    "churn_rate",
                )
            }
        )
    return pd.DataFrame(rows)


def crosstab(ws: Context, rows: str, columns: str, *, run_id: int | None = None) -> pd.DataFrame:
    """Customers and revenue by two dimensions, each a segmentation (`rfm`) or a customer attribute (`industry`).

    Returns a long table (row value, column value, customers, revenue, share of customers).
    """
    run_id, as_of = resolve_run(ws, run_id)
    params = {"run_id": run_id, "as_of": as_of}
    dims = [_dimension_sql(ws, run_id, d) for d in (rows, columns)]
    return frame(
        ws,
        f"""
        WITH base AS ({run_customers_sql(ws, run_id)}), v AS ({customer_values_sql(ws)}),
        r AS ({dims[0]}), c AS ({dims[1]})
        SELECT coalesce(r.value, '(none)') AS "{rows}", coalesce(c.value, '(none)') AS "{columns}",
               count(*) AS customers, sum(coalesce(v.revenue, 0))::DOUBLE AS revenue,
               count(*) / (SELECT count(*) FROM base) AS share
        FROM base b LEFT JOIN r USING (customer_id) LEFT JOIN c USING (customer_id) LEFT JOIN v USING (customer_id)
        GROUP BY ALL ORDER BY 1, 2
    """,
        params,
    )


def _dimension_sql(ws: Context, run_id: int, dimension: str) -> str:
    from segmentum.analysis.base import segmentations

    if dimension in segmentations(ws, run_id):
        return (
            f"SELECT customer_id, segment AS value FROM segmentum.memberships "
            f"WHERE run_id = $run_id AND segmentation = '{dimension}'"
        )
    columns = ws.store.columns("customers")
    if dimension in columns:
        return f'SELECT customer_id, "{dimension}"::VARCHAR AS value FROM main.customers'
    raise NotFoundError(
        f"'{dimension}' is neither a segmentation of run {run_id} nor a customer attribute"
        f"{did_you_mean(dimension, [*segmentations(ws, run_id), *columns])}"
    )
