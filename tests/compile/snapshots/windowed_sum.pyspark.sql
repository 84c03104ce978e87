WITH `t15` AS (
  SELECT
    `t2`.`alias_id` AS `__alias`
  FROM `identities` AS `t2`
  WHERE
    `t2`.`linked_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
), `t21` AS (
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
), `t23` AS (
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
), `t33` AS (
  SELECT
    `t28`.`customer_id`
  FROM `t21` AS `t28`
  WHERE
    NOT (
      COALESCE(`t28`.`created_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP), FALSE)
    )
)
SELECT
  *
FROM (
  SELECT
    `t69`.`customer_id`,
    `t55`.`revenue_365d`
  FROM (
    SELECT
      `t67`.`customer_id`
    FROM (
      SELECT
        `t32`.`customer_id`,
        `t66`.`customer_id` AS `customer_id_right`,
        `t66`.`__first_seen_at`
      FROM (
        SELECT
          `t28`.`customer_id`
        FROM `t21` AS `t28`
      ) AS `t32`
      LEFT OUTER JOIN (
        SELECT
          `t64`.`customer_id`,
          `t64`.`first_seen_at` AS `__first_seen_at`
        FROM (
          SELECT
            `t63`.`customer_id`,
            MIN(`t63`.`seen_at`) AS `first_seen_at`
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
                    `t36`.`customer_id`,
                    MIN(`t36`.`ordered_at`) AS `seen_at`
                  FROM (
                    SELECT
                      *
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
                    ) AS `t24`
                    WHERE
                      `t24`.`customer_id` IN (
                        SELECT
                          *
                        FROM `t33`
                      )
                  ) AS `t36`
                  GROUP BY
                    1
                ) AS `t46`
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    `t37`.`customer_id`,
                    MIN(`t37`.`occurred_at`) AS `seen_at`
                  FROM (
                    SELECT
                      *
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
                    ) AS `t29`
                    WHERE
                      `t29`.`customer_id` IN (
                        SELECT
                          *
                        FROM `t33`
                      )
                  ) AS `t37`
                  GROUP BY
                    1
                ) AS `t47`
              ) AS `t56`
              UNION ALL
              SELECT
                *
              FROM (
                SELECT
                  *
                FROM (
                  SELECT
                    `t38`.`customer_id`,
                    MIN(`t38`.`answered_at`) AS `seen_at`
                  FROM (
                    SELECT
                      *
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
                    ) AS `t25`
                    WHERE
                      `t25`.`customer_id` IN (
                        SELECT
                          *
                        FROM `t33`
                      )
                  ) AS `t38`
                  GROUP BY
                    1
                ) AS `t48`
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    `t39`.`customer_id`,
                    MIN(`t39`.`opened_at`) AS `seen_at`
                  FROM (
                    SELECT
                      *
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
                    ) AS `t26`
                    WHERE
                      `t26`.`customer_id` IN (
                        SELECT
                          *
                        FROM `t33`
                      )
                  ) AS `t39`
                  GROUP BY
                    1
                ) AS `t49`
              ) AS `t57`
            ) AS `t60`
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
                    `t40`.`customer_id`,
                    MIN(`t40`.`started_at`) AS `seen_at`
                  FROM (
                    SELECT
                      *
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
                    ) AS `t27`
                    WHERE
                      `t27`.`customer_id` IN (
                        SELECT
                          *
                        FROM `t33`
                      )
                  ) AS `t40`
                  GROUP BY
                    1
                ) AS `t50`
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    `t41`.`customer_id`,
                    MIN(`t41`.`changed_at`) AS `seen_at`
                  FROM (
                    SELECT
                      *
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
                    ) AS `t22`
                    WHERE
                      `t22`.`customer_id` IN (
                        SELECT
                          *
                        FROM `t33`
                      )
                  ) AS `t41`
                  GROUP BY
                    1
                ) AS `t51`
              ) AS `t58`
              UNION ALL
              SELECT
                *
              FROM (
                SELECT
                  *
                FROM (
                  SELECT
                    `t42`.`customer_id`,
                    MIN(`t42`.`linked_at`) AS `seen_at`
                  FROM (
                    SELECT
                      *
                    FROM (
                      SELECT
                        *
                      FROM `identities` AS `t2`
                      WHERE
                        `t2`.`linked_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
                    ) AS `t16`
                    WHERE
                      `t16`.`customer_id` IN (
                        SELECT
                          *
                        FROM `t33`
                      )
                  ) AS `t42`
                  GROUP BY
                    1
                ) AS `t52`
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    *
                  FROM (
                    SELECT
                      `t43`.`customer_id`,
                      MIN(`t43`.`created_at`) AS `seen_at`
                    FROM (
                      SELECT
                        *
                      FROM `t21` AS `t28`
                      WHERE
                        `t28`.`customer_id` IN (
                          SELECT
                            *
                          FROM `t33`
                        )
                    ) AS `t43`
                    GROUP BY
                      1
                  ) AS `t53`
                  UNION ALL
                  SELECT
                    *
                  FROM (
                    SELECT
                      `t44`.`customer_id`,
                      MIN(`t44`.`ordered_at`) AS `seen_at`
                    FROM (
                      SELECT
                        *
                      FROM `t23` AS `t30`
                      WHERE
                        `t30`.`customer_id` IN (
                          SELECT
                            *
                          FROM `t33`
                        )
                    ) AS `t44`
                    GROUP BY
                      1
                  ) AS `t54`
                ) AS `t59`
              ) AS `t61`
            ) AS `t62`
          ) AS `t63`
          GROUP BY
            1
        ) AS `t64`
      ) AS `t66`
        ON `t32`.`customer_id` = `t66`.`customer_id`
    ) AS `t67`
    WHERE
      (
        `t67`.`__first_seen_at` IS NULL
      )
      OR (
        `t67`.`__first_seen_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
      )
  ) AS `t69`
  LEFT OUTER JOIN (
    SELECT
      `t35`.`customer_id`,
      SUM(
        IF(
          `t35`.`ordered_at` > CAST('2023-07-01T23:59:59.999999' AS TIMESTAMP),
          `t35`.`amount`,
          NULL
        )
      ) AS `revenue_365d`
    FROM (
      SELECT
        *
      FROM `t23` AS `t30`
      WHERE
        `t30`.`ordered_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
        AND `t30`.`amount` >= 0
        AND (
          (
            `t30`.`status` IS NULL
          )
          OR NOT (
            LOWER(`t30`.`status`) IN ('cancelled', 'returned')
          )
        )
        AND `t30`.`ordered_at` > CAST('2023-07-01T23:59:59.999999' AS TIMESTAMP)
    ) AS `t35`
    GROUP BY
      1
  ) AS `t55`
    ON `t69`.`customer_id` = `t55`.`customer_id`
) AS `t70`
