SELECT
  `t36`.`customer_id`,
  `t36`.`revenue`,
  `t36`.`__pop_85104b9afdee`,
  COALESCE(`t36`.`__pop_85104b9afdee` >= CAST('0.8' AS DECIMAL(38, 1)), FALSE)
  AND COALESCE(
    (
      CAST(`t36`.`revenue` AS DOUBLE) / IF(CAST(2 AS DOUBLE) = 0, CAST(NULL AS DOUBLE), CAST(2 AS DOUBLE))
    ) > 10,
    FALSE
  ) AS `__seg__top`
FROM (
  SELECT
    `t35`.`customer_id`,
    `t35`.`revenue`,
    IF(
      `t35`.`revenue` IS NULL,
      CAST(NULL AS DOUBLE),
      IF(
        COUNT(`t35`.`revenue`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) <= 1,
        0.0,
        CAST(RANK() OVER (PARTITION BY `t35`.`revenue` IS NULL ORDER BY `t35`.`revenue` ASC NULLS LAST) - 1 AS DOUBLE) / IF(
          COUNT(`t35`.`revenue`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) <= 1,
          CAST(NULL AS DOUBLE),
          CAST(COUNT(`t35`.`revenue`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) - 1 AS DOUBLE)
        )
      )
    ) AS `__pop_85104b9afdee`
  FROM (
    SELECT
      `t34`.`customer_id`,
      `t28`.`revenue`
    FROM (
      SELECT
        `t32`.`customer_id`
      FROM (
        SELECT
          `t10`.`customer_id`,
          `t31`.`customer_id` AS `customer_id_right`,
          `t31`.`__first_seen_at`
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
              `t27`.`customer_id`,
              MIN(`t27`.`seen_at`) AS `first_seen_at`
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
                  ) AS `t11`
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
                  ) AS `t9`
                ) AS `t18`
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
                  ) AS `t12`
                  UNION ALL
                  SELECT
                    *
                  FROM (
                    SELECT
                      `t17`.`customer_id`,
                      MIN(`t17`.`occurred_at`) AS `seen_at`
                    FROM (
                      SELECT
                        `t7`.`event_id`,
                        `t7`.`customer_id`,
                        `t7`.`event`,
                        `t7`.`occurred_at`,
                        CAST(`t7`.`properties` AS STRING) AS `properties`
                      FROM `events` AS `t7`
                    ) AS `t17`
                    GROUP BY
                      1
                  ) AS `t23`
                ) AS `t24`
              ) AS `t25`
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
                      MIN(`t3`.`answered_at`) AS `seen_at`
                    FROM `responses` AS `t3`
                    GROUP BY
                      1
                  ) AS `t13`
                  UNION ALL
                  SELECT
                    *
                  FROM (
                    SELECT
                      `t4`.`customer_id`,
                      MIN(`t4`.`opened_at`) AS `seen_at`
                    FROM `tickets` AS `t4`
                    GROUP BY
                      1
                  ) AS `t14`
                ) AS `t19`
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    *
                  FROM (
                    SELECT
                      `t5`.`customer_id`,
                      MIN(`t5`.`started_at`) AS `seen_at`
                    FROM `subscriptions` AS `t5`
                    GROUP BY
                      1
                  ) AS `t15`
                  UNION ALL
                  SELECT
                    *
                  FROM (
                    SELECT
                      `t6`.`customer_id`,
                      MIN(`t6`.`changed_at`) AS `seen_at`
                    FROM `customer_changes` AS `t6`
                    GROUP BY
                      1
                  ) AS `t16`
                ) AS `t20`
              ) AS `t21`
            ) AS `t27`
            GROUP BY
              1
          ) AS `t29`
        ) AS `t31`
          ON `t10`.`customer_id` = `t31`.`customer_id`
      ) AS `t32`
      WHERE
        (
          `t32`.`__first_seen_at` IS NULL
        )
        OR (
          `t32`.`__first_seen_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
        )
    ) AS `t34`
    LEFT OUTER JOIN (
      SELECT
        `t22`.`customer_id`,
        SUM(`t22`.`amount`) AS `revenue`
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
      ) AS `t22`
      GROUP BY
        1
    ) AS `t28`
      ON `t34`.`customer_id` = `t28`.`customer_id`
  ) AS `t35`
) AS `t36`
