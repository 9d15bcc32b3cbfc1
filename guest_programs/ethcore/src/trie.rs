//! Building tries: roots of ordered tries (transactions, receipts,
//! withdrawals: key = rlp(index)) and of arbitrary key/value sets, plus
//! proof generation for one key (for witnesses and tests).
//!
//! Hand-written: a block's tries are small (hundreds of entries) and rebuilt
//! from scratch, so a recursive builder over the sorted keys is simpler and
//! cheaper in a guest than an incremental trie with a node database
//! (`alloy-trie`'s `HashBuilder` would also pull `alloy-primitives`). Each
//! node is encoded once and hashed once if it is 32 bytes or longer; shorter
//! nodes are embedded in their parent, as the yellow paper requires. The root
//! is always hashed.

use crate::keccak::keccak256;
use crate::rlp;
use crate::{Error, Result, B256, EMPTY_ROOT};
use alloc::vec::Vec;

fn to_nibbles(key: &[u8]) -> Vec<u8> {
    let mut n = Vec::with_capacity(key.len() * 2);
    for &b in key {
        n.push(b >> 4);
        n.push(b & 0x0f);
    }
    n
}

/// Hex-prefix (compact) encoding of a nibble path.
fn hex_prefix(path: &[u8], leaf: bool) -> Vec<u8> {
    let flag = if leaf { 2u8 } else { 0 };
    let mut out = Vec::with_capacity(path.len() / 2 + 1);
    let rest = if path.len() % 2 == 1 {
        out.push(((flag | 1) << 4) | path[0]);
        &path[1..]
    } else {
        out.push(flag << 4);
        path
    };
    for c in rest.chunks(2) {
        out.push((c[0] << 4) | c[1]);
    }
    out
}

/// Append the reference to a child node: the node itself if shorter than 32
/// bytes, else its hash.
fn push_ref(out: &mut Vec<u8>, child: &[u8]) {
    if child.len() < 32 {
        out.extend_from_slice(child);
    } else {
        rlp::encode_bytes(out, &keccak256(child));
    }
}

struct Builder<'t> {
    target: Option<&'t [u8]>,
    proof: Vec<Vec<u8>>,
}

impl Builder<'_> {
    fn on_target(&self, prefix: &[u8]) -> bool {
        self.target
            .is_some_and(|t| t.len() >= prefix.len() && &t[..prefix.len()] == prefix)
    }

    /// Encode the node holding `items` (sorted, distinct, sharing
    /// `items[0].0[..depth]`).
    fn build(&mut self, items: &[(Vec<u8>, &[u8])], depth: usize, is_root: bool) -> Vec<u8> {
        let first = &items[0].0;
        let on_path = self.on_target(&first[..depth]);
        let mut payload = Vec::new();
        if items.len() == 1 {
            rlp::encode_bytes(&mut payload, &hex_prefix(&first[depth..], true));
            rlp::encode_bytes(&mut payload, items[0].1);
        } else {
            let last = &items[items.len() - 1].0;
            let cp = first[depth..]
                .iter()
                .zip(&last[depth..])
                .take_while(|(a, b)| a == b)
                .count();
            if cp > 0 {
                let child = self.branch(items, depth + cp);
                rlp::encode_bytes(&mut payload, &hex_prefix(&first[depth..depth + cp], false));
                push_ref(&mut payload, &child);
            } else {
                let p = self.branch_payload(items, depth);
                return self.finish(p, on_path, is_root);
            }
        }
        self.finish(payload, on_path, is_root)
    }

    fn finish(&mut self, payload: Vec<u8>, on_path: bool, is_root: bool) -> Vec<u8> {
        let enc = rlp::list_from_payload(&payload);
        if on_path && (is_root || enc.len() >= 32) {
            self.proof.push(enc.clone());
        }
        enc
    }

    fn branch(&mut self, items: &[(Vec<u8>, &[u8])], depth: usize) -> Vec<u8> {
        let on_path = self.on_target(&items[0].0[..depth]);
        let p = self.branch_payload(items, depth);
        self.finish(p, on_path, false)
    }

    fn branch_payload(&mut self, items: &[(Vec<u8>, &[u8])], depth: usize) -> Vec<u8> {
        let mut payload = Vec::new();
        let mut rest = items;
        let mut value: &[u8] = &[];
        if rest[0].0.len() == depth {
            value = rest[0].1;
            rest = &rest[1..];
        }
        for nib in 0u8..16 {
            let n = rest.iter().take_while(|(k, _)| k[depth] == nib).count();
            if n == 0 {
                payload.push(rlp::EMPTY_STRING);
            } else {
                let child = self.build(&rest[..n], depth + 1, false);
                push_ref(&mut payload, &child);
                rest = &rest[n..];
            }
        }
        rlp::encode_bytes(&mut payload, value);
        payload
    }
}

fn prepare<K: AsRef<[u8]>, V: AsRef<[u8]>>(entries: &[(K, V)]) -> Result<Vec<(Vec<u8>, &[u8])>> {
    let mut items: Vec<(Vec<u8>, &[u8])> = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        if v.as_ref().is_empty() {
            return Err(Error::InvalidInput("empty trie value"));
        }
        items.push((to_nibbles(k.as_ref()), v.as_ref()));
    }
    items.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    if items.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err(Error::InvalidInput("duplicate trie key"));
    }
    Ok(items)
}

fn build_with<K: AsRef<[u8]>, V: AsRef<[u8]>>(
    entries: &[(K, V)],
    target: Option<&[u8]>,
) -> Result<(B256, Vec<Vec<u8>>)> {
    let items = prepare(entries)?;
    if items.is_empty() {
        return Ok((EMPTY_ROOT, Vec::new()));
    }
    let t = target.map(to_nibbles);
    let mut b = Builder {
        target: t.as_deref(),
        proof: Vec::new(),
    };
    let root = b.build(&items, 0, true);
    let mut proof = b.proof;
    proof.reverse(); // built bottom-up; proofs go root first
    Ok((keccak256(&root), proof))
}

/// Root of the trie holding `entries` (distinct keys, non-empty values;
/// order does not matter). Empty input gives [`EMPTY_ROOT`].
pub fn trie_root<K: AsRef<[u8]>, V: AsRef<[u8]>>(entries: &[(K, V)]) -> Result<B256> {
    Ok(build_with(entries, None)?.0)
}

/// Root and the proof (root first) for `key`, which may be absent (then the
/// proof shows its exclusion).
pub fn trie_proof<K: AsRef<[u8]>, V: AsRef<[u8]>>(
    entries: &[(K, V)],
    key: &[u8],
) -> Result<(B256, Vec<Vec<u8>>)> {
    build_with(entries, Some(key))
}

fn indexed<V: AsRef<[u8]>>(values: &[V]) -> Vec<(Vec<u8>, &[u8])> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (rlp::index_key(i), v.as_ref()))
        .collect()
}

/// Root of an ordered trie: key = rlp(index), value = `values[index]`
/// (transactions: raw tx bytes; receipts: consensus encoding; withdrawals:
/// RLP). Values must be non-empty.
pub fn ordered_trie_root<V: AsRef<[u8]>>(values: &[V]) -> Result<B256> {
    trie_root(&indexed(values))
}

/// Root and the inclusion proof (root first) of `values[index]` in the
/// ordered trie; verify with [`crate::mpt::verify_proof`] and key
/// `rlp::index_key(index)`.
pub fn ordered_trie_proof<V: AsRef<[u8]>>(
    values: &[V],
    index: usize,
) -> Result<(B256, Vec<Vec<u8>>)> {
    trie_proof(&indexed(values), &rlp::index_key(index))
}

/// Verify that `value` is at `index` of the ordered trie rooted at `root`
/// (a tx or receipt inclusion proof).
pub fn verify_ordered_inclusion<T: AsRef<[u8]>>(
    root: &B256,
    index: usize,
    value: &[u8],
    proof: &[T],
) -> Result<()> {
    crate::mpt::verify_proof_value(root, &rlp::index_key(index), proof, Some(value))
}
