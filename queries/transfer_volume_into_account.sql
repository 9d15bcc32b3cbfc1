-- total ERC20 Transfer volume of a token into an account over a block range
SELECT SUM(value) AS volume, COUNT(*) AS transfers
FROM erc20_transfers
WHERE token = :token
  AND "to" = :account
  AND block_number BETWEEN :from_block AND :to_block
