//! The command exports, RLP in and RLP out: `r0_ethcore` (one `ethcore::ops`
//! command) and `r0_query` (one command of the query guest's core, `query.rs`).
//! Both run the very code the guests run, so off-chain checks, the compiler's
//! expected rows and the proofs cannot disagree. `r0_ethcore` also answers the
//! accumulator's commands (`ethcore::mmr`, the `history` guest's code) under
//! op numbers of their own, kept out of `ethcore::ops` so the `ethcheck`
//! guest's image does not change with them.

use std::ffi::c_char;

use anyhow::anyhow;
use ethcore::mmr::{self, HistoryState, HistoryStep, Mmr};
use ethcore::rlp::{self, ListReader};
use ethcore::B256;

use crate::buffers::{borrow, give};
use crate::query;
use crate::status::{boundary, Failure, WithCode};
use crate::status::{R0_ERR_ETHCORE, R0_ERR_QUERY_EVAL, R0_ERR_QUERY_INVALID};

/// Runs one `ethcore::ops` command (RLP in, RLP out): the same code the
/// guests run, so off-chain checks and proofs cannot disagree.
///
/// # Safety
/// Pointers follow the crate's calling convention.
#[no_mangle]
pub unsafe extern "C" fn r0_ethcore(
    command: *const u8,
    command_len: usize,
    out: *mut *mut u8,
    out_len: *mut usize,
    err: *mut *mut c_char,
) -> i32 {
    boundary(err, || {
        let command = borrow(command, command_len, "command")?;
        let output = run_ethcore(command)
            .map_err(|e| anyhow!("{e}"))
            .code(R0_ERR_ETHCORE)?;
        give(output, out, out_len)
    })
}

/// Runs one command of the query guest's core natively (`query.rs`): the very
/// code the `query` guest runs, so the compiler's expected rows are the
/// guest's by construction.
///
/// # Safety
/// Pointers follow the crate's calling convention.
#[no_mangle]
pub unsafe extern "C" fn r0_query(
    command: *const u8,
    command_len: usize,
    out: *mut *mut u8,
    out_len: *mut usize,
    err: *mut *mut c_char,
) -> i32 {
    boundary(err, || {
        let command = borrow(command, command_len, "command")?;
        let output = query::run(command).map_err(|e| {
            let code = match e {
                query_core::Error::Eth(_) => R0_ERR_ETHCORE,
                query_core::Error::Eval(_) => R0_ERR_QUERY_EVAL,
                _ => R0_ERR_QUERY_INVALID,
            };
            Failure {
                code,
                error: anyhow!("{e}"),
            }
        })?;
        give(output, out, out_len)
    })
}

/// `[size, [peak, ...], [leaf, ...]]` → `[size, [peak, ...]]`: the MMR after appending the
/// leaves in order.
pub const MMR_APPEND: u64 = 101;
/// `[size, [peak, ...]]` → `root` (mmrRoot).
pub const MMR_ROOT: u64 = 102;
/// `[[leaf, ...], index]` → `[[sibling, ...], [peak, ...]]`: the inclusion proof of a leaf.
pub const MMR_PROOF: u64 = 103;
/// `[root, size, index, leaf, [sibling, ...], [peak, ...]]` → `1`, or an error when the proof
/// does not verify.
pub const MMR_VERIFY: u64 = 104;
/// The `history` guest's input (`ethcore::mmr::HistoryStep`) → its journal, without the
/// composition check (the caller verifies the previous receipt itself).
pub const HISTORY_STEP: u64 = 105;
/// `[journal]` → `[selfImageId, chainId, earliest, earliestParentHash, origin, latest,
/// latestHash, forwardSize, [peak, ...], backwardSize, [peak, ...], historyRoot]` (strict
/// decode).
pub const HISTORY_DECODE: u64 = 106;

/// One ethcore command: an accumulator op here, anything else `ethcore::ops::run`.
fn run_ethcore(command: &[u8]) -> ethcore::Result<Vec<u8>> {
    let mut r = rlp::list_exact(command)?;
    let op = r.u64()?;
    let output = match op {
        MMR_APPEND => {
            let mut mmr = read_mmr(&mut r)?;
            for leaf in hashes(r.list()?)? {
                mmr.append(leaf)?;
            }
            encode_mmr(&mmr)
        }
        MMR_ROOT => bytes(&read_mmr(&mut r)?.root()),
        MMR_PROOF => {
            let leaves = hashes(r.list()?)?;
            let index = r.u64()?;
            let (siblings, peaks) = mmr::inclusion_proof(&leaves, index)?;
            let mut payload = Vec::new();
            encode_hashes(&mut payload, &siblings);
            encode_hashes(&mut payload, &peaks);
            rlp::list_from_payload(&payload)
        }
        MMR_VERIFY => {
            let root = r.fixed::<32>()?;
            let size = r.u64()?;
            let index = r.u64()?;
            let leaf = r.fixed::<32>()?;
            let siblings = hashes(r.list()?)?;
            let peaks = hashes(r.list()?)?;
            mmr::verify_inclusion(&root, size, index, &leaf, &siblings, &peaks)?;
            let mut out = Vec::new();
            rlp::encode_u64(&mut out, 1);
            out
        }
        HISTORY_STEP => {
            let input = r.bytes()?;
            bytes(&HistoryStep::decode(input)?.apply()?.encode())
        }
        HISTORY_DECODE => history_fields(&HistoryState::decode(r.bytes()?)?),
        _ => return ethcore::ops::run(command),
    };
    r.finish()?;
    Ok(output)
}

fn bytes(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    rlp::encode_bytes(&mut out, b);
    out
}

fn hashes(mut list: ListReader<'_>) -> ethcore::Result<Vec<B256>> {
    let mut out = Vec::new();
    while !list.is_empty() {
        out.push(list.fixed::<32>()?);
    }
    Ok(out)
}

fn encode_hashes(out: &mut Vec<u8>, hashes: &[B256]) {
    let mut payload = Vec::with_capacity(33 * hashes.len());
    for hash in hashes {
        rlp::encode_bytes(&mut payload, hash);
    }
    rlp::encode_list_payload(out, &payload);
}

fn read_mmr(r: &mut ListReader<'_>) -> ethcore::Result<Mmr> {
    let size = r.u64()?;
    Mmr::from_peaks(size, hashes(r.list()?)?)
}

/// `[size, [peak, ...]]`.
fn encode_mmr(mmr: &Mmr) -> Vec<u8> {
    let mut payload = Vec::new();
    rlp::encode_u64(&mut payload, mmr.size());
    encode_hashes(&mut payload, mmr.peaks());
    rlp::list_from_payload(&payload)
}

fn history_fields(state: &HistoryState) -> Vec<u8> {
    let mut p = Vec::new();
    rlp::encode_bytes(&mut p, &state.self_image_id);
    rlp::encode_u64(&mut p, state.chain_id);
    rlp::encode_u64(&mut p, state.earliest);
    rlp::encode_bytes(&mut p, &state.earliest_parent_hash);
    rlp::encode_u64(&mut p, state.origin);
    rlp::encode_u64(&mut p, state.latest);
    rlp::encode_bytes(&mut p, &state.latest_hash);
    rlp::encode_u64(&mut p, state.forward.size());
    encode_hashes(&mut p, state.forward.peaks());
    rlp::encode_u64(&mut p, state.backward.size());
    encode_hashes(&mut p, state.backward.peaks());
    rlp::encode_bytes(&mut p, &state.history_root());
    rlp::list_from_payload(&p)
}
