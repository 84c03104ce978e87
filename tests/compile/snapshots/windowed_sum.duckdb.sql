SELECT
  *
FROM (
  SELECT
    "t33"."customer_id",
    "t28"."revenue_365d"
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
          "t26"."customer_id",
          "t26"."first_seen_at" AS "__first_seen_at"
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
        ) AS "t26"
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
      SUM("t24"."amount") FILTER(WHERE
        "t24"."ordered_at" > MAKE_TIMESTAMP(2023, 7, 1, 23, 59, 59.999999)) AS "revenue_365d"
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
        AND "t0"."ordered_at" > MAKE_TIMESTAMP(2023, 7, 1, 23, 59, 59.999999)
    ) AS "t24"
    GROUP BY
      1
  ) AS "t28"
    ON "t33"."customer_id" = "t28"."customer_id"
) AS "t34"
