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
use crate::rlp;
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

/// Most fields a header has (Prague).
const MAX_FIELDS: usize = 21;

/// A header read in place: every field checked exactly as [`Header::decode`] checks it
/// (strict RLP, field count, fixed lengths, canonical integers), nothing copied. Fixed-size
/// fields are references into the RLP; integers are their canonical big-endian payloads,
/// read on demand (a scan decodes only the fields its plan reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderRef<'a> {
    /// The header's RLP (what its hash is the keccak of).
    pub rlp: &'a [u8],
    /// Layout, from the field count.
    pub era: Era,
    /// keccak of the parent header's RLP.
    pub parent_hash: &'a B256,
    /// keccak of the RLP list of ommer headers.
    pub ommers_hash: &'a B256,
    /// Fee recipient.
    pub beneficiary: &'a Address,
    /// State trie root.
    pub state_root: &'a B256,
    /// Transactions trie root.
    pub transactions_root: &'a B256,
    /// Receipts trie root.
    pub receipts_root: &'a B256,
    /// OR of all receipt blooms (the raw 256 bytes).
    pub logs_bloom: &'a [u8; 256],
    /// Difficulty (canonical big-endian, at most 32 bytes).
    pub difficulty: &'a [u8],
    /// Block number.
    pub number: u64,
    /// Gas limit (canonical big-endian, at most 8 bytes).
    pub gas_limit: &'a [u8],
    /// Gas used (canonical big-endian, at most 8 bytes).
    pub gas_used: &'a [u8],
    /// Timestamp (canonical big-endian, at most 8 bytes).
    pub timestamp: &'a [u8],
    /// Extra data.
    pub extra_data: &'a [u8],
    /// Mix hash (prevRandao).
    pub mix_hash: &'a B256,
    /// PoW nonce.
    pub nonce: &'a [u8; 8],
    /// Base fee (canonical big-endian, at most 32 bytes; London+).
    pub base_fee_per_gas: Option<&'a [u8]>,
    /// Withdrawals root (Shanghai+).
    pub withdrawals_root: Option<&'a B256>,
    /// Blob gas used (canonical big-endian, at most 8 bytes; Cancun+).
    pub blob_gas_used: Option<&'a [u8]>,
    /// Excess blob gas (canonical big-endian, at most 8 bytes; Cancun+).
    pub excess_blob_gas: Option<&'a [u8]>,
    /// Parent beacon block root (Cancun+).
    pub parent_beacon_block_root: Option<&'a B256>,
    /// Requests hash (Prague+).
    pub requests_hash: Option<&'a B256>,
}

/// Field readers over the items of a header list (in order, each checked).
struct Fields<'a, 'f> {
    /// payload of each field
    payloads: &'f [&'a [u8]],
    /// bit i set: field i is a list
    lists: u32,
    next: usize,
}

impl<'a> Fields<'a, '_> {
    #[inline(always)]
    fn bytes(&mut self) -> Result<&'a [u8]> {
        let i = self.next;
        self.next += 1;
        if self.lists & (1 << i) != 0 {
            return Err(Error::RlpUnexpectedList);
        }
        Ok(self.payloads[i])
    }
    #[inline(always)]
    fn fixed<const N: usize>(&mut self) -> Result<&'a [u8; N]> {
        self.bytes()?
            .try_into()
            .map_err(|_| Error::RlpUnexpectedLength)
    }
    /// A canonical unsigned integer of at most `max_len` bytes (its payload).
    #[inline(always)]
    fn uint(&mut self, max_len: usize) -> Result<&'a [u8]> {
        let p = self.bytes()?;
        rlp::check_uint(p, max_len)?;
        Ok(p)
    }
}

/// A checked canonical integer payload of at most 8 bytes as u64.
#[inline]
pub fn be_u64(payload: &[u8]) -> u64 {
    payload.iter().fold(0u64, |v, &b| (v << 8) | b as u64)
}

/// A checked canonical integer payload of at most 32 bytes as U256 (longer: zero, which
/// cannot happen for the payloads of a [`HeaderRef`]).
#[inline]
pub fn be_u256(payload: &[u8]) -> U256 {
    U256::try_from_be_slice(payload).unwrap_or_default()
}

impl<'a> HeaderRef<'a> {
    /// Check a header's RLP (strict; exactly one list, no trailing bytes) and locate its
    /// fields; the same checks, in the same order, as [`Header::decode`].
    pub fn parse(rlp_bytes: &'a [u8]) -> Result<Self> {
        let mut list = rlp::list_exact(rlp_bytes)?;
        let mut payloads: [&[u8]; MAX_FIELDS] = [&[]; MAX_FIELDS];
        let mut lists = 0u32;
        let mut n = 0usize;
        while !list.is_empty() {
            let (_, item) = list.item()?;
            if n < MAX_FIELDS {
                payloads[n] = match item {
                    rlp::Item::String(p) => p,
                    rlp::Item::List(p) => {
                        lists |= 1 << n;
                        p
                    }
                };
            }
            n += 1;
        }
        let era = Era::from_field_count(n)?;
        let mut f = Fields {
            payloads: &payloads[..n],
            lists,
            next: 0,
        };
        let mut h = HeaderRef {
            rlp: rlp_bytes,
            era,
            parent_hash: f.fixed()?,
            ommers_hash: f.fixed()?,
            beneficiary: f.fixed()?,
            state_root: f.fixed()?,
            transactions_root: f.fixed()?,
            receipts_root: f.fixed()?,
            logs_bloom: f.fixed()?,
            difficulty: f.uint(32)?,
            number: be_u64(f.uint(8)?),
            gas_limit: f.uint(8)?,
            gas_used: f.uint(8)?,
            timestamp: f.uint(8)?,
            extra_data: f.bytes()?,
            mix_hash: f.fixed()?,
            nonce: f.fixed()?,
            base_fee_per_gas: None,
            withdrawals_root: None,
            blob_gas_used: None,
            excess_blob_gas: None,
            parent_beacon_block_root: None,
            requests_hash: None,
        };
        if era >= Era::London {
            h.base_fee_per_gas = Some(f.uint(32)?);
        }
        if era >= Era::Shanghai {
            h.withdrawals_root = Some(f.fixed()?);
        }
        if era >= Era::Cancun {
            h.blob_gas_used = Some(f.uint(8)?);
            h.excess_blob_gas = Some(f.uint(8)?);
            h.parent_beacon_block_root = Some(f.fixed()?);
        }
        if era >= Era::Prague {
            h.requests_hash = Some(f.fixed()?);
        }
        Ok(h)
    }

    /// The owned header.
    pub fn to_header(&self) -> Header {
        Header {
            parent_hash: *self.parent_hash,
            ommers_hash: *self.ommers_hash,
            beneficiary: *self.beneficiary,
            state_root: *self.state_root,
            transactions_root: *self.transactions_root,
            receipts_root: *self.receipts_root,
            logs_bloom: Bloom(*self.logs_bloom),
            difficulty: be_u256(self.difficulty),
            number: self.number,
            gas_limit: be_u64(self.gas_limit),
            gas_used: be_u64(self.gas_used),
            timestamp: be_u64(self.timestamp),
            extra_data: self.extra_data.to_vec(),
            mix_hash: *self.mix_hash,
            nonce: *self.nonce,
            base_fee_per_gas: self.base_fee_per_gas.map(be_u256),
            withdrawals_root: self.withdrawals_root.copied(),
            blob_gas_used: self.blob_gas_used.map(be_u64),
            excess_blob_gas: self.excess_blob_gas.map(be_u64),
            parent_beacon_block_root: self.parent_beacon_block_root.copied(),
            requests_hash: self.requests_hash.copied(),
        }
    }
}

/// A header read in place together with its hash (keccak of its RLP, hashed once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedHeaderRef<'a> {
    /// The fields.
    pub header: HeaderRef<'a>,
    /// keccak256 of its RLP.
    pub hash: B256,
}

impl<'a> SealedHeaderRef<'a> {
    /// Check and hash the given RLP (strict, as [`SealedHeader::decode`]).
    pub fn decode(rlp_bytes: &'a [u8]) -> Result<Self> {
        let header = HeaderRef::parse(rlp_bytes)?;
        Ok(Self {
            header,
            hash: keccak256(rlp_bytes),
        })
    }
}

impl Header {
    /// Decode a header from its RLP (strict; exactly one list, no trailing bytes).
    pub fn decode(rlp_bytes: &[u8]) -> Result<Self> {
        Ok(HeaderRef::parse(rlp_bytes)?.to_header())
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
