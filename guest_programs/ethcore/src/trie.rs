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

use crate::keccak::{keccak256, keccak256_concat};
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

/// Append the RLP string holding the hex-prefix (compact) encoding of a nibble path. Its
/// first byte (flag and parity, 0x00..=0x3f) is below 0x80: alone, it is its own encoding.
fn push_hex_prefix(out: &mut Vec<u8>, path: &[u8], leaf: bool) {
    let flag = if leaf { 2u8 } else { 0 };
    let len = path.len() / 2 + 1;
    let (first, rest) = if path.len() % 2 == 1 {
        (((flag | 1) << 4) | path[0], &path[1..])
    } else {
        (flag << 4, path)
    };
    if len > 1 {
        rlp::encode_header(out, false, len);
    }
    out.push(first);
    for c in rest.chunks_exact(2) {
        out.push((c[0] << 4) | c[1]);
    }
}

/// Encoded length of the string [`push_hex_prefix`] appends for `nibbles` nibbles.
fn hex_prefix_len(nibbles: usize) -> usize {
    let len = nibbles / 2 + 1;
    if len == 1 {
        1
    } else {
        rlp::header_len(len) + len
    }
}

/// How a node appears in its parent: itself when its RLP is shorter than 32 bytes,
/// else the keccak of its RLP.
#[derive(Clone, Copy)]
enum NodeRef {
    Inline { len: u8, bytes: [u8; 31] },
    Hash(B256),
}

impl NodeRef {
    fn encoded_len(&self) -> usize {
        match self {
            NodeRef::Inline { len, .. } => *len as usize,
            NodeRef::Hash(_) => 33,
        }
    }
    fn push(&self, out: &mut Vec<u8>) {
        match self {
            NodeRef::Inline { len, bytes } => out.extend_from_slice(&bytes[..*len as usize]),
            NodeRef::Hash(h) => {
                out.push(0xa0);
                out.extend_from_slice(h);
            }
        }
    }
}

/// One trie entry: its key as nibbles and its value.
type Entry<'v, K> = (K, &'v [u8]);

struct Builder<'t> {
    target: Option<&'t [u8]>,
    proof: Vec<Vec<u8>>,
    /// Reused for the (small) head of each node; a leaf's value is hashed in place.
    scratch: Vec<u8>,
}

impl Builder<'_> {
    fn on_target(&self, prefix: &[u8]) -> bool {
        self.target
            .is_some_and(|t| t.len() >= prefix.len() && &t[..prefix.len()] == prefix)
    }

    /// The node whose RLP is `head ‖ tail`: kept as a proof node when on the target's path
    /// (and hashed, or the root), hashed in one pass over both parts unless it is embedded.
    fn emit(&mut self, head: &[u8], tail: &[u8], on_path: bool, is_root: bool) -> NodeRef {
        let total = head.len() + tail.len();
        if on_path && (is_root || total >= 32) {
            let mut node = Vec::with_capacity(total);
            node.extend_from_slice(head);
            node.extend_from_slice(tail);
            self.proof.push(node);
        }
        if total < 32 && !is_root {
            let mut bytes = [0u8; 31];
            bytes[..head.len()].copy_from_slice(head);
            bytes[head.len()..total].copy_from_slice(tail);
            return NodeRef::Inline {
                len: total as u8,
                bytes,
            };
        }
        NodeRef::Hash(keccak256_concat(head, tail))
    }

    /// The node holding `items` (sorted, distinct, sharing `items[0].0[..depth]`).
    fn build<K: AsRef<[u8]>>(
        &mut self,
        items: &[Entry<'_, K>],
        depth: usize,
        is_root: bool,
    ) -> NodeRef {
        let first = items[0].0.as_ref();
        if items.len() == 1 {
            return self.leaf(
                &first[depth..],
                items[0].1,
                self.on_target(&first[..depth]),
                is_root,
            );
        }
        let last = items[items.len() - 1].0.as_ref();
        let cp = first[depth..]
            .iter()
            .zip(&last[depth..])
            .take_while(|(a, b)| a == b)
            .count();
        if cp == 0 {
            return self.branch(items, depth, is_root);
        }
        let on_path = self.on_target(&first[..depth]);
        let child = self.branch(items, depth + cp, false);
        let path = &first[depth..depth + cp];
        let mut head = core::mem::take(&mut self.scratch);
        head.clear();
        let payload = hex_prefix_len(path.len()) + child.encoded_len();
        rlp::encode_header(&mut head, true, payload);
        push_hex_prefix(&mut head, path, false);
        child.push(&mut head);
        let node = self.emit(&head, &[], on_path, is_root);
        self.scratch = head;
        node
    }

    fn leaf(&mut self, path: &[u8], value: &[u8], on_path: bool, is_root: bool) -> NodeRef {
        let mut head = core::mem::take(&mut self.scratch);
        head.clear();
        let payload = hex_prefix_len(path.len()) + rlp::bytes_len(value);
        rlp::encode_header(&mut head, true, payload);
        push_hex_prefix(&mut head, path, true);
        let tail = if value.len() == 1 && value[0] < 0x80 {
            head.push(value[0]);
            &[][..]
        } else {
            rlp::encode_header(&mut head, false, value.len());
            value
        };
        let node = self.emit(&head, tail, on_path, is_root);
        self.scratch = head;
        node
    }

    fn branch<K: AsRef<[u8]>>(
        &mut self,
        items: &[Entry<'_, K>],
        depth: usize,
        is_root: bool,
    ) -> NodeRef {
        let on_path = self.on_target(&items[0].0.as_ref()[..depth]);
        let mut rest = items;
        let mut value: &[u8] = &[];
        if rest[0].0.as_ref().len() == depth {
            value = rest[0].1;
            rest = &rest[1..];
        }
        let mut children: [Option<NodeRef>; 16] = [None; 16];
        for (nib, child) in children.iter_mut().enumerate() {
            let n = rest
                .iter()
                .take_while(|(k, _)| k.as_ref()[depth] as usize == nib)
                .count();
            if n > 0 {
                *child = Some(self.build(&rest[..n], depth + 1, false));
                rest = &rest[n..];
            }
        }
        let payload = children
            .iter()
            .map(|c| c.as_ref().map_or(1, NodeRef::encoded_len))
            .sum::<usize>()
            + rlp::bytes_len(value);
        let mut head = core::mem::take(&mut self.scratch);
        head.clear();
        rlp::encode_header(&mut head, true, payload);
        for c in &children {
            match c {
                Some(c) => c.push(&mut head),
                None => head.push(rlp::EMPTY_STRING),
            }
        }
        rlp::encode_bytes(&mut head, value);
        let node = self.emit(&head, &[], on_path, is_root);
        self.scratch = head;
        node
    }
}

fn prepare<K: AsRef<[u8]>, V: AsRef<[u8]>>(entries: &[(K, V)]) -> Result<Vec<Entry<'_, Vec<u8>>>> {
    let mut items: Vec<Entry<'_, Vec<u8>>> = Vec::with_capacity(entries.len());
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

/// Root of the trie of `items` (sorted, distinct) and the proof of `target`.
fn root_of<K: AsRef<[u8]>>(items: &[Entry<'_, K>], target: Option<&[u8]>) -> (B256, Vec<Vec<u8>>) {
    if items.is_empty() {
        return (EMPTY_ROOT, Vec::new());
    }
    let mut b = Builder {
        target,
        proof: Vec::new(),
        scratch: Vec::with_capacity(600),
    };
    let root = match b.build(items, 0, true) {
        NodeRef::Hash(h) => h,
        // not reached: `emit` hashes the root whatever its size
        NodeRef::Inline { len, bytes } => keccak256(&bytes[..len as usize]),
    };
    let mut proof = b.proof;
    proof.reverse(); // built bottom-up; proofs go root first
    (root, proof)
}

fn build_with<K: AsRef<[u8]>, V: AsRef<[u8]>>(
    entries: &[(K, V)],
    target: Option<&[u8]>,
) -> Result<(B256, Vec<Vec<u8>>)> {
    let items = prepare(entries)?;
    let t = target.map(to_nibbles);
    Ok(root_of(&items, t.as_deref()))
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
    // Keys rlp(i) sort as 1..=127 (0x01..0x7f), 0 (0x80), then 128.. (0x81 xx, 0x82 xx xx,
    // ...: longer keys after shorter, each run ascending): no sort, no duplicates.
    let n = values.len();
    let order = (1..n.min(128)).chain(0..n.min(1)).chain(128..n);
    let mut items: Vec<Entry<'_, IndexNibbles>> = Vec::with_capacity(n);
    for i in order {
        let v = values[i].as_ref();
        if v.is_empty() {
            return Err(Error::InvalidInput("empty trie value"));
        }
        items.push((IndexNibbles::new(i), v));
    }
    Ok(root_of(&items, None).0)
}

/// The nibbles of rlp(index), without allocating.
struct IndexNibbles {
    nibbles: [u8; 18],
    len: u8,
}

impl IndexNibbles {
    fn new(index: usize) -> Self {
        let be = (index as u64).to_be_bytes();
        let digits = &be[be.iter().take_while(|&&b| b == 0).count()..];
        let mut key = [0u8; 9];
        let len = match digits {
            [] => {
                key[0] = rlp::EMPTY_STRING;
                1
            }
            [b] if *b < 0x80 => {
                key[0] = *b;
                1
            }
            _ => {
                key[0] = rlp::EMPTY_STRING + digits.len() as u8;
                key[1..=digits.len()].copy_from_slice(digits);
                digits.len() + 1
            }
        };
        let mut nibbles = [0u8; 18];
        for (i, &b) in key[..len].iter().enumerate() {
            nibbles[2 * i] = b >> 4;
            nibbles[2 * i + 1] = b & 0x0f;
        }
        IndexNibbles {
            nibbles,
            len: (2 * len) as u8,
        }
    }
}

impl AsRef<[u8]> for IndexNibbles {
    fn as_ref(&self) -> &[u8] {
        &self.nibbles[..self.len as usize]
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Values of 1..=70 bytes: embedded leaves, single bytes below 0x80, hashed leaves.
    fn values(n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| {
                let mut v = alloc::vec![(i % 251) as u8];
                v.extend(core::iter::repeat_n((i % 7) as u8, i % 70));
                v
            })
            .collect()
    }

    #[test]
    fn ordered_root_equals_the_root_of_sorted_keys() {
        for n in [
            0usize, 1, 2, 3, 16, 127, 128, 129, 130, 255, 256, 257, 600, 65_537,
        ] {
            let v = values(n);
            assert_eq!(
                ordered_trie_root(&v).unwrap(),
                trie_root(&indexed(&v)).unwrap(),
                "{n} values"
            );
        }
    }

    #[test]
    fn ordered_root_rejects_an_empty_value() {
        let mut v = values(200);
        v[150].clear();
        assert_eq!(
            ordered_trie_root(&v),
            Err(Error::InvalidInput("empty trie value"))
        );
    }
}
