//! Block bodies and checking a block's contents against its header.

use crate::error::Commitment;
use crate::header::Header;
use crate::keccak::keccak256;
use crate::receipt::{self, Receipt};
use crate::rlp;
use crate::transaction;
use crate::withdrawal::{self, Withdrawal};
use crate::{Error, Result, B256};
use alloc::vec::Vec;

/// A decoded block body `rlp([transactions, ommers, withdrawals?])`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockBody<'a> {
    /// Raw transaction bytes (legacy RLP list or `type ‖ rlp`), borrowed.
    pub transactions: Vec<&'a [u8]>,
    /// keccak of the RLP ommers list (compare with `header.ommers_hash`).
    pub ommers_hash: B256,
    /// Raw RLP of each ommer header.
    pub ommers: Vec<&'a [u8]>,
    /// Withdrawals (Shanghai+).
    pub withdrawals: Option<Vec<Withdrawal>>,
}

impl<'a> BlockBody<'a> {
    /// Decode a body; transactions stay borrowed raw bytes.
    pub fn decode(raw: &'a [u8]) -> Result<Self> {
        let mut r = rlp::list_exact(raw)?;
        let mut txs = r.list()?;
        let mut transactions = Vec::new();
        while !txs.is_empty() {
            let (raw_item, item) = txs.item()?;
            transactions.push(transaction::raw_from_body_item(raw_item, item)?);
        }
        let ommers_raw = r.raw()?;
        let mut om = match rlp::decode_exact(ommers_raw)? {
            rlp::Item::List(p) => rlp::ListReader::new(p),
            rlp::Item::String(_) => return Err(Error::RlpUnexpectedString),
        };
        let mut ommers = Vec::new();
        while !om.is_empty() {
            ommers.push(om.raw()?);
        }
        let withdrawals = if r.is_empty() {
            None
        } else {
            let mut w = r.list()?;
            let mut v = Vec::new();
            while !w.is_empty() {
                v.push(Withdrawal::read(w.list()?)?);
            }
            Some(v)
        };
        r.finish()?;
        Ok(BlockBody {
            transactions,
            ommers_hash: keccak256(ommers_raw),
            ommers,
            withdrawals,
        })
    }

    /// Check transactions root, ommers hash and withdrawals root against the header.
    pub fn verify(&self, header: &Header) -> Result<()> {
        if transaction::transactions_root(&self.transactions)? != header.transactions_root {
            return Err(Error::Mismatch(Commitment::TransactionsRoot));
        }
        if self.ommers_hash != header.ommers_hash {
            return Err(Error::Mismatch(Commitment::OmmersHash));
        }
        match (&self.withdrawals, &header.withdrawals_root) {
            (None, None) => Ok(()),
            (Some(w), Some(root)) if withdrawal::withdrawals_root(w)? == *root => Ok(()),
            _ => Err(Error::Mismatch(Commitment::WithdrawalsRoot)),
        }
    }
}

/// Check receipts against the header: receipts root and logs bloom.
pub fn verify_receipts(header: &Header, receipts: &[Receipt]) -> Result<()> {
    if receipt::receipts_root(receipts)? != header.receipts_root {
        return Err(Error::Mismatch(Commitment::ReceiptsRoot));
    }
    if receipt::block_bloom(receipts) != header.logs_bloom {
        return Err(Error::Mismatch(Commitment::LogsBloom));
    }
    Ok(())
}
