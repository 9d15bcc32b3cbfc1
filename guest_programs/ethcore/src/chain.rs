//! Header chains: a run of headers linked by parent hash to a trusted
//! anchor block hash.
//!
//! Order: **oldest → newest**. `headers[i + 1].parent_hash` must equal
//! `hash(headers[i])`, `headers[i + 1].number == headers[i].number + 1`, and
//! the newest (last) header must hash to the trusted anchor. The first
//! header is then trusted too, transitively.

use crate::header::{HeaderRef, SealedHeader, SealedHeaderRef};
use crate::keccak::keccak256;
use crate::{Error, Result, B256};
use alloc::vec::Vec;

/// `a == b` without a byte-by-byte `memcmp` call (chains compare one hash per header).
#[inline]
fn same_hash(a: &B256, b: &B256) -> bool {
    a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// The links of a chain: (parent hash, number, hash) of each header, oldest → newest.
fn verify_links<'h>(
    links: impl Iterator<Item = (&'h B256, u64, &'h B256)>,
    anchor: &B256,
) -> Result<()> {
    let mut previous: Option<(u64, &B256)> = None;
    for (i, (parent_hash, number, hash)) in links.enumerate() {
        if let Some((parent_number, parent)) = previous {
            if !same_hash(parent_hash, parent) {
                return Err(Error::ParentHashMismatch { index: i });
            }
            if parent_number.checked_add(1) != Some(number) {
                return Err(Error::NonConsecutiveNumber { index: i });
            }
        }
        previous = Some((number, hash));
    }
    match previous {
        None => Err(Error::EmptyChain),
        Some((_, last)) if !same_hash(last, anchor) => Err(Error::AnchorMismatch),
        Some(_) => Ok(()),
    }
}

/// Verify decoded, sealed headers (oldest → newest) against `anchor`, the
/// trusted hash of the newest one.
pub fn verify_chain(headers: &[SealedHeader], anchor: &B256) -> Result<()> {
    verify_links(
        headers
            .iter()
            .map(|s| (&s.header.parent_hash, s.header.number, &s.hash)),
        anchor,
    )
}

/// [`verify_chain`] for headers read in place.
pub fn verify_chain_refs(headers: &[SealedHeaderRef<'_>], anchor: &B256) -> Result<()> {
    verify_links(
        headers
            .iter()
            .map(|s| (s.header.parent_hash, s.header.number, &s.hash)),
        anchor,
    )
}

/// Check (strictly) and hash RLP headers (oldest → newest) in place, then
/// verify them against `anchor`: [`verify_chain_rlp`] without copying a field.
pub fn verify_chain_raw<'a, T: AsRef<[u8]>>(
    headers_rlp: &'a [T],
    anchor: &B256,
) -> Result<Vec<SealedHeaderRef<'a>>> {
    let mut sealed = Vec::with_capacity(headers_rlp.len());
    for h in headers_rlp {
        let h = h.as_ref();
        let header = HeaderRef::parse(h)?;
        sealed.push(SealedHeaderRef {
            header,
            hash: keccak256(h),
        });
    }
    verify_chain_refs(&sealed, anchor)?;
    Ok(sealed)
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
