SELECT
  "t35"."customer_id",
  "t35"."revenue",
  "t35"."__pop_85104b9afdee",
  COALESCE("t35"."__pop_85104b9afdee" >= CAST(0.8 AS DECIMAL(38, 1)), FALSE)
  AND COALESCE(
    (
      CAST("t35"."revenue" AS DOUBLE) / CASE WHEN CAST(2 AS DOUBLE) = 0 THEN CAST(NULL AS DOUBLE) ELSE CAST(2 AS DOUBLE) END
    ) > 10,
    FALSE
  ) AS "__seg__top"
FROM (
  SELECT
    "t34"."customer_id",
    "t34"."revenue",
    CASE
      WHEN "t34"."revenue" IS NULL
      THEN CAST(NULL AS DOUBLE)
      ELSE CASE
        WHEN COUNT("t34"."revenue") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) <= 1
        THEN 0.0
        ELSE CAST(RANK() OVER (
          PARTITION BY "t34"."revenue" IS NULL
          ORDER BY "t34"."revenue" ASC
          ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
        ) - 1 AS DOUBLE) / CASE
          WHEN COUNT("t34"."revenue") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) <= 1
          THEN CAST(NULL AS DOUBLE)
          ELSE CAST(COUNT("t34"."revenue") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) - 1 AS DOUBLE)
        END
      END
    END AS "__pop_85104b9afdee"
  FROM (
    SELECT
      "t33"."customer_id",
      "t28"."revenue"
    FROM (
      SELECT
        "t31"."customer_id"
      FROM (
        SELECT
          "t10"."customer_id",
          "t30"."customer_id" AS "customer_id_right",
          "t30"."__first_seen_at"
        FROM (
          SELECT
            "t1"."customer_id"
          FROM "customers" AS "t1"
        ) AS "t10"
        LEFT OUTER JOIN (
          SELECT
            "t27"."customer_id",
            "t27"."first_seen_at" AS "__first_seen_at"
          FROM (
            SELECT
              "t25"."customer_id",
              MIN("t25"."seen_at") AS "first_seen_at"
            FROM (
              SELECT
                *
              FROM (
                SELECT
                  *
                FROM (
                  SELECT
                    *
                  FROM (
                    SELECT
                      "t1"."customer_id",
                      MIN("t1"."created_at") AS "seen_at"
                    FROM "customers" AS "t1"
                    GROUP BY
                      1
                  ) AS "t11"
                  UNION ALL
                  SELECT
                    *
                  FROM (
                    SELECT
                      "t0"."customer_id",
                      MIN("t0"."ordered_at") AS "seen_at"
                    FROM "orders" AS "t0"
                    GROUP BY
                      1
                  ) AS "t9"
                ) AS "t18"
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    *
                  FROM (
                    SELECT
                      "t2"."customer_id",
                      MIN("t2"."ordered_at") AS "seen_at"
                    FROM "order_items" AS "t2"
                    GROUP BY
                      1
                  ) AS "t12"
                  UNION ALL
                  SELECT
                    *
                  FROM (
                    SELECT
                      "t3"."customer_id",
                      MIN("t3"."occurred_at") AS "seen_at"
                    FROM "events" AS "t3"
                    GROUP BY
                      1
                  ) AS "t13"
                ) AS "t19"
              ) AS "t22"
              UNION ALL
              SELECT
                *
              FROM (
                SELECT
                  *
                FROM (
                  SELECT
                    *
                  FROM (
                    SELECT
                      "t4"."customer_id",
                      MIN("t4"."answered_at") AS "seen_at"
                    FROM "responses" AS "t4"
                    GROUP BY
                      1
                  ) AS "t14"
                  UNION ALL
                  SELECT
                    *
                  FROM (
                    SELECT
                      "t5"."customer_id",
                      MIN("t5"."opened_at") AS "seen_at"
                    FROM "tickets" AS "t5"
                    GROUP BY
                      1
                  ) AS "t15"
                ) AS "t20"
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    *
                  FROM (
                    SELECT
                      "t6"."customer_id",
                      MIN("t6"."started_at") AS "seen_at"
                    FROM "subscriptions" AS "t6"
                    GROUP BY
                      1
                  ) AS "t16"
                  UNION ALL
                  SELECT
                    *
                  FROM (
                    SELECT
                      "t7"."customer_id",
                      MIN("t7"."changed_at") AS "seen_at"
                    FROM "customer_changes" AS "t7"
                    GROUP BY
                      1
                  ) AS "t17"
                ) AS "t21"
              ) AS "t23"
            ) AS "t25"
            GROUP BY
              1
          ) AS "t27"
        ) AS "t30"
          ON "t10"."customer_id" = "t30"."customer_id"
      ) AS "t31"
      WHERE
        (
          "t31"."__first_seen_at" IS NULL
        )
        OR (
          "t31"."__first_seen_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
        )
    ) AS "t33"
    LEFT OUTER JOIN (
      SELECT
        "t24"."customer_id",
        SUM("t24"."amount") AS "revenue"
      FROM (
        SELECT
          *
        FROM "orders" AS "t0"
        WHERE
          "t0"."ordered_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
          AND "t0"."amount" >= 0
          AND (
            (
              "t0"."status" IS NULL
            )
            OR NOT (
              LOWER("t0"."status") IN ('cancelled', 'returned')
            )
          )
      ) AS "t24"
      GROUP BY
        1
    ) AS "t28"
      ON "t33"."customer_id" = "t28"."customer_id"
  ) AS "t34"
) AS "t35"
