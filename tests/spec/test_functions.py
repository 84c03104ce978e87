"""The function registry: each function declared once, with one compile rule and one explain rendering, and
the loader's checks, the population special case and `in_segment` dependencies all read from it."""

from __future__ import annotations

import textwrap
from datetime import datetime
from pathlib import Path

import pytest

from segmentum.compile.expressions import COMPILE_RULES, compiles
from segmentum.errors import DefinitionError
from segmentum.runs.explain import EXPLAIN_RULES, explain, explains
from segmentum.spec import ast, functions
from segmentum.spec.expr import parse_expression
from segmentum.workspace import Workspace

DOCS = Path(__file__).resolve().parents[2] / "docs" / "definitions.md"

# The names the declared examples use, and data where each example has a known value for customer 'a'.
DEFINITIONS = """\
traits:
  revenue: {sum: orders.amount}
  last_order_at: {max: orders.ordered_at}
segmentations:
  tier:
    segments:
      - {name: vip, where: "revenue >= 100"}
    else: rest
segments:
  probe: {where: "(EXAMPLE) is not null"}
"""
EXPECTED_FOR_A = {  # a: orders of 100 and 50 (revenue 150), last on 2024-01-10, country 'Uk'; as_of 2024-01-31
    "days_between": 21,
    "coalesce": 150,
    "lower": "uk",
    "upper": "UK",
    "abs": 50,
    "ceil": 38,  # 150 / 4 = 37.5
    "floor": 37,
    "round": 18.8,  # 150 / 8 = 18.75, half away from zero
    "least": 100,
    "greatest": 150,
    "percent_rank": 1.0,  # a (150) above b (30); c has no revenue
    "ntile": 2,
    "in_segment": True,
    "percent_rank_by": 0.0,  # a is alone in 'Uk'
    "ntile_by": 1,
    "date_trunc": datetime(2024, 1, 1),
    "year": 2024,
    "month": 1,
    "day": 10,
    "weekday": 3,  # 2024-01-10 is a Wednesday
    "hour": 10,
    "hours_between": (datetime(2024, 1, 31, 23, 59, 59, 999999) - datetime(2024, 1, 10, 10)).total_seconds()
    / 3600,
    "if": "high",
    "was_in_segment": False,  # no earlier run
}


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = Workspace.init(tmp_path / "ws", name="t")
    config = ws.root / "segmentum.yml"
    config.write_text(config.read_text().replace("builtins: [rfm, abc, lifecycle]", "builtins: []"))
    ws = Workspace(ws.root)
    con = ws.store.cursor()
    con.execute("CREATE TABLE main.customers (customer_id VARCHAR, country VARCHAR)")
    con.execute("INSERT INTO main.customers VALUES ('a', 'Uk'), ('b', 'de'), ('c', NULL)")
    con.execute(
        "CREATE TABLE main.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, "
        "amount DECIMAL(38, 6), status VARCHAR)"
    )
    con.execute(
        "INSERT INTO main.orders VALUES ('1', 'a', '2024-01-09 10:00', 100, NULL), "
        "('2', 'a', '2024-01-10 10:00', 50, NULL), ('3', 'b', '2024-01-30 10:00', 30, NULL)"
    )
    yield ws
    ws.close()


def write_definitions(ws: Workspace, text: str) -> None:
    (ws.root / "definitions" / "test.yml").write_text(text)


def test_every_declared_function_has_exactly_one_compile_rule_and_one_explain_rendering() -> None:
    assert set(COMPILE_RULES) == set(functions.FUNCTIONS)
    assert set(EXPLAIN_RULES) == set(functions.FUNCTIONS)
    with pytest.raises(RuntimeError, match="two compile rules"):
        compiles("lower")(lambda call: call.args[0])
    with pytest.raises(RuntimeError, match="two explain renderings"):
        explains("lower")(lambda view: {})
    with pytest.raises(RuntimeError, match="does not declare"):
        compiles("no_such_function")(lambda call: call.args[0])


def test_every_declared_function_is_documented() -> None:
    text = DOCS.read_text()
    missing = [name for name in functions.FUNCTIONS if f"`{name}(" not in text]
    assert missing == []


@pytest.mark.parametrize("name", sorted(functions.FUNCTIONS))
def test_each_function_compiles_runs_and_explains_its_example(ws: Workspace, name: str) -> None:
    fn = functions.FUNCTIONS[name]
    write_definitions(ws, DEFINITIONS.replace("EXAMPLE", fn.example))
    result = explain(ws, "a", "probe", as_of="2024-01-31")
    shown = result.checks[0].values
    label = ast.to_text(parse_expression(fn.example))
    assert shown[label] == EXPECTED_FOR_A[name]
    assert result.member is True


def test_in_segment_explains_the_segment_the_customer_is_in(ws: Workspace) -> None:
    write_definitions(ws, DEFINITIONS.replace("(EXAMPLE) is not null", "in_segment('tier.vip')"))
    assert explain(ws, "b", "probe", as_of="2024-01-31").checks[0].values == {
        "in_segment('tier.vip')": False,
        "tier": "rest",
    }


def _load(ws: Workspace, where: str, *, trait_where: str | None = None) -> None:
    extra = f"\n  counted: {{count: orders, where: {trait_where!r}}}" if trait_where else ""
    text = DEFINITIONS.replace('"(EXAMPLE) is not null"', repr(where)).replace(
        "last_order_at: {max: orders.ordered_at}", "last_order_at: {max: orders.ordered_at}" + extra
    )
    write_definitions(ws, text)
    ws.definitions()


def test_an_unknown_function_gets_a_did_you_mean_from_the_registry(ws: Workspace) -> None:
    with pytest.raises(DefinitionError) as err:
        _load(ws, "percent_rnk(revenue) > 0.5")
    message = str(err.value)
    assert "definitions/test.yml:10:" in message
    assert "unknown function 'percent_rnk'; did you mean 'percent_rank'?" in message
    assert ", ".join(sorted(functions.FUNCTIONS)) in message


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("lower(country, 1) = 'x'", r"lower\(\) takes 1 argument\(s\), found 2"),
        ("round(revenue, 1, 2) > 0", r"round\(\) takes 1 to 2 argument\(s\), found 3"),
        ("coalesce() > 0", r"coalesce\(\) takes at least 1 argument\(s\), found 0"),
        ("round(revenue, revenue) > 0", r"round\(x\[, digits\]\) needs a whole number digits as its second"),
        (
            "ntile(revenue, 2.5) = 1",
            r"ntile\(x, n\) needs a whole number n as its second argument, found 2.5",
        ),
        ("ntile(revenue, 0) = 1", r"ntile\(x, n\) needs a whole number n >= 1"),
        ("in_segment(tier) ", r"in_segment\(\) takes a segment name in quotes as its first argument"),
        ("in_segment('tier')", r"unknown segment 'tier'; did you mean 'tier.vip'\?"),
        ("in_segment('tier.vp')", r"unknown segment 'tier.vp'; did you mean 'tier.vip'\?"),
    ],
)
def test_calls_are_checked_against_their_declaration(ws: Workspace, where: str, message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        _load(ws, where)


@pytest.mark.parametrize(
    ("trait_where", "message"),
    [
        (
            "percent_rank(amount) > 0.5",
            r"percent_rank\(\) ranks customers; it cannot be used in a table's 'where'",
        ),
        (
            "in_segment('tier.vip')",
            r"in_segment\(\) reads a segment of the run; it cannot be used in a table's",
        ),
        ("abs(amount) > 5", None),
    ],
)
def test_row_level_functions_only_in_a_tables_where(
    ws: Workspace, trait_where: str, message: str | None
) -> None:
    if message is None:
        _load(ws, "revenue > 0", trait_where=trait_where)
        return
    with pytest.raises(DefinitionError, match=message):
        _load(ws, "revenue > 0", trait_where=trait_where)


def test_an_error_points_at_the_argument_that_is_wrong(ws: Workspace) -> None:
    write_definitions(
        ws,
        textwrap.dedent(
            """\
            traits:
              revenue: {sum: orders.amount}
            segments:
              s: {where: "ntile(revenue, revenue) = 1"}
            """
        ),
    )
    with pytest.raises(DefinitionError, match=r"definitions/test.yml:4:30: ntile"):
        ws.definitions()


def test_population_calls_come_from_the_declarations_innermost_first() -> None:
    node = parse_expression("ntile(percent_rank(x), 4) = 1 and abs(y) > 0 and percent_rank(z) > 0.5")
    assert [ast.to_text(c) for c in functions.population_calls(node)] == [
        "percent_rank(x)",
        "ntile(percent_rank(x), 4)",
        "percent_rank(z)",
    ]
    assert functions.uses_population(node) and not functions.uses_population(parse_expression("abs(y) > 0"))


def test_segment_arguments_are_the_dependencies() -> None:
    node = parse_expression("in_segment('a') or (in_segment('s.b') and lower('x') = 'x')")
    assert functions.segment_refs(node) == {"a", "s.b"}


def test_signature_and_arity_are_derived_from_the_arguments() -> None:
    fns = functions.FUNCTIONS
    assert fns["round"].signature == "round(x[, digits])" and (
        fns["round"].min_args,
        fns["round"].max_args,
    ) == (1, 2)
    assert fns["coalesce"].signature == "coalesce(x, ...)" and fns["coalesce"].max_args is None
    assert [f.name for f in fns.values() if f.population] == [
        "percent_rank",
        "ntile",
        "percent_rank_by",
        "ntile_by",
    ]
    assert [f.name for f in fns.values() if not f.row_level] == [
        "percent_rank",
        "ntile",
        "percent_rank_by",
        "ntile_by",
        "was_in_segment",
        "in_segment",
    ]
