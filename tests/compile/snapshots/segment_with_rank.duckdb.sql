WITH "t16" AS (
  SELECT
    "t2"."alias_id" AS "__alias"
  FROM "identities" AS "t2"
  WHERE
    "t2"."linked_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
), "t20" AS (
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
), "t22" AS (
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
), "t32" AS (
  SELECT
    "t28"."customer_id"
  FROM "t20" AS "t28"
  WHERE
    NOT (
      COALESCE("t28"."created_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999), FALSE)
    )
), "t69" AS (
  SELECT
    "t68"."customer_id",
    "t45"."revenue"
  FROM (
    SELECT
      "t66"."customer_id"
    FROM (
      SELECT
        "t31"."customer_id",
        "t65"."customer_id" AS "customer_id_right",
        "t65"."__first_seen_at"
      FROM (
        SELECT
          "t28"."customer_id"
        FROM "t20" AS "t28"
      ) AS "t31"
      LEFT OUTER JOIN (
        SELECT
          "t63"."customer_id",
          "t63"."first_seen_at" AS "__first_seen_at"
        FROM (
          SELECT
            "t62"."customer_id",
            MIN("t62"."seen_at") AS "first_seen_at"
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
                    "t35"."customer_id",
                    MIN("t35"."ordered_at") AS "seen_at"
                  FROM (
                    SELECT
                      *
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
                    ) AS "t23"
                    WHERE
                      "t23"."customer_id" IN (
                        SELECT
                          *
                        FROM "t32"
                      )
                  ) AS "t35"
                  GROUP BY
                    1
                ) AS "t46"
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    "t36"."customer_id",
                    MIN("t36"."occurred_at") AS "seen_at"
                  FROM (
                    SELECT
                      *
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
                    ) AS "t24"
                    WHERE
                      "t24"."customer_id" IN (
                        SELECT
                          *
                        FROM "t32"
                      )
                  ) AS "t36"
                  GROUP BY
                    1
                ) AS "t47"
              ) AS "t55"
              UNION ALL
              SELECT
                *
              FROM (
                SELECT
                  *
                FROM (
                  SELECT
                    "t37"."customer_id",
                    MIN("t37"."answered_at") AS "seen_at"
                  FROM (
                    SELECT
                      *
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
                    ) AS "t25"
                    WHERE
                      "t25"."customer_id" IN (
                        SELECT
                          *
                        FROM "t32"
                      )
                  ) AS "t37"
                  GROUP BY
                    1
                ) AS "t48"
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    "t38"."customer_id",
                    MIN("t38"."opened_at") AS "seen_at"
                  FROM (
                    SELECT
                      *
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
                    ) AS "t26"
                    WHERE
                      "t26"."customer_id" IN (
                        SELECT
                          *
                        FROM "t32"
                      )
                  ) AS "t38"
                  GROUP BY
                    1
                ) AS "t49"
              ) AS "t56"
            ) AS "t59"
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
                    "t39"."customer_id",
                    MIN("t39"."started_at") AS "seen_at"
                  FROM (
                    SELECT
                      *
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
                    ) AS "t27"
                    WHERE
                      "t27"."customer_id" IN (
                        SELECT
                          *
                        FROM "t32"
                      )
                  ) AS "t39"
                  GROUP BY
                    1
                ) AS "t50"
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    "t40"."customer_id",
                    MIN("t40"."changed_at") AS "seen_at"
                  FROM (
                    SELECT
                      *
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
                    ) AS "t21"
                    WHERE
                      "t21"."customer_id" IN (
                        SELECT
                          *
                        FROM "t32"
                      )
                  ) AS "t40"
                  GROUP BY
                    1
                ) AS "t51"
              ) AS "t57"
              UNION ALL
              SELECT
                *
              FROM (
                SELECT
                  *
                FROM (
                  SELECT
                    "t41"."customer_id",
                    MIN("t41"."linked_at") AS "seen_at"
                  FROM (
                    SELECT
                      *
                    FROM (
                      SELECT
                        *
                      FROM "identities" AS "t2"
                      WHERE
                        "t2"."linked_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
                    ) AS "t17"
                    WHERE
                      "t17"."customer_id" IN (
                        SELECT
                          *
                        FROM "t32"
                      )
                  ) AS "t41"
                  GROUP BY
                    1
                ) AS "t52"
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    *
                  FROM (
                    SELECT
                      "t42"."customer_id",
                      MIN("t42"."created_at") AS "seen_at"
                    FROM (
                      SELECT
                        *
                      FROM "t20" AS "t28"
                      WHERE
                        "t28"."customer_id" IN (
                          SELECT
                            *
                          FROM "t32"
                        )
                    ) AS "t42"
                    GROUP BY
                      1
                  ) AS "t53"
                  UNION ALL
                  SELECT
                    *
                  FROM (
                    SELECT
                      "t43"."customer_id",
                      MIN("t43"."ordered_at") AS "seen_at"
                    FROM (
                      SELECT
                        *
                      FROM "t22" AS "t29"
                      WHERE
                        "t29"."customer_id" IN (
                          SELECT
                            *
                          FROM "t32"
                        )
                    ) AS "t43"
                    GROUP BY
                      1
                  ) AS "t54"
                ) AS "t58"
              ) AS "t60"
            ) AS "t61"
          ) AS "t62"
          GROUP BY
            1
        ) AS "t63"
      ) AS "t65"
        ON "t31"."customer_id" = "t65"."customer_id"
    ) AS "t66"
    WHERE
      (
        "t66"."__first_seen_at" IS NULL
      )
      OR (
        "t66"."__first_seen_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
      )
  ) AS "t68"
  LEFT OUTER JOIN (
    SELECT
      "t34"."customer_id",
      SUM("t34"."amount") AS "revenue"
    FROM (
      SELECT
        *
      FROM "t22" AS "t29"
      WHERE
        "t29"."ordered_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
        AND "t29"."amount" >= 0
        AND (
          (
            "t29"."status" IS NULL
          )
          OR NOT (
            LOWER("t29"."status") IN ('cancelled', 'returned')
          )
        )
    ) AS "t34"
    GROUP BY
      1
  ) AS "t45"
    ON "t68"."customer_id" = "t45"."customer_id"
)
SELECT
  "t78"."customer_id",
  "t78"."revenue",
  "t78"."__pop_85104b9afdee",
  COALESCE("t78"."__pop_85104b9afdee" >= CAST(0.8 AS DECIMAL(38, 1)), FALSE)
  AND COALESCE(
    (
      CAST("t78"."revenue" AS DOUBLE) / CASE WHEN CAST(2 AS DOUBLE) = 0 THEN CAST(NULL AS DOUBLE) ELSE CAST(2 AS DOUBLE) END
    ) > 10,
    FALSE
  ) AS "__seg__top"
FROM (
  SELECT
    "t73"."customer_id",
    "t73"."revenue",
    "t77"."__pop_85104b9afdee"
  FROM "t69" AS "t73"
  LEFT OUTER JOIN (
    SELECT
      "t75"."customer_id",
      "t75"."__pop_85104b9afdee"
    FROM (
      SELECT
        "t74"."customer_id",
        "t74"."revenue",
        CASE
          WHEN "t74"."revenue" IS NULL
          THEN CAST(NULL AS DOUBLE)
          ELSE CASE
            WHEN COUNT("t74"."revenue") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) <= 1
            THEN 0.0
            ELSE CAST(RANK() OVER (
              PARTITION BY "t74"."revenue" IS NULL
              ORDER BY "t74"."revenue" ASC
              ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
            ) - 1 AS DOUBLE) / CASE
              WHEN COUNT("t74"."revenue") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) <= 1
              THEN CAST(NULL AS DOUBLE)
              ELSE CAST(COUNT("t74"."revenue") OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) - 1 AS DOUBLE)
            END
          END
        END AS "__pop_85104b9afdee"
      FROM (
        SELECT
          *
        FROM "t69" AS "t72"
      ) AS "t74"
    ) AS "t75"
  ) AS "t77"
    ON "t73"."customer_id" = "t77"."customer_id"
) AS "t78"
