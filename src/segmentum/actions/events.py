"""Typed events computed by diffing a run against each customer's previous state (DESIGN.md section 3.4).

Which earlier run holds a customer's previous state is one rule, `segmentum.runs.baseline`, for segment
transitions and metric triggers alike: the newest earlier complete batch run holding the definition, or a
later real-time run that re-evaluated the customer. A definition that the previous batch run did not hold,
or held with another definition hash, is a *baseline*: it fires nothing unless a trigger says
`on_first_run: fire`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any, ClassVar

from segmentum.runs.baseline import PreviousState, previous_runs_sql, trait_previous_state
from segmentum.sql import ident
from segmentum.store import META, Store
from segmentum.store.snapshots import RunInfo, resolve_run, run_traits, trait_values_sql


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


@dataclass(frozen=True)
class SegmentRefreshed:
    """A batch run recomputed the members of `segment` (a segment, or `segmentation.*` for all of its
    segments), whether or not anybody moved: what per-run actions such as exports act on."""

    segment: str
    segmentation: str | None
    run_id: int
    type: ClassVar[str] = "refresh"


Event = SegmentEntered | SegmentExited | SegmentMoved | MetricChanged
# What a sink's `render` receives: one customer's event, or a segment refreshed by a batch run.
SinkEvent = Event | SegmentRefreshed
CUSTOMER_EVENTS: tuple[type, ...] = (SegmentEntered, SegmentExited, SegmentMoved, MetricChanged)


def event_dict(event: SinkEvent) -> dict[str, Any]:
    """The event as a plain dict with its `type`: the one conversion for templates and payloads."""
    data = asdict(event)
    data["type"] = event.type
    if isinstance(event, SegmentMoved):
        data["from"], data["to"], data["segment"] = event.from_segment, event.to_segment, event.to_segment
    if isinstance(event, MetricChanged):
        data["relative_change"] = event.relative_change
    return data


@dataclass
class RunEvents:
    """Everything a run changed: segment events, plus what is needed to compute metric events."""

    run: RunInfo
    events: list[Event]
    baselines: dict[str, PreviousState]  # definition (segment or segmentation) name -> its previous state
    first_run_events: list[Event]  # events a baseline definition would fire with on_first_run: fire


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

    run = resolve_run(store, run_id)  # only complete runs fire triggers
    frame = diff_mod.diff(store, run_id)
    base_names = set(frame.attrs.get("baselines", []))
    baselines: dict[str, PreviousState] = dict(frame.attrs.get("states", {}))
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
) -> tuple[PreviousState, list[tuple[str, Any, Any, int | None]]]:
    """(customer_id, previous value, current value, previous run) for each customer the run evaluated.

    The previous value comes from the trait's previous state (`segmentum.runs.baseline`, the same rule as
    segment transitions): the newest earlier complete batch run holding the trait, or a later real-time run
    that re-evaluated the customer.
    """
    resolve_run(store, run_id)  # only complete runs fire triggers
    state = trait_previous_state(store, run_id, trait)
    column = ident(trait)
    source = run_traits(store, run_id)
    if source is None or trait not in source.columns:
        return state, []  # this run did not compute the trait (or its traits are no longer kept)
    current = source.relation
    cur = store.cursor()
    if state.baseline:
        rows = cur.execute(f"SELECT customer_id, {column} FROM {current} ORDER BY customer_id").fetchall()
        return state, [(r[0], None, r[1], None) for r in rows]
    assert state.batch_run is not None  # not a baseline: there is a previous batch run
    values = trait_values_sql(store, [state.batch_run, *state.realtime_runs], trait)
    rows = cur.execute(
        f"""
        WITH prev_c AS ({previous_runs_sql(state)}), prev AS ({values})
        SELECT t.customer_id, p.value, t.{column}, pc.run_id
        FROM {current} t LEFT JOIN prev_c pc ON pc.customer_id = t.customer_id
        LEFT JOIN prev p ON p.customer_id = t.customer_id AND p.run_id = pc.run_id
        ORDER BY t.customer_id
        """
    ).fetchall()
    return state, [(r[0], r[1], r[2], None if r[3] is None else int(r[3])) for r in rows]


def metric_events(
    store: Store,
    run_id: int,
    trait: str,
    *,
    above: Decimal | None = None,
    below: Decimal | None = None,
    change: float | None = None,
    first_run: bool = False,
) -> tuple[PreviousState, list[MetricChanged]]:
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
