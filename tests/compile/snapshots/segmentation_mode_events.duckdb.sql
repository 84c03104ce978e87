WITH "t16" AS (
  SELECT
    "t2"."alias_id" AS "__alias"
  FROM "identities" AS "t2"
  WHERE
    "t2"."linked_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
), "t21" AS (
  SELECT
    *
  FROM "customers" AS "t0"
  WHERE
    NOT (
      "t0"."customer_id" IN (
        SELECT
          *
        FROM "t16"
      )
    )
), "t23" AS (
  SELECT
    "t9"."event_id",
    COALESCE("t18"."__linked_to", "t9"."customer_id") AS "customer_id",
    "t9"."event",
    "t9"."occurred_at",
    "t9"."properties"
  FROM "events" AS "t9"
  LEFT OUTER JOIN (
    SELECT
      "t2"."alias_id" AS "__alias",
      "t2"."customer_id" AS "__linked_to"
    FROM "identities" AS "t2"
    WHERE
      "t2"."linked_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
  ) AS "t18"
    ON "t9"."customer_id" = "t18"."__alias"
), "t24" AS (
  SELECT
    "t10"."order_id",
    "t10"."line",
    COALESCE("t18"."__linked_to", "t10"."customer_id") AS "customer_id",
    "t10"."ordered_at",
    "t10"."product_id",
    "t10"."quantity",
    "t10"."unit_price",
    "t10"."category",
    "t10"."product_name"
  FROM "order_items" AS "t10"
  LEFT OUTER JOIN (
    SELECT
      "t2"."alias_id" AS "__alias",
      "t2"."customer_id" AS "__linked_to"
    FROM "identities" AS "t2"
    WHERE
      "t2"."linked_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
  ) AS "t18"
    ON "t10"."customer_id" = "t18"."__alias"
), "t25" AS (
  SELECT
    "t11"."order_id",
    COALESCE("t18"."__linked_to", "t11"."customer_id") AS "customer_id",
    "t11"."ordered_at",
    "t11"."amount",
    "t11"."status",
    "t11"."channel",
    "t11"."currency",
    "t11"."discount"
  FROM "orders" AS "t11"
  LEFT OUTER JOIN (
    SELECT
      "t2"."alias_id" AS "__alias",
      "t2"."customer_id" AS "__linked_to"
    FROM "identities" AS "t2"
    WHERE
      "t2"."linked_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
  ) AS "t18"
    ON "t11"."customer_id" = "t18"."__alias"
)
SELECT
  "t68"."customer_id",
  "t68"."cat",
  COALESCE("t68"."adds", 0) AS "adds",
  CASE
    WHEN COALESCE("t68"."cat" = 'x', FALSE)
    THEN 'a'
    WHEN COALESCE(COALESCE("t68"."adds", 0) > 0, FALSE)
    THEN 'b'
    ELSE 'c'
  END AS "__sgm__s"
FROM (
  SELECT
    "t67"."customer_id",
    "t66"."cat",
    "t59"."adds"
  FROM (
    SELECT
      "t62"."customer_id"
    FROM (
      SELECT
        "t38"."customer_id",
        "t61"."customer_id" AS "customer_id_right",
        "t61"."__first_seen_at"
      FROM (
        SELECT
          "t29"."customer_id"
        FROM "t21" AS "t29"
      ) AS "t38"
      LEFT OUTER JOIN (
        SELECT
          "t55"."customer_id",
          "t55"."first_seen_at" AS "__first_seen_at"
        FROM (
          SELECT
            "t53"."customer_id",
            MIN("t53"."seen_at") AS "first_seen_at"
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
                    "t31"."customer_id",
                    MIN("t31"."ordered_at") AS "seen_at"
                  FROM "t24" AS "t31"
                  GROUP BY
                    1
                ) AS "t43"
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    "t30"."customer_id",
                    MIN("t30"."occurred_at") AS "seen_at"
                  FROM "t23" AS "t30"
                  GROUP BY
                    1
                ) AS "t41"
              ) AS "t47"
              UNION ALL
              SELECT
                *
              FROM (
                SELECT
                  *
                FROM (
                  SELECT
                    "t26"."customer_id",
                    MIN("t26"."answered_at") AS "seen_at"
                  FROM (
                    SELECT
                      COALESCE("t18"."__linked_to", "t12"."customer_id") AS "customer_id",
                      "t12"."question",
                      "t12"."answer",
                      "t12"."answered_at",
                      "t12"."survey"
                    FROM "responses" AS "t12"
                    LEFT OUTER JOIN (
                      SELECT
                        "t2"."alias_id" AS "__alias",
                        "t2"."customer_id" AS "__linked_to"
                      FROM "identities" AS "t2"
                      WHERE
                        "t2"."linked_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
                    ) AS "t18"
                      ON "t12"."customer_id" = "t18"."__alias"
                  ) AS "t26"
                  GROUP BY
                    1
                ) AS "t35"
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    "t27"."customer_id",
                    MIN("t27"."opened_at") AS "seen_at"
                  FROM (
                    SELECT
                      "t13"."ticket_id",
                      COALESCE("t18"."__linked_to", "t13"."customer_id") AS "customer_id",
                      "t13"."opened_at",
                      "t13"."first_response_at",
                      "t13"."resolved_at",
                      "t13"."csat",
                      "t13"."channel",
                      "t13"."topic"
                    FROM "tickets" AS "t13"
                    LEFT OUTER JOIN (
                      SELECT
                        "t2"."alias_id" AS "__alias",
                        "t2"."customer_id" AS "__linked_to"
                      FROM "identities" AS "t2"
                      WHERE
                        "t2"."linked_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
                    ) AS "t18"
                      ON "t13"."customer_id" = "t18"."__alias"
                  ) AS "t27"
                  GROUP BY
                    1
                ) AS "t36"
              ) AS "t45"
            ) AS "t49"
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
                    "t28"."customer_id",
                    MIN("t28"."started_at") AS "seen_at"
                  FROM (
                    SELECT
                      "t14"."subscription_id",
                      COALESCE("t18"."__linked_to", "t14"."customer_id") AS "customer_id",
                      "t14"."started_at",
                      "t14"."plan",
                      "t14"."mrr",
                      "t14"."renews_at",
                      "t14"."cancelled_at",
                      "t14"."cancel_reason"
                    FROM "subscriptions" AS "t14"
                    LEFT OUTER JOIN (
                      SELECT
                        "t2"."alias_id" AS "__alias",
                        "t2"."customer_id" AS "__linked_to"
                      FROM "identities" AS "t2"
                      WHERE
                        "t2"."linked_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
                    ) AS "t18"
                      ON "t14"."customer_id" = "t18"."__alias"
                  ) AS "t28"
                  GROUP BY
                    1
                ) AS "t37"
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    "t22"."customer_id",
                    MIN("t22"."changed_at") AS "seen_at"
                  FROM (
                    SELECT
                      *
                    FROM "customer_changes" AS "t4"
                    WHERE
                      NOT (
                        "t4"."customer_id" IN (
                          SELECT
                            *
                          FROM "t16"
                        )
                      )
                  ) AS "t22"
                  GROUP BY
                    1
                ) AS "t34"
              ) AS "t46"
              UNION ALL
              SELECT
                *
              FROM (
                SELECT
                  *
                FROM (
                  SELECT
                    "t17"."customer_id",
                    MIN("t17"."linked_at") AS "seen_at"
                  FROM (
                    SELECT
                      *
                    FROM "identities" AS "t2"
                    WHERE
                      "t2"."linked_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
                  ) AS "t17"
                  GROUP BY
                    1
                ) AS "t20"
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    *
                  FROM (
                    SELECT
                      "t29"."customer_id",
                      MIN("t29"."created_at") AS "seen_at"
                    FROM "t21" AS "t29"
                    GROUP BY
                      1
                  ) AS "t39"
                  UNION ALL
                  SELECT
                    *
                  FROM (
                    SELECT
                      "t32"."customer_id",
                      MIN("t32"."ordered_at") AS "seen_at"
                    FROM "t25" AS "t32"
                    GROUP BY
                      1
                  ) AS "t44"
                ) AS "t48"
              ) AS "t50"
            ) AS "t52"
          ) AS "t53"
          GROUP BY
            1
        ) AS "t55"
      ) AS "t61"
        ON "t38"."customer_id" = "t61"."customer_id"
    ) AS "t62"
    WHERE
      (
        "t62"."__first_seen_at" IS NULL
      )
      OR (
        "t62"."__first_seen_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
      )
  ) AS "t67"
  LEFT OUTER JOIN (
    SELECT
      "t63"."customer_id",
      "t63"."value" AS "cat"
    FROM (
      SELECT
        "t60"."customer_id",
        "t60"."value",
        "t60"."n",
        ROW_NUMBER() OVER (
          PARTITION BY "t60"."customer_id"
          ORDER BY "t60"."n" DESC, "t60"."value" ASC
          ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
        ) - 1 AS "rn"
      FROM (
        SELECT
          "t56"."customer_id",
          "t56"."category" AS "value",
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
              FROM "t24" AS "t31"
              WHERE
                "t31"."ordered_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
            ) AS "t42"
            WHERE
              "t42"."order_id" IN (
                SELECT
                  "t32"."order_id"
                FROM "t25" AS "t32"
                WHERE
                  "t32"."amount" >= 0
                  AND (
                    (
                      "t32"."status" IS NULL
                    )
                    OR NOT (
                      LOWER("t32"."status") IN ('cancelled', 'returned')
                    )
                  )
              )
          ) AS "t54"
          WHERE
            "t54"."ordered_at" > MAKE_TIMESTAMP(2024, 4, 1, 23, 59, 59.999999)
            AND "t54"."category" IS NOT NULL
        ) AS "t56"
        GROUP BY
          1,
          2
      ) AS "t60"
    ) AS "t63"
    WHERE
      "t63"."rn" = 0
  ) AS "t66"
    ON "t67"."customer_id" = "t66"."customer_id"
  LEFT OUTER JOIN (
    SELECT
      "t40"."customer_id",
      COUNT(*) FILTER(WHERE
        (
          "t40"."occurred_at" > MAKE_TIMESTAMP(2024, 6, 16, 23, 59, 59.999999)
        )
        AND (
          "t40"."occurred_at" <= MAKE_TIMESTAMP(2024, 6, 23, 23, 59, 59.999999)
        )
        AND (
          COALESCE("t40"."event" = 'cart_add', FALSE)
          AND COALESCE(TRY_CAST("t40"."properties" ->> '$.value' AS DOUBLE) > 5, FALSE)
        )) AS "adds"
    FROM (
      SELECT
        *
      FROM "t23" AS "t30"
      WHERE
        "t30"."occurred_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
        AND "t30"."occurred_at" > MAKE_TIMESTAMP(2024, 6, 16, 23, 59, 59.999999)
    ) AS "t40"
    GROUP BY
      1
  ) AS "t59"
    ON "t67"."customer_id" = "t59"."customer_id"
) AS "t68"
