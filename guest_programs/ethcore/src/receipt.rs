//! Receipts, their consensus encoding, blooms and the receipts root.
//!
//! Consensus (trie) encoding: legacy = `rlp([status_or_post_state,
//! cumulative_gas_used, bloom, logs])`; typed = `type ‖ rlp([...])`.
//! Pre-Byzantium receipts carry a 32-byte post-state root instead of the
//! status. The bloom is always recomputed from the logs; a decoded stored
//! bloom that differs is an error. Also decodes eth/69 network receipts
//! `[type, status, cumulative_gas_used, logs]` (no bloom).

use crate::bloom::Bloom;
use crate::error::Commitment;
use crate::rlp::{self, ListReader};
use crate::{Address, Error, Result, B256};
use alloc::vec::Vec;

/// A log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log {
    /// Emitting contract.
    pub address: Address,
    /// Topics (0..=4).
    pub topics: Vec<B256>,
    /// Data.
    pub data: Vec<u8>,
}

/// Bytes of one topic in a topics list payload: `0xa0 ‖ topic` (a 32-byte string).
const TOPIC_ITEM: usize = 33;

/// A log read in place (nothing copied): the address and the topics point into the
/// receipt's bytes, which the receipts root commits to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRef<'a> {
    /// Emitting contract.
    pub address: &'a Address,
    /// The topics list payload: [`TOPIC_ITEM`] bytes per topic, each checked a 32-byte string.
    topics: &'a [u8],
    /// Data.
    pub data: &'a [u8],
}

impl<'a> LogRef<'a> {
    /// Check one log `rlp([address, [topic, ...], data])` (as [`Log`] decoding checks it).
    fn read(mut r: ListReader<'a>) -> Result<Self> {
        let address = r.fixed_ref()?;
        let topics = r.list()?;
        // 32-byte strings are exactly `0xa0 ‖ 32 bytes`: a payload of such items passes;
        // anything else is walked item by item for its exact error
        let payload = topics.payload();
        if payload.len() % TOPIC_ITEM != 0 || payload.chunks_exact(TOPIC_ITEM).any(|c| c[0] != 0xa0)
        {
            let mut t = topics;
            while !t.is_empty() {
                t.fixed_ref::<32>()?;
            }
        }
        let data = r.bytes()?;
        r.finish()?;
        Ok(LogRef {
            address,
            topics: topics.payload(),
            data,
        })
    }

    /// Number of topics.
    #[inline]
    pub fn topic_count(&self) -> usize {
        self.topics.len() / TOPIC_ITEM
    }

    /// True when the log has more than `n` topics.
    #[inline]
    pub fn has_more_topics_than(&self, n: usize) -> bool {
        self.topics.len() > n * TOPIC_ITEM
    }

    /// Topic `k`, if the log has it.
    #[inline]
    pub fn topic(&self, k: usize) -> Option<&'a B256> {
        let at = k.checked_mul(TOPIC_ITEM)?;
        self.topics.get(at + 1..at + TOPIC_ITEM)?.try_into().ok()
    }

    /// The topics, in order.
    pub fn topics(&self) -> impl Iterator<Item = &'a B256> + 'a {
        self.topics
            .chunks_exact(TOPIC_ITEM)
            .filter_map(|c| c[1..].try_into().ok())
    }

    /// The owned log.
    pub fn to_log(&self) -> Log {
        Log {
            address: *self.address,
            topics: self.topics().copied().collect(),
            data: self.data.to_vec(),
        }
    }
}

impl Log {
    fn encode_into(&self, out: &mut Vec<u8>) {
        let mut tp = Vec::with_capacity(33 * self.topics.len());
        for t in &self.topics {
            rlp::encode_bytes(&mut tp, t);
        }
        let mut p = Vec::with_capacity(21 + tp.len() + 4 + self.data.len() + 4);
        rlp::encode_bytes(&mut p, &self.address);
        rlp::encode_list_payload(&mut p, &tp);
        rlp::encode_bytes(&mut p, &self.data);
        rlp::encode_list_payload(out, &p);
    }

    /// This log's bloom contribution.
    pub fn bloom(&self) -> Bloom {
        Bloom::from_log_parts(&self.address, &self.topics)
    }
}

/// Status (Byzantium+) or intermediate state root (before).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// EIP-658 status: true = success.
    Status(bool),
    /// Pre-Byzantium post-transaction state root.
    PostState(B256),
}

impl Outcome {
    fn decode(p: &[u8]) -> Result<Self> {
        match p {
            [] => Ok(Outcome::Status(false)),
            [1] => Ok(Outcome::Status(true)),
            _ if p.len() == 32 => Ok(Outcome::PostState(
                p.try_into().map_err(|_| Error::InvalidReceiptStatus)?,
            )),
            _ => Err(Error::InvalidReceiptStatus),
        }
    }
    fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Outcome::Status(true) => rlp::encode_bytes(out, &[1]),
            Outcome::Status(false) => rlp::encode_bytes(out, &[]),
            Outcome::PostState(r) => rlp::encode_bytes(out, r),
        }
    }
}

/// A transaction receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// EIP-2718 type (0 = legacy).
    pub tx_type: u8,
    /// Status or post-state root.
    pub outcome: Outcome,
    /// Gas used in the block up to and including this tx.
    pub cumulative_gas_used: u64,
    /// Logs.
    pub logs: Vec<Log>,
}

fn check_type(t: u8) -> Result<u8> {
    if t <= 4 {
        Ok(t)
    } else {
        Err(Error::UnsupportedType(t))
    }
}

/// A consensus-encoded receipt read in place: every field checked as
/// [`Receipt::decode_with_stored_bloom`] checks it, the logs located, nothing copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptRef<'a> {
    /// EIP-2718 type (0 = legacy).
    pub tx_type: u8,
    /// Status or post-state root.
    pub outcome: Outcome,
    /// Gas used in the block up to and including this tx.
    pub cumulative_gas_used: u64,
    /// The bloom the receipt stores (not recomputed).
    pub logs_bloom: &'a [u8; 256],
    /// Logs.
    pub logs: Vec<LogRef<'a>>,
}

impl<'a> ReceiptRef<'a> {
    /// Read a consensus-encoded receipt; its stored bloom is returned, *not* checked
    /// against its logs (see [`Receipt::decode_with_stored_bloom`]).
    pub fn decode(raw: &'a [u8]) -> Result<Self> {
        let first = *raw.first().ok_or(Error::EmptyEnvelope)?;
        let (tx_type, body) = if first >= 0xc0 {
            (0, raw)
        } else {
            (first, &raw[1..])
        };
        if tx_type == 0 && first < 0xc0 {
            return Err(Error::UnsupportedType(0));
        }
        let tx_type = check_type(tx_type)?;
        let mut r = rlp::list_exact(body)?;
        let outcome = Outcome::decode(r.bytes()?)?;
        let cumulative_gas_used = r.u64()?;
        let logs_bloom = r.fixed_ref()?;
        let mut l = r.list()?;
        let mut logs = Vec::new();
        while !l.is_empty() {
            logs.push(LogRef::read(l.list()?)?);
        }
        r.finish()?;
        Ok(ReceiptRef {
            tx_type,
            outcome,
            cumulative_gas_used,
            logs_bloom,
            logs,
        })
    }
}

fn read_logs(mut l: ListReader<'_>) -> Result<Vec<Log>> {
    let mut logs = Vec::new();
    while !l.is_empty() {
        logs.push(LogRef::read(l.list()?)?.to_log());
    }
    Ok(logs)
}

impl Receipt {
    /// Bloom of all its logs (recomputed).
    pub fn bloom(&self) -> Bloom {
        let mut b = Bloom::default();
        for l in &self.logs {
            b.accrue(&l.address);
            for t in &l.topics {
                b.accrue(t);
            }
        }
        b
    }

    /// Consensus encoding (the receipts-trie value), bloom recomputed.
    pub fn encode_consensus(&self) -> Vec<u8> {
        self.encode_with_bloom(&self.bloom())
    }

    /// Consensus encoding with a given bloom.
    pub fn encode_with_bloom(&self, bloom: &Bloom) -> Vec<u8> {
        let mut logs = Vec::new();
        for l in &self.logs {
            l.encode_into(&mut logs);
        }
        let mut p = Vec::with_capacity(300 + logs.len());
        self.outcome.encode_into(&mut p);
        rlp::encode_u64(&mut p, self.cumulative_gas_used);
        rlp::encode_bytes(&mut p, &bloom.0);
        rlp::encode_list_payload(&mut p, &logs);
        let mut out = Vec::with_capacity(p.len() + 6);
        if self.tx_type != 0 {
            out.push(self.tx_type);
        }
        rlp::encode_list_payload(&mut out, &p);
        out
    }

    /// Decode a consensus-encoded receipt; its stored bloom must equal the
    /// bloom recomputed from its logs.
    pub fn decode_consensus(raw: &[u8]) -> Result<Self> {
        let (rec, bloom) = Self::decode_with_stored_bloom(raw)?;
        if rec.bloom() != bloom {
            return Err(Error::Mismatch(Commitment::LogsBloom));
        }
        Ok(rec)
    }

    /// Decode a consensus-encoded receipt and return the bloom it stores,
    /// *without* recomputing it (a bloom costs 3 hashes per address and
    /// topic). For callers that commit to `raw` itself, e.g. by rebuilding
    /// receiptsRoot from the raw bytes: the logs read are then exactly the
    /// block's, whatever the bloom says.
    pub fn decode_with_stored_bloom(raw: &[u8]) -> Result<(Self, Bloom)> {
        let r = ReceiptRef::decode(raw)?;
        let rec = Receipt {
            tx_type: r.tx_type,
            outcome: r.outcome,
            cumulative_gas_used: r.cumulative_gas_used,
            logs: r.logs.iter().map(LogRef::to_log).collect(),
        };
        Ok((rec, Bloom(*r.logs_bloom)))
    }

    /// Decode one eth/69 network receipt `rlp([type, status, cumulative_gas_used, logs])`.
    pub fn decode_eth69(raw: &[u8]) -> Result<Self> {
        Self::read_eth69(rlp::list_exact(raw)?)
    }

    fn read_eth69(mut r: ListReader<'_>) -> Result<Self> {
        let t = r.u64()?;
        let tx_type = check_type(u8::try_from(t).map_err(|_| Error::RlpOverflow)?)?;
        let outcome = Outcome::decode(r.bytes()?)?;
        let cumulative_gas_used = r.u64()?;
        let logs = read_logs(r.list()?)?;
        r.finish()?;
        Ok(Receipt {
            tx_type,
            outcome,
            cumulative_gas_used,
            logs,
        })
    }
}

/// Decode an eth/69 receipts list (one block's receipts).
pub fn decode_eth69_receipts(raw: &[u8]) -> Result<Vec<Receipt>> {
    let mut l = rlp::list_exact(raw)?;
    let mut out = Vec::new();
    while !l.is_empty() {
        out.push(Receipt::read_eth69(l.list()?)?);
    }
    Ok(out)
}

/// receiptsRoot: ordered trie of consensus-encoded receipts (blooms recomputed).
pub fn receipts_root(receipts: &[Receipt]) -> Result<B256> {
    let enc: Vec<Vec<u8>> = receipts.iter().map(Receipt::encode_consensus).collect();
    crate::trie::ordered_trie_root(&enc)
}

/// Block logs bloom: OR of the receipts' blooms.
pub fn block_bloom(receipts: &[Receipt]) -> Bloom {
    let mut b = Bloom::default();
    for r in receipts {
        b.accrue_bloom(&r.bloom());
    }
    b
}
