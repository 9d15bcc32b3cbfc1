-- ERC20 allowance owner -> spender at a block (nested mapping allowance[owner][spender])
SELECT value AS allowance
FROM storage
WHERE address = :token
  AND slot = mapping_slot(:allowance_slot, :owner, :spender)
  AND block_number = :block
