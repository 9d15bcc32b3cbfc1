//! The witness (PLAN.md "Witness"): header chain, per-block scan items, state
//! proofs; every row is built from data checked against the anchor.

use alloc::vec::Vec;
use ethcore::bloom::BloomBits;
use ethcore::chain::verify_chain_refs;
use ethcore::header::{be_u256, be_u64, SealedHeaderRef};
use ethcore::mpt::verify_account_proof;
use ethcore::receipt::{LogRef, Outcome, ReceiptRef};
use ethcore::rlp::{self, ListReader};
use ethcore::transaction::{
    recover_sender, recover_sender_frontier, transactions_root, Transaction,
};
use ethcore::trie::ordered_trie_root;
use ethcore::{Error as EthError, EMPTY_CODE_HASH, EMPTY_ROOT, U256};

use crate::anchor::{self, Anchored};
use crate::eval::{eval, keeps, Ctx};
use crate::plan::{Plan, Source, EV_ADDRESS, EV_BOOL, EV_UINT};
use crate::{Error, Result, Value};

/// Witness format version (PLAN.md "Witness").
pub const WITNESS_VERSION: u64 = 2;

/// Block modes.
pub const MODE_BLOOM_SKIP: u64 = 1;
/// all receipts
pub const MODE_RECEIPTS: u64 = 2;
/// all transactions and receipts
pub const MODE_TXS_RECEIPTS: u64 = 3;

/// What the scan proved.
pub struct Scanned {
    /// the anchor the journal commits (PLAN.md "Anchors")
    pub anchor: Anchored,
    /// rows where the filter is TRUE, in scan order
    pub kept: Vec<Vec<Value>>,
}

struct Rows<'p> {
    plan: &'p Plan,
    kept: Vec<Vec<Value>>,
    reads: Reads,
}

/// The source columns the plan reads (WHERE, group keys, aggregates, select). A row holds
/// the columns up to the last one read, and every column not read as NULL: nothing reads
/// them (a column reference of a checked plan is one of these), so they are never decoded
/// or copied. Every check on the data is made whatever the plan reads.
struct Reads {
    read: Vec<bool>,
    /// 1 + the last column read (0: none)
    len: usize,
}

impl Reads {
    fn of(plan: &Plan) -> Self {
        let read: Vec<bool> = (0..plan.source.width())
            .map(|i| plan.filter_uses_col(i) || plan.output_uses_col(i))
            .collect();
        let len = read.iter().rposition(|&r| r).map_or(0, |i| i + 1);
        Reads { read, len }
    }
    /// A row of NULLs.
    fn row(&self) -> Vec<Value> {
        if self.len == 0 {
            return Vec::new();
        }
        // not vec![Value::Null; n]: cloning a 40-byte enum costs ~40 cycles a column
        core::iter::repeat_with(|| Value::Null)
            .take(self.len)
            .collect()
    }
    /// The columns read, in order.
    fn columns(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len).filter(|&i| self.read[i])
    }
    /// Set column `i` of `row` when the plan reads it.
    #[inline]
    fn set(&self, row: &mut [Value], i: usize, value: impl FnOnce() -> Value) {
        if self.read[i] {
            row[i] = value();
        }
    }
}

impl Rows<'_> {
    #[inline]
    fn push(&mut self, row: Vec<Value>) -> Result<()> {
        if self.plan.filter.is_none() || keeps(&self.plan.filter, &row)? {
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
    if w.u64()? != WITNESS_VERSION {
        return Err(Error::Invalid("witness version is not 2"));
    }
    let anchor_item = w.list()?;
    let headers_rlp = strings(w.list()?)?;
    let blocks = w.list()?;
    let state = w.list()?;
    w.finish()?;

    // headers first_block ..= N linked by parent hash, N tied to the anchor
    if headers_rlp.len() as u64 > crate::check::MAX_BLOCKS {
        return Err(Error::Invalid("more headers than a witness may hold"));
    }
    let mut headers = Vec::with_capacity(headers_rlp.len());
    for raw in &headers_rlp {
        headers.push(SealedHeaderRef::decode(raw)?);
    }
    let newest = *headers.last().ok_or(Error::Eth(EthError::EmptyChain))?;
    verify_chain_refs(&headers, &newest.hash)?;
    let anchored = anchor::check(anchor_item, &newest, chain_id)?;
    if headers[0].header.number != plan.first_block {
        return Err(Error::Invalid(
            "oldest header is not the plan's first block",
        ));
    }
    if plan.last_block > newest.header.number {
        return Err(Error::Invalid(
            "plan's last block is after the newest header",
        ));
    }
    let header = |n: u64| -> &SealedHeaderRef<'_> { &headers[(n - plan.first_block) as usize] };

    let mut rows = Rows {
        plan,
        kept: Vec::new(),
        reads: Reads::of(plan),
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
                let row = block_row(header(n), &rows.reads);
                rows.push(row)?;
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
        anchor: anchored,
        kept: rows.kept,
    })
}

fn block_row(s: &SealedHeaderRef<'_>, reads: &Reads) -> Vec<Value> {
    let mut row = reads.row();
    for i in reads.columns() {
        row[i] = block_column(s, i);
    }
    row
}

/// Column `i` of the blocks source.
fn block_column(s: &SealedHeaderRef<'_>, i: usize) -> Value {
    let h = &s.header;
    match i {
        0 => Value::u64(h.number),
        1 => Value::bytes(&s.hash),
        2 => Value::bytes(h.parent_hash),
        3 => Value::bytes(h.beneficiary),
        4 => Value::bytes(h.state_root),
        5 => Value::bytes(h.transactions_root),
        6 => Value::bytes(h.receipts_root),
        7 => Value::Uint(be_u256(h.difficulty)),
        8 => Value::u64(be_u64(h.gas_limit)),
        9 => Value::u64(be_u64(h.gas_used)),
        10 => Value::u64(be_u64(h.timestamp)),
        11 => Value::bytes(h.extra_data),
        12 => Value::bytes(h.mix_hash),
        13 => h
            .base_fee_per_gas
            .map_or(Value::Null, |v| Value::Uint(be_u256(v))),
        14 => Value::opt_bytes(h.withdrawals_root.map(|x| &x[..])),
        15 => Value::opt_u64(h.blob_gas_used.map(be_u64)),
        16 => Value::opt_u64(h.excess_blob_gas.map(be_u64)),
        17 => Value::opt_bytes(h.parent_beacon_block_root.map(|x| &x[..])),
        _ => Value::Null,
    }
}

fn scan_blocks<'h, 'w: 'h>(
    plan: &Plan,
    mut blocks: ListReader<'_>,
    header: &dyn Fn(u64) -> &'h SealedHeaderRef<'w>,
    chain_id: u64,
    rows: &mut Rows<'_>,
) -> Result<()> {
    let logs_source = matches!(plan.source, Source::Logs | Source::Event { .. });
    let tx_source = matches!(plan.source, Source::Transactions);
    // bloom positions of the keys, hashed once (on the first skipped block)
    let mut key_bits: Option<Vec<(BloomBits, BloomBits)>> = None;
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
                let bloom = h.header.logs_bloom;
                let bits = key_bits.get_or_insert_with(|| {
                    plan.bloom_keys
                        .iter()
                        .map(|(a, t)| (BloomBits::new(a), BloomBits::new(t)))
                        .collect()
                });
                // absent: the address's or the topic's 3 bits are not all set
                let proven = !bits.is_empty()
                    && bits
                        .iter()
                        .all(|(a, t)| !a.in_raw(bloom) || !t.in_raw(bloom));
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
        let mut receipts = Vec::with_capacity(receipts_raw.len());
        for raw in &receipts_raw {
            receipts.push(ReceiptRef::decode(raw)?);
        }
        if ordered_trie_root(&receipts_raw)? != *h.header.receipts_root {
            return Err(Error::Eth(EthError::Mismatch(
                ethcore::error::Commitment::ReceiptsRoot,
            )));
        }
        if tx_source {
            if transactions_root(&txs_raw)? != *h.header.transactions_root {
                return Err(Error::Eth(EthError::Mismatch(
                    ethcore::error::Commitment::TransactionsRoot,
                )));
            }
            let frontier = chain_id == 1 && n < MAINNET_HOMESTEAD;
            transaction_rows(plan, n, &txs_raw, &receipts, frontier, rows)?;
        } else {
            if matches!(plan.source, Source::Logs) && plan.filter.is_none() {
                // every log is a row: room for them all at once
                rows.kept
                    .reserve(receipts.iter().map(|r| r.logs.len()).sum());
            }
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
    receipts: &[ReceiptRef<'_>],
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
    let opt_u128 = |v: Option<u128>| match v {
        Some(x) => Value::Uint(U256::from(x)),
        None => Value::Null,
    };
    let reads = &rows.reads;
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
        let mut row = reads.row();
        let w = &mut row;
        reads.set(w, 0, || Value::u64(n));
        reads.set(w, 1, || Value::u64(i as u64));
        reads.set(w, 2, || Value::bytes(&tx.hash));
        reads.set(w, 3, || Value::u64(tx.tx_type as u64));
        // 4 = from: below, only when read
        reads.set(w, 5, || Value::opt_bytes(tx.to.as_ref().map(|x| &x[..])));
        reads.set(w, 6, || Value::Uint(tx.value));
        reads.set(w, 7, || Value::u64(tx.nonce));
        reads.set(w, 8, || Value::u64(tx.gas_limit));
        reads.set(w, 9, || opt_u128(tx.gas_price));
        reads.set(w, 10, || opt_u128(tx.max_fee_per_gas));
        reads.set(w, 11, || opt_u128(tx.max_priority_fee_per_gas));
        reads.set(w, 12, || Value::bytes(&tx.input));
        reads.set(w, 13, || status(&r.outcome));
        reads.set(w, 14, || Value::u64(gas_used));
        reads.set(w, 15, || Value::u64(r.cumulative_gas_used));
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

/// Column `status`: EIP-658 status, NULL before Byzantium.
fn status(outcome: &Outcome) -> Value {
    match outcome {
        Outcome::Status(s) => Value::u64(*s as u64),
        Outcome::PostState(_) => Value::Null,
    }
}

fn receipt_rows(
    plan: &Plan,
    n: u64,
    receipts: &[ReceiptRef<'_>],
    rows: &mut Rows<'_>,
) -> Result<()> {
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
                let reads = &rows.reads;
                let mut row = reads.row();
                let w = &mut row;
                reads.set(w, 0, || Value::u64(n));
                reads.set(w, 1, || Value::u64(i));
                reads.set(w, 2, || Value::u64(r.tx_type as u64));
                reads.set(w, 3, || status(&r.outcome));
                reads.set(w, 4, || Value::u64(gas_used));
                reads.set(w, 5, || Value::u64(r.cumulative_gas_used));
                reads.set(w, 6, || Value::u64(r.logs.len() as u64));
                rows.push(row)?;
            }
            Source::Logs => {
                for l in &r.logs {
                    if l.has_more_topics_than(4) {
                        return Err(Error::Invalid("log with more than 4 topics"));
                    }
                    let mut row = rows.reads.row();
                    for c in rows.reads.columns() {
                        row[c] = match c {
                            0 => Value::u64(n),
                            1 => Value::u64(i),
                            2 => Value::u64(log_index),
                            3 => Value::bytes(l.address),
                            4..=7 => Value::opt_bytes(l.topic(c - 4).map(|x| &x[..])),
                            8 => Value::bytes(l.data),
                            _ => Value::Null,
                        };
                    }
                    rows.push(row)?;
                    log_index += 1;
                }
            }
            Source::Event { topic0, params } => {
                for l in &r.logs {
                    if l.topic(0) == Some(topic0) {
                        if let Some(vals) = decode_event(params, l) {
                            let mut row = alloc::vec![
                                Value::u64(n),
                                Value::u64(i),
                                Value::u64(log_index),
                                Value::bytes(l.address),
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

/// A log's event parameters (its topic 0 is the event's); None when the log
/// does not have the event's shape.
pub fn decode_event(params: &[crate::plan::EventParam], log: &LogRef<'_>) -> Option<Vec<Value>> {
    let n_idx = params.iter().filter(|p| p.indexed).count();
    let n_data = params.len() - n_idx;
    let data = log.data;
    if log.topic_count() != n_idx + 1 || data.len() != 32 * n_data {
        return None;
    }
    let (mut ti, mut di) = (0, 0);
    let mut out = Vec::with_capacity(params.len());
    for p in params {
        let word: &[u8] = if p.indexed {
            ti += 1;
            log.topic(ti)?
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
    let mut row: Vec<Value> = core::iter::repeat_with(|| Value::Null)
        .take(width)
        .collect();
    row[0] = Value::u64(n);
    row[1] = Value::bytes(addr);
    if let Some(s) = slot {
        row[2] = Value::bytes(s);
    }
    row
}

fn scan_state<'h, 'w: 'h>(
    plan: &Plan,
    mut state: ListReader<'_>,
    header: &dyn Fn(u64) -> &'h SealedHeaderRef<'w>,
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
        let account = verify_account_proof(header(n).header.state_root, addr, &nodes)?;
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
