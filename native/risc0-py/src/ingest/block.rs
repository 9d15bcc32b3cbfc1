//! One block: its checks, then its rows.
//!
//! The checks are those of `ingest_block` in `coprocessor/indexer/ingest.py`,
//! in its order: header hash and parent link (`check_header`), transaction
//! hashes and transactionsRoot (`check_transactions`), the receipts' count,
//! transaction hashes, gasUsed, receiptsRoot and logsBloom
//! (`check_receipts`), withdrawalsRoot (`check_withdrawals`). Only when all
//! pass does `push_rows` append the block's rows, exactly as the Python path
//! builds them. A failed check is a decline like any other: the Python path
//! is the reference that decides on bad data and names the failed check.

use ethcore::header::{Header, SealedHeader};
use ethcore::keccak::keccak256;
use ethcore::receipt::Receipt;
use ethcore::transaction::transactions_root;
use ethcore::trie::ordered_trie_root;
use ethcore::withdrawal::{withdrawals_root, Withdrawal};

use super::columns::{Cell, Tables};
use super::encode::{consensus_receipt, header_rlp, raw_transaction, receipt_logs, Log};
use super::encode::{transaction_type, withdrawal_rlp, RawTransaction};
use super::hex::{decimal_text, u64_from_be};
use super::json::{fit_u64, Obj, Value};
use super::Result;

/// A header whose hash and parent link were checked.
struct CheckedHeader {
    sealed: SealedHeader,
    /// The RLP the hash was taken of (stored as `header_rlp`).
    rlp: Vec<u8>,
}

/// A transaction whose hash was checked.
struct CheckedTransaction<'j> {
    json: &'j Obj<'j>,
    tx_type: u8,
    input: Vec<u8>,
    raw: Vec<u8>,
    hash: [u8; 32],
}

/// A receipt that belongs to its transaction and is part of the receipts root.
struct CheckedReceipt<'j> {
    json: &'j Obj<'j>,
    tx_type: u8,
    gas_used: u64,
    cumulative_gas_used: u64,
    /// The consensus encoding (stored as `raw`).
    raw: Vec<u8>,
    logs: Vec<Log>,
    bloom: Vec<u8>,
}

/// A block whose every check passed: what its rows are made of.
struct CheckedBlock<'j> {
    number: u64,
    json: &'j Obj<'j>,
    header: CheckedHeader,
    transactions: Vec<CheckedTransaction<'j>>,
    receipts: Vec<CheckedReceipt<'j>>,
    withdrawals: Vec<Withdrawal>,
}

/// Checks block `number` (with its receipts, unless receipts are not indexed)
/// and appends its rows; returns its hash.
pub fn ingest_block(
    tables: &mut Tables,
    number: u64,
    block: &Value<'_>,
    receipts: Option<&Value<'_>>,
    parent_hash: Option<[u8; 32]>,
) -> Result<[u8; 32]> {
    let json = block.object("block")?;
    let header = check_header(number, json, parent_hash)?;
    let transactions = check_transactions(number, json, &header.sealed.header)?;
    let receipts = match receipts {
        Some(receipts) => check_receipts(number, receipts, &transactions, &header.sealed.header)?,
        None => Vec::new(),
    };
    let withdrawals = check_withdrawals(number, json, &header.sealed.header)?;
    let hash = header.sealed.hash;
    push_rows(
        tables,
        &CheckedBlock {
            number,
            json,
            header,
            transactions,
            receipts,
            withdrawals,
        },
    )?;
    Ok(hash)
}

fn check_header(
    number: u64,
    block: &Obj<'_>,
    parent_hash: Option<[u8; 32]>,
) -> Result<CheckedHeader> {
    if u64_from_be(&block.quantity("number")?) != Some(number) {
        return Err(declined!("block {number}: number"));
    }
    let rlp = header_rlp(block)?;
    let sealed =
        SealedHeader::decode(&rlp).map_err(|e| declined!("block {number}: header: {e}"))?;
    sealed
        .header
        .era()
        .map_err(|e| declined!("block {number}: header era: {e}"))?;
    if sealed.hash[..] != block.bytes("hash")?[..] || sealed.header.number != number {
        return Err(declined!("block {number}: header_hash"));
    }
    if parent_hash.is_some_and(|parent| parent != sealed.header.parent_hash) {
        return Err(declined!("block {number}: parent_hash"));
    }
    Ok(CheckedHeader { sealed, rlp })
}

fn check_transactions<'j>(
    number: u64,
    block: &'j Obj<'j>,
    header: &Header,
) -> Result<Vec<CheckedTransaction<'j>>> {
    let items: &[Value<'j>] = match block.present("transactions") {
        None => &[],
        Some(items) => items.array("transactions")?,
    };
    let mut transactions = Vec::with_capacity(items.len());
    for item in items {
        let json = item.object("transaction")?;
        let RawTransaction {
            tx_type,
            raw,
            input,
        } = raw_transaction(json)?;
        let hash = keccak256(&raw);
        if hash[..] != json.bytes("hash")?[..] {
            return Err(declined!("block {number}: transaction_hash"));
        }
        transactions.push(CheckedTransaction {
            json,
            tx_type,
            input,
            raw,
            hash,
        });
    }
    let raws: Vec<&[u8]> = transactions.iter().map(|tx| &tx.raw[..]).collect();
    let root = transactions_root(&raws)
        .map_err(|e| declined!("block {number}: transactions_root: {e}"))?;
    if root != header.transactions_root {
        return Err(declined!("block {number}: transactions_root"));
    }
    Ok(transactions)
}

fn check_receipts<'j>(
    number: u64,
    receipts: &'j Value<'j>,
    transactions: &[CheckedTransaction<'_>],
    header: &Header,
) -> Result<Vec<CheckedReceipt<'j>>> {
    let items = receipts.array("receipts")?;
    if items.len() != transactions.len() {
        return Err(declined!("block {number}: receipt_count"));
    }
    let mut checked = Vec::with_capacity(items.len());
    let mut previous_cumulative: u64 = 0;
    let mut block_bloom = [0u8; 256];
    for (item, transaction) in items.iter().zip(transactions) {
        let json = item.object("receipt")?;
        if json.bytes("transactionHash")?[..] != transaction.hash[..] {
            return Err(declined!("block {number}: receipt_tx_hash"));
        }
        let cumulative_bytes = json.quantity("cumulativeGasUsed")?;
        let cumulative_gas_used = fit_u64(&cumulative_bytes, "cumulativeGasUsed")?;
        // the row stores gasUsed, so it must be there (the Python path decides otherwise)
        let gas_used = json.quantity_u64("gasUsed")?;
        if cumulative_gas_used < previous_cumulative
            || gas_used != cumulative_gas_used - previous_cumulative
        {
            return Err(declined!("block {number}: receipt_gas_used"));
        }
        previous_cumulative = cumulative_gas_used;
        let tx_type = transaction_type(json)?;
        let logs = receipt_logs(json)?;
        let bloom = json.bytes("logsBloom")?;
        let raw = consensus_receipt(json, tx_type, &cumulative_bytes, &bloom, &logs)?;
        // strict decode: the stored bloom equals the one recomputed from the logs
        Receipt::decode_consensus(&raw)
            .map_err(|e| declined!("block {number}: receipts_root: {e}"))?;
        for (block_byte, byte) in block_bloom.iter_mut().zip(&bloom) {
            *block_byte |= byte;
        }
        checked.push(CheckedReceipt {
            json,
            tx_type,
            gas_used,
            cumulative_gas_used,
            raw,
            logs,
            bloom,
        });
    }
    // ethcore's receipts_root re-encodes the decoded receipts; decoding is strict, so
    // the trie of the very bytes stored is the same root (and a stricter check)
    let raws: Vec<&[u8]> = checked.iter().map(|receipt| &receipt.raw[..]).collect();
    let root =
        ordered_trie_root(&raws).map_err(|e| declined!("block {number}: receipts_root: {e}"))?;
    if root != header.receipts_root {
        return Err(declined!("block {number}: receipts_root"));
    }
    if block_bloom != header.logs_bloom.0 {
        return Err(declined!("block {number}: logs_bloom"));
    }
    Ok(checked)
}

fn check_withdrawals(number: u64, block: &Obj<'_>, header: &Header) -> Result<Vec<Withdrawal>> {
    if block.present("withdrawalsRoot").is_none() {
        return Ok(Vec::new());
    }
    let items = block
        .present("withdrawals")
        .ok_or_else(|| declined!("block {number}: withdrawals_missing"))?
        .array("withdrawals")?;
    let mut withdrawals = Vec::with_capacity(items.len());
    for item in items {
        let rlp = withdrawal_rlp(item.object("withdrawal")?)?;
        withdrawals.push(
            Withdrawal::decode(&rlp).map_err(|e| declined!("block {number}: withdrawal: {e}"))?,
        );
    }
    let root = withdrawals_root(&withdrawals)
        .map_err(|e| declined!("block {number}: withdrawals_root: {e}"))?;
    if Some(root) != header.withdrawals_root {
        return Err(declined!("block {number}: withdrawals_root"));
    }
    Ok(withdrawals)
}

/// Appends the rows of a checked block to every table.
fn push_rows(tables: &mut Tables, block: &CheckedBlock<'_>) -> Result<()> {
    push_block_row(tables, block)?;
    push_transaction_rows(tables, block)?;
    push_receipt_and_log_rows(tables, block)?;
    push_withdrawal_rows(tables, block)
}

/// An optional 32-byte header field.
fn optional_hash(value: &Option<[u8; 32]>) -> Cell<'_> {
    Cell::bytes_or_null(value.as_ref().map(|hash| &hash[..]))
}

/// An optional quantity that must fit 64 bits.
fn optional_u64(value: Option<Vec<u8>>, key: &str) -> Result<Cell<'static>> {
    Ok(match value {
        None => Cell::Null,
        Some(bytes) => Cell::UInt(fit_u64(&bytes, key)?),
    })
}

fn push_block_row(tables: &mut Tables, block: &CheckedBlock<'_>) -> Result<()> {
    // header fields as strictly decoded from the RLP built of the JSON: the same bytes
    let header = &block.header.sealed.header;
    tables.blocks.push(vec![
        Cell::UInt(block.number),
        Cell::Bytes(&block.header.sealed.hash),
        Cell::Bytes(&header.parent_hash),
        Cell::Bytes(&header.ommers_hash),
        Cell::Bytes(&header.beneficiary),
        Cell::Bytes(&header.state_root),
        Cell::Bytes(&header.transactions_root),
        Cell::Bytes(&header.receipts_root),
        Cell::Bytes(&header.logs_bloom.0),
        Cell::Text(decimal_text(&block.json.quantity("difficulty")?)),
        Cell::UInt(header.gas_limit),
        Cell::UInt(header.gas_used),
        Cell::UInt(header.timestamp),
        Cell::Bytes(&header.extra_data),
        Cell::Bytes(&header.mix_hash),
        Cell::Bytes(&header.nonce),
        header
            .base_fee_per_gas
            .map_or(Cell::Null, |fee| Cell::Text(fee.to_string())),
        optional_hash(&header.withdrawals_root),
        Cell::uint_or_null(header.blob_gas_used),
        Cell::uint_or_null(header.excess_blob_gas),
        optional_hash(&header.parent_beacon_block_root),
        optional_hash(&header.requests_hash),
        Cell::UInt(block.transactions.len() as u64),
        Cell::Bytes(&block.header.rlp),
    ])
}

fn push_transaction_rows(tables: &mut Tables, block: &CheckedBlock<'_>) -> Result<()> {
    for (index, tx) in block.transactions.iter().enumerate() {
        let json = tx.json;
        let from = json.bytes("from")?;
        let to = json.truthy_bytes("to")?;
        let gas_price = match tx.tx_type {
            0 | 1 => json.optional_quantity("gasPrice")?,
            _ => None,
        };
        let chain_id = match tx.tx_type {
            0 => None,
            _ => json.optional_quantity("chainId")?,
        };
        let max_fee = json.optional_quantity("maxFeePerGas")?;
        let max_priority_fee = json.optional_quantity("maxPriorityFeePerGas")?;
        let max_blob_fee = json.optional_quantity("maxFeePerBlobGas")?;
        tables.transactions.push(vec![
            Cell::UInt(block.number),
            Cell::UInt(index as u64),
            Cell::Bytes(&tx.hash),
            Cell::UInt(tx.tx_type as u64),
            Cell::Bytes(&from),
            Cell::bytes_or_null(to.as_deref()),
            Cell::Text(decimal_text(&json.quantity("value")?)),
            Cell::UInt(json.quantity_u64("nonce")?),
            Cell::UInt(json.quantity_u64("gas")?),
            Cell::decimal_or_null(gas_price.as_deref()),
            Cell::decimal_or_null(max_fee.as_deref()),
            Cell::decimal_or_null(max_priority_fee.as_deref()),
            Cell::decimal_or_null(max_blob_fee.as_deref()),
            optional_u64(chain_id, "chainId")?,
            Cell::Bytes(&tx.input),
            Cell::Bytes(&tx.raw),
        ])?;
    }
    Ok(())
}

fn push_receipt_and_log_rows(tables: &mut Tables, block: &CheckedBlock<'_>) -> Result<()> {
    let mut log_index: u64 = 0;
    for (index, (receipt, tx)) in block.receipts.iter().zip(&block.transactions).enumerate() {
        let json = receipt.json;
        let status = json.optional_quantity("status")?;
        let post_state = match status {
            None => json.truthy_bytes("root")?,
            Some(_) => None,
        };
        let effective_gas_price = json.optional_quantity("effectiveGasPrice")?;
        let contract_address = json.truthy_bytes("contractAddress")?;
        tables.receipts.push(vec![
            Cell::UInt(block.number),
            Cell::UInt(index as u64),
            Cell::Bytes(&tx.hash),
            Cell::UInt(receipt.tx_type as u64),
            optional_u64(status, "status")?,
            Cell::bytes_or_null(post_state.as_deref()),
            Cell::UInt(receipt.gas_used),
            Cell::UInt(receipt.cumulative_gas_used),
            Cell::decimal_or_null(effective_gas_price.as_deref()),
            Cell::bytes_or_null(contract_address.as_deref()),
            Cell::Bytes(&receipt.bloom),
            Cell::UInt(receipt.logs.len() as u64),
            Cell::Bytes(&receipt.raw),
        ])?;
        for log in &receipt.logs {
            let topic = |index: usize| Cell::bytes_or_null(log.topics.get(index).map(|t| &t[..]));
            tables.logs.push(vec![
                Cell::UInt(block.number),
                Cell::UInt(index as u64),
                Cell::UInt(log_index),
                Cell::Bytes(&log.address),
                topic(0),
                topic(1),
                topic(2),
                topic(3),
                Cell::Bytes(&log.data),
            ])?;
            log_index += 1;
        }
    }
    Ok(())
}

fn push_withdrawal_rows(tables: &mut Tables, block: &CheckedBlock<'_>) -> Result<()> {
    for (position, withdrawal) in block.withdrawals.iter().enumerate() {
        tables.withdrawals.push(vec![
            Cell::UInt(block.number),
            Cell::UInt(position as u64),
            Cell::UInt(withdrawal.index),
            Cell::UInt(withdrawal.validator_index),
            Cell::Bytes(&withdrawal.address),
            Cell::UInt(withdrawal.amount_gwei),
        ])?;
    }
    Ok(())
}
