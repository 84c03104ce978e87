"""The one home of writing memberships: the narrow rows and their keys (issue 16).

A run's memberships are stored narrow, `segmentum.membership_rows(run_id, customer_id, segment_key)`, with one
row per segment name in `segmentum.segment_keys(segment_key, segmentation, segment, name)`: a name's key is
assigned the first time it is written and never changes or is reused (rows of every run refer to it). Readers
read the view `segmentum.memberships(run_id, customer_id, segmentation, segment, name)`, which joins the two
(`tables.MEMBERSHIPS_VIEW_SQL`); a view cannot be written, so every write goes through here.

Writing a run's four strings per membership cost 2.8 s at 5.75M rows; an id and a small integer, 1 s.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from segmentum.sql import ident, literal
from segmentum.store.tables import MEMBERSHIP_ROWS_TABLE, SEGMENT_KEYS_TABLE, qualified

if TYPE_CHECKING:
    import duckdb

ROWS = qualified(MEMBERSHIP_ROWS_TABLE)
KEYS = qualified(SEGMENT_KEYS_TABLE)

# (segmentation or None, segment, name): what a key stands for
Label = tuple[str | None, str, str]


def label(segmentation: str | None, segment: str) -> Label:
    """The label of a standalone segment (segmentation None: its name is itself) or of a segmentation's
    segment (named `segmentation.segment`)."""
    return (segmentation, segment, segment if segmentation is None else f"{segmentation}.{segment}")


def assign_keys(con: duckdb.DuckDBPyConnection, labels: Iterable[Label]) -> dict[str, int]:
    """name -> key of every label, assigning the next free keys to names never written before (in the
    caller's transaction). Names already known are only read, so concurrent writers of known names never
    touch the dictionary."""
    wanted = {name: (segmentation, segment, name) for segmentation, segment, name in labels}
    known: dict[str, int] = dict(con.execute(f"SELECT name, segment_key FROM {KEYS}").fetchall())
    missing = sorted(n for n in wanted if n not in known)
    if missing:
        start = max(known.values(), default=0) + 1
        rows = [(start + i, *wanted[name]) for i, name in enumerate(missing)]
        con.executemany(f"INSERT INTO {KEYS} VALUES (?, ?, ?, ?)", rows)
        known.update({row[3]: row[0] for row in rows})
    return {name: known[name] for name in wanted}


def write_run(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    table: str,
    segments: Mapping[str, str],
    segmentations: Mapping[str, str],
) -> None:
    """Write run `run_id`'s memberships from `table` (qualified; customer_id and the segment columns): each
    standalone segment of `segments` (name -> boolean column) holds the customers whose column is true, each
    segmentation of `segmentations` (name -> label column) every customer under the segment its column names.

    One INSERT of (run, customer, key) rows from ONE scan of `table`: each customer's keys are a list (a
    segment's key when its column is true, a segmentation's key of the label its column holds: a CASE over
    its labels, read first, a few distinct values per column) unnested, the nulls dropped. A UNION ALL of one
    scan per segment read each customer's id once per definition: at 1M customers and 13 definitions
    (5.75M rows) it cost twice the CPU (BENCHMARKS.md, "The memberships written in one scan"). The rows
    come customer by customer, not segment by segment: readers filter, none relies on the order."""
    labels = [label(None, name) for name in segments]
    found: dict[str, list[str]] = {}
    if segmentations:
        read = ", ".join(
            f"list(DISTINCT {ident(column)}) FILTER (WHERE {ident(column)} IS NOT NULL)"
            for column in segmentations.values()
        )
        values = con.execute(f"SELECT {read} FROM {table}").fetchone() or ()
        found = {name: sorted(v or []) for name, v in zip(segmentations, values, strict=True)}
        labels += [label(name, segment) for name, segments_ in found.items() for segment in segments_]
    keys = assign_keys(con, labels)
    # null where the customer is not a member: a false or null segment column, a null label
    items = [f"CASE WHEN {ident(column)} THEN {keys[name]} END" for name, column in segments.items()]
    for name, column in segmentations.items():
        if not found[name]:
            continue  # no customer: no row
        cases = " ".join(
            f"WHEN {literal(segment)} THEN {keys[label(name, segment)[2]]}" for segment in found[name]
        )
        items.append(f"CASE {ident(column)} {cases} END")
    if items:
        con.execute(
            f"INSERT INTO {ROWS} (run_id, customer_id, segment_key) "
            f"SELECT {int(run_id)}, customer_id, segment_key "
            f"FROM (SELECT customer_id, unnest([{', '.join(items)}]) AS segment_key FROM {table}) "
            "WHERE segment_key IS NOT NULL"
        )


def add(con: duckdb.DuckDBPyConnection, query: str, params: Sequence[Any] | None = None) -> int:
    """Append the memberships `query` returns (run_id, customer_id, segmentation, segment, name, in that
    order), assigning keys to new names; returns the rows written. For writers of a few rows (imports,
    fixtures): a run writes through `write_run`."""
    source = f"SELECT * FROM ({query}) q(run_id, customer_id, segmentation, segment, name)"
    rows = con.execute(
        f"SELECT DISTINCT segmentation, segment, name FROM ({source}) WHERE name IS NOT NULL", params or []
    ).fetchall()
    assign_keys(con, [(r[0], r[1], r[2]) for r in rows])
    written = con.execute(
        f"INSERT INTO {ROWS} (run_id, customer_id, segment_key) SELECT s.run_id, s.customer_id, k.segment_key "
        f"FROM ({source}) s JOIN {KEYS} k USING (name)",
        params or [],
    ).fetchone()
    return int(written[0]) if written else 0


def delete_run(con: duckdb.DuckDBPyConnection, run_id: int) -> None:
    """Remove run `run_id`'s memberships (a run that never completed); the keys stay (never reused)."""
    con.execute(f"DELETE FROM {ROWS} WHERE run_id = ?", [int(run_id)])
