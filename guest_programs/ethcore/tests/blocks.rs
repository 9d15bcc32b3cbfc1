//! transactionsRoot / receiptsRoot / withdrawalsRoot / ommersHash / logsBloom
//! of every fixture block, tx decoding, inclusion proofs, negative cases.
mod common;

use common::*;
use ethcore::block::{verify_receipts, BlockBody};
use ethcore::bloom::{address_topic_absent, bloom_may_contain, Bloom};
use ethcore::error::Commitment;
use ethcore::header::SealedHeader;
use ethcore::keccak::keccak256;
use ethcore::receipt::{self, decode_eth69_receipts, Receipt};
use ethcore::transaction::{transactions_root, Transaction};
use ethcore::trie;
use ethcore::withdrawal::withdrawals_root;
use ethcore::{mpt, rlp, Error};
use proptest::prelude::*;
use serde_json::Value;

struct RlpBlock {
    name: String,
    header: Vec<u8>,
    body: Vec<u8>,
    receipts: Vec<u8>,
    hash: Option<Vec<u8>>,
}

fn rlp_blocks() -> &'static [RlpBlock] {
    static CACHE: std::sync::OnceLock<Vec<RlpBlock>> = std::sync::OnceLock::new();
    CACHE.get_or_init(load_rlp_blocks)
}

fn load_rlp_blocks() -> Vec<RlpBlock> {
    load_dir("block_rlp")
        .unwrap_or_default()
        .into_iter()
        .map(|(name, f)| RlpBlock {
            name,
            header: vhex(&f["header"]),
            body: vhex(&f["body"]),
            receipts: vhex(&f["receipts"]),
            hash: f.get("hash").map(vhex),
        })
        .collect()
}

#[test]
fn block_rlp_roots() {
    let blocks = rlp_blocks();
    if blocks.is_empty() {
        return;
    }
    let mut types = [0usize; 5];
    for b in blocks {
        let sealed = SealedHeader::decode(&b.header).unwrap_or_else(|e| panic!("{}: {e}", b.name));
        if let Some(h) = &b.hash {
            assert_eq!(sealed.hash.to_vec(), *h, "{}", b.name);
        }
        let h = &sealed.header;
        let body = BlockBody::decode(&b.body).unwrap_or_else(|e| panic!("{}: {e}", b.name));
        body.verify(h).unwrap_or_else(|e| panic!("{}: {e}", b.name));
        let receipts =
            decode_eth69_receipts(&b.receipts).unwrap_or_else(|e| panic!("{}: {e}", b.name));
        assert_eq!(receipts.len(), body.transactions.len(), "{}", b.name);
        verify_receipts(h, &receipts).unwrap_or_else(|e| panic!("{}: {e}", b.name));
        let mut last_gas = 0;
        for (raw, rc) in body.transactions.iter().zip(&receipts) {
            let tx = Transaction::decode(raw).unwrap_or_else(|e| panic!("{}: {e}", b.name));
            assert_eq!(tx.tx_type, rc.tx_type, "{}", b.name);
            assert_eq!(tx.hash, keccak256(raw));
            types[tx.tx_type as usize] += 1;
            assert!(rc.cumulative_gas_used >= last_gas);
            last_gas = rc.cumulative_gas_used;
            // consensus encoding round trip (stored bloom checked)
            assert_eq!(
                Receipt::decode_consensus(&rc.encode_consensus()).unwrap(),
                *rc
            );
        }
        assert_eq!(last_gas, h.gas_used, "{}", b.name);
        if let Some(w) = &body.withdrawals {
            assert_eq!(withdrawals_root(w).unwrap(), h.withdrawals_root.unwrap());
        }
    }
    assert!(types.iter().all(|&n| n > 0), "tx types seen: {types:?}");
}

#[test]
fn blocks_json_roots_and_tx_fields() {
    let Some(files) = load_dir("blocks") else {
        return;
    };
    for (name, b) in &files {
        let header = header_from_json(b);
        assert_eq!(
            header.hash_slow().unwrap().to_vec(),
            vhex(&b["hash"]),
            "{name}"
        );
        let txs = b["transactions"].as_array().unwrap();
        let raws: Vec<Vec<u8>> = txs.iter().map(tx_raw_from_json).collect();
        for (t, raw) in txs.iter().zip(&raws) {
            let tx = Transaction::decode(raw).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(tx.hash.to_vec(), vhex(&t["hash"]), "{name}: tx hash");
            check_tx_fields(&tx, t, name);
        }
        assert_eq!(
            transactions_root(&raws).unwrap(),
            header.transactions_root,
            "{name}: transactionsRoot"
        );
        if let Some(ws) = b.get("withdrawals").and_then(Value::as_array) {
            let ws: Vec<_> = ws.iter().map(withdrawal_from_json).collect();
            assert_eq!(
                Some(withdrawals_root(&ws).unwrap()),
                header.withdrawals_root,
                "{name}: withdrawalsRoot"
            );
        }
        // same block in block_rlp? raw txs must be identical
        if let Some(f) = load_file("block_rlp", name) {
            let body_raw = vhex(&f["body"]);
            let body = BlockBody::decode(&body_raw).unwrap();
            assert_eq!(body.transactions.len(), raws.len());
            for (a, b2) in body.transactions.iter().zip(&raws) {
                assert_eq!(*a, b2.as_slice(), "{name}");
            }
        }
    }
}

fn check_tx_fields(tx: &Transaction, t: &Value, name: &str) {
    assert_eq!(tx.nonce, qty_u64(&t["nonce"]), "{name}");
    assert_eq!(tx.gas_limit, qty_u64(&t["gas"]), "{name}");
    assert_eq!(tx.value, qty_u256(&t["value"]), "{name}");
    assert_eq!(tx.input, vhex(&t["input"]), "{name}");
    let to = t.get("to").filter(|v| !v.is_null()).map(fixed::<20>);
    assert_eq!(tx.to, to, "{name}");
    if let Some(c) = t.get("chainId").filter(|v| !v.is_null()) {
        if tx.tx_type != 0 || tx.chain_id.is_some() {
            assert_eq!(tx.chain_id, Some(qty_u64(c)), "{name}");
        }
    }
    if tx.input.len() >= 4 {
        assert_eq!(tx.selector().unwrap().to_vec(), tx.input[..4].to_vec());
    }
    match tx.tx_type {
        0 | 1 => assert_eq!(
            tx.gas_price,
            Some(qty_u64(&t["gasPrice"]) as u128),
            "{name}"
        ),
        _ => {
            assert_eq!(
                tx.max_fee_per_gas,
                Some(qty_u64(&t["maxFeePerGas"]) as u128)
            );
            assert_eq!(
                tx.max_priority_fee_per_gas,
                Some(qty_u64(&t["maxPriorityFeePerGas"]) as u128)
            );
        }
    }
    if tx.tx_type >= 1 {
        assert_eq!(
            tx.access_list_len,
            t["accessList"].as_array().unwrap().len()
        );
    }
    if tx.tx_type == 3 {
        assert_eq!(
            tx.blob_hashes_count,
            t["blobVersionedHashes"].as_array().unwrap().len()
        );
        assert_eq!(
            tx.max_fee_per_blob_gas,
            Some(qty_u64(&t["maxFeePerBlobGas"]) as u128)
        );
    }
    if tx.tx_type == 4 {
        assert_eq!(
            tx.authorization_list_len,
            t["authorizationList"].as_array().unwrap().len()
        );
    }
}

#[test]
fn receipts_json_root_and_blooms() {
    let Some(files) = load_dir("receipts") else {
        return;
    };
    for (name, f) in &files {
        let rs: Vec<Receipt> = f["receipts"]
            .as_array()
            .unwrap()
            .iter()
            .map(receipt_from_json)
            .collect();
        for (r, j) in rs.iter().zip(f["receipts"].as_array().unwrap()) {
            assert_eq!(r.bloom(), Bloom(fixed(&j["logsBloom"])), "{name}");
        }
        assert_eq!(
            receipt::receipts_root(&rs).unwrap().to_vec(),
            vhex(&f["receiptsRoot"]),
            "{name}"
        );
        let n = qty_u64(&f["blockNumber"]);
        if let Some(hj) = load_file("headers", &format!("{n}.json")) {
            let h = header_from_json(&hj);
            verify_receipts(&h, &rs).unwrap();
            assert_eq!(h.hash_slow().unwrap().to_vec(), vhex(&f["blockHash"]));
        }
    }
}

#[test]
fn tx_and_receipt_inclusion_proofs() {
    let blocks = rlp_blocks();
    for b in blocks.iter().take(4) {
        let h = SealedHeader::decode(&b.header).unwrap().header;
        let body = BlockBody::decode(&b.body).unwrap();
        let rcs: Vec<Vec<u8>> = decode_eth69_receipts(&b.receipts)
            .unwrap()
            .iter()
            .map(Receipt::encode_consensus)
            .collect();
        let n = body.transactions.len();
        for i in [0, 1, n / 2, n - 1, n] {
            let (root, proof) = trie::ordered_trie_proof(&body.transactions, i).unwrap();
            assert_eq!(root, h.transactions_root);
            let got = mpt::verify_proof(&root, &rlp::index_key(i), &proof).unwrap();
            assert_eq!(got, body.transactions.get(i).copied(), "{} tx {i}", b.name);
            let (rroot, rproof) = trie::ordered_trie_proof(&rcs, i).unwrap();
            assert_eq!(rroot, h.receipts_root);
            if i < n {
                trie::verify_ordered_inclusion(&rroot, i, &rcs[i], &rproof).unwrap();
                // wrong index or wrong value fails
                assert!(trie::verify_ordered_inclusion(&rroot, i + 1, &rcs[i], &rproof).is_err());
                if i > 0 {
                    assert!(
                        trie::verify_ordered_inclusion(&rroot, i, &rcs[i - 1], &rproof).is_err()
                    );
                }
            }
        }
    }
}

#[test]
fn block_negative_cases() {
    let blocks = rlp_blocks();
    let Some(b) = blocks.iter().find(|b| b.name.starts_with("22431084")) else {
        return;
    };
    let h = SealedHeader::decode(&b.header).unwrap().header;
    let body = BlockBody::decode(&b.body).unwrap();
    let mut rs = decode_eth69_receipts(&b.receipts).unwrap();
    // dropped log
    let i = rs.iter().position(|r| !r.logs.is_empty()).unwrap();
    let mut dropped = rs.clone();
    dropped[i].logs.pop();
    assert_eq!(
        verify_receipts(&h, &dropped),
        Err(Error::Mismatch(Commitment::ReceiptsRoot))
    );
    // dropped receipt
    let mut fewer = rs.clone();
    fewer.pop();
    assert!(verify_receipts(&h, &fewer).is_err());
    // flipped status
    rs[0].outcome = match rs[0].outcome {
        receipt::Outcome::Status(s) => receipt::Outcome::Status(!s),
        o => o,
    };
    assert!(verify_receipts(&h, &rs).is_err());
    // wrong root in header
    let mut h2 = h.clone();
    h2.transactions_root[0] ^= 1;
    assert_eq!(
        body.verify(&h2),
        Err(Error::Mismatch(Commitment::TransactionsRoot))
    );
    let mut h3 = h.clone();
    h3.withdrawals_root = None;
    assert_eq!(
        body.verify(&h3),
        Err(Error::Mismatch(Commitment::WithdrawalsRoot))
    );
    // reordered transactions
    let mut txs = body.transactions.clone();
    txs.swap(0, 1);
    assert_ne!(transactions_root(&txs).unwrap(), h.transactions_root);
    // a consensus receipt whose stored bloom lies is rejected
    let good = decode_eth69_receipts(&b.receipts).unwrap()[i].clone();
    let mut bloom = good.bloom();
    bloom.0[0] ^= 0xff;
    assert_eq!(
        Receipt::decode_consensus(&good.encode_with_bloom(&bloom)),
        Err(Error::Mismatch(Commitment::LogsBloom))
    );
}

#[test]
fn blooms() {
    let blocks = rlp_blocks();
    let Some(b) = blocks.first() else { return };
    let h = SealedHeader::decode(&b.header).unwrap().header;
    let rs = decode_eth69_receipts(&b.receipts).unwrap();
    let mut absent_proven = 0;
    for r in &rs {
        for l in &r.logs {
            assert!(bloom_may_contain(&h.logs_bloom, &l.address));
            for t in &l.topics {
                assert!(bloom_may_contain(&h.logs_bloom, t));
                assert!(!address_topic_absent(&h.logs_bloom, &l.address, t));
            }
        }
    }
    for i in 0u32..200 {
        let topic = keccak256(&i.to_be_bytes());
        if address_topic_absent(&h.logs_bloom, &[0x42; 20], &topic) {
            absent_proven += 1;
        }
    }
    assert!(absent_proven > 0);
    assert!(address_topic_absent(&Bloom::default(), &[1; 20], &[2; 32]));
}

fn typed_and_legacy_txs() -> Vec<Vec<u8>> {
    static C: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    C.get_or_init(typed_and_legacy_txs_uncached).clone()
}

fn typed_and_legacy_txs_uncached() -> Vec<Vec<u8>> {
    let blocks = rlp_blocks();
    let Some(b) = blocks.iter().find(|b| b.name.starts_with("22869878")) else {
        return Vec::new();
    };
    BlockBody::decode(&b.body)
        .unwrap()
        .transactions
        .iter()
        .map(|t| t.to_vec())
        .collect()
}

fn receipts_consensus() -> Vec<Vec<u8>> {
    static C: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    C.get_or_init(receipts_consensus_uncached).clone()
}

fn receipts_consensus_uncached() -> Vec<Vec<u8>> {
    let blocks = rlp_blocks();
    let Some(b) = blocks.iter().find(|b| b.name.starts_with("22431084")) else {
        return Vec::new();
    };
    decode_eth69_receipts(&b.receipts)
        .unwrap()
        .iter()
        .map(Receipt::encode_consensus)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// One flipped tx byte: the tx fails to decode, or the transactions root changes.
    #[test]
    fn mutated_tx_byte_changes_root(pick in any::<prop::sample::Index>(), pos in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let txs = typed_and_legacy_txs();
        if txs.is_empty() { return Ok(()); }
        let root = transactions_root(&txs).unwrap();
        let mut m = txs.clone();
        let i = pick.index(m.len());
        let j = pos.index(m[i].len());
        m[i][j] ^= flip;
        let _ = Transaction::decode(&m[i]); // never panics
        prop_assert_ne!(transactions_root(&m).unwrap(), root);
        // inclusion proof of the original tx does not prove the mutated one
        let (_, proof) = trie::ordered_trie_proof(&txs, i).unwrap();
        prop_assert!(trie::verify_ordered_inclusion(&root, i, &m[i], &proof).is_err());
    }

    /// One flipped receipt byte: undecodable, bloom mismatch, or a different root.
    #[test]
    fn mutated_receipt_byte_rejected(pick in any::<prop::sample::Index>(), pos in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let rcs = receipts_consensus();
        if rcs.is_empty() { return Ok(()); }
        let root = trie::ordered_trie_root(&rcs).unwrap();
        let mut m = rcs.clone();
        let i = pick.index(m.len());
        let j = pos.index(m[i].len());
        m[i][j] ^= flip;
        prop_assert_ne!(trie::ordered_trie_root(&m).unwrap(), root);
        if let Ok(r) = Receipt::decode_consensus(&m[i]) {
            let mut all: Vec<Receipt> = rcs.iter().map(|x| Receipt::decode_consensus(x).unwrap()).collect();
            all[i] = r;
            prop_assert_ne!(receipt::receipts_root(&all).unwrap(), root);
        }
    }

    /// Arbitrary bytes never panic the decoders.
    #[test]
    fn decoders_total_on_garbage(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = Transaction::decode(&bytes);
        let _ = Receipt::decode_consensus(&bytes);
        let _ = Receipt::decode_eth69(&bytes);
        let _ = BlockBody::decode(&bytes);
        let _ = ethcore::header::Header::decode(&bytes);
        let _ = mpt::verify_proof(&[0u8; 32], &bytes, std::slice::from_ref(&bytes));
        let _ = mpt::verify_proof(&keccak256(&bytes), &[1, 2, 3], std::slice::from_ref(&bytes));
    }
}
