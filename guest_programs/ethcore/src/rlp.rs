//! Strict RLP: zero-copy decoding that rejects every non-canonical form, and
//! small encoding helpers.
//!
//! Item headers are parsed by [`next_item`] with the rules of
//! `alloy_rlp::Header::decode`: it rejects leading zeros in long lengths, long
//! form for lengths < 56, single bytes < 0x80 wrapped as strings and payloads
//! that overrun the input. On top of it this module adds zero-copy list
//! walking ([`ListReader`]), strict integers (no leading zero bytes, bounded
//! width) and fixed-size strings.
//! Because decoding accepts only canonical input, `encode(decode(x)) == x`
//! holds for every type of this crate, so hashing the input bytes equals
//! hashing the re-encoding.

use crate::{Error, Result, U256};
use alloc::vec::Vec;
use alloy_rlp::Header;

/// Encoding of the empty string (and of integer zero).
pub const EMPTY_STRING: u8 = 0x80;
/// Encoding of the empty list.
pub const EMPTY_LIST: u8 = 0xc0;

/// One decoded RLP item: its payload, tagged by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    /// A byte string (payload bytes).
    String(&'a [u8]),
    /// A list (payload = concatenated encodings of the elements).
    List(&'a [u8]),
}

/// Decode the next item from `buf`, advancing it past the item.
/// Returns the item's full encoding and the item.
///
/// The rules and errors of `alloy_rlp::Header::decode` (which the encoders use), inlined:
/// a single byte below 0x80 is its own string; a one-byte string below 0x80 with a
/// header is non-canonical; long lengths have no leading zero and are at least 56; the
/// payload must fit in `buf`.
#[inline(always)]
pub fn next_item<'a>(buf: &mut &'a [u8]) -> Result<(&'a [u8], Item<'a>)> {
    let b: &'a [u8] = buf;
    let first = *b.first().ok_or(Error::RlpInputTooShort)?;
    let (list, start, len) = match first {
        0x00..=0x7f => (false, 0, 1),
        0x80..=0xb7 => {
            let len = (first - 0x80) as usize;
            if len == 1 && *b.get(1).ok_or(Error::RlpInputTooShort)? < 0x80 {
                return Err(Error::RlpNonCanonicalSingleByte);
            }
            (false, 1, len)
        }
        0xc0..=0xf7 => (true, 1, (first - 0xc0) as usize),
        _ => {
            let list = first >= 0xf8;
            let len_of_len = (first - if list { 0xf7 } else { 0xb7 }) as usize;
            let digits = b.get(1..1 + len_of_len).ok_or(Error::RlpInputTooShort)?;
            if digits[0] == 0 {
                return Err(Error::RlpLeadingZero);
            }
            let len = digits.iter().fold(0u64, |v, &d| (v << 8) | d as u64);
            let len = usize::try_from(len).map_err(|_| Error::RlpOverflow)?;
            if len < 56 {
                return Err(Error::RlpNonCanonicalSize);
            }
            (list, 1 + len_of_len, len)
        }
    };
    if b.len() - start < len {
        return Err(Error::RlpInputTooShort);
    }
    let (raw, rest) = b.split_at(start + len);
    *buf = rest;
    let payload = &raw[start..];
    Ok((
        raw,
        if list {
            Item::List(payload)
        } else {
            Item::String(payload)
        },
    ))
}

/// Decode `buf` as exactly one item (no trailing bytes).
#[inline]
pub fn decode_exact(buf: &[u8]) -> Result<Item<'_>> {
    let mut b = buf;
    let (_, item) = next_item(&mut b)?;
    if !b.is_empty() {
        return Err(Error::RlpTrailingBytes);
    }
    Ok(item)
}

/// Decode `buf` as exactly one list and return a reader over its elements.
#[inline]
pub fn list_exact(buf: &[u8]) -> Result<ListReader<'_>> {
    match decode_exact(buf)? {
        Item::List(p) => Ok(ListReader::new(p)),
        Item::String(_) => Err(Error::RlpUnexpectedString),
    }
}

/// Decode `buf` as exactly one byte string and return its payload.
#[inline]
pub fn string_exact(buf: &[u8]) -> Result<&[u8]> {
    match decode_exact(buf)? {
        Item::String(p) => Ok(p),
        Item::List(_) => Err(Error::RlpUnexpectedList),
    }
}

/// Check that `payload` is a canonical big-endian unsigned integer of at most
/// `max_len` bytes (empty = zero, no leading zero byte).
#[inline]
pub fn check_uint(payload: &[u8], max_len: usize) -> Result<()> {
    if payload.len() > max_len {
        return Err(Error::RlpOverflow);
    }
    if payload.first() == Some(&0) {
        return Err(Error::RlpLeadingZero);
    }
    Ok(())
}

/// Strict u64 from a string payload.
#[inline]
pub fn uint_u64(payload: &[u8]) -> Result<u64> {
    check_uint(payload, 8)?;
    Ok(payload.iter().fold(0u64, |v, &b| (v << 8) | b as u64))
}

/// Strict u128 from a string payload.
#[inline]
pub fn uint_u128(payload: &[u8]) -> Result<u128> {
    check_uint(payload, 16)?;
    Ok(payload.iter().fold(0u128, |v, &b| (v << 8) | b as u128))
}

/// Strict U256 from a string payload.
#[inline]
pub fn uint_u256(payload: &[u8]) -> Result<U256> {
    check_uint(payload, 32)?;
    U256::try_from_be_slice(payload).ok_or(Error::RlpOverflow)
}

/// Zero-copy reader over the elements of a list payload.
#[derive(Debug, Clone, Copy)]
pub struct ListReader<'a> {
    rest: &'a [u8],
}

impl<'a> ListReader<'a> {
    /// A reader over a list payload (as returned in [`Item::List`]).
    #[inline]
    pub fn new(payload: &'a [u8]) -> Self {
        Self { rest: payload }
    }
    /// True when every element was read.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
    /// Error unless every element was read.
    #[inline]
    pub fn finish(self) -> Result<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Error::RlpListLength)
        }
    }
    /// Number of remaining elements (validates each header).
    pub fn count(&self) -> Result<usize> {
        let mut r = *self;
        let mut n = 0;
        while !r.rest.is_empty() {
            r.raw()?;
            n += 1;
        }
        Ok(n)
    }
    /// Next element as (full encoding, item).
    #[inline(always)]
    pub fn item(&mut self) -> Result<(&'a [u8], Item<'a>)> {
        if self.rest.is_empty() {
            return Err(Error::RlpListLength);
        }
        next_item(&mut self.rest)
    }
    /// Next element's full encoding.
    #[inline(always)]
    pub fn raw(&mut self) -> Result<&'a [u8]> {
        Ok(self.item()?.0)
    }
    /// Next element, which must be a string; returns its payload.
    #[inline(always)]
    pub fn bytes(&mut self) -> Result<&'a [u8]> {
        match self.item()?.1 {
            Item::String(p) => Ok(p),
            Item::List(_) => Err(Error::RlpUnexpectedList),
        }
    }
    /// Next element, which must be a list; returns a reader over it.
    #[inline(always)]
    pub fn list(&mut self) -> Result<ListReader<'a>> {
        match self.item()?.1 {
            Item::List(p) => Ok(ListReader::new(p)),
            Item::String(_) => Err(Error::RlpUnexpectedString),
        }
    }
    /// Next element as a string of exactly `N` bytes.
    #[inline]
    pub fn fixed<const N: usize>(&mut self) -> Result<[u8; N]> {
        Ok(*self.fixed_ref()?)
    }
    /// Next element as a string of exactly `N` bytes, in place.
    #[inline(always)]
    pub fn fixed_ref<const N: usize>(&mut self) -> Result<&'a [u8; N]> {
        // A string of 2..=55 bytes is `0x80 + N ‖ bytes`: taken without the general parse.
        if (2..56).contains(&N) && self.rest.first() == Some(&(0x80 + N as u8)) {
            if let Some(body) = self.rest.get(1..=N) {
                self.rest = &self.rest[N + 1..];
                return body.try_into().map_err(|_| Error::RlpUnexpectedLength);
            }
        }
        self.bytes()?
            .try_into()
            .map_err(|_| Error::RlpUnexpectedLength)
    }
    /// The encodings of the elements not read yet (the whole payload before any read).
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        self.rest
    }
    /// Next element as an empty string (None) or a 20-byte address.
    #[inline]
    pub fn opt_address(&mut self) -> Result<Option<[u8; 20]>> {
        let b = self.bytes()?;
        match b.len() {
            0 => Ok(None),
            20 => Ok(Some(b.try_into().map_err(|_| Error::RlpUnexpectedLength)?)),
            _ => Err(Error::RlpUnexpectedLength),
        }
    }
    /// Next element as a strict u64.
    #[inline]
    pub fn u64(&mut self) -> Result<u64> {
        uint_u64(self.bytes()?)
    }
    /// Next element as a strict u128.
    #[inline]
    pub fn u128(&mut self) -> Result<u128> {
        uint_u128(self.bytes()?)
    }
    /// Next element as a strict U256.
    #[inline]
    pub fn u256(&mut self) -> Result<U256> {
        uint_u256(self.bytes()?)
    }
}

// ------------------------------------------------------------------ encoding

/// Length of an item header for a payload of `payload_len` bytes.
#[inline]
pub const fn header_len(payload_len: usize) -> usize {
    alloy_rlp::length_of_length(payload_len)
}

/// Append an item header.
#[inline]
pub fn encode_header(out: &mut Vec<u8>, list: bool, payload_len: usize) {
    Header {
        list,
        payload_length: payload_len,
    }
    .encode(out);
}

/// Encoded length of a byte string.
#[inline]
pub fn bytes_len(b: &[u8]) -> usize {
    if b.len() == 1 && b[0] < 0x80 {
        1
    } else {
        header_len(b.len()) + b.len()
    }
}

/// Append a byte string.
#[inline]
pub fn encode_bytes(out: &mut Vec<u8>, b: &[u8]) {
    if b.len() == 1 && b[0] < 0x80 {
        out.push(b[0]);
    } else {
        encode_header(out, false, b.len());
        out.extend_from_slice(b);
    }
}

fn trimmed<const N: usize>(be: &[u8; N]) -> &[u8] {
    let z = be.iter().take_while(|&&b| b == 0).count();
    &be[z..]
}

/// Encoded length of an unsigned integer.
#[inline]
pub fn u64_len(v: u64) -> usize {
    bytes_len(trimmed(&v.to_be_bytes()))
}
/// Append an unsigned integer.
#[inline]
pub fn encode_u64(out: &mut Vec<u8>, v: u64) {
    encode_bytes(out, trimmed(&v.to_be_bytes()));
}
/// Encoded length of a u128.
#[inline]
pub fn u128_len(v: u128) -> usize {
    bytes_len(trimmed(&v.to_be_bytes()))
}
/// Append a u128.
#[inline]
pub fn encode_u128(out: &mut Vec<u8>, v: u128) {
    encode_bytes(out, trimmed(&v.to_be_bytes()));
}
/// Encoded length of a U256.
#[inline]
pub fn u256_len(v: &U256) -> usize {
    bytes_len(trimmed(&v.to_be_bytes::<32>()))
}
/// Append a U256.
#[inline]
pub fn encode_u256(out: &mut Vec<u8>, v: &U256) {
    encode_bytes(out, trimmed(&v.to_be_bytes::<32>()));
}

/// Wrap an already-encoded list payload into a list item.
#[inline]
pub fn encode_list_payload(out: &mut Vec<u8>, payload: &[u8]) {
    encode_header(out, true, payload.len());
    out.extend_from_slice(payload);
}

/// A list item from an encoded payload (new vector).
#[inline]
pub fn list_from_payload(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(header_len(payload.len()) + payload.len());
    encode_list_payload(&mut out, payload);
    out
}

/// Encoding of `rlp(index)`: the key of ordered tries (txs, receipts,
/// withdrawals).
#[inline]
pub fn index_key(index: usize) -> Vec<u8> {
    let mut k = Vec::with_capacity(9);
    encode_u64(&mut k, index as u64);
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The item parser this module used before [`next_item`]: `alloy_rlp::Header::decode`.
    fn alloy_next_item<'a>(buf: &mut &'a [u8]) -> Result<(&'a [u8], Item<'a>)> {
        let start = *buf;
        let h = Header::decode(buf)?;
        let (payload, rest) = buf.split_at(h.payload_length);
        *buf = rest;
        let raw = &start[..start.len() - rest.len()];
        Ok((
            raw,
            if h.list {
                Item::List(payload)
            } else {
                Item::String(payload)
            },
        ))
    }

    fn same_as_alloy(bytes: &[u8]) {
        let (mut a, mut b) = (bytes, bytes);
        let got = next_item(&mut a);
        assert_eq!(got, alloy_next_item(&mut b), "{bytes:02x?}");
        if got.is_ok() {
            assert_eq!(a, b); // after an error the input is not read further
        }
    }

    #[test]
    fn every_header_form() {
        let mut cases: Vec<Vec<u8>> = Vec::new();
        for first in 0..=255u8 {
            for tail in [
                &[][..],
                &[0x00],
                &[0x7f],
                &[0x80],
                &[0x00, 0x38],
                &[0x38; 70],
            ] {
                let mut v = alloc::vec![first];
                v.extend_from_slice(tail);
                cases.push(v);
            }
        }
        for c in &cases {
            same_as_alloy(c);
        }
    }

    proptest! {
        #[test]
        fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            same_as_alloy(&bytes);
        }

        #[test]
        fn long_headers(first in 0xb8u8..=0xbf, lens in proptest::collection::vec(any::<u8>(), 0..9), fill in 0usize..300) {
            let mut v = alloc::vec![first];
            v.extend_from_slice(&lens);
            v.extend(core::iter::repeat_n(0x42, fill));
            same_as_alloy(&v);
            v[0] += 0x40; // the list forms
            same_as_alloy(&v);
        }
    }
}
