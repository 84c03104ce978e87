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
), "t23" AS (
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
), "t24" AS (
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
), "t36" AS (
  SELECT
    "t28"."customer_id"
  FROM "t20" AS "t28"
  WHERE
    NOT (
      COALESCE("t28"."created_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999), FALSE)
    )
)
SELECT
  "t78"."customer_id",
  "t78"."cat",
  COALESCE("t78"."adds", 0) AS "adds",
  CASE
    WHEN COALESCE("t78"."cat" = 'x', FALSE)
    THEN 'a'
    WHEN COALESCE(COALESCE("t78"."adds", 0) > 0, FALSE)
    THEN 'b'
    ELSE 'c'
  END AS "__sgm__s"
FROM (
  SELECT
    "t77"."customer_id",
    "t72"."cat",
    "t66"."adds"
  FROM (
    SELECT
      "t75"."customer_id"
    FROM (
      SELECT
        "t33"."customer_id",
        "t74"."customer_id" AS "customer_id_right",
        "t74"."__first_seen_at"
      FROM (
        SELECT
          "t28"."customer_id"
        FROM "t20" AS "t28"
      ) AS "t33"
      LEFT OUTER JOIN (
        SELECT
          "t70"."customer_id",
          "t70"."first_seen_at" AS "__first_seen_at"
        FROM (
          SELECT
            "t69"."customer_id",
            MIN("t69"."seen_at") AS "first_seen_at"
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
                    "t39"."customer_id",
                    MIN("t39"."ordered_at") AS "seen_at"
                  FROM (
                    SELECT
                      *
                    FROM "t23" AS "t30"
                    WHERE
                      "t30"."customer_id" IN (
                        SELECT
                          *
                        FROM "t36"
                      )
                  ) AS "t39"
                  GROUP BY
                    1
                ) AS "t49"
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    "t40"."customer_id",
                    MIN("t40"."occurred_at") AS "seen_at"
                  FROM (
                    SELECT
                      *
                    FROM "t22" AS "t29"
                    WHERE
                      "t29"."customer_id" IN (
                        SELECT
                          *
                        FROM "t36"
                      )
                  ) AS "t40"
                  GROUP BY
                    1
                ) AS "t50"
              ) AS "t59"
              UNION ALL
              SELECT
                *
              FROM (
                SELECT
                  *
                FROM (
                  SELECT
                    "t41"."customer_id",
                    MIN("t41"."answered_at") AS "seen_at"
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
                        FROM "t36"
                      )
                  ) AS "t41"
                  GROUP BY
                    1
                ) AS "t51"
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    "t42"."customer_id",
                    MIN("t42"."opened_at") AS "seen_at"
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
                        FROM "t36"
                      )
                  ) AS "t42"
                  GROUP BY
                    1
                ) AS "t52"
              ) AS "t60"
            ) AS "t64"
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
                    "t43"."customer_id",
                    MIN("t43"."started_at") AS "seen_at"
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
                        FROM "t36"
                      )
                  ) AS "t43"
                  GROUP BY
                    1
                ) AS "t53"
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    "t44"."customer_id",
                    MIN("t44"."changed_at") AS "seen_at"
                  FROM (
                    SELECT
                      *
                    FROM (
                      SELECT
                        *
                      FROM "customer_changes" AS "t5"
                      WHERE
                        NOT (
                          "t5"."customer_id" IN (
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
                        FROM "t36"
                      )
                  ) AS "t44"
                  GROUP BY
                    1
                ) AS "t54"
              ) AS "t61"
              UNION ALL
              SELECT
                *
              FROM (
                SELECT
                  *
                FROM (
                  SELECT
                    "t45"."customer_id",
                    MIN("t45"."linked_at") AS "seen_at"
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
                        FROM "t36"
                      )
                  ) AS "t45"
                  GROUP BY
                    1
                ) AS "t55"
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    *
                  FROM (
                    SELECT
                      "t46"."customer_id",
                      MIN("t46"."created_at") AS "seen_at"
                    FROM (
                      SELECT
                        *
                      FROM "t20" AS "t28"
                      WHERE
                        "t28"."customer_id" IN (
                          SELECT
                            *
                          FROM "t36"
                        )
                    ) AS "t46"
                    GROUP BY
                      1
                  ) AS "t56"
                  UNION ALL
                  SELECT
                    *
                  FROM (
                    SELECT
                      "t47"."customer_id",
                      MIN("t47"."ordered_at") AS "seen_at"
                    FROM (
                      SELECT
                        *
                      FROM "t24" AS "t31"
                      WHERE
                        "t31"."customer_id" IN (
                          SELECT
                            *
                          FROM "t36"
                        )
                    ) AS "t47"
                    GROUP BY
                      1
                  ) AS "t57"
                ) AS "t62"
              ) AS "t65"
            ) AS "t68"
          ) AS "t69"
          GROUP BY
            1
        ) AS "t70"
      ) AS "t74"
        ON "t33"."customer_id" = "t74"."customer_id"
    ) AS "t75"
    WHERE
      (
        "t75"."__first_seen_at" IS NULL
      )
      OR (
        "t75"."__first_seen_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
      )
  ) AS "t77"
  LEFT OUTER JOIN (
    SELECT
      "t67"."customer_id",
      FIRST("t67"."value" ORDER BY {'n': -(
        "t67"."n"
      ), 'value': "t67"."value"}) AS "cat"
    FROM (
      SELECT
        "t58"."customer_id",
        "t58"."category" AS "value",
        COUNT(*) AS "n"
      FROM (
        SELECT
          *
        FROM (
          SELECT
            *
          FROM (
            SELECT
              "t30"."order_id",
              "t30"."line",
              "t30"."customer_id",
              "t30"."ordered_at",
              "t30"."category"
            FROM "t23" AS "t30"
            WHERE
              "t30"."ordered_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
          ) AS "t35"
          WHERE
            "t35"."order_id" IN (
              SELECT
                "t31"."order_id"
              FROM "t24" AS "t31"
              WHERE
                "t31"."amount" >= 0
                AND (
                  (
                    "t31"."status" IS NULL
                  )
                  OR NOT (
                    LOWER("t31"."status") IN ('cancelled', 'returned')
                  )
                )
            )
        ) AS "t48"
        WHERE
          "t48"."ordered_at" > MAKE_TIMESTAMP(2024, 4, 1, 23, 59, 59.999999)
          AND "t48"."category" IS NOT NULL
      ) AS "t58"
      GROUP BY
        1,
        2
    ) AS "t67"
    GROUP BY
      1
  ) AS "t72"
    ON "t77"."customer_id" = "t72"."customer_id"
  LEFT OUTER JOIN (
    SELECT
      "t34"."customer_id",
      COUNT(*) FILTER(WHERE
        (
          "t34"."occurred_at" > MAKE_TIMESTAMP(2024, 6, 16, 23, 59, 59.999999)
        )
        AND (
          "t34"."occurred_at" <= MAKE_TIMESTAMP(2024, 6, 23, 23, 59, 59.999999)
        )
        AND (
          COALESCE("t34"."event" = 'cart_add', FALSE)
          AND COALESCE(TRY_CAST("t34"."properties" ->> '$.value' AS DOUBLE) > 5, FALSE)
        )) AS "adds"
    FROM (
      SELECT
        *
      FROM "t22" AS "t29"
      WHERE
        "t29"."occurred_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
        AND "t29"."occurred_at" > MAKE_TIMESTAMP(2024, 6, 16, 23, 59, 59.999999)
    ) AS "t34"
    GROUP BY
      1
  ) AS "t66"
    ON "t77"."customer_id" = "t66"."customer_id"
) AS "t78"
