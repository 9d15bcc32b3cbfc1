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
    let mut h = Keccak256::new();
    h.update(data);
    h.finalize()
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
}

#[cfg(all(feature = "zkvm-keccak", target_os = "zkvm"))]
mod imp {
    const RATE: usize = 136;

    #[derive(Clone)]
    pub struct Sponge {
        state: [u64; 25],
        buf: [u8; RATE],
        len: usize,
    }

    impl Sponge {
        #[inline]
        pub fn new() -> Self {
            Self {
                state: [0; 25],
                buf: [0; RATE],
                len: 0,
            }
        }

        fn absorb_buf(&mut self) {
            for (lane, chunk) in self.state.iter_mut().zip(self.buf.chunks_exact(8)) {
                let mut word = [0u8; 8];
                word.copy_from_slice(chunk);
                *lane ^= u64::from_le_bytes(word);
            }
            risc0_zkvm::guest::env::risc0_keccak_update(&mut self.state);
            self.len = 0;
        }

        pub fn update(&mut self, mut data: &[u8]) {
            while !data.is_empty() {
                let take = (RATE - self.len).min(data.len());
                self.buf[self.len..self.len + take].copy_from_slice(&data[..take]);
                self.len += take;
                data = &data[take..];
                if self.len == RATE {
                    self.absorb_buf();
                }
            }
        }

        pub fn finalize(mut self) -> [u8; 32] {
            self.buf[self.len..].fill(0);
            self.buf[self.len] ^= 0x01;
            self.buf[RATE - 1] ^= 0x80;
            self.absorb_buf();
            let mut out = [0u8; 32];
            for (chunk, lane) in out.chunks_exact_mut(8).zip(self.state.iter()) {
                chunk.copy_from_slice(&lane.to_le_bytes());
            }
            out
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
