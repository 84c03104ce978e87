WITH `t16` AS (
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
        FROM `t16`
      )
    )
), `t24` AS (
  SELECT
    `t18`.`event_id`,
    COALESCE(`t19`.`__linked_to`, `t18`.`customer_id`) AS `customer_id`,
    `t18`.`event`,
    `t18`.`occurred_at`,
    `t18`.`properties`
  FROM (
    SELECT
      `t1`.`event_id`,
      `t1`.`customer_id`,
      `t1`.`event`,
      `t1`.`occurred_at`,
      CAST(`t1`.`properties` AS STRING) AS `properties`
    FROM `events` AS `t1`
  ) AS `t18`
  LEFT OUTER JOIN (
    SELECT
      `t2`.`alias_id` AS `__alias`,
      `t2`.`customer_id` AS `__linked_to`
    FROM `identities` AS `t2`
    WHERE
      `t2`.`linked_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
  ) AS `t19`
    ON `t18`.`customer_id` = `t19`.`__alias`
), `t25` AS (
  SELECT
    `t9`.`order_id`,
    `t9`.`line`,
    COALESCE(`t19`.`__linked_to`, `t9`.`customer_id`) AS `customer_id`,
    `t9`.`ordered_at`,
    `t9`.`product_id`,
    `t9`.`quantity`,
    `t9`.`unit_price`,
    `t9`.`category`,
    `t9`.`product_name`
  FROM `order_items` AS `t9`
  LEFT OUTER JOIN (
    SELECT
      `t2`.`alias_id` AS `__alias`,
      `t2`.`customer_id` AS `__linked_to`
    FROM `identities` AS `t2`
    WHERE
      `t2`.`linked_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
  ) AS `t19`
    ON `t9`.`customer_id` = `t19`.`__alias`
), `t26` AS (
  SELECT
    `t10`.`order_id`,
    COALESCE(`t19`.`__linked_to`, `t10`.`customer_id`) AS `customer_id`,
    `t10`.`ordered_at`,
    `t10`.`amount`,
    `t10`.`status`,
    `t10`.`channel`,
    `t10`.`currency`,
    `t10`.`discount`
  FROM `orders` AS `t10`
  LEFT OUTER JOIN (
    SELECT
      `t2`.`alias_id` AS `__alias`,
      `t2`.`customer_id` AS `__linked_to`
    FROM `identities` AS `t2`
    WHERE
      `t2`.`linked_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
  ) AS `t19`
    ON `t10`.`customer_id` = `t19`.`__alias`
)
SELECT
  `t69`.`customer_id`,
  `t69`.`cat`,
  COALESCE(`t69`.`adds`, 0) AS `adds`,
  CASE
    WHEN COALESCE(`t69`.`cat` = 'x', FALSE)
    THEN 'a'
    WHEN COALESCE(COALESCE(`t69`.`adds`, 0) > 0, FALSE)
    THEN 'b'
    ELSE 'c'
  END AS `__sgm__s`
FROM (
  SELECT
    `t68`.`customer_id`,
    `t67`.`cat`,
    `t60`.`adds`
  FROM (
    SELECT
      `t63`.`customer_id`
    FROM (
      SELECT
        `t39`.`customer_id`,
        `t62`.`customer_id` AS `customer_id_right`,
        `t62`.`__first_seen_at`
      FROM (
        SELECT
          `t30`.`customer_id`
        FROM `t22` AS `t30`
      ) AS `t39`
      LEFT OUTER JOIN (
        SELECT
          `t56`.`customer_id`,
          `t56`.`first_seen_at` AS `__first_seen_at`
        FROM (
          SELECT
            `t54`.`customer_id`,
            MIN(`t54`.`seen_at`) AS `first_seen_at`
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
                    `t32`.`customer_id`,
                    MIN(`t32`.`ordered_at`) AS `seen_at`
                  FROM `t25` AS `t32`
                  GROUP BY
                    1
                ) AS `t44`
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    `t31`.`customer_id`,
                    MIN(`t31`.`occurred_at`) AS `seen_at`
                  FROM `t24` AS `t31`
                  GROUP BY
                    1
                ) AS `t42`
              ) AS `t48`
              UNION ALL
              SELECT
                *
              FROM (
                SELECT
                  *
                FROM (
                  SELECT
                    `t27`.`customer_id`,
                    MIN(`t27`.`answered_at`) AS `seen_at`
                  FROM (
                    SELECT
                      COALESCE(`t19`.`__linked_to`, `t11`.`customer_id`) AS `customer_id`,
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
                    ) AS `t19`
                      ON `t11`.`customer_id` = `t19`.`__alias`
                  ) AS `t27`
                  GROUP BY
                    1
                ) AS `t36`
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    `t28`.`customer_id`,
                    MIN(`t28`.`opened_at`) AS `seen_at`
                  FROM (
                    SELECT
                      `t12`.`ticket_id`,
                      COALESCE(`t19`.`__linked_to`, `t12`.`customer_id`) AS `customer_id`,
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
                    ) AS `t19`
                      ON `t12`.`customer_id` = `t19`.`__alias`
                  ) AS `t28`
                  GROUP BY
                    1
                ) AS `t37`
              ) AS `t46`
            ) AS `t50`
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
                    `t29`.`customer_id`,
                    MIN(`t29`.`started_at`) AS `seen_at`
                  FROM (
                    SELECT
                      `t13`.`subscription_id`,
                      COALESCE(`t19`.`__linked_to`, `t13`.`customer_id`) AS `customer_id`,
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
                    ) AS `t19`
                      ON `t13`.`customer_id` = `t19`.`__alias`
                  ) AS `t29`
                  GROUP BY
                    1
                ) AS `t38`
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
                    FROM `customer_changes` AS `t4`
                    WHERE
                      NOT (
                        `t4`.`customer_id` IN (
                          SELECT
                            *
                          FROM `t16`
                        )
                      )
                  ) AS `t23`
                  GROUP BY
                    1
                ) AS `t35`
              ) AS `t47`
              UNION ALL
              SELECT
                *
              FROM (
                SELECT
                  *
                FROM (
                  SELECT
                    `t17`.`customer_id`,
                    MIN(`t17`.`linked_at`) AS `seen_at`
                  FROM (
                    SELECT
                      *
                    FROM `identities` AS `t2`
                    WHERE
                      `t2`.`linked_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
                  ) AS `t17`
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
                      `t30`.`customer_id`,
                      MIN(`t30`.`created_at`) AS `seen_at`
                    FROM `t22` AS `t30`
                    GROUP BY
                      1
                  ) AS `t40`
                  UNION ALL
                  SELECT
                    *
                  FROM (
                    SELECT
                      `t33`.`customer_id`,
                      MIN(`t33`.`ordered_at`) AS `seen_at`
                    FROM `t26` AS `t33`
                    GROUP BY
                      1
                  ) AS `t45`
                ) AS `t49`
              ) AS `t51`
            ) AS `t53`
          ) AS `t54`
          GROUP BY
            1
        ) AS `t56`
      ) AS `t62`
        ON `t39`.`customer_id` = `t62`.`customer_id`
    ) AS `t63`
    WHERE
      (
        `t63`.`__first_seen_at` IS NULL
      )
      OR (
        `t63`.`__first_seen_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
      )
  ) AS `t68`
  LEFT OUTER JOIN (
    SELECT
      `t64`.`customer_id`,
      `t64`.`value` AS `cat`
    FROM (
      SELECT
        `t61`.`customer_id`,
        `t61`.`value`,
        `t61`.`n`,
        ROW_NUMBER() OVER (
          PARTITION BY `t61`.`customer_id`
          ORDER BY `t61`.`n` DESC, `t61`.`value` ASC NULLS LAST
        ) - 1 AS `rn`
      FROM (
        SELECT
          `t57`.`customer_id`,
          `t57`.`category` AS `value`,
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
              FROM `t25` AS `t32`
              WHERE
                `t32`.`ordered_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
            ) AS `t43`
            WHERE
              `t43`.`order_id` IN (
                SELECT
                  `t33`.`order_id`
                FROM `t26` AS `t33`
                WHERE
                  `t33`.`amount` >= 0
                  AND (
                    (
                      `t33`.`status` IS NULL
                    )
                    OR NOT (
                      LOWER(`t33`.`status`) IN ('cancelled', 'returned')
                    )
                  )
              )
          ) AS `t55`
          WHERE
            `t55`.`ordered_at` > CAST('2024-04-01T23:59:59.999999' AS TIMESTAMP)
            AND `t55`.`category` IS NOT NULL
        ) AS `t57`
        GROUP BY
          1,
          2
      ) AS `t61`
    ) AS `t64`
    WHERE
      `t64`.`rn` = 0
  ) AS `t67`
    ON `t68`.`customer_id` = `t67`.`customer_id`
  LEFT OUTER JOIN (
    SELECT
      `t41`.`customer_id`,
      SUM(
        CAST((
          `t41`.`occurred_at` > CAST('2024-06-16T23:59:59.999999' AS TIMESTAMP)
        )
        AND (
          `t41`.`occurred_at` <= CAST('2024-06-23T23:59:59.999999' AS TIMESTAMP)
        )
        AND (
          COALESCE(`t41`.`event` = 'cart_add', FALSE)
          AND COALESCE(TRY_CAST(GET_JSON_OBJECT(`t41`.`properties`, '$.value') AS DOUBLE) > 5, FALSE)
        ) AS BIGINT)
      ) AS `adds`
    FROM (
      SELECT
        *
      FROM `t24` AS `t31`
      WHERE
        `t31`.`occurred_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
        AND `t31`.`occurred_at` > CAST('2024-06-16T23:59:59.999999' AS TIMESTAMP)
    ) AS `t41`
    GROUP BY
      1
  ) AS `t60`
    ON `t68`.`customer_id` = `t60`.`customer_id`
) AS `t69`
