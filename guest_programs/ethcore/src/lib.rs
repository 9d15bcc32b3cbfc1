//! Ethereum verification core for the coprocessor.
//!
//! `#![no_std]` + `alloc`: the same code runs inside RISC Zero guests
//! (riscv32im) and natively (the host cdylib exposed to Python), so the
//! indexer rejects bad node data with the very rules the proof enforces.
//!
//! Every function that looks at untrusted bytes returns
//! [`Result`](crate::Result) with the crate's single [`Error`] enum; nothing
//! here panics on bad input.
//!
//! Modules (small and pure):
//! - [`keccak`]: the only door to Keccak-256 (a feature may later route it to
//!   the zkVM accelerator).
//! - [`rlp`]: strict RLP decoding (canonical only) and encoding helpers.
//! - [`header`]: block headers Frontier → Osaka, era by field count.
//! - [`mpt`]: Merkle-Patricia proof verification (single and multi proofs),
//!   accounts and storage slots.
//! - [`trie`]: trie root construction (ordered tries, generic tries) and
//!   inclusion-proof generation.
//! - [`transaction`], [`receipt`], [`withdrawal`], [`block`]: block contents
//!   and their roots.
//! - [`bloom`]: log blooms.
//! - [`chain`]: header chains linked by parent hash to a trusted anchor.
//! - [`mmr`]: the block-hash accumulator (keccak MMRs, the history guest's state and step).
//! - [`ops`]: an RLP-framed command set shared by the host C ABI and guests.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod block;
pub mod bloom;
pub mod chain;
pub mod error;
pub mod header;
pub mod keccak;
#[cfg(any(feature = "history", test))]
pub mod mmr;
pub mod mpt;
pub mod ops;
pub mod receipt;
pub mod rlp;
pub mod transaction;
pub mod trie;
pub mod withdrawal;

pub use error::{Error, Result};

/// 256-bit unsigned integer (ruint, 4×u64 limbs), used for balances,
/// values, difficulty and storage words.
pub type U256 = ruint::aliases::U256;
/// 32-byte hash.
pub type B256 = [u8; 32];
/// 20-byte account address.
pub type Address = [u8; 20];

/// keccak256(rlp("")) = root of the empty trie.
pub const EMPTY_ROOT: B256 = [
    0x56, 0xe8, 0x1f, 0x17, 0x1b, 0xcc, 0x55, 0xa6, 0xff, 0x83, 0x45, 0xe6, 0x92, 0xc0, 0xf8, 0x6e,
    0x5b, 0x48, 0xe0, 0x1b, 0x99, 0x6c, 0xad, 0xc0, 0x01, 0x62, 0x2f, 0xb5, 0xe3, 0x63, 0xb4, 0x21,
];
/// keccak256("") = code hash of an account without code.
pub const EMPTY_CODE_HASH: B256 = [
    0xc5, 0xd2, 0x46, 0x01, 0x86, 0xf7, 0x23, 0x3c, 0x92, 0x7e, 0x7d, 0xb2, 0xdc, 0xc7, 0x03, 0xc0,
    0xe5, 0x00, 0xb6, 0x53, 0xca, 0x82, 0x27, 0x3b, 0x7b, 0xfa, 0xd8, 0x04, 0x5d, 0x85, 0xa4, 0x70,
];
/// keccak256(rlp([])) = ommers hash of a block without ommers.
pub const EMPTY_OMMERS_HASH: B256 = [
    0x1d, 0xcc, 0x4d, 0xe8, 0xde, 0xc7, 0x5d, 0x7a, 0xab, 0x85, 0xb5, 0x67, 0xb6, 0xcc, 0xd4, 0x1a,
    0xd3, 0x12, 0x45, 0x1b, 0x94, 0x8a, 0x74, 0x13, 0xf0, 0xa1, 0x42, 0xfd, 0x40, 0xd4, 0x93, 0x47,
];
