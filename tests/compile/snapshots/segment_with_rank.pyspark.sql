SELECT
  `t33`.`customer_id`,
  `t33`.`revenue`,
  `t33`.`__pop_85104b9afdee`,
  COALESCE(`t33`.`__pop_85104b9afdee` >= CAST('0.8' AS DECIMAL(38, 1)), FALSE)
  AND COALESCE(
    (
      CAST(`t33`.`revenue` AS DOUBLE) / IF(CAST(2 AS DOUBLE) = 0, CAST(NULL AS DOUBLE), CAST(2 AS DOUBLE))
    ) > 10,
    FALSE
  ) AS `__seg__top`
FROM (
  SELECT
    `t32`.`customer_id`,
    `t32`.`revenue`,
    IF(
      `t32`.`revenue` IS NULL,
      CAST(NULL AS DOUBLE),
      IF(
        COUNT(`t32`.`revenue`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) <= 1,
        0.0,
        CAST(RANK() OVER (PARTITION BY `t32`.`revenue` IS NULL ORDER BY `t32`.`revenue` ASC NULLS LAST) - 1 AS DOUBLE) / IF(
          COUNT(`t32`.`revenue`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) <= 1,
          CAST(NULL AS DOUBLE),
          CAST(COUNT(`t32`.`revenue`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) - 1 AS DOUBLE)
        )
      )
    ) AS `__pop_85104b9afdee`
  FROM (
    SELECT
      `t31`.`customer_id`,
      `t25`.`revenue`
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
              `t24`.`customer_id`,
              MIN(`t24`.`seen_at`) AS `first_seen_at`
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
            ) AS `t24`
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
        SUM(`t19`.`amount`) AS `revenue`
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
      ) AS `t19`
      GROUP BY
        1
    ) AS `t25`
      ON `t31`.`customer_id` = `t25`.`customer_id`
  ) AS `t32`
) AS `t33`
