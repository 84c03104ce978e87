"""Online Retail II (shared real data): the built-ins give identical memberships on DuckDB and Spark."""

from __future__ import annotations

import pytest

from segmentum.runs.execute import run

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def _load_online_retail(ws, path) -> None:
    """A small direct load (the ingest helper's code is tested on its own): lines -> order_items -> orders."""
    con = ws.store.cursor()
    src = f"read_parquet('{path}')"
    con.execute(f"""
        CREATE OR REPLACE TABLE main.order_items AS
        SELECT CAST(Invoice AS VARCHAR) AS order_id,
               CAST(row_number() OVER (PARTITION BY Invoice ORDER BY InvoiceDate) AS BIGINT) AS line,
               regexp_replace(CAST(CAST("Customer ID" AS BIGINT) AS VARCHAR), '\\.0$', '') AS customer_id,
               CAST(InvoiceDate AS TIMESTAMP) AS ordered_at, CAST(StockCode AS VARCHAR) AS product_id,
               CAST(Quantity AS DECIMAL(38, 6)) AS quantity, CAST(Price AS DECIMAL(38, 6)) AS unit_price,
               CAST(Description AS VARCHAR) AS product_name
        FROM {src} WHERE "Customer ID" IS NOT NULL""")
    con.execute("""
        CREATE OR REPLACE TABLE main.orders AS
        SELECT order_id, any_value(customer_id) AS customer_id, min(ordered_at) AS ordered_at,
               CAST(sum(round(quantity * unit_price, 6)) AS DECIMAL(38, 6)) AS amount,
               CAST(NULL AS VARCHAR) AS status
        FROM main.order_items GROUP BY order_id""")
    con.execute(f"""
        CREATE OR REPLACE TABLE main.customers AS
        SELECT customer_id, any_value(country) AS country FROM (
            SELECT regexp_replace(CAST(CAST("Customer ID" AS BIGINT) AS VARCHAR), '\\.0$', '') AS customer_id,
                   CAST(Country AS VARCHAR) AS country FROM {src} WHERE "Customer ID" IS NOT NULL)
        GROUP BY customer_id""")


@pytest.mark.spark
def test_online_retail_builtins_identical_on_duckdb_and_spark(make_ws, shared_data):
    ws = make_ws(
        """
traits:
  revenue_90d: {sum: orders.amount, within: 90d}
  top_product: {mode: order_items.product_id, within: 365d}
segments:
  top_decile: {where: "percent_rank(revenue_90d) >= 0.9"}
""",
        builtins=["rfm", "abc", "lifecycle"],
    )
    _load_online_retail(ws, shared_data / "online_retail_ii_2009_2010.parquet")
    duck = run(ws, as_of="latest", engine="duckdb")
    spark = run(ws, as_of="latest", engine="spark")
    assert str(duck.as_of) == "2010-12-09 23:59:59.999999"
    a, b = duck.memberships(), spark.memberships()
    assert len(a) == len(b) > 4000 * 3  # 4,383 customers in 3 segmentations + a standalone segment
    assert a.equals(b)
    ta, tb = duck.traits(), spark.traits()
    assert ta[["customer_id", "rfm_r", "rfm_f", "rfm_m", "abc_revenue_before", "top_product"]].equals(
        tb[["customer_id", "rfm_r", "rfm_f", "rfm_m", "abc_revenue_before", "top_product"]]
    )
    sizes = duck.sizes.set_index("name")["customers"]
    # every customer in exactly one segment of each segmentation
    for segmentation in ("rfm", "abc", "lifecycle"):
        assert sizes[[n for n in sizes.index if n.startswith(segmentation + ".")]].sum() == duck.customers
