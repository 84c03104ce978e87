"""Expression AST -> Ibis expressions: one `visit_*` rule per node type, one compile rule per function.

Functions are declared once in `segmentum.spec.functions` (signature, result, population flag, checks); this
module adds exactly one compile rule per declared name with `@compiles(...)` (as an ibis backend adds one
`visit_*` per operation). `COMPILE_RULES` must cover `FUNCTIONS` exactly; a test checks it.

Semantics (DESIGN.md section 5, the same on every engine):
- logic is two-valued: a comparison, `in`, `between` or `like` with a null operand is false; `and`/`or`/`not`
  see only true/false; a null boolean is false (`condition()` applies `coalesce(..., false)`);
- `/` is true division in double precision and `x / 0` is null; `+ - *` keep exact DECIMAL where both sides are;
- `percent_rank` / `ntile` depend on every customer of the run: the compiler computes them as hidden
  columns before the expression that uses them (`Scope.population`), so the real-time path can take them
  from the last batch run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from segmentum.errors import DefinitionError
from segmentum.spec import ast, functions


class UnsupportedExpressionError(DefinitionError):
    """An expression node or function the compiler has no rule for, or one used where it is not allowed."""


class Scope(Protocol):
    """What names mean where an expression is compiled."""

    as_of: datetime

    def name(self, node: ast.Name) -> ir.Value: ...

    def prop(self, node: ast.Property) -> ir.Value: ...

    def population(self, node: ast.Call) -> ir.Value: ...

    def segment(self, name: str, node: ast.Call) -> ir.BooleanValue: ...

    def history(self, name: str, ago: str, node: ast.Call) -> ir.BooleanValue:
        """`was_in_segment(name, ago)`: membership in the past run the store's rule picks (false without one)."""
        ...


def as_of_literal(as_of: datetime) -> ir.TimestampValue:
    return ibis.literal(as_of, type=dt.Timestamp())


def true_division(left: ir.Value, right: ir.Value) -> ir.Value:
    """`left / right` as a double; null when `right` is 0 (never an engine error)."""
    denominator = right.cast("float64")
    return left.cast("float64") / (denominator == 0).ifelse(ibis.null("float64"), denominator)


def to_date(value: ir.Value) -> ir.DateValue:
    kind = value.type()
    if kind.is_date():
        return value
    if kind.is_timestamp():
        return value.date()
    return value.cast("timestamp").date()


def to_timestamp(value: ir.Value) -> ir.TimestampValue:
    """A timestamp (a date at 00:00; text read as a timestamp), as `to_date` reads a date."""
    kind = value.type()
    if kind.is_timestamp():
        return value
    return value.cast("timestamp")


def days_between(a: ir.Value, b: ir.Value) -> ir.IntegerValue:
    """Calendar days from date(a) to date(b)."""
    return to_date(b).delta(to_date(a), unit="day").cast("int64")


def literal(value: Any) -> ir.Value:
    if value is None:
        return ibis.null()
    if isinstance(value, bool):
        return ibis.literal(value, type="boolean")
    if isinstance(value, int):
        return ibis.literal(value, type="int64")
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        scale = max(0, -exponent) if isinstance(exponent, int) else 0
        return ibis.literal(value, type=dt.Decimal(38, min(scale, 18)))
    if isinstance(value, float):
        return ibis.literal(value, type="float64")
    return ibis.literal(str(value), type="string")


def align(left: ir.Value, right: ir.Value) -> tuple[ir.Value, ir.Value]:
    """Make operands comparable: text against a number is read as a number (e.g. JSON properties)."""
    lt, rt = left.type(), right.type()
    if lt.is_decimal() and rt.is_decimal() and lt != rt:
        # one common DECIMAL type: Spark compares DECIMAL(38, 6) with DECIMAL(38, 0) at scale 0 (100.001 > 100
        # is false there), DuckDB exactly
        common = dt.Decimal(38, max(lt.scale or 0, rt.scale or 0))
        return left.cast(common), right.cast(common)
    if lt.is_string() and rt.is_numeric():
        left = left.try_cast("float64") if not rt.is_decimal() else left.try_cast(rt)
    elif rt.is_string() and lt.is_numeric():
        right = right.try_cast("float64") if not lt.is_decimal() else right.try_cast(lt)
    elif lt.is_string() and (rt.is_timestamp() or rt.is_date()):
        left = left.try_cast(rt)
    elif rt.is_string() and (lt.is_timestamp() or lt.is_date()):
        right = right.try_cast(lt)
    return left, right


def _never_null(node: ast.Node) -> bool:
    """Predicates already compiled to true/false (no second coalesce needed)."""
    if isinstance(node, ast.Binary):
        return node.op in ast.COMPARISON or node.op in ast.LOGICAL
    if isinstance(node, ast.Unary):
        return node.op == "not"
    return isinstance(node, (ast.InList, ast.Between, ast.IsNull, ast.Like))


def _false_if_null(value: ir.BooleanValue) -> ir.BooleanValue:
    return value.fill_null(False)


class ExprCompiler:
    """Compiles one expression tree against a `Scope`."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    # -- entry points
    def value(self, node: ast.Node) -> ir.Value:
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            raise UnsupportedExpressionError(
                f"expression node {type(node).__name__} at offset {node.pos} has no compilation rule"
            )
        return method(node)

    def condition(self, node: ast.Node) -> ir.BooleanValue:
        """A boolean that is never null (two-valued logic)."""
        value = self.value(node)
        if not value.type().is_boolean():
            if value.type().is_null():
                return ibis.literal(False)
            raise UnsupportedExpressionError(
                f"'{ast.to_text(node)}' is used as a condition but is {value.type()}, not true/false; "
                "compare it, e.g. 'x > 0'"
            )
        return value if _never_null(node) else _false_if_null(value)

    # -- nodes
    def visit_Literal(self, node: ast.Literal) -> ir.Value:
        return literal(node.value)

    def visit_Name(self, node: ast.Name) -> ir.Value:
        if node.name == "as_of":
            return as_of_literal(self.scope.as_of)
        return self.scope.name(node)

    def visit_Property(self, node: ast.Property) -> ir.Value:
        return self.scope.prop(node)

    def visit_Duration(self, node: ast.Duration) -> ir.Value:
        raise UnsupportedExpressionError(
            f"a duration ({node.text}) at offset {node.pos} is not a value; durations are arguments of "
            "was_in_segment('name', 30d) only"
        )

    def visit_Unary(self, node: ast.Unary) -> ir.Value:
        if node.op == "not":
            return ~self.condition(node.operand)
        if node.op == "-":
            return -self.value(node.operand)
        raise UnsupportedExpressionError(f"unary operator {node.op!r} has no compilation rule")

    def visit_Binary(self, node: ast.Binary) -> ir.Value:
        if node.op in ast.LOGICAL:
            left, right = self.condition(node.left), self.condition(node.right)
            return (left & right) if node.op == "and" else (left | right)
        left, right = self.value(node.left), self.value(node.right)
        if node.op in ast.COMPARISON:
            left, right = align(left, right)
            ops = {
                "=": left.__eq__,
                "!=": left.__ne__,
                "<": left.__lt__,
                "<=": left.__le__,
                ">": left.__gt__,
                ">=": left.__ge__,
            }
            return _false_if_null(ops[node.op](right))
        if node.op == "/":
            return true_division(left, right)
        if node.op == "+":
            return left + right
        if node.op == "-":
            return left - right
        if node.op == "*":
            return left * right
        raise UnsupportedExpressionError(f"binary operator {node.op!r} has no compilation rule")

    def visit_InList(self, node: ast.InList) -> ir.BooleanValue:
        operand = self.value(node.operand)
        pairs = [align(operand, self.value(item)) for item in node.items]
        if all(op.type() == operand.type() for op, _ in pairs):
            result = operand.isin([item for _, item in pairs])
        else:  # differing DECIMAL scales: compare each pair at its common type
            result = pairs[0][0] == pairs[0][1]
            for op, item in pairs[1:]:
                result |= op == item
        return _false_if_null(~result if node.negated else result)

    def visit_Between(self, node: ast.Between) -> ir.BooleanValue:
        operand = self.value(node.operand)
        low_op, low = align(operand, self.value(node.low))
        high_op, high = align(operand, self.value(node.high))
        result = (low_op >= low) & (high_op <= high)
        return _false_if_null(~result if node.negated else result)

    def visit_IsNull(self, node: ast.IsNull) -> ir.BooleanValue:
        operand = self.value(node.operand)
        return operand.notnull() if node.negated else operand.isnull()

    def visit_Like(self, node: ast.Like) -> ir.BooleanValue:
        operand = self.value(node.operand)
        if not operand.type().is_string():
            operand = operand.cast("string")
        result = operand.like(self.value(node.pattern))
        return _false_if_null(~result if node.negated else result)

    def visit_Call(self, node: ast.Call) -> ir.Value:
        fn = functions.FUNCTIONS.get(node.name)
        if fn is not None and fn.population:
            # computed over every customer before this expression (a hidden column, or the last batch run's)
            return self.scope.population(node)
        return self.call(node)

    def call(self, node: ast.Call, *, tie: ir.Value | None = None) -> ir.Value:
        """Apply the function's compile rule: `value` arguments compiled, `integer`/`segment` ones as literals.

        `tie` is the customer id column, the tie-breaker of ranking functions (passed where they are hoisted).
        """
        fn = functions.FUNCTIONS.get(node.name)
        rule = COMPILE_RULES.get(node.name)
        if fn is None or rule is None:
            raise UnsupportedExpressionError(f"function {node.name}() has no compilation rule")
        args = [
            functions.literal_argument(arg) if fn.arg(i).kind in functions.LITERAL_KINDS else self.value(arg)
            for i, arg in enumerate(node.args)
        ]
        return rule(CompiledCall(node, args, self.scope, tie))


# ---------------------------------------------------------------------------------------------- functions


@dataclass(frozen=True)
class CompiledCall:
    """What a compile rule receives: the call, its arguments (Ibis values for `value` arguments, Python
    values for the literal kinds), the scope it is compiled in, and the tie-breaker column."""

    node: ast.Call
    args: list[Any]
    scope: Scope
    tie: ir.Value | None = None


CompileRule = Callable[[CompiledCall], ir.Value]
COMPILE_RULES: dict[str, CompileRule] = {}


# one compile rule per declared function (spec/functions.py)
compiles = functions.rule_registry(COMPILE_RULES, "compile rule")


def _first_or_all(op: Callable[..., ir.Value]) -> CompileRule:
    """`coalesce`, `least`, `greatest`: the SQL function of all arguments; one argument is itself."""
    return lambda call: op(*call.args) if len(call.args) > 1 else call.args[0]


compiles("coalesce")(_first_or_all(ibis.coalesce))
compiles("least")(_first_or_all(ibis.least))
compiles("greatest")(_first_or_all(ibis.greatest))


@compiles("days_between")
def _days_between(call: CompiledCall) -> ir.Value:
    return days_between(call.args[0], call.args[1])


@compiles("lower")
def _lower(call: CompiledCall) -> ir.Value:
    return call.args[0].lower()


@compiles("upper")
def _upper(call: CompiledCall) -> ir.Value:
    return call.args[0].upper()


@compiles("abs")
def _abs(call: CompiledCall) -> ir.Value:
    return call.args[0].abs()


@compiles("ceil")
def _ceil(call: CompiledCall) -> ir.Value:
    return call.args[0].ceil()


@compiles("floor")
def _floor(call: CompiledCall) -> ir.Value:
    return call.args[0].floor()


@compiles("round")
def _round(call: CompiledCall) -> ir.Value:
    # DuckDB and Spark both round half away from zero (on DECIMAL exactly).
    digits = call.args[1] if len(call.args) > 1 else 0
    return call.args[0].round(int(digits))


@compiles("in_segment")
def _in_segment(call: CompiledCall) -> ir.Value:
    return call.scope.segment(str(call.args[0]), call.node)


@compiles("was_in_segment")
def _was_in_segment(call: CompiledCall) -> ir.Value:
    return call.scope.history(str(call.args[0]), str(call.args[1]), call.node)


@compiles("percent_rank")
def _percent_rank(call: CompiledCall) -> ir.Value:
    return percent_rank(call.args[0])


@compiles("percent_rank_by")
def _percent_rank_by(call: CompiledCall) -> ir.Value:
    return percent_rank(call.args[0], call.args[1])


def _tie(call: CompiledCall) -> ir.Value:
    if call.tie is None:
        raise UnsupportedExpressionError(
            f"{call.node.name}() at offset {call.node.pos} needs the customer id to break ties"
        )
    return call.tie


@compiles("ntile")
def _ntile(call: CompiledCall) -> ir.Value:
    return ntile(call.args[0], int(call.args[1]), _tie(call))


@compiles("ntile_by")
def _ntile_by(call: CompiledCall) -> ir.Value:
    return ntile(call.args[0], int(call.args[1]), _tie(call), call.args[2])


# ---------------------------------------------------------------------------------------------- calendar
# Timestamps are naive wall-clock values in the workspace time zone (DESIGN.md section 4), as days_between
# reads them: the calendar parts are those of the stored value, with no conversion on any engine.

_TRUNC_UNITS = {"day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}


@compiles("date_trunc")
def _date_trunc(call: CompiledCall) -> ir.Value:
    # ibis: DuckDB and Spark both start weeks on Monday (ISO); a date is read as its 00:00 first
    return to_timestamp(call.args[1]).truncate(_TRUNC_UNITS[str(call.args[0])])


@compiles("year")
def _year(call: CompiledCall) -> ir.Value:
    return to_timestamp(call.args[0]).year().cast("int64")


@compiles("month")
def _month(call: CompiledCall) -> ir.Value:
    return to_timestamp(call.args[0]).month().cast("int64")


@compiles("day")
def _day(call: CompiledCall) -> ir.Value:
    return to_timestamp(call.args[0]).day().cast("int64")


@compiles("weekday")
def _weekday(call: CompiledCall) -> ir.Value:
    return (to_timestamp(call.args[0]).day_of_week.index() + 1).cast("int64")  # ibis: Monday = 0


@compiles("hour")
def _hour(call: CompiledCall) -> ir.Value:
    return to_timestamp(call.args[0]).hour().cast("int64")


MICROSECONDS_PER_HOUR = 3_600_000_000


@compiles("hours_between")
def _hours_between(call: CompiledCall) -> ir.Value:
    # exact: whole microseconds between the two wall-clock values, then one division in double precision
    a, b = to_timestamp(call.args[0]), to_timestamp(call.args[1])
    micros = b.delta(a, unit="microsecond").cast("int64")
    return micros.cast("float64") / ibis.literal(float(MICROSECONDS_PER_HOUR), type="float64")


# ---------------------------------------------------------------------------------------------- if


@compiles("if")
def _if(call: CompiledCall) -> ir.Value:
    cond, a, b = call.args
    if not cond.type().is_boolean():
        if cond.type().is_null():
            return b
        raise UnsupportedExpressionError(
            f"if() at offset {call.node.pos}: '{ast.to_text(call.node.args[0])}' is {cond.type()}, not "
            "true/false; compare it, e.g. if(x > 0, a, b)"
        )
    a, b = _common(a, b, call.node)
    # two-valued: a null condition is false, so it takes b
    return ibis.cases((cond.fill_null(False), a), else_=b)


def _common(a: ir.Value, b: ir.Value, node: ast.Call) -> tuple[ir.Value, ir.Value]:
    """`a` and `b` at their common type (the rule of coalesce): DECIMAL scales widened, integer with double
    read as double; text with a number is an error rather than a silent cast."""
    ta, tb = a.type(), b.type()
    if ta == tb or ta.is_null() or tb.is_null():
        return a, b
    if ta.is_decimal() and tb.is_decimal():
        common = dt.Decimal(38, max(ta.scale or 0, tb.scale or 0))
        return a.cast(common), b.cast(common)
    if ta.is_numeric() and tb.is_numeric():
        if ta.is_floating() or tb.is_floating():
            return a.cast("float64"), b.cast("float64")
        if ta.is_decimal() or tb.is_decimal():
            common = ta if ta.is_decimal() else tb
            return a.cast(common), b.cast(common)
        return a.cast("int64"), b.cast("int64")
    if (ta.is_timestamp() or ta.is_date()) and (tb.is_timestamp() or tb.is_date()):
        return to_timestamp(a), to_timestamp(b)
    raise UnsupportedExpressionError(
        f"if() at offset {node.pos}: its two values have no common type ({ta} and {tb}); "
        "give both the same kind, e.g. if(x > 0, 'yes', 'no')"
    )


# ---------------------------------------------------------------------------------------------- population


def _unranked(x: ir.Value, group: ir.Value | None) -> ir.BooleanValue:
    """Rows that get no rank: x is null, or (grouped ranks) the group is null."""
    return x.isnull() if group is None else (x.isnull() | group.isnull())


def percent_rank(x: ir.Value, group: ir.Value | None = None) -> ir.Value:
    """(rank - 1) / (n - 1) over the non-null values, ties share the lowest rank; 0 when n = 1.

    With `group`: within the customers sharing its value (`percent_rank_by`); null when x or the group is null.
    """
    partition = [x.isnull()] if group is None else [group, x.isnull()]
    rank0 = ibis.rank().over(group_by=partition, order_by=x)  # ibis ranks are 0-based
    n = x.count().over(ibis.window() if group is None else ibis.window(group_by=group))
    denominator = (n <= 1).ifelse(ibis.null("float64"), (n - 1).cast("float64"))
    value = (n <= 1).ifelse(ibis.literal(0.0), rank0.cast("float64") / denominator)
    return _unranked(x, group).ifelse(ibis.null("float64"), value)


def ntile(x: ir.Value, buckets: int, tie: ir.Value, group: ir.Value | None = None) -> ir.Value:
    """1-based buckets ordered by x then `tie`; the first (n mod k) buckets get one extra; null for null x.

    With `group`: within the customers sharing its value (`ntile_by`); null when x or the group is null.
    Computed from row_number and count (not the engines' NTILE) so it is identical everywhere.
    """
    partition = [x.isnull()] if group is None else [group, x.isnull()]
    i = ibis.row_number().over(group_by=partition, order_by=[x, tie])  # 0-based
    n = x.count().over(ibis.window() if group is None else ibis.window(group_by=group))
    k = ibis.literal(int(buckets), type="int64")
    q = (n - n % k) / k  # n // k, exact integer
    q = q.cast("int64")
    r = n % k
    big = r * (q + 1)
    first = (i / (q + 1)).floor().cast("int64") + 1
    rest = r + ((i - big) / (q == 0).ifelse(ibis.null("int64"), q)).floor().cast("int64") + 1
    value = (i < big).ifelse(first, rest)
    return _unranked(x, group).ifelse(ibis.null("int64"), value)
