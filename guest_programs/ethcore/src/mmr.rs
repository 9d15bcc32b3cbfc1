//! The block-hash accumulator (issue 13): keccak Merkle mountain ranges of
//! block hashes and the history state the `history` guest proves batch by
//! batch (the design every language follows is notes/HISTORY_DESIGN.md).
//!
//! - [`Mmr`]: an append-only MMR kept as (size, peaks). A leaf is a 32-byte
//!   block hash (not hashed again); an internal node is keccak(left ‖ right);
//!   the peaks are the roots of the perfect trees given by the set bits of
//!   the size, largest (oldest leaves) first; [`mmr_root`] =
//!   keccak(uint256 size ‖ peaks...).
//! - [`verify_inclusion`] checks a leaf against a committed root; the proof's
//!   height is derived from (leaf index, size), never read from the proof.
//!   [`inclusion_proof`] makes one from all the leaves (host side).
//! - [`HistoryState`]: the journal of the history guest (one flat
//!   `abi.encode` tuple, decoded strictly) and its [`HistoryState::history_root`].
//! - [`HistoryStep`]: one batch (the guest's input) applied to the previous
//!   state: mode 0 starts an accumulator, 1 extends it forward, 2 backward.

use alloc::vec::Vec;

use crate::header::SealedHeader;
use crate::keccak::{keccak256, Keccak256};
use crate::rlp::{self, ListReader};
use crate::{Error, Result, B256};

/// Version word of the history journal.
pub const HISTORY_JOURNAL_VERSION: u64 = 1;
/// Mode of a [`HistoryStep`]: the first batch of a new accumulator.
pub const MODE_NEW: u64 = 0;
/// Mode of a [`HistoryStep`]: a batch after the latest block (forward MMR).
pub const MODE_FORWARD: u64 = 1;
/// Mode of a [`HistoryStep`]: a batch before the earliest block (backward MMR).
pub const MODE_BACKWARD: u64 = 2;

/// keccak256(left ‖ right): an internal MMR node.
pub fn hash_pair(left: &B256, right: &B256) -> B256 {
    let mut hasher = Keccak256::new();
    hasher.update(left);
    hasher.update(right);
    hasher.finalize()
}

/// uint256(size) as a 32-byte big-endian word.
fn size_word(size: u64) -> B256 {
    let mut word = [0u8; 32];
    word[24..].copy_from_slice(&size.to_be_bytes());
    word
}

/// mmrRoot(size, peaks) = keccak256(uint256(size) ‖ peak_0 ‖ ... ‖ peak_{m-1}).
pub fn mmr_root(size: u64, peaks: &[B256]) -> B256 {
    let mut hasher = Keccak256::new();
    hasher.update(&size_word(size));
    for peak in peaks {
        hasher.update(peak);
    }
    hasher.finalize()
}

/// The heights of the perfect trees of an MMR of `size` leaves, largest first.
fn tree_heights(size: u64) -> impl Iterator<Item = u32> {
    (0..64u32).rev().filter(move |h| (size >> h) & 1 == 1)
}

/// (peak index, first leaf of its tree, tree height) of the tree holding leaf `index`.
fn locate(size: u64, index: u64) -> Result<(usize, u64, u32)> {
    if index >= size {
        return Err(Error::InvalidInput("mmr leaf index out of range"));
    }
    let mut offset = 0u64;
    for (k, height) in tree_heights(size).enumerate() {
        let tree = 1u64 << height;
        if index - offset < tree {
            return Ok((k, offset, height));
        }
        offset += tree;
    }
    Err(Error::InvalidInput("mmr leaf index out of range"))
}

/// An append-only MMR of 32-byte leaves, kept as its size and peaks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mmr {
    size: u64,
    peaks: Vec<B256>,
}

impl Mmr {
    /// The empty MMR.
    pub fn new() -> Self {
        Self::default()
    }

    /// An MMR from its size and peaks (one peak per set bit of `size`).
    pub fn from_peaks(size: u64, peaks: Vec<B256>) -> Result<Self> {
        if peaks.len() != size.count_ones() as usize {
            return Err(Error::InvalidInput(
                "mmr peak count differs from its size's set bits",
            ));
        }
        Ok(Self { size, peaks })
    }

    /// An MMR of `leaves`, appended in order.
    pub fn from_leaves(leaves: &[B256]) -> Result<Self> {
        let mut mmr = Self::new();
        for leaf in leaves {
            mmr.append(*leaf)?;
        }
        Ok(mmr)
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The peaks, largest tree first.
    pub fn peaks(&self) -> &[B256] {
        &self.peaks
    }

    /// Appends a leaf: a height-0 peak, merged with the last peak while their heights agree
    /// (once per trailing one bit of the old size).
    pub fn append(&mut self, leaf: B256) -> Result<()> {
        let size = self
            .size
            .checked_add(1)
            .ok_or(Error::InvalidInput("mmr is full"))?;
        let mut node = leaf;
        let mut carry = self.size;
        while carry & 1 == 1 {
            let left = self
                .peaks
                .pop()
                .ok_or(Error::InvalidInput("mmr peaks inconsistent"))?;
            node = hash_pair(&left, &node);
            carry >>= 1;
        }
        self.peaks.push(node);
        self.size = size;
        Ok(())
    }

    /// mmrRoot(size, peaks).
    pub fn root(&self) -> B256 {
        mmr_root(self.size, &self.peaks)
    }
}

/// Verifies that `leaf` is leaf `index` of the MMR of `size` leaves whose root is `root`:
/// `siblings` bottom-up from the leaf to its peak (exactly that tree's height of them), and
/// the MMR's full `peaks` list.
pub fn verify_inclusion(
    root: &B256,
    size: u64,
    index: u64,
    leaf: &B256,
    siblings: &[B256],
    peaks: &[B256],
) -> Result<()> {
    if peaks.len() != size.count_ones() as usize {
        return Err(Error::InvalidInput(
            "mmr peak count differs from its size's set bits",
        ));
    }
    let (k, offset, height) = locate(size, index)?;
    if siblings.len() != height as usize {
        return Err(Error::InvalidInput(
            "mmr proof length differs from its tree's height",
        ));
    }
    let local = index - offset;
    let mut node = *leaf;
    for (bit, sibling) in siblings.iter().enumerate() {
        node = if (local >> bit) & 1 == 1 {
            hash_pair(sibling, &node)
        } else {
            hash_pair(&node, sibling)
        };
    }
    if node != peaks[k] {
        return Err(Error::InvalidInput("mmr proof does not lead to its peak"));
    }
    if mmr_root(size, peaks) != *root {
        return Err(Error::InvalidInput("mmr peaks do not hash to the root"));
    }
    Ok(())
}

/// The inclusion proof `(siblings, peaks)` of leaf `index` in the MMR of `leaves` (host side:
/// it needs every leaf of the tree that holds `index`).
pub fn inclusion_proof(leaves: &[B256], index: u64) -> Result<(Vec<B256>, Vec<B256>)> {
    let size = leaves.len() as u64;
    let (_, offset, height) = locate(size, index)?;
    let first = offset as usize;
    let mut level: Vec<B256> = leaves[first..first + (1usize << height)].to_vec();
    let mut position = (index - offset) as usize;
    let mut siblings = Vec::with_capacity(height as usize);
    while level.len() > 1 {
        siblings.push(level[position ^ 1]);
        level = level
            .chunks_exact(2)
            .map(|pair| hash_pair(&pair[0], &pair[1]))
            .collect();
        position >>= 1;
    }
    let peaks = Mmr::from_leaves(leaves)?.peaks;
    Ok((siblings, peaks))
}

/// Checks a batch of headers (ascending): at least one, each number the previous + 1, each
/// parentHash the previous header's hash.
pub fn check_batch(headers: &[SealedHeader]) -> Result<()> {
    if headers.is_empty() {
        return Err(Error::EmptyChain);
    }
    for (i, pair) in headers.windows(2).enumerate() {
        let (parent, child) = (&pair[0], &pair[1]);
        if parent.header.number.checked_add(1) != Some(child.header.number) {
            return Err(Error::NonConsecutiveNumber { index: i + 1 });
        }
        if child.header.parent_hash != parent.hash {
            return Err(Error::ParentHashMismatch { index: i + 1 });
        }
    }
    Ok(())
}

// ------------------------------------------------------------------ the history state

/// The accumulator's state over blocks [earliest, latest], split at `origin` into a forward
/// MMR (blocks origin.., ascending) and a backward MMR (blocks origin-1, origin-2, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryState {
    /// Image ID of the history guest (committed so a verifier can pin it).
    pub self_image_id: B256,
    /// Chain id (a label: only the contract's anchor check makes it true).
    pub chain_id: u64,
    /// First block covered.
    pub earliest: u64,
    /// parentHash of the earliest block (zero for genesis).
    pub earliest_parent_hash: B256,
    /// First block of the first batch ever proven.
    pub origin: u64,
    /// Last block covered.
    pub latest: u64,
    /// Hash of the latest block.
    pub latest_hash: B256,
    /// MMR of the hashes of blocks origin..=latest.
    pub forward: Mmr,
    /// MMR of the hashes of blocks origin-1 down to earliest.
    pub backward: Mmr,
}

const HEAD_WORDS: usize = 12;

fn push_word_u64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(&size_word(value));
}

fn push_peaks(out: &mut Vec<u8>, peaks: &[B256]) {
    push_word_u64(out, peaks.len() as u64);
    for peak in peaks {
        out.extend_from_slice(peak);
    }
}

/// A strict reader of 32-byte ABI words.
struct Words<'a> {
    data: &'a [u8],
}

impl<'a> Words<'a> {
    fn word(&self, index: usize) -> Result<B256> {
        let start = index
            .checked_mul(32)
            .ok_or(Error::InvalidInput("history journal too short"))?;
        self.data
            .get(start..start + 32)
            .and_then(|w| w.try_into().ok())
            .ok_or(Error::InvalidInput("history journal too short"))
    }

    fn u64(&self, index: usize) -> Result<u64> {
        let word = self.word(index)?;
        if word[..24].iter().any(|&b| b != 0) {
            return Err(Error::InvalidInput(
                "history journal number exceeds 64 bits",
            ));
        }
        let mut low = [0u8; 8];
        low.copy_from_slice(&word[24..]);
        Ok(u64::from_be_bytes(low))
    }
}

impl HistoryState {
    /// The journal: `abi.encode(uint256 version, bytes32 selfImageId, uint256 chainId,
    /// uint256 earliest, bytes32 earliestParentHash, uint256 origin, uint256 latest,
    /// bytes32 latestHash, uint256 forwardSize, bytes32[] forwardPeaks, uint256 backwardSize,
    /// bytes32[] backwardPeaks)`.
    pub fn encode(&self) -> Vec<u8> {
        let forward_tail = (HEAD_WORDS * 32) as u64;
        let backward_tail = forward_tail + 32 * (1 + self.forward.peaks.len() as u64);
        let mut out = Vec::with_capacity(
            32 * (HEAD_WORDS + 2 + self.forward.peaks.len() + self.backward.peaks.len()),
        );
        push_word_u64(&mut out, HISTORY_JOURNAL_VERSION);
        out.extend_from_slice(&self.self_image_id);
        push_word_u64(&mut out, self.chain_id);
        push_word_u64(&mut out, self.earliest);
        out.extend_from_slice(&self.earliest_parent_hash);
        push_word_u64(&mut out, self.origin);
        push_word_u64(&mut out, self.latest);
        out.extend_from_slice(&self.latest_hash);
        push_word_u64(&mut out, self.forward.size);
        push_word_u64(&mut out, forward_tail);
        push_word_u64(&mut out, self.backward.size);
        push_word_u64(&mut out, backward_tail);
        push_peaks(&mut out, &self.forward.peaks);
        push_peaks(&mut out, &self.backward.peaks);
        out
    }

    /// Decodes a journal strictly: exactly what [`HistoryState::encode`] writes (version 1,
    /// numbers within 64 bits, standard offsets, no trailing bytes), and a consistent state
    /// (forwardSize = latest - origin + 1, backwardSize = origin - earliest, one peak per set
    /// bit of each size).
    pub fn decode(data: &[u8]) -> Result<Self> {
        let words = Words { data };
        if words.u64(0)? != HISTORY_JOURNAL_VERSION {
            return Err(Error::InvalidInput("history journal version is not 1"));
        }
        let read_peaks = |offset_word: usize| -> Result<(usize, Vec<B256>)> {
            let offset = words.u64(offset_word)? as usize;
            if !offset.is_multiple_of(32) {
                return Err(Error::InvalidInput(
                    "history journal offset not word aligned",
                ));
            }
            let start = offset / 32;
            let count = words.u64(start)? as usize;
            let mut peaks = Vec::new();
            for i in 0..count {
                peaks.push(words.word(start + 1 + i)?);
            }
            Ok((offset, peaks))
        };
        let (forward_offset, forward_peaks) = read_peaks(9)?;
        let (backward_offset, backward_peaks) = read_peaks(11)?;
        let state = Self {
            self_image_id: words.word(1)?,
            chain_id: words.u64(2)?,
            earliest: words.u64(3)?,
            earliest_parent_hash: words.word(4)?,
            origin: words.u64(5)?,
            latest: words.u64(6)?,
            latest_hash: words.word(7)?,
            forward: Mmr::from_peaks(words.u64(8)?, forward_peaks)?,
            backward: Mmr::from_peaks(words.u64(10)?, backward_peaks)?,
        };
        if forward_offset != HEAD_WORDS * 32
            || backward_offset != forward_offset + 32 * (1 + state.forward.peaks.len())
        {
            return Err(Error::InvalidInput(
                "history journal offsets are not standard",
            ));
        }
        if state.encode() != data {
            return Err(Error::InvalidInput("history journal is not canonical"));
        }
        let forward_size = state
            .latest
            .checked_sub(state.origin)
            .and_then(|d| d.checked_add(1));
        if forward_size != Some(state.forward.size)
            || state.origin.checked_sub(state.earliest) != Some(state.backward.size)
        {
            return Err(Error::InvalidInput(
                "history journal sizes differ from its range",
            ));
        }
        Ok(state)
    }

    /// historyRoot = keccak256(abi.encode(uint256 chainId, uint256 earliest, bytes32
    /// earliestParentHash, uint256 origin, uint256 latest, bytes32 latestHash, bytes32
    /// forwardRoot, bytes32 backwardRoot)).
    pub fn history_root(&self) -> B256 {
        history_root(
            self.chain_id,
            self.earliest,
            &self.earliest_parent_hash,
            self.origin,
            self.latest,
            &self.latest_hash,
            &self.forward.root(),
            &self.backward.root(),
        )
    }
}

/// historyRoot of a state given by its fields and its two MMR roots (see
/// [`HistoryState::history_root`]); the query guest computes it from an anchor's fields.
#[allow(clippy::too_many_arguments)]
pub fn history_root(
    chain_id: u64,
    earliest: u64,
    earliest_parent_hash: &B256,
    origin: u64,
    latest: u64,
    latest_hash: &B256,
    forward_root: &B256,
    backward_root: &B256,
) -> B256 {
    let mut data = Vec::with_capacity(8 * 32);
    push_word_u64(&mut data, chain_id);
    push_word_u64(&mut data, earliest);
    data.extend_from_slice(earliest_parent_hash);
    push_word_u64(&mut data, origin);
    push_word_u64(&mut data, latest);
    data.extend_from_slice(latest_hash);
    data.extend_from_slice(forward_root);
    data.extend_from_slice(backward_root);
    keccak256(&data)
}

// ------------------------------------------------------------------ one batch

/// One batch for the history guest. Its input framing is
/// `rlp([selfImageId, chainId, mode, previousJournal, [headerRlp, ...]])`: headers ascending,
/// previousJournal empty in mode 0.
#[derive(Debug, Clone)]
pub struct HistoryStep<'a> {
    /// The history guest's image ID (the guest cannot know its own).
    pub self_image_id: B256,
    /// Chain id label.
    pub chain_id: u64,
    /// [`MODE_NEW`], [`MODE_FORWARD`] or [`MODE_BACKWARD`].
    pub mode: u64,
    /// The journal of the previous step (modes 1 and 2; empty in mode 0).
    pub previous_journal: &'a [u8],
    /// Raw header RLPs, ascending block order.
    pub headers: Vec<&'a [u8]>,
}

impl<'a> HistoryStep<'a> {
    /// Decodes the guest's input (see the type's framing).
    pub fn decode(input: &'a [u8]) -> Result<Self> {
        let mut r = rlp::list_exact(input)?;
        let self_image_id = r.fixed::<32>()?;
        let chain_id = r.u64()?;
        let mode = r.u64()?;
        let previous_journal = r.bytes()?;
        let mut list: ListReader<'a> = r.list()?;
        r.finish()?;
        let mut headers = Vec::new();
        while !list.is_empty() {
            headers.push(list.bytes()?);
        }
        Ok(Self {
            self_image_id,
            chain_id,
            mode,
            previous_journal,
            headers,
        })
    }

    /// The previous journal the guest must verify by composition (modes 1 and 2).
    pub fn assumption(&self) -> Option<&'a [u8]> {
        (self.mode != MODE_NEW).then_some(self.previous_journal)
    }

    /// Checks the batch against the previous state and returns the new state (the journal).
    pub fn apply(&self) -> Result<HistoryState> {
        let headers = self
            .headers
            .iter()
            .map(|h| SealedHeader::decode(h))
            .collect::<Result<Vec<_>>>()?;
        check_batch(&headers)?;
        let (first, last) = (&headers[0], &headers[headers.len() - 1]);
        match self.mode {
            MODE_NEW => {
                if !self.previous_journal.is_empty() {
                    return Err(Error::InvalidInput("mode 0 takes no previous journal"));
                }
                let mut forward = Mmr::new();
                for header in &headers {
                    forward.append(header.hash)?;
                }
                Ok(HistoryState {
                    self_image_id: self.self_image_id,
                    chain_id: self.chain_id,
                    earliest: first.header.number,
                    earliest_parent_hash: first.header.parent_hash,
                    origin: first.header.number,
                    latest: last.header.number,
                    latest_hash: last.hash,
                    forward,
                    backward: Mmr::new(),
                })
            }
            MODE_FORWARD => {
                let mut state = self.previous()?;
                if state.latest.checked_add(1) != Some(first.header.number) {
                    return Err(Error::InvalidInput("batch does not start after latest"));
                }
                if first.header.parent_hash != state.latest_hash {
                    return Err(Error::InvalidInput("batch does not link to latest hash"));
                }
                for header in &headers {
                    state.forward.append(header.hash)?;
                }
                state.latest = last.header.number;
                state.latest_hash = last.hash;
                Ok(state)
            }
            MODE_BACKWARD => {
                let mut state = self.previous()?;
                if last.header.number.checked_add(1) != Some(state.earliest) {
                    return Err(Error::InvalidInput("batch does not end before earliest"));
                }
                if last.hash != state.earliest_parent_hash {
                    return Err(Error::InvalidInput(
                        "batch does not link to earliest parent",
                    ));
                }
                for header in headers.iter().rev() {
                    state.backward.append(header.hash)?;
                }
                state.earliest = first.header.number;
                state.earliest_parent_hash = first.header.parent_hash;
                Ok(state)
            }
            _ => Err(Error::InvalidInput("history mode is not 0, 1 or 2")),
        }
    }

    /// The previous state, which must be of this guest and chain.
    fn previous(&self) -> Result<HistoryState> {
        let state = HistoryState::decode(self.previous_journal)?;
        if state.self_image_id != self.self_image_id {
            return Err(Error::InvalidInput("previous journal is of another image"));
        }
        if state.chain_id != self.chain_id {
            return Err(Error::InvalidInput("previous journal is of another chain"));
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(i: u64) -> B256 {
        keccak256(&i.to_be_bytes())
    }

    /// Peaks from the definition: split the leaves by the set bits of n, root each tree.
    fn reference_peaks(leaves: &[B256]) -> Vec<B256> {
        fn tree_root(leaves: &[B256]) -> B256 {
            if leaves.len() == 1 {
                return leaves[0];
            }
            let half = leaves.len() / 2;
            hash_pair(&tree_root(&leaves[..half]), &tree_root(&leaves[half..]))
        }
        let mut peaks = Vec::new();
        let mut offset = 0;
        for height in tree_heights(leaves.len() as u64) {
            let tree = 1usize << height;
            peaks.push(tree_root(&leaves[offset..offset + tree]));
            offset += tree;
        }
        peaks
    }

    #[test]
    fn empty_root_is_hash_of_zero_word() {
        assert_eq!(Mmr::new().root(), keccak256(&[0u8; 32]));
    }

    #[test]
    fn append_matches_definition_and_every_proof_verifies() {
        let leaves: Vec<B256> = (0..40).map(leaf).collect();
        for n in 1..=leaves.len() {
            let mmr = Mmr::from_leaves(&leaves[..n]).unwrap();
            assert_eq!(mmr.peaks(), &reference_peaks(&leaves[..n])[..]);
            let root = mmr.root();
            for i in 0..n as u64 {
                let (siblings, peaks) = inclusion_proof(&leaves[..n], i).unwrap();
                assert_eq!(peaks, mmr.peaks());
                verify_inclusion(&root, n as u64, i, &leaves[i as usize], &siblings, &peaks)
                    .unwrap();
                if !siblings.is_empty() {
                    let mut bad = siblings.clone();
                    bad[0][0] ^= 1;
                    assert!(verify_inclusion(
                        &root,
                        n as u64,
                        i,
                        &leaves[i as usize],
                        &bad,
                        &peaks
                    )
                    .is_err());
                }
                let other = (i + 1) % n as u64;
                if other != i {
                    assert!(verify_inclusion(
                        &root,
                        n as u64,
                        other,
                        &leaves[i as usize],
                        &siblings,
                        &peaks
                    )
                    .is_err());
                }
            }
        }
    }

    /// A Frontier-era header (15 fields) of `number` on `parent`.
    fn header(number: u64, parent: &B256, extra: &[u8]) -> Vec<u8> {
        let mut p = Vec::new();
        rlp::encode_bytes(&mut p, parent);
        rlp::encode_bytes(&mut p, &[0u8; 32]);
        rlp::encode_bytes(&mut p, &[0u8; 20]);
        for _ in 0..3 {
            rlp::encode_bytes(&mut p, &[0u8; 32]);
        }
        rlp::encode_bytes(&mut p, &[0u8; 256]);
        rlp::encode_u64(&mut p, 1);
        rlp::encode_u64(&mut p, number);
        for v in [30_000_000, 0, 1_700_000_000 + number] {
            rlp::encode_u64(&mut p, v);
        }
        rlp::encode_bytes(&mut p, extra);
        rlp::encode_bytes(&mut p, &[0u8; 32]);
        rlp::encode_bytes(&mut p, &[0u8; 8]);
        rlp::list_from_payload(&p)
    }

    /// Headers of blocks `first..first + n` linked by parent hash.
    fn chain(first: u64, n: u64) -> Vec<Vec<u8>> {
        let mut parent = [9u8; 32];
        let mut out = Vec::new();
        for number in first..first + n {
            let h = header(number, &parent, b"");
            parent = keccak256(&h);
            out.push(h);
        }
        out
    }

    fn step_input(mode: u64, previous: &[u8], headers: &[Vec<u8>]) -> Vec<u8> {
        let mut list = Vec::new();
        for h in headers {
            rlp::encode_bytes(&mut list, h);
        }
        let mut p = Vec::new();
        rlp::encode_bytes(&mut p, &[7; 32]);
        rlp::encode_u64(&mut p, 1);
        rlp::encode_u64(&mut p, mode);
        rlp::encode_bytes(&mut p, previous);
        rlp::encode_list_payload(&mut p, &list);
        rlp::list_from_payload(&p)
    }

    fn apply(mode: u64, previous: &[u8], headers: &[Vec<u8>]) -> Result<HistoryState> {
        HistoryStep::decode(&step_input(mode, previous, headers))?.apply()
    }

    #[test]
    fn steps_forward_and_backward_build_both_mmrs() {
        let headers = chain(100, 12);
        let hashes: Vec<B256> = headers.iter().map(|h| keccak256(h)).collect();
        let start = apply(MODE_NEW, &[], &headers[4..7]).unwrap();
        assert_eq!(
            (start.earliest, start.origin, start.latest),
            (104, 104, 106)
        );
        let forward = apply(MODE_FORWARD, &start.encode(), &headers[7..]).unwrap();
        assert_eq!(forward.forward, Mmr::from_leaves(&hashes[4..]).unwrap());
        let backward = apply(MODE_BACKWARD, &forward.encode(), &headers[..4]).unwrap();
        let descending: Vec<B256> = hashes[..4].iter().rev().copied().collect();
        assert_eq!(backward.backward, Mmr::from_leaves(&descending).unwrap());
        assert_eq!((backward.earliest, backward.latest), (100, 111));
        assert_eq!(backward.earliest_parent_hash, [9u8; 32]);
        assert_eq!(HistoryState::decode(&backward.encode()).unwrap(), backward);
    }

    #[test]
    fn unlinked_batches_are_refused() {
        let headers = chain(100, 12);
        let mut skipped = headers[..6].to_vec();
        skipped.remove(3);
        assert_eq!(
            apply(MODE_NEW, &[], &skipped).unwrap_err(),
            Error::NonConsecutiveNumber { index: 3 }
        );
        let mut forked = headers[..6].to_vec();
        forked[2] = header(102, &keccak256(&headers[1]), b"side fork");
        assert_eq!(
            apply(MODE_NEW, &[], &forked).unwrap_err(),
            Error::ParentHashMismatch { index: 3 }
        );
        let start = apply(MODE_NEW, &[], &headers[4..7]).unwrap().encode();
        assert!(apply(MODE_FORWARD, &start, &headers[8..]).is_err());
        assert!(apply(MODE_BACKWARD, &start, &headers[..3]).is_err());
        assert!(apply(MODE_NEW, &start, &headers[7..]).is_err());
        assert!(apply(3, &start, &headers[7..]).is_err());
        assert!(apply(MODE_FORWARD, &[], &headers[7..]).is_err());
        assert_eq!(apply(MODE_NEW, &[], &[]).unwrap_err(), Error::EmptyChain);
    }

    #[test]
    fn journal_round_trip_and_strictness() {
        let state = HistoryState {
            self_image_id: [7; 32],
            chain_id: 1,
            earliest: 95,
            earliest_parent_hash: [1; 32],
            origin: 100,
            latest: 110,
            latest_hash: [2; 32],
            forward: Mmr::from_leaves(&(0..11).map(leaf).collect::<Vec<_>>()).unwrap(),
            backward: Mmr::from_leaves(&(0..5).map(leaf).collect::<Vec<_>>()).unwrap(),
        };
        let encoded = state.encode();
        assert_eq!(encoded.len(), 32 * (12 + 2 + 3 + 2));
        assert_eq!(HistoryState::decode(&encoded).unwrap(), state);
        let mut trailing = encoded.clone();
        trailing.push(0);
        assert!(HistoryState::decode(&trailing).is_err());
        let mut version = encoded.clone();
        version[31] = 2;
        assert!(HistoryState::decode(&version).is_err());
        let mut inconsistent = state.clone();
        inconsistent.latest = 111;
        assert!(HistoryState::decode(&inconsistent.encode()).is_err());
    }
}
