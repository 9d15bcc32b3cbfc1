//! EIP-4895 withdrawals and the withdrawals root.

use crate::rlp::{self, ListReader};
use crate::{Address, Result, B256};
use alloc::vec::Vec;

/// A validator withdrawal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdrawal {
    /// Monotonic withdrawal index.
    pub index: u64,
    /// Validator index.
    pub validator_index: u64,
    /// Recipient.
    pub address: Address,
    /// Amount in gwei.
    pub amount_gwei: u64,
}

impl Withdrawal {
    /// Decode `rlp([index, validator_index, address, amount])`.
    pub fn decode(raw: &[u8]) -> Result<Self> {
        Self::read(rlp::list_exact(raw)?)
    }

    pub(crate) fn read(mut r: ListReader<'_>) -> Result<Self> {
        let w = Withdrawal {
            index: r.u64()?,
            validator_index: r.u64()?,
            address: r.fixed()?,
            amount_gwei: r.u64()?,
        };
        r.finish()?;
        Ok(w)
    }

    /// RLP encoding (the withdrawals-trie value).
    pub fn encode(&self) -> Vec<u8> {
        let mut p = Vec::with_capacity(48);
        rlp::encode_u64(&mut p, self.index);
        rlp::encode_u64(&mut p, self.validator_index);
        rlp::encode_bytes(&mut p, &self.address);
        rlp::encode_u64(&mut p, self.amount_gwei);
        rlp::list_from_payload(&p)
    }
}

/// withdrawalsRoot: ordered trie of `rlp(withdrawal)`.
pub fn withdrawals_root(withdrawals: &[Withdrawal]) -> Result<B256> {
    let enc: Vec<Vec<u8>> = withdrawals.iter().map(Withdrawal::encode).collect();
    crate::trie::ordered_trie_root(&enc)
}
