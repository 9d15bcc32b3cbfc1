//! The indexer's fast path, host only: a JSON-RPC batch response body in,
//! validated table columns out (`r0_ingest_blocks`).
//!
//! It does, for a run of blocks, what `coprocessor/indexer/ingest.py` does
//! block by block: rebuild the header RLP, raw transactions and consensus
//! receipts from the node's JSON, check them with `ethcore` and produce the
//! rows of `blocks`, `transactions`, `receipts`, `logs` and `withdrawals`.
//!
//! The Python code stays the reference: this path accepts only canonical
//! input (every hex string `0x`-prefixed and well formed, every field it
//! reads present with the expected JSON type) and on *anything* else -- a
//! failed check, an unusual field, an error item in the batch -- it declines
//! (`R0_DECLINED`) and the caller re-runs the Python path on the same
//! response, which then raises the precise `InvalidBlockError` (or stores the
//! rows). So for accepted input the rows must equal the Python path's, byte
//! for byte; `tests/unit/test_indexer_native.py` checks that on the devchain
//! and the mainnet fixtures. A malformed `spec` is the caller's bug
//! (`R0_ERR_ARGUMENT`), and a bug of this path a panic (`R0_ERR_PANIC`):
//! neither is a decline.
//!
//! Modules, bottom up: `hex` (canonical hex, decimal text), `json` (a JSON
//! value borrowing from the body, typed field accessors), `encode` (consensus
//! RLP rebuilt from the JSON, mirroring `coprocessor/indexer/encode.py`),
//! `schema` and `columns` (the tables and their wire format, read by
//! `coprocessor/indexer/native.py`), `block` (one block's checks and rows).

/// A `Declined` with a formatted reason.
macro_rules! declined {
    ($($reason:tt)*) => {
        $crate::ingest::Declined(format!($($reason)*))
    };
}

mod block;
mod columns;
mod encode;
mod hex;
mod json;
mod schema;

use std::collections::HashMap;
use std::ffi::c_char;

use anyhow::anyhow;
use ethcore::rlp;

use crate::buffers::{borrow, give};
use crate::status::{boundary, Failure, WithCode, R0_DECLINED, R0_ERR_ARGUMENT};
use columns::Tables;
use json::Value;

/// Why the fast path declined; the Python path decides instead.
#[derive(Debug)]
pub struct Declined(pub String);

type Result<T> = std::result::Result<T, Declined>;

impl From<Declined> for Failure {
    fn from(Declined(reason): Declined) -> Self {
        Failure {
            code: R0_DECLINED,
            error: anyhow!("{reason}"),
        }
    }
}

/// What to take from the response: `rlp([first_block, [block_request_id, ...],
/// [receipts_request_id, ...]])`, no receipt ids when receipts are not indexed.
struct Spec {
    first: u64,
    block_ids: Vec<u64>,
    receipt_ids: Vec<u64>,
}

fn parse_spec(spec: &[u8]) -> anyhow::Result<Spec> {
    let ids = |mut list: rlp::ListReader<'_>| -> ethcore::Result<Vec<u64>> {
        let mut out = Vec::new();
        while !list.is_empty() {
            out.push(list.u64()?);
        }
        Ok(out)
    };
    let parsed = (|| -> ethcore::Result<Spec> {
        let mut reader = rlp::list_exact(spec)?;
        let first = reader.u64()?;
        let block_ids = ids(reader.list()?)?;
        let receipt_ids = ids(reader.list()?)?;
        reader.finish()?;
        Ok(Spec {
            first,
            block_ids,
            receipt_ids,
        })
    })()
    .map_err(|e| anyhow!("bad spec: {e}"))?;
    if !parsed.receipt_ids.is_empty() && parsed.receipt_ids.len() != parsed.block_ids.len() {
        return Err(anyhow!(
            "bad spec: {} receipt ids for {} blocks",
            parsed.receipt_ids.len(),
            parsed.block_ids.len()
        ));
    }
    Ok(parsed)
}

/// The `result` of every item of a batch response, by request id.
fn results_by_id<'v>(response: &'v Value<'v>) -> Result<HashMap<u64, &'v Value<'v>>> {
    let items = response.array("response")?;
    let mut by_id = HashMap::with_capacity(items.len());
    for item in items {
        let item = item.object("response item")?;
        if item.present("error").is_some() {
            return Err(declined!("an item has an error"));
        }
        let id = item
            .get("id")
            .and_then(Value::as_u64)
            .ok_or_else(|| declined!("an item has no integer id"))?;
        let result = item
            .get("result")
            .ok_or_else(|| declined!("item {id} has no result"))?;
        if by_id.insert(id, result).is_some() {
            return Err(declined!("duplicate id {id}"));
        }
    }
    Ok(by_id)
}

/// Checks every block of `spec` in `body` and returns their rows' columns.
fn ingest(body: &[u8], spec: &Spec) -> Result<Vec<u8>> {
    let response = json::parse(body)?;
    let by_id = results_by_id(&response)?;
    let mut tables = Tables::default();
    let mut parent_hash: Option<[u8; 32]> = None;
    for (position, id) in spec.block_ids.iter().enumerate() {
        let number = spec.first + position as u64;
        let block = by_id
            .get(id)
            .ok_or_else(|| declined!("no result for block {number}"))?;
        let receipts = match spec.receipt_ids.get(position) {
            None => None,
            Some(receipts_id) => Some(
                *by_id
                    .get(receipts_id)
                    .ok_or_else(|| declined!("no receipts for block {number}"))?,
            ),
        };
        let hash = block::ingest_block(&mut tables, number, block, receipts, parent_hash)?;
        parent_hash = Some(hash);
    }
    Ok(tables.serialize())
}

/// The indexer's fast path (host only, not a guest op): validates a run of
/// blocks straight from a JSON-RPC batch response body and returns their
/// table columns (wire format in `columns.rs`).
///
/// `spec` is `rlp([first_block, [block_request_id, ...], [receipts_request_id, ...]])`.
/// `R0_DECLINED` means "not taken": a check failed or the input is not in
/// the canonical shape this path accepts; the caller must then run its
/// reference path on the same response, which decides (and names the check).
///
/// # Safety
/// Pointers follow the crate's calling convention.
#[no_mangle]
pub unsafe extern "C" fn r0_ingest_blocks(
    body: *const u8,
    body_len: usize,
    spec: *const u8,
    spec_len: usize,
    out: *mut *mut u8,
    out_len: *mut usize,
    err: *mut *mut c_char,
) -> i32 {
    boundary(err, || {
        let body = borrow(body, body_len, "body")?;
        let spec = parse_spec(borrow(spec, spec_len, "spec")?).code(R0_ERR_ARGUMENT)?;
        let columns = ingest(body, &spec)?; // a decline becomes R0_DECLINED
        give(columns, out, out_len)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(first: u64, block_ids: &[u64], receipt_ids: &[u64]) -> Vec<u8> {
        let ids = |ids: &[u64]| {
            let mut payload = Vec::new();
            for id in ids {
                rlp::encode_bytes(
                    &mut payload,
                    &id.to_be_bytes()[id.leading_zeros() as usize / 8..],
                );
            }
            rlp::list_from_payload(&payload)
        };
        let mut payload = Vec::new();
        rlp::encode_bytes(
            &mut payload,
            &first.to_be_bytes()[first.leading_zeros() as usize / 8..],
        );
        payload.extend(ids(block_ids));
        payload.extend(ids(receipt_ids));
        rlp::list_from_payload(&payload)
    }

    #[test]
    fn an_empty_run_gives_every_table_without_rows() {
        let spec = parse_spec(&spec(7, &[], &[])).unwrap();
        let out = ingest(b"[]", &spec).unwrap();
        assert_eq!(&out[..4], &5u32.to_le_bytes());
        assert_eq!(&out[4..12], b"\x06\x00blocks");
    }

    #[test]
    fn a_bad_spec_is_an_argument_error_not_a_decline() {
        assert!(parse_spec(b"\x01").is_err());
        assert!(parse_spec(&spec(0, &[0, 2], &[1])).is_err());
        assert!(parse_spec(&spec(0, &[0, 2], &[1, 3])).is_ok());
    }

    #[test]
    fn bad_responses_decline() {
        let spec = parse_spec(&spec(0, &[0], &[1])).unwrap();
        for body in [
            &b""[..],
            b"{}",
            b"[1]",
            br#"[{"id": 0, "error": {"code": -32000, "message": "x"}}]"#,
            br#"[{"id": 0, "result": null}]"#,
            br#"[{"id": "0", "result": {}}]"#,
            br#"[{"id": 0, "result": {}}, {"id": 0, "result": {}}]"#,
        ] {
            assert!(ingest(body, &spec).is_err());
        }
    }
}
