//! `echo`: reads all of its input, commits `sha256(input) || input`.
//!
//! The smallest guest that exercises input, the SHA-256 accelerator and the
//! journal; the toolchain tests and the first demo prove it.
#![no_main]

use risc0_zkvm::guest::env;
use risc0_zkvm::sha::{Impl, Sha256};
use std::io::Read;

risc0_zkvm::guest::entry!(main);

fn main() {
    let mut input = Vec::new();
    env::stdin()
        .read_to_end(&mut input)
        .expect("echo: reading input failed");
    let digest = Impl::hash_bytes(&input);
    env::commit_slice(digest.as_bytes());
    env::commit_slice(&input);
}
