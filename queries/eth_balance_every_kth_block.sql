-- ETH balance of an account at every k-th block of a range
SELECT block_number, balance
FROM accounts
WHERE address = :account
  AND block_number BETWEEN :from_block AND :to_block
  AND block_number % :k = 0
ORDER BY block_number
