-- number of distinct accounts that sent transactions to a contract
SELECT COUNT(DISTINCT "from") AS senders
FROM transactions
WHERE "to" = :contract
  AND block_number BETWEEN :from_block AND :to_block
