SELECT
  "t17"."customer_id",
  "t17"."cat",
  COALESCE("t17"."adds", 0) AS "adds",
  CASE
    WHEN COALESCE("t17"."cat" = 'x', FALSE)
    THEN 'a'
    WHEN COALESCE(COALESCE("t17"."adds", 0) > 0, FALSE)
    THEN 'b'
    ELSE 'c'
  END AS "__sgm__s"
FROM (
  SELECT
    "t7"."customer_id",
    "t16"."cat",
    "t12"."adds"
  FROM (
    SELECT
      "t0"."customer_id"
    FROM "customers" AS "t0"
    WHERE
      (
        "t0"."created_at" IS NULL
      )
      OR (
        "t0"."created_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
      )
  ) AS "t7"
  LEFT OUTER JOIN (
    SELECT
      "t14"."customer_id",
      "t14"."value" AS "cat"
    FROM (
      SELECT
        "t13"."customer_id",
        "t13"."value",
        "t13"."n",
        ROW_NUMBER() OVER (
          PARTITION BY "t13"."customer_id"
          ORDER BY "t13"."n" DESC, "t13"."value" ASC
          ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
        ) - 1 AS "rn"
      FROM (
        SELECT
          "t10"."customer_id",
          "t10"."category" AS "value",
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
            ) AS "t5"
            WHERE
              "t5"."order_id" IN (
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
          ) AS "t9"
          WHERE
            "t9"."ordered_at" > MAKE_TIMESTAMP(2024, 4, 1, 23, 59, 59.999999)
            AND "t9"."category" IS NOT NULL
        ) AS "t10"
        GROUP BY
          1,
          2
      ) AS "t13"
    ) AS "t14"
    WHERE
      "t14"."rn" = 0
  ) AS "t16"
    ON "t7"."customer_id" = "t16"."customer_id"
  LEFT OUTER JOIN (
    SELECT
      "t4"."customer_id",
      COUNT(*) FILTER(WHERE
        (
          "t4"."occurred_at" > MAKE_TIMESTAMP(2024, 6, 16, 23, 59, 59.999999)
        )
        AND (
          "t4"."occurred_at" <= MAKE_TIMESTAMP(2024, 6, 23, 23, 59, 59.999999)
        )
        AND (
          COALESCE("t4"."event" = 'cart_add', FALSE)
          AND COALESCE(TRY_CAST("t4"."properties" ->> '$.value' AS DOUBLE) > 5, FALSE)
        )) AS "adds"
    FROM (
      SELECT
        *
      FROM "events" AS "t1"
      WHERE
        "t1"."occurred_at" <= MAKE_TIMESTAMP(2024, 6, 30, 23, 59, 59.999999)
        AND "t1"."occurred_at" > MAKE_TIMESTAMP(2024, 6, 16, 23, 59, 59.999999)
    ) AS "t4"
    GROUP BY
      1
  ) AS "t12"
    ON "t7"."customer_id" = "t12"."customer_id"
) AS "t17"
