SELECT
  "t32"."customer_id",
  "t32"."revenue",
  "t32"."__pop_85104b9afdee",
  COALESCE("t32"."__pop_85104b9afdee" >= CAST(0.8 AS DECIMAL(38, 1)), FALSE)
  AND COALESCE(
    (
      CAST("t32"."revenue" AS DOUBLE) / CASE WHEN CAST(2 AS DOUBLE) = 0 THEN CAST(NULL AS DOUBLE) ELSE CAST(2 AS DOUBLE) END
    ) > 10,
    FALSE
  ) AS "__seg__top"
FROM (
  SELECT
    "t31"."customer_id",
    "t31"."revenue",
    CASE
      WHEN "t31"."revenue" IS NULL
      THEN CAST(NULL AS DOUBLE)
      ELSE CASE
        WHEN COUNT("t31"."revenue") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) <= 1
        THEN 0.0
        ELSE CAST(RANK() OVER (
          PARTITION BY "t31"."revenue" IS NULL
          ORDER BY "t31"."revenue" ASC
          ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
        ) - 1 AS DOUBLE) / CASE
          WHEN COUNT("t31"."revenue") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) <= 1
          THEN CAST(NULL AS DOUBLE)
          ELSE CAST(COUNT("t31"."revenue") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) - 1 AS DOUBLE)
        END
      END
    END AS "__pop_85104b9afdee"
  FROM (
    SELECT
      "t30"."customer_id",
      "t25"."revenue"
    FROM (
      SELECT
        "t28"."customer_id"
      FROM (
        SELECT
          "t9"."customer_id",
          "t27"."customer_id" AS "customer_id_right",
          "t27"."__first_seen_at"
        FROM (
          SELECT
            "t1"."customer_id"
          FROM "customers" AS "t1"
        ) AS "t9"
        LEFT OUTER JOIN (
          SELECT
            "t24"."customer_id",
            "t24"."first_seen_at" AS "__first_seen_at"
          FROM (
            SELECT
              "t22"."customer_id",
              MIN("t22"."seen_at") AS "first_seen_at"
            FROM (
              SELECT
                *
              FROM (
                SELECT
                  *
                FROM (
                  SELECT
                    "t2"."customer_id",
                    MIN("t2"."started_at") AS "seen_at"
                  FROM "subscriptions" AS "t2"
                  GROUP BY
                    1
                ) AS "t11"
                UNION ALL
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
                  ) AS "t10"
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
                  ) AS "t8"
                ) AS "t16"
              ) AS "t19"
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
                      "t3"."customer_id",
                      MIN("t3"."ordered_at") AS "seen_at"
                    FROM "order_items" AS "t3"
                    GROUP BY
                      1
                  ) AS "t12"
                  UNION ALL
                  SELECT
                    *
                  FROM (
                    SELECT
                      "t4"."customer_id",
                      MIN("t4"."occurred_at") AS "seen_at"
                    FROM "events" AS "t4"
                    GROUP BY
                      1
                  ) AS "t13"
                ) AS "t17"
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    *
                  FROM (
                    SELECT
                      "t5"."customer_id",
                      MIN("t5"."answered_at") AS "seen_at"
                    FROM "responses" AS "t5"
                    GROUP BY
                      1
                  ) AS "t14"
                  UNION ALL
                  SELECT
                    *
                  FROM (
                    SELECT
                      "t6"."customer_id",
                      MIN("t6"."opened_at") AS "seen_at"
                    FROM "tickets" AS "t6"
                    GROUP BY
                      1
                  ) AS "t15"
                ) AS "t18"
              ) AS "t20"
            ) AS "t22"
            GROUP BY
              1
          ) AS "t24"
        ) AS "t27"
          ON "t9"."customer_id" = "t27"."customer_id"
      ) AS "t28"
      WHERE
        (
          "t28"."__first_seen_at" IS NULL
        )
        OR (
          "t28"."__first_seen_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
        )
    ) AS "t30"
    LEFT OUTER JOIN (
      SELECT
        "t21"."customer_id",
        SUM("t21"."amount") AS "revenue"
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
      ) AS "t21"
      GROUP BY
        1
    ) AS "t25"
      ON "t30"."customer_id" = "t25"."customer_id"
  ) AS "t31"
) AS "t32"
