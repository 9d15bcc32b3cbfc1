//! Strict RLP: zero-copy decoding that rejects every non-canonical form, and
//! small encoding helpers.
//!
//! Item headers are parsed by `alloy_rlp::Header::decode`, which already
//! rejects leading zeros in long lengths, long form for lengths < 56, single
//! bytes < 0x80 wrapped as strings and payloads that overrun the input. On top
//! of it this module adds zero-copy list walking ([`ListReader`]), strict
//! integers (no leading zero bytes, bounded width) and fixed-size strings.
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
#[inline]
pub fn next_item<'a>(buf: &mut &'a [u8]) -> Result<(&'a [u8], Item<'a>)> {
    let start = *buf;
    let h = Header::decode(buf)?;
    // `Header::decode` checked that `payload_length` bytes remain.
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
    #[inline]
    pub fn item(&mut self) -> Result<(&'a [u8], Item<'a>)> {
        if self.rest.is_empty() {
            return Err(Error::RlpListLength);
        }
        next_item(&mut self.rest)
    }
    /// Next element's full encoding.
    #[inline]
    pub fn raw(&mut self) -> Result<&'a [u8]> {
        Ok(self.item()?.0)
    }
    /// Next element, which must be a string; returns its payload.
    #[inline]
    pub fn bytes(&mut self) -> Result<&'a [u8]> {
        match self.item()?.1 {
            Item::String(p) => Ok(p),
            Item::List(_) => Err(Error::RlpUnexpectedList),
        }
    }
    /// Next element, which must be a list; returns a reader over it.
    #[inline]
    pub fn list(&mut self) -> Result<ListReader<'a>> {
        match self.item()?.1 {
            Item::List(p) => Ok(ListReader::new(p)),
            Item::String(_) => Err(Error::RlpUnexpectedString),
        }
    }
    /// Next element as a string of exactly `N` bytes.
    #[inline]
    pub fn fixed<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.bytes()?
            .try_into()
            .map_err(|_| Error::RlpUnexpectedLength)
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
