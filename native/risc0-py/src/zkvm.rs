//! The zkVM exports: program binaries and image IDs, execution, proving,
//! receipt decoding and verification (`coprocessor.zkvm` in Python).

use std::ffi::c_char;

use anyhow::{anyhow, Context};
use risc0_zkvm::{get_prover_server, local_executor, InnerReceipt, ProverOpts, VerifierContext};

use crate::buffers::{borrow, give, write_counts, write_digest};
use crate::program::{build_env, check_exit, decode_assumptions, decode_receipt, image_id_of};
use crate::status::R0_ERR_VERIFICATION;
use crate::status::{boundary, fail, WithCode};
use crate::status::{R0_ERR_ARGUMENT, R0_ERR_EXECUTION, R0_ERR_PROVING, R0_ERR_RECEIPT_FORMAT};

/// Receipt kinds reported by `r0_receipt_decode` (and asked of `r0_prove`).
pub const R0_KIND_COMPOSITE: u32 = 0;
pub const R0_KIND_SUCCINCT: u32 = 1;
pub const R0_KIND_GROTH16: u32 = 2;
pub const R0_KIND_FAKE: u32 = 3;

/// Wraps a guest ELF with the v1compat kernel into a program binary.
///
/// # Safety
/// Pointers follow the crate's calling convention.
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
/// Pointers follow the crate's calling convention.
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
/// `assumptions` is a framed list (see `buffers`; empty: none) of
/// bincode-encoded receipts the guest may verify with `env::verify`; receipts
/// it does not verify are ignored. The executor matches them by claim only
/// (it does not check their seals: proving does).
/// `segment_po2` of 0 keeps RISC Zero's default segment size; `max_cycles` of 0
/// sets no cycle limit.
/// Outputs: the journal, total cycles (sum of padded segment sizes), user
/// cycles and the number of segments.
///
/// # Safety
/// Pointers follow the crate's calling convention.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn r0_execute(
    blob: *const u8,
    blob_len: usize,
    input: *const u8,
    input_len: usize,
    assumptions: *const u8,
    assumptions_len: usize,
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
        let assumptions = decode_assumptions(borrow(assumptions, assumptions_len, "assumptions")?)?;
        image_id_of(blob)?;
        let env = build_env(input, segment_po2, max_cycles, 0, &assumptions)?;
        let info = local_executor()
            .execute(env, blob)
            .context("guest execution failed")
            .code(R0_ERR_EXECUTION)?;
        check_exit(info.exit_code)?;
        let total: u64 = info
            .segments
            .iter()
            .map(|segment| 1u64 << segment.po2)
            .sum();
        let user: u64 = info
            .segments
            .iter()
            .map(|segment| segment.cycles as u64)
            .sum();
        let counts = [total, user, info.segments.len() as u64];
        write_counts(counts, out_total_cycles, out_user_cycles, out_segments)?;
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
/// `assumptions` as for `r0_execute`: the receipts the guest verifies become the
/// composite receipt's assumption receipts, and a succinct proof resolves them
/// (each must be a real receipt unless `dev` is set).
/// Outputs: the bincode-encoded receipt, total and user cycles, segments.
///
/// # Safety
/// Pointers follow the crate's calling convention.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn r0_prove(
    blob: *const u8,
    blob_len: usize,
    input: *const u8,
    input_len: usize,
    assumptions: *const u8,
    assumptions_len: usize,
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
        let assumptions = decode_assumptions(borrow(assumptions, assumptions_len, "assumptions")?)?;
        image_id_of(blob)?;
        if dev == 0 {
            if let Some(index) = assumptions
                .iter()
                .position(|receipt| matches!(receipt.inner, InnerReceipt::Fake(_)))
            {
                return fail(
                    R0_ERR_ARGUMENT,
                    format!("assumption receipt {index} is a fake (dev-mode) receipt: it proves nothing"),
                );
            }
        }
        let opts = match kind {
            R0_KIND_COMPOSITE => ProverOpts::composite(),
            R0_KIND_SUCCINCT => ProverOpts::succinct(),
            other => {
                return fail(
                    R0_ERR_ARGUMENT,
                    format!("receipt kind {other} is not supported (0 composite, 1 succinct)"),
                )
            }
        }
        .with_dev_mode(dev != 0);
        // Check the guest runs to a clean halt first, so that its failure is
        // reported as an execution error rather than a proving error.
        let env = build_env(input, segment_po2, max_cycles, keccak_po2, &assumptions)?;
        let session = local_executor()
            .execute(env, blob)
            .context("guest execution failed")
            .code(R0_ERR_EXECUTION)?;
        check_exit(session.exit_code)?;

        let env = build_env(input, segment_po2, max_cycles, keccak_po2, &assumptions)?;
        let ctx = VerifierContext::default().with_dev_mode(dev != 0);
        let info = get_prover_server(&opts)
            .and_then(|server| server.prove_with_ctx(env, &ctx, blob))
            .context("proving failed")
            .code(R0_ERR_PROVING)?;
        let bytes = bincode::serialize(&info.receipt)
            .context("cannot encode receipt")
            .code(R0_ERR_PROVING)?;
        let stats = &info.stats;
        let counts = [stats.total_cycles, stats.user_cycles, stats.segments as u64];
        write_counts(counts, out_total_cycles, out_user_cycles, out_segments)?;
        give(bytes, out_receipt, out_receipt_len)
    })
}

/// Decodes a receipt: its journal and kind (`R0_KIND_*`). Does not verify.
///
/// # Safety
/// Pointers follow the crate's calling convention.
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
            return fail(R0_ERR_ARGUMENT, "output pointer is null");
        }
        *out_kind = match &receipt.inner {
            InnerReceipt::Composite(_) => R0_KIND_COMPOSITE,
            InnerReceipt::Succinct(_) => R0_KIND_SUCCINCT,
            InnerReceipt::Groth16(_) => R0_KIND_GROTH16,
            InnerReceipt::Fake(_) => R0_KIND_FAKE,
            _ => return fail(R0_ERR_RECEIPT_FORMAT, "unknown receipt kind"),
        };
        give(receipt.journal.bytes, out_journal, out_journal_len)
    })
}

/// Verifies a receipt against a 32-byte image ID and returns its journal.
///
/// Dev mode is decided only by `allow_dev` (never by the environment): a fake
/// receipt fails unless `allow_dev` is non-zero.
///
/// # Safety
/// Pointers follow the crate's calling convention.
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
            return fail(
                R0_ERR_VERIFICATION,
                "fake (dev-mode) receipt rejected: it carries no proof",
            );
        }
        receipt
            .verify_with_context(&ctx, digest)
            .map_err(|e| anyhow!("receipt does not verify: {e}"))
            .code(R0_ERR_VERIFICATION)?;
        give(receipt.journal.bytes, out_journal, out_journal_len)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffers::r0_free_string;
    use crate::status::R0_ERR_PROGRAM;

    fn message(err: *mut c_char) -> String {
        assert!(!err.is_null());
        let text = unsafe { std::ffi::CStr::from_ptr(err) }
            .to_string_lossy()
            .into_owned();
        unsafe { r0_free_string(err) };
        text
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
}
