WITH `t15` AS (
  SELECT
    `t2`.`alias_id` AS `__alias`
  FROM `identities` AS `t2`
  WHERE
    `t2`.`linked_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
), `t22` AS (
  SELECT
    *
  FROM `customers` AS `t0`
  WHERE
    NOT (
      `t0`.`customer_id` IN (
        SELECT
          *
        FROM `t15`
      )
    )
), `t24` AS (
  SELECT
    `t9`.`order_id`,
    COALESCE(`t18`.`__linked_to`, `t9`.`customer_id`) AS `customer_id`,
    `t9`.`ordered_at`,
    `t9`.`amount`,
    `t9`.`status`,
    `t9`.`channel`,
    `t9`.`currency`,
    `t9`.`discount`
  FROM `orders` AS `t9`
  LEFT OUTER JOIN (
    SELECT
      `t2`.`alias_id` AS `__alias`,
      `t2`.`customer_id` AS `__linked_to`
    FROM `identities` AS `t2`
    WHERE
      `t2`.`linked_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
  ) AS `t18`
    ON `t9`.`customer_id` = `t18`.`__alias`
)
SELECT
  `t60`.`customer_id`,
  `t60`.`revenue`,
  `t60`.`__pop_85104b9afdee`,
  COALESCE(`t60`.`__pop_85104b9afdee` >= CAST('0.8' AS DECIMAL(38, 1)), FALSE)
  AND COALESCE(
    (
      CAST(`t60`.`revenue` AS DOUBLE) / IF(CAST(2 AS DOUBLE) = 0, CAST(NULL AS DOUBLE), CAST(2 AS DOUBLE))
    ) > 10,
    FALSE
  ) AS `__seg__top`
FROM (
  SELECT
    `t59`.`customer_id`,
    `t59`.`revenue`,
    IF(
      `t59`.`revenue` IS NULL,
      CAST(NULL AS DOUBLE),
      IF(
        COUNT(`t59`.`revenue`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) <= 1,
        0.0,
        CAST(RANK() OVER (PARTITION BY `t59`.`revenue` IS NULL ORDER BY `t59`.`revenue` ASC NULLS LAST) - 1 AS DOUBLE) / IF(
          COUNT(`t59`.`revenue`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) <= 1,
          CAST(NULL AS DOUBLE),
          CAST(COUNT(`t59`.`revenue`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) - 1 AS DOUBLE)
        )
      )
    ) AS `__pop_85104b9afdee`
  FROM (
    SELECT
      `t58`.`customer_id`,
      `t53`.`revenue`
    FROM (
      SELECT
        `t56`.`customer_id`
      FROM (
        SELECT
          `t38`.`customer_id`,
          `t55`.`customer_id` AS `customer_id_right`,
          `t55`.`__first_seen_at`
        FROM (
          SELECT
            `t29`.`customer_id`
          FROM `t22` AS `t29`
        ) AS `t38`
        LEFT OUTER JOIN (
          SELECT
            `t52`.`customer_id`,
            `t52`.`first_seen_at` AS `__first_seen_at`
          FROM (
            SELECT
              `t50`.`customer_id`,
              MIN(`t50`.`seen_at`) AS `first_seen_at`
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
                      `t25`.`customer_id`,
                      MIN(`t25`.`ordered_at`) AS `seen_at`
                    FROM (
                      SELECT
                        `t10`.`order_id`,
                        `t10`.`line`,
                        COALESCE(`t18`.`__linked_to`, `t10`.`customer_id`) AS `customer_id`,
                        `t10`.`ordered_at`,
                        `t10`.`product_id`,
                        `t10`.`quantity`,
                        `t10`.`unit_price`,
                        `t10`.`category`,
                        `t10`.`product_name`
                      FROM `order_items` AS `t10`
                      LEFT OUTER JOIN (
                        SELECT
                          `t2`.`alias_id` AS `__alias`,
                          `t2`.`customer_id` AS `__linked_to`
                        FROM `identities` AS `t2`
                        WHERE
                          `t2`.`linked_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
                      ) AS `t18`
                        ON `t10`.`customer_id` = `t18`.`__alias`
                    ) AS `t25`
                    GROUP BY
                      1
                  ) AS `t34`
                  UNION ALL
                  SELECT
                    *
                  FROM (
                    SELECT
                      `t30`.`customer_id`,
                      MIN(`t30`.`occurred_at`) AS `seen_at`
                    FROM (
                      SELECT
                        `t20`.`event_id`,
                        COALESCE(`t18`.`__linked_to`, `t20`.`customer_id`) AS `customer_id`,
                        `t20`.`event`,
                        `t20`.`occurred_at`,
                        `t20`.`properties`
                      FROM (
                        SELECT
                          `t8`.`event_id`,
                          `t8`.`customer_id`,
                          `t8`.`event`,
                          `t8`.`occurred_at`,
                          CAST(`t8`.`properties` AS STRING) AS `properties`
                        FROM `events` AS `t8`
                      ) AS `t20`
                      LEFT OUTER JOIN (
                        SELECT
                          `t2`.`alias_id` AS `__alias`,
                          `t2`.`customer_id` AS `__linked_to`
                        FROM `identities` AS `t2`
                        WHERE
                          `t2`.`linked_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
                      ) AS `t18`
                        ON `t20`.`customer_id` = `t18`.`__alias`
                    ) AS `t30`
                    GROUP BY
                      1
                  ) AS `t40`
                ) AS `t44`
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    *
                  FROM (
                    SELECT
                      `t26`.`customer_id`,
                      MIN(`t26`.`answered_at`) AS `seen_at`
                    FROM (
                      SELECT
                        COALESCE(`t18`.`__linked_to`, `t11`.`customer_id`) AS `customer_id`,
                        `t11`.`question`,
                        `t11`.`answer`,
                        `t11`.`answered_at`,
                        `t11`.`survey`
                      FROM `responses` AS `t11`
                      LEFT OUTER JOIN (
                        SELECT
                          `t2`.`alias_id` AS `__alias`,
                          `t2`.`customer_id` AS `__linked_to`
                        FROM `identities` AS `t2`
                        WHERE
                          `t2`.`linked_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
                      ) AS `t18`
                        ON `t11`.`customer_id` = `t18`.`__alias`
                    ) AS `t26`
                    GROUP BY
                      1
                  ) AS `t35`
                  UNION ALL
                  SELECT
                    *
                  FROM (
                    SELECT
                      `t27`.`customer_id`,
                      MIN(`t27`.`opened_at`) AS `seen_at`
                    FROM (
                      SELECT
                        `t12`.`ticket_id`,
                        COALESCE(`t18`.`__linked_to`, `t12`.`customer_id`) AS `customer_id`,
                        `t12`.`opened_at`,
                        `t12`.`first_response_at`,
                        `t12`.`resolved_at`,
                        `t12`.`csat`,
                        `t12`.`channel`,
                        `t12`.`topic`
                      FROM `tickets` AS `t12`
                      LEFT OUTER JOIN (
                        SELECT
                          `t2`.`alias_id` AS `__alias`,
                          `t2`.`customer_id` AS `__linked_to`
                        FROM `identities` AS `t2`
                        WHERE
                          `t2`.`linked_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
                      ) AS `t18`
                        ON `t12`.`customer_id` = `t18`.`__alias`
                    ) AS `t27`
                    GROUP BY
                      1
                  ) AS `t36`
                ) AS `t42`
              ) AS `t46`
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
                      `t28`.`customer_id`,
                      MIN(`t28`.`started_at`) AS `seen_at`
                    FROM (
                      SELECT
                        `t13`.`subscription_id`,
                        COALESCE(`t18`.`__linked_to`, `t13`.`customer_id`) AS `customer_id`,
                        `t13`.`started_at`,
                        `t13`.`plan`,
                        `t13`.`mrr`,
                        `t13`.`renews_at`,
                        `t13`.`cancelled_at`,
                        `t13`.`cancel_reason`
                      FROM `subscriptions` AS `t13`
                      LEFT OUTER JOIN (
                        SELECT
                          `t2`.`alias_id` AS `__alias`,
                          `t2`.`customer_id` AS `__linked_to`
                        FROM `identities` AS `t2`
                        WHERE
                          `t2`.`linked_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
                      ) AS `t18`
                        ON `t13`.`customer_id` = `t18`.`__alias`
                    ) AS `t28`
                    GROUP BY
                      1
                  ) AS `t37`
                  UNION ALL
                  SELECT
                    *
                  FROM (
                    SELECT
                      `t23`.`customer_id`,
                      MIN(`t23`.`changed_at`) AS `seen_at`
                    FROM (
                      SELECT
                        *
                      FROM `customer_changes` AS `t3`
                      WHERE
                        NOT (
                          `t3`.`customer_id` IN (
                            SELECT
                              *
                            FROM `t15`
                          )
                        )
                    ) AS `t23`
                    GROUP BY
                      1
                  ) AS `t33`
                ) AS `t43`
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    *
                  FROM (
                    SELECT
                      `t16`.`customer_id`,
                      MIN(`t16`.`linked_at`) AS `seen_at`
                    FROM (
                      SELECT
                        *
                      FROM `identities` AS `t2`
                      WHERE
                        `t2`.`linked_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
                    ) AS `t16`
                    GROUP BY
                      1
                  ) AS `t21`
                  UNION ALL
                  SELECT
                    *
                  FROM (
                    SELECT
                      *
                    FROM (
                      SELECT
                        `t29`.`customer_id`,
                        MIN(`t29`.`created_at`) AS `seen_at`
                      FROM `t22` AS `t29`
                      GROUP BY
                        1
                    ) AS `t39`
                    UNION ALL
                    SELECT
                      *
                    FROM (
                      SELECT
                        `t31`.`customer_id`,
                        MIN(`t31`.`ordered_at`) AS `seen_at`
                      FROM `t24` AS `t31`
                      GROUP BY
                        1
                    ) AS `t41`
                  ) AS `t45`
                ) AS `t47`
              ) AS `t48`
            ) AS `t50`
            GROUP BY
              1
          ) AS `t52`
        ) AS `t55`
          ON `t38`.`customer_id` = `t55`.`customer_id`
      ) AS `t56`
      WHERE
        (
          `t56`.`__first_seen_at` IS NULL
        )
        OR (
          `t56`.`__first_seen_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
        )
    ) AS `t58`
    LEFT OUTER JOIN (
      SELECT
        `t49`.`customer_id`,
        SUM(`t49`.`amount`) AS `revenue`
      FROM (
        SELECT
          *
        FROM `t24` AS `t31`
        WHERE
          `t31`.`ordered_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
          AND `t31`.`amount` >= 0
          AND (
            (
              `t31`.`status` IS NULL
            )
            OR NOT (
              LOWER(`t31`.`status`) IN ('cancelled', 'returned')
            )
          )
      ) AS `t49`
      GROUP BY
        1
    ) AS `t53`
      ON `t58`.`customer_id` = `t53`.`customer_id`
  ) AS `t59`
) AS `t60`
