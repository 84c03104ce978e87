"""`RunCompiler(narrow_windows=True)` (DuckDB's): the values over the whole population are computed first on a
narrow copy of the customer table and joined back. The traits and segments are those of the plain compile,
and the customer table is computed once, not once per copy."""

from __future__ import annotations

from datetime import datetime

import ibis

from definitions_helpers import load_definitions
from segmentum.compile.compiler import compile_run
from segmentum.schema import TABLES

AS_OF = datetime(2024, 6, 30, 23, 59, 59, 999999)
# a score, a cumulative share, a total, a percent_rank in a trait and in a segment, a derived trait read by a
# window (recency) and one reading a window (combined), and a segment over in_segment
DEFINITIONS = """
traits:
  spend: {sum: orders.amount}
  orders_n: {count: orders}
  last_at: {max: orders.ordered_at}
  recency: {expr: "days_between(last_at, as_of)"}
  r: {score: recency, bins: 3, descending: true, where: "orders_n > 0"}
  f: {score: orders_n, bins: 3}
  ahead: {cumulative: spend, order: desc}
  all_spend: {total: spend}
  spend_rank: {expr: "percent_rank(spend)"}
  combined: {expr: "coalesce(r, 0) * 10 + coalesce(f, 0)"}
segments:
  top: {where: "percent_rank(orders_n) >= 0.5 and spend > 0"}
  big: {where: "ahead < all_spend * 0.8"}
  top_and_big: {where: "in_segment('top') and in_segment('big')"}
segmentations:
  tier:
    segments:
      - {name: gold, where: "combined >= 30"}
      - {name: ranked, where: "spend_rank >= 0.5"}
    else: rest
"""


def _store() -> tuple[ibis.BaseBackend, dict[str, ibis.Table]]:
    con = ibis.duckdb.connect()
    for name in ("customers", "orders"):
        columns = ", ".join(f'"{c}" {kind}' for c, kind in TABLES[name].columns.items())
        con.raw_sql(f"CREATE TABLE {name} ({columns})")
    # ties in spend and counts, a customer without orders, one with a null amount only
    con.raw_sql(
        "INSERT INTO customers (customer_id, created_at, country) SELECT 'c' || lpad(i::VARCHAR, 2, '0'), "
        "TIMESTAMP '2023-01-01', CASE WHEN i % 3 = 0 THEN 'UA' END FROM range(20) t(i)"
    )
    con.raw_sql(
        "INSERT INTO orders (order_id, customer_id, ordered_at, amount) "
        "SELECT 'o' || i, 'c' || lpad((i % 17)::VARCHAR, 2, '0'), TIMESTAMP '2024-01-01' + INTERVAL (i * 3) DAY, "
        "CASE WHEN i = 5 THEN NULL ELSE ((i * 37) % 7) * 10 END FROM range(60) t(i)"
    )
    return con, {name: con.table(name) for name in ("customers", "orders")}


def test_the_narrow_compile_gives_the_plain_compiles_values():
    con, tables = _store()
    defs = load_definitions(DEFINITIONS)
    narrow = compile_run(defs, tables, AS_OF, narrow_windows=True)
    plain = compile_run(defs, tables, AS_OF)
    assert narrow.expr.columns == plain.expr.columns
    got, want = (con.to_pandas(c.expr).sort_values("customer_id", ignore_index=True) for c in (narrow, plain))
    assert len(got) == 20
    assert got.equals(want), got.compare(want)
    # the windows are over the customers, not a subset: every score and the segment's percent_rank are there
    assert got["f"].notna().all() and set(got["r"].dropna()) == {1, 2, 3}


def test_the_customer_table_is_computed_once():
    _, tables = _store()
    defs = load_definitions(DEFINITIONS)
    narrow = ibis.to_sql(compile_run(defs, tables, AS_OF, narrow_windows=True).expr, dialect="duckdb")
    plain = ibis.to_sql(compile_run(defs, tables, AS_OF).expr, dialect="duckdb")
    # the copy reads the customer table through a CTE: as many passes over the orders as the plain compile
    assert narrow.count('FROM "orders"') == plain.count('FROM "orders"')
    assert narrow.upper().count("GROUP BY") == plain.upper().count("GROUP BY")
    assert narrow.upper().count(" OVER ") == plain.upper().count(" OVER ")
