//! The witness (PLAN.md "Witness"): header chain, per-block scan items, state
//! proofs; every row is built from data checked against the anchor.

use alloc::vec::Vec;
use ethcore::bloom::address_topic_absent;
use ethcore::chain::verify_chain_rlp;
use ethcore::header::SealedHeader;
use ethcore::mpt::verify_account_proof;
use ethcore::receipt::{Outcome, Receipt};
use ethcore::rlp::{self, ListReader};
use ethcore::transaction::{
    recover_sender, recover_sender_frontier, transactions_root, Transaction,
};
use ethcore::trie::ordered_trie_root;
use ethcore::{Error as EthError, EMPTY_CODE_HASH, EMPTY_ROOT, U256};

use crate::eval::{eval, keeps, Ctx};
use crate::plan::{Plan, Source, EV_ADDRESS, EV_BOOL, EV_UINT};
use crate::{Error, Result, Value};

/// Block modes.
pub const MODE_BLOOM_SKIP: u64 = 1;
/// all receipts
pub const MODE_RECEIPTS: u64 = 2;
/// all transactions and receipts
pub const MODE_TXS_RECEIPTS: u64 = 3;

/// What the scan proved.
pub struct Scanned {
    /// newest header's number
    pub anchor_number: u64,
    /// newest header's hash
    pub anchor_hash: [u8; 32],
    /// rows where the filter is TRUE, in scan order
    pub kept: Vec<Vec<Value>>,
}

struct Rows<'p> {
    plan: &'p Plan,
    kept: Vec<Vec<Value>>,
}

impl Rows<'_> {
    fn push(&mut self, row: Vec<Value>) -> Result<()> {
        if keeps(&self.plan.filter, &row)? {
            self.kept.push(row);
        }
        Ok(())
    }
}

fn strings<'a>(mut l: ListReader<'a>) -> Result<Vec<&'a [u8]>> {
    let mut out = Vec::new();
    while !l.is_empty() {
        out.push(l.bytes()?);
    }
    Ok(out)
}

/// Mainnet's Homestead block: before it a legacy signature may have a high `s`.
pub const MAINNET_HOMESTEAD: u64 = 1_150_000;

/// Column `from` of the transactions source.
pub const TX_FROM: usize = 4;

/// Verify the witness against the plan and return the kept rows.
pub fn scan(plan: &Plan, witness: &[u8], chain_id: u64) -> Result<Scanned> {
    let mut w = rlp::list_exact(witness)?;
    if w.u64()? != 1 {
        return Err(Error::Invalid("witness version is not 1"));
    }
    let anchor_number = w.u64()?;
    let anchor_hash = w.fixed::<32>()?;
    let headers_rlp = strings(w.list()?)?;
    let blocks = w.list()?;
    let state = w.list()?;
    w.finish()?;

    // headers first_block ..= anchor, linked by parent hash to the anchor hash
    if headers_rlp.len() as u64 > crate::check::MAX_BLOCKS {
        return Err(Error::Invalid("more headers than a witness may hold"));
    }
    let headers = verify_chain_rlp(&headers_rlp, &anchor_hash)?;
    if headers[0].header.number != plan.first_block {
        return Err(Error::Invalid(
            "oldest header is not the plan's first block",
        ));
    }
    if headers[headers.len() - 1].header.number != anchor_number {
        return Err(Error::Invalid("newest header is not the anchor number"));
    }
    if plan.last_block > anchor_number {
        return Err(Error::Invalid("plan's last block is after the anchor"));
    }
    let header = |n: u64| -> &SealedHeader { &headers[(n - plan.first_block) as usize] };

    let mut rows = Rows {
        plan,
        kept: Vec::new(),
    };
    let scans_blocks = matches!(
        plan.source,
        Source::Transactions | Source::Receipts | Source::Logs | Source::Event { .. }
    );
    if !scans_blocks && !blocks.is_empty() {
        return Err(Error::Invalid(
            "block items for a source that does not scan blocks",
        ));
    }
    if !matches!(
        plan.source,
        Source::Accounts { .. } | Source::Storage { .. }
    ) && !state.is_empty()
    {
        return Err(Error::Invalid("state items for a source without state"));
    }
    match &plan.source {
        Source::Blocks => {
            for n in plan.first_block..=plan.last_block {
                rows.push(block_row(header(n)))?;
            }
        }
        Source::Transactions | Source::Receipts | Source::Logs | Source::Event { .. } => {
            scan_blocks(plan, blocks, &header, chain_id, &mut rows)?
        }
        Source::Accounts { .. } | Source::Storage { .. } => {
            scan_state(plan, state, &header, &mut rows)?
        }
    }
    Ok(Scanned {
        anchor_number,
        anchor_hash,
        kept: rows.kept,
    })
}

fn block_row(s: &SealedHeader) -> Vec<Value> {
    let h = &s.header;
    alloc::vec![
        Value::u64(h.number),
        Value::bytes(&s.hash),
        Value::bytes(&h.parent_hash),
        Value::bytes(&h.beneficiary),
        Value::bytes(&h.state_root),
        Value::bytes(&h.transactions_root),
        Value::bytes(&h.receipts_root),
        Value::Uint(h.difficulty),
        Value::u64(h.gas_limit),
        Value::u64(h.gas_used),
        Value::u64(h.timestamp),
        Value::bytes(&h.extra_data),
        Value::bytes(&h.mix_hash),
        h.base_fee_per_gas.map_or(Value::Null, Value::Uint),
        Value::opt_bytes(h.withdrawals_root.as_ref().map(|x| &x[..])),
        Value::opt_u64(h.blob_gas_used),
        Value::opt_u64(h.excess_blob_gas),
        Value::opt_bytes(h.parent_beacon_block_root.as_ref().map(|x| &x[..])),
    ]
}

fn scan_blocks<'h>(
    plan: &Plan,
    mut blocks: ListReader<'_>,
    header: &dyn Fn(u64) -> &'h SealedHeader,
    chain_id: u64,
    rows: &mut Rows<'_>,
) -> Result<()> {
    let logs_source = matches!(plan.source, Source::Logs | Source::Event { .. });
    let tx_source = matches!(plan.source, Source::Transactions);
    for n in plan.first_block..=plan.last_block {
        let mut item = blocks
            .list()
            .map_err(|_| Error::Invalid("missing block item"))?;
        if item.u64()? != n {
            return Err(Error::Invalid(
                "block items are not the plan's range in order",
            ));
        }
        let mode = item.u64()?;
        let txs_raw = strings(item.list()?)?;
        let receipts_raw = strings(item.list()?)?;
        item.finish()?;
        let h = header(n);
        if !tx_source && !txs_raw.is_empty() {
            return Err(Error::Invalid(
                "transactions supplied for a source without them",
            ));
        }
        match mode {
            MODE_BLOOM_SKIP if logs_source => {
                if !receipts_raw.is_empty() {
                    return Err(Error::Invalid("receipts supplied for a skipped block"));
                }
                let bloom = &h.header.logs_bloom;
                let proven = !plan.bloom_keys.is_empty()
                    && plan
                        .bloom_keys
                        .iter()
                        .all(|(a, t)| address_topic_absent(bloom, a, t));
                if !proven {
                    return Err(Error::Invalid(
                        "bloom does not prove absence in a skipped block",
                    ));
                }
                continue;
            }
            MODE_RECEIPTS if !tx_source => {}
            MODE_TXS_RECEIPTS if tx_source => {}
            _ => return Err(Error::Invalid("block mode not allowed for this source")),
        }
        // The root is rebuilt from the raw receipts, so the logs read below are
        // exactly the block's. Their blooms are not recomputed: completeness
        // comes from scanning every log of the block, and the header blooms
        // used for skipping are consensus-checked with the chain (as in
        // Ethereum itself). Recomputing them cost ~70% of the keccak work.
        let receipts = receipts_raw
            .iter()
            .map(|b| Receipt::decode_with_stored_bloom(b).map(|(r, _)| r))
            .collect::<ethcore::Result<Vec<_>>>()?;
        if ordered_trie_root(&receipts_raw)? != h.header.receipts_root {
            return Err(Error::Eth(EthError::Mismatch(
                ethcore::error::Commitment::ReceiptsRoot,
            )));
        }
        if tx_source {
            if transactions_root(&txs_raw)? != h.header.transactions_root {
                return Err(Error::Eth(EthError::Mismatch(
                    ethcore::error::Commitment::TransactionsRoot,
                )));
            }
            let frontier = chain_id == 1 && n < MAINNET_HOMESTEAD;
            transaction_rows(plan, n, &txs_raw, &receipts, frontier, rows)?;
        } else {
            receipt_rows(plan, n, &receipts, rows)?;
        }
    }
    if !blocks.is_empty() {
        return Err(Error::Invalid("extra block items"));
    }
    Ok(())
}

/// Rows of the transactions source for one block: each tx joined with its
/// receipt. `from` costs one secp256k1 recovery (millions of cycles): it is
/// computed only when the plan reads it, and when only the output (not the
/// WHERE) reads it, only for the rows the WHERE keeps.
fn transaction_rows(
    plan: &Plan,
    n: u64,
    txs_raw: &[&[u8]],
    receipts: &[Receipt],
    frontier: bool,
    rows: &mut Rows<'_>,
) -> Result<()> {
    if txs_raw.len() != receipts.len() {
        return Err(Error::Invalid("transaction and receipt counts differ"));
    }
    let from_in_filter = plan.filter_uses_col(TX_FROM);
    let from_in_output = plan.output_uses_col(TX_FROM);
    let sender = |raw: &[u8]| -> Result<Value> {
        let a = if frontier {
            recover_sender_frontier(raw)?
        } else {
            recover_sender(raw)?
        };
        Ok(Value::bytes(&a))
    };
    let mut prev_cum = 0u64;
    for (i, (raw, r)) in txs_raw.iter().zip(receipts).enumerate() {
        let tx = Transaction::decode(raw)?;
        if tx.tx_type != r.tx_type {
            return Err(Error::Invalid("transaction and receipt types differ"));
        }
        let gas_used = r
            .cumulative_gas_used
            .checked_sub(prev_cum)
            .ok_or(Error::Invalid("cumulative gas decreases"))?;
        prev_cum = r.cumulative_gas_used;
        let status = match r.outcome {
            Outcome::Status(s) => Value::u64(s as u64),
            Outcome::PostState(_) => Value::Null,
        };
        let opt_u128 = |v: Option<u128>| match v {
            Some(x) => Value::Uint(U256::from(x)),
            None => Value::Null,
        };
        let mut row = alloc::vec![
            Value::u64(n),
            Value::u64(i as u64),
            Value::bytes(&tx.hash),
            Value::u64(tx.tx_type as u64),
            Value::Null, // from: below, only when read
            Value::opt_bytes(tx.to.as_ref().map(|x| &x[..])),
            Value::Uint(tx.value),
            Value::u64(tx.nonce),
            Value::u64(tx.gas_limit),
            opt_u128(tx.gas_price),
            opt_u128(tx.max_fee_per_gas),
            opt_u128(tx.max_priority_fee_per_gas),
            Value::bytes(&tx.input),
            status,
            Value::u64(gas_used),
            Value::u64(r.cumulative_gas_used),
        ];
        if from_in_filter {
            row[TX_FROM] = sender(raw)?;
        }
        if keeps(&plan.filter, &row)? {
            if from_in_output && !from_in_filter {
                row[TX_FROM] = sender(raw)?;
            }
            rows.kept.push(row);
        }
    }
    Ok(())
}

fn receipt_rows(plan: &Plan, n: u64, receipts: &[Receipt], rows: &mut Rows<'_>) -> Result<()> {
    let mut prev_cum = 0u64;
    let mut log_index = 0u64;
    for (i, r) in receipts.iter().enumerate() {
        let i = i as u64;
        match &plan.source {
            Source::Receipts => {
                let gas_used = r
                    .cumulative_gas_used
                    .checked_sub(prev_cum)
                    .ok_or(Error::Invalid("cumulative gas decreases"))?;
                let status = match r.outcome {
                    Outcome::Status(s) => Value::u64(s as u64),
                    Outcome::PostState(_) => Value::Null,
                };
                rows.push(alloc::vec![
                    Value::u64(n),
                    Value::u64(i),
                    Value::u64(r.tx_type as u64),
                    status,
                    Value::u64(gas_used),
                    Value::u64(r.cumulative_gas_used),
                    Value::u64(r.logs.len() as u64),
                ])?;
            }
            Source::Logs => {
                for l in &r.logs {
                    if l.topics.len() > 4 {
                        return Err(Error::Invalid("log with more than 4 topics"));
                    }
                    let t = |k: usize| Value::opt_bytes(l.topics.get(k).map(|x| &x[..]));
                    rows.push(alloc::vec![
                        Value::u64(n),
                        Value::u64(i),
                        Value::u64(log_index),
                        Value::bytes(&l.address),
                        t(0),
                        t(1),
                        t(2),
                        t(3),
                        Value::bytes(&l.data),
                    ])?;
                    log_index += 1;
                }
            }
            Source::Event { topic0, params } => {
                for l in &r.logs {
                    if l.topics.first() == Some(topic0) {
                        if let Some(vals) = decode_event(params, &l.topics[1..], &l.data) {
                            let mut row = alloc::vec![
                                Value::u64(n),
                                Value::u64(i),
                                Value::u64(log_index),
                                Value::bytes(&l.address),
                            ];
                            row.extend(vals);
                            rows.push(row)?;
                        }
                    }
                    log_index += 1;
                }
            }
            _ => return Err(Error::Invalid("not a receipt source")),
        }
        prev_cum = r.cumulative_gas_used;
    }
    Ok(())
}

/// A log's event parameters; None when the log does not have the event's shape.
pub fn decode_event(
    params: &[crate::plan::EventParam],
    topics: &[[u8; 32]],
    data: &[u8],
) -> Option<Vec<Value>> {
    let n_idx = params.iter().filter(|p| p.indexed).count();
    let n_data = params.len() - n_idx;
    if topics.len() != n_idx || data.len() != 32 * n_data {
        return None;
    }
    let (mut ti, mut di) = (0, 0);
    let mut out = Vec::with_capacity(params.len());
    for p in params {
        let word: &[u8] = if p.indexed {
            ti += 1;
            &topics[ti - 1]
        } else {
            di += 1;
            &data[32 * (di - 1)..32 * di]
        };
        match p.kind {
            EV_ADDRESS => {
                if word[..12].iter().any(|&b| b != 0) {
                    return None;
                }
                out.push(Value::bytes(&word[12..]));
            }
            EV_UINT => {
                let v = U256::from_be_slice(word);
                if p.bits < 256 && !(v >> (p.bits as usize)).is_zero() {
                    return None;
                }
                out.push(Value::Uint(v));
            }
            EV_BOOL => {
                let v = U256::from_be_slice(word);
                if v > U256::from(1u64) {
                    return None;
                }
                out.push(Value::Bool(!v.is_zero()));
            }
            _ => {
                // bytesN: left-aligned, the rest zero; the value is the whole
                // checked word (as Solidity's bytesN -> bytes32), so it compares,
                // sorts and ABI-encodes as the bytes32 column it is typed as.
                let n = (p.bits / 8) as usize;
                if word[n..].iter().any(|&b| b != 0) {
                    return None;
                }
                out.push(Value::bytes(word));
            }
        }
    }
    Some(out)
}

/// One state item of the witness: the proofs needed at (block, address), and
/// for storage the slots whose proofs are needed, in scan order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatePoint {
    /// block number
    pub block: u64,
    /// account
    pub address: [u8; 20],
    /// storage sources: the slots needed (non-empty); accounts: empty
    pub slots: Vec<[u8; 32]>,
}

/// The domain points of a state source whose proofs the witness must hold
/// (PLAN.md "kinds 6, 7"): every (block, address[, slot]) of range ×
/// addresses (× slots) where `state_filter` is TRUE, evaluated with only the
/// key columns set. The compiler asks this function which proofs to supply.
pub fn state_points(plan: &Plan) -> Result<Vec<StatePoint>> {
    let (addresses, slots, storage): (&[[u8; 20]], &[[u8; 32]], bool) = match &plan.source {
        Source::Accounts { addresses } => (addresses, &[], false),
        Source::Storage { addresses, slots } => (addresses, slots, true),
        _ => return Err(Error::Invalid("not a state source")),
    };
    let width = plan.source.width();
    let mut out = Vec::new();
    for n in plan.first_block..=plan.last_block {
        for addr in addresses {
            let wanted = |slot: Option<&[u8; 32]>| -> Result<bool> {
                let Some(f) = &plan.state_filter else {
                    return Ok(true);
                };
                let row = key_row(width, n, addr, slot);
                Ok(eval(f, &Ctx::row(&row))? == Value::Bool(true))
            };
            let mut need = Vec::new();
            if storage {
                for s in slots {
                    if wanted(Some(s))? {
                        need.push(*s);
                    }
                }
                if need.is_empty() {
                    continue;
                }
            } else if !wanted(None)? {
                continue;
            }
            out.push(StatePoint {
                block: n,
                address: *addr,
                slots: need,
            });
        }
    }
    Ok(out)
}

fn key_row(width: usize, n: u64, addr: &[u8; 20], slot: Option<&[u8; 32]>) -> Vec<Value> {
    let mut row = alloc::vec![Value::Null; width];
    row[0] = Value::u64(n);
    row[1] = Value::bytes(addr);
    if let Some(s) = slot {
        row[2] = Value::bytes(s);
    }
    row
}

fn scan_state<'h>(
    plan: &Plan,
    mut state: ListReader<'_>,
    header: &dyn Fn(u64) -> &'h SealedHeader,
    rows: &mut Rows<'_>,
) -> Result<()> {
    let storage = matches!(plan.source, Source::Storage { .. });
    let width = plan.source.width();
    for point in state_points(plan)? {
        let (n, addr) = (point.block, &point.address);
        let mut item = state
            .list()
            .map_err(|_| Error::Invalid("missing state item"))?;
        if item.u64()? != n || item.fixed::<20>()? != *addr {
            return Err(Error::Invalid(
                "state items are not the domain points in order",
            ));
        }
        let nodes = strings(item.list()?)?;
        let mut slot_items = item.list()?;
        item.finish()?;
        let account = verify_account_proof(&header(n).header.state_root, addr, &nodes)?;
        if !storage {
            if !slot_items.is_empty() {
                return Err(Error::Invalid("storage proofs in an accounts witness"));
            }
            let mut row = key_row(width, n, addr, None);
            match &account {
                Some(a) => {
                    row[2] = Value::Bool(true);
                    row[3] = Value::u64(a.nonce);
                    row[4] = Value::Uint(a.balance);
                    row[5] = Value::bytes(&a.storage_root);
                    row[6] = Value::bytes(&a.code_hash);
                }
                None => {
                    row[2] = Value::Bool(false);
                    row[3] = Value::u64(0);
                    row[4] = Value::u64(0);
                    row[5] = Value::bytes(&EMPTY_ROOT);
                    row[6] = Value::bytes(&EMPTY_CODE_HASH);
                }
            }
            rows.push(row)?;
            continue;
        }
        for s in &point.slots {
            let mut si = slot_items
                .list()
                .map_err(|_| Error::Invalid("missing storage proof"))?;
            if si.fixed::<32>()? != *s {
                return Err(Error::Invalid(
                    "storage proofs are not the domain points in order",
                ));
            }
            let snodes = strings(si.list()?)?;
            si.finish()?;
            let value = match &account {
                Some(a) => ethcore::mpt::verify_storage_proof(&a.storage_root, s, &snodes)?,
                None => U256::ZERO, // no account: every slot is 0
            };
            let mut row = key_row(width, n, addr, Some(s));
            row[3] = Value::Uint(value);
            rows.push(row)?;
        }
        if !slot_items.is_empty() {
            return Err(Error::Invalid("extra storage proofs"));
        }
    }
    if !state.is_empty() {
        return Err(Error::Invalid("extra state items"));
    }
    Ok(())
}
