-- a contract's code hash at a block
SELECT code_hash
FROM accounts
WHERE address = :contract
  AND block_number = :block
