SELECT
  `t43`.`customer_id`,
  `t43`.`cat`,
  COALESCE(`t43`.`adds`, 0) AS `adds`,
  CASE
    WHEN COALESCE(`t43`.`cat` = 'x', FALSE)
    THEN 'a'
    WHEN COALESCE(COALESCE(`t43`.`adds`, 0) > 0, FALSE)
    THEN 'b'
    ELSE 'c'
  END AS `__sgm__s`
FROM (
  SELECT
    `t42`.`customer_id`,
    `t40`.`cat`,
    `t33`.`adds`
  FROM (
    SELECT
      `t38`.`customer_id`
    FROM (
      SELECT
        `t11`.`customer_id`,
        `t36`.`customer_id` AS `customer_id_right`,
        `t36`.`__first_seen_at`
      FROM (
        SELECT
          `t1`.`customer_id`
        FROM `customers` AS `t1`
      ) AS `t11`
      LEFT OUTER JOIN (
        SELECT
          `t32`.`customer_id`,
          `t32`.`first_seen_at` AS `__first_seen_at`
        FROM (
          SELECT
            `t29`.`customer_id`,
            MIN(`t29`.`seen_at`) AS `first_seen_at`
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
                    `t1`.`customer_id`,
                    MIN(`t1`.`created_at`) AS `seen_at`
                  FROM `customers` AS `t1`
                  GROUP BY
                    1
                ) AS `t12`
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
                ) AS `t15`
              ) AS `t20`
              UNION ALL
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
                ) AS `t14`
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    `t10`.`customer_id`,
                    MIN(`t10`.`occurred_at`) AS `seen_at`
                  FROM (
                    SELECT
                      `t0`.`event_id`,
                      `t0`.`customer_id`,
                      `t0`.`event`,
                      `t0`.`occurred_at`,
                      CAST(`t0`.`properties` AS STRING) AS `properties`
                    FROM `events` AS `t0`
                  ) AS `t10`
                  GROUP BY
                    1
                ) AS `t24`
              ) AS `t26`
            ) AS `t27`
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
                    `t4`.`customer_id`,
                    MIN(`t4`.`answered_at`) AS `seen_at`
                  FROM `responses` AS `t4`
                  GROUP BY
                    1
                ) AS `t16`
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    `t5`.`customer_id`,
                    MIN(`t5`.`opened_at`) AS `seen_at`
                  FROM `tickets` AS `t5`
                  GROUP BY
                    1
                ) AS `t17`
              ) AS `t21`
              UNION ALL
              SELECT
                *
              FROM (
                SELECT
                  *
                FROM (
                  SELECT
                    `t6`.`customer_id`,
                    MIN(`t6`.`started_at`) AS `seen_at`
                  FROM `subscriptions` AS `t6`
                  GROUP BY
                    1
                ) AS `t18`
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    `t7`.`customer_id`,
                    MIN(`t7`.`changed_at`) AS `seen_at`
                  FROM `customer_changes` AS `t7`
                  GROUP BY
                    1
                ) AS `t19`
              ) AS `t22`
            ) AS `t23`
          ) AS `t29`
          GROUP BY
            1
        ) AS `t32`
      ) AS `t36`
        ON `t11`.`customer_id` = `t36`.`customer_id`
    ) AS `t38`
    WHERE
      (
        `t38`.`__first_seen_at` IS NULL
      )
      OR (
        `t38`.`__first_seen_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
      )
  ) AS `t42`
  LEFT OUTER JOIN (
    SELECT
      `t37`.`customer_id`,
      `t37`.`value` AS `cat`
    FROM (
      SELECT
        `t34`.`customer_id`,
        `t34`.`value`,
        `t34`.`n`,
        ROW_NUMBER() OVER (
          PARTITION BY `t34`.`customer_id`
          ORDER BY `t34`.`n` DESC, `t34`.`value` ASC NULLS LAST
        ) - 1 AS `rn`
      FROM (
        SELECT
          `t30`.`customer_id`,
          `t30`.`category` AS `value`,
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
            ) AS `t13`
            WHERE
              `t13`.`order_id` IN (
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
          ) AS `t28`
          WHERE
            `t28`.`ordered_at` > CAST('2024-04-01T23:59:59.999999' AS TIMESTAMP)
            AND `t28`.`category` IS NOT NULL
        ) AS `t30`
        GROUP BY
          1,
          2
      ) AS `t34`
    ) AS `t37`
    WHERE
      `t37`.`rn` = 0
  ) AS `t40`
    ON `t42`.`customer_id` = `t40`.`customer_id`
  LEFT OUTER JOIN (
    SELECT
      `t9`.`customer_id`,
      SUM(
        CAST((
          `t9`.`occurred_at` > CAST('2024-06-16T23:59:59.999999' AS TIMESTAMP)
        )
        AND (
          `t9`.`occurred_at` <= CAST('2024-06-23T23:59:59.999999' AS TIMESTAMP)
        )
        AND (
          COALESCE(`t9`.`event` = 'cart_add', FALSE)
          AND COALESCE(TRY_CAST(GET_JSON_OBJECT(`t9`.`properties`, '$.value') AS DOUBLE) > 5, FALSE)
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
    ) AS `t9`
    GROUP BY
      1
  ) AS `t33`
    ON `t42`.`customer_id` = `t33`.`customer_id`
) AS `t43`
