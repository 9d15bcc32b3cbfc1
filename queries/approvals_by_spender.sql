-- user-declared event view: largest approval granted to each spender by an owner
SELECT spender, MAX(amount) AS largest, COUNT(*) AS approvals
FROM token_approvals
WHERE address = :token
  AND owner = :owner
  AND block_number BETWEEN :from_block AND :to_block
GROUP BY spender
ORDER BY largest DESC, spender
