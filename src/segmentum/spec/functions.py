"""The functions of the definition language, each declared once.

As ibis declares an operation once (its signature as fields) and each backend adds one rule for it, a function
of the language is one `Function` here: its name, its arguments (how many, of which kind), its result, whether
it depends on the whole population of a run, extra checks and a short doc. Everything else uses this table:

- the loader checks every call against it (`check_call`; unknown names get a did-you-mean built from it);
- the compiler (`compile/expressions.py`, layer 3) registers exactly one compile rule per declared name;
- explain (`runs/explain.py`) registers exactly one rendering per declared name;
- population functions (`percent_rank`, `ntile`) are found by their flag (`population_calls`), so the compiler
  hoists them into hidden `__pop_*` columns and the real-time path takes them from the last batch run;
- `segment` arguments are the `in_segment` dependencies (`segment_refs`); `history` arguments
  (`was_in_segment`) read past runs instead, so they are no dependency of the run (`history_refs`).

Adding a function is one entry below plus one compile rule and one explain rendering; a test fails until
all three exist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, TypeVar

from segmentum.errors import did_you_mean
from segmentum.spec import ast

ArgKind = Literal["value", "integer", "segment", "history", "duration", "text"]
"""`value`: any expression; `integer`: a whole-number literal (the compile rule receives the Python int);
`segment`: a segment name in quotes, `'vip'` or `'segmentation.segment'` (the compile rule receives the str);
`history`: the same, naming the segment in a past run (no dependency of this run); `duration`: a duration
literal such as `30d` (the compile rule receives its text); `text`: a text literal (the str)."""

LITERAL_KINDS = frozenset({"integer", "segment", "history", "duration", "text"})
"""Argument kinds that are literals: the compile rule receives their Python value, not an Ibis value."""

SEGMENT_KINDS = frozenset({"segment", "history"})
"""Argument kinds that name a segment (the loader checks that the name exists, with a did-you-mean)."""

DATE_TRUNC_UNITS = ("day", "week", "month", "quarter", "year")

Result = Literal["integer", "double", "number", "text", "boolean", "timestamp", "same", "common"]
"""`number`: an integer or a double (DECIMAL stays DECIMAL); `same`: the type of the first argument;
`common`: the common type of the arguments."""

ORDINALS = ("first", "second", "third", "fourth")


class CallError(ValueError):
    """A call that does not fit its declaration, at character offset `pos` of the expression."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


@dataclass(frozen=True)
class Arg:
    name: str
    kind: ArgKind = "value"
    optional: bool = False  # may be left out (trailing arguments only)
    repeated: bool = False  # the last argument may be given any number of times (at least once)


Check = Callable[[ast.Call], "str | None"]
"""An extra check of a call whose arguments already fit the signature: None, or what is wrong."""


@dataclass(frozen=True)
class Function:
    """One function of the language: its signature, result, population flag, checks and doc."""

    name: str
    args: tuple[Arg, ...]
    result: Result
    doc: str
    example: str  # a call over the names of the docs' examples (tests compile and run every one)
    population: bool = False  # depends on every customer of the run (real time: from the last batch run)
    checks: tuple[Check, ...] = ()

    @property
    def min_args(self) -> int:
        return sum(1 for a in self.args if not a.optional)

    @property
    def max_args(self) -> int | None:
        return None if any(a.repeated for a in self.args) else len(self.args)

    @property
    def row_level(self) -> bool:
        """Usable in a table's `where` (one row at a time): it neither ranks customers nor reads a segment."""
        return not self.population and not any(a.kind in SEGMENT_KINDS for a in self.args)

    @property
    def signature(self) -> str:
        """`round(x[, digits])`, `coalesce(x, ...)`."""
        out = ""
        for i, arg in enumerate(self.args):
            sep = ", " if i else ""
            out += f"[{sep}{arg.name}]" if arg.optional else f"{sep}{arg.name}"
            if arg.repeated:
                out += ", ..."
        return f"{self.name}({out})"

    def arg(self, index: int) -> Arg:
        """The declaration of argument `index` (a repeated last argument covers every later position)."""
        return self.args[min(index, len(self.args) - 1)]


# ------------------------------------------------------------------------------------------------ checks


def _whole_number(node: ast.Node) -> bool:
    return isinstance(node, ast.Literal) and isinstance(node.value, int) and not isinstance(node.value, bool)


def _at_least_one_bucket(call: ast.Call) -> str | None:
    bins = call.args[1]
    if isinstance(bins, ast.Literal) and isinstance(bins.value, int) and bins.value < 1:
        return "ntile(x, n) needs a whole number n >= 1 as its second argument"
    return None


def _at_least_one_bucket_by(call: ast.Call) -> str | None:
    bins = call.args[1]
    if isinstance(bins, ast.Literal) and isinstance(bins.value, int) and bins.value < 1:
        return "ntile_by(x, n, g) needs a whole number n >= 1 as its second argument"
    return None


def _known_unit(call: ast.Call) -> str | None:
    unit = call.args[0]
    assert isinstance(unit, ast.Literal)
    if str(unit.value) not in DATE_TRUNC_UNITS:
        return (
            f"date_trunc() has no unit '{unit.value}'{did_you_mean(str(unit.value), DATE_TRUNC_UNITS)} "
            f"(units: {', '.join(repr(u) for u in DATE_TRUNC_UNITS)})"
        )
    return None


# ------------------------------------------------------------------------------------------- declarations

X = Arg("x")

_DECLARED = (
    Function(
        "days_between",
        (Arg("a"), Arg("b")),
        "integer",
        "calendar days from date(a) to date(b) in the workspace time zone",
        example="days_between(last_order_at, as_of)",
    ),
    Function(
        "coalesce",
        (Arg("x", repeated=True),),
        "common",
        "the first argument that is not null (as in SQL)",
        example="coalesce(revenue, 0)",
    ),
    Function(
        "lower",
        (Arg("s"),),
        "text",
        "the text in lower case",
        example="lower(country)",
    ),
    Function(
        "upper",
        (Arg("s"),),
        "text",
        "the text in upper case",
        example="upper(country)",
    ),
    Function(
        "abs",
        (X,),
        "same",
        "the absolute value",
        example="abs(revenue - 100)",
    ),
    Function(
        "ceil",
        (X,),
        "number",
        "the smallest integer >= x (an extension)",
        example="ceil(revenue / 4)",
    ),
    Function(
        "floor",
        (X,),
        "number",
        "the largest integer <= x (an extension)",
        example="floor(revenue / 4)",
    ),
    Function(
        "round",
        (X, Arg("digits", "integer", optional=True)),
        "number",
        "x rounded half away from zero to `digits` decimals (default 0; exact on DECIMAL)",
        example="round(revenue / 8, 1)",
    ),
    Function(
        "least",
        (Arg("x", repeated=True),),
        "common",
        "the smallest argument, nulls skipped (as in SQL)",
        example="least(revenue, 100)",
    ),
    Function(
        "greatest",
        (Arg("x", repeated=True),),
        "common",
        "the largest argument, nulls skipped (as in SQL)",
        example="greatest(revenue, 100)",
    ),
    Function(
        "percent_rank",
        (X,),
        "double",
        "(rank - 1) / (n - 1) over the run's customers with non-null x (ties share the lowest rank); "
        "0 when n = 1; null for null x",
        population=True,
        example="percent_rank(revenue)",
    ),
    Function(
        "ntile",
        (X, Arg("n", "integer")),
        "integer",
        "1-based buckets ordered by x then customer_id; the first (count mod n) buckets get one extra "
        "customer; null for null x",
        population=True,
        checks=(_at_least_one_bucket,),
        example="ntile(revenue, 2)",
    ),
    Function(
        "percent_rank_by",
        (X, Arg("g")),
        "double",
        "percent_rank(x) within the customers sharing the value of g; null when x or g is null",
        population=True,
        example="percent_rank_by(revenue, country)",
    ),
    Function(
        "ntile_by",
        (X, Arg("n", "integer"), Arg("g")),
        "integer",
        "ntile(x, n) within the customers sharing the value of g; null when x or g is null",
        population=True,
        checks=(_at_least_one_bucket_by,),
        example="ntile_by(revenue, 2, country)",
    ),
    Function(
        "date_trunc",
        (Arg("unit", "text"), Arg("t")),
        "timestamp",
        "the timestamp at 00:00 of the first day of t's 'day', 'week' (Monday), 'month', 'quarter' or "
        "'year', in the workspace time zone",
        checks=(_known_unit,),
        example="date_trunc('month', last_order_at)",
    ),
    Function("year", (Arg("t"),), "integer", "the year of t", example="year(last_order_at)"),
    Function("month", (Arg("t"),), "integer", "the month of t, 1 to 12", example="month(last_order_at)"),
    Function(
        "day", (Arg("t"),), "integer", "the day of the month of t, 1 to 31", example="day(last_order_at)"
    ),
    Function(
        "weekday",
        (Arg("t"),),
        "integer",
        "the ISO day of the week of t: Monday = 1 ... Sunday = 7",
        example="weekday(last_order_at)",
    ),
    Function("hour", (Arg("t"),), "integer", "the hour of t, 0 to 23", example="hour(last_order_at)"),
    Function(
        "hours_between",
        (Arg("a"), Arg("b")),
        "double",
        "b - a in hours, exact (a double; positive when b is later), on the workspace's wall clock",
        example="hours_between(last_order_at, as_of)",
    ),
    Function(
        "if",
        (Arg("cond"), Arg("a"), Arg("b")),
        "common",
        "a when cond is true, else b (a null cond is false); the common type of a and b",
        example="if(revenue >= 100, 'high', 'low')",
    ),
    Function(
        "was_in_segment",
        (Arg("name", "history"), Arg("ago", "duration")),
        "boolean",
        "membership of 'name' in the newest complete batch run (by as_of, then id) that computed it and whose "
        "as_of is at or before as_of - ago, whatever its engine and edits since; false when there is none",
        example="was_in_segment('tier.vip', 30d)",
    ),
    Function(
        "in_segment",
        (Arg("name", "segment"),),
        "boolean",
        "membership in another segment of the same run: 'name' or 'segmentation.segment'",
        example="in_segment('tier.vip')",
    ),
)


def _declare(functions: tuple[Function, ...]) -> dict[str, Function]:
    out: dict[str, Function] = {}
    for fn in functions:
        if fn.name in out:
            raise RuntimeError(f"function {fn.name}() is declared twice in segmentum.spec.functions")
        if any(a.optional or a.repeated for a in fn.args[:-1]):
            raise RuntimeError(f"{fn.name}(): only the last argument may be optional or repeated")
        out[fn.name] = fn
    return out


FUNCTIONS: dict[str, Function] = _declare(_DECLARED)


# ------------------------------------------------------------------------------------------------ checking


def lookup(name: str, pos: int = 0) -> Function:
    """The declaration of `name`; CallError with a did-you-mean and the list of functions otherwise."""
    fn = FUNCTIONS.get(name)
    if fn is None:
        raise CallError(
            f"unknown function '{name}'{did_you_mean(name, FUNCTIONS)} (functions: {', '.join(sorted(FUNCTIONS))})",
            pos,
        )
    return fn


def check_call(call: ast.Call, *, row_level: bool = False) -> Function:
    """Check a call against its declaration (name, arity, argument kinds, extra checks); return it.

    `row_level`: the call is in a table's `where`, evaluated one row at a time.
    """
    fn = lookup(call.name, call.pos)
    found, low, high = len(call.args), fn.min_args, fn.max_args
    if found < low or (high is not None and found > high):
        expected = str(low) if low == high else f"{low} to {high}" if high is not None else f"at least {low}"
        raise CallError(f"{call.name}() takes {expected} argument(s), found {found}", call.pos)
    if row_level and not fn.row_level:
        if fn.population:
            why = "ranks customers"
        elif any(a.kind == "history" for a in fn.args):
            why = "reads a segment of a past run"
        else:
            why = "reads a segment of the run"
        raise CallError(f"{call.name}() {why}; it cannot be used in a table's 'where'", call.pos)
    for i, node in enumerate(call.args):
        arg = fn.arg(i)
        ordinal = ORDINALS[i] if i < len(ORDINALS) else f"#{i + 1}"
        if arg.kind == "integer" and not _whole_number(node):
            raise CallError(
                f"{fn.signature} needs a whole number {arg.name} as its {ordinal} argument, "
                f"found {ast.to_text(node)}",
                node.pos,
            )
        if arg.kind in SEGMENT_KINDS and not (isinstance(node, ast.Literal) and isinstance(node.value, str)):
            raise CallError(
                f"{call.name}() takes a segment name in quotes as its {ordinal} argument: {call.name}('vip')",
                node.pos,
            )
        if arg.kind == "text" and not (isinstance(node, ast.Literal) and isinstance(node.value, str)):
            raise CallError(
                f"{fn.signature} takes a text in quotes as its {ordinal} argument, found {ast.to_text(node)}",
                node.pos,
            )
        if arg.kind == "duration" and not isinstance(node, ast.Duration):
            raise CallError(
                f"{fn.signature} takes a duration such as 30d, 2w, 6m or 1y as its {ordinal} argument, "
                f"found {ast.to_text(node)}",
                node.pos,
            )
        if arg.kind != "duration" and isinstance(node, ast.Duration):
            raise CallError(
                f"a duration ({node.text}) cannot be the {ordinal} argument of {fn.signature}; "
                "durations are arguments of was_in_segment('name', 30d) only",
                node.pos,
            )
    for check in fn.checks:
        problem = check(call)
        if problem is not None:
            raise CallError(problem, call.pos)
    return fn


def literal_argument(node: ast.Node) -> int | Decimal | str | bool | None:
    """The Python value of a literal argument (every kind but `value`; a duration gives its text)."""
    if isinstance(node, ast.Duration):
        return node.text
    if not isinstance(node, ast.Literal):
        raise TypeError(f"expected a literal argument, found {ast.to_text(node)}")
    return node.value


# ------------------------------------------------------------------------------------------------ queries


def calls(node: ast.Node) -> Iterator[ast.Call]:
    """Every call in an expression, depth first (outermost first)."""
    return (n for n in ast.walk(node) if isinstance(n, ast.Call))


def population_calls(node: ast.Node) -> list[ast.Call]:
    """Calls of population functions in an expression, innermost first (the order to compute them in)."""
    out: list[ast.Call] = []

    def visit(n: ast.Node) -> None:
        for child in ast.children(n):
            visit(child)
        if isinstance(n, ast.Call) and n.name in FUNCTIONS and FUNCTIONS[n.name].population:
            out.append(n)

    visit(node)
    return out


def uses_population(node: ast.Node | None) -> bool:
    """The expression calls a function whose value depends on every customer of the run."""
    return node is not None and bool(population_calls(node))


def segment_refs(node: ast.Node) -> set[str]:
    """Every segment an expression names through a `segment` argument (`in_segment('...')`)."""
    refs: set[str] = set()
    for call in calls(node):
        fn = FUNCTIONS.get(call.name)
        if fn is None:
            continue
        for i, arg in enumerate(call.args):
            if fn.arg(i).kind == "segment" and isinstance(arg, ast.Literal) and isinstance(arg.value, str):
                refs.add(arg.value)
    return refs


def history_refs(node: ast.Node) -> set[tuple[str, str]]:
    """Every (segment, duration) an expression reads from past runs (`was_in_segment('name', 30d)`)."""
    refs: set[tuple[str, str]] = set()
    for call in calls(node):
        fn = FUNCTIONS.get(call.name)
        if fn is None or len(call.args) != len(fn.args):
            continue
        kinds = [fn.arg(i).kind for i in range(len(call.args))]
        if kinds == ["history", "duration"]:
            name, ago = call.args
            if isinstance(name, ast.Literal) and isinstance(ago, ast.Duration):
                refs.add((str(name.value), ago.text))
    return refs


# ------------------------------------------------------------------------------------------------ rules per function

Rule = TypeVar("Rule")


def rule_registry(rules: dict[str, Rule], what: str) -> Callable[..., Callable[[Rule], Rule]]:
    """A decorator `@registers("name", ...)` that files one `what` (compile rule, explain rendering) per declared
    function into `rules`: an undeclared name or a second rule for a name is an error at import."""

    def registers(*names: str) -> Callable[[Rule], Rule]:
        def register(rule: Rule) -> Rule:
            for name in names:
                if name not in FUNCTIONS:
                    raise RuntimeError(
                        f"{what} for {name}(), which segmentum.spec.functions does not declare"
                    )
                if name in rules:
                    raise RuntimeError(f"{name}() has two {what}s")
                rules[name] = rule
            return rule

        return register

    return registers
