"""Filters of read models: the definition language compiled against a table's columns, with errors that point at
the character (`filter:1:COL`), and values that stay values."""

from __future__ import annotations

from datetime import datetime

import duckdb
import ibis
import pytest

from segmentum.compile.filters import FilterError, compile_filter, compile_filters, filter_names

AS_OF = datetime(2024, 1, 1)
ROWS = [("c1", "UA", 400, "2023-05-01"), ("c2", "PL", 20, "2023-12-01"), ("c3", "O'Hara", None, None)]


def _table() -> ibis.Table:
    return ibis.table(
        {"customer_id": "string", "country": "string", "spend": "decimal(38, 6)", "seen_at": "timestamp"},
        name="t",
    )


def _ids(*texts: str) -> list[str]:
    """The filters run in DuckDB over ROWS."""
    table = _table()
    sql = ibis.to_sql(table.filter(compile_filters(table, list(texts), as_of=AS_OF)).select("customer_id"))
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t (customer_id VARCHAR, country VARCHAR, spend DECIMAL(38, 6), seen_at TIMESTAMP)"
    )
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", ROWS)
    return sorted(r[0] for r in con.execute(str(sql)).fetchall())


def test_filters_hold_together_with_two_valued_logic() -> None:
    assert _ids("country = 'UA' and spend > 100") == ["c1"]
    assert _ids("country in ('UA', 'PL')", "spend < 100") == ["c2"]
    assert _ids("not spend > 100") == ["c2", "c3"]  # null spend: the comparison is false, its negation true
    assert _ids("spend is null or lower(country) like 'o%'") == ["c3"]
    assert _ids("days_between(seen_at, as_of) <= 31") == ["c2"]
    assert _ids("seen_at < '2023-06-01'") == ["c1"]
    assert _ids() == ["c1", "c2", "c3"]


def test_a_quoted_value_is_matched_as_text() -> None:
    assert _ids("country = 'O''Hara'") == ["c3"]
    assert _ids("country = 'x'' or ''1''=''1'") == []


def test_the_names_a_filter_uses_are_known_before_compiling() -> None:
    assert filter_names(["spend > 1 and country = 'UA'", "clv_12m > 0"]) == {"spend", "country", "clv_12m"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "country = 'UA' and",
            "filter:1:19: expected a value, a name or '(', found the end of the expression",
        ),
        ("contry = 'UA'", "filter:1:1: unknown trait or attribute 'contry'; did you mean 'country'?"),
        ("spend > 'much'", "filter:1:9: 'much' is not a number, and spend is decimal(38, 6)"),
        ('country = "UA"', "filter:1:11: strings take single quotes: write 'UA'"),
        ("percent_rank(spend) > 0.5", "filter:1:1: percent_rank() ranks every customer of a run"),
        ("spnd(1) > 2", "filter:1:1: unknown function 'spnd'"),
        ("properties.cart = 'x'", "filter:1:1: properties.cart reads an event's properties"),
        ("spend", "filter:1:1: 'spend' is used as a condition but is decimal(38, 6)"),
        ("in_segment('nobody')", "filter:1:1: in_segment('nobody'): no segment of that name"),
        ("", "filter:1:1: the filter is empty"),
    ],
)
def test_a_bad_filter_says_where_and_what(text: str, message: str) -> None:
    table = _table()
    with pytest.raises(FilterError) as caught:
        compile_filter(table, text, as_of=datetime(2024, 1, 1), segment=lambda name: None)
    assert str(caught.value).startswith(message), str(caught.value)


def test_the_second_of_several_filters_is_named_as_such() -> None:
    with pytest.raises(FilterError, match=r"^filter\[2\]:1:9: "):
        compile_filters(_table(), ["spend > 1", "spend > "], as_of=AS_OF)
