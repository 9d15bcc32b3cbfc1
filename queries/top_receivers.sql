-- the 5 accounts that received the most of a token
SELECT "to" AS receiver, SUM(value) AS volume
FROM erc20_transfers
WHERE token = :token
  AND block_number BETWEEN :from_block AND :to_block
GROUP BY "to"
ORDER BY volume DESC
LIMIT 5
