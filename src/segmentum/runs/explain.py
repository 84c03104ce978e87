"""Why a customer is or is not in a segment: every condition of the segment (and of the segmentation rules
before it, which take precedence) evaluated for that customer, with the values it read.

The run is compiled for every customer (so population values such as percent_rank are exact) at the as_of
of the newest complete batch run (else the end of the data), and each sub-condition of the expression tree
becomes its own column, read for the one customer.

Each function of the language (`segmentum.spec.functions`) has exactly one explain rendering here
(`EXPLAIN_RULES`, registered with `@explains`): what a check shows about a call, as label -> value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from segmentum.compile import rules as domain
from segmentum.compile.compiler import CompiledRun, RunCompiler
from segmentum.errors import NotFoundError, RunError
from segmentum.spec import ast, functions
from segmentum.spec.loader import SegmentDef
from segmentum.store import snapshots as snapshot

if TYPE_CHECKING:
    from segmentum.context import Context


@dataclass
class Check:
    segment: str  # the segment whose rule this is
    condition: str
    held: bool
    depth: int  # 0 = the whole rule, 1.. = its parts
    values: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "segment": self.segment,
            "condition": self.condition,
            "held": self.held,
            "depth": self.depth,
            "values": self.values,
        }


@dataclass
class Explanation:
    customer_id: str
    name: str
    as_of: datetime
    member: bool
    actual: str | None  # the segment the customer is in (segmentations), else None
    checks: list[Check]
    notes: list[str] = field(default_factory=list)  # what the values rest on (currency conversion)

    def to_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "name": self.name,
            "as_of": self.as_of,
            "member": self.member,
            "actual_segment": self.actual,
            "checks": [c.to_dict() for c in self.checks],
            "notes": self.notes,
        }


@dataclass(frozen=True)
class CallView:
    """What an explain rendering may read about one call: its value and the run's full table."""

    call: ast.Call
    value: Callable[[ast.Node], ir.Value]  # a node compiled on the run's full table
    compiled: CompiledRun
    past_runs: dict[tuple[str, str], snapshot.RunInfo | None] = field(default_factory=dict)  # was_in_segment


ExplainRule = Callable[[CallView], dict[str, ir.Value]]  # label shown in the check -> its value
EXPLAIN_RULES: dict[str, ExplainRule] = {}


# one explain rendering per declared function (spec/functions.py)
explains = functions.rule_registry(EXPLAIN_RULES, "explain rendering")


@explains(
    "days_between",
    "coalesce",
    "lower",
    "upper",
    "abs",
    "ceil",
    "floor",
    "round",
    "least",
    "greatest",
    "percent_rank",  # population values come from their hidden column, computed over every customer
    "ntile",
    "percent_rank_by",
    "ntile_by",
    "date_trunc",
    "year",
    "month",
    "day",
    "weekday",
    "hour",
    "hours_between",
    "if",
)
def _its_value(view: CallView) -> dict[str, ir.Value]:
    return {ast.to_text(view.call): view.value(view.call)}


@explains("in_segment")
def _segment_state(view: CallView) -> dict[str, ir.Value]:
    """Membership, and for `segmentation.segment` the segment the customer is actually in."""
    shown = {ast.to_text(view.call): view.value(view.call)}
    owner, dot, _ = str(functions.literal_argument(view.call.args[0])).partition(".")
    column = view.compiled.segmentations.get(owner) if dot else None
    if column is not None and view.compiled.full is not None:
        shown[owner] = view.compiled.full[column]
    return shown


@explains("was_in_segment")
def _past_state(view: CallView) -> dict[str, ir.Value]:
    """Membership in the past run, and which run that was (its id and as_of; none when there is no such run)."""
    shown = {ast.to_text(view.call): view.value(view.call)}
    name, ago = (str(functions.literal_argument(a)) for a in view.call.args)
    run = view.past_runs.get((name, ago))
    label = f"run read by {ast.to_text(view.call)}"
    shown[label] = ibis.literal(
        f"run {run.run_id} as of {run.as_of:%Y-%m-%d %H:%M:%S}" if run is not None else "none"
    )
    return shown


def _parts(node: ast.Node, depth: int = 0) -> list[tuple[ast.Node, int]]:
    """The condition and its boolean sub-conditions (and / or / not), outermost first."""
    out = [(node, depth)]
    if isinstance(node, ast.Binary) and node.op in ast.LOGICAL:
        out += _parts(node.left, depth + 1) + _parts(node.right, depth + 1)
    elif isinstance(node, ast.Unary) and node.op == "not":
        out += _parts(node.operand, depth + 1)
    return out


def explain(ws: Context, customer_id: str, name: str, *, as_of: Any = None) -> Explanation:
    """Evaluate each condition of segment `name` (standalone or `segmentation.segment`) for one customer."""
    from segmentum.runs.execute import definitions_at, engine_for, past_members, past_runs, resolve_as_of

    defs = ws.definitions()
    owner = name if name in defs.segments or name in defs.segmentations else name.partition(".")[0]
    if owner in defs.segmentations and name == owner:
        rules: list[SegmentDef] = defs.segmentations[owner].segments
        target = None
    else:
        target = defs.segment(name)
        if target.segmentation is None:
            rules = [target]
        else:
            segs = defs.segmentations[target.segmentation].segments
            rules = segs[: segs.index(target) + 1]
    selected = defs.select([owner])
    if as_of is None:
        last = snapshot.latest_run(ws.store)
        resolved = last.as_of if last is not None else resolve_as_of("latest", ws)[0]
    else:
        resolved = resolve_as_of(as_of, ws)[0]
    usable = definitions_at(ws, selected, resolved)
    if owner in usable.skipped:
        raise RunError(
            f"cannot explain '{name}' at {resolved:%Y-%m-%d %H:%M:%S}: {'; '.join(usable.warnings)}"
        )
    engine = engine_for(ws, "duckdb")
    tables = {n: t for n, t in engine.tables().items() if n not in usable.unusable}
    compiler = RunCompiler(
        usable.definitions,
        tables,
        resolved,
        history=past_members(ws, usable.definitions, resolved, engine),
        currency=ws.config.currency,
        narrow_windows=engine.narrow_windows,
    )
    compiled = compiler.compile()
    read = past_runs(ws, usable.definitions, resolved)
    t = compiled.full
    assert t is not None
    columns: dict[str, Any] = {}
    plan: list[tuple[str, str, int, str, list[str]]] = []
    for rule in rules:
        if rule.where is None:
            continue
        for i, (node, depth) in enumerate(_parts(rule.where)):
            col = f"__explain_{len(plan)}"
            columns[col] = compiler.condition_on(t, node)
            used = sorted(n for n in ast.names(node) if n != "as_of" and n in t.columns)
            for call in functions.calls(node):
                view = CallView(call, lambda n: compiler.value_on(t, n), compiled, read)
                for label, value in EXPLAIN_RULES[call.name](view).items():
                    columns.setdefault(label, value)
                    if label not in used:
                        used.append(label)
            plan.append((rule.segment, ast.to_text(node) if i else (rule.where_text or ""), depth, col, used))
    label_col = compiled.segmentations.get(owner)
    seg_col = compiled.segments.get(owner)
    value_cols = sorted({u for *_, used in plan for u in used if u in t.columns})
    extra = {k: v for k, v in columns.items() if not k.startswith("__explain_")}
    projection = t.mutate(
        **{k: v for k, v in columns.items() if k.startswith("__explain_")},
        **{f"__v_{i}": v for i, v in enumerate(extra.values())},
    )
    wanted = [
        "customer_id",
        *value_cols,
        *[k for k in columns if k.startswith("__explain_")],
        *[f"__v_{i}" for i in range(len(extra))],
        *([label_col] if label_col else []),
        *([seg_col] if seg_col else []),
    ]
    row_t = projection.filter(projection.customer_id == ibis.literal(str(customer_id))).select(*wanted)
    rows = engine.execute_arrow(row_t).to_pylist()
    if not rows:
        raise NotFoundError(
            f"customer '{customer_id}' is not a customer of the run at {resolved:%Y-%m-%d %H:%M:%S} "
            "(unknown id, or first seen after as_of: created, or with a first row, later)"
        )
    row = rows[0]
    extra_values = {k: row[f"__v_{i}"] for i, k in enumerate(extra)}
    checks = []
    for segment, text, depth, col, used in plan:
        values = {u: (row[u] if u in row else extra_values.get(u)) for u in used}
        checks.append(Check(segment, text, bool(row[col]), depth, values))
    if label_col:
        actual = row[label_col]
        member = actual == (target.segment if target is not None else actual)
    elif seg_col:
        actual = None
        member = bool(row[seg_col])
        if defs.segments[owner].list is not None:  # its members are given: being on the list is the reason
            checks.append(Check(owner, f"on the static list '{owner}'", member, 0, {}))
    else:  # pragma: no cover - the loader guarantees one or the other
        raise RunError(f"'{name}' is neither a segment nor a segmentation")
    notes = _currency_notes(ws, engine, tables, str(customer_id), resolved)
    return Explanation(str(customer_id), name, resolved, member, actual, checks, notes)


def _currency_notes(
    ws: Context, engine: Any, tables: dict[str, Any], customer_id: str, as_of: datetime
) -> list[str]:
    """How the customer's orders in other currencies entered the values (`compile.rules.money_at`): how many were
    converted and how many have no rate and are skipped by money traits, per currency. Empty without a
    `rates` table or such orders."""
    seen = domain.identities_at(tables, as_of)  # an alias's orders are the customer's, as in the run
    orders, rates_table = seen.get("orders"), seen.get(domain.RATES)
    if orders is None or rates_table is None or "currency" not in orders.columns:
        return []
    at = ibis.literal(as_of, type="timestamp")
    mine = orders.filter((orders.customer_id.cast("string") == customer_id) & (orders.ordered_at <= at))
    found = domain.order_rates(mine, rates_table, ws.config.currency)
    counts = found.group_by("__currency").aggregate(
        converted=found.__rate.notnull().sum(), skipped=found.__rate.isnull().sum()
    )
    notes = []
    for row in sorted(engine.execute_arrow(counts).to_pylist(), key=lambda r: str(r["__currency"])):
        code, converted, skipped = row["__currency"], int(row["converted"] or 0), int(row["skipped"] or 0)
        if converted:
            notes.append(
                f"{converted} order(s) in {code} converted to {ws.config.currency} at their day's rate"
            )
        if skipped:
            notes.append(
                f"{skipped} order(s) in {code} have no rate at or before their date: money traits skip them "
                "(load rates with `segmentum ingest rates FILE`)"
            )
    return notes
