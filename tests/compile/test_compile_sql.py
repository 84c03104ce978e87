"""Compiled SQL snapshots per engine (set SEGMENTUM_UPDATE_SNAPSHOTS=1 to rewrite them after a deliberate change)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import ibis
import pytest

from definitions_helpers import load_definitions
from segmentum.compile.compiler import compile_run
from segmentum.compile.expressions import UnsupportedExpressionError
from segmentum.engine.spark import SparkEngine
from segmentum.schema import TABLES

SNAPSHOTS = Path(__file__).parent / "snapshots"
AS_OF = datetime(2024, 6, 30, 23, 59, 59, 999999)
CASES = {
    "windowed_sum": "traits:\n  revenue_365d: {sum: orders.amount, within: 365d}\n",
    "segment_with_rank": (
        "traits:\n  revenue: {sum: orders.amount}\n"
        'segments:\n  top: {where: "percent_rank(revenue) >= 0.8 and revenue / 2 > 10"}\n'
    ),
    "segmentation_mode_events": (
        "traits:\n  cat: {mode: order_items.category, within: 90d}\n"
        "  adds: {count: events, where: \"event = 'cart_add' and properties.value > 5\", between: [14d, 7d]}\n"
        "segmentations:\n  s:\n    segments:\n      - {name: a, where: \"cat = 'x'\"}\n"
        '      - {name: b, where: "adds > 0"}\n    else: c\n'
    ),
}


def _tables() -> dict[str, ibis.Table]:
    out = {}
    for name, spec in TABLES.items():
        schema = {c: _ibis_type(t) for c, t in spec.columns.items()}
        out[name] = ibis.table(schema, name=name)
    return out


def _ibis_type(kind: str) -> str:
    return {
        "VARCHAR": "string",
        "TIMESTAMP": "timestamp",
        "DECIMAL(38, 6)": "decimal(38, 6)",
        "BIGINT": "int64",
        "DOUBLE": "float64",
        "BOOLEAN": "boolean",
        "DATE": "date",
        "JSON": "json",
        "VARCHAR[]": "array<string>",
    }[kind]


@pytest.mark.parametrize("dialect", ["duckdb", "pyspark"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_compiled_sql_matches_the_snapshot(case, dialect):
    read_property = SparkEngine.read_property if dialect == "pyspark" else None
    if dialect == "pyspark":
        _ = ibis.pyspark  # loading the backend registers the compiler's options
    tables = _tables()
    if dialect == "pyspark":
        tables["events"] = tables["events"].mutate(properties=tables["events"].properties.cast("string"))
    compiled = compile_run(
        load_definitions(CASES[case]),
        tables,
        AS_OF,
        read_property=read_property,
        narrow_windows=dialect == "duckdb",  # as each engine compiles (`Engine.narrow_windows`)
    )
    sql = str(ibis.to_sql(compiled.expr, dialect=dialect)).strip() + "\n"
    path = SNAPSHOTS / f"{case}.{dialect}.sql"
    if os.environ.get("SEGMENTUM_UPDATE_SNAPSHOTS") or not path.exists():
        path.write_text(sql)
    assert sql == path.read_text()


def test_one_grouped_pass_per_table():
    text = (
        'traits:\n  a: {sum: orders.amount, within: 30d}\n  b: {count: orders, where: "amount > 5"}\n'
        "  c: {max: orders.ordered_at}\n  d: {count: events}\n"
    )
    tables = {n: t for n, t in _tables().items() if n in ("customers", "orders", "events")}
    sql = str(ibis.to_sql(compile_run(load_definitions(text), tables, AS_OF).expr, dialect="duckdb"))
    # each table: one pass for all its aggregates, one for its customers' first_seen_at (DESIGN.md section 4)
    assert sql.count('FROM "orders"') == 2 and sql.count('FROM "events"') == 2
    # the aggregates of orders and of events, first seen in customers, orders and events, and over the three
    assert sql.upper().count("GROUP BY") == 2 + 3 + 1


def test_an_unknown_node_raises_a_named_error():
    from dataclasses import dataclass

    from segmentum.compile.expressions import ExprCompiler
    from segmentum.spec import ast

    @dataclass(frozen=True)
    class Strange(ast.Node):
        pass

    with pytest.raises(UnsupportedExpressionError, match="Strange"):
        ExprCompiler(scope=None).value(Strange(pos=3))  # type: ignore[arg-type]
