//! The journal the query guest commits (PLAN.md "Journal", version 3; decoded identically
//! by contracts/CoprocessorJournal.sol and coprocessor/compiler/journal.py):
//!
//! `abi.encode(uint8 version = 3, uint64 chainId, bytes32 queryHash, uint64 anchorNumber,
//! bytes32 anchorHash, bytes32 historyRoot, uint64 firstBlock, uint64 lastBlock, bytes params,
//! bytes result)`.

use alloc::vec::Vec;

use crate::abi::{bytes_tail, word_u64};
use crate::{Error, Result};

/// Journal format version.
pub const JOURNAL_VERSION: u8 = 3;
/// Head words of the journal (the two `bytes` are offsets into the tail).
const HEAD_WORDS: usize = 10;

/// The journal's fields (before ABI encoding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Journal {
    /// chain id (input)
    pub chain_id: u64,
    /// keccak256(plan template bytes)
    pub query_hash: [u8; 32],
    /// anchor block number (PLAN.md "Anchors")
    pub anchor_number: u64,
    /// anchor block hash
    pub anchor_hash: [u8; 32],
    /// root of the BlockHistory state the anchor is proven in (zero: checked by its hash)
    pub history_root: [u8; 32],
    /// the concrete plan's first block
    pub first_block: u64,
    /// the concrete plan's last block
    pub last_block: u64,
    /// abi.encode of the parameter values (empty without parameters)
    pub params: Vec<u8>,
    /// ABI-encoded rows
    pub result: Vec<u8>,
}

fn padded(n: usize) -> usize {
    n.div_ceil(32) * 32
}

impl Journal {
    /// The ABI encoding (10 head words; `params` at 0x140, then `result`).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 * 14 + self.params.len() + self.result.len());
        word_u64(&mut out, JOURNAL_VERSION as u64);
        word_u64(&mut out, self.chain_id);
        out.extend_from_slice(&self.query_hash);
        word_u64(&mut out, self.anchor_number);
        out.extend_from_slice(&self.anchor_hash);
        out.extend_from_slice(&self.history_root);
        word_u64(&mut out, self.first_block);
        word_u64(&mut out, self.last_block);
        let params_at = 32 * HEAD_WORDS;
        word_u64(&mut out, params_at as u64);
        word_u64(
            &mut out,
            (params_at + 32 + padded(self.params.len())) as u64,
        );
        bytes_tail(&mut out, &self.params);
        bytes_tail(&mut out, &self.result);
        out
    }

    /// Decodes a version-3 journal, accepting only its canonical encoding (the one
    /// [`Journal::encode`] writes: every word in range, standard offsets, zero padding,
    /// nothing after the result).
    pub fn decode(data: &[u8]) -> Result<Journal> {
        let bad = Error::Invalid("not a canonical version-3 journal");
        let word = |i: usize| data.get(32 * i..32 * i + 32).ok_or(bad);
        let small = |i: usize| -> Result<u64> {
            let w = word(i)?;
            if w[..24].iter().any(|&b| b != 0) {
                return Err(bad);
            }
            Ok(u64::from_be_bytes(w[24..].try_into().map_err(|_| bad)?))
        };
        let fixed = |i: usize| -> Result<[u8; 32]> { word(i)?.try_into().map_err(|_| bad) };
        if small(0)? != JOURNAL_VERSION as u64 {
            return Err(Error::Invalid("journal version is not 3"));
        }
        let tail = |at: u64| -> Result<Vec<u8>> {
            let at = usize::try_from(at).map_err(|_| bad)?;
            let len = data.get(at..at + 32).ok_or(bad)?;
            if len[..24].iter().any(|&b| b != 0) {
                return Err(bad);
            }
            let n = usize::try_from(u64::from_be_bytes(len[24..].try_into().map_err(|_| bad)?))
                .map_err(|_| bad)?;
            let body = at.checked_add(32).ok_or(bad)?;
            Ok(data
                .get(body..body.checked_add(n).ok_or(bad)?)
                .ok_or(bad)?
                .to_vec())
        };
        let journal = Journal {
            chain_id: small(1)?,
            query_hash: fixed(2)?,
            anchor_number: small(3)?,
            anchor_hash: fixed(4)?,
            history_root: fixed(5)?,
            first_block: small(6)?,
            last_block: small(7)?,
            params: tail(small(8)?)?,
            result: tail(small(9)?)?,
        };
        if journal.encode() != data {
            return Err(bad);
        }
        Ok(journal)
    }
}
