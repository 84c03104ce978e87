"""Hand-written DuckDB SQL computing the same traits and memberships as segmentum on bench/definitions.yml.

Written for speed: one scan per source table with FILTER aggregates, one window pass for the population
functions (scores, cumulative revenue, percent rank), then the memberships. `$as_of` is the run's as_of.
"""

from __future__ import annotations

from typing import Any

TRAITS = """
CREATE OR REPLACE TABLE segmentum.bench_sql_traits AS
WITH o AS (
    SELECT customer_id, order_id, ordered_at, amount, status, channel,
           amount >= 0 AND (status IS NULL OR lower(status) NOT IN ('cancelled', 'returned')) AS q
    FROM main.orders WHERE ordered_at <= $as_of
), gaps AS (
    -- the gap before each order matters only for customers with an order in the last 90 days
    SELECT customer_id, max(gap) FILTER (ordered_at > $as_of - INTERVAL 90 DAY) AS recent_gap
    FROM (
        SELECT customer_id, ordered_at, date_diff('day',
               lag(ordered_at) OVER (PARTITION BY customer_id ORDER BY ordered_at, order_id)::DATE,
               ordered_at::DATE) AS gap
        FROM o
        WHERE q AND customer_id IN (SELECT customer_id FROM o WHERE q AND ordered_at > $as_of - INTERVAL 90 DAY)
    ) GROUP BY customer_id
), ord AS (
    SELECT customer_id,
        max(ordered_at) FILTER (q) AS last_at,
        min(ordered_at) FILTER (q) AS first_at,
        count(*) FILTER (q) AS frequency,
        sum(amount) FILTER (q) AS gross,
        sum(amount) FILTER (amount < 0) AS refunds,
        sum(amount) FILTER (q AND ordered_at > $as_of - INTERVAL 365 DAY) AS rev365,
        sum(amount) FILTER (q AND ordered_at > $as_of - INTERVAL 90 DAY) AS rev90,
        count(*) FILTER (q AND ordered_at > $as_of - INTERVAL 90 DAY) AS n90,
        count(*) FILTER (q AND ordered_at > $as_of - INTERVAL 180 DAY
                           AND ordered_at <= $as_of - INTERVAL 90 DAY) AS nprev90,
        avg(amount) FILTER (q) AS avg_order,
        max(amount) FILTER (q) AS max_order,
        count(DISTINCT channel) FILTER (q) AS channels,
        count(*) FILTER (status = 'cancelled') AS cancelled,
        count(*) FILTER (q AND channel = 'web' AND ordered_at > $as_of - INTERVAL 365 DAY) AS web365
    FROM o GROUP BY customer_id
), cat AS (
    SELECT i.customer_id, i.category, count(*) AS n,
           sum(i.quantity) FILTER (i.ordered_at > $as_of - INTERVAL 365 DAY) AS qty365
    FROM main.order_items i
    WHERE i.ordered_at <= $as_of AND i.order_id IN (SELECT order_id FROM o WHERE q)
    GROUP BY ALL
), it AS (
    SELECT customer_id, sum(qty365) AS items365, count(category) AS categories,
           arg_min(category, (-n, category)) FILTER (category IS NOT NULL) AS top_category
    FROM cat GROUP BY customer_id
), ev AS (
    SELECT customer_id,
        count(*) FILTER (event = 'cart_add' AND occurred_at > $as_of - INTERVAL 30 DAY) AS cart30,
        count(*) FILTER (event = 'page_view' AND occurred_at > $as_of - INTERVAL 30 DAY) AS pv30,
        max(occurred_at) AS last_event
    FROM main.events WHERE occurred_at <= $as_of GROUP BY customer_id
), base AS (
    SELECT c.customer_id, c.country,
        ord.last_at, ord.first_at, coalesce(ord.frequency, 0) AS frequency, ord.gross, ord.refunds,
        gaps.recent_gap, ord.rev365, ord.rev90, coalesce(ord.n90, 0) AS n90,
        coalesce(ord.nprev90, 0) AS nprev90, ord.avg_order::DOUBLE AS avg_order, ord.max_order,
        coalesce(ord.channels, 0) AS channels, coalesce(ord.cancelled, 0) AS cancelled,
        coalesce(ord.web365, 0) AS web365, it.items365, coalesce(it.categories, 0) AS categories,
        it.top_category, coalesce(ev.cart30, 0) AS cart30, coalesce(ev.pv30, 0) AS pv30, ev.last_event,
        date_diff('day', ord.last_at::DATE, $as_of::DATE) AS days_last,
        date_diff('day', ord.first_at::DATE, $as_of::DATE) AS days_first
    FROM main.customers c
    LEFT JOIN ord USING (customer_id) LEFT JOIN gaps USING (customer_id) LEFT JOIN it USING (customer_id) LEFT JOIN ev USING (customer_id)
    WHERE c.created_at IS NULL OR c.created_at <= $as_of
), scored AS (
    SELECT *,
        CASE WHEN frequency > 0 THEN 1 + least(4, (5 * (rank() OVER (PARTITION BY frequency > 0 ORDER BY days_last DESC) - 1))
            // count(*) OVER (PARTITION BY frequency > 0)) END AS score_r,
        CASE WHEN frequency > 0 THEN 1 + least(4, (5 * (rank() OVER (PARTITION BY frequency > 0 ORDER BY frequency) - 1))
            // count(*) OVER (PARTITION BY frequency > 0)) END AS score_f,
        CASE WHEN frequency > 0 THEN 1 + least(4, (5 * (rank() OVER (PARTITION BY frequency > 0 ORDER BY gross) - 1))
            // count(*) OVER (PARTITION BY frequency > 0)) END AS score_m,
        coalesce(sum(coalesce(gross, 0)) OVER (ORDER BY coalesce(gross, 0) DESC, customer_id
                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::DECIMAL(38, 6) AS abc_before,
        sum(gross) OVER () AS abc_total,
        CASE WHEN rev365 IS NOT NULL THEN percent_rank() OVER (PARTITION BY rev365 IS NULL ORDER BY rev365) END
            AS spend_rank
    FROM base
)
SELECT customer_id,
    last_at AS rfm_last_order_at, frequency AS rfm_frequency, gross AS rfm_gross, refunds AS rfm_refunds,
    gross AS abc_revenue, first_at AS lc_first_order_at, last_at AS lc_last_order_at, recent_gap AS lc_recent_gap,
    rev365 AS b_revenue_365d, rev90 AS b_revenue_90d, frequency AS b_orders_total, n90 AS b_orders_90d,
    nprev90 AS b_orders_prev_90d, avg_order AS b_avg_order, max_order AS b_max_order,
    first_at AS b_first_order_at, last_at AS b_last_order_at, channels AS b_channels, cancelled AS b_cancelled,
    web365 AS b_web_orders_365d, items365 AS b_items_365d, categories AS b_categories,
    top_category AS b_top_category, cart30 AS b_cart_adds_30d, pv30 AS b_page_views_30d,
    last_event AS b_last_event_at, days_last AS rfm_recency,
    score_f AS rfm_f,
    gross AS rfm_monetary, abc_before AS abc_revenue_before, abc_total AS abc_revenue_total,
    days_first AS lc_days_since_first, days_last AS lc_days_since_last, spend_rank AS b_spend_rank,
    days_last AS b_days_since_order,
    score_r AS rfm_r,
    score_f AS rfm_f5,
    score_m AS rfm_m,
    score_r AS rfm_r5,
    score_r * 100 + score_f * 10 + score_m AS rfm_score,
    country
FROM scored
"""

MEMBERSHIPS = """
CREATE OR REPLACE TABLE segmentum.bench_sql_memberships AS
WITH t AS (SELECT * FROM segmentum.bench_sql_traits), seg AS (
    SELECT customer_id,
        CASE WHEN rfm_frequency = 0 THEN 'no_purchase'
             WHEN rfm_r5 = 5 AND rfm_f5 >= 4 THEN 'champions'
             WHEN rfm_r5 BETWEEN 3 AND 4 AND rfm_f5 >= 4 THEN 'loyal_customers'
             WHEN rfm_r5 >= 4 AND rfm_f5 BETWEEN 2 AND 3 THEN 'potential_loyalists'
             WHEN rfm_r5 = 5 AND rfm_f5 = 1 THEN 'new_customers'
             WHEN rfm_r5 = 4 AND rfm_f5 = 1 THEN 'promising'
             WHEN rfm_r5 = 3 AND rfm_f5 = 3 THEN 'need_attention'
             WHEN rfm_r5 = 3 AND rfm_f5 <= 2 THEN 'about_to_sleep'
             WHEN rfm_r5 <= 2 AND rfm_f5 = 5 THEN 'cant_lose'
             WHEN rfm_r5 <= 2 AND rfm_f5 BETWEEN 3 AND 4 THEN 'at_risk'
             ELSE 'hibernating' END AS rfm,
        CASE WHEN abc_revenue IS NULL OR abc_revenue <= 0 THEN 'none'
             WHEN 100 * abc_revenue_before < 80 * abc_revenue_total THEN 'A'
             WHEN 100 * abc_revenue_before < 95 * abc_revenue_total THEN 'B'
             ELSE 'C' END AS abc,
        CASE WHEN lc_last_order_at IS NULL THEN 'prospect'
             WHEN lc_days_since_first <= 30 THEN 'new'
             WHEN lc_recent_gap > 180 THEN 'reactivated'
             WHEN lc_days_since_last <= 90 THEN 'active'
             WHEN lc_days_since_last <= 180 THEN 'at_risk'
             WHEN lc_days_since_last <= 365 THEN 'lapsed'
             ELSE 'churned' END AS lifecycle,
        coalesce(b_revenue_365d >= 20000, false) AS b_big_spenders,
        coalesce(b_spend_rank >= 0.8, false) AS b_top_20_percent,
        coalesce(b_orders_prev_90d >= 2 AND b_orders_90d <= b_orders_prev_90d / 2, false) AS b_slowing_down,
        coalesce(b_cart_adds_30d > 0 AND b_orders_90d = 0, false) AS b_cart_abandoners,
        coalesce(b_channels >= 2, false) AS b_multi_channel,
        coalesce(b_page_views_30d >= 5 AND b_orders_90d = 0, false) AS b_browsers,
        coalesce(b_orders_total >= 10, false) AS b_frequent,
        coalesce(b_web_orders_365d >= 3, false) AS b_web_shoppers,
        coalesce(b_days_since_order > 180, false) OR b_last_order_at IS NULL AS b_dormant,
        coalesce(country IN ('UA', 'PL') AND b_avg_order >= 3000, false) AS b_local_high_basket
    FROM t
)
SELECT customer_id, 'rfm' AS segmentation, rfm AS segment FROM seg
UNION ALL SELECT customer_id, 'abc', abc FROM seg
UNION ALL SELECT customer_id, 'lifecycle', lifecycle FROM seg
UNION ALL SELECT customer_id, NULL, 'b_big_spenders' FROM seg WHERE b_big_spenders
UNION ALL SELECT customer_id, NULL, 'b_top_20_percent' FROM seg WHERE b_top_20_percent
UNION ALL SELECT customer_id, NULL, 'b_slowing_down' FROM seg WHERE b_slowing_down
UNION ALL SELECT customer_id, NULL, 'b_cart_abandoners' FROM seg WHERE b_cart_abandoners
UNION ALL SELECT customer_id, NULL, 'b_multi_channel' FROM seg WHERE b_multi_channel
UNION ALL SELECT customer_id, NULL, 'b_browsers' FROM seg WHERE b_browsers
UNION ALL SELECT customer_id, NULL, 'b_frequent' FROM seg WHERE b_frequent
UNION ALL SELECT customer_id, NULL, 'b_web_shoppers' FROM seg WHERE b_web_shoppers
UNION ALL SELECT customer_id, NULL, 'b_dormant' FROM seg WHERE b_dormant
UNION ALL SELECT customer_id, NULL, 'b_local_high_basket' FROM seg WHERE b_local_high_basket
"""


def run(con: Any, as_of: str) -> None:
    """Compute `segmentum.bench_sql_traits` and `segmentum.bench_sql_memberships` in one transaction."""
    con.execute("BEGIN")
    con.execute(TRAITS.replace("$as_of", f"TIMESTAMP '{as_of}'"))
    con.execute(MEMBERSHIPS)
    con.execute("COMMIT")


# (traits, memberships) as queries, in segmentum's column names (bench.run copies them to Parquet)
OUTPUTS = (
    "SELECT * EXCLUDE (country) FROM segmentum.bench_sql_traits",
    "SELECT customer_id, segmentation, segment, "
    "coalesce(segmentation || '.', '') || segment AS name FROM segmentum.bench_sql_memberships",
)
