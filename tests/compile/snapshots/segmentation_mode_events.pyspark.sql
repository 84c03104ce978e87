WITH `t16` AS (
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
        FROM `t16`
      )
    )
), `t23` AS (
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
), `t24` AS (
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
), `t25` AS (
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
), `t37` AS (
  SELECT
    `t29`.`customer_id`
  FROM `t21` AS `t29`
  WHERE
    NOT (
      COALESCE(`t29`.`created_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP), FALSE)
    )
)
SELECT
  `t79`.`customer_id`,
  `t79`.`cat`,
  COALESCE(`t79`.`adds`, 0) AS `adds`,
  CASE
    WHEN COALESCE(`t79`.`cat` = 'x', FALSE)
    THEN 'a'
    WHEN COALESCE(COALESCE(`t79`.`adds`, 0) > 0, FALSE)
    THEN 'b'
    ELSE 'c'
  END AS `__sgm__s`
FROM (
  SELECT
    `t78`.`customer_id`,
    `t73`.`cat`,
    `t67`.`adds`
  FROM (
    SELECT
      `t76`.`customer_id`
    FROM (
      SELECT
        `t34`.`customer_id`,
        `t75`.`customer_id` AS `customer_id_right`,
        `t75`.`__first_seen_at`
      FROM (
        SELECT
          `t29`.`customer_id`
        FROM `t21` AS `t29`
      ) AS `t34`
      LEFT OUTER JOIN (
        SELECT
          `t71`.`customer_id`,
          `t71`.`first_seen_at` AS `__first_seen_at`
        FROM (
          SELECT
            `t70`.`customer_id`,
            MIN(`t70`.`seen_at`) AS `first_seen_at`
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
                    `t40`.`customer_id`,
                    MIN(`t40`.`ordered_at`) AS `seen_at`
                  FROM (
                    SELECT
                      *
                    FROM `t24` AS `t31`
                    WHERE
                      `t31`.`customer_id` IN (
                        SELECT
                          *
                        FROM `t37`
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
                    MIN(`t41`.`occurred_at`) AS `seen_at`
                  FROM (
                    SELECT
                      *
                    FROM `t23` AS `t30`
                    WHERE
                      `t30`.`customer_id` IN (
                        SELECT
                          *
                        FROM `t37`
                      )
                  ) AS `t41`
                  GROUP BY
                    1
                ) AS `t51`
              ) AS `t60`
              UNION ALL
              SELECT
                *
              FROM (
                SELECT
                  *
                FROM (
                  SELECT
                    `t42`.`customer_id`,
                    MIN(`t42`.`answered_at`) AS `seen_at`
                  FROM (
                    SELECT
                      *
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
                    ) AS `t26`
                    WHERE
                      `t26`.`customer_id` IN (
                        SELECT
                          *
                        FROM `t37`
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
                    `t43`.`customer_id`,
                    MIN(`t43`.`opened_at`) AS `seen_at`
                  FROM (
                    SELECT
                      *
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
                    ) AS `t27`
                    WHERE
                      `t27`.`customer_id` IN (
                        SELECT
                          *
                        FROM `t37`
                      )
                  ) AS `t43`
                  GROUP BY
                    1
                ) AS `t53`
              ) AS `t61`
            ) AS `t65`
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
                    `t44`.`customer_id`,
                    MIN(`t44`.`started_at`) AS `seen_at`
                  FROM (
                    SELECT
                      *
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
                    ) AS `t28`
                    WHERE
                      `t28`.`customer_id` IN (
                        SELECT
                          *
                        FROM `t37`
                      )
                  ) AS `t44`
                  GROUP BY
                    1
                ) AS `t54`
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    `t45`.`customer_id`,
                    MIN(`t45`.`changed_at`) AS `seen_at`
                  FROM (
                    SELECT
                      *
                    FROM (
                      SELECT
                        *
                      FROM `customer_changes` AS `t5`
                      WHERE
                        NOT (
                          `t5`.`customer_id` IN (
                            SELECT
                              *
                            FROM `t16`
                          )
                        )
                    ) AS `t22`
                    WHERE
                      `t22`.`customer_id` IN (
                        SELECT
                          *
                        FROM `t37`
                      )
                  ) AS `t45`
                  GROUP BY
                    1
                ) AS `t55`
              ) AS `t62`
              UNION ALL
              SELECT
                *
              FROM (
                SELECT
                  *
                FROM (
                  SELECT
                    `t46`.`customer_id`,
                    MIN(`t46`.`linked_at`) AS `seen_at`
                  FROM (
                    SELECT
                      *
                    FROM (
                      SELECT
                        *
                      FROM `identities` AS `t2`
                      WHERE
                        `t2`.`linked_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
                    ) AS `t17`
                    WHERE
                      `t17`.`customer_id` IN (
                        SELECT
                          *
                        FROM `t37`
                      )
                  ) AS `t46`
                  GROUP BY
                    1
                ) AS `t56`
                UNION ALL
                SELECT
                  *
                FROM (
                  SELECT
                    *
                  FROM (
                    SELECT
                      `t47`.`customer_id`,
                      MIN(`t47`.`created_at`) AS `seen_at`
                    FROM (
                      SELECT
                        *
                      FROM `t21` AS `t29`
                      WHERE
                        `t29`.`customer_id` IN (
                          SELECT
                            *
                          FROM `t37`
                        )
                    ) AS `t47`
                    GROUP BY
                      1
                  ) AS `t57`
                  UNION ALL
                  SELECT
                    *
                  FROM (
                    SELECT
                      `t48`.`customer_id`,
                      MIN(`t48`.`ordered_at`) AS `seen_at`
                    FROM (
                      SELECT
                        *
                      FROM `t25` AS `t32`
                      WHERE
                        `t32`.`customer_id` IN (
                          SELECT
                            *
                          FROM `t37`
                        )
                    ) AS `t48`
                    GROUP BY
                      1
                  ) AS `t58`
                ) AS `t63`
              ) AS `t66`
            ) AS `t69`
          ) AS `t70`
          GROUP BY
            1
        ) AS `t71`
      ) AS `t75`
        ON `t34`.`customer_id` = `t75`.`customer_id`
    ) AS `t76`
    WHERE
      (
        `t76`.`__first_seen_at` IS NULL
      )
      OR (
        `t76`.`__first_seen_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
      )
  ) AS `t78`
  LEFT OUTER JOIN (
    SELECT
      `t68`.`customer_id`,
      MIN_BY(`t68`.`value`, STRUCT(-(
        `t68`.`n`
      ) AS `n`, `t68`.`value` AS `value`)) AS `cat`
    FROM (
      SELECT
        `t59`.`customer_id`,
        `t59`.`category` AS `value`,
        COUNT(*) AS `n`
      FROM (
        SELECT
          *
        FROM (
          SELECT
            *
          FROM (
            SELECT
              `t31`.`order_id`,
              `t31`.`line`,
              `t31`.`customer_id`,
              `t31`.`ordered_at`,
              `t31`.`category`
            FROM `t24` AS `t31`
            WHERE
              `t31`.`ordered_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
          ) AS `t36`
          WHERE
            `t36`.`order_id` IN (
              SELECT
                `t32`.`order_id`
              FROM `t25` AS `t32`
              WHERE
                `t32`.`amount` >= 0
                AND (
                  (
                    `t32`.`status` IS NULL
                  )
                  OR NOT (
                    LOWER(`t32`.`status`) IN ('cancelled', 'returned')
                  )
                )
            )
        ) AS `t49`
        WHERE
          `t49`.`ordered_at` > CAST('2024-04-01T23:59:59.999999' AS TIMESTAMP)
          AND `t49`.`category` IS NOT NULL
      ) AS `t59`
      GROUP BY
        1,
        2
    ) AS `t68`
    GROUP BY
      1
  ) AS `t73`
    ON `t78`.`customer_id` = `t73`.`customer_id`
  LEFT OUTER JOIN (
    SELECT
      `t35`.`customer_id`,
      SUM(
        CAST((
          `t35`.`occurred_at` > CAST('2024-06-16T23:59:59.999999' AS TIMESTAMP)
        )
        AND (
          `t35`.`occurred_at` <= CAST('2024-06-23T23:59:59.999999' AS TIMESTAMP)
        )
        AND (
          COALESCE(`t35`.`event` = 'cart_add', FALSE)
          AND COALESCE(TRY_CAST(GET_JSON_OBJECT(`t35`.`properties`, '$.value') AS DOUBLE) > 5, FALSE)
        ) AS BIGINT)
      ) AS `adds`
    FROM (
      SELECT
        *
      FROM `t23` AS `t30`
      WHERE
        `t30`.`occurred_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
        AND `t30`.`occurred_at` > CAST('2024-06-16T23:59:59.999999' AS TIMESTAMP)
    ) AS `t35`
    GROUP BY
      1
  ) AS `t67`
    ON `t78`.`customer_id` = `t67`.`customer_id`
) AS `t79`
