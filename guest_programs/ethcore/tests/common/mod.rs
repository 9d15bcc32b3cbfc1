//! Shared fixture loading for the integration tests.
//!
//! Mainnet fixtures: `$ETH_FIXTURES` if set, else the repo's
//! `tests/fixtures/mainnet` (`<crate>/../../tests/fixtures/mainnet`). ethereum/tests vectors:
//! `$ETH_TESTS` if set, else `<mainnet dir>/../ethereum-tests`. When a
//! directory is missing, tests print why and return early (skip).
#![allow(dead_code)]

use ethcore::bloom::Bloom;
use ethcore::header::Header;
use ethcore::receipt::{Log, Outcome, Receipt};
use ethcore::rlp;
use ethcore::withdrawal::Withdrawal;
use ethcore::U256;
use serde_json::Value;
use std::path::PathBuf;

pub fn mainnet_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("ETH_FIXTURES") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/mainnet"),
    };
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIP: mainnet fixtures not found at {} (set ETH_FIXTURES)",
            dir.display()
        );
        None
    }
}

pub fn eth_tests_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("ETH_TESTS") {
        Some(d) => PathBuf::from(d),
        None => match std::env::var_os("ETH_FIXTURES") {
            Some(d) => PathBuf::from(d).join("../ethereum-tests"),
            None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/fixtures/ethereum-tests"),
        },
    };
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIP: ethereum/tests vectors not found at {} (set ETH_TESTS)",
            dir.display()
        );
        None
    }
}

/// All JSON files of a fixture subfolder, sorted by name: (file name, value).
pub fn load_dir(sub: &str) -> Option<Vec<(String, Value)>> {
    let dir = mainnet_dir()?.join(sub);
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    entries.sort();
    for p in entries {
        let text = std::fs::read_to_string(&p).unwrap();
        let v: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        out.push((p.file_name().unwrap().to_string_lossy().into_owned(), v));
    }
    assert!(!out.is_empty(), "no fixtures in {}", dir.display());
    Some(out)
}

pub fn load_file(sub: &str, name: &str) -> Option<Value> {
    let p = mainnet_dir()?.join(sub).join(name);
    if !p.is_file() {
        return None; // optional cross-reference; callers assert what they need
    }
    Some(serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
}

pub fn hex_bytes(s: &str) -> Vec<u8> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    hex::decode(s).unwrap_or_else(|e| panic!("bad hex {s:.40}: {e}"))
}
pub fn vhex(v: &Value) -> Vec<u8> {
    hex_bytes(v.as_str().expect("hex string"))
}
pub fn fixed<const N: usize>(v: &Value) -> [u8; N] {
    vhex(v).try_into().expect("fixed length")
}
/// Minimal big-endian bytes of a JSON-RPC quantity ("0x0" → empty).
pub fn qty_bytes(v: &Value) -> Vec<u8> {
    let s = v.as_str().expect("quantity string");
    let s = s.strip_prefix("0x").unwrap_or(s);
    let s = s.trim_start_matches('0');
    if s.is_empty() {
        return Vec::new();
    }
    let padded = if s.len() % 2 == 1 {
        format!("0{s}")
    } else {
        s.to_string()
    };
    hex::decode(padded).unwrap()
}
pub fn qty_u64(v: &Value) -> u64 {
    let b = qty_bytes(v);
    assert!(b.len() <= 8);
    b.iter().fold(0u64, |a, &x| (a << 8) | x as u64)
}
pub fn qty_u256(v: &Value) -> U256 {
    U256::try_from_be_slice(&qty_bytes(v)).unwrap()
}
fn opt<'a>(v: &'a Value, k: &str) -> Option<&'a Value> {
    v.get(k).filter(|x| !x.is_null())
}

/// Header from a JSON-RPC block object.
pub fn header_from_json(b: &Value) -> Header {
    Header {
        parent_hash: fixed(&b["parentHash"]),
        ommers_hash: fixed(&b["sha3Uncles"]),
        beneficiary: fixed(&b["miner"]),
        state_root: fixed(&b["stateRoot"]),
        transactions_root: fixed(&b["transactionsRoot"]),
        receipts_root: fixed(&b["receiptsRoot"]),
        logs_bloom: Bloom(fixed(&b["logsBloom"])),
        difficulty: qty_u256(&b["difficulty"]),
        number: qty_u64(&b["number"]),
        gas_limit: qty_u64(&b["gasLimit"]),
        gas_used: qty_u64(&b["gasUsed"]),
        timestamp: qty_u64(&b["timestamp"]),
        extra_data: vhex(&b["extraData"]),
        mix_hash: fixed(&b["mixHash"]),
        nonce: fixed(&b["nonce"]),
        base_fee_per_gas: opt(b, "baseFeePerGas").map(qty_u256),
        withdrawals_root: opt(b, "withdrawalsRoot").map(fixed),
        blob_gas_used: opt(b, "blobGasUsed").map(qty_u64),
        excess_blob_gas: opt(b, "excessBlobGas").map(qty_u64),
        parent_beacon_block_root: opt(b, "parentBeaconBlockRoot").map(fixed),
        requests_hash: opt(b, "requestsHash").map(fixed),
    }
}

fn push_qty(out: &mut Vec<u8>, v: &Value) {
    rlp::encode_bytes(out, &qty_bytes(v));
}

fn access_list(out: &mut Vec<u8>, v: &Value) {
    let mut p = Vec::new();
    for e in v.as_array().expect("accessList") {
        let mut ep = Vec::new();
        rlp::encode_bytes(&mut ep, &vhex(&e["address"]));
        let mut kp = Vec::new();
        for k in e["storageKeys"].as_array().unwrap() {
            rlp::encode_bytes(&mut kp, &vhex(k));
        }
        rlp::encode_list_payload(&mut ep, &kp);
        rlp::encode_list_payload(&mut p, &ep);
    }
    rlp::encode_list_payload(out, &p);
}

/// Raw (trie) bytes of a JSON-RPC transaction object, re-encoded.
pub fn tx_raw_from_json(t: &Value) -> Vec<u8> {
    let ty = opt(t, "type").map(qty_u64).unwrap_or(0) as u8;
    let to = opt(t, "to").map(vhex).unwrap_or_default();
    let mut p = Vec::new();
    let parity = opt(t, "yParity").unwrap_or(&t["v"]);
    match ty {
        0 => {
            for k in ["nonce", "gasPrice", "gas"] {
                push_qty(&mut p, &t[k]);
            }
            rlp::encode_bytes(&mut p, &to);
            push_qty(&mut p, &t["value"]);
            rlp::encode_bytes(&mut p, &vhex(&t["input"]));
            for k in ["v", "r", "s"] {
                push_qty(&mut p, &t[k]);
            }
            return rlp::list_from_payload(&p);
        }
        1 => {
            for k in ["chainId", "nonce", "gasPrice", "gas"] {
                push_qty(&mut p, &t[k]);
            }
        }
        2..=4 => {
            for k in [
                "chainId",
                "nonce",
                "maxPriorityFeePerGas",
                "maxFeePerGas",
                "gas",
            ] {
                push_qty(&mut p, &t[k]);
            }
        }
        _ => panic!("tx type {ty}"),
    }
    rlp::encode_bytes(&mut p, &to);
    push_qty(&mut p, &t["value"]);
    rlp::encode_bytes(&mut p, &vhex(&t["input"]));
    access_list(&mut p, &t["accessList"]);
    if ty == 3 {
        push_qty(&mut p, &t["maxFeePerBlobGas"]);
        let mut hp = Vec::new();
        for h in t["blobVersionedHashes"].as_array().unwrap() {
            rlp::encode_bytes(&mut hp, &vhex(h));
        }
        rlp::encode_list_payload(&mut p, &hp);
    }
    if ty == 4 {
        let mut ap = Vec::new();
        for a in t["authorizationList"].as_array().unwrap() {
            let mut e = Vec::new();
            push_qty(&mut e, &a["chainId"]);
            rlp::encode_bytes(&mut e, &vhex(&a["address"]));
            push_qty(&mut e, &a["nonce"]);
            push_qty(&mut e, opt(a, "yParity").unwrap_or_else(|| &a["v"]));
            push_qty(&mut e, &a["r"]);
            push_qty(&mut e, &a["s"]);
            rlp::encode_list_payload(&mut ap, &e);
        }
        rlp::encode_list_payload(&mut p, &ap);
    }
    push_qty(&mut p, parity);
    push_qty(&mut p, &t["r"]);
    push_qty(&mut p, &t["s"]);
    let mut out = vec![ty];
    rlp::encode_list_payload(&mut out, &p);
    out
}

pub fn withdrawal_from_json(w: &Value) -> Withdrawal {
    Withdrawal {
        index: qty_u64(&w["index"]),
        validator_index: qty_u64(&w["validatorIndex"]),
        address: fixed(&w["address"]),
        amount_gwei: qty_u64(&w["amount"]),
    }
}

pub fn receipt_from_json(r: &Value) -> Receipt {
    let outcome = match opt(r, "status") {
        Some(s) => Outcome::Status(qty_u64(s) == 1),
        None => Outcome::PostState(fixed(&r["root"])),
    };
    Receipt {
        tx_type: opt(r, "type").map(qty_u64).unwrap_or(0) as u8,
        outcome,
        cumulative_gas_used: qty_u64(&r["cumulativeGasUsed"]),
        logs: r["logs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| Log {
                address: fixed(&l["address"]),
                topics: l["topics"].as_array().unwrap().iter().map(fixed).collect(),
                data: vhex(&l["data"]),
            })
            .collect(),
    }
}

pub fn number_of(name: &str) -> u64 {
    name.trim_end_matches(".json")
        .split('-')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}
