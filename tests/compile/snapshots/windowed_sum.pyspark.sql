SELECT
  *
FROM (
  SELECT
    `t3`.`customer_id`,
    `t6`.`revenue_365d`
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
  ) AS `t3`
  LEFT OUTER JOIN (
    SELECT
      `t4`.`customer_id`,
      SUM(
        IF(
          `t4`.`ordered_at` > CAST('2023-07-01T23:59:59.999999' AS TIMESTAMP),
          `t4`.`amount`,
          NULL
        )
      ) AS `revenue_365d`
    FROM (
      SELECT
        *
      FROM `orders` AS `t1`
      WHERE
        `t1`.`ordered_at` <= CAST('2024-06-30T23:59:59.999999' AS TIMESTAMP)
        AND `t1`.`amount` >= 0
        AND (
          (
            `t1`.`status` IS NULL
          )
          OR NOT (
            LOWER(`t1`.`status`) IN ('cancelled', 'returned')
          )
        )
        AND `t1`.`ordered_at` > CAST('2023-07-01T23:59:59.999999' AS TIMESTAMP)
    ) AS `t4`
    GROUP BY
      1
  ) AS `t6`
    ON `t3`.`customer_id` = `t6`.`customer_id`
) AS `t7`
