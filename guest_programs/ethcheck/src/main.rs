//! `ethcheck`: runs one `ethcore::ops` command (use `BATCH` for several) on
//! its input and commits the command's RLP output. Any verification failure
//! panics: the guest fails and no proof exists. Conformance tests and the
//! cycle benchmarks run it; built twice, with the keccak accelerator
//! (`ethcheck`) and in software (`ethcheck-sw`), from this one file.
#![no_main]

use risc0_zkvm::guest::env;
use std::io::Read;

risc0_zkvm::guest::entry!(main);

fn main() {
    let mut command = Vec::new();
    env::stdin()
        .read_to_end(&mut command)
        .expect("ethcheck: reading input failed");
    match ethcore::ops::run(&command) {
        Ok(output) => env::commit_slice(&output),
        Err(error) => panic!("ethcheck: {error}"),
    }
}
