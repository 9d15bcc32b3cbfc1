//! Checks and conversions the zkVM exports share: a program binary's image ID
//! (refusing malformed or absurdly large images up front), decoding receipts
//! and other bincode values, the executor environment (with the receipts a
//! guest may verify as assumptions) and the guest's exit code.

use anyhow::{anyhow, Context, Result};
use risc0_zkvm::sha::Digest;
use risc0_zkvm::{ExecutorEnv, ExecutorEnvBuilder, ExitCode, Receipt};

use crate::buffers::split_frames;
use crate::status::{fail, Outcome, WithCode};
use crate::status::{R0_ERR_ARGUMENT, R0_ERR_EXECUTION, R0_ERR_PROGRAM, R0_ERR_RECEIPT_FORMAT};

/// Largest memory image a program may declare (sum of its ELFs' PT_LOAD
/// sizes). risc0-binfmt accepts segments up to the 3 GiB address space and
/// fills them word by word, so a corrupt size field would otherwise take
/// minutes and gigabytes before failing; our guests need well under 8 MiB.
const MAX_IMAGE_BYTES: u64 = 256 << 20;

/// The memory an ELF declares: the sum of its PT_LOAD segments' sizes.
fn declared_memory(elf_bytes: &[u8]) -> Result<u64> {
    use elf::{endian::LittleEndian, ElfBytes};
    let elf = ElfBytes::<LittleEndian>::minimal_parse(elf_bytes)
        .map_err(|e| anyhow!("ELF parse error: {e}"))?;
    let segments = elf
        .segments()
        .ok_or_else(|| anyhow!("ELF has no segment table"))?;
    Ok(segments
        .iter()
        .filter(|segment| segment.p_type == elf::abi::PT_LOAD)
        .map(|segment| segment.p_memsz)
        .fold(0u64, u64::saturating_add))
}

/// The image ID of a program binary, after checking it decodes and declares a
/// sane amount of memory.
pub fn image_id_of(blob: &[u8]) -> Outcome<Digest> {
    if blob.is_empty() {
        return fail(R0_ERR_PROGRAM, "program binary is empty");
    }
    let binary = risc0_binfmt::ProgramBinary::decode(blob)
        .context("malformed program binary")
        .code(R0_ERR_PROGRAM)?;
    let declared = declared_memory(binary.user_elf)
        .and_then(|user| Ok(user.saturating_add(declared_memory(binary.kernel_elf)?)))
        .context("malformed program binary")
        .code(R0_ERR_PROGRAM)?;
    if declared > MAX_IMAGE_BYTES {
        return fail(
            R0_ERR_PROGRAM,
            format!(
                "malformed program binary: its segments declare {declared} bytes of memory \
                 (more than {MAX_IMAGE_BYTES})"
            ),
        );
    }
    risc0_binfmt::compute_image_id(blob)
        .context("malformed program binary")
        .code(R0_ERR_PROGRAM)
}

/// A bincode value (as `bincode::serialize` writes it), decoded with a size
/// limit so that a corrupt length cannot make it allocate more than it was
/// given; `what` names it in the error (a format error).
pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Outcome<T> {
    use bincode::Options;
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_limit(bytes.len() as u64)
        .deserialize::<T>(bytes)
        .map_err(|e| anyhow!("cannot decode {what}: {e}"))
        .code(R0_ERR_RECEIPT_FORMAT)
}

/// A bincode-encoded receipt, decoded with a size limit (no verification).
pub fn decode_receipt(bytes: &[u8]) -> Outcome<Receipt> {
    decode(bytes, "receipt")
}

/// Receipts a guest may verify (`env::verify`), framed as a list (see
/// `buffers`), decoded but not verified: the prover checks them when it
/// resolves the assumptions they stand for.
pub fn decode_assumptions(framed: &[u8]) -> Outcome<Vec<Receipt>> {
    split_frames(framed, "assumptions")?
        .into_iter()
        .enumerate()
        .map(|(index, bytes)| decode(bytes, &format!("assumption receipt {index}")))
        .collect()
}

/// The executor environment of one run; a zero option keeps RISC Zero's
/// default. Each of `assumptions` is offered to the guest's `env::verify`.
pub fn build_env<'a>(
    input: &'a [u8],
    segment_po2: u32,
    max_cycles: u64,
    keccak_po2: u32,
    assumptions: &[Receipt],
) -> Outcome<ExecutorEnv<'a>> {
    env_builder(input, segment_po2, max_cycles, keccak_po2, assumptions)?
        .build()
        .code(R0_ERR_ARGUMENT)
}

/// `build_env`'s builder, for a caller that adds to it before building.
pub fn env_builder<'a>(
    input: &'a [u8],
    segment_po2: u32,
    max_cycles: u64,
    keccak_po2: u32,
    assumptions: &[Receipt],
) -> Outcome<ExecutorEnvBuilder<'a>> {
    let mut builder = ExecutorEnv::builder();
    builder.stdin(input);
    for receipt in assumptions {
        builder.add_assumption(receipt.clone());
    }
    if keccak_po2 != 0 {
        builder.keccak_max_po2(keccak_po2).code(R0_ERR_ARGUMENT)?;
    }
    if max_cycles != 0 {
        builder.session_limit(Some(max_cycles));
    }
    if segment_po2 != 0 {
        builder.segment_limit_po2(segment_po2);
    }
    Ok(builder)
}

/// Only a clean halt with exit code 0 counts as success.
pub fn check_exit(exit: ExitCode) -> Outcome<()> {
    match exit {
        ExitCode::Halted(0) => Ok(()),
        other => fail(R0_ERR_EXECUTION, format!("guest exited with {other:?}")),
    }
}
