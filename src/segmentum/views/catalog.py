"""What segments exist: the definitions' catalog, which definition a segment belongs to, whether a run computed
it, and the one check that a segment name exists (with a did-you-mean)."""

from __future__ import annotations

import hashlib
import threading
from typing import TYPE_CHECKING, Any

from segmentum.context import Context
from segmentum.errors import NotFoundError, did_you_mean
from segmentum.store import META
from segmentum.store import snapshots as snapshot
from segmentum.store.snapshots import RunInfo

if TYPE_CHECKING:
    from segmentum.spec.definitions import Definitions

# workspace root -> (definitions_stamp, catalog): loading the definitions takes about half a second, and every
# dashboard page asks for the catalog; it changes only when what `definitions_stamp` covers does
_CATALOGS: dict[str, tuple[str, dict[str, dict[str, Any]]]] = {}
_CATALOGS_LOCK = threading.Lock()


def definitions_stamp(ctx: Context) -> str:
    """A digest of what the loaded definitions depend on: the text of segmentum.yml and of every definition
    file, the tables and attributes the store holds (a built-in whose data is missing is left out), and the
    static lists stored (each is a segment: `Context.definitions` passes their names to the loader)."""
    from segmentum.spec.loader import definition_files
    from segmentum.store.lists import names as list_names
    from segmentum.store.tables import MODEL_TABLE_PREFIX

    # one look-up of every column of the data and model tables (a superset of `data_columns`, which asks
    # table by table and takes ten times as long)
    columns = ctx.store.query(
        "SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = current_database() AND (schema_name = 'main' OR "
        "(schema_name = ? AND starts_with(table_name, ?))) ORDER BY 1, 2, column_index",
        [META, MODEL_TABLE_PREFIX],
    )
    digest = hashlib.sha256(repr((columns, list_names(ctx.store))).encode())
    for path in [ctx.root / "segmentum.yml", *definition_files(ctx)]:
        if path.is_file():
            digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def definition_catalog(ctx: Context, definitions: Definitions | None = None) -> dict[str, dict[str, Any]]:
    """Segment name -> {segmentation, segment, description} from the definitions; empty when they fail to
    load (reads still answer from the snapshots, which are what was computed). Loaded once while
    `definitions_stamp` is unchanged; a caller that has loaded the definitions passes them."""
    if definitions is not None:
        return _catalog_of(definitions)
    stamp = definitions_stamp(ctx)
    key = str(ctx.root.resolve())
    with _CATALOGS_LOCK:
        cached = _CATALOGS.get(key)
    if cached is None or cached[0] != stamp:
        catalog = _load_catalog(ctx)
        if catalog is None:  # not kept: a failure may be passing (the next page tries again)
            return {}
        cached = (stamp, catalog)
        with _CATALOGS_LOCK:
            _CATALOGS[key] = cached
    return {name: dict(info) for name, info in cached[1].items()}  # a copy: callers may change theirs


def _load_catalog(ctx: Context) -> dict[str, dict[str, Any]] | None:
    try:
        defs = ctx.definitions()
    except Exception:  # noqa: BLE001 - invalid definitions must not take read models down
        return None
    return _catalog_of(defs)


def _catalog_of(defs: Definitions) -> dict[str, dict[str, Any]]:
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


def owner(name: str) -> str:
    """The definition a segment belongs to: its segmentation (`rfm` of `rfm.champions`), else itself."""
    return name.partition(".")[0] if "." in name else name


def computed(run: RunInfo, name: str) -> bool | None:
    """Whether `run` computed segment (or segmentation) `name` by its recorded hashes; None when it recorded
    none (only its memberships tell). The rule's home is `snapshots.computed_by_hashes`."""
    return snapshot.computed_by_hashes(run, name)


def definition_kind(ctx: Context, name: str) -> str:
    """'segmentation' when `name` is a segmentation, 'segment' when it is a segment (standalone, or one of a
    segmentation: `rfm.champions`), by the definitions or by what the runs hold; NotFoundError otherwise."""
    if "." not in name and (_exists(ctx, "segmentation", name, None)):
        return "segmentation"
    if _exists(ctx, "name", name, None):
        return "segment"
    catalog = definition_catalog(ctx)
    if any(info["segmentation"] == name for info in catalog.values()):
        return "segmentation"
    if name in catalog:
        return "segment"
    segmentations = {info["segmentation"] for info in catalog.values() if info["segmentation"]}
    stored = [r[0] for r in ctx.store.query(f"SELECT DISTINCT segmentation FROM {META}.memberships")]
    known = list(
        dict.fromkeys([*sorted(segmentations), *(s for s in stored if s), *_candidates(ctx, catalog, None)])
    )
    raise NotFoundError(
        f"unknown segmentation or segment '{name}'{did_you_mean(name, known)}; "
        "`segmentum segments` (GET /v1/segments) lists them"
    )


def check_segment(
    ctx: Context, name: str, *, run_id: int | None = None, definitions: Definitions | None = None
) -> None:
    """NotFoundError unless `name` is a defined segment or has members (in run `run_id`, else in any run).

    `segmentation.*` names every segment of a segmentation; `definitions` (already loaded) saves loading them.
    """
    # the store first: loading the definitions takes far longer than a look-up that stops at the first row
    if name.endswith(".*"):
        segmentation = name[:-2]
        if _exists(ctx, "segmentation", segmentation, run_id):
            return
        catalog = definition_catalog(ctx, definitions)
        if any(info["segmentation"] == segmentation for info in catalog.values()):
            return
        known = sorted({info["segmentation"] for info in catalog.values() if info["segmentation"]})
        raise NotFoundError(
            f"unknown segmentation '{segmentation}'{did_you_mean(segmentation, known)}; "
            "`segmentum segments` (GET /v1/segments) lists them"
        )
    if _exists(ctx, "name", name, run_id):
        return
    catalog = definition_catalog(ctx, definitions)
    if name in catalog:
        return
    where = f" in run {run_id}" if run_id is not None else ""
    raise NotFoundError(
        f"unknown segment '{name}'{where}{did_you_mean(name, _candidates(ctx, catalog, run_id))}; "
        "`segmentum segments` (GET /v1/segments) lists them"
    )


def _exists(ctx: Context, column: str, value: str, run_id: int | None) -> bool:
    sql = f"SELECT 1 FROM {META}.memberships WHERE {column} = ?"
    params: list[Any] = [value]
    if run_id is not None:
        sql += " AND run_id = ?"
        params.append(int(run_id))
    return bool(ctx.store.query(sql + " LIMIT 1", params))


def _candidates(ctx: Context, catalog: dict[str, Any], run_id: int | None) -> list[str]:
    """Names for a did-you-mean: the definitions' and those of the run (default: the newest batch run)."""
    run = snapshot.get_run(ctx.store, run_id) if run_id is not None else snapshot.latest_run(ctx.store)
    stored = (
        [
            r[0]
            for r in ctx.store.query(
                f"SELECT DISTINCT name FROM {META}.memberships WHERE run_id = ?", [run.run_id]
            )
        ]
        if run is not None
        else []
    )
    return list(dict.fromkeys([*catalog, *stored]))
