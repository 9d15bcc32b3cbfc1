//! Anchors (PLAN.md "Anchors"): why the newest header N of a witness is canonical.
//!
//! - kind 0, walk: N's hash is the anchor hash (checked on chain by blockhash / EIP-2935);
//! - kind 1, accumulator: N's hash is a leaf of a `BlockHistory` state's MMR; the journal
//!   commits that state's historyRoot, which the query contract looks up in BlockHistory;
//! - kind 2, EIP-2935: N's hash is in the EIP-2935 history contract's storage in the state
//!   of a later block A (A - 8191 <= N < A), whose hash is the anchor hash.
//!
//! Every value a check reads comes from the witness and is tied to what the journal
//! commits: the anchor (number, hash) and the historyRoot.

use alloc::vec::Vec;
use ethcore::header::SealedHeaderRef;
use ethcore::mmr::{history_root, mmr_root, verify_inclusion};
use ethcore::mpt::{verify_account_proof, verify_storage_proof};
use ethcore::rlp::ListReader;
use ethcore::{B256, U256};

use crate::{Error, Result};

/// Anchor kind: the headers run up to the anchor block itself.
pub const ANCHOR_WALK: u64 = 0;
/// Anchor kind: the newest header is proven in a BlockHistory state.
pub const ANCHOR_HISTORY: u64 = 1;
/// Anchor kind: the newest header is proven in the EIP-2935 storage of a later block.
pub const ANCHOR_EIP2935: u64 = 2;

/// The EIP-2935 block-hash history contract.
pub const EIP2935_ADDRESS: [u8; 20] = [
    0x00, 0x00, 0xf9, 0x08, 0x27, 0xf1, 0xc5, 0x3a, 0x10, 0xcb, 0x7a, 0x02, 0x33, 0x5b, 0x17, 0x53,
    0x20, 0x00, 0x29, 0x35,
];
/// keccak256 of EIP-2935's runtime code: only that code writes the ring buffer the check reads.
pub const EIP2935_CODE_HASH: B256 = [
    0x6e, 0x49, 0xe6, 0x67, 0x82, 0x03, 0x7c, 0x05, 0x55, 0x89, 0x78, 0x70, 0xe2, 0x9f, 0xa5, 0xe5,
    0x52, 0xda, 0xf4, 0x71, 0x95, 0x52, 0x13, 0x1a, 0x0a, 0xbc, 0xe7, 0x79, 0xda, 0xec, 0x0a, 0x5d,
];
/// EIP-2935's HISTORY_SERVE_WINDOW: the ring buffer's length.
pub const EIP2935_WINDOW: u64 = 8191;

/// What an anchor proves: the journal's anchor and historyRoot (zero unless kind 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchored {
    /// the journal's anchorNumber
    pub number: u64,
    /// the journal's anchorHash
    pub hash: B256,
    /// the journal's historyRoot (zero when the anchor is checked by its hash)
    pub history_root: B256,
}

fn hashes(mut l: ListReader<'_>) -> Result<Vec<B256>> {
    let mut out = Vec::new();
    while !l.is_empty() {
        out.push(l.fixed::<32>()?);
    }
    Ok(out)
}

fn strings<'a>(mut l: ListReader<'a>) -> Result<Vec<&'a [u8]>> {
    let mut out = Vec::new();
    while !l.is_empty() {
        out.push(l.bytes()?);
    }
    Ok(out)
}

/// Checks the witness's `anchor` item for `newest`, the newest header (already linked to
/// the older ones by parent hash), on chain `chain_id`.
pub fn check(
    mut anchor: ListReader<'_>,
    newest: &SealedHeaderRef<'_>,
    chain_id: u64,
) -> Result<Anchored> {
    let n = newest.header.number;
    let anchored = match anchor.u64()? {
        ANCHOR_WALK => {
            let number = anchor.u64()?;
            let hash = anchor.fixed::<32>()?;
            if number != n {
                return Err(Error::Invalid("newest header is not the anchor number"));
            }
            if hash != newest.hash {
                return Err(Error::Eth(ethcore::Error::AnchorMismatch));
            }
            Anchored {
                number,
                hash,
                history_root: [0; 32],
            }
        }
        ANCHOR_HISTORY => history(&mut anchor, newest, chain_id)?,
        ANCHOR_EIP2935 => eip2935(&mut anchor, newest)?,
        _ => return Err(Error::Invalid("unknown anchor kind")),
    };
    anchor.finish()?;
    Ok(anchored)
}

/// Kind 1: `[1, earliest, earliestParentHash, origin, latest, latestHash, otherRoot,
/// siblings, peaks]`; N is a leaf of the MMR that holds it, the other MMR is `otherRoot`.
fn history(
    anchor: &mut ListReader<'_>,
    newest: &SealedHeaderRef<'_>,
    chain_id: u64,
) -> Result<Anchored> {
    let earliest = anchor.u64()?;
    let earliest_parent_hash = anchor.fixed::<32>()?;
    let origin = anchor.u64()?;
    let latest = anchor.u64()?;
    let latest_hash = anchor.fixed::<32>()?;
    let other_root = anchor.fixed::<32>()?;
    let siblings = hashes(anchor.list()?)?;
    let peaks = hashes(anchor.list()?)?;
    if !(earliest <= origin && origin <= latest) {
        return Err(Error::Invalid(
            "history anchor's range is not earliest <= origin <= latest",
        ));
    }
    let n = newest.header.number;
    if !(earliest <= n && n <= latest) {
        return Err(Error::Invalid(
            "newest header is outside the history anchor's range",
        ));
    }
    // the MMR that holds N: forward (ascending from origin) or backward (descending below it)
    let (size, index) = if n >= origin {
        (latest - origin + 1, n - origin)
    } else {
        (origin - earliest, origin - 1 - n)
    };
    let root = mmr_root(size, &peaks);
    verify_inclusion(&root, size, index, &newest.hash, &siblings, &peaks)?;
    let (forward_root, backward_root) = if n >= origin {
        (root, other_root)
    } else {
        (other_root, root)
    };
    let root_of_state = history_root(
        chain_id,
        earliest,
        &earliest_parent_hash,
        origin,
        latest,
        &latest_hash,
        &forward_root,
        &backward_root,
    );
    Ok(Anchored {
        number: n,
        hash: newest.hash,
        history_root: root_of_state,
    })
}

/// Kind 2: `[2, anchorHeader, accountProof, storageProof]`: A = anchorHeader, A - 8191 <= N
/// < A, the EIP-2935 account (with the EIP's code) in A's state holds N's hash at slot
/// N % 8191.
fn eip2935(anchor: &mut ListReader<'_>, newest: &SealedHeaderRef<'_>) -> Result<Anchored> {
    let header_rlp = anchor.bytes()?;
    let account_proof = strings(anchor.list()?)?;
    let storage_proof = strings(anchor.list()?)?;
    let a = SealedHeaderRef::decode(header_rlp)?;
    let n = newest.header.number;
    let a_number = a.header.number;
    if !(n < a_number && a_number - n <= EIP2935_WINDOW) {
        return Err(Error::Invalid(
            "newest header is not within 8191 blocks before the EIP-2935 anchor",
        ));
    }
    let account = verify_account_proof(a.header.state_root, &EIP2935_ADDRESS, &account_proof)?
        .ok_or(Error::Invalid(
            "no EIP-2935 history contract in the anchor's state",
        ))?;
    if account.code_hash != EIP2935_CODE_HASH {
        return Err(Error::Invalid(
            "the EIP-2935 address does not hold the EIP's code",
        ));
    }
    let mut slot = [0u8; 32];
    slot[24..].copy_from_slice(&(n % EIP2935_WINDOW).to_be_bytes());
    let stored = verify_storage_proof(&account.storage_root, &slot, &storage_proof)?;
    if stored != U256::from_be_bytes(newest.hash) {
        return Err(Error::Invalid(
            "EIP-2935 storage does not hold the newest header's hash",
        ));
    }
    Ok(Anchored {
        number: a_number,
        hash: a.hash,
        history_root: [0; 32],
    })
}
