SELECT
  "t8"."customer_id",
  "t8"."revenue",
  "t8"."__pop_85104b9afdee",
  COALESCE("t8"."__pop_85104b9afdee" >= CAST(0.8 AS DECIMAL(38, 1)), FALSE)
  AND COALESCE(
    (
      CAST("t8"."revenue" AS DOUBLE) / CASE WHEN CAST(2 AS DOUBLE) = 0 THEN CAST(NULL AS DOUBLE) ELSE CAST(2 AS DOUBLE) END
    ) > 10,
    FALSE
  ) AS "__seg__top"
FROM (
  SELECT
    "t7"."customer_id",
    "t7"."revenue",
    CASE
      WHEN "t7"."revenue" IS NULL
      THEN CAST(NULL AS DOUBLE)
      ELSE CASE
        WHEN COUNT("t7"."revenue") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) <= 1
        THEN 0.0
        ELSE CAST(RANK() OVER (
          PARTITION BY "t7"."revenue" IS NULL
          ORDER BY "t7"."revenue" ASC
          ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
        ) - 1 AS DOUBLE) / CASE
          WHEN COUNT("t7"."revenue") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) <= 1
          THEN CAST(NULL AS DOUBLE)
          ELSE CAST(COUNT("t7"."revenue") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) - 1 AS DOUBLE)
        END
      END
    END AS "__pop_85104b9afdee"
  FROM (
    SELECT
      "t3"."customer_id",
      "t6"."revenue"
    FROM (
      SELECT
        "t0"."customer_id"
      FROM "customers" AS "t0"
      WHERE
        (
          "t0"."created_at" IS NULL
        )
        OR (
          "t0"."created_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
        )
    ) AS "t3"
    LEFT OUTER JOIN (
      SELECT
        "t4"."customer_id",
        SUM("t4"."amount") AS "revenue"
      FROM (
        SELECT
          *
        FROM "orders" AS "t1"
        WHERE
          "t1"."ordered_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
          AND "t1"."amount" >= 0
          AND (
            (
              "t1"."status" IS NULL
            )
            OR NOT (
              LOWER("t1"."status") IN ('cancelled', 'returned')
            )
          )
      ) AS "t4"
      GROUP BY
        1
    ) AS "t6"
      ON "t3"."customer_id" = "t6"."customer_id"
  ) AS "t7"
) AS "t8"
