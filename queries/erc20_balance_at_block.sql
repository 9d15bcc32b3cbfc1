-- ERC20 balance of an account at a block, read from the token's storage (balanceOf mapping)
SELECT value AS balance
FROM storage
WHERE address = :token
  AND slot = mapping_slot(:balance_slot, :account)
  AND block_number = :block
