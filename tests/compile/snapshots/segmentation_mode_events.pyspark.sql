SELECT
  `t40`.`customer_id`,
  `t40`.`cat`,
  COALESCE(`t40`.`adds`, 0) AS `adds`,
  CASE
    WHEN COALESCE(`t40`.`cat` = 'x', FALSE)
    THEN 'a'
    WHEN COALESCE(COALESCE(`t40`.`adds`, 0) > 0, FALSE)
    THEN 'b'
    ELSE 'c'
  END AS `__sgm__s`
FROM (
  SELECT
    `t39`.`customer_id`,
    `t37`.`cat`,
    `t30`.`adds`
  FROM (
    SELECT
      `t35`.`customer_id`
    FROM (
      SELECT
        `t10`.`customer_id`,
        `t33`.`customer_id` AS `customer_id_right`,
        `t33`.`__first_seen_at`
      FROM (
        SELECT
          `t1`.`customer_id`
        FROM `customers` AS `t1`
      ) AS `t10`
      LEFT OUTER JOIN (
        SELECT
          `t29`.`customer_id`,
          `t29`.`first_seen_at` AS `__first_seen_at`
        FROM (
          SELECT
            `t26`.`customer_id`,
            MIN(`t26`.`seen_at`) AS `first_seen_at`
          FROM (
            SELECT
              *
            FROM (
              SELECT
                *
              FROM (
                SELECT
                  `t4`.`customer_id`,
                  MIN(`t4`.`started_at`) AS `seen_at`
                FROM `subscriptions` AS `t4`
                GROUP BY
                  1
              ) AS `t15`
              UNION ALL
              SELECT
                *
              FROM (
                SELECT
                  *
                FROM (
                  SELECT
                    `t1`.`customer_id`,
                    MIN(`t1`.`created_at`) AS `seen_at`
                  FROM `customers` AS `t1`
                  GROUP BY
                    1
                ) AS `t11`
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    `t3`.`customer_id`,
                    MIN(`t3`.`ordered_at`) AS `seen_at`
                  FROM `orders` AS `t3`
                  GROUP BY
                    1
                ) AS `t14`
              ) AS `t18`
            ) AS `t20`
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
                    `t2`.`customer_id`,
                    MIN(`t2`.`ordered_at`) AS `seen_at`
                  FROM `order_items` AS `t2`
                  GROUP BY
                    1
                ) AS `t13`
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    `t9`.`customer_id`,
                    MIN(`t9`.`occurred_at`) AS `seen_at`
                  FROM (
                    SELECT
                      `t0`.`event_id`,
                      `t0`.`customer_id`,
                      `t0`.`event`,
                      `t0`.`occurred_at`,
                      CAST(`t0`.`properties` AS STRING) AS `properties`
                    FROM `events` AS `t0`
                  ) AS `t9`
                  GROUP BY
                    1
                ) AS `t21`
              ) AS `t23`
              UNION ALL
              SELECT
                *
              FROM (
                SELECT
                  *
                FROM (
                  SELECT
                    `t5`.`customer_id`,
                    MIN(`t5`.`answered_at`) AS `seen_at`
                  FROM `responses` AS `t5`
                  GROUP BY
                    1
                ) AS `t16`
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    `t6`.`customer_id`,
                    MIN(`t6`.`opened_at`) AS `seen_at`
                  FROM `tickets` AS `t6`
                  GROUP BY
                    1
                ) AS `t17`
              ) AS `t19`
            ) AS `t24`
          ) AS `t26`
          GROUP BY
            1
        ) AS `t29`
      ) AS `t33`
        ON `t10`.`customer_id` = `t33`.`customer_id`
    ) AS `t35`
    WHERE
      (
        `t35`.`__first_seen_at` IS NULL
      )
      OR (
        `t35`.`__first_seen_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
      )
  ) AS `t39`
  LEFT OUTER JOIN (
    SELECT
      `t34`.`customer_id`,
      `t34`.`value` AS `cat`
    FROM (
      SELECT
        `t31`.`customer_id`,
        `t31`.`value`,
        `t31`.`n`,
        ROW_NUMBER() OVER (
          PARTITION BY `t31`.`customer_id`
          ORDER BY `t31`.`n` DESC, `t31`.`value` ASC NULLS LAST
        ) - 1 AS `rn`
      FROM (
        SELECT
          `t27`.`customer_id`,
          `t27`.`category` AS `value`,
          COUNT(*) AS `n`
        FROM (
          SELECT
            *
          FROM (
            SELECT
              *
            FROM (
              SELECT
                *
              FROM `order_items` AS `t2`
              WHERE
                `t2`.`ordered_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
            ) AS `t12`
            WHERE
              `t12`.`order_id` IN (
                SELECT
                  `t3`.`order_id`
                FROM `orders` AS `t3`
                WHERE
                  `t3`.`amount` >= 0
                  AND (
                    (
                      `t3`.`status` IS NULL
                    )
                    OR NOT (
                      LOWER(`t3`.`status`) IN ('cancelled', 'returned')
                    )
                  )
              )
          ) AS `t25`
          WHERE
            `t25`.`ordered_at` > CAST('2024-04-01T23:59:59.999999' AS TIMESTAMP)
            AND `t25`.`category` IS NOT NULL
        ) AS `t27`
        GROUP BY
          1,
          2
      ) AS `t31`
    ) AS `t34`
    WHERE
      `t34`.`rn` = 0
  ) AS `t37`
    ON `t39`.`customer_id` = `t37`.`customer_id`
  LEFT OUTER JOIN (
    SELECT
      `t8`.`customer_id`,
      SUM(
        CAST((
          `t8`.`occurred_at` > CAST('2024-06-16T23:59:59.999999' AS TIMESTAMP)
        )
        AND (
          `t8`.`occurred_at` <= CAST('2024-06-23T23:59:59.999999' AS TIMESTAMP)
        )
        AND (
          COALESCE(`t8`.`event` = 'cart_add', FALSE)
          AND COALESCE(TRY_CAST(GET_JSON_OBJECT(`t8`.`properties`, '$.value') AS DOUBLE) > 5, FALSE)
        ) AS BIGINT)
      ) AS `adds`
    FROM (
      SELECT
        `t0`.`event_id`,
        `t0`.`customer_id`,
        `t0`.`event`,
        `t0`.`occurred_at`,
        CAST(`t0`.`properties` AS STRING) AS `properties`
      FROM `events` AS `t0`
      WHERE
        `t0`.`occurred_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
        AND `t0`.`occurred_at` > CAST('2024-06-16T23:59:59.999999' AS TIMESTAMP)
    ) AS `t8`
    GROUP BY
      1
  ) AS `t30`
    ON `t39`.`customer_id` = `t30`.`customer_id`
) AS `t40`
