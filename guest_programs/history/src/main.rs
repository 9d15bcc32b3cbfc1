//! `history`: the block-hash accumulator guest (notes/HISTORY_DESIGN.md).
//!
//! Input: `rlp([selfImageId, chainId, mode, previousJournal, [headerRlp, ...]])`, headers in
//! ascending block order (`ethcore::mmr::HistoryStep`). Modes 1 (forward) and 2 (backward)
//! verify the previous journal by composition (`env::verify` of a receipt of `selfImageId`,
//! an assumption resolved when proving), so one receipt attests every batch before it.
//! Commits the new state's ABI journal (`ethcore::mmr::HistoryState::encode`). Any failed
//! check panics: the guest fails and no proof exists.
#![no_main]

use risc0_zkvm::guest::env;
use risc0_zkvm::sha::Digest;
use std::io::Read;

risc0_zkvm::guest::entry!(main);

fn main() {
    let mut input = Vec::new();
    env::stdin()
        .read_to_end(&mut input)
        .expect("history: reading input failed");
    let step = match ethcore::mmr::HistoryStep::decode(&input) {
        Ok(step) => step,
        Err(error) => panic!("history: {error}"),
    };
    if let Some(previous) = step.assumption() {
        env::verify(Digest::from_bytes(step.self_image_id), previous)
            .expect("history: previous receipt does not verify");
    }
    match step.apply() {
        Ok(state) => env::commit_slice(&state.encode()),
        Err(error) => panic!("history: {error}"),
    }
}
