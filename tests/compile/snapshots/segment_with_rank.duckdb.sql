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
    "t9"."order_id",
    COALESCE("t18"."__linked_to", "t9"."customer_id") AS "customer_id",
    "t9"."ordered_at",
    "t9"."amount",
    "t9"."status",
    "t9"."channel",
    "t9"."currency",
    "t9"."discount"
  FROM "orders" AS "t9"
  LEFT OUTER JOIN (
    SELECT
      "t2"."alias_id" AS "__alias",
      "t2"."customer_id" AS "__linked_to"
    FROM "identities" AS "t2"
    WHERE
      "t2"."linked_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
  ) AS "t18"
    ON "t9"."customer_id" = "t18"."__alias"
)
SELECT
  "t59"."customer_id",
  "t59"."revenue",
  "t59"."__pop_85104b9afdee",
  COALESCE("t59"."__pop_85104b9afdee" >= CAST(0.8 AS DECIMAL(38, 1)), FALSE)
  AND COALESCE(
    (
      CAST("t59"."revenue" AS DOUBLE) / CASE WHEN CAST(2 AS DOUBLE) = 0 THEN CAST(NULL AS DOUBLE) ELSE CAST(2 AS DOUBLE) END
    ) > 10,
    FALSE
  ) AS "__seg__top"
FROM (
  SELECT
    "t58"."customer_id",
    "t58"."revenue",
    CASE
      WHEN "t58"."revenue" IS NULL
      THEN CAST(NULL AS DOUBLE)
      ELSE CASE
        WHEN COUNT("t58"."revenue") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) <= 1
        THEN 0.0
        ELSE CAST(RANK() OVER (
          PARTITION BY "t58"."revenue" IS NULL
          ORDER BY "t58"."revenue" ASC
          ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
        ) - 1 AS DOUBLE) / CASE
          WHEN COUNT("t58"."revenue") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) <= 1
          THEN CAST(NULL AS DOUBLE)
          ELSE CAST(COUNT("t58"."revenue") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) - 1 AS DOUBLE)
        END
      END
    END AS "__pop_85104b9afdee"
  FROM (
    SELECT
      "t57"."customer_id",
      "t52"."revenue"
    FROM (
      SELECT
        "t55"."customer_id"
      FROM (
        SELECT
          "t38"."customer_id",
          "t54"."customer_id" AS "customer_id_right",
          "t54"."__first_seen_at"
        FROM (
          SELECT
            "t29"."customer_id"
          FROM "t21" AS "t29"
        ) AS "t38"
        LEFT OUTER JOIN (
          SELECT
            "t51"."customer_id",
            "t51"."first_seen_at" AS "__first_seen_at"
          FROM (
            SELECT
              "t49"."customer_id",
              MIN("t49"."seen_at") AS "first_seen_at"
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
                      "t24"."customer_id",
                      MIN("t24"."ordered_at") AS "seen_at"
                    FROM (
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
                    ) AS "t24"
                    GROUP BY
                      1
                  ) AS "t33"
                  UNION ALL
                  SELECT
                    *
                  FROM (
                    SELECT
                      "t25"."customer_id",
                      MIN("t25"."occurred_at") AS "seen_at"
                    FROM (
                      SELECT
                        "t11"."event_id",
                        COALESCE("t18"."__linked_to", "t11"."customer_id") AS "customer_id",
                        "t11"."event",
                        "t11"."occurred_at",
                        "t11"."properties"
                      FROM "events" AS "t11"
                      LEFT OUTER JOIN (
                        SELECT
                          "t2"."alias_id" AS "__alias",
                          "t2"."customer_id" AS "__linked_to"
                        FROM "identities" AS "t2"
                        WHERE
                          "t2"."linked_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
                      ) AS "t18"
                        ON "t11"."customer_id" = "t18"."__alias"
                    ) AS "t25"
                    GROUP BY
                      1
                  ) AS "t34"
                ) AS "t41"
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
                ) AS "t42"
              ) AS "t45"
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
                      FROM "customer_changes" AS "t3"
                      WHERE
                        NOT (
                          "t3"."customer_id" IN (
                            SELECT
                              *
                            FROM "t16"
                          )
                        )
                    ) AS "t22"
                    GROUP BY
                      1
                  ) AS "t32"
                ) AS "t43"
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
                        "t30"."customer_id",
                        MIN("t30"."ordered_at") AS "seen_at"
                      FROM "t23" AS "t30"
                      GROUP BY
                        1
                    ) AS "t40"
                  ) AS "t44"
                ) AS "t46"
              ) AS "t47"
            ) AS "t49"
            GROUP BY
              1
          ) AS "t51"
        ) AS "t54"
          ON "t38"."customer_id" = "t54"."customer_id"
      ) AS "t55"
      WHERE
        (
          "t55"."__first_seen_at" IS NULL
        )
        OR (
          "t55"."__first_seen_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
        )
    ) AS "t57"
    LEFT OUTER JOIN (
      SELECT
        "t48"."customer_id",
        SUM("t48"."amount") AS "revenue"
      FROM (
        SELECT
          *
        FROM "t23" AS "t30"
        WHERE
          "t30"."ordered_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
          AND "t30"."amount" >= 0
          AND (
            (
              "t30"."status" IS NULL
            )
            OR NOT (
              LOWER("t30"."status") IN ('cancelled', 'returned')
            )
          )
      ) AS "t48"
      GROUP BY
        1
    ) AS "t52"
      ON "t57"."customer_id" = "t52"."customer_id"
  ) AS "t58"
) AS "t59"
