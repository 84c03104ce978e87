SELECT
  "t42"."customer_id",
  "t42"."cat",
  COALESCE("t42"."adds", 0) AS "adds",
  CASE
    WHEN COALESCE("t42"."cat" = 'x', FALSE)
    THEN 'a'
    WHEN COALESCE(COALESCE("t42"."adds", 0) > 0, FALSE)
    THEN 'b'
    ELSE 'c'
  END AS "__sgm__s"
FROM (
  SELECT
    "t40"."customer_id",
    "t41"."cat",
    "t34"."adds"
  FROM (
    SELECT
      "t36"."customer_id"
    FROM (
      SELECT
        "t11"."customer_id",
        "t33"."customer_id" AS "customer_id_right",
        "t33"."__first_seen_at"
      FROM (
        SELECT
          "t1"."customer_id"
        FROM "customers" AS "t1"
      ) AS "t11"
      LEFT OUTER JOIN (
        SELECT
          "t29"."customer_id",
          "t29"."first_seen_at" AS "__first_seen_at"
        FROM (
          SELECT
            "t27"."customer_id",
            MIN("t27"."seen_at") AS "first_seen_at"
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
                ) AS "t12"
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    "t3"."customer_id",
                    MIN("t3"."ordered_at") AS "seen_at"
                  FROM "orders" AS "t3"
                  GROUP BY
                    1
                ) AS "t15"
              ) AS "t21"
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
                ) AS "t14"
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    "t0"."customer_id",
                    MIN("t0"."occurred_at") AS "seen_at"
                  FROM "events" AS "t0"
                  GROUP BY
                    1
                ) AS "t10"
              ) AS "t20"
            ) AS "t24"
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
                ) AS "t16"
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
                ) AS "t17"
              ) AS "t22"
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
                ) AS "t18"
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
                ) AS "t19"
              ) AS "t23"
            ) AS "t25"
          ) AS "t27"
          GROUP BY
            1
        ) AS "t29"
      ) AS "t33"
        ON "t11"."customer_id" = "t33"."customer_id"
    ) AS "t36"
    WHERE
      (
        "t36"."__first_seen_at" IS NULL
      )
      OR (
        "t36"."__first_seen_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
      )
  ) AS "t40"
  LEFT OUTER JOIN (
    SELECT
      "t37"."customer_id",
      "t37"."value" AS "cat"
    FROM (
      SELECT
        "t35"."customer_id",
        "t35"."value",
        "t35"."n",
        ROW_NUMBER() OVER (
          PARTITION BY "t35"."customer_id"
          ORDER BY "t35"."n" DESC, "t35"."value" ASC
          ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
        ) - 1 AS "rn"
      FROM (
        SELECT
          "t30"."customer_id",
          "t30"."category" AS "value",
          COUNT(*) AS "n"
        FROM (
          SELECT
            *
          FROM (
            SELECT
              *
            FROM (
              SELECT
                *
              FROM "order_items" AS "t2"
              WHERE
                "t2"."ordered_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
            ) AS "t13"
            WHERE
              "t13"."order_id" IN (
                SELECT
                  "t3"."order_id"
                FROM "orders" AS "t3"
                WHERE
                  "t3"."amount" >= 0
                  AND (
                    (
                      "t3"."status" IS NULL
                    )
                    OR NOT (
                      LOWER("t3"."status") IN ('cancelled', 'returned')
                    )
                  )
              )
          ) AS "t28"
          WHERE
            "t28"."ordered_at" > MAKE_TIMESTAMP(2024, 4, 1, 23, 59, 59.999999)
            AND "t28"."category" IS NOT NULL
        ) AS "t30"
        GROUP BY
          1,
          2
      ) AS "t35"
    ) AS "t37"
    WHERE
      "t37"."rn" = 0
  ) AS "t41"
    ON "t40"."customer_id" = "t41"."customer_id"
  LEFT OUTER JOIN (
    SELECT
      "t9"."customer_id",
      COUNT(*) FILTER(WHERE
        (
          "t9"."occurred_at" > MAKE_TIMESTAMP(2024, 6, 16, 23, 59, 59.999999)
        )
        AND (
          "t9"."occurred_at" <= MAKE_TIMESTAMP(2024, 6, 23, 23, 59, 59.999999)
        )
        AND (
          COALESCE("t9"."event" = 'cart_add', FALSE)
          AND COALESCE(TRY_CAST("t9"."properties" ->> '$.value' AS DOUBLE) > 5, FALSE)
        )) AS "adds"
    FROM (
      SELECT
        *
      FROM "events" AS "t0"
      WHERE
        "t0"."occurred_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
        AND "t0"."occurred_at" > MAKE_TIMESTAMP(2024, 6, 16, 23, 59, 59.999999)
    ) AS "t9"
    GROUP BY
      1
  ) AS "t34"
    ON "t40"."customer_id" = "t34"."customer_id"
) AS "t42"
