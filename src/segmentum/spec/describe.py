"""A definition in plain language: the one home of turning a segment's rule into a sentence.

`describe(node, traits, t)` reads the expression tree (`spec/ast.py`) and the traits it names, so
`revenue_365d >= 1000 and orders_total > 2` reads "total amount of orders in the last 365 days is at least
1,000 and number of orders is more than 2". A trait's own `description` wins over the generated words. Every
word goes through the translator (`segmentum.i18n`), numbers are formatted for the language.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from segmentum.clock import parse_duration
from segmentum.spec import ast
from segmentum.spec.models import AggregateTrait

if TYPE_CHECKING:
    from segmentum.i18n import Translator
    from segmentum.spec.definitions import SegmentDef, TraitDef

# comparison -> words, "{left} is at least {right}"
COMPARISONS = {
    ">=": "{left} is at least {right}",
    ">": "{left} is more than {right}",
    "<=": "{left} is at most {right}",
    "<": "{left} is less than {right}",
    "=": "{left} is {right}",
    "!=": "{left} is not {right}",
}
AGGREGATES = {
    "count": "number of {table}",
    "count_distinct": "number of different {column} in {table}",
    "sum": "total {column} of {table}",
    "avg": "average {column} of {table}",
    "min": "smallest {column} of {table}",
    "max": "largest {column} of {table}",
    "mode": "most frequent {column} of {table}",
    "first": "first {column} of {table}",
    "last": "latest {column} of {table}",
}
UNITS = {"d": "{n} days", "w": "{n} weeks", "m": "{n} months", "y": "{n} years"}
WITHIN = {
    "d": "in the last {n} days",
    "w": "in the last {n} weeks",
    "m": "in the last {n} months",
    "y": "in the last {n} years",
}


def describe_segment(segment: SegmentDef, traits: dict[str, TraitDef], t: Translator) -> str:
    """The segment's rule as a sentence (a segmentation's `else`: everyone its other rules leave)."""
    if segment.where is None:
        return t("everyone the rules above leave")
    return describe(segment.where, traits, t)


def describe(node: ast.Node, traits: dict[str, TraitDef], t: Translator) -> str:
    """An expression of the definition language as words."""
    return _words(node, traits, t, top=True)


def _words(node: ast.Node, traits: dict[str, TraitDef], t: Translator, top: bool = False) -> str:
    if isinstance(node, ast.Binary) and node.op in ast.LOGICAL:
        left = _words(node.left, traits, t)
        right = _words(node.right, traits, t)
        text = t("{left} and {right}", left=left, right=right)
        if node.op == "or":
            text = t("{left} or {right}", left=left, right=right)
            return text if top else f"({text})"
        return text
    if isinstance(node, ast.Binary) and node.op in COMPARISONS:
        return t(COMPARISONS[node.op], left=_value(node.left, traits, t), right=_value(node.right, traits, t))
    if isinstance(node, ast.Unary) and node.op == "not":
        return t("not ({text})", text=_words(node.operand, traits, t, top=True))
    if isinstance(node, ast.InList):
        items = ", ".join(_value(i, traits, t) for i in node.items)
        message = "{left} is none of {items}" if node.negated else "{left} is one of {items}"
        return t(message, left=_value(node.operand, traits, t), items=items)
    if isinstance(node, ast.Between):
        message = (
            "{left} is not between {low} and {high}" if node.negated else "{left} is between {low} and {high}"
        )
        return t(
            message,
            left=_value(node.operand, traits, t),
            low=_value(node.low, traits, t),
            high=_value(node.high, traits, t),
        )
    if isinstance(node, ast.IsNull):
        message = "{left} is known" if node.negated else "{left} is unknown"
        return t(message, left=_value(node.operand, traits, t))
    if isinstance(node, ast.Like):
        message = "{left} does not match {pattern}" if node.negated else "{left} matches {pattern}"
        return t(message, left=_value(node.operand, traits, t), pattern=_value(node.pattern, traits, t))
    if isinstance(node, ast.Literal) and node.value is True:
        return t("everyone")
    return _value(node, traits, t)


def _value(node: ast.Node, traits: dict[str, TraitDef], t: Translator) -> str:
    if isinstance(node, ast.Literal):
        value: Any = node.value
        if value is None:
            return t("unknown")
        if isinstance(value, bool):
            return t("yes") if value else t("no")
        if isinstance(value, str):
            return f"“{value}”"
        if isinstance(value, (int, Decimal)):
            digits = 0 if value == int(value) else min(4, max(1, -int(Decimal(value).as_tuple().exponent)))
            return t.number(value, digits)
        return str(value)
    if isinstance(node, ast.Name):
        return _trait_words(node.name, traits, t)
    if isinstance(node, ast.Property):
        return t("event property {key}", key=node.key)
    if isinstance(node, ast.Unary) and node.op == "-":
        return f"−{_value(node.operand, traits, t)}"
    return ast.to_text(node)  # arithmetic and functions: the expression itself reads best


def _trait_words(name: str, traits: dict[str, TraitDef], t: Translator) -> str:
    """A trait as words: its description, else what it aggregates and over which period; other names
    (attributes, `as_of`) with their underscores as spaces."""
    trait = traits.get(name)
    spec = trait.spec if trait is not None else None
    builtin = trait is not None and trait.builtin is not None
    if spec is not None and getattr(spec, "description", None):
        text = str(spec.description)
        if builtin and t.lang != "en" and t.maybe(text) == text:
            return name  # a built-in's description we have in English only: its name reads in every language
        return str(t.maybe(text)).rstrip(".")
    if isinstance(spec, AggregateTrait):
        for kind, message in AGGREGATES.items():
            source = getattr(spec, kind, None)
            if source:
                table, _, column = str(source).partition(".")
                words = t(message, table=t(table), column=t(column.replace("_", " ")) if column else "")
                if spec.within:
                    n, unit = parse_duration(spec.within)
                    words += " " + t(WITHIN[unit], n=t.number(n))
                elif spec.between:
                    words += " " + t(
                        "between {start} and {end} ago",
                        start=_period(spec.between[0], t),
                        end=_period(spec.between[1], t),
                    )
                return words
    if builtin and t.lang != "en":
        return name  # a built-in's own name, an id, rather than English words made of it
    return name.replace("_", " ")


def _period(text: str, t: Translator) -> str:
    n, unit = parse_duration(text)
    return t(UNITS[unit], n=t.number(n))
