"""The expression parser: precedence, literals, errors with positions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segmentum.spec import ast
from segmentum.spec.expr import ExpressionSyntaxError, parse_expression


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        ("a or b and not c", "(a or (b and not c))"),
        ("a + b * c - d / 2", "((a + (b * c)) - (d / 2))"),
        ("x between 1 and 2 and y", "(x between 1 and 2 and y)"),
        ("x not in ('a', 'b''c')", "x not in ('a', 'b''c')"),
        ("x IS NOT NULL", "x is not null"),
        ("name not like 'A%'", "name not like 'A%'"),
        ("percent_rank(r) >= 0.8", "(percent_rank(r) >= 0.8)"),
        ("x <> 1", "(x != 1)"),
        ("-(a)", "-a"),
    ],
)
def test_precedence_and_rendering(text: str, rendered: str) -> None:
    assert ast.to_text(parse_expression(text)) == rendered


def test_decimal_literals_are_exact() -> None:
    node = parse_expression("0.1")
    assert isinstance(node, ast.Literal) and node.value == Decimal("0.1")


def test_properties_key() -> None:
    node = parse_expression("properties.cart_id = 'x'")
    assert isinstance(node, ast.Binary) and node.left == ast.Property(0, "cart_id")


@pytest.mark.parametrize(
    ("text", "pos", "message"),
    [
        ("a >", 3, "expected a value"),
        ('a = "x"', 4, "single quotes"),
        ("(a", 2, "expected ')'"),
        ("a ? b", 2, "unexpected character"),
        ("orders.amount > 1", 0, "only 'properties.KEY'"),
        ("", 0, "empty"),
    ],
)
def test_errors_carry_the_offset(text: str, pos: int, message: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as exc:
        parse_expression(text)
    assert exc.value.pos == pos and message in exc.value.message


@given(st.text(max_size=40))
def test_any_text_parses_or_raises_a_syntax_error(text: str) -> None:
    try:
        parse_expression(text)
    except ExpressionSyntaxError as exc:
        assert 0 <= exc.pos <= len(text)


@given(
    st.recursive(
        st.sampled_from(["a", "b", "1", "2.5", "'s'", "null"]),
        lambda inner: st.tuples(
            inner, st.sampled_from(["+", "-", "*", "/", "=", "<", "and", "or"]), inner
        ).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        max_leaves=8,
    )
)
def test_rendering_round_trips(text: str) -> None:
    node = parse_expression(text)
    assert ast.to_text(parse_expression(ast.to_text(node))) == ast.to_text(node)
