//! Transactions of EIP-2718 types 0 (legacy), 1 (EIP-2930), 2 (EIP-1559),
//! 3 (EIP-4844 blob) and 4 (EIP-7702 set-code), decoded from their raw
//! (trie / network) bytes. Decoding does not recover the sender.
//!
//! Raw bytes: legacy = `rlp([nonce, gasPrice, gas, to, value, data, v, r, s])`;
//! typed = `type ‖ rlp([...])`. The hash is keccak256 of the raw bytes.
//! Access lists, blob hashes and authorization lists are checked for shape
//! (addresses 20 bytes, keys/hashes 32 bytes, canonical integers), counted,
//! and not kept.
//!
//! Sender recovery ([`recover_sender`]): k256 in software
//! ([`recover_address_software`], the reference), or, in zkVM guests built
//! with the `zkvm-secp256k1` feature, the same algorithm on RISC Zero's
//! bigint2 accelerator (`secp256k1_zkvm`), with identical verdicts.

use crate::keccak::keccak256;
use crate::rlp::{self, Item, ListReader};
use crate::{Address, Error, Result, B256, U256};
use alloc::vec::Vec;

#[cfg(any(test, all(feature = "zkvm-secp256k1", target_os = "zkvm")))]
mod secp256k1_zkvm;

/// A decoded transaction (fields not present in its type are `None` / 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// EIP-2718 type (0 = legacy).
    pub tx_type: u8,
    /// Chain id (typed txs; legacy only when EIP-155 signed).
    pub chain_id: Option<u64>,
    /// Sender nonce.
    pub nonce: u64,
    /// Gas limit.
    pub gas_limit: u64,
    /// Recipient; `None` = contract creation.
    pub to: Option<Address>,
    /// Wei sent.
    pub value: U256,
    /// Call data / init code.
    pub input: Vec<u8>,
    /// Gas price (types 0 and 1).
    pub gas_price: Option<u128>,
    /// Max fee per gas (types 2, 3, 4).
    pub max_fee_per_gas: Option<u128>,
    /// Max priority fee per gas (types 2, 3, 4).
    pub max_priority_fee_per_gas: Option<u128>,
    /// Max fee per blob gas (type 3).
    pub max_fee_per_blob_gas: Option<u128>,
    /// Number of blob versioned hashes (type 3).
    pub blob_hashes_count: usize,
    /// Number of access-list entries (types 1..4).
    pub access_list_len: usize,
    /// Number of EIP-7702 authorizations (type 4).
    pub authorization_list_len: usize,
    /// keccak256 of the raw bytes.
    pub hash: B256,
}

impl Transaction {
    /// First 4 bytes of the input (function selector), if any.
    pub fn selector(&self) -> Option<[u8; 4]> {
        self.input.get(..4).and_then(|s| s.try_into().ok())
    }

    /// Decode raw transaction bytes (as in the transactions trie).
    pub fn decode(raw: &[u8]) -> Result<Self> {
        let first = *raw.first().ok_or(Error::EmptyEnvelope)?;
        if first >= 0xc0 {
            return decode_legacy(raw);
        }
        let mut r = rlp::list_exact(&raw[1..])?;
        let mut tx = Transaction {
            tx_type: first,
            chain_id: None,
            nonce: 0,
            gas_limit: 0,
            to: None,
            value: U256::ZERO,
            input: Vec::new(),
            gas_price: None,
            max_fee_per_gas: None,
            max_priority_fee_per_gas: None,
            max_fee_per_blob_gas: None,
            blob_hashes_count: 0,
            access_list_len: 0,
            authorization_list_len: 0,
            hash: keccak256(raw),
        };
        match first {
            1..=4 => {}
            t => return Err(Error::UnsupportedType(t)),
        }
        tx.chain_id = Some(r.u64()?);
        tx.nonce = r.u64()?;
        if first == 1 {
            tx.gas_price = Some(r.u128()?);
        } else {
            tx.max_priority_fee_per_gas = Some(r.u128()?);
            tx.max_fee_per_gas = Some(r.u128()?);
        }
        tx.gas_limit = r.u64()?;
        tx.to = r.opt_address()?;
        if first >= 3 && tx.to.is_none() {
            return Err(Error::InvalidTransaction);
        }
        tx.value = r.u256()?;
        tx.input = r.bytes()?.to_vec();
        tx.access_list_len = access_list_len(r.list()?)?;
        if first == 3 {
            tx.max_fee_per_blob_gas = Some(r.u128()?);
            let mut h = r.list()?;
            while !h.is_empty() {
                h.fixed::<32>()?;
                tx.blob_hashes_count += 1;
            }
        }
        if first == 4 {
            let mut a = r.list()?;
            while !a.is_empty() {
                let mut e = a.list()?;
                e.u256()?; // chain id
                e.fixed::<20>()?; // address
                e.u64()?; // nonce
                y_parity(&mut e)?;
                e.u256()?; // r
                e.u256()?; // s
                e.finish()?;
                tx.authorization_list_len += 1;
            }
        }
        y_parity(&mut r)?;
        r.u256()?;
        r.u256()?;
        r.finish()?;
        Ok(tx)
    }
}

fn y_parity(r: &mut ListReader<'_>) -> Result<()> {
    match r.u64()? {
        0 | 1 => Ok(()),
        _ => Err(Error::InvalidTransaction),
    }
}

fn access_list_len(mut l: ListReader<'_>) -> Result<usize> {
    let mut n = 0;
    while !l.is_empty() {
        let mut e = l.list()?;
        e.fixed::<20>()?;
        let mut keys = e.list()?;
        while !keys.is_empty() {
            keys.fixed::<32>()?;
        }
        e.finish()?;
        n += 1;
    }
    Ok(n)
}

fn decode_legacy(raw: &[u8]) -> Result<Transaction> {
    let mut r = rlp::list_exact(raw)?;
    let nonce = r.u64()?;
    let gas_price = r.u128()?;
    let gas_limit = r.u64()?;
    let to = r.opt_address()?;
    let value = r.u256()?;
    let input = r.bytes()?.to_vec();
    let v = r.u64()?;
    r.u256()?;
    r.u256()?;
    r.finish()?;
    let chain_id = match v {
        27 | 28 => None,
        v if v >= 35 => Some((v - 35) / 2),
        _ => return Err(Error::InvalidTransaction),
    };
    Ok(Transaction {
        tx_type: 0,
        chain_id,
        nonce,
        gas_limit,
        to,
        value,
        input,
        gas_price: Some(gas_price),
        max_fee_per_gas: None,
        max_priority_fee_per_gas: None,
        max_fee_per_blob_gas: None,
        blob_hashes_count: 0,
        access_list_len: 0,
        authorization_list_len: 0,
        hash: keccak256(raw),
    })
}

/// Raw tx bytes from one element of a block body's transaction list:
/// a legacy tx is the list itself, a typed tx is a byte string whose
/// payload is `type ‖ rlp(...)`.
pub fn raw_from_body_item<'a>(raw_item: &'a [u8], item: Item<'a>) -> Result<&'a [u8]> {
    match item {
        Item::List(_) => Ok(raw_item),
        Item::String(p) => match p.first() {
            Some(&t) if t < 0x80 => Ok(p),
            Some(_) => Err(Error::InvalidTransaction),
            None => Err(Error::EmptyEnvelope),
        },
    }
}

/// transactionsRoot from raw tx bytes (typed txs as opaque bytes).
pub fn transactions_root<T: AsRef<[u8]>>(raw_txs: &[T]) -> Result<B256> {
    crate::trie::ordered_trie_root(raw_txs)
}

// ------------------------------------------------------------------ sender recovery

/// secp256k1 group order n, halved (EIP-2: `s <= n/2` after Homestead).
const SECP256K1_HALF_N: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
];

/// The data a transaction's signature covers and the signature itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningData {
    /// keccak256 of the signing payload (legacy: `rlp(6 fields)` or, EIP-155,
    /// `rlp(6 fields ‖ chainId ‖ 0 ‖ 0)`; typed: `type ‖ rlp(unsigned fields)`).
    pub signing_hash: B256,
    /// r, big-endian.
    pub r: B256,
    /// s, big-endian.
    pub s: B256,
    /// recovery id (yParity): 0 or 1.
    pub y_parity: u8,
}

/// Signing hash and signature of raw transaction bytes (types 0-4). Only the
/// list framing and the signature fields are checked here; decode the
/// transaction with [`Transaction::decode`] to validate every field.
pub fn signing_data(raw: &[u8]) -> Result<SigningData> {
    let first = *raw.first().ok_or(Error::EmptyEnvelope)?;
    let (payload, typed) = if first >= 0xc0 {
        (list_payload(raw)?, None)
    } else {
        match first {
            1..=4 => (list_payload(&raw[1..])?, Some(first)),
            t => return Err(Error::UnsupportedType(t)),
        }
    };
    // offsets of every element; the signature is the last three
    let mut starts: Vec<usize> = Vec::with_capacity(16);
    let mut rest = payload;
    while !rest.is_empty() {
        starts.push(payload.len() - rest.len());
        rlp::next_item(&mut rest)?;
    }
    let want = match typed {
        None => 9,
        Some(1) => 11,
        Some(2) => 12,
        Some(3) => 14,
        Some(_) => 13,
    };
    if starts.len() != want {
        return Err(Error::RlpListLength);
    }
    let sig_start = starts[want - 3];
    let unsigned = &payload[..sig_start];
    let mut sig = ListReader::new(&payload[sig_start..]);
    let v = sig.u64()?;
    let r = sig.u256()?;
    let s = sig.u256()?;
    sig.finish()?;
    let mut h = crate::keccak::Keccak256::new();
    let mut head = Vec::with_capacity(10);
    let y_parity = match typed {
        Some(t) => {
            if v > 1 {
                return Err(Error::InvalidSignature);
            }
            head.push(t);
            rlp::encode_header(&mut head, true, unsigned.len());
            h.update(&head);
            h.update(unsigned);
            v as u8
        }
        None => match v {
            27 | 28 => {
                rlp::encode_header(&mut head, true, unsigned.len());
                h.update(&head);
                h.update(unsigned);
                (v - 27) as u8
            }
            v if v >= 35 => {
                let chain_id = (v - 35) / 2;
                let mut tail = Vec::with_capacity(11);
                rlp::encode_u64(&mut tail, chain_id);
                tail.extend_from_slice(&[rlp::EMPTY_STRING, rlp::EMPTY_STRING]);
                rlp::encode_header(&mut head, true, unsigned.len() + tail.len());
                h.update(&head);
                h.update(unsigned);
                h.update(&tail);
                ((v - 35) % 2) as u8
            }
            _ => return Err(Error::InvalidSignature),
        },
    };
    Ok(SigningData {
        signing_hash: h.finalize(),
        r: r.to_be_bytes::<32>(),
        s: s.to_be_bytes::<32>(),
        y_parity,
    })
}

fn list_payload(buf: &[u8]) -> Result<&[u8]> {
    match rlp::decode_exact(buf)? {
        Item::List(p) => Ok(p),
        Item::String(_) => Err(Error::RlpUnexpectedString),
    }
}

/// The sender (`from`) of raw transaction bytes (types 0-4), by ECDSA public-key
/// recovery: `keccak256(pubkey)[12..]`. Enforces Ethereum's post-Homestead rule
/// `s <= n/2` (EIP-2) for every type. Costly inside a zkVM (about 0.22M cycles
/// on the bigint2 accelerator, 11M in software): call it only when `from` is needed.
pub fn recover_sender(raw: &[u8]) -> Result<Address> {
    recover_sender_with(raw, false)
}

/// [`recover_sender`] for Frontier blocks (before Homestead, mainnet block
/// 1,150,000), where a legacy signature may have a high `s`.
pub fn recover_sender_frontier(raw: &[u8]) -> Result<Address> {
    recover_sender_with(raw, true)
}

fn recover_sender_with(raw: &[u8], allow_high_s: bool) -> Result<Address> {
    let d = signing_data(raw)?;
    recover_address(&d, allow_high_s)
}

/// Address that signed `d.signing_hash` with (r, s, yParity): on the bigint2
/// accelerator in zkVM guests built with the `zkvm-secp256k1` feature, else
/// [`recover_address_software`]. Both give the same result for every input.
pub fn recover_address(d: &SigningData, allow_high_s: bool) -> Result<Address> {
    #[cfg(all(feature = "zkvm-secp256k1", target_os = "zkvm"))]
    return secp256k1_zkvm::recover_address(d, allow_high_s);
    #[cfg(not(all(feature = "zkvm-secp256k1", target_os = "zkvm")))]
    recover_address_software(d, allow_high_s)
}

/// [`recover_address`] with k256 in software: the reference implementation
/// (native builds, and guests without the accelerator).
pub fn recover_address_software(d: &SigningData, allow_high_s: bool) -> Result<Address> {
    use k256::ecdsa::{RecoveryId, Signature, VerifyingKey};
    let high_s = d.s > SECP256K1_HALF_N;
    if high_s && !allow_high_s {
        return Err(Error::InvalidSignature);
    }
    // from_scalars rejects r, s = 0 or >= n
    let mut sig = Signature::from_scalars(d.r, d.s).map_err(|_| Error::InvalidSignature)?;
    let mut y = d.y_parity;
    if high_s {
        // (r, s, y) and (r, n - s, !y) recover the same key; k256 wants low s
        sig = sig.normalize_s().ok_or(Error::InvalidSignature)?;
        y ^= 1;
    }
    let rid = RecoveryId::from_byte(y).ok_or(Error::InvalidSignature)?;
    let key = VerifyingKey::recover_from_prehash(&d.signing_hash, &sig, rid)
        .map_err(|_| Error::InvalidSignature)?;
    let point = key.to_encoded_point(false);
    let hash = keccak256(&point.as_bytes()[1..]);
    let mut out = [0u8; 20];
    out.copy_from_slice(&hash[12..]);
    Ok(out)
}
