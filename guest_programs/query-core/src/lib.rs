//! The query guest's core: `run(rlp([chain_id, plan, witness, params]))` → journal.
//!
//! 1. decode the plan template, bind it to the parameter values (`template`: values
//!    checked against the declared types, substituted, state domains and bloom keys
//!    derived) and check the concrete plan (types, bloom keys, bounds: `check`), then
//!    the witness (coprocessor/compiler/PLAN.md);
//! 2. verify the header chain from `first_block` to its newest header and tie that one to
//!    the anchor (`anchor`: a block hash, a BlockHistory root or EIP-2935 storage);
//! 3. build the source rows, each checked against its header's roots
//!    (transactions / receipts tries rebuilt, senders recovered when `from` is read, bloom skips proven, state proofs verified);
//! 4. evaluate the plan (`eval`: the one definition of its meaning; the compiler
//!    runs this crate natively for its expected rows);
//! 5. return the ABI-encoded journal (`journal`; PLAN.md, "Journal").
//!
//! Any inconsistency is an `Err`: the guest panics and there is no proof.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod abi;
pub mod anchor;
pub mod check;
pub mod eval;
pub mod journal;
pub mod plan;
pub mod scan;
pub mod template;
pub mod value;

use alloc::vec::Vec;
use core::fmt;

pub use journal::{Journal, JOURNAL_VERSION};
pub use value::Value;

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

/// Runs a query: `input` = rlp([chain_id, plan_template, witness, params]) with `params` =
/// abi.encode of the template's parameter values (empty without parameters); returns the
/// journal bytes.
pub fn run(input: &[u8]) -> Result<Vec<u8>> {
    let mut r = ethcore::rlp::list_exact(input)?;
    let chain_id = r.u64()?;
    let plan_bytes = r.bytes()?;
    let witness_bytes = r.bytes()?;
    let params = r.bytes()?;
    r.finish()?;
    let plan = template::Template::decode(plan_bytes)?.bind(params)?;
    let query_hash = ethcore::keccak::keccak256(plan_bytes);
    let scanned = scan::scan(&plan, witness_bytes, chain_id)?;
    let rows = eval::evaluate(&plan, scanned.kept)?;
    let result = abi::encode_rows(&plan.output_types, &rows)?;
    Ok(Journal {
        chain_id,
        query_hash,
        anchor_number: scanned.anchor.number,
        anchor_hash: scanned.anchor.hash,
        history_root: scanned.anchor.history_root,
        first_block: plan.first_block,
        last_block: plan.last_block,
        params: params.to_vec(),
        result,
    }
    .encode())
}
