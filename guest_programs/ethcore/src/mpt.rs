//! Merkle-Patricia trie proofs: single-key proofs (eth_getProof shape),
//! multiproofs over a union of nodes, and the account / storage layers.
//!
//! Hand-written rather than taken from `alloy-trie`/`reth`: those verify
//! proofs through their own node types (heap-allocated nibble paths, owned
//! node copies) and pull in `alloy-primitives` and friends. Here each node is
//! parsed in place from the proof bytes (zero copy), the walk touches only the
//! branch slot it follows, and each node is hashed exactly once, which is what
//! costs cycles in a riscv32 guest. The rules are the yellow paper's:
//!
//! * a node is an RLP list of 17 items (branch: 16 children + value) or 2
//!   items (hex-prefix path + value for a leaf, or + child for an extension);
//! * a child reference is an empty string (no child), a 32-byte string
//!   (keccak of the child's RLP) or, when the child's RLP is shorter than 32
//!   bytes, the child itself inlined as a list ("embedded node");
//! * the root is always referenced by hash.
//!
//! A walk ends in inclusion (`Some(value)`) or proven exclusion (`None`):
//! an empty branch slot, an empty branch value at the key's end, an
//! extension whose path diverges from the key, a leaf holding another key,
//! or the empty trie. Anything else (bad hash, missing node, malformed node,
//! leftover proof nodes) is an error, never an answer.

use crate::keccak::keccak256;
use crate::rlp::{self, Item, ListReader};
use crate::{Address, Error, Result, B256, EMPTY_ROOT, U256};
use alloc::vec::Vec;

/// Nibble `i` of `key` (high nibble first).
#[inline]
fn nibble(key: &[u8], i: usize) -> u8 {
    let b = key[i / 2];
    if i & 1 == 0 {
        b >> 4
    } else {
        b & 0x0f
    }
}

/// A reference to a child node.
#[derive(Clone, Copy)]
enum NodeRef<'a> {
    Empty,
    Hash(B256),
    Inline(&'a [u8]),
}

#[inline]
fn child_ref<'a>(raw: &'a [u8], item: Item<'a>) -> Result<NodeRef<'a>> {
    match item {
        Item::String([]) => Ok(NodeRef::Empty),
        Item::String(p) if p.len() == 32 => {
            let mut h = [0u8; 32];
            h.copy_from_slice(p);
            Ok(NodeRef::Hash(h))
        }
        Item::List(_) if raw.len() < 32 => Ok(NodeRef::Inline(raw)),
        _ => Err(Error::InvalidTrieNode),
    }
}

/// A decoded hex-prefix path: nibbles of `bytes` starting at `start`.
struct Path<'a> {
    bytes: &'a [u8],
    start: usize, // 1 if odd (first nibble lives in bytes[0] low half), else 2
    leaf: bool,
}

impl<'a> Path<'a> {
    fn decode(encoded: &'a [u8]) -> Result<Self> {
        let first = *encoded.first().ok_or(Error::InvalidTrieNode)?;
        let flag = first >> 4;
        if flag > 3 {
            return Err(Error::InvalidTrieNode);
        }
        let odd = flag & 1 == 1;
        if !odd && first & 0x0f != 0 {
            return Err(Error::InvalidTrieNode);
        }
        Ok(Path {
            bytes: encoded,
            start: if odd { 1 } else { 2 },
            leaf: flag & 2 == 2,
        })
    }
    #[inline]
    fn len(&self) -> usize {
        self.bytes.len() * 2 - self.start
    }
    #[inline]
    fn at(&self, i: usize) -> u8 {
        nibble(self.bytes, self.start + i)
    }
    /// Does key[pos..] start with this path (or equal it, when `exact`)?
    fn matches(&self, key: &[u8], pos: usize, exact: bool) -> bool {
        let rem = key.len() * 2 - pos;
        let n = self.len();
        if n > rem || (exact && n != rem) {
            return false;
        }
        (0..n).all(|i| self.at(i) == nibble(key, pos + i))
    }
}

/// Where the walk gets hashed nodes from.
trait Resolver<'a> {
    /// The node whose keccak is `hash`.
    fn resolve(&mut self, hash: &[u8]) -> Result<&'a [u8]>;
    /// Called when the walk follows an embedded node.
    fn inline(&mut self, _raw: &'a [u8]) {}
}

/// Walk `key` from `root`. Shared by single proofs and multiproofs.
fn walk<'a, R: Resolver<'a>>(root: &B256, key: &[u8], res: &mut R) -> Result<Option<&'a [u8]>> {
    let nibbles = key.len() * 2;
    let mut pos = 0usize;
    let mut next = NodeRef::Hash(*root);
    // Bounded: every step consumes nibbles, except the final branch-value read.
    loop {
        let node = match next {
            NodeRef::Empty => return Ok(None),
            NodeRef::Hash(h) => res.resolve(&h)?,
            NodeRef::Inline(raw) => {
                res.inline(raw);
                raw
            }
        };
        let payload = match rlp::decode_exact(node)? {
            Item::String([]) => return Ok(None), // empty trie
            Item::String(_) => return Err(Error::InvalidTrieNode),
            Item::List(p) => p,
        };
        let items = ListReader::new(payload);
        match items.count()? {
            17 => {
                let mut r = items;
                if pos == nibbles {
                    for _ in 0..16 {
                        r.raw()?;
                    }
                    let v = r.bytes()?;
                    return Ok(if v.is_empty() { None } else { Some(v) });
                }
                let idx = nibble(key, pos) as usize;
                pos += 1;
                for _ in 0..idx {
                    r.raw()?;
                }
                let (raw, item) = r.item()?;
                next = child_ref(raw, item)?;
            }
            2 => {
                let mut r = items;
                let path = Path::decode(r.bytes()?)?;
                if path.leaf {
                    let v = r.bytes()?;
                    if v.is_empty() {
                        return Err(Error::InvalidTrieNode);
                    }
                    return Ok(if path.matches(key, pos, true) {
                        Some(v)
                    } else {
                        None
                    });
                }
                if path.len() == 0 {
                    return Err(Error::InvalidTrieNode);
                }
                let (raw, item) = r.item()?;
                let child = child_ref(raw, item)?;
                if matches!(child, NodeRef::Empty) {
                    return Err(Error::InvalidTrieNode);
                }
                if !path.matches(key, pos, false) {
                    return Ok(None);
                }
                pos += path.len();
                next = child;
            }
            _ => return Err(Error::InvalidTrieNode),
        }
    }
}

struct OrderedProof<'a, T> {
    nodes: &'a [T],
    i: usize,
}

impl<'a, T: AsRef<[u8]>> Resolver<'a> for OrderedProof<'a, T> {
    fn resolve(&mut self, hash: &[u8]) -> Result<&'a [u8]> {
        let node = self
            .nodes
            .get(self.i)
            .ok_or(Error::ProofNodeMissing)?
            .as_ref();
        if keccak256(node) != hash {
            return Err(Error::ProofHashMismatch);
        }
        self.i += 1;
        Ok(node)
    }
    fn inline(&mut self, raw: &'a [u8]) {
        // Some provers list embedded nodes as proof elements too; skip such a
        // copy (the walk uses the bytes authenticated by the parent anyway).
        if self.nodes.get(self.i).map(|n| n.as_ref()) == Some(raw) {
            self.i += 1;
        }
    }
}

/// Verify a single-key proof: `proof` is the list of nodes from the root
/// down (eth_getProof `accountProof` / `storageProof[i].proof` shape).
///
/// Returns the value stored under `key` (the raw leaf value), or `None` if
/// the proof shows the key is absent. An empty `proof` is accepted only for
/// the empty root. Every node must be used (no trailing nodes).
pub fn verify_proof<'a, T: AsRef<[u8]>>(
    root: &B256,
    key: &[u8],
    proof: &'a [T],
) -> Result<Option<&'a [u8]>> {
    if proof.is_empty() && *root == EMPTY_ROOT {
        return Ok(None);
    }
    let mut res = OrderedProof { nodes: proof, i: 0 };
    let v = walk(root, key, &mut res)?;
    if res.i != proof.len() {
        return Err(Error::ProofUnusedNodes);
    }
    Ok(v)
}

/// Verify that `key` holds exactly `expected` (`None` = proven absent).
pub fn verify_proof_value<T: AsRef<[u8]>>(
    root: &B256,
    key: &[u8],
    proof: &[T],
    expected: Option<&[u8]>,
) -> Result<()> {
    if verify_proof(root, key, proof)? == expected {
        Ok(())
    } else {
        Err(Error::InvalidTrieValue)
    }
}

/// A set of trie nodes (the union of several proofs, any order, duplicates
/// allowed), indexed by hash. Each distinct node is hashed once, in
/// [`MultiProof::new`]; lookups are binary searches. Nodes not on any walked
/// path are ignored (they cannot change an answer: every node used is
/// authenticated by its hash).
#[derive(Debug, Clone)]
pub struct MultiProof<'a> {
    by_hash: Vec<(B256, &'a [u8])>,
}

impl<'a> MultiProof<'a> {
    /// Index `nodes` by keccak (duplicates are dropped before hashing).
    pub fn new<I: IntoIterator<Item = &'a [u8]>>(nodes: I) -> Self {
        let mut raw: Vec<&'a [u8]> = nodes.into_iter().collect();
        raw.sort_unstable();
        raw.dedup();
        let mut by_hash: Vec<(B256, &'a [u8])> =
            raw.into_iter().map(|n| (keccak256(n), n)).collect();
        by_hash.sort_unstable_by_key(|e| e.0);
        Self { by_hash }
    }

    /// Number of distinct nodes.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// True if there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// Value under `key` in the trie rooted at `root` (`None` = proven absent).
    pub fn get(&self, root: &B256, key: &[u8]) -> Result<Option<&'a [u8]>> {
        if *root == EMPTY_ROOT {
            return Ok(None);
        }
        let mut res = SetResolver { set: self };
        walk(root, key, &mut res)
    }

    /// Account at `address` under `state_root` (`None` = proven absent).
    pub fn account(&self, state_root: &B256, address: &Address) -> Result<Option<Account>> {
        self.get(state_root, &keccak256(address))?
            .map(Account::decode)
            .transpose()
    }

    /// Storage word at `slot` under `storage_root` (zero when absent).
    pub fn storage(&self, storage_root: &B256, slot: &B256) -> Result<U256> {
        match self.get(storage_root, &keccak256(slot))? {
            Some(v) => decode_storage_value(v),
            None => Ok(U256::ZERO),
        }
    }
}

struct SetResolver<'s, 'a> {
    set: &'s MultiProof<'a>,
}

impl<'a> Resolver<'a> for SetResolver<'_, 'a> {
    fn resolve(&mut self, hash: &[u8]) -> Result<&'a [u8]> {
        let v = &self.set.by_hash;
        v.binary_search_by(|(h, _)| h.as_slice().cmp(hash))
            .map(|i| v[i].1)
            .map_err(|_| Error::ProofNodeMissing)
    }
}

/// An account as stored in the state trie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Nonce.
    pub nonce: u64,
    /// Balance in wei.
    pub balance: U256,
    /// Root of the account's storage trie.
    pub storage_root: B256,
    /// keccak of the account's code.
    pub code_hash: B256,
}

impl Account {
    /// Decode the state-trie leaf value `rlp([nonce, balance, storageRoot, codeHash])`.
    pub fn decode(value: &[u8]) -> Result<Self> {
        let mut r = rlp::list_exact(value).map_err(|_| Error::InvalidTrieValue)?;
        let a = Account {
            nonce: r.u64()?,
            balance: r.u256()?,
            storage_root: r.fixed()?,
            code_hash: r.fixed()?,
        };
        r.finish()?;
        Ok(a)
    }

    /// RLP encoding (the state-trie leaf value).
    pub fn encode(&self) -> Vec<u8> {
        let mut p = Vec::with_capacity(80);
        rlp::encode_u64(&mut p, self.nonce);
        rlp::encode_u256(&mut p, &self.balance);
        rlp::encode_bytes(&mut p, &self.storage_root);
        rlp::encode_bytes(&mut p, &self.code_hash);
        rlp::list_from_payload(&p)
    }
}

/// Decode a storage-trie leaf value: the RLP string of the word's minimal
/// big-endian bytes.
pub fn decode_storage_value(value: &[u8]) -> Result<U256> {
    rlp::uint_u256(rlp::string_exact(value)?)
}

/// Verify an account proof against a state root; key = keccak(address).
/// `None` = the account provably does not exist.
pub fn verify_account_proof<T: AsRef<[u8]>>(
    state_root: &B256,
    address: &Address,
    proof: &[T],
) -> Result<Option<Account>> {
    verify_proof(state_root, &keccak256(address), proof)?
        .map(Account::decode)
        .transpose()
}

/// Verify a storage proof against an account's storage root; key =
/// keccak(slot). A provably absent slot is zero.
pub fn verify_storage_proof<T: AsRef<[u8]>>(
    storage_root: &B256,
    slot: &B256,
    proof: &[T],
) -> Result<U256> {
    match verify_proof(storage_root, &keccak256(slot), proof)? {
        Some(v) => decode_storage_value(v),
        None => Ok(U256::ZERO),
    }
}
