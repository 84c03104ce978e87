"""Expression tree of the definition language.

The parser (`spec/expr.py`) turns expression text into these immutable nodes; the compiler
(`compile/`) has one rule per node type. Every node carries `pos`, the 0-based character offset
in the expression text, so errors can point at the exact column.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

ARITHMETIC = frozenset({"+", "-", "*", "/"})
COMPARISON = frozenset({"=", "!=", "<", "<=", ">", ">="})
LOGICAL = frozenset({"and", "or"})


@dataclass(frozen=True)
class Node:
    pos: int


@dataclass(frozen=True)
class Literal(Node):
    """A number (int or Decimal: `1.5` is exact), a string, true/false, or null."""

    value: int | Decimal | str | bool | None


@dataclass(frozen=True)
class Duration(Node):
    """A duration literal such as `30d` (d, w, m, y): only an argument of a function that takes one."""

    text: str


@dataclass(frozen=True)
class Name(Node):
    """A trait, a customer attribute, a column of the table in an aggregate's `where`, or `as_of`."""

    name: str


@dataclass(frozen=True)
class Property(Node):
    """`properties.key`: a key of events.properties (JSON), read as text."""

    key: str


@dataclass(frozen=True)
class Unary(Node):
    op: str  # "-" or "not"
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str  # one of ARITHMETIC, COMPARISON or LOGICAL
    left: Node
    right: Node


@dataclass(frozen=True)
class InList(Node):
    operand: Node
    items: tuple[Node, ...]
    negated: bool = False


@dataclass(frozen=True)
class Between(Node):
    operand: Node
    low: Node
    high: Node
    negated: bool = False


@dataclass(frozen=True)
class IsNull(Node):
    operand: Node
    negated: bool = False  # True for `is not null`


@dataclass(frozen=True)
class Like(Node):
    operand: Node
    pattern: Node
    negated: bool = False


@dataclass(frozen=True)
class Call(Node):
    name: str  # a function of `segmentum.spec.functions.FUNCTIONS` (the loader checks it)
    args: tuple[Node, ...]


def walk(node: Node):  # type: ignore[no-untyped-def]
    """Yield the node and all its descendants, depth first."""
    yield node
    for child in children(node):
        yield from walk(child)


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, InList):
        return (node.operand, *node.items)
    if isinstance(node, Between):
        return (node.operand, node.low, node.high)
    if isinstance(node, (IsNull,)):
        return (node.operand,)
    if isinstance(node, Like):
        return (node.operand, node.pattern)
    if isinstance(node, Call):
        return node.args
    return ()


def names(node: Node) -> set[str]:
    """Every bare name an expression refers to."""
    return {n.name for n in walk(node) if isinstance(n, Name)}


def to_text(node: Node) -> str:
    """Render a node back to expression text (for explain output)."""
    if isinstance(node, Literal):
        if node.value is None:
            return "null"
        if isinstance(node.value, bool):
            return "true" if node.value else "false"
        if isinstance(node.value, str):
            return "'" + node.value.replace("'", "''") + "'"
        return str(node.value)
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Duration):
        return node.text
    if isinstance(node, Property):
        return f"properties.{node.key}"
    if isinstance(node, Unary):
        return f"not {to_text(node.operand)}" if node.op == "not" else f"-{to_text(node.operand)}"
    if isinstance(node, Binary):
        return f"({to_text(node.left)} {node.op} {to_text(node.right)})"
    if isinstance(node, InList):
        neg = " not" if node.negated else ""
        return f"{to_text(node.operand)}{neg} in ({', '.join(to_text(i) for i in node.items)})"
    if isinstance(node, Between):
        neg = " not" if node.negated else ""
        return f"{to_text(node.operand)}{neg} between {to_text(node.low)} and {to_text(node.high)}"
    if isinstance(node, IsNull):
        return f"{to_text(node.operand)} is {'not ' if node.negated else ''}null"
    if isinstance(node, Like):
        return f"{to_text(node.operand)} {'not ' if node.negated else ''}like {to_text(node.pattern)}"
    if isinstance(node, Call):
        return f"{node.name}({', '.join(to_text(a) for a in node.args)})"
    raise TypeError(f"unknown node {type(node).__name__}")
