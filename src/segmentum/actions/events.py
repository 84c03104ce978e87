"""Typed events computed by diffing a run against each customer's previous state (DESIGN.md section 3.4).

A customer's previous state for a definition is their row in the newest complete run before this one that
evaluated them (a batch run evaluates everyone, a real-time run only the customers it lists in its traits
table). A definition that the previous batch run did not hold, or held with another definition hash, is a
*baseline*: it fires nothing unless a trigger says `on_first_run: fire`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from segmentum.sql import ident
from segmentum.store import META, Store
from segmentum.store.tables import qualified, traits_table


@dataclass(frozen=True)
class SegmentEntered:
    """A customer is in `segment` now and was not before (a new customer enters too)."""

    customer_id: str
    segment: str  # full name: 'rfm.champions' or 'big_spenders'
    segmentation: str | None
    run_id: int
    from_run: int | None
    type: ClassVar[str] = "enter"


@dataclass(frozen=True)
class SegmentExited:
    """A customer was in `segment` in their previous state and is not now."""

    customer_id: str
    segment: str
    segmentation: str | None
    run_id: int
    from_run: int | None
    type: ClassVar[str] = "exit"


@dataclass(frozen=True)
class SegmentMoved:
    """A customer moved from one segment of a segmentation to another (both full names)."""

    customer_id: str
    segmentation: str
    from_segment: str
    to_segment: str
    run_id: int
    from_run: int | None
    type: ClassVar[str] = "move"

    @property
    def segment(self) -> str:
        return self.to_segment


@dataclass(frozen=True)
class MetricChanged:
    """A trait crossed a threshold or changed by a relative amount against the customer's previous state."""

    customer_id: str
    trait: str
    previous: Any
    current: Any
    run_id: int
    from_run: int | None
    reason: str = ""
    type: ClassVar[str] = "metric"

    @property
    def relative_change(self) -> float | None:
        if self.previous is None or self.current is None or float(self.previous) == 0:
            return None
        return (float(self.current) - float(self.previous)) / abs(float(self.previous))


Event = SegmentEntered | SegmentExited | SegmentMoved | MetricChanged


def event_dict(event: Event) -> dict[str, Any]:
    """The event as a plain dict with its `type` (for payloads and templates)."""
    data = asdict(event)
    data["type"] = event.type
    if isinstance(event, SegmentMoved):
        data["from"], data["to"], data["segment"] = event.from_segment, event.to_segment, event.to_segment
    if isinstance(event, MetricChanged):
        data["relative_change"] = event.relative_change
    return data


@dataclass
class RunInfo:
    run_id: int
    kind: str
    as_of: Any
    hashes: dict[str, str]


@dataclass
class Baseline:
    """Where a definition's previous state comes from, for one run."""

    name: str
    batch_run: int | None  # newest complete batch run before this one holding the definition
    realtime_runs: list[int] = field(default_factory=list)  # complete real-time runs after it
    baseline: bool = False  # no previous state, or the definition was edited


@dataclass
class RunEvents:
    """Everything a run changed: segment events, plus what is needed to compute metric events."""

    run: RunInfo
    events: list[Event]
    baselines: dict[str, Baseline]  # definition (segment or segmentation) name -> its previous state
    first_run_events: list[Event]  # events a baseline definition would fire with on_first_run: fire


def load_run(store: Store, run_id: int) -> RunInfo:
    from segmentum.errors import NotFoundError

    row = (
        store.cursor()
        .execute(
            f"SELECT run_id, kind, as_of, definition_hashes, status FROM {META}.runs WHERE run_id = ?",
            [run_id],
        )
        .fetchone()
    )
    if row is None:
        raise NotFoundError(f"run {run_id} does not exist; `segmentum runs` lists the runs")
    if row[4] != "complete":
        raise NotFoundError(
            f"run {run_id} is {row[4]}, not complete: only complete runs fire triggers; "
            "`segmentum runs` lists the runs"
        )
    return RunInfo(int(row[0]), row[1] or "batch", row[2], _hashes(row[3]))


def _hashes(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, str):
        value = json.loads(value)
    return {str(k): str(v) for k, v in dict(value).items()}


def _previous_runs(store: Store, run_id: int) -> list[RunInfo]:
    rows = (
        store.cursor()
        .execute(
            f"SELECT run_id, kind, as_of, definition_hashes FROM {META}.runs "
            "WHERE status = 'complete' AND run_id < ? ORDER BY run_id DESC",
            [run_id],
        )
        .fetchall()
    )
    return [RunInfo(int(r[0]), r[1] or "batch", r[2], _hashes(r[3])) for r in rows]


def baseline_for(name: str, run: RunInfo, previous: list[RunInfo], *, has: Any = None) -> Baseline:
    """Previous state of definition `name`: newest batch run holding it plus newer real-time runs.

    `has(run)` says whether a run holds the definition (default: its name is among the run's hashes).
    """
    holds = has or (lambda r: name in r.hashes)
    realtime: list[int] = []
    for prev in previous:  # newest first
        if not holds(prev):
            continue
        if prev.kind == "realtime":
            realtime.append(prev.run_id)
            continue
        edited = name in run.hashes and name in prev.hashes and run.hashes[name] != prev.hashes[name]
        return Baseline(name, prev.run_id, realtime if not edited else [], baseline=edited)
    return Baseline(name, None, [], baseline=True)


def segment_events(
    store: Store, run_id: int, *, segmentations: set[str] | None = None, standalone: set[str] | None = None
) -> RunEvents:
    """Entered / exited / moved events of run `run_id` for every definition the run holds.

    The transitions come from `segmentum.runs.diff.diff` (the same ones `segmentum run` prints). A move
    between two segments of a segmentation gives three events: exited the old segment, entered the new
    one, and moved. `segmentations` / `standalone` are accepted for callers that know the definitions;
    the run's own memberships decide otherwise.
    """
    from segmentum.runs import diff as diff_mod

    run = load_run(store, run_id)
    frame = diff_mod.diff(store, run_id)
    base_names = set(frame.attrs.get("baselines", []))
    baselines = {name: Baseline(name, None, [], baseline=name in base_names) for name in run.hashes}
    events: list[Event] = []
    for row in frame.itertuples(index=False):
        seg = row.segmentation if isinstance(row.segmentation, str) else None
        old = _full(row.from_segment, seg)
        new = _full(row.to_segment, seg)
        from_run = None if row.from_run is None or row.from_run != row.from_run else int(row.from_run)
        customer = str(row.customer_id)
        if old is not None:
            events.append(SegmentExited(customer, old, seg, run_id, from_run))
        if new is not None:
            events.append(SegmentEntered(customer, new, seg, run_id, from_run))
        if seg is not None and old is not None and new is not None:
            events.append(SegmentMoved(customer, seg, old, new, run_id, from_run))
    first: list[Event] = []
    if base_names:
        cur = store.cursor()
        for name in sorted(base_names):
            rows = cur.execute(
                f"SELECT customer_id, segmentation, name FROM {META}.memberships WHERE run_id = ? "
                "AND (segmentation = ? OR (segmentation IS NULL AND name = ?)) ORDER BY customer_id",
                [run_id, name, name],
            ).fetchall()
            first += [SegmentEntered(c, n, s, run_id, None) for c, s, n in rows]
    return RunEvents(run, events, baselines, first)


def _full(segment: object, segmentation: str | None) -> str | None:
    if not isinstance(segment, str):
        return None
    return f"{segmentation}.{segment}" if segmentation is not None else segment


def metric_values(
    store: Store, run_id: int, trait: str
) -> tuple[Baseline, list[tuple[str, Any, Any, int | None]]]:
    """(customer_id, previous value, current value, previous run) for each customer the run evaluated.

    The previous value comes from the newest earlier complete batch run whose traits table has the trait,
    or from a later real-time run that re-evaluated the customer.
    """
    run = load_run(store, run_id)
    cur = store.cursor()
    having = {
        int(r[0].removeprefix("traits_"))
        for r in cur.execute(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = ? AND column_name = ? "
            "AND table_name LIKE 'traits\\_%' ESCAPE '\\'",
            [META, trait],
        ).fetchall()
        if r[0].removeprefix("traits_").isdigit()
    }
    base = baseline_for(trait, run, _previous_runs(store, run_id), has=lambda r: r.run_id in having)
    column = ident(trait)
    if run_id not in having:
        return base, []
    if base.batch_run is None:
        rows = cur.execute(
            f"SELECT customer_id, {column} FROM {qualified(traits_table(run_id))} ORDER BY customer_id"
        ).fetchall()
        return base, [(r[0], None, r[1], None) for r in rows]
    latest: dict[str, int] = {}
    if base.realtime_runs and store.table_exists("run_customers", schema=META):
        ids = ", ".join(str(int(r)) for r in base.realtime_runs)
        latest = {
            str(c): int(r)
            for c, r in cur.execute(
                f"SELECT customer_id, max(run_id) FROM {META}.run_customers WHERE run_id IN ({ids}) AND customer_id IN "
                f"(SELECT customer_id FROM {qualified(traits_table(run_id))}) GROUP BY customer_id"
            ).fetchall()
        }
    runs = sorted({base.batch_run, *latest.values()})
    union = " UNION ALL ".join(
        f"SELECT {int(r)}::BIGINT AS run_id, customer_id, {column} AS value FROM {qualified(traits_table(r))}"
        for r in runs
    )
    import pandas as pd

    cur.register(
        "_segmentum_latest",
        pd.DataFrame({"customer_id": list(latest), "run_id": list(latest.values())}, dtype="object"),
    )
    try:
        rows = cur.execute(
            f"""
            WITH src AS (
                SELECT t.customer_id, coalesce(l.run_id::BIGINT, {int(base.batch_run)}) AS from_run, t.{column} AS value
                FROM {qualified(traits_table(run_id))} t LEFT JOIN _segmentum_latest l ON l.customer_id = t.customer_id),
            prev AS ({union})
            SELECT src.customer_id, p.value, src.value, src.from_run
            FROM src LEFT JOIN prev p ON p.customer_id = src.customer_id AND p.run_id = src.from_run
            ORDER BY src.customer_id
            """
        ).fetchall()
    finally:
        cur.unregister("_segmentum_latest")
    return base, [(r[0], r[1], r[2], r[3]) for r in rows]


def metric_events(
    store: Store,
    run_id: int,
    trait: str,
    *,
    above: Decimal | None = None,
    below: Decimal | None = None,
    change: float | None = None,
    first_run: bool = False,
) -> tuple[Baseline, list[MetricChanged]]:
    """Customers whose `trait` crossed `above` / `below` or changed by `change` (relative) in this run.

    Crossing: `above: X` fires when the previous value was at most X and the new one is above it; `below: X`
    when the previous was at least X and the new one is below it (either of the two when both are given).
    Both values must be known. `change: r` fires when the relative change `(new - old) / |old|` is at most r
    (r < 0: a drop) or at least r (r > 0: a rise); an old value of 0 never fires. Given together, the
    crossing and the change must both hold. On a baseline with `first_run`, `above`/`below` compare the
    current value only and `change` never fires.
    """
    base, rows = metric_values(store, run_id, trait)
    baseline = base.baseline
    if baseline and not first_run:
        return base, []
    out: list[MetricChanged] = []
    for customer, old, new, from_run in rows:
        if new is None:
            continue
        new_f = Decimal(str(new))
        reasons = []
        if baseline:
            if (above is not None and new_f > above) or (below is not None and new_f < below):
                reasons.append("above" if above is not None and new_f > above else "below")
            if change is not None or not reasons:
                continue
        else:
            if old is None:
                continue
            old_f = Decimal(str(old))
            crossed = []
            if above is not None and old_f <= above < new_f:
                crossed.append(f"crossed above {above}")
            if below is not None and old_f >= below > new_f:
                crossed.append(f"crossed below {below}")
            if (above is not None or below is not None) and not crossed:
                continue
            reasons += crossed
            if change is not None:
                if old_f == 0:
                    continue
                rel = float((new_f - old_f) / abs(old_f))
                if not (rel <= change if change < 0 else rel >= change):
                    continue
                reasons.append(f"changed by {rel:+.1%}")
        out.append(MetricChanged(customer, trait, old, new, run_id, from_run, "; ".join(reasons)))
    return base, out
