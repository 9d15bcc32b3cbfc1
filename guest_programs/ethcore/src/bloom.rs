//! 2048-bit log blooms (yellow paper M3:2048).
//!
//! For each input x (a log's address, each topic): h = keccak256(x); for
//! i in {0, 2, 4}, bit = (h[i] << 8 | h[i+1]) & 2047 is set, counting bits
//! from the least significant end of the big-endian 256-byte array.
//!
//! A bloom can only prove *absence*: if any of an input's 3 bits is unset,
//! no log in that block/receipt has it. [`BloomBits`] lets a scan hash an
//! address/topic once and test many blooms cheaply.

use crate::keccak::keccak256;
use crate::Address;

/// A 256-byte log bloom.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bloom(pub [u8; 256]);

impl Default for Bloom {
    fn default() -> Self {
        Bloom([0u8; 256])
    }
}

impl core::fmt::Debug for Bloom {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Bloom(0x")?;
        for b in self.0.iter() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// The three (byte index, bit mask) positions an input sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BloomBits([(usize, u8); 3]);

impl BloomBits {
    /// True if all 3 bits are set in the raw 256 bytes of a bloom (the input *may* be
    /// present; false proves absence).
    #[inline]
    pub fn in_raw(&self, bloom: &[u8; 256]) -> bool {
        self.0.iter().all(|&(i, m)| bloom[i] & m == m)
    }

    /// Positions for `input` (hashes it once).
    pub fn new(input: &[u8]) -> Self {
        let h = keccak256(input);
        let mut out = [(0usize, 0u8); 3];
        for (k, i) in [0usize, 2, 4].into_iter().enumerate() {
            let bit = (((h[i] as usize) << 8) | h[i + 1] as usize) & 2047;
            out[k] = (255 - bit / 8, 1u8 << (bit % 8));
        }
        BloomBits(out)
    }
}

impl Bloom {
    /// Set the bits of precomputed positions.
    #[inline]
    pub fn accrue_bits(&mut self, bits: &BloomBits) {
        for &(i, m) in bits.0.iter() {
            self.0[i] |= m;
        }
    }
    /// Add an input (address or topic).
    #[inline]
    pub fn accrue(&mut self, input: &[u8]) {
        self.accrue_bits(&BloomBits::new(input));
    }
    /// OR another bloom in.
    #[inline]
    pub fn accrue_bloom(&mut self, other: &Bloom) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a |= *b;
        }
    }
    /// True if all 3 bits are set (the input *may* be present).
    #[inline]
    pub fn contains_bits(&self, bits: &BloomBits) -> bool {
        bits.in_raw(&self.0)
    }
    /// Bloom of one log (address and topics).
    pub fn from_log_parts(address: &Address, topics: &[[u8; 32]]) -> Self {
        let mut b = Bloom::default();
        b.accrue(address);
        for t in topics {
            b.accrue(t);
        }
        b
    }
}

/// True if `input` may be in `bloom` (all its 3 bits set); false proves absence.
#[inline]
pub fn bloom_may_contain(bloom: &Bloom, input: &[u8]) -> bool {
    bloom.contains_bits(&BloomBits::new(input))
}

/// True if the bloom *proves* that no log has both `address` and `topic`:
/// the address's or the topic's 3 bits are not all set.
#[inline]
pub fn address_topic_absent(bloom: &Bloom, address: &Address, topic: &[u8; 32]) -> bool {
    !bloom_may_contain(bloom, address) || !bloom_may_contain(bloom, topic)
}
