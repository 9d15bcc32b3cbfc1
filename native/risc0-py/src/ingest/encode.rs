//! Consensus encodings rebuilt from JSON-RPC objects: header RLP, raw
//! transactions and consensus receipts.
//!
//! Mirrors `coprocessor/indexer/encode.py` function for function (same names;
//! `access_list`, `y_parity` and `auth_list` are its `_access_list`, `_y` and
//! `_auth_list`). Every output is checked against a hash the node committed
//! to, so a mistake here cannot store wrong bytes: it makes the fast path
//! decline, and the Python path decides.

use ethcore::rlp;

use super::hex::u64_from_be;
use super::json::Obj;
use super::Result;

/// An RLP list payload under construction.
#[derive(Default)]
pub struct RlpList(Vec<u8>);

impl RlpList {
    pub fn push_bytes(&mut self, value: &[u8]) -> &mut Self {
        rlp::encode_bytes(&mut self.0, value);
        self
    }

    /// An integer as minimal big-endian bytes: RLP encodes it as those bytes.
    pub fn push_uint(&mut self, value: &[u8]) -> &mut Self {
        self.push_bytes(value)
    }

    pub fn push_list(&mut self, inner: &RlpList) -> &mut Self {
        rlp::encode_list_payload(&mut self.0, &inner.0);
        self
    }

    /// The RLP of the list.
    pub fn finish(&self) -> Vec<u8> {
        rlp::list_from_payload(&self.0)
    }
}

/// Header fields after the 15 Frontier ones, in consensus order, with whether
/// each is an integer (`_HEADER_TAIL` and `_INT_TAIL`).
const HEADER_TAIL: [(&str, bool); 6] = [
    ("baseFeePerGas", true),
    ("withdrawalsRoot", false),
    ("blobGasUsed", true),
    ("excessBlobGas", true),
    ("parentBeaconBlockRoot", false),
    ("requestsHash", false),
];

/// RLP of a header from eth_getBlockByNumber JSON, fork era taken from the fields present.
pub fn header_rlp(block: &Obj<'_>) -> Result<Vec<u8>> {
    let mut list = RlpList::default();
    for key in [
        "parentHash",
        "sha3Uncles",
        "miner",
        "stateRoot",
        "transactionsRoot",
        "receiptsRoot",
        "logsBloom",
    ] {
        list.push_bytes(&block.bytes(key)?);
    }
    for key in ["difficulty", "number", "gasLimit", "gasUsed", "timestamp"] {
        list.push_uint(&block.quantity(key)?);
    }
    for key in ["extraData", "mixHash", "nonce"] {
        list.push_bytes(&block.bytes(key)?);
    }
    for (i, (name, is_int)) in HEADER_TAIL.iter().enumerate() {
        match block.present(name) {
            None => {
                let later = &HEADER_TAIL[i + 1..];
                if later.iter().any(|(n, _)| block.present(n).is_some()) {
                    return Err(declined!("header has a later field but not {name}"));
                }
                break;
            }
            Some(value) if *is_int => list.push_uint(&value.quantity(name)?),
            Some(value) => list.push_bytes(&value.hex_bytes(name)?),
        };
    }
    Ok(list.finish())
}

/// `_access_list`: `[[address, [storage key, ...]], ...]`.
fn access_list(tx: &Obj<'_>) -> Result<RlpList> {
    let mut out = RlpList::default();
    if let Some(items) = tx.present("accessList") {
        for item in items.array("accessList")? {
            let item = item.object("access list item")?;
            let mut keys = RlpList::default();
            if let Some(storage_keys) = item.get("storageKeys") {
                for key in storage_keys.array("storageKeys")? {
                    keys.push_bytes(&key.hex_bytes("storageKey")?);
                }
            }
            let mut entry = RlpList::default();
            entry.push_bytes(&item.bytes("address")?).push_list(&keys);
            out.push_list(&entry);
        }
    }
    Ok(out)
}

/// `_auth_list` (EIP-7702): `[[chain id, address, nonce, y parity, r, s], ...]`.
fn auth_list(tx: &Obj<'_>) -> Result<RlpList> {
    let mut out = RlpList::default();
    if let Some(items) = tx.present("authorizationList") {
        for item in items.array("authorizationList")? {
            let item = item.object("authorization")?;
            let mut entry = RlpList::default();
            entry
                .push_uint(&item.quantity("chainId")?)
                .push_bytes(&item.bytes("address")?)
                .push_uint(&item.quantity("nonce")?)
                .push_uint(&item.quantity("yParity")?)
                .push_uint(&item.quantity("r")?)
                .push_uint(&item.quantity("s")?);
            out.push_list(&entry);
        }
    }
    Ok(out)
}

/// `_y`: the signature's y parity, `yParity` or else `v`.
fn y_parity(tx: &Obj<'_>) -> Result<Vec<u8>> {
    match tx.present("yParity") {
        Some(value) => value.quantity("yParity"),
        None => tx.quantity("v"),
    }
}

/// The EIP-2718 type of a transaction or receipt (`hi(d.get("type", "0x0"))`).
pub fn transaction_type(object: &Obj<'_>) -> Result<u8> {
    let Some(value) = object.present("type") else {
        return Ok(0);
    };
    match u64_from_be(&value.quantity("type")?) {
        Some(tx_type) if tx_type <= 0x7f => Ok(tx_type as u8),
        _ => Err(declined!("type out of range")),
    }
}

/// A signed transaction rebuilt from its JSON, with the parts its row needs.
pub struct RawTransaction {
    pub tx_type: u8,
    /// The EIP-2718 bytes (what the transaction hash is taken of).
    pub raw: Vec<u8>,
    pub input: Vec<u8>,
}

/// The EIP-2718 bytes of a signed transaction from its JSON-RPC object (types 0-4).
pub fn raw_transaction(tx: &Obj<'_>) -> Result<RawTransaction> {
    let tx_type = transaction_type(tx)?;
    let to = match tx.present("to") {
        None => Vec::new(),
        Some(value) => value.hex_bytes("to")?,
    };
    let (gas, value, input) = (
        tx.quantity("gas")?,
        tx.quantity("value")?,
        tx.bytes("input")?,
    );
    let (r, s) = (tx.quantity("r")?, tx.quantity("s")?);
    let mut list = RlpList::default();
    if tx_type == 0 {
        list.push_uint(&tx.quantity("nonce")?)
            .push_uint(&tx.quantity("gasPrice")?)
            .push_uint(&gas)
            .push_bytes(&to)
            .push_uint(&value)
            .push_bytes(&input);
        list.push_uint(&tx.quantity("v")?)
            .push_uint(&r)
            .push_uint(&s);
        let raw = list.finish();
        return Ok(RawTransaction {
            tx_type,
            raw,
            input,
        });
    }
    list.push_uint(&tx.quantity("chainId")?)
        .push_uint(&tx.quantity("nonce")?);
    match tx_type {
        1 => {
            list.push_uint(&tx.quantity("gasPrice")?);
            list.push_uint(&gas).push_bytes(&to).push_uint(&value);
            list.push_bytes(&input).push_list(&access_list(tx)?);
        }
        2..=4 => {
            list.push_uint(&tx.quantity("maxPriorityFeePerGas")?)
                .push_uint(&tx.quantity("maxFeePerGas")?);
            list.push_uint(&gas).push_bytes(&to).push_uint(&value);
            list.push_bytes(&input).push_list(&access_list(tx)?);
            if tx_type == 3 {
                list.push_uint(&tx.quantity("maxFeePerBlobGas")?);
                list.push_list(&blob_versioned_hashes(tx)?);
            } else if tx_type == 4 {
                list.push_list(&auth_list(tx)?);
            }
        }
        _ => return Err(declined!("transaction type {tx_type}")),
    }
    list.push_uint(&y_parity(tx)?).push_uint(&r).push_uint(&s);
    let mut raw = vec![tx_type];
    raw.extend_from_slice(&list.finish());
    Ok(RawTransaction {
        tx_type,
        raw,
        input,
    })
}

/// An EIP-4844 transaction's `blobVersionedHashes` (`tx.get(..., [])`).
fn blob_versioned_hashes(tx: &Obj<'_>) -> Result<RlpList> {
    let mut hashes = RlpList::default();
    if let Some(items) = tx.get("blobVersionedHashes") {
        for hash in items.array("blobVersionedHashes")? {
            hashes.push_bytes(&hash.hex_bytes("blobVersionedHash")?);
        }
    }
    Ok(hashes)
}

/// One log of a receipt.
pub struct Log {
    pub address: Vec<u8>,
    pub topics: Vec<Vec<u8>>,
    pub data: Vec<u8>,
}

/// The logs of a receipt's JSON.
pub fn receipt_logs(receipt: &Obj<'_>) -> Result<Vec<Log>> {
    let mut logs = Vec::new();
    for log in receipt.required("logs")?.array("logs")? {
        let log = log.object("log")?;
        let address = log.bytes("address")?;
        let topics = log
            .required("topics")?
            .array("topics")?
            .iter()
            .map(|topic| topic.hex_bytes("topic"))
            .collect::<Result<Vec<_>>>()?;
        let data = log.bytes("data")?;
        logs.push(Log {
            address,
            topics,
            data,
        });
    }
    Ok(logs)
}

/// `type || rlp([status | post-state root, cumulativeGasUsed, logsBloom, logs])`; the
/// type, cumulative gas and bloom come parsed (the caller needs them too).
pub fn consensus_receipt(
    receipt: &Obj<'_>,
    tx_type: u8,
    cumulative_gas_used: &[u8],
    bloom: &[u8],
    logs: &[Log],
) -> Result<Vec<u8>> {
    let mut log_list = RlpList::default();
    for log in logs {
        let mut topics = RlpList::default();
        for topic in &log.topics {
            topics.push_bytes(topic);
        }
        let mut entry = RlpList::default();
        entry
            .push_bytes(&log.address)
            .push_list(&topics)
            .push_bytes(&log.data);
        log_list.push_list(&entry);
    }
    let mut body = RlpList::default();
    match receipt.present("status") {
        Some(status) => body.push_uint(&status.quantity("status")?),
        None => body.push_bytes(&receipt.bytes("root")?), // pre-Byzantium: intermediate state root
    };
    body.push_uint(cumulative_gas_used)
        .push_bytes(bloom)
        .push_list(&log_list);
    if tx_type == 0 {
        return Ok(body.finish());
    }
    let mut raw = vec![tx_type];
    raw.extend_from_slice(&body.finish());
    Ok(raw)
}

/// The RLP of a withdrawal `[index, validator index, address, amount]` (the Python path
/// hands these four values to `ethcore.withdrawals_root` instead).
pub fn withdrawal_rlp(withdrawal: &Obj<'_>) -> Result<Vec<u8>> {
    let mut list = RlpList::default();
    list.push_uint(&withdrawal.quantity("index")?)
        .push_uint(&withdrawal.quantity("validatorIndex")?)
        .push_bytes(&withdrawal.bytes("address")?)
        .push_uint(&withdrawal.quantity("amount")?);
    Ok(list.finish())
}
