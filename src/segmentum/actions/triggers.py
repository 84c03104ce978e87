"""Triggers: match a run's events to the workspace's trigger definitions and enqueue their actions.

`process_run(ws, run_id)` computes the run's events, renders every action of every matching trigger for
every customer (sandboxed Jinja2 with `customer`, `segment`, `event`, `run` and `trigger`) and enqueues the
results in the outbox in one transaction, with the audit log's record that the run was processed; `deliver`
(outbox.py) sends them. Processing a run again enqueues nothing new. A run whose process stopped between its
snapshot and that transaction is finished by the next start (`finish_pending`: the next run, `segmentum serve`,
any `segmentum outbox`). An invalid trigger or a template that raises fails only its own outbox rows.

Names in triggers: `big_spenders` (a standalone segment), `rfm.champions` (a segment of a segmentation),
`rfm.*` or `rfm` (any segment of the segmentation).
"""

from __future__ import annotations

import re
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
from segmentum.actions.policy import ACTED, CAP, COOLDOWN, HOLDOUT, QUIET, SUPPRESSED, Policy
from segmentum.actions.sinks import Sink, sink_class
from segmentum.actions.templates import Templates
from segmentum.clock import now as ws_now
from segmentum.errors import ActionError, DefinitionError, SegmentumError
from segmentum.faults import crash_point
from segmentum.spec.ast import names as ast_names
from segmentum.spec.builtins import segment_metadata
from segmentum.store import META
from segmentum.store.catalog import model_tables
from segmentum.store.snapshots import actions_pending_runs, run_traits

if TYPE_CHECKING:
    from segmentum.context import Context
    from segmentum.runs.execute import RunResult
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
    render_errors: int = 0  # actions stored as failed (invalid trigger, template that failed)
    errors: list[str] = field(default_factory=list)  # why (the first 20)
    processed: bool = False  # the run's transitions are all in the outbox

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "events": self.events,
            "fired": self.fired,
            "baseline": self.baseline,
            "enqueued": self.enqueued,
            "render_errors": self.render_errors,
            "errors": self.errors,
            "processed": self.processed,
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


def validate_trigger(ws: Context, defs: Definitions, trigger: TriggerDef, templates: Templates) -> None:
    """Check one trigger's actions (webhook allowlist, templates, export targets and paths)."""
    spec = trigger.spec
    where = f"{trigger.location}: trigger '{trigger.name}'"
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
                raise ActionError(f"{where} do[{index}].export: name the segment to export (segment: NAME)")
            if not settings["segment"].endswith(".*"):
                defs.segment(settings["segment"])
        sink.validate(settings, f"{where} do[{index}].{action.kind}", templates)


def validate_triggers(ws: Context, defs: Definitions) -> None:
    """Check every trigger action (webhook allowlist, templates, export targets) before anything runs."""
    templates = Templates(ws.root)
    for trigger in defs.triggers.values():
        validate_trigger(ws, defs, trigger, templates)


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


def internal(column: str) -> bool:
    """Columns a run keeps for itself (`__pop_*`: population values for real time); never in a payload."""
    return column.startswith("__")


def _rows_by_customer(cur: Any, sql: str, params: list[Any]) -> dict[str, dict[str, Any]]:
    result = cur.execute(sql, params)
    names = [d[0] for d in result.description]
    out: dict[str, dict[str, Any]] = {}
    for row in result.fetchall():
        record = {n: plain(v) for n, v in zip(names, row, strict=True) if not internal(n)}
        out[str(record["customer_id"])] = record
    return out


@dataclass
class CustomerContext:
    """What templates and payloads know about the customers of a run's events."""

    everything: dict[str, dict[str, Any]]  # attributes + model outputs + traits (what templates see)
    attributes: dict[str, dict[str, Any]]  # the customers table's columns
    traits: dict[str, dict[str, Any]]  # the run's traits
    segments: dict[str, list[str]]  # current segment names


def customer_context(ws: Context, run_id: int, customer_ids: list[str]) -> CustomerContext:
    """Attributes, model outputs, traits and current segments of the given customers in run `run_id`."""
    store = ws.store
    cur = store.cursor()
    if not customer_ids:
        return CustomerContext({}, {}, {}, {})
    import pandas as pd

    cur.register("_segmentum_ids", pd.DataFrame({"customer_id": sorted(set(customer_ids))}))
    try:
        everything: dict[str, dict[str, Any]] = defaultdict(dict)
        attributes: dict[str, dict[str, Any]] = {}
        if store.table_exists("customers"):
            attributes = _rows_by_customer(
                cur, "SELECT c.* FROM main.customers c JOIN _segmentum_ids USING (customer_id)", []
            )
            for cid, rec in attributes.items():
                everything[cid].update(rec)
        for table in model_tables(store):
            for cid, rec in _rows_by_customer(
                cur, f'SELECT m.* FROM {META}."{table}" m JOIN _segmentum_ids USING (customer_id)', []
            ).items():
                for key, value in rec.items():
                    everything[cid].setdefault(key, value)
        traits: dict[str, dict[str, Any]] = {}
        source = run_traits(store, run_id)  # its table, or the live traits it was folded into
        if source is not None:
            traits = _rows_by_customer(
                cur, f"SELECT t.* FROM {source.relation} t JOIN _segmentum_ids USING (customer_id)", []
            )
            for cid, rec in traits.items():
                everything[cid].update({k: v for k, v in rec.items() if k not in everything[cid]})
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
        everything[cid].setdefault("customer_id", cid)
    return CustomerContext(dict(everything), attributes, traits, dict(segments))


def segment_info(defs: Definitions, name: str | None) -> dict[str, Any] | None:
    """A segment as templates and payloads see it: its names and its description, offer, channel and action
    (a built-in's from its docs, as its profile shows them)."""
    if not name:
        return None
    try:
        seg: SegmentDef = defs.segment(name)
    except Exception:  # noqa: BLE001 - a segment of an older definition: name only
        seg_name, _, rest = name.partition(".")
        return {"name": name, "segment": rest or seg_name, "segmentation": seg_name if rest else None}
    return {"name": seg.name, "segment": seg.segment, "segmentation": seg.segmentation} | segment_metadata(
        seg
    )


def _event_segment(event: Event) -> str | None:
    if isinstance(event, SegmentMoved):
        return event.to_segment
    if isinstance(event, (SegmentEntered, SegmentExited)):
        return event.segment
    return None


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def payload_traits(ws: Context, trigger: TriggerDef, defs: Definitions, templates: Templates) -> set[str]:
    """The traits a trigger's payloads carry: those its segments' conditions use (or its metric), and any
    its action templates name. Never every trait of the run (a built-in workspace has ~160)."""
    spec = trigger.spec
    wanted: set[str] = set()
    if spec.on == "metric" and spec.trait:
        wanted.add(spec.trait)
    owners = {owner_of(p, defs) for p in (spec.segment, spec.from_, spec.to) if p is not None}
    for owner in owners:
        if owner in defs.segments:
            conditions = [defs.segments[owner].where]
        elif owner in defs.segmentations:
            conditions = [s.where for s in defs.segmentations[owner].rules]
        else:
            continue
        for node in conditions:
            if node is not None:
                wanted |= {n for n in ast_names(node) if n in defs.traits}
    texts: list[str] = []
    for action in spec.do:
        for value in action.settings.model_dump().values():
            if isinstance(value, str):
                texts.append(value)
                if action.kind == "email" and value == action.settings.model_dump().get("template"):
                    texts.append(templates.source(value))
    for text in texts:
        wanted |= {n for n in _IDENT.findall(text) if n in defs.traits}
    return {t for t in wanted if not internal(t)}


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


def process_run(
    ws: Context, run_id: int, *, definitions: Definitions | None = None, now: datetime | None = None
) -> ProcessReport:
    """Enqueue the actions of every trigger that fires in run `run_id` (idempotent: a key already in the
    outbox is never added twice).

    A trigger that is invalid (an action's URL not allowed, an unknown sink) or an action whose template fails
    for one customer does not stop the others: its outbox items are stored as failed with the reason, and are
    replaced once the run is processed again after a fix (`segmentum outbox --reprocess RUN`). When every
    trigger's events were computed, the items and the audit log's 'actions_processed' record of the run are
    written in one transaction; otherwise the run stays pending and the next start tries again.

    Hold-outs, suppression lists, cooldowns, caps and quiet hours (`actions/policy.py`) decide, per
    transition and action, what is skipped or held and why; every transition is recorded with its group and
    outcome in the same transaction. `now` (default: the wall clock) is when quiet hours are judged.
    """
    defs = definitions if definitions is not None else ws.definitions()
    report = ProcessReport(run_id=int(run_id))
    if not defs.triggers:
        enqueue(ws, [], processed_run=int(run_id))
        report.processed = True
        return report
    store = ws.store
    templates = Templates(ws.root)
    invalid: dict[str, str] = {}
    for name, trigger in defs.triggers.items():
        try:
            validate_trigger(ws, defs, trigger, templates)
        except SegmentumError as exc:
            invalid[name] = str(exc)
            report.errors.append(f"trigger '{name}' is invalid: {exc}")
    run_events = segment_events(
        store, run_id, segmentations=set(defs.segmentations), standalone=set(defs.segments)
    )
    report.events = len(run_events.events)
    fired: dict[str, list[Event]] = {}
    complete = True
    for name, trigger in defs.triggers.items():
        try:
            events = trigger_events(ws, trigger, run_events, defs, report)
        except Exception as exc:  # noqa: BLE001 - the others go on; this run stays pending
            complete = False
            report.errors.append(f"trigger '{name}': its events could not be computed: {exc}")
            events = []
        fired[name] = events
        report.fired[name] = len(events)
    customers = sorted({e.customer_id for events in fired.values() for e in events})
    known = customer_context(ws, run_id, customers)
    try:
        policy: Policy | None = Policy.prepare(
            ws, defs, run_events.run, customers, now or ws_now(ws.config.timezone)
        )
    except SegmentumError as exc:  # who must not be contacted is unknown: act on nobody, stay pending
        policy, complete = None, False
        report.errors.append(f"no trigger acted on run {run_id}: {exc}")
    run = {"run_id": run_events.run.run_id, "as_of": plain(run_events.run.as_of), "kind": run_events.run.kind}
    entries: list[Entry] = []
    sinks: dict[str, Sink] = {}
    for name, trigger in defs.triggers.items():
        actions = list(enumerate(trigger.spec.do))
        if name not in invalid:
            for _, action in actions:
                if action.kind not in sinks:
                    sinks[action.kind] = sink_class(action.kind)(ws)
        carried = payload_traits(ws, trigger, defs, templates) if name not in invalid else set()
        trigger_info = {"name": name, "description": trigger.spec.description, "on": trigger.spec.on}
        events = fired[name] if policy is not None else []
        outcomes: dict[str, str] = {}
        if policy is not None and name not in invalid:
            outcomes = policy.outcomes(
                name, [e.customer_id for e in events], trigger.spec.cooldown, trigger.spec.holdout_fraction
            )
        for event in events:
            cid = event.customer_id
            traits = known.traits.get(cid, {})
            context = {
                "customer": known.everything.get(cid, {"customer_id": cid}),
                "traits": traits,
                "segment": segment_info(defs, _event_segment(event)),
                "segments": known.segments.get(cid, []),
                "event": event_dict(event),
                "run": {**run, "previous_run": event.from_run},
                "trigger": trigger_info,
            }
            if isinstance(event, SegmentMoved):
                context["from_segment"] = segment_info(defs, event.from_segment)
            if isinstance(event, MetricChanged):
                context["segment"] = None
            # the payload keeps the customer's attributes and the traits this trigger uses, not the whole run
            payload = context | {
                "customer": known.attributes.get(cid, {"customer_id": cid}),
                "traits": {k: v for k, v in traits.items() if k in carried},
            }
            outcome = outcomes.get(cid, ACTED)
            for index, action in actions:
                if name not in invalid and not sinks[action.kind].accepts(event):
                    continue
                if policy is not None and name not in invalid:
                    reason = (
                        outcome if outcome != ACTED else (CAP if policy.capped(action.kind, cid) else None)
                    )
                    if reason is not None:
                        entries.append(_skipped(event, action, index, name, payload, reason, trigger, defs))
                        continue
                made = _entry(sinks, event, action, index, name, context, payload, templates, report, invalid)
                hold = policy.hold_until(known.attributes.get(cid, {})) if policy is not None else None
                for entry in made:
                    if hold is not None and entry.status == "pending":
                        entry.next_attempt_at, entry.reason = hold, QUIET
                entries += made
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
            made = _entry(sinks, refreshed, action, index, name, context, context, templates, report, invalid)
            share = trigger.spec.holdout_fraction
            for entry in made:
                if (share or defs.suppress) and isinstance(entry.payload.get("action"), dict):
                    # a list for a campaign contacts its members too: never the suppressed or the held out
                    entry.payload["action"]["exclude"] = {
                        "trigger": name,
                        "holdout": share,
                        "suppress": list(defs.suppress),
                    }
            entries += made
    try:
        report.enqueued = enqueue(
            ws,
            entries,
            processed_run=int(run_id) if complete else None,
            failed=report.render_errors,
            transitions=policy.frame() if policy is not None else None,
        )
    finally:
        for sink in sinks.values():
            sink.close()
    report.processed = complete
    return report


def _skipped(
    event: SinkEvent,
    action: Action,
    index: int,
    trigger: str,
    payload: dict[str, Any],
    reason: str,
    spec: TriggerDef,
    defs: Definitions,
) -> Entry:
    """The outbox row of an action a policy stopped: status skipped, the reason and what it means."""
    why = {
        SUPPRESSED: "the customer is in a suppression list (suppress: " + ", ".join(defs.suppress) + ")",
        COOLDOWN: f"trigger '{trigger}' already acted for this customer within its cooldown {spec.spec.cooldown}",
        HOLDOUT: f"the customer is in the hold-out group of trigger '{trigger}' ({spec.spec.holdout})",
    }
    cap = defs.caps.get(action.kind)
    if cap is not None:
        why[CAP] = f"the {action.kind} cap ({cap.max} per {cap.per}) is reached for this customer"
    customer_id = getattr(event, "customer_id", None)
    body = dict(payload) | {"trigger": trigger, "skipped": reason}
    return Entry(
        trigger,
        action.kind,
        customer_id,
        event.run_id,
        index,
        body,
        status="skipped",
        last_error=f"{reason}: {why.get(reason, reason)}",
        reason=reason,
    )


def _entry(
    sinks: dict[str, Sink],
    event: SinkEvent,
    action: Action,
    index: int,
    trigger: str,
    context: dict[str, Any],
    payload: dict[str, Any],
    templates: Templates,
    report: ProcessReport,
    invalid: dict[str, str],
) -> list[Entry]:
    """The outbox entry of one action for one typed event: none when the sink does not act on that event;
    a failed entry with the reason when the trigger is invalid or the action's templates do not render."""
    customer_id = getattr(event, "customer_id", None)
    if trigger in invalid:
        if isinstance(event, SegmentRefreshed) and action.kind != "export":
            return []  # only exports act on a refreshed segment
        if not isinstance(event, SegmentRefreshed) and action.kind == "export":
            return []
        reason = f"invalid trigger: {invalid[trigger]}"
    else:
        sink = sinks[action.kind]
        if not sink.accepts(event):
            return []
        try:
            rendered = sink.render(event, action.settings.model_dump(), context, templates)
        except Exception as exc:  # noqa: BLE001 - one action of one customer fails, never the run
            reason = f"render: {exc if isinstance(exc, SegmentumError) else f'{type(exc).__name__}: {exc}'}"
        else:
            body = dict(payload) | {"trigger": trigger, "action": rendered}
            return [Entry(trigger, action.kind, customer_id, event.run_id, index, body)]
    report.render_errors += 1
    if len(report.errors) < 20:
        who = f" for customer {customer_id}" if customer_id is not None else ""
        report.errors.append(f"trigger '{trigger}' do[{index}].{action.kind}{who}: {reason}")
    body = dict(payload) | {"trigger": trigger, "render_error": reason}
    return [
        Entry(
            trigger, action.kind, customer_id, event.run_id, index, body, status="failed", last_error=reason
        )
    ]


# ----------------------------------------------------------------------------------------- the run's hand-off


def pending_runs(ws: Context) -> list[int]:
    """Complete runs whose transitions are owed to the outbox (the process that ran them stopped first)."""
    return actions_pending_runs(ws.store)


def finish_pending(ws: Context, *, exclude: set[int] | None = None) -> tuple[list[ProcessReport], list[str]]:
    """Process every pending run (see `pending_runs`): (what was done, warnings). Never raises for a run: a
    run whose triggers cannot be processed stays pending, and the warning says why."""
    reports: list[ProcessReport] = []
    warnings: list[str] = []
    runs = [r for r in pending_runs(ws) if r not in (exclude or set())]
    if not runs:
        return reports, warnings
    try:
        defs = ws.definitions()
    except SegmentumError as exc:
        return reports, [f"runs {', '.join(map(str, runs))} keep their actions pending: {exc}"]
    for run_id in runs:
        try:
            reports.append(process_run(ws, run_id, definitions=defs))
        except SegmentumError as exc:
            warnings.append(f"run {run_id}: triggers not processed: {exc}")
    return reports, warnings


def reprocess(ws: Context, run_id: int) -> ProcessReport:
    """Process a complete run's triggers again, for an operator (`segmentum outbox --reprocess RUN`):
    adds what is missing and replaces items that failed to render, never a second item for one key."""
    from segmentum.store.snapshots import resolve_run

    resolve_run(ws.store, int(run_id))  # NotFoundError unless a complete run
    return process_run(ws, int(run_id))


def run_and_act(ws: Context, *, triggers: bool = True, deliver: bool = True, **options: Any) -> RunResult:
    """A run and its triggers, the one path of `Workspace.run` and the demo: the snapshot records that its
    transitions are owed to the outbox (`runs.execute.run(actions=True)`, finished by the next start if the
    process dies before they are enqueued), then `act_on_run` enqueues them and, with `deliver`, delivers what
    is due; its outcome is `result.actions`. No triggers for a preview or with `triggers=False`."""
    from segmentum.runs.execute import run

    acts = triggers and not options.get("preview")
    result = run(ws, actions=bool(acts), **options)
    if acts:
        # triggers fire from the outbox; problems become the run's warnings
        result.actions = act_on_run(ws, result, deliver_now=deliver)
    return result


def act_on_run(ws: Context, result: Any, *, deliver_now: bool = True) -> dict[str, Any] | None:
    """After a stored run: enqueue its triggers' actions (and those of any earlier run a stopped process
    left pending) and deliver what is due.

    Problems become warnings of the run (the snapshot is stored either way): an action that could not be
    rendered is a failed outbox item, listed in the warnings. Returns what was done (the facade keeps it as
    `result.actions`).
    """
    from segmentum.actions.outbox import counts, deliver

    if getattr(result, "run_id", None) is None or getattr(result, "status", "complete") != "complete":
        return None
    earlier, warnings = finish_pending(ws, exclude={int(result.run_id)})
    result.warnings.extend(warnings)
    try:
        report = process_run(ws, int(result.run_id))
    except SegmentumError as exc:
        result.warnings.append(f"triggers not processed: {exc}")
        return None
    outcome = report.as_dict()
    if earlier:
        outcome["resumed"] = [r.as_dict() for r in earlier]
    for done in [*earlier, report]:
        if done.render_errors:
            result.warnings.append(
                f"run {done.run_id}: {done.render_errors} trigger action(s) failed; "
                "`segmentum outbox --status failed` shows why"
            )
        result.warnings.extend(done.errors[:5])
    crash_point("after_enqueue")
    if deliver_now and counts(ws)["pending"]:
        delivery = deliver(ws)
        outcome["delivery"] = delivery.as_dict()
        if delivery.retrying or delivery.failed:
            result.warnings.append(
                f"{delivery.retrying} action(s) will be retried and {delivery.failed} failed; "
                "`segmentum outbox` shows them"
            )
    return outcome
