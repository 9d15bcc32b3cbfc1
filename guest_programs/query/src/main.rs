//! `query`: reads rlp([chain_id, plan_template, witness, params]) from stdin, runs
//! `query_core::run` and commits the ABI-encoded journal. Any inconsistency
//! panics: the guest fails and no proof exists.
#![no_main]

use risc0_zkvm::guest::env;
use std::io::Read;

risc0_zkvm::guest::entry!(main);

/// All of stdin, read into a buffer sized from the input's RLP list header: growing a
/// buffer by doubling copies the input about twice (~2 cycles a byte). Whatever the header
/// says, every byte of stdin is read (a header longer than the input fails the read), and
/// `query_core::run` checks the whole input.
fn read_input() -> std::io::Result<Vec<u8>> {
    let mut stdin = env::stdin();
    let mut head = [0u8; 9];
    stdin.read_exact(&mut head[..1])?;
    let (header_len, payload_len) = match head[0] {
        0xc0..=0xf7 => (1, (head[0] - 0xc0) as usize),
        0xf8..=0xff => {
            let len_of_len = (head[0] - 0xf7) as usize;
            stdin.read_exact(&mut head[1..1 + len_of_len])?;
            let len = head[1..1 + len_of_len]
                .iter()
                .fold(0u64, |v, &b| (v << 8) | b as u64);
            (1 + len_of_len, usize::try_from(len).unwrap_or(0))
        }
        _ => (1, 0),
    };
    // vec![0; n] is a fresh, already zeroed allocation (RISC Zero's bump allocator): no fill
    let mut input = vec![0u8; header_len.saturating_add(payload_len)];
    input[..header_len].copy_from_slice(&head[..header_len]);
    stdin.read_exact(&mut input[header_len..])?;
    stdin.read_to_end(&mut input)?;
    Ok(input)
}

fn main() {
    let input = read_input().expect("query: reading input failed");
    match query_core::run(&input) {
        Ok(journal) => env::commit_slice(&journal),
        Err(error) => panic!("query: {error}"),
    }
}
