//! Block headers of every fork, Frontier → Osaka.
//!
//! The fork-dependent tail of the header is identified by the RLP field
//! count, never guessed:
//!
//! | fields | era ([`Era`]) | forks |
//! |---|---|---|
//! | 15 | `Frontier` | Frontier … Gray Glacier, Paris (Merge) |
//! | 16 | `London` | London, Arrow/Gray Glacier, Paris (+ base_fee_per_gas) |
//! | 17 | `Shanghai` | Shanghai (+ withdrawals_root) |
//! | 20 | `Cancun` | Cancun (+ blob_gas_used, excess_blob_gas, parent_beacon_block_root) |
//! | 21 | `Prague` | Prague, Osaka (+ requests_hash) |
//!
//! Any other count (an unknown trailing field, a truncated Cancun tail, …)
//! is [`Error::HeaderFieldCount`]. Decoding is strict (canonical RLP only),
//! so [`Header::encode`] of a decoded header is byte-identical to the input,
//! and [`SealedHeader::decode`] can hash the input bytes directly.

use crate::bloom::Bloom;
use crate::keccak::keccak256;
use crate::rlp::{self, ListReader};
use crate::{Address, Error, Result, B256, U256};
use alloc::vec::Vec;

/// Header layout, by field count (see the module table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Era {
    /// 15 fields: Frontier through Berlin (and pre-London).
    Frontier,
    /// 16 fields: + base_fee_per_gas (London, Paris).
    London,
    /// 17 fields: + withdrawals_root (Shanghai).
    Shanghai,
    /// 20 fields: + blob_gas_used, excess_blob_gas, parent_beacon_block_root (Cancun).
    Cancun,
    /// 21 fields: + requests_hash (Prague, Osaka).
    Prague,
}

impl Era {
    /// Era from the number of RLP fields.
    pub fn from_field_count(n: usize) -> Result<Self> {
        Ok(match n {
            15 => Era::Frontier,
            16 => Era::London,
            17 => Era::Shanghai,
            20 => Era::Cancun,
            21 => Era::Prague,
            other => return Err(Error::HeaderFieldCount(other)),
        })
    }
    /// Number of RLP fields of this era.
    pub fn field_count(self) -> usize {
        match self {
            Era::Frontier => 15,
            Era::London => 16,
            Era::Shanghai => 17,
            Era::Cancun => 20,
            Era::Prague => 21,
        }
    }
}

/// A block header (all forks; fork fields are `Some` from their fork on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// keccak of the parent header's RLP.
    pub parent_hash: B256,
    /// keccak of the RLP list of ommer headers ("sha3Uncles").
    pub ommers_hash: B256,
    /// Fee recipient ("miner").
    pub beneficiary: Address,
    /// State trie root.
    pub state_root: B256,
    /// Transactions trie root.
    pub transactions_root: B256,
    /// Receipts trie root.
    pub receipts_root: B256,
    /// OR of all receipt blooms.
    pub logs_bloom: Bloom,
    /// Proof-of-work difficulty (0 after the Merge).
    pub difficulty: U256,
    /// Block number.
    pub number: u64,
    /// Gas limit.
    pub gas_limit: u64,
    /// Gas used.
    pub gas_used: u64,
    /// Unix timestamp.
    pub timestamp: u64,
    /// Extra data.
    pub extra_data: Vec<u8>,
    /// Mix hash (prevRandao after the Merge).
    pub mix_hash: B256,
    /// PoW nonce (8 bytes).
    pub nonce: [u8; 8],
    /// EIP-1559 base fee (London+): a uint256 in the header's schema (execution-specs `Uint`).
    pub base_fee_per_gas: Option<U256>,
    /// EIP-4895 withdrawals root (Shanghai+).
    pub withdrawals_root: Option<B256>,
    /// EIP-4844 blob gas used (Cancun+).
    pub blob_gas_used: Option<u64>,
    /// EIP-4844 excess blob gas (Cancun+).
    pub excess_blob_gas: Option<u64>,
    /// EIP-4788 parent beacon block root (Cancun+).
    pub parent_beacon_block_root: Option<B256>,
    /// EIP-7685 requests hash (Prague+).
    pub requests_hash: Option<B256>,
}

impl Header {
    /// Decode a header from its RLP (strict; exactly one list, no trailing bytes).
    pub fn decode(rlp_bytes: &[u8]) -> Result<Self> {
        let list = rlp::list_exact(rlp_bytes)?;
        let era = Era::from_field_count(list.count()?)?;
        let mut r: ListReader<'_> = list;
        let mut h = Header {
            parent_hash: r.fixed()?,
            ommers_hash: r.fixed()?,
            beneficiary: r.fixed()?,
            state_root: r.fixed()?,
            transactions_root: r.fixed()?,
            receipts_root: r.fixed()?,
            logs_bloom: Bloom(r.fixed()?),
            difficulty: r.u256()?,
            number: r.u64()?,
            gas_limit: r.u64()?,
            gas_used: r.u64()?,
            timestamp: r.u64()?,
            extra_data: r.bytes()?.to_vec(),
            mix_hash: r.fixed()?,
            nonce: r.fixed()?,
            base_fee_per_gas: None,
            withdrawals_root: None,
            blob_gas_used: None,
            excess_blob_gas: None,
            parent_beacon_block_root: None,
            requests_hash: None,
        };
        if era >= Era::London {
            h.base_fee_per_gas = Some(r.u256()?);
        }
        if era >= Era::Shanghai {
            h.withdrawals_root = Some(r.fixed()?);
        }
        if era >= Era::Cancun {
            h.blob_gas_used = Some(r.u64()?);
            h.excess_blob_gas = Some(r.u64()?);
            h.parent_beacon_block_root = Some(r.fixed()?);
        }
        if era >= Era::Prague {
            h.requests_hash = Some(r.fixed()?);
        }
        r.finish()?;
        Ok(h)
    }

    /// The era implied by which optional fields are set; an error if they
    /// are not a valid fork prefix (e.g. withdrawals_root without base fee).
    pub fn era(&self) -> Result<Era> {
        let flags = [
            self.base_fee_per_gas.is_some(),
            self.withdrawals_root.is_some(),
            self.blob_gas_used.is_some(),
            self.excess_blob_gas.is_some(),
            self.parent_beacon_block_root.is_some(),
            self.requests_hash.is_some(),
        ];
        let n = flags.iter().take_while(|&&f| f).count();
        if flags[n..].iter().any(|&f| f) {
            return Err(Error::InvalidInput(
                "header optional fields do not form a fork prefix",
            ));
        }
        Era::from_field_count(15 + n)
    }

    /// Canonical RLP encoding.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let era = self.era()?;
        let mut p = Vec::with_capacity(700);
        rlp::encode_bytes(&mut p, &self.parent_hash);
        rlp::encode_bytes(&mut p, &self.ommers_hash);
        rlp::encode_bytes(&mut p, &self.beneficiary);
        rlp::encode_bytes(&mut p, &self.state_root);
        rlp::encode_bytes(&mut p, &self.transactions_root);
        rlp::encode_bytes(&mut p, &self.receipts_root);
        rlp::encode_bytes(&mut p, &self.logs_bloom.0);
        rlp::encode_u256(&mut p, &self.difficulty);
        rlp::encode_u64(&mut p, self.number);
        rlp::encode_u64(&mut p, self.gas_limit);
        rlp::encode_u64(&mut p, self.gas_used);
        rlp::encode_u64(&mut p, self.timestamp);
        rlp::encode_bytes(&mut p, &self.extra_data);
        rlp::encode_bytes(&mut p, &self.mix_hash);
        rlp::encode_bytes(&mut p, &self.nonce);
        if let Some(v) = &self.base_fee_per_gas {
            rlp::encode_u256(&mut p, v);
        }
        if let Some(v) = &self.withdrawals_root {
            rlp::encode_bytes(&mut p, v);
        }
        if era >= Era::Cancun {
            // era() guarantees all three are Some.
            rlp::encode_u64(&mut p, self.blob_gas_used.unwrap_or_default());
            rlp::encode_u64(&mut p, self.excess_blob_gas.unwrap_or_default());
            rlp::encode_bytes(&mut p, &self.parent_beacon_block_root.unwrap_or_default());
        }
        if let Some(v) = &self.requests_hash {
            rlp::encode_bytes(&mut p, v);
        }
        Ok(rlp::list_from_payload(&p))
    }

    /// keccak256(rlp(header)), re-encoding the header.
    pub fn hash_slow(&self) -> Result<B256> {
        Ok(keccak256(&self.encode()?))
    }
}

/// A header together with its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedHeader {
    /// The decoded header.
    pub header: Header,
    /// keccak256 of its RLP.
    pub hash: B256,
}

impl SealedHeader {
    /// Decode and hash the given RLP. Because decoding is strict, hashing the
    /// input equals hashing the re-encoding (no second encode needed).
    pub fn decode(rlp_bytes: &[u8]) -> Result<Self> {
        let header = Header::decode(rlp_bytes)?;
        Ok(Self {
            header,
            hash: keccak256(rlp_bytes),
        })
    }

    /// Seal a header by encoding and hashing it.
    pub fn seal(header: Header) -> Result<Self> {
        let hash = header.hash_slow()?;
        Ok(Self { header, hash })
    }
}
