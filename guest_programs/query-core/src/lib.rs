//! The query guest's core: `run(rlp([chain_id, plan, witness]))` → journal.
//!
//! 1. decode the plan and check it (types, bloom keys, bounds: `check`), then
//!    the witness (coprocessor/compiler/PLAN.md);
//! 2. verify the header chain from `first_block` to the anchor hash;
//! 3. build the source rows, each checked against its header's roots
//!    (transactions / receipts tries rebuilt, senders recovered when `from` is read, bloom skips proven, state proofs verified);
//! 4. evaluate the plan (`eval`: the one definition of its meaning; the compiler
//!    runs this crate natively for its expected rows);
//! 5. return the ABI-encoded journal (PLAN.md, "Journal").
//!
//! Any inconsistency is an `Err`: the guest panics and there is no proof.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod abi;
pub mod check;
pub mod eval;
pub mod plan;
pub mod scan;
pub mod value;

use alloc::vec::Vec;
use core::fmt;

pub use value::Value;

/// Journal format version.
pub const JOURNAL_VERSION: u8 = 1;

/// Every way a query run fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// Ethereum data failed verification or decoding (ethcore).
    Eth(ethcore::Error),
    /// Plan or witness malformed / inconsistent with the plan.
    Invalid(&'static str),
    /// A plan feature this guest does not implement (never a wrong answer).
    Unsupported(&'static str),
    /// Evaluation failed (uint256 overflow/underflow, division by zero, ...).
    Eval(&'static str),
}

impl From<ethcore::Error> for Error {
    fn from(e: ethcore::Error) -> Self {
        Error::Eth(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Eth(e) => write!(f, "ethereum data: {e}"),
            Error::Invalid(w) => write!(f, "invalid input: {w}"),
            Error::Unsupported(w) => write!(f, "{w}"),
            Error::Eval(w) => write!(f, "evaluation failed: {w}"),
        }
    }
}

/// Result of this crate.
pub type Result<T> = core::result::Result<T, Error>;

/// The journal's fields (before ABI encoding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Journal {
    /// chain id (input)
    pub chain_id: u64,
    /// keccak256(plan bytes)
    pub query_hash: [u8; 32],
    /// anchor block number (newest header)
    pub anchor_number: u64,
    /// anchor block hash (the newest header hashes to it)
    pub anchor_hash: [u8; 32],
    /// plan's first block
    pub first_block: u64,
    /// plan's last block
    pub last_block: u64,
    /// ABI-encoded rows
    pub result: Vec<u8>,
}

impl Journal {
    /// abi.encode(uint8 version, uint64 chainId, bytes32 queryHash, uint64 anchorNumber,
    /// bytes32 anchorHash, uint64 firstBlock, uint64 lastBlock, bytes result).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 * 10 + self.result.len());
        abi::word_u64(&mut out, JOURNAL_VERSION as u64);
        abi::word_u64(&mut out, self.chain_id);
        out.extend_from_slice(&self.query_hash);
        abi::word_u64(&mut out, self.anchor_number);
        out.extend_from_slice(&self.anchor_hash);
        abi::word_u64(&mut out, self.first_block);
        abi::word_u64(&mut out, self.last_block);
        abi::word_u64(&mut out, 8 * 32);
        abi::bytes_tail(&mut out, &self.result);
        out
    }
}

/// Runs a query: `input` = rlp([chain_id, plan_bytes, witness_bytes]); returns the journal bytes.
pub fn run(input: &[u8]) -> Result<Vec<u8>> {
    let mut r = ethcore::rlp::list_exact(input)?;
    let chain_id = r.u64()?;
    let plan_bytes = r.bytes()?;
    let witness_bytes = r.bytes()?;
    r.finish()?;
    let plan = plan::Plan::decode(plan_bytes)?;
    let query_hash = ethcore::keccak::keccak256(plan_bytes);
    let scanned = scan::scan(&plan, witness_bytes, chain_id)?;
    let rows = eval::evaluate(&plan, scanned.kept)?;
    let result = abi::encode_rows(&plan.output_types, &rows)?;
    Ok(Journal {
        chain_id,
        query_hash,
        anchor_number: scanned.anchor_number,
        anchor_hash: scanned.anchor_hash,
        first_block: plan.first_block,
        last_block: plan.last_block,
        result,
    }
    .encode())
}
