SELECT
  *
FROM (
  SELECT
    `t31`.`customer_id`,
    `t25`.`revenue_365d`
  FROM (
    SELECT
      `t29`.`customer_id`
    FROM (
      SELECT
        `t9`.`customer_id`,
        `t28`.`customer_id` AS `customer_id_right`,
        `t28`.`__first_seen_at`
      FROM (
        SELECT
          `t1`.`customer_id`
        FROM `customers` AS `t1`
      ) AS `t9`
      LEFT OUTER JOIN (
        SELECT
          `t26`.`customer_id`,
          `t26`.`first_seen_at` AS `__first_seen_at`
        FROM (
          SELECT
            `t23`.`customer_id`,
            MIN(`t23`.`seen_at`) AS `first_seen_at`
          FROM (
            SELECT
              *
            FROM (
              SELECT
                *
              FROM (
                SELECT
                  `t2`.`customer_id`,
                  MIN(`t2`.`started_at`) AS `seen_at`
                FROM `subscriptions` AS `t2`
                GROUP BY
                  1
              ) AS `t11`
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
                ) AS `t10`
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    `t0`.`customer_id`,
                    MIN(`t0`.`ordered_at`) AS `seen_at`
                  FROM `orders` AS `t0`
                  GROUP BY
                    1
                ) AS `t8`
              ) AS `t16`
            ) AS `t18`
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
                    `t3`.`customer_id`,
                    MIN(`t3`.`ordered_at`) AS `seen_at`
                  FROM `order_items` AS `t3`
                  GROUP BY
                    1
                ) AS `t12`
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    `t15`.`customer_id`,
                    MIN(`t15`.`occurred_at`) AS `seen_at`
                  FROM (
                    SELECT
                      `t6`.`event_id`,
                      `t6`.`customer_id`,
                      `t6`.`event`,
                      `t6`.`occurred_at`,
                      CAST(`t6`.`properties` AS STRING) AS `properties`
                    FROM `events` AS `t6`
                  ) AS `t15`
                  GROUP BY
                    1
                ) AS `t20`
              ) AS `t21`
              UNION ALL
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
                ) AS `t13`
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
                ) AS `t14`
              ) AS `t17`
            ) AS `t22`
          ) AS `t23`
          GROUP BY
            1
        ) AS `t26`
      ) AS `t28`
        ON `t9`.`customer_id` = `t28`.`customer_id`
    ) AS `t29`
    WHERE
      (
        `t29`.`__first_seen_at` IS NULL
      )
      OR (
        `t29`.`__first_seen_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
      )
  ) AS `t31`
  LEFT OUTER JOIN (
    SELECT
      `t19`.`customer_id`,
      SUM(
        IF(
          `t19`.`ordered_at` > CAST('2023-07-01T23:59:59.999999' AS TIMESTAMP),
          `t19`.`amount`,
          NULL
        )
      ) AS `revenue_365d`
    FROM (
      SELECT
        *
      FROM `orders` AS `t0`
      WHERE
        `t0`.`ordered_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
        AND `t0`.`amount` >= 0
        AND (
          (
            `t0`.`status` IS NULL
          )
          OR NOT (
            LOWER(`t0`.`status`) IN ('cancelled', 'returned')
          )
        )
        AND `t0`.`ordered_at` > CAST('2023-07-01T23:59:59.999999' AS TIMESTAMP)
    ) AS `t19`
    GROUP BY
      1
  ) AS `t25`
    ON `t31`.`customer_id` = `t25`.`customer_id`
) AS `t32`
