SELECT
  *
FROM (
  SELECT
    "t30"."customer_id",
    "t25"."revenue_365d"
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
          "t23"."customer_id",
          "t23"."first_seen_at" AS "__first_seen_at"
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
        ) AS "t23"
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
      SUM("t21"."amount") FILTER(WHERE
        "t21"."ordered_at" > MAKE_TIMESTAMP(2023, 7, 1, 23, 59, 59.999999)) AS "revenue_365d"
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
    ) AS "t21"
    GROUP BY
      1
  ) AS "t25"
    ON "t30"."customer_id" = "t25"."customer_id"
) AS "t31"
