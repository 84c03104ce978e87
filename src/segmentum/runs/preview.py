"""Preview edited definitions: who would enter and who would leave, computed without storing anything.

A definition is "changed" when its hash differs from the one recorded by the newest complete batch run
(or when that run did not have it). The preview evaluates only the changed definitions at that run's
as_of, so the difference is due to the edit alone, and compares with the run's memberships. A definition
that a run at that as_of leaves out (it needs a model fitted on later data: `compile/availability.py`) is
reported as skipped with the run's message, not as everyone leaving it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from segmentum.sql import ident, literal
from segmentum.store import META
from segmentum.store import snapshots as snapshot

if TYPE_CHECKING:
    from segmentum.compile.compiler import CompiledRun
    from segmentum.context import Context
    from segmentum.spec.loader import Definitions

SAMPLE = 20


@dataclass
class SegmentChange:
    name: str
    before: int
    after: int
    entered: list[str]
    left: list[str]

    def to_dict(self, sample: int | None = SAMPLE) -> dict[str, Any]:
        return {
            "name": self.name,
            "before": self.before,
            "after": self.after,
            "entered_count": len(self.entered),
            "left_count": len(self.left),
            "entered": self.entered[:sample] if sample else self.entered,
            "left": self.left[:sample] if sample else self.left,
        }


@dataclass
class Preview:
    as_of: datetime | None
    base_run: int | None
    changed: dict[str, str]  # definition -> 'new' | 'edited'
    segments: list[SegmentChange] = field(default_factory=list)
    # changed definitions a run at as_of leaves out (no entries or leavers are listed for them)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # the run's warnings, as `segmentum run` prints them
    # traits read from the base run's stored traits instead of computed (unchanged by the edit)
    reused: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "base_run": self.base_run,
            "changed": self.changed,
            "segments": [s.to_dict() for s in self.segments],
            "skipped": self.skipped,
            "warnings": self.warnings,
        }

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [{k: v for k, v in s.to_dict().items() if k not in ("entered", "left")} for s in self.segments],
            columns=["name", "before", "after", "entered_count", "left_count"],
        )


def preview(
    ws: Context,
    *,
    overrides: dict[str, str] | None = None,
    as_of: Any = None,
    names: list[str] | None = None,
    definitions: Definitions | None = None,
) -> Preview:
    """Definitions whose hash differs from the last batch run's, and who would enter or leave each segment.

    Only the changed definitions and what they depend on are evaluated (compiled once, storing nothing), and
    of their traits only those the edit changed: the others are read from the base run's stored traits
    (`_stored_traits`). The result is compared with the base run's memberships of the changed definitions in
    one DuckDB query (`_moves`).

    Parameters
    ----------
    overrides:
        Unsaved file texts (workspace-relative path -> YAML) to preview instead of the files on disk.
    names:
        Preview these definitions even when unchanged.
    definitions:
        The definitions already loaded with these `overrides` (the editor validates them first), so they are
        not parsed again.
    """
    from segmentum.runs.execute import compile_for, engine_for, narrow

    defs = definitions if definitions is not None else ws.definitions(overrides=overrides)
    last = snapshot.latest_run(ws.store)
    old_hashes = last.definition_hashes if last is not None else {}
    changed: dict[str, str] = {}
    for name in defs.definition_names():
        if name not in old_hashes:
            changed[name] = "new"
        elif old_hashes[name] != defs.hashes.get(name):
            changed[name] = "edited"
    for name in names or []:
        changed.setdefault(name, "requested")
    result = Preview(last.as_of if last else None, last.run_id if last else None, changed)
    if not changed:
        return result
    point = as_of if as_of is not None else (last.as_of if last is not None else "latest")
    usable, resolved, warnings = narrow(ws, defs, list(changed), point)
    result.warnings = warnings
    # what the run leaves out (its as_of's models) has no members because it was not evaluated, not because its
    # customers left: say so instead of listing them as leavers
    result.skipped = [n for n in changed if n in usable.skipped]
    shown = [n for n in changed if n not in usable.skipped]
    eng = engine_for(ws, ws.config.engine.name)
    try:
        stored, result.reused = _stored_traits(ws, eng, usable.definitions, last, resolved)
        compiled = compile_for(ws, usable, eng, resolved, stored=stored)
        cur = ws.store.cursor()
        source = eng.result_sql(compiled.expr, cur)  # Spark computes here; the comparison runs in DuckDB
        before = [n for n in shown if changed[n] != "new"] if last is not None else []
        moves = _moves(cur, source, compiled, shown, last.run_id if last is not None else None, before)
    finally:
        eng.close()
    for name in shown:
        if name in defs.segmentations:
            seg_names = [s.name for s in defs.segmentations[name].segments]
            # a segment the edit removed still lists who left it
            seg_names += sorted(k for k, m in moves.items() if m[0] == name and k not in seg_names)
        else:
            seg_names = [name]
        for seg in seg_names:
            _, counts, entered, left = moves.get(seg, (None, (0, 0), [], []))
            result.segments.append(SegmentChange(seg, counts[0], counts[1], entered, left))
    result.as_of = resolved
    return result


def _stored_traits(
    ws: Context, engine: Any, defs: Definitions, base: snapshot.RunInfo | None, as_of: datetime
) -> tuple[Any, list[str]]:
    """The base run's stored traits the preview can read instead of computing (an Ibis table of customer_id
    and those traits, or None) and their names: the traits whose definition hash the run recorded unchanged,
    when the preview is at the run's as_of and no ingest, model fit or erasure came after the run started.
    A trait's hash covers every trait it reads (`spec/fingerprint.py`), so an unchanged hash means an
    unchanged value. Only on DuckDB (the traits table is in the store)."""
    from segmentum.runs.execute import traits_of

    if base is None or base.as_of != as_of or getattr(engine, "name", "") != "duckdb" or not defs.traits:
        return None, []
    kept = snapshot.trait_hashes(ws.store, base.run_id).get(base.run_id)  # one table's comment
    if not kept:
        return None, []
    same = [t for t in defs.traits if t in kept and kept[t] == defs.hashes.get(t)]
    if not same or snapshot.inputs_changed_since(ws.store, base, ws.config.timezone):
        return None, []
    table = traits_of(engine, base.run_id)
    same = [t for t in same if t in table.columns]
    return (table.select("customer_id", *same), same) if same else (None, [])


def _moves(
    cur: Any,
    source: str,
    compiled: CompiledRun,
    shown: list[str],
    base_run: int | None,
    before: list[str],
) -> dict[str, tuple[str | None, tuple[int, int], list[str], list[str]]]:
    """Per segment name: (its segmentation, (members before, after), who entered, who left (sorted ids)), in
    ONE query: the evaluated rows (`source`) as memberships of the `shown` definitions, fully joined with the
    base run's memberships of `before` (nothing is read into pandas but the answer)."""
    parts = [
        f"SELECT customer_id, {literal(name)} AS name, NULL::VARCHAR AS segmentation FROM result "
        f"WHERE coalesce({ident(column)}, false)"
        for name, column in compiled.segments.items()
        if name in shown
    ]
    parts += [
        f"SELECT customer_id, {literal(name + '.')} || CAST({ident(column)} AS VARCHAR), {literal(name)} "
        "FROM result"
        for name, column in compiled.segmentations.items()
        if name in shown
    ]
    after = " UNION ALL ".join(parts) or "SELECT NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR WHERE false"
    rows = cur.execute(
        f"""WITH result AS ({source}),
        after_m (customer_id, name, segmentation) AS ({after}),
        before_m AS (
            SELECT customer_id, name, segmentation FROM {META}.memberships
            WHERE run_id = ? AND (list_contains(?::VARCHAR[], name) OR list_contains(?::VARCHAR[], segmentation))),
        joined AS (
            SELECT coalesce(b.name, a.name) AS name, coalesce(b.customer_id, a.customer_id) AS customer_id,
                   coalesce(b.segmentation, a.segmentation) AS segmentation,
                   b.customer_id IS NOT NULL AS was, a.customer_id IS NOT NULL AS now
            FROM before_m b FULL OUTER JOIN after_m a ON a.name = b.name AND a.customer_id = b.customer_id)
        SELECT name, any_value(segmentation), count(*) FILTER (WHERE was), count(*) FILTER (WHERE now),
               coalesce(list(customer_id ORDER BY customer_id) FILTER (WHERE now AND NOT was), []),
               coalesce(list(customer_id ORDER BY customer_id) FILTER (WHERE was AND NOT now), [])
        FROM joined GROUP BY name""",
        [base_run, before, before],
    ).fetchall()
    return {
        str(name): (seg, (int(was), int(now)), [str(i) for i in entered], [str(i) for i in left])
        for name, seg, was, now, entered, left in rows
    }
