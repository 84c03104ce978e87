"""Triggers: match a run's events to the workspace's trigger definitions and enqueue their actions.

`process_run(ws, run_id)` computes the run's events, renders every action of every matching trigger for
every customer (sandboxed Jinja2 with `customer`, `segment`, `event`, `run` and `trigger`) and enqueues the
results in the outbox in one transaction; `deliver` (outbox.py) sends them. Processing a run again enqueues
nothing new.

Names in triggers: `big_spenders` (a standalone segment), `rfm.champions` (a segment of a segmentation),
`rfm.*` or `rfm` (any segment of the segmentation).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from segmentum.actions.events import (
    Event,
    MetricChanged,
    RunEvents,
    SegmentEntered,
    SegmentExited,
    SegmentMoved,
    SegmentRefreshed,
    SinkEvent,
    event_dict,
    metric_events,
    segment_events,
)
from segmentum.actions.outbox import Entry, enqueue
from segmentum.actions.sinks import Sink, sink_class
from segmentum.actions.templates import Templates
from segmentum.errors import ActionError, DefinitionError
from segmentum.store import META
from segmentum.store.catalog import model_tables
from segmentum.store.tables import qualified, traits_table

if TYPE_CHECKING:
    from segmentum.context import Context
    from segmentum.spec.loader import Definitions, SegmentDef, TriggerDef
    from segmentum.spec.models import Action


@dataclass
class ProcessReport:
    """What `process_run` did."""

    run_id: int
    events: int = 0  # segment events of the run (all definitions)
    fired: dict[str, int] = field(default_factory=dict)  # trigger -> customers it fired for
    baseline: list[str] = field(default_factory=list)  # triggers whose definition had no previous state
    enqueued: int = 0  # new outbox rows (0 when the run was processed before)
    render_errors: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "events": self.events,
            "fired": self.fired,
            "baseline": self.baseline,
            "enqueued": self.enqueued,
            "render_errors": self.render_errors,
        }


# ------------------------------------------------------------------------------------------------ matching


def name_matches(pattern: str, segment: str, segmentation: str | None) -> bool:
    """Does a trigger's segment name match a full segment name?"""
    if pattern.endswith(".*"):
        return segmentation is not None and segmentation == pattern[:-2]
    if segmentation is not None and pattern == segmentation:
        return True
    return pattern == segment


def owner_of(pattern: str, defs: Definitions) -> str:
    """The definition (segmentation or standalone segment) a trigger's name refers to."""
    if pattern.endswith(".*"):
        return pattern[:-2]
    if pattern in defs.segments or pattern in defs.segmentations:
        return pattern
    return pattern.partition(".")[0]


def matches(trigger: TriggerDef, event: Event) -> bool:
    spec = trigger.spec
    if spec.on == "enter" and isinstance(event, SegmentEntered):
        return name_matches(spec.segment or "", event.segment, event.segmentation)
    if spec.on == "exit" and isinstance(event, SegmentExited):
        return name_matches(spec.segment or "", event.segment, event.segmentation)
    if spec.on == "move" and isinstance(event, SegmentMoved):
        return (spec.from_ is None or name_matches(spec.from_, event.from_segment, event.segmentation)) and (
            spec.to is None or name_matches(spec.to, event.to_segment, event.segmentation)
        )
    return False


def export_segment(trigger: TriggerDef, defs: Definitions) -> str | None:
    """The segment an export action writes by default: the trigger's target."""
    spec = trigger.spec
    target = spec.to if spec.on == "move" else spec.segment
    if target is None:
        return None
    if target in defs.segmentations:
        return f"{target}.*"
    return target


# ---------------------------------------------------------------------------------------------- validation


def validate_triggers(ws: Context, defs: Definitions) -> None:
    """Check every trigger action (webhook allowlist, templates, export targets) before anything runs."""
    templates = Templates(ws.root)
    for name, trigger in defs.triggers.items():
        spec = trigger.spec
        where = f"{trigger.location}: trigger '{name}'"
        if spec.on == "move":
            owners = {owner_of(p, defs) for p in (spec.from_, spec.to) if p is not None}
            if len(owners) > 1 or any(o not in defs.segmentations for o in owners):
                raise DefinitionError(
                    f"{where}: 'on: move' needs 'from' and 'to' in one segmentation "
                    f"(found {', '.join(sorted(owners))}); standalone segments are entered and "
                    "exited, not moved between"
                )
        for index, action in enumerate(spec.do):
            try:
                sink = sink_class(action.kind)(ws)
            except ActionError as exc:
                raise ActionError(f"{where} do[{index}]: {exc}") from None
            settings = action.settings.model_dump()
            if action.kind == "export":
                settings["segment"] = settings.get("segment") or export_segment(trigger, defs)
                if settings["segment"] is None:
                    raise ActionError(
                        f"{where} do[{index}].export: name the segment to export (segment: NAME)"
                    )
                if not settings["segment"].endswith(".*"):
                    defs.segment(settings["segment"])
            sink.validate(settings, f"{where} do[{index}].{action.kind}", templates)


# ------------------------------------------------------------------------------------------------- context


def plain(value: Any) -> Any:
    """Values for templates and JSON payloads: exact decimals as numbers, dates as they are."""
    if value is None or isinstance(value, (str, bool, int, float, datetime, date)):
        return value
    if isinstance(value, Decimal):
        return float(value) if abs(value) < 10**15 else str(value)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def _rows_by_customer(cur: Any, sql: str, params: list[Any]) -> dict[str, dict[str, Any]]:
    result = cur.execute(sql, params)
    names = [d[0] for d in result.description]
    out: dict[str, dict[str, Any]] = {}
    for row in result.fetchall():
        record = {n: plain(v) for n, v in zip(names, row, strict=True)}
        out[str(record["customer_id"])] = record
    return out


def customer_context(
    ws: Context, run_id: int, customer_ids: list[str]
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], dict[str, list[str]]]:
    """(attributes + model outputs + traits, traits alone, current segment names) of the given customers."""
    store = ws.store
    cur = store.cursor()
    if not customer_ids:
        return {}, {}, {}
    import pandas as pd

    cur.register("_segmentum_ids", pd.DataFrame({"customer_id": sorted(set(customer_ids))}))
    try:
        attrs: dict[str, dict[str, Any]] = defaultdict(dict)
        if store.table_exists("customers"):
            for cid, rec in _rows_by_customer(
                cur, "SELECT c.* FROM main.customers c JOIN _segmentum_ids USING (customer_id)", []
            ).items():
                attrs[cid].update(rec)
        for table in model_tables(store):
            for cid, rec in _rows_by_customer(
                cur, f'SELECT m.* FROM {META}."{table}" m JOIN _segmentum_ids USING (customer_id)', []
            ).items():
                for key, value in rec.items():
                    attrs[cid].setdefault(key, value)
        traits: dict[str, dict[str, Any]] = {}
        if store.table_exists(traits_table(run_id), schema=META):
            traits = _rows_by_customer(
                cur,
                f"SELECT t.* FROM {qualified(traits_table(run_id))} t JOIN _segmentum_ids USING (customer_id)",
                [],
            )
            for cid, rec in traits.items():
                attrs[cid].update({k: v for k, v in rec.items() if k not in attrs[cid] or k == "customer_id"})
                rec.pop("customer_id", None)
        segments: dict[str, list[str]] = defaultdict(list)
        for cid, name in cur.execute(
            f"SELECT m.customer_id, m.name FROM {META}.memberships m JOIN _segmentum_ids USING (customer_id) "
            "WHERE m.run_id = ? ORDER BY m.customer_id, m.name",
            [run_id],
        ).fetchall():
            segments[str(cid)].append(name)
    finally:
        cur.unregister("_segmentum_ids")
    for cid in customer_ids:
        attrs[cid].setdefault("customer_id", cid)
    return dict(attrs), traits, dict(segments)


def segment_info(defs: Definitions, name: str | None) -> dict[str, Any] | None:
    if not name:
        return None
    try:
        seg: SegmentDef = defs.segment(name)
    except Exception:  # noqa: BLE001 - a segment of an older definition: name only
        seg_name, _, rest = name.partition(".")
        return {"name": name, "segment": rest or seg_name, "segmentation": seg_name if rest else None}
    return {
        "name": seg.name,
        "segment": seg.segment,
        "segmentation": seg.segmentation,
        "description": seg.description,
        "offer": seg.offer,
        "channel": seg.channel,
        "action": seg.action,
    }


def _event_segment(event: Event) -> str | None:
    if isinstance(event, SegmentMoved):
        return event.to_segment
    if isinstance(event, (SegmentEntered, SegmentExited)):
        return event.segment
    return None


# ------------------------------------------------------------------------------------------------- process


def trigger_events(
    ws: Context, trigger: TriggerDef, run_events: RunEvents, defs: Definitions, report: ProcessReport
) -> list[Event]:
    """The events a trigger fires on in this run (one per customer at most)."""
    spec = trigger.spec
    run_id = run_events.run.run_id
    first = spec.on_first_run == "fire"
    if spec.on == "metric":
        base, events = metric_events(
            ws.store,
            run_id,
            spec.trait or "",
            above=spec.above,
            below=spec.below,
            change=spec.change,
            first_run=first,
        )
        if base.baseline:
            report.baseline.append(trigger.name)
        return list(events)
    patterns = [p for p in (spec.segment, spec.from_, spec.to) if p is not None]
    owners = {owner_of(p, defs) for p in patterns}
    baseline = any(run_events.baselines.get(o) is None or run_events.baselines[o].baseline for o in owners)
    if baseline:
        report.baseline.append(trigger.name)
        if not first or spec.on != "enter":
            return []  # nothing moved or left: there is no previous state
        pool: list[Event] = list(run_events.first_run_events)
    else:
        pool = list(run_events.events)
    seen: set[str] = set()
    out = []
    for event in pool:
        if matches(trigger, event) and event.customer_id not in seen:
            seen.add(event.customer_id)
            out.append(event)
    return out


def process_run(ws: Context, run_id: int, *, definitions: Definitions | None = None) -> ProcessReport:
    """Enqueue the actions of every trigger that fires in run `run_id` (idempotent).

    Raises ActionError or DefinitionError when a trigger is invalid (nothing is enqueued then).
    """
    defs = definitions if definitions is not None else ws.definitions()
    report = ProcessReport(run_id=int(run_id))
    if not defs.triggers:
        return report
    validate_triggers(ws, defs)
    store = ws.store
    run_events = segment_events(
        store, run_id, segmentations=set(defs.segmentations), standalone=set(defs.segments)
    )
    report.events = len(run_events.events)
    fired: dict[str, list[Event]] = {}
    for name, trigger in defs.triggers.items():
        events = trigger_events(ws, trigger, run_events, defs, report)
        fired[name] = events
        report.fired[name] = len(events)
    customers = sorted({e.customer_id for events in fired.values() for e in events})
    attrs, traits, segments = customer_context(ws, run_id, customers)
    run = {"run_id": run_events.run.run_id, "as_of": plain(run_events.run.as_of), "kind": run_events.run.kind}
    templates = Templates(ws.root)
    entries: list[Entry] = []
    sinks: dict[str, Sink] = {}
    for name, trigger in defs.triggers.items():
        actions = list(enumerate(trigger.spec.do))
        for _, action in actions:
            if action.kind not in sinks:
                sinks[action.kind] = sink_class(action.kind)(ws)
        trigger_info = {"name": name, "description": trigger.spec.description, "on": trigger.spec.on}
        for event in fired[name]:
            cid = event.customer_id
            context = {
                "customer": attrs.get(cid, {"customer_id": cid}),
                "traits": traits.get(cid, {}),
                "segment": segment_info(defs, _event_segment(event)),
                "segments": segments.get(cid, []),
                "event": event_dict(event),
                "run": {**run, "previous_run": event.from_run},
                "trigger": trigger_info,
            }
            if isinstance(event, SegmentMoved):
                context["from_segment"] = segment_info(defs, event.from_segment)
            if isinstance(event, MetricChanged):
                context["segment"] = None
            for index, action in actions:
                entries += _render(sinks[action.kind], event, action, index, name, context, templates, report)
        if run_events.run.kind == "realtime":
            continue  # a real-time run holds only the customers it re-evaluated: no segment is refreshed
        for index, action in actions:
            target = getattr(action.settings, "segment", None) or export_segment(trigger, defs)
            if not target:
                continue
            if (
                run_events.run.definition_hashes
                and owner_of(target, defs) not in run_events.run.definition_hashes
            ):
                continue  # a run of other definitions (--only) must not overwrite the list with nothing
            info = (
                {"name": target, "segmentation": target[:-2]}
                if target.endswith(".*")
                else segment_info(defs, target) or {}
            )
            refreshed = SegmentRefreshed(target, info.get("segmentation"), int(run_id))
            context = {"run": run, "trigger": trigger_info, "segment": info, "event": event_dict(refreshed)}
            entries += _render(sinks[action.kind], refreshed, action, index, name, context, templates, report)
    report.enqueued = enqueue(ws, entries)
    for sink in sinks.values():
        sink.close()
    return report


def _render(
    sink: Sink,
    event: SinkEvent,
    action: Action,
    index: int,
    trigger: str,
    context: dict[str, Any],
    templates: Templates,
    report: ProcessReport,
) -> list[Entry]:
    """The outbox entry of one action for one typed event: none when the sink does not act on that event;
    a failed entry with the reason when its templates do not render."""
    if not sink.accepts(event):
        return []
    customer_id = getattr(event, "customer_id", None)
    settings = action.settings.model_dump()
    payload = {k: v for k, v in context.items() if k != "customer"} | {"customer": context.get("customer")}
    payload["trigger"] = trigger
    try:
        payload["action"] = sink.render(event, settings, context, templates)
    except ActionError as exc:
        report.render_errors += 1
        payload["render_error"] = str(exc)
        return [
            Entry(
                trigger,
                action.kind,
                customer_id,
                event.run_id,
                index,
                payload,
                status="failed",
                last_error=f"render: {exc}",
            )
        ]
    return [Entry(trigger, action.kind, customer_id, event.run_id, index, payload)]


def act_on_run(ws: Context, result: Any, *, deliver_now: bool = True) -> dict[str, Any] | None:
    """After a stored run: enqueue its triggers' actions and deliver what is due.

    Problems become warnings of the run (the snapshot is stored either way). Returns what was done (the
    facade keeps it as `result.actions`).
    """
    from segmentum.actions.outbox import deliver
    from segmentum.errors import SegmentumError

    if getattr(result, "run_id", None) is None or getattr(result, "status", "complete") != "complete":
        return None
    try:
        report = process_run(ws, int(result.run_id))
    except SegmentumError as exc:
        result.warnings.append(f"triggers not processed: {exc}")
        return None
    outcome = report.as_dict()
    if report.render_errors:
        result.warnings.append(
            f"{report.render_errors} trigger action(s) could not be rendered; "
            "`segmentum outbox --status failed` shows why"
        )
    if deliver_now and report.enqueued:
        delivery = deliver(ws)
        outcome["delivery"] = delivery.as_dict()
        if delivery.retrying or delivery.failed:
            result.warnings.append(
                f"{delivery.retrying} action(s) will be retried and {delivery.failed} failed; "
                "`segmentum outbox` shows them"
            )
    return outcome
