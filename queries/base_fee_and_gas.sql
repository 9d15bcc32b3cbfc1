-- average base fee (exact, rounded down) and maximum gas used over a range of blocks
SELECT AVG(base_fee_per_gas) AS avg_base_fee, MAX(gas_used) AS max_gas_used, COUNT(*) AS blocks
FROM blocks
WHERE block_number BETWEEN :from_block AND :to_block
