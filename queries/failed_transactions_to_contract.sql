-- failed (reverted) transactions sent to a contract
SELECT block_number, tx_index, hash, "from"
FROM transactions
WHERE "to" = :contract
  AND status = 0
  AND block_number BETWEEN :from_block AND :to_block
ORDER BY block_number, tx_index
