//! A small RLP-framed command set over this crate.
//!
//! The host's C ABI (`coprocessor.ethcore` in Python) and the `ethcheck`
//! guest both call [`run`], so the checks the indexer applies off-chain are
//! literally the checks the guest proves. A command is
//! `rlp([op, arg...])`; its output is RLP (documented per op). Byte strings
//! are RLP strings, integers are minimal big-endian RLP integers, lists are
//! RLP lists.

use alloc::vec::Vec;

use crate::bloom::{address_topic_absent, Bloom};
use crate::chain::verify_chain_rlp;
use crate::header::SealedHeader;
use crate::mpt::{verify_account_proof, verify_storage_proof, Account, MultiProof};
use crate::receipt::{block_bloom, receipts_root, Receipt};
use crate::rlp::{self, ListReader};
use crate::transaction::{transactions_root, Transaction};
use crate::trie::ordered_trie_root;
use crate::withdrawal::{withdrawals_root, Withdrawal};
use crate::{Error, Result, U256};

/// `[header_rlp]` → `[hash, number, era_field_count]` (strict decode, hash of the input bytes).
pub const HEADER_HASH: u64 = 1;
/// `[[header_rlp, ...] oldest→newest, anchor]` → `[oldest_number, newest_number]`.
pub const VERIFY_CHAIN: u64 = 2;
/// `[state_root, address, [node, ...]]` → `[]` (proven absent) or
/// `[nonce, balance, storage_root, code_hash]`.
pub const ACCOUNT_PROOF: u64 = 3;
/// `[storage_root, slot, [node, ...]]` → `value` (integer; absent = 0).
pub const STORAGE_PROOF: u64 = 4;
/// `[state_root, address, [slot, ...], [node, ...]]` (one multiproof: the
/// union of the account and storage proof nodes) → `[account, [value, ...]]`
/// where `account` is as for ACCOUNT_PROOF (values of an absent account are 0).
pub const ACCOUNT_STORAGE: u64 = 5;
/// `[[raw_tx, ...]]` → `root`.
pub const TRANSACTIONS_ROOT: u64 = 6;
/// `[[consensus_receipt, ...]]` → `[root, block_bloom]` (each receipt's stored
/// bloom must equal the bloom recomputed from its logs).
pub const RECEIPTS_ROOT: u64 = 7;
/// `[[value, ...]]` → `root` of the trie keyed by rlp(index).
pub const ORDERED_TRIE_ROOT: u64 = 8;
/// `[raw_tx]` → `[type, chain_id_or_empty, nonce, gas_limit, to_or_empty, value,
/// input, gas_price, max_fee, max_priority_fee, max_fee_per_blob_gas,
/// blob_hashes_count, access_list_len, authorization_list_len, hash]` (absent
/// fees are empty strings).
pub const DECODE_TRANSACTION: u64 = 9;
/// `[[withdrawal_rlp, ...]]` → `root`.
pub const WITHDRAWALS_ROOT: u64 = 10;
/// `[bloom, address, topic]` → `1` if the pair is provably absent, else `0`.
pub const BLOOM_ABSENT: u64 = 11;
/// `[[command, ...]]` → `[output, ...]`: runs several commands (for guests).
pub const BATCH: u64 = 12;

/// Runs one command (the full `rlp([op, arg...])` bytes).
pub fn run(command: &[u8]) -> Result<Vec<u8>> {
    let mut r = rlp::list_exact(command)?;
    let op = r.u64()?;
    let out = match op {
        HEADER_HASH => header_hash(&mut r)?,
        VERIFY_CHAIN => verify_chain(&mut r)?,
        ACCOUNT_PROOF => account_proof(&mut r)?,
        STORAGE_PROOF => storage_proof(&mut r)?,
        ACCOUNT_STORAGE => account_storage(&mut r)?,
        TRANSACTIONS_ROOT => {
            let txs = strings(r.list()?)?;
            bytes(&transactions_root(&txs)?)
        }
        RECEIPTS_ROOT => receipts(&mut r)?,
        ORDERED_TRIE_ROOT => bytes(&ordered_trie_root(&strings(r.list()?)?)?),
        DECODE_TRANSACTION => decode_transaction(r.bytes()?)?,
        WITHDRAWALS_ROOT => {
            let items = raws(r.list()?)?;
            let ws = items
                .iter()
                .map(|w| Withdrawal::decode(w))
                .collect::<Result<Vec<_>>>()?;
            bytes(&withdrawals_root(&ws)?)
        }
        BLOOM_ABSENT => {
            let bloom = Bloom(r.fixed::<256>()?);
            let address = r.fixed::<20>()?;
            let topic = r.fixed::<32>()?;
            let mut out = Vec::new();
            rlp::encode_u64(
                &mut out,
                address_topic_absent(&bloom, &address, &topic) as u64,
            );
            out
        }
        BATCH => {
            let mut payload = Vec::new();
            for command in raws(r.list()?)? {
                payload.extend_from_slice(&run(command)?);
            }
            rlp::list_from_payload(&payload)
        }
        _ => return Err(Error::UnknownOp(op)),
    };
    r.finish()?;
    Ok(out)
}

fn strings<'a>(mut l: ListReader<'a>) -> Result<Vec<&'a [u8]>> {
    let mut out = Vec::new();
    while !l.is_empty() {
        out.push(l.bytes()?);
    }
    Ok(out)
}

fn raws<'a>(mut l: ListReader<'a>) -> Result<Vec<&'a [u8]>> {
    let mut out = Vec::new();
    while !l.is_empty() {
        out.push(l.raw()?);
    }
    Ok(out)
}

fn bytes(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len() + 3);
    rlp::encode_bytes(&mut out, b);
    out
}

fn header_hash(r: &mut ListReader<'_>) -> Result<Vec<u8>> {
    let sealed = SealedHeader::decode(r.bytes()?)?;
    let mut p = Vec::new();
    rlp::encode_bytes(&mut p, &sealed.hash);
    rlp::encode_u64(&mut p, sealed.header.number);
    rlp::encode_u64(&mut p, sealed.header.era()?.field_count() as u64);
    Ok(rlp::list_from_payload(&p))
}

fn verify_chain(r: &mut ListReader<'_>) -> Result<Vec<u8>> {
    let headers = strings(r.list()?)?;
    let anchor = r.fixed::<32>()?;
    let sealed = verify_chain_rlp(&headers, &anchor)?;
    let mut p = Vec::new();
    rlp::encode_u64(&mut p, sealed[0].header.number);
    rlp::encode_u64(&mut p, sealed[sealed.len() - 1].header.number);
    Ok(rlp::list_from_payload(&p))
}

fn account_fields(account: Option<&Account>) -> Vec<u8> {
    match account {
        None => rlp::list_from_payload(&[]),
        Some(a) => a.encode(),
    }
}

fn account_proof(r: &mut ListReader<'_>) -> Result<Vec<u8>> {
    let state_root = r.fixed::<32>()?;
    let address = r.fixed::<20>()?;
    let nodes = strings(r.list()?)?;
    let account = verify_account_proof(&state_root, &address, &nodes)?;
    Ok(account_fields(account.as_ref()))
}

fn storage_proof(r: &mut ListReader<'_>) -> Result<Vec<u8>> {
    let storage_root = r.fixed::<32>()?;
    let slot = r.fixed::<32>()?;
    let nodes = strings(r.list()?)?;
    let value = verify_storage_proof(&storage_root, &slot, &nodes)?;
    let mut out = Vec::new();
    rlp::encode_u256(&mut out, &value);
    Ok(out)
}

fn account_storage(r: &mut ListReader<'_>) -> Result<Vec<u8>> {
    let state_root = r.fixed::<32>()?;
    let address = r.fixed::<20>()?;
    let mut slots_list = r.list()?;
    let mut slots = Vec::new();
    while !slots_list.is_empty() {
        slots.push(slots_list.fixed::<32>()?);
    }
    let nodes = strings(r.list()?)?;
    let proof = MultiProof::new(nodes.iter().copied());
    let account = proof.account(&state_root, &address)?;
    let mut values = Vec::new();
    for slot in &slots {
        let value = match &account {
            Some(a) => proof.storage(&a.storage_root, slot)?,
            None => U256::ZERO,
        };
        rlp::encode_u256(&mut values, &value);
    }
    let mut p = account_fields(account.as_ref());
    rlp::encode_list_payload(&mut p, &values);
    Ok(rlp::list_from_payload(&p))
}

fn receipts(r: &mut ListReader<'_>) -> Result<Vec<u8>> {
    let raw = strings(r.list()?)?;
    let receipts = raw
        .iter()
        .map(|b| Receipt::decode_consensus(b))
        .collect::<Result<Vec<_>>>()?;
    let mut p = Vec::new();
    rlp::encode_bytes(&mut p, &receipts_root(&receipts)?);
    rlp::encode_bytes(&mut p, &block_bloom(&receipts).0);
    Ok(rlp::list_from_payload(&p))
}

fn opt_u128(p: &mut Vec<u8>, v: Option<u128>) {
    match v {
        Some(v) => rlp::encode_u128(p, v),
        None => rlp::encode_bytes(p, &[]),
    }
}

fn decode_transaction(raw: &[u8]) -> Result<Vec<u8>> {
    let tx = Transaction::decode(raw)?;
    let mut p = Vec::new();
    rlp::encode_u64(&mut p, tx.tx_type as u64);
    match tx.chain_id {
        Some(id) => rlp::encode_u64(&mut p, id),
        None => rlp::encode_bytes(&mut p, &[]),
    }
    rlp::encode_u64(&mut p, tx.nonce);
    rlp::encode_u64(&mut p, tx.gas_limit);
    rlp::encode_bytes(&mut p, tx.to.as_ref().map_or(&[][..], |a| &a[..]));
    rlp::encode_u256(&mut p, &tx.value);
    rlp::encode_bytes(&mut p, &tx.input);
    opt_u128(&mut p, tx.gas_price);
    opt_u128(&mut p, tx.max_fee_per_gas);
    opt_u128(&mut p, tx.max_priority_fee_per_gas);
    opt_u128(&mut p, tx.max_fee_per_blob_gas);
    rlp::encode_u64(&mut p, tx.blob_hashes_count as u64);
    rlp::encode_u64(&mut p, tx.access_list_len as u64);
    rlp::encode_u64(&mut p, tx.authorization_list_len as u64);
    rlp::encode_bytes(&mut p, &tx.hash);
    Ok(rlp::list_from_payload(&p))
}
