//! Host-only fast path of the indexer: a JSON-RPC batch response body in,
//! validated table columns out (`r0_ingest_blocks`).
//!
//! It does, for a run of blocks, what `coprocessor/indexer/ingest.py` does
//! block by block: rebuild the header RLP, raw transactions and consensus
//! receipts from the node's JSON, check them with `ethcore` (header hash,
//! parent links, transactionsRoot, tx hashes, receipt count, receipt tx
//! hashes, gasUsed, receiptsRoot, logsBloom, withdrawalsRoot) and produce the
//! rows of `blocks`, `transactions`, `receipts`, `logs` and `withdrawals`.
//!
//! The Python code stays the reference: this path accepts only canonical
//! input (every hex string `0x`-prefixed and well formed, every field it
//! reads present with the expected JSON type) and on *anything* else -- a
//! failed check, an unusual field, an error item in the batch -- it returns a
//! [`Fallback`] and the caller re-runs the Python path on the same response,
//! which then raises the precise `InvalidBlockError` (or stores the rows).
//! So for accepted input the rows must equal the Python path's, byte for
//! byte; `tests/unit/test_indexer_native.py` checks that on the devchain and
//! the mainnet fixtures.
//!
//! Output (little endian, every buffer starting at a multiple of 8):
//! `u32 tables`, then per table `u16 len, name, u32 rows, u32 columns`, then
//! per column `u16 len, name, u8 kind (0 u64, 1 binary, 2 utf-8 text),
//! u8 has_validity`, padding to 8, the validity bitmap if any (Arrow layout,
//! `ceil(rows/8)` bytes padded to 8), then for kind 0 `rows` u64 values, for
//! kinds 1-2 `rows + 1` i32 offsets (padded to 8), `u64 data_len` and the data
//! (padded to 8): Arrow buffers Python wraps without copying.

use std::collections::HashMap;

use ethcore::header::SealedHeader;
use ethcore::keccak::keccak256;
use ethcore::receipt::Receipt;
use ethcore::rlp;
use ethcore::transaction::transactions_root;
use ethcore::trie::ordered_trie_root;
use ethcore::withdrawal::{withdrawals_root, Withdrawal};
use std::borrow::Cow;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// Why the fast path declined; the Python path decides instead.
pub struct Fallback(pub String);

type R<T> = std::result::Result<T, Fallback>;

macro_rules! fb {
    ($($t:tt)*) => { Fallback(format!($($t)*)) };
}

// --- JSON values ------------------------------------------------------------------------

/// A JSON value borrowing its strings from the response body (no per-string allocation).
pub enum Value<'a> {
    Null,
    U64(u64),
    /// booleans and numbers other than u64: never read, only skipped over
    Other,
    Str(Cow<'a, str>),
    Arr(Vec<Value<'a>>),
    Obj(Obj<'a>),
}

/// A JSON object as its members in order; a repeated key reads as its last value
/// (as Python's json/orjson do).
pub struct Obj<'a>(Vec<(Cow<'a, str>, Value<'a>)>);

impl<'a> Obj<'a> {
    fn get(&self, key: &str) -> Option<&Value<'a>> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

impl<'a> Value<'a> {
    fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    fn as_array(&self) -> Option<&Vec<Value<'a>>> {
        match self {
            Value::Arr(a) => Some(a),
            _ => None,
        }
    }
    fn as_object(&self) -> Option<&Obj<'a>> {
        match self {
            Value::Obj(o) => Some(o),
            _ => None,
        }
    }
    fn as_u64(&self) -> Option<u64> {
        match self {
            Value::U64(v) => Some(*v),
            _ => None,
        }
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Value<'de>, E> {
        Ok(Value::Other)
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value<'de>, E> {
        Ok(Value::U64(v))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Value<'de>, E> {
        Ok(Value::Other)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Value<'de>, E> {
        Ok(Value::Other)
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Value<'de>, E> {
        Ok(Value::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value<'de>, E> {
        Ok(Value::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Value<'de>, E> {
        Ok(Value::Str(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value<'de>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Arr(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value<'de>, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(16));
        while let Some(k) = map.next_key::<Key<'de>>()? {
            out.push((k.0, map.next_value()?));
        }
        Ok(Value::Obj(Obj(out)))
    }
}

impl<'de> Deserialize<'de> for Value<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

/// An object key, borrowed when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Str(s) => Ok(Key(s)),
            _ => Err(serde::de::Error::custom("object key is not a string")),
        }
    }
}

const HEX_LUT: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

fn hexval(c: u8) -> Option<u8> {
    let v = HEX_LUT[c as usize];
    (v != 0xff).then_some(v)
}

/// `0x` + an even number of hex digits (what `types.hex_bytes` reads the same way).
fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    let d = s.as_bytes().strip_prefix(b"0x")?;
    if d.len() % 2 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(d.len() / 2);
    let mut bad = 0u8;
    for pair in d.chunks_exact(2) {
        let (hi, lo) = (HEX_LUT[pair[0] as usize], HEX_LUT[pair[1] as usize]);
        bad |= hi | lo;
        out.push(hi << 4 | (lo & 0x0f));
    }
    // any invalid digit has all bits set (0xff), valid ones never reach 0x10
    (bad & 0xf0 == 0).then_some(out)
}

/// A quantity `0x` + at least one hex digit, as minimal big-endian bytes (zero is empty),
/// at most 32 bytes (what `int(s, 16)` reads the same way).
fn hex_quantity(s: &str) -> Option<Vec<u8>> {
    let d = s.as_bytes().strip_prefix(b"0x")?;
    if d.is_empty() {
        return None;
    }
    let mut digits = d;
    while digits.len() > 1 && digits[0] == b'0' {
        digits = &digits[1..];
    }
    let mut out = Vec::with_capacity(digits.len() / 2 + 1);
    let mut i = 0;
    if digits.len() % 2 == 1 {
        out.push(hexval(digits[0])?);
        i = 1;
    }
    while i < digits.len() {
        out.push(hexval(digits[i])? << 4 | hexval(digits[i + 1])?);
        i += 2;
    }
    let z = out.iter().take_while(|&&b| b == 0).count();
    out.drain(..z);
    if out.len() > 32 {
        return None;
    }
    Some(out)
}

fn be_u64(b: &[u8]) -> Option<u64> {
    if b.len() > 8 {
        return None;
    }
    Some(b.iter().fold(0u64, |acc, &x| acc << 8 | x as u64))
}

/// Decimal text of a big-endian unsigned integer of at most 32 bytes (Python's `str(int)`).
fn decimal(b: &[u8]) -> String {
    let mut limbs = [0u64; 4]; // little-endian limbs
    for (i, chunk) in b.rchunks(8).enumerate() {
        limbs[i] = chunk.iter().fold(0u64, |acc, &x| acc << 8 | x as u64);
    }
    if limbs[1] == 0 && limbs[2] == 0 && limbs[3] == 0 {
        return limbs[0].to_string();
    }
    const BASE: u64 = 10_000_000_000_000_000_000; // 10^19
    let mut parts = Vec::new();
    while limbs.iter().any(|&l| l != 0) {
        let mut rem: u128 = 0;
        for l in limbs.iter_mut().rev() {
            let cur = (rem << 64) | *l as u128;
            *l = (cur / BASE as u128) as u64;
            rem = cur % BASE as u128;
        }
        parts.push(rem as u64);
    }
    let mut s = parts.last().unwrap().to_string();
    for p in parts.iter().rev().skip(1) {
        s.push_str(&format!("{p:019}"));
    }
    s
}

fn obj<'a>(v: &'a Value<'a>, what: &str) -> R<&'a Obj<'a>> {
    v.as_object().ok_or_else(|| fb!("{what} is not an object"))
}

/// A present, non-null field (Python `d.get(key) is not None`).
fn opt<'a>(o: &'a Obj<'a>, key: &str) -> Option<&'a Value<'a>> {
    o.get(key).filter(|v| !v.is_null())
}

fn str_of<'a>(v: &'a Value<'_>, key: &str) -> R<&'a str> {
    v.as_str().ok_or_else(|| fb!("{key} is not a string"))
}

/// A required byte string field.
fn bytes(o: &Obj<'_>, key: &str) -> R<Vec<u8>> {
    let s = str_of(o.get(key).ok_or_else(|| fb!("{key} missing"))?, key)?;
    hex_bytes(s).ok_or_else(|| fb!("{key} is not canonical hex bytes"))
}

fn bytes_v(v: &Value<'_>, key: &str) -> R<Vec<u8>> {
    hex_bytes(str_of(v, key)?).ok_or_else(|| fb!("{key} is not canonical hex bytes"))
}

/// A required quantity field (minimal big-endian bytes).
fn qty(o: &Obj<'_>, key: &str) -> R<Vec<u8>> {
    let s = str_of(o.get(key).ok_or_else(|| fb!("{key} missing"))?, key)?;
    hex_quantity(s).ok_or_else(|| fb!("{key} is not a canonical quantity"))
}

fn qty_v(v: &Value<'_>, key: &str) -> R<Vec<u8>> {
    hex_quantity(str_of(v, key)?).ok_or_else(|| fb!("{key} is not a canonical quantity"))
}

/// An optional quantity (`_opt`): None when absent or null.
fn opt_qty(o: &Obj<'_>, key: &str) -> R<Option<Vec<u8>>> {
    opt(o, key).map(|v| qty_v(v, key)).transpose()
}

fn u64_of(b: &[u8], key: &str) -> R<u64> {
    be_u64(b).ok_or_else(|| fb!("{key} does not fit 64 bits"))
}

/// An optional byte string stored when truthy (`hb(d[key]) if d.get(key) else None`).
fn truthy_bytes(o: &Obj<'_>, key: &str) -> R<Option<Vec<u8>>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Str(s)) if s.is_empty() => Err(fb!("{key} is an empty string")),
        Some(v) => bytes_v(v, key).map(Some),
    }
}

fn array<'a>(v: &'a Value<'a>, key: &str) -> R<&'a Vec<Value<'a>>> {
    v.as_array().ok_or_else(|| fb!("{key} is not an array"))
}

// --- RLP building -------------------------------------------------------------------------

/// An RLP list payload under construction.
#[derive(Default)]
struct List(Vec<u8>);

impl List {
    fn b(&mut self, v: &[u8]) -> &mut Self {
        rlp::encode_bytes(&mut self.0, v);
        self
    }
    /// Integers are minimal big-endian byte strings: the same encoding.
    fn i(&mut self, v: &[u8]) -> &mut Self {
        self.b(v)
    }
    fn l(&mut self, inner: &List) -> &mut Self {
        rlp::encode_list_payload(&mut self.0, &inner.0);
        self
    }
    fn finish(&self) -> Vec<u8> {
        rlp::list_from_payload(&self.0)
    }
}

const HEADER_TAIL: [(&str, bool); 6] = [
    ("baseFeePerGas", true),
    ("withdrawalsRoot", false),
    ("blobGasUsed", true),
    ("excessBlobGas", true),
    ("parentBeaconBlockRoot", false),
    ("requestsHash", false),
];

/// `encode.header_rlp`.
fn header_rlp(b: &Obj<'_>) -> R<Vec<u8>> {
    let mut l = List::default();
    for key in [
        "parentHash",
        "sha3Uncles",
        "miner",
        "stateRoot",
        "transactionsRoot",
        "receiptsRoot",
        "logsBloom",
    ] {
        l.b(&bytes(b, key)?);
    }
    for key in ["difficulty", "number", "gasLimit", "gasUsed", "timestamp"] {
        l.i(&qty(b, key)?);
    }
    for key in ["extraData", "mixHash", "nonce"] {
        l.b(&bytes(b, key)?);
    }
    for (i, (name, int)) in HEADER_TAIL.iter().enumerate() {
        match opt(b, name) {
            None => {
                if HEADER_TAIL[i + 1..]
                    .iter()
                    .any(|(n, _)| opt(b, n).is_some())
                {
                    return Err(fb!("header has a later field but not {name}"));
                }
                break;
            }
            Some(v) if *int => l.i(&qty_v(v, name)?),
            Some(v) => l.b(&bytes_v(v, name)?),
        };
    }
    Ok(l.finish())
}

fn access_list(tx: &Obj<'_>) -> R<List> {
    let mut out = List::default();
    if let Some(items) = opt(tx, "accessList") {
        for item in array(items, "accessList")? {
            let item = obj(item, "access list item")?;
            let mut keys = List::default();
            if let Some(ks) = item.get("storageKeys") {
                for k in array(ks, "storageKeys")? {
                    keys.b(&bytes_v(k, "storageKey")?);
                }
            }
            let mut entry = List::default();
            entry.b(&bytes(item, "address")?).l(&keys);
            out.l(&entry);
        }
    }
    Ok(out)
}

fn auth_list(tx: &Obj<'_>) -> R<List> {
    let mut out = List::default();
    if let Some(items) = opt(tx, "authorizationList") {
        for a in array(items, "authorizationList")? {
            let a = obj(a, "authorization")?;
            let mut e = List::default();
            e.i(&qty(a, "chainId")?)
                .b(&bytes(a, "address")?)
                .i(&qty(a, "nonce")?);
            e.i(&qty(a, "yParity")?).i(&qty(a, "r")?).i(&qty(a, "s")?);
            out.l(&e);
        }
    }
    Ok(out)
}

fn y_parity(tx: &Obj<'_>) -> R<Vec<u8>> {
    match opt(tx, "yParity") {
        Some(v) => qty_v(v, "yParity"),
        None => qty(tx, "v"),
    }
}

/// `hi(d.get("type", "0x0"))` as a byte.
fn type_of(o: &Obj<'_>) -> R<u8> {
    match opt(o, "type") {
        None => Ok(0),
        Some(v) => {
            let b = qty_v(v, "type")?;
            match be_u64(&b) {
                Some(t) if t <= 0x7f => Ok(t as u8),
                _ => Err(fb!("type out of range")),
            }
        }
    }
}

/// `encode.raw_transaction` (and the decoded input).
fn raw_transaction(tx: &Obj<'_>, t: u8) -> R<(Vec<u8>, Vec<u8>)> {
    let to = match opt(tx, "to") {
        None => Vec::new(),
        Some(v) => bytes_v(v, "to")?,
    };
    let (gas, value, input) = (qty(tx, "gas")?, qty(tx, "value")?, bytes(tx, "input")?);
    let (r, s) = (qty(tx, "r")?, qty(tx, "s")?);
    let mut l = List::default();
    if t == 0 {
        l.i(&qty(tx, "nonce")?)
            .i(&qty(tx, "gasPrice")?)
            .i(&gas)
            .b(&to)
            .i(&value)
            .b(&input);
        l.i(&qty(tx, "v")?).i(&r).i(&s);
        return Ok((l.finish(), input));
    }
    l.i(&qty(tx, "chainId")?).i(&qty(tx, "nonce")?);
    match t {
        1 => {
            l.i(&qty(tx, "gasPrice")?)
                .i(&gas)
                .b(&to)
                .i(&value)
                .b(&input)
                .l(&access_list(tx)?);
        }
        2..=4 => {
            l.i(&qty(tx, "maxPriorityFeePerGas")?)
                .i(&qty(tx, "maxFeePerGas")?);
            l.i(&gas).b(&to).i(&value).b(&input).l(&access_list(tx)?);
            if t == 3 {
                l.i(&qty(tx, "maxFeePerBlobGas")?);
                let mut hashes = List::default();
                if let Some(hs) = tx.get("blobVersionedHashes") {
                    for h in array(hs, "blobVersionedHashes")? {
                        hashes.b(&bytes_v(h, "blobVersionedHash")?);
                    }
                }
                l.l(&hashes);
            } else if t == 4 {
                l.l(&auth_list(tx)?);
            }
        }
        _ => return Err(fb!("transaction type {t}")),
    }
    l.i(&y_parity(tx)?).i(&r).i(&s);
    let mut out = vec![t];
    out.extend_from_slice(&l.finish());
    Ok((out, input))
}

type Log = (Vec<u8>, Vec<Vec<u8>>, Vec<u8>);

/// `encode.receipt_logs` and `encode.consensus_receipt`.
fn consensus_receipt(r: &Obj<'_>, t: u8, cumulative: &[u8]) -> R<(Vec<u8>, Vec<Log>, Vec<u8>)> {
    let mut logs = Vec::new();
    let mut logs_l = List::default();
    for l in array(r.get("logs").ok_or_else(|| fb!("logs missing"))?, "logs")? {
        let l = obj(l, "log")?;
        let address = bytes(l, "address")?;
        let mut topics = Vec::new();
        let mut tl = List::default();
        for x in array(
            l.get("topics").ok_or_else(|| fb!("topics missing"))?,
            "topics",
        )? {
            let x = bytes_v(x, "topic")?;
            tl.b(&x);
            topics.push(x);
        }
        let data = bytes(l, "data")?;
        let mut e = List::default();
        e.b(&address).l(&tl).b(&data);
        logs_l.l(&e);
        logs.push((address, topics, data));
    }
    let mut body = List::default();
    match opt(r, "status") {
        Some(v) => body.i(&qty_v(v, "status")?),
        None => body.b(&bytes(r, "root")?),
    };
    let bloom = bytes(r, "logsBloom")?;
    body.i(cumulative).b(&bloom).l(&logs_l);
    let enc = body.finish();
    if t == 0 {
        return Ok((enc, logs, bloom));
    }
    let mut out = vec![t];
    out.extend_from_slice(&enc);
    Ok((out, logs, bloom))
}

// --- columns ------------------------------------------------------------------------------

enum Data {
    U64 {
        values: Vec<u64>,
        max: u64,
    },
    Bin {
        offsets: Vec<i32>,
        data: Vec<u8>,
        text: bool,
    },
}

struct Column {
    name: &'static str,
    valid: Vec<bool>,
    nulls: bool,
    data: Data,
}

impl Column {
    fn u(name: &'static str, max: u64) -> Self {
        Column {
            name,
            valid: Vec::new(),
            nulls: false,
            data: Data::U64 {
                values: Vec::new(),
                max,
            },
        }
    }
    fn bin(name: &'static str) -> Self {
        Column {
            name,
            valid: Vec::new(),
            nulls: false,
            data: Data::Bin {
                offsets: vec![0],
                data: Vec::new(),
                text: false,
            },
        }
    }
    fn text(name: &'static str) -> Self {
        Column {
            name,
            valid: Vec::new(),
            nulls: false,
            data: Data::Bin {
                offsets: vec![0],
                data: Vec::new(),
                text: true,
            },
        }
    }
}

struct Table {
    name: &'static str,
    cols: Vec<Column>,
    rows: usize,
}

/// One value of a row.
enum V<'a> {
    U(u64),
    B(&'a [u8]),
    S(String),
    Null,
}

impl Table {
    fn new(name: &'static str, cols: Vec<Column>) -> Self {
        Table {
            name,
            cols,
            rows: 0,
        }
    }

    fn push(&mut self, row: Vec<V<'_>>) -> R<()> {
        debug_assert_eq!(row.len(), self.cols.len());
        for (c, v) in self.cols.iter_mut().zip(row) {
            let is_null = matches!(v, V::Null);
            c.valid.push(!is_null);
            c.nulls |= is_null;
            match (&mut c.data, v) {
                (Data::U64 { values, max }, V::U(x)) => {
                    if x > *max {
                        return Err(fb!("{}.{} value {x} out of range", self.name, c.name));
                    }
                    values.push(x)
                }
                (Data::U64 { values, .. }, V::Null) => values.push(0),
                (
                    Data::Bin {
                        offsets,
                        data,
                        text: false,
                    },
                    V::B(b),
                ) => {
                    data.extend_from_slice(b);
                    offsets.push(data.len() as i32);
                }
                (
                    Data::Bin {
                        offsets,
                        data,
                        text: true,
                    },
                    V::S(s),
                ) => {
                    data.extend_from_slice(s.as_bytes());
                    offsets.push(data.len() as i32);
                }
                (Data::Bin { offsets, data, .. }, V::Null) => offsets.push(data.len() as i32),
                _ => {
                    return Err(fb!(
                        "internal: {}.{} value of the wrong kind",
                        self.name,
                        c.name
                    ))
                }
            }
        }
        self.rows += 1;
        Ok(())
    }
}

/// Rows of the five tables, the column names and order of `coprocessor/store.py` TABLES.
struct Tables {
    blocks: Table,
    transactions: Table,
    receipts: Table,
    logs: Table,
    withdrawals: Table,
}

const U8: u64 = u8::MAX as u64;
const U32: u64 = u32::MAX as u64;
const U64: u64 = u64::MAX;

impl Tables {
    fn new() -> Self {
        use Column as C;
        let blocks = Table::new(
            "blocks",
            vec![
                C::u("number", U64),
                C::bin("hash"),
                C::bin("parent_hash"),
                C::bin("ommers_hash"),
                C::bin("miner"),
                C::bin("state_root"),
                C::bin("transactions_root"),
                C::bin("receipts_root"),
                C::bin("logs_bloom"),
                C::text("difficulty"),
                C::u("gas_limit", U64),
                C::u("gas_used", U64),
                C::u("timestamp", U64),
                C::bin("extra_data"),
                C::bin("mix_hash"),
                C::bin("nonce"),
                C::text("base_fee_per_gas"),
                C::bin("withdrawals_root"),
                C::u("blob_gas_used", U64),
                C::u("excess_blob_gas", U64),
                C::bin("parent_beacon_block_root"),
                C::bin("requests_hash"),
                C::u("transaction_count", U32),
                C::bin("header_rlp"),
            ],
        );
        let transactions = Table::new(
            "transactions",
            vec![
                C::u("block_number", U64),
                C::u("tx_index", U32),
                C::bin("hash"),
                C::u("type", U8),
                C::bin("from"),
                C::bin("to"),
                C::text("value"),
                C::u("nonce", U64),
                C::u("gas", U64),
                C::text("gas_price"),
                C::text("max_fee_per_gas"),
                C::text("max_priority_fee_per_gas"),
                C::text("max_fee_per_blob_gas"),
                C::u("chain_id", U64),
                C::bin("input"),
                C::bin("raw"),
            ],
        );
        let receipts = Table::new(
            "receipts",
            vec![
                C::u("block_number", U64),
                C::u("tx_index", U32),
                C::bin("tx_hash"),
                C::u("type", U8),
                C::u("status", U8),
                C::bin("post_state"),
                C::u("gas_used", U64),
                C::u("cumulative_gas_used", U64),
                C::text("effective_gas_price"),
                C::bin("contract_address"),
                C::bin("logs_bloom"),
                C::u("log_count", U32),
                C::bin("raw"),
            ],
        );
        let logs = Table::new(
            "logs",
            vec![
                C::u("block_number", U64),
                C::u("tx_index", U32),
                C::u("log_index", U32),
                C::bin("address"),
                C::bin("topic0"),
                C::bin("topic1"),
                C::bin("topic2"),
                C::bin("topic3"),
                C::bin("data"),
            ],
        );
        let withdrawals = Table::new(
            "withdrawals",
            vec![
                C::u("block_number", U64),
                C::u("position", U32),
                C::u("index", U64),
                C::u("validator_index", U64),
                C::bin("address"),
                C::u("amount_gwei", U64),
            ],
        );
        Tables {
            blocks,
            transactions,
            receipts,
            logs,
            withdrawals,
        }
    }

    fn serialize(&self) -> Vec<u8> {
        fn pad(out: &mut Vec<u8>) {
            while out.len() % 8 != 0 {
                out.push(0);
            }
        }
        fn name(out: &mut Vec<u8>, n: &str) {
            out.extend_from_slice(&(n.len() as u16).to_le_bytes());
            out.extend_from_slice(n.as_bytes());
        }
        let tables = [
            &self.blocks,
            &self.transactions,
            &self.receipts,
            &self.logs,
            &self.withdrawals,
        ];
        let mut out = Vec::new();
        out.extend_from_slice(&(tables.len() as u32).to_le_bytes());
        for t in tables {
            name(&mut out, t.name);
            out.extend_from_slice(&(t.rows as u32).to_le_bytes());
            out.extend_from_slice(&(t.cols.len() as u32).to_le_bytes());
            for c in &t.cols {
                name(&mut out, c.name);
                out.push(match &c.data {
                    Data::U64 { .. } => 0,
                    Data::Bin { text: false, .. } => 1,
                    Data::Bin { text: true, .. } => 2,
                });
                out.push(c.nulls as u8);
                pad(&mut out);
                if c.nulls {
                    let mut bits = vec![0u8; t.rows.div_ceil(8)];
                    for (i, &v) in c.valid.iter().enumerate() {
                        if v {
                            bits[i / 8] |= 1 << (i % 8);
                        }
                    }
                    out.extend_from_slice(&bits);
                    pad(&mut out);
                }
                match &c.data {
                    Data::U64 { values, .. } => {
                        for v in values {
                            out.extend_from_slice(&v.to_le_bytes());
                        }
                    }
                    Data::Bin { offsets, data, .. } => {
                        for o in offsets {
                            out.extend_from_slice(&o.to_le_bytes());
                        }
                        pad(&mut out);
                        out.extend_from_slice(&(data.len() as u64).to_le_bytes());
                        out.extend_from_slice(data);
                        pad(&mut out);
                    }
                }
            }
        }
        out
    }
}

fn opt_b32(v: &Option<[u8; 32]>) -> V<'_> {
    v.as_ref().map_or(V::Null, |x| V::B(&x[..]))
}

fn opt_v(b: &Option<Vec<u8>>) -> V<'_> {
    b.as_deref().map_or(V::Null, V::B)
}

fn opt_s(b: &Option<Vec<u8>>) -> V<'static> {
    b.as_deref().map_or(V::Null, |b| V::S(decimal(b)))
}

fn opt_u(b: &Option<Vec<u8>>, key: &str) -> R<V<'static>> {
    Ok(match b {
        None => V::Null,
        Some(b) => V::U(u64_of(b, key)?),
    })
}

// --- one block --------------------------------------------------------------------------

fn ingest_block(
    t: &mut Tables,
    n: u64,
    block: &Value<'_>,
    receipts: Option<&Value<'_>>,
    parent_link: Option<[u8; 32]>,
) -> R<[u8; 32]> {
    let b = obj(block, "block")?;
    if be_u64(&qty(b, "number")?) != Some(n) {
        return Err(fb!("block {n}: number"));
    }
    let h_rlp = header_rlp(b)?;
    let sealed = SealedHeader::decode(&h_rlp).map_err(|e| fb!("block {n}: header: {e}"))?;
    sealed
        .header
        .era()
        .map_err(|e| fb!("block {n}: header era: {e}"))?;
    let bhash = bytes(b, "hash")?;
    if sealed.hash[..] != bhash[..] || sealed.header.number != n {
        return Err(fb!("block {n}: header_hash"));
    }
    let parent = sealed.header.parent_hash;
    if let Some(p) = parent_link {
        if parent != p {
            return Err(fb!("block {n}: parent_hash"));
        }
    }

    let empty = Vec::new();
    let txs = match opt(b, "transactions") {
        None => &empty,
        Some(v) => array(v, "transactions")?,
    };
    let mut tx_objs = Vec::with_capacity(txs.len());
    let mut raws = Vec::with_capacity(txs.len());
    let mut hashes = Vec::with_capacity(txs.len());
    for tx in txs {
        let tx = obj(tx, "transaction")?;
        let typ = type_of(tx)?;
        let (raw, input) = raw_transaction(tx, typ)?;
        let th = keccak256(&raw);
        if th[..] != bytes(tx, "hash")?[..] {
            return Err(fb!("block {n}: transaction_hash"));
        }
        tx_objs.push((tx, typ, input));
        raws.push(raw);
        hashes.push(th);
    }
    let troot = transactions_root(&raws).map_err(|e| fb!("block {n}: transactions_root: {e}"))?;
    if troot != sealed.header.transactions_root {
        return Err(fb!("block {n}: transactions_root"));
    }

    // receipts: (type, status, gas_used, cumulative, consensus bytes, logs)
    let mut rec = Vec::new();
    if let Some(rv) = receipts {
        let rs = array(rv, "receipts")?;
        if rs.len() != txs.len() {
            return Err(fb!("block {n}: receipt_count"));
        }
        let mut prev_cum: u64 = 0;
        let mut bloom = [0u8; 256];
        for (i, r) in rs.iter().enumerate() {
            let r = obj(r, "receipt")?;
            if bytes(r, "transactionHash")?[..] != hashes[i][..] {
                return Err(fb!("block {n}: receipt_tx_hash"));
            }
            let cum_b = qty(r, "cumulativeGasUsed")?;
            let cum = u64_of(&cum_b, "cumulativeGasUsed")?;
            // the row stores gasUsed, so it must be there (the Python path decides otherwise)
            let gas_used = u64_of(&qty(r, "gasUsed")?, "gasUsed")?;
            if cum < prev_cum || gas_used != cum - prev_cum {
                return Err(fb!("block {n}: receipt_gas_used"));
            }
            prev_cum = cum;
            let typ = type_of(r)?;
            let (raw, logs, r_bloom) = consensus_receipt(r, typ, &cum_b)?;
            // strict decode: the stored bloom equals the one recomputed from the logs
            Receipt::decode_consensus(&raw).map_err(|e| fb!("block {n}: receipts_root: {e}"))?;
            for (acc, x) in bloom.iter_mut().zip(&r_bloom) {
                *acc |= x;
            }
            rec.push((r, typ, gas_used, cum, raw, logs, r_bloom));
        }
        // ethcore's receipts_root re-encodes the decoded receipts; decoding is strict, so
        // the trie of the very bytes stored is the same root (and a stricter check)
        let raws: Vec<&[u8]> = rec.iter().map(|x| &x.4[..]).collect();
        let root = ordered_trie_root(&raws).map_err(|e| fb!("block {n}: receipts_root: {e}"))?;
        if root != sealed.header.receipts_root {
            return Err(fb!("block {n}: receipts_root"));
        }
        if bloom != sealed.header.logs_bloom.0 {
            return Err(fb!("block {n}: logs_bloom"));
        }
    }

    let mut wds = Vec::new();
    if opt(b, "withdrawalsRoot").is_some() {
        let items = array(
            opt(b, "withdrawals").ok_or_else(|| fb!("block {n}: withdrawals_missing"))?,
            "withdrawals",
        )?;
        for w in items {
            let w = obj(w, "withdrawal")?;
            let mut l = List::default();
            l.i(&qty(w, "index")?)
                .i(&qty(w, "validatorIndex")?)
                .b(&bytes(w, "address")?)
                .i(&qty(w, "amount")?);
            wds.push(
                Withdrawal::decode(&l.finish()).map_err(|e| fb!("block {n}: withdrawal: {e}"))?,
            );
        }
        let root = withdrawals_root(&wds).map_err(|e| fb!("block {n}: withdrawals_root: {e}"))?;
        if Some(root) != sealed.header.withdrawals_root {
            return Err(fb!("block {n}: withdrawals_root"));
        }
    }

    // --- every check passed: rows (exactly as ingest.py builds them) ---
    let hdr = &sealed.header;
    // header fields as strictly decoded from the RLP built of the JSON: the same bytes
    t.blocks.push(vec![
        V::U(n),
        V::B(&bhash),
        V::B(&parent),
        V::B(&hdr.ommers_hash),
        V::B(&hdr.beneficiary),
        V::B(&hdr.state_root),
        V::B(&hdr.transactions_root),
        V::B(&hdr.receipts_root),
        V::B(&hdr.logs_bloom.0),
        V::S(decimal(&qty(b, "difficulty")?)),
        V::U(hdr.gas_limit),
        V::U(hdr.gas_used),
        V::U(hdr.timestamp),
        V::B(&hdr.extra_data),
        V::B(&hdr.mix_hash),
        V::B(&hdr.nonce),
        hdr.base_fee_per_gas
            .map_or(V::Null, |x| V::S(x.to_string())),
        opt_b32(&hdr.withdrawals_root),
        hdr.blob_gas_used.map_or(V::Null, V::U),
        hdr.excess_blob_gas.map_or(V::Null, V::U),
        opt_b32(&hdr.parent_beacon_block_root),
        opt_b32(&hdr.requests_hash),
        V::U(txs.len() as u64),
        V::B(&h_rlp),
    ])?;

    for (i, (tx, typ, input)) in tx_objs.iter().enumerate() {
        let from = bytes(tx, "from")?;
        let to = truthy_bytes(tx, "to")?;
        let gas_price = if *typ <= 1 {
            opt_qty(tx, "gasPrice")?
        } else {
            None
        };
        let chain_id = if *typ != 0 {
            opt_qty(tx, "chainId")?
        } else {
            None
        };
        t.transactions.push(vec![
            V::U(n),
            V::U(i as u64),
            V::B(&hashes[i]),
            V::U(*typ as u64),
            V::B(&from),
            opt_v(&to),
            V::S(decimal(&qty(tx, "value")?)),
            V::U(u64_of(&qty(tx, "nonce")?, "nonce")?),
            V::U(u64_of(&qty(tx, "gas")?, "gas")?),
            opt_s(&gas_price),
            opt_s(&opt_qty(tx, "maxFeePerGas")?),
            opt_s(&opt_qty(tx, "maxPriorityFeePerGas")?),
            opt_s(&opt_qty(tx, "maxFeePerBlobGas")?),
            opt_u(&chain_id, "chainId")?,
            V::B(input),
            V::B(&raws[i]),
        ])?;
    }

    let mut log_index: u64 = 0;
    for (i, (r, typ, gas_used, cum, raw, logs, r_bloom)) in rec.iter().enumerate() {
        let status = opt_qty(r, "status")?;
        let post_state = if status.is_none() {
            truthy_bytes(r, "root")?
        } else {
            None
        };
        t.receipts.push(vec![
            V::U(n),
            V::U(i as u64),
            V::B(&hashes[i]),
            V::U(*typ as u64),
            opt_u(&status, "status")?,
            opt_v(&post_state),
            V::U(*gas_used),
            V::U(*cum),
            opt_s(&opt_qty(r, "effectiveGasPrice")?),
            opt_v(&truthy_bytes(r, "contractAddress")?),
            V::B(r_bloom),
            V::U(logs.len() as u64),
            V::B(raw),
        ])?;
        for (address, topics, data) in logs {
            let topic = |k: usize| topics.get(k).map_or(V::Null, |x| V::B(x));
            t.logs.push(vec![
                V::U(n),
                V::U(i as u64),
                V::U(log_index),
                V::B(address),
                topic(0),
                topic(1),
                topic(2),
                topic(3),
                V::B(data),
            ])?;
            log_index += 1;
        }
    }

    for (pos, w) in wds.iter().enumerate() {
        t.withdrawals.push(vec![
            V::U(n),
            V::U(pos as u64),
            V::U(w.index),
            V::U(w.validator_index),
            V::B(&w.address),
            V::U(w.amount_gwei),
        ])?;
    }
    Ok(sealed.hash)
}

/// Runs the fast path. `spec` is `rlp([first_block, [block_id, ...], [receipts_id, ...]])`
/// (no receipt ids: receipts are not indexed); `body` a JSON-RPC batch response.
pub fn ingest(body: &[u8], spec: &[u8]) -> R<Vec<u8>> {
    let (first, block_ids, receipt_ids) = (|| -> ethcore::Result<(u64, Vec<u64>, Vec<u64>)> {
        let mut r = rlp::list_exact(spec)?;
        let first = r.u64()?;
        let ids = |mut l: rlp::ListReader<'_>| -> ethcore::Result<Vec<u64>> {
            let mut out = Vec::new();
            while !l.is_empty() {
                out.push(l.u64()?);
            }
            Ok(out)
        };
        let blocks = ids(r.list()?)?;
        let receipts = ids(r.list()?)?;
        r.finish()?;
        Ok((first, blocks, receipts))
    })()
    .map_err(|e| fb!("bad spec: {e}"))?;
    if !receipt_ids.is_empty() && receipt_ids.len() != block_ids.len() {
        return Err(fb!(
            "bad spec: {} receipt ids for {} blocks",
            receipt_ids.len(),
            block_ids.len()
        ));
    }
    let data: Value = serde_json::from_slice(body).map_err(|e| fb!("response is not JSON: {e}"))?;
    let items = array(&data, "response")?;
    let mut by_id: HashMap<u64, &Value<'_>> = HashMap::with_capacity(items.len());
    for item in items {
        let item = obj(item, "response item")?;
        if opt(item, "error").is_some() {
            return Err(fb!("an item has an error"));
        }
        let id = item
            .get("id")
            .and_then(Value::as_u64)
            .ok_or_else(|| fb!("an item has no integer id"))?;
        let result = item
            .get("result")
            .ok_or_else(|| fb!("item {id} has no result"))?;
        if by_id.insert(id, result).is_some() {
            return Err(fb!("duplicate id {id}"));
        }
    }
    let mut t = Tables::new();
    let mut prev: Option<[u8; 32]> = None;
    for (k, id) in block_ids.iter().enumerate() {
        let n = first + k as u64;
        let block = by_id
            .get(id)
            .ok_or_else(|| fb!("no result for block {n}"))?;
        let receipts = match receipt_ids.get(k) {
            None => None,
            Some(rid) => Some(
                *by_id
                    .get(rid)
                    .ok_or_else(|| fb!("no receipts for block {n}"))?,
            ),
        };
        prev = Some(ingest_block(&mut t, n, block, receipts, prev)?);
    }
    Ok(t.serialize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_matches_known_values() {
        assert_eq!(decimal(&[]), "0");
        assert_eq!(decimal(&[1, 0]), "256");
        let max = [0xffu8; 32];
        assert_eq!(
            decimal(&max),
            "115792089237316195423570985008687907853269984665640564039457584007913129639935"
        );
        let p128 = {
            let mut v = vec![1u8];
            v.extend([0u8; 16]);
            v
        };
        assert_eq!(decimal(&p128), "340282366920938463463374607431768211456");
        let mut ten19 = 10_000_000_000_000_000_000u128.to_be_bytes().to_vec();
        ten19.retain(|_| true);
        let z = ten19.iter().take_while(|&&b| b == 0).count();
        assert_eq!(decimal(&ten19[z..]), "10000000000000000000");
    }

    #[test]
    fn hex_parsing_is_canonical_only() {
        assert_eq!(hex_quantity("0x0"), Some(vec![]));
        assert_eq!(hex_quantity("0x00ff"), Some(vec![0xff]));
        assert_eq!(hex_quantity("0x100"), Some(vec![1, 0]));
        assert_eq!(hex_quantity("0x"), None);
        assert_eq!(hex_quantity("ff"), None);
        assert_eq!(hex_quantity("0xg"), None);
        assert_eq!(hex_bytes("0x"), Some(vec![]));
        assert_eq!(hex_bytes("0xabc"), None);
        assert_eq!(hex_bytes("0xAbCd"), Some(vec![0xab, 0xcd]));
    }
}
