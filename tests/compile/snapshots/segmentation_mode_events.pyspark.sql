SELECT
  `t17`.`customer_id`,
  `t17`.`cat`,
  COALESCE(`t17`.`adds`, 0) AS `adds`,
  CASE
    WHEN COALESCE(`t17`.`cat` = 'x', FALSE)
    THEN 'a'
    WHEN COALESCE(COALESCE(`t17`.`adds`, 0) > 0, FALSE)
    THEN 'b'
    ELSE 'c'
  END AS `__sgm__s`
FROM (
  SELECT
    `t7`.`customer_id`,
    `t16`.`cat`,
    `t12`.`adds`
  FROM (
    SELECT
      `t0`.`customer_id`
    FROM `customers` AS `t0`
    WHERE
      (
        `t0`.`created_at` IS NULL
      )
      OR (
        `t0`.`created_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
      )
  ) AS `t7`
  LEFT OUTER JOIN (
    SELECT
      `t14`.`customer_id`,
      `t14`.`value` AS `cat`
    FROM (
      SELECT
        `t13`.`customer_id`,
        `t13`.`value`,
        `t13`.`n`,
        ROW_NUMBER() OVER (
          PARTITION BY `t13`.`customer_id`
          ORDER BY `t13`.`n` DESC, `t13`.`value` ASC NULLS LAST
        ) - 1 AS `rn`
      FROM (
        SELECT
          `t10`.`customer_id`,
          `t10`.`category` AS `value`,
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
            ) AS `t5`
            WHERE
              `t5`.`order_id` IN (
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
          ) AS `t9`
          WHERE
            `t9`.`ordered_at` > CAST('2024-04-01T23:59:59.999999' AS TIMESTAMP)
            AND `t9`.`category` IS NOT NULL
        ) AS `t10`
        GROUP BY
          1,
          2
      ) AS `t13`
    ) AS `t14`
    WHERE
      `t14`.`rn` = 0
  ) AS `t16`
    ON `t7`.`customer_id` = `t16`.`customer_id`
  LEFT OUTER JOIN (
    SELECT
      `t4`.`customer_id`,
      SUM(
        CAST((
          `t4`.`occurred_at` > CAST('2024-06-16T23:59:59.999999' AS TIMESTAMP)
        )
        AND (
          `t4`.`occurred_at` <= CAST('2024-06-23T23:59:59.999999' AS TIMESTAMP)
        )
        AND (
          COALESCE(`t4`.`event` = 'cart_add', FALSE)
          AND COALESCE(TRY_CAST(GET_JSON_OBJECT(`t4`.`properties`, '$.value') AS DOUBLE) > 5, FALSE)
        ) AS BIGINT)
      ) AS `adds`
    FROM (
      SELECT
        `t1`.`event_id`,
        `t1`.`customer_id`,
        `t1`.`event`,
        `t1`.`occurred_at`,
        CAST(`t1`.`properties` AS STRING) AS `properties`
      FROM `events` AS `t1`
      WHERE
        `t1`.`occurred_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
        AND `t1`.`occurred_at` > CAST('2024-06-16T23:59:59.999999' AS TIMESTAMP)
    ) AS `t4`
    GROUP BY
      1
  ) AS `t12`
    ON `t7`.`customer_id` = `t12`.`customer_id`
) AS `t17`
