SELECT
  "t39"."customer_id",
  "t39"."cat",
  COALESCE("t39"."adds", 0) AS "adds",
  CASE
    WHEN COALESCE("t39"."cat" = 'x', FALSE)
    THEN 'a'
    WHEN COALESCE(COALESCE("t39"."adds", 0) > 0, FALSE)
    THEN 'b'
    ELSE 'c'
  END AS "__sgm__s"
FROM (
  SELECT
    "t37"."customer_id",
    "t38"."cat",
    "t31"."adds"
  FROM (
    SELECT
      "t33"."customer_id"
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
            "t24"."customer_id",
            MIN("t24"."seen_at") AS "first_seen_at"
          FROM (
            SELECT
              *
            FROM (
              SELECT
                *
              FROM (
                SELECT
                  "t4"."customer_id",
                  MIN("t4"."started_at") AS "seen_at"
                FROM "subscriptions" AS "t4"
                GROUP BY
                  1
              ) AS "t15"
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
                ) AS "t11"
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
                ) AS "t14"
              ) AS "t19"
            ) AS "t21"
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
                    "t2"."customer_id",
                    MIN("t2"."ordered_at") AS "seen_at"
                  FROM "order_items" AS "t2"
                  GROUP BY
                    1
                ) AS "t13"
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
                    "t5"."customer_id",
                    MIN("t5"."answered_at") AS "seen_at"
                  FROM "responses" AS "t5"
                  GROUP BY
                    1
                ) AS "t16"
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
                ) AS "t17"
              ) AS "t20"
            ) AS "t22"
          ) AS "t24"
          GROUP BY
            1
        ) AS "t26"
      ) AS "t30"
        ON "t10"."customer_id" = "t30"."customer_id"
    ) AS "t33"
    WHERE
      (
        "t33"."__first_seen_at" IS NULL
      )
      OR (
        "t33"."__first_seen_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
      )
  ) AS "t37"
  LEFT OUTER JOIN (
    SELECT
      "t34"."customer_id",
      "t34"."value" AS "cat"
    FROM (
      SELECT
        "t32"."customer_id",
        "t32"."value",
        "t32"."n",
        ROW_NUMBER() OVER (
          PARTITION BY "t32"."customer_id"
          ORDER BY "t32"."n" DESC, "t32"."value" ASC
          ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
        ) - 1 AS "rn"
      FROM (
        SELECT
          "t27"."customer_id",
          "t27"."category" AS "value",
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
            ) AS "t12"
            WHERE
              "t12"."order_id" IN (
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
          ) AS "t25"
          WHERE
            "t25"."ordered_at" > MAKE_TIMESTAMP(2024, 4, 1, 23, 59, 59.999999)
            AND "t25"."category" IS NOT NULL
        ) AS "t27"
        GROUP BY
          1,
          2
      ) AS "t32"
    ) AS "t34"
    WHERE
      "t34"."rn" = 0
  ) AS "t38"
    ON "t37"."customer_id" = "t38"."customer_id"
  LEFT OUTER JOIN (
    SELECT
      "t8"."customer_id",
      COUNT(*) FILTER(WHERE
        (
          "t8"."occurred_at" > MAKE_TIMESTAMP(2024, 6, 16, 23, 59, 59.999999)
        )
        AND (
          "t8"."occurred_at" <= MAKE_TIMESTAMP(2024, 6, 23, 23, 59, 59.999999)
        )
        AND (
          COALESCE("t8"."event" = 'cart_add', FALSE)
          AND COALESCE(TRY_CAST("t8"."properties" ->> '$.value' AS DOUBLE) > 5, FALSE)
        )) AS "adds"
    FROM (
      SELECT
        *
      FROM "events" AS "t0"
      WHERE
        "t0"."occurred_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
        AND "t0"."occurred_at" > MAKE_TIMESTAMP(2024, 6, 16, 23, 59, 59.999999)
    ) AS "t8"
    GROUP BY
      1
  ) AS "t31"
    ON "t37"."customer_id" = "t31"."customer_id"
) AS "t39"
