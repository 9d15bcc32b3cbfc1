//! Header chains: a run of headers linked by parent hash to a trusted
//! anchor block hash.
//!
//! Order: **oldest → newest**. `headers[i + 1].parent_hash` must equal
//! `hash(headers[i])`, `headers[i + 1].number == headers[i].number + 1`, and
//! the newest (last) header must hash to the trusted anchor. The first
//! header is then trusted too, transitively.

use crate::header::SealedHeader;
use crate::{Error, Result, B256};
use alloc::vec::Vec;

/// Verify decoded, sealed headers (oldest → newest) against `anchor`, the
/// trusted hash of the newest one.
pub fn verify_chain(headers: &[SealedHeader], anchor: &B256) -> Result<()> {
    let last = headers.last().ok_or(Error::EmptyChain)?;
    for (i, w) in headers.windows(2).enumerate() {
        let (parent, child) = (&w[0], &w[1]);
        if child.header.parent_hash != parent.hash {
            return Err(Error::ParentHashMismatch { index: i + 1 });
        }
        if parent.header.number.checked_add(1) != Some(child.header.number) {
            return Err(Error::NonConsecutiveNumber { index: i + 1 });
        }
    }
    if last.hash != *anchor {
        return Err(Error::AnchorMismatch);
    }
    Ok(())
}

/// Decode (strictly) and hash RLP headers (oldest → newest), then verify
/// them against `anchor`. Returns the sealed headers.
pub fn verify_chain_rlp<T: AsRef<[u8]>>(
    headers_rlp: &[T],
    anchor: &B256,
) -> Result<Vec<SealedHeader>> {
    let sealed = headers_rlp
        .iter()
        .map(|h| SealedHeader::decode(h.as_ref()))
        .collect::<Result<Vec<_>>>()?;
    verify_chain(&sealed, anchor)?;
    Ok(sealed)
}
