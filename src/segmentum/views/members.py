"""Members of a segment in a snapshot, and their export to CSV / Parquet / JSON."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from segmentum.errors import NotFoundError, did_you_mean
from segmentum.store import META
from segmentum.store import snapshots as snapshot

if TYPE_CHECKING:
    from segmentum.context import Context

FORMATS = {".csv": "csv", ".parquet": "parquet", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def members(ws: Context, name: str, *, run_id: int | None = None, attributes: bool = True) -> pd.DataFrame:
    """Members of `name` (standalone segment or `segmentation.segment`) in a run (default: newest complete batch).

    Always has a `customer_id` column first; with `attributes`, the customers' attributes follow.
    """
    store = ws.store
    info = snapshot.resolve_run(store, run_id)
    known = [
        r[0]
        for r in store.query(f"SELECT DISTINCT name FROM {META}.memberships WHERE run_id = ?", [info.run_id])
    ]
    if name not in known:
        try:
            defined = ws.definitions().segment_names()
        except Exception:  # noqa: BLE001 - invalid definitions must not hide the stored snapshot
            defined = []
        if name not in defined:
            raise NotFoundError(
                f"unknown segment '{name}' in run {info.run_id}"
                f"{did_you_mean(name, [*known, *defined])}; `segmentum segments` lists them"
            )
    has_customers = attributes and store.table_exists("customers")
    join = "LEFT JOIN main.customers c USING (customer_id)" if has_customers else ""
    extra = ", c.* EXCLUDE (customer_id)" if has_customers else ""
    return (
        store.cursor()
        .execute(
            f"SELECT m.customer_id{extra} FROM {META}.memberships m {join} WHERE m.run_id = ? AND m.name = ? "
            "ORDER BY m.customer_id",
            [info.run_id, name],
        )
        .to_arrow_table()
        .to_pandas()
    )


def export(df: pd.DataFrame, path: str | Path) -> Path:
    """Write rows by the file's extension (.csv, .parquet, .json, .jsonl); an empty frame keeps its header."""
    target = Path(path)
    kind = FORMATS.get(target.suffix.lower())
    if kind is None:
        raise NotFoundError(
            f"cannot write {target.name}: unknown extension '{target.suffix}'; "
            f"use one of {', '.join(sorted(FORMATS))}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    if kind == "csv":
        df.to_csv(target, index=False)
    elif kind == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), target)
    elif kind == "json":
        df.to_json(target, orient="records", date_format="iso", force_ascii=False, indent=1)
    else:
        df.to_json(target, orient="records", lines=True, date_format="iso", force_ascii=False)
    return target
