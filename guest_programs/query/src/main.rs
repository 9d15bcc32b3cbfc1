//! `query`: reads rlp([chain_id, plan_template, witness, params]) from stdin, runs
//! `query_core::run` and commits the ABI-encoded journal. Any inconsistency
//! panics: the guest fails and no proof exists.
#![no_main]

use risc0_zkvm::guest::env;
use std::io::Read;

risc0_zkvm::guest::entry!(main);

fn main() {
    let mut input = Vec::new();
    env::stdin()
        .read_to_end(&mut input)
        .expect("query: reading input failed");
    match query_core::run(&input) {
        Ok(journal) => env::commit_slice(&journal),
        Err(error) => panic!("query: {error}"),
    }
}
