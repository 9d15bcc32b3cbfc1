//! C ABI over RISC Zero for the coprocessor's Python bindings (`coprocessor.zkvm`).
//!
//! # Calling convention
//!
//! Every exported function returns an `int32_t` status: `R0_OK` (0) on success,
//! otherwise one of the `R0_ERR_*` codes below. On failure `*err` points to a
//! NUL-terminated UTF-8 message; on success it is left NULL. A panic inside any
//! export is caught and reported as `R0_ERR_PANIC`: no export unwinds into the
//! caller or aborts the process.
//!
//! # Memory ownership
//!
//! * Inputs (`*const u8` + length) are borrowed for the duration of the call
//!   only; Rust never keeps or frees them.
//! * Outputs returned through `*mut *mut u8` + `*mut usize` are allocated by
//!   Rust and owned by the caller, who must release each with
//!   `r0_free_bytes(ptr, len)` (exactly once, with the length it was given).
//! * Error messages are released with `r0_free_string`.
//! * Fixed-size outputs (image IDs) are written into caller-provided 32-byte
//!   buffers.
//!
//! The functions are thread-safe and keep no global state, so callers may
//! release their interpreter lock around them.

mod ingest;
mod query;

use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use anyhow::{anyhow, bail, Context, Result};
use risc0_zkvm::{
    get_prover_server, local_executor, ExecutorEnv, ExitCode, InnerReceipt, ProverOpts, Receipt,
    VerifierContext,
};

pub const R0_OK: i32 = 0;
/// The program binary or ELF is malformed.
pub const R0_ERR_PROGRAM: i32 = 1;
/// The guest failed while executing (panic, bad exit code, cycle limit).
pub const R0_ERR_EXECUTION: i32 = 2;
/// Proving failed for a reason other than the guest's own failure.
pub const R0_ERR_PROVING: i32 = 3;
/// The receipt does not verify against the given image ID.
pub const R0_ERR_VERIFICATION: i32 = 4;
/// The receipt bytes cannot be decoded.
pub const R0_ERR_RECEIPT_FORMAT: i32 = 5;
/// An argument is invalid (null pointer, unknown option).
pub const R0_ERR_ARGUMENT: i32 = 6;
/// Ethereum data failed an `ethcore` check (hash, root, proof, encoding).
pub const R0_ERR_ETHCORE: i32 = 7;
/// The query failed while evaluating (uint256 overflow, division by zero).
pub const R0_ERR_QUERY_EVAL: i32 = 8;
/// The query guest rejects the plan or the witness (ill-typed plan, bloom keys
/// the filter does not imply, items out of place, bounds exceeded).
pub const R0_ERR_QUERY_INVALID: i32 = 9;
/// A panic was caught inside the library.
pub const R0_ERR_PANIC: i32 = 99;

/// Receipt kinds reported by `r0_receipt_decode`.
pub const R0_KIND_COMPOSITE: u32 = 0;
pub const R0_KIND_SUCCINCT: u32 = 1;
pub const R0_KIND_GROTH16: u32 = 2;
pub const R0_KIND_FAKE: u32 = 3;

/// An error carrying the status code it maps to at the boundary.
struct Failure {
    code: i32,
    error: anyhow::Error,
}

trait WithCode<T> {
    fn code(self, code: i32) -> std::result::Result<T, Failure>;
}

impl<T> WithCode<T> for Result<T> {
    fn code(self, code: i32) -> std::result::Result<T, Failure> {
        self.map_err(|error| Failure { code, error })
    }
}

type Outcome<T> = std::result::Result<T, Failure>;

/// Runs `body`, catching panics, and turns its outcome into a status code.
fn boundary(err: *mut *mut c_char, body: impl FnOnce() -> Outcome<()>) -> i32 {
    if !err.is_null() {
        unsafe { *err = std::ptr::null_mut() };
    }
    let (code, message) = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return R0_OK,
        Ok(Err(failure)) => (failure.code, format!("{:#}", failure.error)),
        Err(payload) => {
            let text = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            (R0_ERR_PANIC, format!("panic in risc0-py: {text}"))
        }
    };
    if !err.is_null() {
        let clean = message.replace('\0', " ");
        let c = CString::new(clean).unwrap_or_default();
        unsafe { *err = c.into_raw() };
    }
    code
}

fn borrow<'a>(ptr: *const u8, len: usize, what: &str) -> Outcome<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(anyhow!("{what}: null pointer with length {len}")).code(R0_ERR_ARGUMENT);
    }
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

fn give(bytes: Vec<u8>, out_ptr: *mut *mut u8, out_len: *mut usize) -> Outcome<()> {
    if out_ptr.is_null() || out_len.is_null() {
        return Err(anyhow!("output pointer is null")).code(R0_ERR_ARGUMENT);
    }
    let boxed = bytes.into_boxed_slice();
    let len = boxed.len();
    let ptr = Box::into_raw(boxed) as *mut u8;
    unsafe {
        *out_ptr = ptr;
        *out_len = len;
    }
    Ok(())
}

fn write_digest(digest: &risc0_zkvm::sha::Digest, out: *mut u8) -> Outcome<()> {
    if out.is_null() {
        return Err(anyhow!("image id output is null")).code(R0_ERR_ARGUMENT);
    }
    let bytes = digest.as_bytes();
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), out, 32) };
    Ok(())
}

/// Largest memory image a program may declare (sum of its ELFs' PT_LOAD
/// sizes). risc0-binfmt accepts segments up to the 3 GiB address space and
/// fills them word by word, so a corrupt size field would otherwise take
/// minutes and gigabytes before failing; our guests need well under 8 MiB.
const MAX_IMAGE_BYTES: u64 = 256 << 20;

fn declared_memory(elf_bytes: &[u8]) -> Result<u64> {
    use elf::{endian::LittleEndian, ElfBytes};
    let elf = ElfBytes::<LittleEndian>::minimal_parse(elf_bytes)
        .map_err(|e| anyhow!("ELF parse error: {e}"))?;
    let segments = elf
        .segments()
        .ok_or_else(|| anyhow!("ELF has no segment table"))?;
    Ok(segments
        .iter()
        .filter(|s| s.p_type == elf::abi::PT_LOAD)
        .map(|s| s.p_memsz)
        .fold(0u64, u64::saturating_add))
}

fn image_id_of(blob: &[u8]) -> Outcome<risc0_zkvm::sha::Digest> {
    if blob.is_empty() {
        return Err(anyhow!("program binary is empty")).code(R0_ERR_PROGRAM);
    }
    let bin = risc0_binfmt::ProgramBinary::decode(blob)
        .context("malformed program binary")
        .code(R0_ERR_PROGRAM)?;
    let declared = declared_memory(bin.user_elf)
        .and_then(|u| Ok(u.saturating_add(declared_memory(bin.kernel_elf)?)))
        .context("malformed program binary")
        .code(R0_ERR_PROGRAM)?;
    if declared > MAX_IMAGE_BYTES {
        return Err(anyhow!(
            "malformed program binary: its segments declare {declared} bytes of memory \
             (more than {MAX_IMAGE_BYTES})"
        ))
        .code(R0_ERR_PROGRAM);
    }
    risc0_binfmt::compute_image_id(blob)
        .context("malformed program binary")
        .code(R0_ERR_PROGRAM)
}

fn decode_receipt(bytes: &[u8]) -> Outcome<Receipt> {
    use bincode::Options;
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_limit(bytes.len() as u64)
        .deserialize::<Receipt>(bytes)
        .map_err(|e| anyhow!("cannot decode receipt: {e}"))
        .code(R0_ERR_RECEIPT_FORMAT)
}

fn build_env<'a>(
    input: &'a [u8],
    segment_po2: u32,
    max_cycles: u64,
    keccak_po2: u32,
) -> Outcome<ExecutorEnv<'a>> {
    let mut builder = ExecutorEnv::builder();
    builder.stdin(input);
    if keccak_po2 != 0 {
        builder.keccak_max_po2(keccak_po2).code(R0_ERR_ARGUMENT)?;
    }
    if max_cycles != 0 {
        builder.session_limit(Some(max_cycles));
    }
    if segment_po2 != 0 {
        builder.segment_limit_po2(segment_po2);
    }
    builder.build().code(R0_ERR_ARGUMENT)
}

fn check_exit(exit: ExitCode) -> Outcome<()> {
    match exit {
        ExitCode::Halted(0) => Ok(()),
        other => Err(anyhow!("guest exited with {other:?}")).code(R0_ERR_EXECUTION),
    }
}

/// Releases a buffer returned by this library.
///
/// # Safety
/// `ptr`/`len` must come from one of this library's outputs, released once.
#[no_mangle]
pub unsafe extern "C" fn r0_free_bytes(ptr: *mut u8, len: usize) {
    if !ptr.is_null() {
        drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)));
    }
}

/// Releases an error message returned by this library.
///
/// # Safety
/// `ptr` must come from this library's `err` output, released once.
#[no_mangle]
pub unsafe extern "C" fn r0_free_string(ptr: *mut c_char) {
    if !ptr.is_null() {
        drop(CString::from_raw(ptr));
    }
}

/// Wraps a guest ELF with the v1compat kernel into a program binary.
///
/// # Safety
/// Pointers follow the module's calling convention.
#[no_mangle]
pub unsafe extern "C" fn r0_program_from_elf(
    elf: *const u8,
    elf_len: usize,
    out_blob: *mut *mut u8,
    out_len: *mut usize,
    err: *mut *mut c_char,
) -> i32 {
    boundary(err, || {
        let elf = borrow(elf, elf_len, "elf")?;
        let blob =
            risc0_binfmt::ProgramBinary::new(elf, risc0_zkos_v1compat::V1COMPAT_ELF).encode();
        image_id_of(&blob)?;
        give(blob, out_blob, out_len)
    })
}

/// Computes the image ID of a program binary into `out_id` (32 bytes).
///
/// # Safety
/// Pointers follow the module's calling convention.
#[no_mangle]
pub unsafe extern "C" fn r0_image_id(
    blob: *const u8,
    blob_len: usize,
    out_id: *mut u8,
    err: *mut *mut c_char,
) -> i32 {
    boundary(err, || {
        let blob = borrow(blob, blob_len, "program")?;
        write_digest(&image_id_of(blob)?, out_id)
    })
}

/// Executes a program without proving.
///
/// `segment_po2` of 0 keeps RISC Zero's default segment size; `max_cycles` of 0
/// sets no cycle limit.
/// Outputs: the journal, total cycles (sum of padded segment sizes), user
/// cycles and the number of segments.
///
/// # Safety
/// Pointers follow the module's calling convention.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn r0_execute(
    blob: *const u8,
    blob_len: usize,
    input: *const u8,
    input_len: usize,
    segment_po2: u32,
    max_cycles: u64,
    out_journal: *mut *mut u8,
    out_journal_len: *mut usize,
    out_total_cycles: *mut u64,
    out_user_cycles: *mut u64,
    out_segments: *mut u64,
    err: *mut *mut c_char,
) -> i32 {
    boundary(err, || {
        let blob = borrow(blob, blob_len, "program")?;
        let input = borrow(input, input_len, "input")?;
        image_id_of(blob)?;
        let env = build_env(input, segment_po2, max_cycles, 0)?;
        let info = local_executor()
            .execute(env, blob)
            .context("guest execution failed")
            .code(R0_ERR_EXECUTION)?;
        check_exit(info.exit_code)?;
        let total: u64 = info.segments.iter().map(|s| 1u64 << s.po2).sum();
        let user: u64 = info.segments.iter().map(|s| s.cycles as u64).sum();
        if out_total_cycles.is_null() || out_user_cycles.is_null() || out_segments.is_null() {
            return Err(anyhow!("output pointer is null")).code(R0_ERR_ARGUMENT);
        }
        *out_total_cycles = total;
        *out_user_cycles = user;
        *out_segments = info.segments.len() as u64;
        give(info.journal.bytes, out_journal, out_journal_len)
    })
}

/// Proves a program's execution.
///
/// `kind`: 0 composite, 1 succinct. `dev` non-zero makes a fake receipt (no
/// proof; only for fast tests), whatever RISC0_DEV_MODE says. `keccak_po2`
/// (0: RISC Zero's default, 17) sizes the keccak-accelerator batches: each
/// batch costs one keccak-circuit proof of 2^po2 rows holding 2^po2 / 200
/// permutations, so small guests prove much faster with a small batch.
/// Outputs: the bincode-encoded receipt, total and user cycles, segments.
///
/// # Safety
/// Pointers follow the module's calling convention.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn r0_prove(
    blob: *const u8,
    blob_len: usize,
    input: *const u8,
    input_len: usize,
    segment_po2: u32,
    max_cycles: u64,
    keccak_po2: u32,
    kind: u32,
    dev: u32,
    out_receipt: *mut *mut u8,
    out_receipt_len: *mut usize,
    out_total_cycles: *mut u64,
    out_user_cycles: *mut u64,
    out_segments: *mut u64,
    err: *mut *mut c_char,
) -> i32 {
    boundary(err, || {
        let blob = borrow(blob, blob_len, "program")?;
        let input = borrow(input, input_len, "input")?;
        image_id_of(blob)?;
        let opts = match kind {
            R0_KIND_COMPOSITE => ProverOpts::composite(),
            R0_KIND_SUCCINCT => ProverOpts::succinct(),
            other => {
                return Err(anyhow!(
                    "receipt kind {other} is not supported (0 composite, 1 succinct)"
                ))
                .code(R0_ERR_ARGUMENT)
            }
        }
        .with_dev_mode(dev != 0);
        // Check the guest runs to a clean halt first, so that its failure is
        // reported as an execution error rather than a proving error.
        let env = build_env(input, segment_po2, max_cycles, keccak_po2)?;
        let session = local_executor()
            .execute(env, blob)
            .context("guest execution failed")
            .code(R0_ERR_EXECUTION)?;
        check_exit(session.exit_code)?;

        let env = build_env(input, segment_po2, max_cycles, keccak_po2)?;
        let ctx = VerifierContext::default().with_dev_mode(dev != 0);
        let info = get_prover_server(&opts)
            .and_then(|server| server.prove_with_ctx(env, &ctx, blob))
            .context("proving failed")
            .code(R0_ERR_PROVING)?;
        let bytes = bincode::serialize(&info.receipt)
            .context("cannot encode receipt")
            .code(R0_ERR_PROVING)?;
        if out_total_cycles.is_null() || out_user_cycles.is_null() || out_segments.is_null() {
            return Err(anyhow!("output pointer is null")).code(R0_ERR_ARGUMENT);
        }
        *out_total_cycles = info.stats.total_cycles;
        *out_user_cycles = info.stats.user_cycles;
        *out_segments = info.stats.segments as u64;
        give(bytes, out_receipt, out_receipt_len)
    })
}

/// Runs one `ethcore::ops` command (RLP in, RLP out): the same code the
/// guests run, so off-chain checks and proofs cannot disagree.
///
/// # Safety
/// Pointers follow the module's calling convention.
#[no_mangle]
pub unsafe extern "C" fn r0_ethcore(
    command: *const u8,
    command_len: usize,
    out: *mut *mut u8,
    out_len: *mut usize,
    err: *mut *mut c_char,
) -> i32 {
    boundary(err, || {
        let command = borrow(command, command_len, "command")?;
        let output = ethcore::ops::run(command)
            .map_err(|e| anyhow!("{e}"))
            .code(R0_ERR_ETHCORE)?;
        give(output, out, out_len)
    })
}

/// The indexer's fast path (host only, not a guest op): validates a run of
/// blocks straight from a JSON-RPC batch response body and returns their
/// table columns (format in `ingest.rs`).
///
/// `spec` is `rlp([first_block, [block_request_id, ...], [receipts_request_id, ...]])`.
/// `R0_ERR_ETHCORE` means "not taken": a check failed or the input is not in
/// the canonical shape this path accepts; the caller must then run its
/// reference path on the same response, which decides (and names the check).
///
/// # Safety
/// Pointers follow the module's calling convention.
#[no_mangle]
pub unsafe extern "C" fn r0_ingest_blocks(
    body: *const u8,
    body_len: usize,
    spec: *const u8,
    spec_len: usize,
    out: *mut *mut u8,
    out_len: *mut usize,
    err: *mut *mut c_char,
) -> i32 {
    boundary(err, || {
        let body = borrow(body, body_len, "body")?;
        let spec = borrow(spec, spec_len, "spec")?;
        let output = ingest::ingest(body, spec)
            .map_err(|ingest::Fallback(why)| anyhow!("{why}"))
            .code(R0_ERR_ETHCORE)?;
        give(output, out, out_len)
    })
}

/// Runs one command of the query guest's core natively (`query.rs`): the very
/// code the `query` guest runs, so the compiler's expected rows are the
/// guest's by construction.
///
/// # Safety
/// Pointers follow the module's calling convention.
#[no_mangle]
pub unsafe extern "C" fn r0_query(
    command: *const u8,
    command_len: usize,
    out: *mut *mut u8,
    out_len: *mut usize,
    err: *mut *mut c_char,
) -> i32 {
    boundary(err, || {
        let command = borrow(command, command_len, "command")?;
        let output = query::run(command).map_err(|e| {
            let code = match e {
                query_core::Error::Eth(_) => R0_ERR_ETHCORE,
                query_core::Error::Eval(_) => R0_ERR_QUERY_EVAL,
                _ => R0_ERR_QUERY_INVALID,
            };
            Failure {
                code,
                error: anyhow!("{e}"),
            }
        })?;
        give(output, out, out_len)
    })
}

/// Decodes a receipt: its journal and kind (`R0_KIND_*`). Does not verify.
///
/// # Safety
/// Pointers follow the module's calling convention.
#[no_mangle]
pub unsafe extern "C" fn r0_receipt_decode(
    receipt: *const u8,
    receipt_len: usize,
    out_journal: *mut *mut u8,
    out_journal_len: *mut usize,
    out_kind: *mut u32,
    err: *mut *mut c_char,
) -> i32 {
    boundary(err, || {
        let receipt = decode_receipt(borrow(receipt, receipt_len, "receipt")?)?;
        if out_kind.is_null() {
            return Err(anyhow!("output pointer is null")).code(R0_ERR_ARGUMENT);
        }
        *out_kind = match &receipt.inner {
            InnerReceipt::Composite(_) => R0_KIND_COMPOSITE,
            InnerReceipt::Succinct(_) => R0_KIND_SUCCINCT,
            InnerReceipt::Groth16(_) => R0_KIND_GROTH16,
            InnerReceipt::Fake(_) => R0_KIND_FAKE,
            _ => bail_kind()?,
        };
        give(receipt.journal.bytes, out_journal, out_journal_len)
    })
}

fn bail_kind() -> Outcome<u32> {
    Err(anyhow!("unknown receipt kind")).code(R0_ERR_RECEIPT_FORMAT)
}

/// Verifies a receipt against a 32-byte image ID and returns its journal.
///
/// Dev mode is decided only by `allow_dev` (never by the environment): a fake
/// receipt fails unless `allow_dev` is non-zero.
///
/// # Safety
/// Pointers follow the module's calling convention.
#[no_mangle]
pub unsafe extern "C" fn r0_verify(
    receipt: *const u8,
    receipt_len: usize,
    image_id: *const u8,
    allow_dev: u32,
    out_journal: *mut *mut u8,
    out_journal_len: *mut usize,
    err: *mut *mut c_char,
) -> i32 {
    boundary(err, || {
        let receipt = decode_receipt(borrow(receipt, receipt_len, "receipt")?)?;
        let id = borrow(image_id, 32, "image id")?;
        let digest = risc0_zkvm::sha::Digest::try_from(id)
            .map_err(|_| anyhow!("image id must be 32 bytes"))
            .code(R0_ERR_ARGUMENT)?;
        let ctx = VerifierContext::default().with_dev_mode(allow_dev != 0);
        if allow_dev == 0 && matches!(receipt.inner, InnerReceipt::Fake(_)) {
            bail_verification("fake (dev-mode) receipt rejected: it carries no proof")?;
        }
        receipt
            .verify_with_context(&ctx, digest)
            .map_err(|e| anyhow!("receipt does not verify: {e}"))
            .code(R0_ERR_VERIFICATION)?;
        give(receipt.journal.bytes, out_journal, out_journal_len)
    })
}

fn bail_verification(msg: &str) -> Outcome<()> {
    let r: Result<()> = (|| bail!("{msg}"))();
    r.code(R0_ERR_VERIFICATION)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(err: *mut c_char) -> String {
        assert!(!err.is_null());
        let text = unsafe { std::ffi::CStr::from_ptr(err) }
            .to_string_lossy()
            .into_owned();
        unsafe { r0_free_string(err) };
        text
    }

    #[test]
    fn panics_become_error_codes() {
        let mut err = std::ptr::null_mut();
        let code = boundary(&mut err, || panic!("boom"));
        assert_eq!(code, R0_ERR_PANIC);
        assert!(message(err).contains("boom"));
    }

    #[test]
    fn garbage_program_is_a_program_error() {
        let mut err = std::ptr::null_mut();
        let mut id = [0u8; 32];
        let blob = b"definitely not a program";
        let code = unsafe { r0_image_id(blob.as_ptr(), blob.len(), id.as_mut_ptr(), &mut err) };
        assert_eq!(code, R0_ERR_PROGRAM);
        assert!(!message(err).is_empty());
    }

    #[test]
    fn garbage_receipt_is_a_format_error() {
        let mut err = std::ptr::null_mut();
        let (mut out, mut len, mut kind) = (std::ptr::null_mut(), 0usize, 0u32);
        let data = [0xffu8; 64];
        let code = unsafe {
            r0_receipt_decode(
                data.as_ptr(),
                data.len(),
                &mut out,
                &mut len,
                &mut kind,
                &mut err,
            )
        };
        assert_eq!(code, R0_ERR_RECEIPT_FORMAT);
        assert!(out.is_null());
        message(err);
    }

    #[test]
    fn null_input_with_length_is_an_argument_error() {
        let mut err = std::ptr::null_mut();
        let mut id = [0u8; 32];
        let code = unsafe { r0_image_id(std::ptr::null(), 10, id.as_mut_ptr(), &mut err) };
        assert_eq!(code, R0_ERR_ARGUMENT);
        message(err);
    }

    #[test]
    fn buffers_round_trip_through_free() {
        let (mut out, mut len) = (std::ptr::null_mut(), 0usize);
        assert!(give(vec![1, 2, 3], &mut out, &mut len).is_ok());
        assert_eq!(unsafe { std::slice::from_raw_parts(out, len) }, &[1, 2, 3]);
        unsafe { r0_free_bytes(out, len) };
    }
}
