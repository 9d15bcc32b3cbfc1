//! Keccak-256: the ONLY module that touches a keccak implementation.
//!
//! Everything else in the crate hashes through [`keccak256`] or [`Keccak256`].
//! Natively (and in guests without the `zkvm-keccak` feature) it is
//! `tiny-keccak`, in software. With `zkvm-keccak` on the zkVM target, the
//! permutation runs on RISC Zero's keccak accelerator
//! (`risc0_zkvm::guest::env::risc0_keccak_update`, which applies Keccak-f[1600]
//! to a 25-lane state and batches a keccak-circuit proof per batch); the sponge
//! around it (rate 136 bytes, padding 0x01..0x80) is ours, since RISC Zero's
//! patched keccak crates are not on crates.io.

/// Keccak-256 of `data`.
#[inline]
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    imp::digest(data)
}

/// Keccak-256 of `head ‖ tail` in one call, without concatenating them (a trie node: its
/// RLP head, then a value in place).
#[inline]
pub fn keccak256_concat(head: &[u8], tail: &[u8]) -> [u8; 32] {
    imp::digest_concat(head, tail)
}

#[cfg(not(all(feature = "zkvm-keccak", target_os = "zkvm")))]
mod imp {
    use tiny_keccak::Hasher as _;

    #[derive(Clone)]
    pub struct Sponge(tiny_keccak::Keccak);

    impl Sponge {
        #[inline]
        pub fn new() -> Self {
            Self(tiny_keccak::Keccak::v256())
        }
        #[inline]
        pub fn update(&mut self, data: &[u8]) {
            self.0.update(data);
        }
        #[inline]
        pub fn finalize(self) -> [u8; 32] {
            let mut out = [0u8; 32];
            self.0.finalize(&mut out);
            out
        }
    }

    #[inline]
    pub fn digest(data: &[u8]) -> [u8; 32] {
        let mut s = Sponge::new();
        s.update(data);
        s.finalize()
    }

    #[inline]
    pub fn digest_concat(head: &[u8], tail: &[u8]) -> [u8; 32] {
        let mut s = Sponge::new();
        s.update(head);
        s.update(tail);
        s.finalize()
    }
}

#[cfg(all(feature = "zkvm-keccak", target_os = "zkvm"))]
mod imp {
    //! The sponge around the accelerator. Each `risc0_keccak_update` costs about a thousand
    //! cycles (the permutation and the SHA-256 compressions that record it in the keccak
    //! claim), so the code around it only avoids adding much: input is copied once into an
    //! 8-aligned block (so lanes are read as words), and [`digest`] keeps no buffer at all
    //! for the last block.

    use risc0_zkvm::guest::env::risc0_keccak_update;

    const RATE: usize = 136;
    const LANES: usize = RATE / 8;

    /// One rate block, 8-aligned so that its lanes load as aligned words.
    #[derive(Clone)]
    #[repr(C, align(8))]
    struct Block([u8; RATE]);

    /// XORs a full block into the state and permutes. Not inlined: the block must be in
    /// memory (aligned), or the optimiser reads the lanes from the unaligned input byte by
    /// byte instead of the copy word by word.
    #[inline(never)]
    fn absorb(state: &mut [u64; 25], block: &Block) {
        for (lane, chunk) in state.iter_mut().zip(block.0.chunks_exact(8)) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            *lane ^= u64::from_le_bytes(word);
        }
        risc0_keccak_update(state);
    }

    /// XORs the last (partial, `< RATE` bytes) block and the padding into the state.
    #[inline(always)]
    fn xor_last(state: &mut [u64; 25], rest: &[u8]) {
        let mut lanes = rest.chunks_exact(8);
        let full = rest.len() / 8;
        for (lane, chunk) in state.iter_mut().zip(&mut lanes) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            *lane ^= u64::from_le_bytes(word);
        }
        let tail = lanes.remainder();
        let mut word = [0u8; 8];
        word[..tail.len()].copy_from_slice(tail);
        word[tail.len()] = 0x01;
        state[full] ^= u64::from_le_bytes(word);
        state[LANES - 1] ^= 0x80 << 56;
    }

    #[inline(always)]
    fn squeeze(state: &[u64; 25]) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, lane) in out.chunks_exact_mut(8).zip(state.iter()) {
            chunk.copy_from_slice(&lane.to_le_bytes());
        }
        out
    }

    /// Keccak-256 of `data` in one call.
    pub fn digest(data: &[u8]) -> [u8; 32] {
        let mut state = [0u64; 25];
        let mut blocks = data.chunks_exact(RATE);
        if data.len() >= RATE {
            let mut block = Block([0; RATE]);
            for chunk in &mut blocks {
                block.0.copy_from_slice(chunk);
                absorb(&mut state, &block);
            }
        }
        xor_last(&mut state, blocks.remainder());
        risc0_keccak_update(&mut state);
        squeeze(&state)
    }

    /// Keccak-256 of `head ‖ tail`: the first block gathers the head and the start of the
    /// tail, the rest of the tail is absorbed in place (as by [`digest`]).
    pub fn digest_concat(head: &[u8], tail: &[u8]) -> [u8; 32] {
        if head.len() >= RATE {
            let mut s = Sponge::new();
            s.update(head);
            s.update(tail);
            return s.finalize();
        }
        let mut state = [0u64; 25];
        let fill = RATE - head.len();
        if tail.len() < fill {
            // head and tail fit in the last block
            let mut block = Block([0; RATE]);
            block.0[..head.len()].copy_from_slice(head);
            block.0[head.len()..head.len() + tail.len()].copy_from_slice(tail);
            xor_last(&mut state, &block.0[..head.len() + tail.len()]);
            risc0_keccak_update(&mut state);
            return squeeze(&state);
        }
        let mut block = Block([0; RATE]);
        block.0[..head.len()].copy_from_slice(head);
        block.0[head.len()..].copy_from_slice(&tail[..fill]);
        absorb(&mut state, &block);
        let mut blocks = tail[fill..].chunks_exact(RATE);
        for chunk in &mut blocks {
            block.0.copy_from_slice(chunk);
            absorb(&mut state, &block);
        }
        xor_last(&mut state, blocks.remainder());
        risc0_keccak_update(&mut state);
        squeeze(&state)
    }

    #[derive(Clone)]
    pub struct Sponge {
        state: [u64; 25],
        buf: Block,
        len: usize,
    }

    impl Sponge {
        #[inline]
        pub fn new() -> Self {
            Self {
                state: [0; 25],
                buf: Block([0; RATE]),
                len: 0,
            }
        }

        #[inline(always)]
        fn absorb_buf(&mut self) {
            absorb(&mut self.state, &self.buf);
            self.len = 0;
        }

        pub fn update(&mut self, mut data: &[u8]) {
            if self.len > 0 {
                let take = (RATE - self.len).min(data.len());
                self.buf.0[self.len..self.len + take].copy_from_slice(&data[..take]);
                self.len += take;
                data = &data[take..];
                if self.len < RATE {
                    return;
                }
                self.absorb_buf();
            }
            let mut blocks = data.chunks_exact(RATE);
            for chunk in &mut blocks {
                self.buf.0.copy_from_slice(chunk);
                self.absorb_buf();
            }
            let rest = blocks.remainder();
            self.buf.0[..rest.len()].copy_from_slice(rest);
            self.len = rest.len();
        }

        #[inline]
        pub fn finalize(mut self) -> [u8; 32] {
            xor_last(&mut self.state, &self.buf.0[..self.len]);
            risc0_keccak_update(&mut self.state);
            squeeze(&self.state)
        }
    }
}

/// Incremental Keccak-256 hasher.
#[derive(Clone)]
pub struct Keccak256(imp::Sponge);

impl Default for Keccak256 {
    fn default() -> Self {
        Self::new()
    }
}

impl Keccak256 {
    /// A fresh hasher.
    #[inline]
    pub fn new() -> Self {
        Self(imp::Sponge::new())
    }
    /// Absorb `data`.
    #[inline]
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    /// Finish and return the digest.
    #[inline]
    pub fn finalize(self) -> [u8; 32] {
        self.0.finalize()
    }
}
