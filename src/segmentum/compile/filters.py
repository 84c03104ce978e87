"""Filters over the rows of a read model (e.g. a segment's members): an expression of the definition language
(DESIGN.md section 5) such as `country = 'UK' and revenue_365d > 100`, parsed by `spec.expr` and compiled by the
same `ExprCompiler` as definitions against the rows' columns. User text never reaches the database as SQL: values
become typed literals of the Ibis expression.

Errors point at the character like definition errors do (`filter:1:12: unknown trait or attribute ...`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import ibis
import ibis.common.exceptions as ibis_errors
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from segmentum.compile.expressions import ExprCompiler
from segmentum.errors import DefinitionError, did_you_mean
from segmentum.spec import ast, functions
from segmentum.spec.expr import ExpressionSyntaxError, parse_expression

# in_segment('name') inside a filter: a boolean over the rows' customer_id (None when the name is unknown)
SegmentLookup = Callable[[str], "ir.BooleanValue | None"]


class FilterError(DefinitionError):
    """A filter cannot be understood: the message says where (`filter:1:COL`) and what to write instead."""


class _Position:
    """`filter:1:COL` of character offsets of one filter's text (1-based column, as definitions report)."""

    def __init__(self, label: str, text: str) -> None:
        self.label = label
        self.text = text

    def error(self, offset: int, message: str) -> FilterError:
        return FilterError(f"{self.label}:1:{offset + 1}: {message} in {self.text!r}")


class _RowScope:
    """Names are the table's columns; `as_of` is the run's; no event properties, no population ranks."""

    def __init__(
        self, table: ir.Table, as_of: datetime, where: _Position, segment: SegmentLookup | None
    ) -> None:
        self.table = table
        self.as_of = as_of
        self.where = where
        self.lookup = segment

    def name(self, node: ast.Name) -> ir.Value:
        if node.name not in self.table.columns:
            raise self.where.error(
                node.pos,
                f"unknown trait or attribute '{node.name}'"
                f"{did_you_mean(node.name, [c for c in self.table.columns if not c.startswith('__')])}",
            )
        return self.table[node.name]

    def prop(self, node: ast.Property) -> ir.Value:
        raise self.where.error(
            node.pos,
            f"properties.{node.key} reads an event's properties; a filter sees traits and attributes",
        )

    def population(self, node: ast.Call) -> ir.Value:
        raise self.where.error(
            node.pos,
            f"{node.name}() ranks every customer of a run and cannot be used in a filter; "
            "define a trait with it and filter on that trait",
        )

    def history(self, name: str, ago: str, node: ast.Call) -> ir.BooleanValue:
        raise self.where.error(
            node.pos,
            "was_in_segment() reads past runs and cannot be used in a filter; define a segment with it",
        )

    def segment(self, name: str, node: ast.Call) -> ir.BooleanValue:
        value = self.lookup(name) if self.lookup is not None else None
        if value is None:
            raise self.where.error(node.pos, f"in_segment('{name}'): no segment of that name in this run")
        return value


def parse_filter(text: str, *, label: str = "filter") -> ast.Node:
    """Parse one filter; FilterError (with its position) on a syntax error, an unknown function or a bad call."""
    where = _Position(label, text)
    if not str(text).strip():
        raise where.error(0, "the filter is empty; write a condition such as country = 'UK'")
    try:
        node = parse_expression(text)
    except ExpressionSyntaxError as exc:
        raise where.error(exc.pos, exc.message) from None
    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            _check_call(n, where)
    return node


def _check_call(n: ast.Call, where: _Position) -> None:
    """The call against the language's one declaration of the function (`segmentum.spec.functions`)."""
    try:
        functions.check_call(n)
    except functions.CallError as exc:
        raise where.error(exc.pos, exc.message) from None


def _check_literals(node: ast.Node, table: ir.Table, where: _Position) -> None:
    """A quoted value compared with a number or time column must read as one: `revenue > 'abc'` is an error,
    not a condition that silently matches nobody."""

    def check(column: ast.Node, values: Sequence[ast.Node]) -> None:
        if not (isinstance(column, ast.Name) and column.name in table.columns):
            return
        kind: dt.DataType = table[column.name].type()
        for value in values:
            if not (isinstance(value, ast.Literal) and isinstance(value.value, str)):
                continue
            text = value.value.strip()
            if kind.is_numeric():
                try:
                    Decimal(text)
                except InvalidOperation:
                    raise where.error(
                        value.pos, f"'{value.value}' is not a number, and {column.name} is {kind}"
                    ) from None
            elif kind.is_timestamp() or kind.is_date():
                what = "timestamp" if kind.is_timestamp() else "date"
                try:
                    datetime.fromisoformat(text) if kind.is_timestamp() else date.fromisoformat(text)
                except ValueError:
                    raise where.error(
                        value.pos,
                        f"'{value.value}' is not a {what} (write 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM:SS'), "
                        f"and {column.name} is {kind}",
                    ) from None

    for n in ast.walk(node):
        if isinstance(n, ast.Binary) and n.op in ast.COMPARISON:
            check(n.left, [n.right])
            check(n.right, [n.left])
        elif isinstance(n, ast.InList):
            check(n.operand, n.items)
        elif isinstance(n, ast.Between):
            check(n.operand, [n.low, n.high])


def compile_filter(
    table: ir.Table,
    text: str,
    *,
    as_of: datetime,
    label: str = "filter",
    segment: SegmentLookup | None = None,
) -> ir.BooleanValue:
    """One filter's text as a never-null boolean over `table` (two-valued logic, as segment conditions).

    Parameters
    ----------
    table:
        The rows to filter; its columns are the names a filter may use.
    as_of:
        What `as_of` means in the filter (the run's point in time).
    label:
        How errors name this filter (`filter`, `filter[2]`).
    segment:
        Resolves `in_segment('name')`; without it the function is refused.
    """
    where = _Position(label, text)
    node = parse_filter(text, label=label)
    _check_literals(node, table, where)
    try:
        return ExprCompiler(_RowScope(table, as_of, where, segment)).condition(node)
    except FilterError:
        raise
    except DefinitionError as exc:  # a rule of the compiler (e.g. a number used as a condition)
        raise where.error(node.pos, str(exc)) from None
    except (ibis_errors.IbisError, TypeError, ValueError) as exc:  # operands of types that do not combine
        raise where.error(node.pos, f"the values cannot be combined this way ({exc})") from None


def _label(i: int, count: int) -> str:
    return "filter" if count == 1 else f"filter[{i + 1}]"


def filter_names(texts: Sequence[str]) -> set[str]:
    """Every trait or attribute name the filters use (FilterError, with its position, on a bad one)."""
    names: set[str] = set()
    for i, text in enumerate(texts):
        names |= ast.names(parse_filter(text, label=_label(i, len(texts))))
    return names


def compile_filters(
    table: ir.Table, texts: Sequence[str], *, as_of: datetime, segment: SegmentLookup | None = None
) -> ir.BooleanValue:
    """Every filter ANDed (true when there are none)."""
    condition: ir.BooleanValue = ibis.literal(True)
    for i, text in enumerate(texts):
        condition = condition & compile_filter(
            table, text, as_of=as_of, label=_label(i, len(texts)), segment=segment
        )
    return condition
