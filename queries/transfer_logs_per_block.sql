-- raw logs: number of Transfer logs a token emitted in each block
SELECT block_number, COUNT(*) AS logs
FROM logs
WHERE address = :token
  AND topic0 = 0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef
  AND block_number BETWEEN :from_block AND :to_block
GROUP BY block_number
ORDER BY block_number
