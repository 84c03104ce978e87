"""Reads the API answers with, on top of `segmentum.store.snapshots` (the store contract of runs, memberships and
traits). Only complete runs are read, so a run or micro-batch writing at the same time is never seen half
done.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pandas as pd

from segmentum.context import Context
from segmentum.errors import NotFoundError, SegmentumError, did_you_mean
from segmentum.runs.sizes import segment_sizes
from segmentum.store import META
from segmentum.store import snapshots as snapshot
from segmentum.store.catalog import model_tables

MODEL_PREFIX = "model_"
_FILTER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|!=|=|>|<)\s*(.*?)\s*$", re.DOTALL)


class FilterError(SegmentumError, ValueError):
    """A members filter cannot be understood."""


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return df.astype(object).where(df.notna(), None).to_dict(orient="records")


def definition_catalog(ws: Context) -> dict[str, dict[str, Any]]:
    """Segment name -> {segmentation, segment, description} from the definitions; empty when they fail to
    load (the API still answers from the snapshots, which are what was computed)."""
    try:
        defs = ws.definitions()
    except Exception:  # noqa: BLE001 - invalid definitions must not take read endpoints down
        return {}
    out: dict[str, dict[str, Any]] = {}
    for seg in defs.segments.values():
        out[seg.name] = {"segmentation": None, "segment": seg.name, "description": seg.description}
    for segmentation in defs.segmentations.values():
        for seg in segmentation.segments:
            out[seg.name] = {
                "segmentation": segmentation.name,
                "segment": seg.segment,
                "description": seg.description,
            }
    return out


def segments_overview(ws: Context) -> dict[str, Any]:
    """Every segment and segmentation with its size in the newest complete batch run."""
    store = ws.store
    run = snapshot.latest_run(store)
    sizes: dict[str, dict[str, Any]] = {}
    if run is not None:
        try:
            for row in records(segment_sizes(store, run.run_id)):
                sizes[row["name"]] = row
        except NotFoundError:
            pass
    catalog = definition_catalog(ws)
    names = list(dict.fromkeys([*catalog, *sizes]))
    standalone: list[dict[str, Any]] = []
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for name in names:
        info = catalog.get(name, {})
        size = sizes.get(name, {})
        segmentation = size.get("segmentation", info.get("segmentation"))
        entry = {
            "name": name,
            "segmentation": segmentation,
            "segment": size.get("segment") or info.get("segment") or name.rpartition(".")[2],
            "description": info.get("description"),
            "customers": int(size.get("customers") or 0) if run is not None else None,
            "share": size.get("share", 0.0 if run is not None else None),
            "revenue": size.get("revenue"),
            "revenue_share": size.get("revenue_share"),
            "defined": name in catalog,
        }
        (grouped[segmentation] if segmentation else standalone).append(entry)
    segmentations = [
        {"name": seg_name, "customers": sum(e["customers"] or 0 for e in entries), "segments": entries}
        for seg_name, entries in grouped.items()
    ]
    return {"run": run.to_dict() if run else None, "segments": standalone, "segmentations": segmentations}


def _known_segment_names(ws: Context) -> list[str]:
    rows = ws.store.query(f"SELECT DISTINCT name FROM {META}.memberships")
    return list(dict.fromkeys([*definition_catalog(ws), *(r[0] for r in rows)]))


def check_segment(ws: Context, name: str) -> None:
    known = _known_segment_names(ws)
    if name not in known:
        raise NotFoundError(
            f"unknown segment '{name}'{did_you_mean(name, known)}; GET /v1/segments lists them"
        )


def segment_detail(ws: Context, name: str) -> dict[str, Any]:
    """Size in the newest complete batch run, and the history of sizes across complete batch runs."""
    check_segment(ws, name)
    store = ws.store
    owner = name.partition(".")[0] if "." in name else name
    rows = store.query(
        f"""SELECT r.run_id, r.as_of, r.definition_hashes, count(m.customer_id) AS customers, any_value(r.customers)
            FROM {META}.runs r LEFT JOIN {META}.memberships m ON m.run_id = r.run_id AND m.name = ?
            WHERE r.status = 'complete' AND r.kind = 'batch' GROUP BY ALL ORDER BY r.run_id""",
        [name],
    )
    history = []
    for run_id, as_of, hashes, customers, total in rows:
        evaluated = json.loads(hashes) if isinstance(hashes, str) and hashes else (hashes or {})
        # a run that did not evaluate this definition says nothing about its size
        if evaluated and owner not in evaluated and name not in evaluated:
            continue
        history.append(
            {
                "run_id": run_id,
                "as_of": as_of,
                "customers": customers,
                "share": (customers / total) if total else None,
            }
        )
    catalog = definition_catalog(ws).get(name, {})
    latest = history[-1] if history else None
    return {
        "name": name,
        "segmentation": catalog.get("segmentation", owner if "." in name else None),
        "segment": catalog.get("segment", name.rpartition(".")[2]),
        "description": catalog.get("description"),
        "customers": latest["customers"] if latest else None,
        "share": latest["share"] if latest else None,
        "run_id": latest["run_id"] if latest else None,
        "history": history,
    }


@dataclass(frozen=True)
class Filter:
    column: str
    op: str
    value: str


def parse_filter(text: str) -> Filter:
    match = _FILTER.match(text)
    if not match:
        raise FilterError(
            f"filter {text!r} is not understood; write COLUMN OP VALUE with OP one of = != > >= < <=, "
            "e.g. filter=country=UA or filter=revenue_365d>=1000"
        )
    return Filter(*match.groups())


def members(
    ws: Context,
    name: str,
    *,
    run_id: int | None = None,
    filters: list[str] | None = None,
    limit: int | None = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """Members of a segment in a complete run (default: the newest batch run) with their traits, paged and
    filtered by traits or customer attributes."""
    check_segment(ws, name)
    store = ws.store
    run = snapshot.resolve_run(store, run_id)
    traits_name = snapshot.traits_table(run.run_id)
    trait_cols = store.columns(traits_name, schema=META)
    has_traits = bool(trait_cols)
    attr_cols = store.columns("customers") if store.table_exists("customers") else {}
    columns: dict[str, tuple[str, str]] = {c: ("c", t) for c, t in attr_cols.items()}
    columns.update({c: ("t", t) for c, t in trait_cols.items()})
    where = ["m.run_id = ?", "m.name = ?"]
    params: list[Any] = [run.run_id, name]
    con = store.cursor()
    for text in filters or []:
        flt = parse_filter(text)
        if flt.column not in columns:
            raise FilterError(
                f"filter {text!r}: unknown column '{flt.column}'{did_you_mean(flt.column, columns)}; "
                "filters use the run's traits and the customer attributes"
            )
        alias, sql_type = columns[flt.column]
        ref = f'{alias}."{flt.column}"'
        if flt.value.lower() == "null" and flt.op in ("=", "!="):
            where.append(f"{ref} IS {'NOT ' if flt.op == '!=' else ''}NULL")
            continue
        row = con.execute(f"SELECT TRY_CAST(? AS {sql_type})", [flt.value]).fetchone()
        if row is None or row[0] is None:
            raise FilterError(
                f"filter {text!r}: {flt.value!r} is not a value of column '{flt.column}' ({sql_type})"
            )
        where.append(f"{ref} {'<>' if flt.op == '!=' else flt.op} TRY_CAST(? AS {sql_type})")
        params.append(flt.value)
    joins = ""
    if has_traits:
        joins += f" LEFT JOIN {META}.{traits_name} t ON t.customer_id = m.customer_id"
    if attr_cols:
        joins += " LEFT JOIN main.customers c ON c.customer_id = m.customer_id"
    select = ", ".join(f't."{c}"' for c in trait_cols if c != "customer_id")
    base = f"FROM {META}.memberships m{joins} WHERE {' AND '.join(where)}"
    total_row = con.execute(f"SELECT count(*) {base}", params).fetchone()
    total = int(total_row[0]) if total_row else 0
    sql = f"SELECT m.customer_id{', ' + select if select else ''} {base} ORDER BY m.customer_id"
    page_params = list(params)
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        page_params += [limit, offset]
    elif offset:
        sql += " OFFSET ?"
        page_params.append(offset)
    df = con.execute(sql, page_params).df()
    return {
        "name": name,
        "run_id": run.run_id,
        "as_of": run.as_of,
        "total": total,
        "limit": limit,
        "offset": offset,
        "members": df,
    }


def customer(ws: Context, customer_id: str, *, history_runs: int = 100) -> dict[str, Any]:
    """Attributes, traits (of the customer's current run), model outputs, current segments and history."""
    store = ws.store
    con = store.cursor()
    attributes: dict[str, Any] | None = None
    if store.table_exists("customers"):
        df = con.execute("SELECT * FROM main.customers WHERE customer_id = ? LIMIT 1", [customer_id]).df()
        if len(df):
            attributes = records(df)[0]
    current = snapshot.current_memberships(store, customer_id)
    if attributes is None and current.empty:
        raise NotFoundError(f"no customer '{customer_id}' in the store or in any complete run")
    run_id = int(current["run_id"].iloc[0]) if not current.empty else None
    traits: dict[str, Any] = {}
    run_info = None
    if run_id is not None:
        run_info = snapshot.get_run(store, run_id).to_dict()
        try:
            rows = records(snapshot.traits(store, run_id, [customer_id]))
            traits = {k: v for k, v in rows[0].items() if k != "customer_id"} if rows else {}
        except NotFoundError:
            traits = {}
    models: dict[str, Any] = {}
    for table in model_tables(store):
        df = con.execute(f'SELECT * FROM {META}."{table}" WHERE customer_id = ? LIMIT 1', [customer_id]).df()
        if len(df):
            models[table[len(MODEL_PREFIX) :]] = {
                k: v for k, v in records(df)[0].items() if k != "customer_id"
            }
    hist = snapshot.history(store, customer_id)
    history: list[dict[str, Any]] = []
    if not hist.empty:
        for (rid, as_of, kind), group in hist.groupby(["run_id", "as_of", "kind"], sort=True):
            history.append(
                {"run_id": int(rid), "as_of": as_of, "kind": kind, "segments": list(group["name"])}
            )
        history = history[-history_runs:]
    return {
        "customer_id": customer_id,
        "attributes": attributes or {"customer_id": customer_id},
        "segments": sorted(current["name"].tolist()) if not current.empty else [],
        "run": run_info,
        "traits": traits,
        "models": models,
        "history": history,
    }


def tasks(
    ws: Context, *, status: str | None, customer_id: str | None, limit: int, offset: int
) -> dict[str, Any]:
    """Rows of the actions' task table when it exists (empty otherwise)."""
    store = ws.store
    if not store.table_exists("tasks", schema=META):
        return {"total": 0, "limit": limit, "offset": offset, "tasks": []}
    cols = store.columns("tasks", schema=META)
    where, params = ["1 = 1"], []
    if status is not None and "status" in cols:
        where.append("status = ?")
        params.append(status)
    if customer_id is not None and "customer_id" in cols:
        where.append("customer_id = ?")
        params.append(customer_id)
    con = store.cursor()
    base = f"FROM {META}.tasks WHERE {' AND '.join(where)}"
    total_row = con.execute(f"SELECT count(*) {base}", params).fetchone()
    order = next((c for c in ("created_at", "task_id", "id") if c in cols), None)
    sql = f"SELECT * {base}" + (f' ORDER BY "{order}" DESC' if order else "") + " LIMIT ? OFFSET ?"
    df = con.execute(sql, [*params, limit, offset]).df()
    return {
        "total": int(total_row[0]) if total_row else 0,
        "limit": limit,
        "offset": offset,
        "tasks": records(df),
    }
