//! Split proving: one export per step of RISC Zero's proving pipeline, so that
//! the steps of one session can run in different processes or machines
//! (`coprocessor.zkvm.execute_split` and friends in Python).
//!
//! The steps, in the order `ProverImpl::prove_session` composes them:
//!
//! 1. `r0_execute_split`: run the guest, keep its segments, its keccak
//!    requests and the receipts its assumptions resolve with;
//! 2. `r0_prove_segment`: prove one segment and lift it to a succinct receipt;
//! 3. `r0_join`: join the succinct receipts of two consecutive runs of
//!    segments (the left one first), until one covers the whole session;
//! 4. `r0_prove_keccak`: prove one keccak request; `r0_union`: unite two
//!    keccak receipts, in the shape of the guest's keccak Merkle mountain
//!    range (requests in order, equal heights merged as they come, then the
//!    peaks folded left to right); its root resolves the keccak assumption;
//! 5. `r0_resolve`: resolve the head assumption of the session's receipt,
//!    once per assumption, in the session's order;
//! 6. `r0_finalize`: the session's receipt with its journal, a `Receipt` that
//!    `r0_verify` accepts like one `r0_prove` makes (kind succinct).
//!
//! Every value crosses the boundary as bincode bytes (`bincode::serialize`):
//! a `Segment`, a `ProveKeccakRequest`, a `SuccinctReceipt<ReceiptClaim>`
//! (segments, joins, resolves), a `SuccinctReceipt<Unknown>` (keccak proofs,
//! unions, assumption receipts) or a `Receipt`. Lists use the framing of
//! `buffers`. Ownership follows the crate's calling convention.
//!
//! Each proving step makes its own prover server (RISC Zero's is not `Send`),
//! always a real one: RISC Zero's dev-mode fakes of these steps carry no claim
//! that a later step could check, so none of them takes a `dev` flag. Every
//! step checks the seals of the `SuccinctReceipt<ReceiptClaim>`s it is given
//! before proving, so a corrupt or tampered one fails early as a verification
//! error. Keccak receipts cannot be checked that way (their lift program is
//! outside the verifier's allowed control root: RISC Zero does not check them
//! either); the union and resolve programs verify them in the circuit, so a
//! bad one makes those steps fail.

use std::cell::RefCell;
use std::ffi::c_char;
use std::rc::Rc;

use anyhow::{anyhow, Context};
use risc0_zkvm::sha::Digestible;
use risc0_zkvm::{
    get_prover_server, AssumptionReceipt, CoprocessorCallback, ExecutorImpl,
    InnerAssumptionReceipt, InnerReceipt, Journal, MaybePruned, NullSegmentRef, ProveKeccakRequest,
    ProverOpts, ProverServer, Receipt, ReceiptClaim, Segment, SegmentRef, SuccinctReceipt, Unknown,
    VerifierContext,
};

use crate::buffers::{borrow, give, join_frames, write_counts};
use crate::program::{check_exit, decode, decode_assumptions, env_builder, image_id_of};
use crate::status::{boundary, fail, Outcome, WithCode};
use crate::status::{R0_ERR_ARGUMENT, R0_ERR_EXECUTION, R0_ERR_PROVING, R0_ERR_VERIFICATION};

/// A real prover server (never dev mode, whatever RISC0_DEV_MODE says).
fn prover() -> Outcome<Rc<dyn ProverServer>> {
    get_prover_server(&ProverOpts::succinct().with_dev_mode(false))
        .context("cannot create a prover")
        .code(R0_ERR_PROVING)
}

/// A verifier context that accepts only real receipts.
fn real_context() -> VerifierContext {
    VerifierContext::default().with_dev_mode(false)
}

/// Checks the seal of a succinct receipt given to a step.
fn check_seal<Claim>(receipt: &SuccinctReceipt<Claim>, what: &str) -> Outcome<()>
where
    Claim: risc0_binfmt::Digestible + std::fmt::Debug,
{
    receipt
        .verify_integrity_with_context(&real_context())
        .map_err(|e| anyhow!("{what} does not verify: {e}"))
        .code(R0_ERR_VERIFICATION)
}

fn encode<T: serde::Serialize>(value: &T, what: &str) -> Outcome<Vec<u8>> {
    bincode::serialize(value)
        .with_context(|| format!("cannot encode {what}"))
        .code(R0_ERR_PROVING)
}

/// Collects the keccak requests the executor hands to its coprocessor.
struct KeccakRequests(Rc<RefCell<Vec<ProveKeccakRequest>>>);

impl CoprocessorCallback for KeccakRequests {
    fn prove_keccak(&mut self, request: ProveKeccakRequest) -> anyhow::Result<()> {
        self.0.borrow_mut().push(request);
        Ok(())
    }
}

/// The session's assumptions in the order they are resolved (head first), as
/// the framed list `r0_execute_split` returns: an empty item for the keccak
/// assumption (resolved by the root of the keccak unions), otherwise the
/// encoded `SuccinctReceipt<Unknown>` the assumption is resolved with.
fn assumption_entries(
    assumptions: &[(risc0_zkvm::Assumption, AssumptionReceipt)],
    keccak_requests: usize,
) -> Outcome<Vec<Vec<u8>>> {
    let mut keccak_seen = false;
    let mut entries = Vec::with_capacity(assumptions.len());
    for (index, (_, receipt)) in assumptions.iter().enumerate() {
        let entry = match receipt {
            AssumptionReceipt::Proven(InnerAssumptionReceipt::Succinct(receipt)) => {
                encode(receipt, "assumption receipt")?
            }
            AssumptionReceipt::Proven(other) => {
                let kind = match other {
                    InnerAssumptionReceipt::Composite(_) => "composite",
                    InnerAssumptionReceipt::Groth16(_) => "groth16",
                    InnerAssumptionReceipt::Fake(_) => "fake",
                    _ => "unknown",
                };
                return fail(
                    R0_ERR_ARGUMENT,
                    format!(
                        "the guest verifies a {kind} receipt (assumption {index}): split \
                         proving resolves succinct receipts only (prove it with kind succinct)"
                    ),
                );
            }
            AssumptionReceipt::Unresolved(assumption) => {
                if keccak_requests == 0 || keccak_seen {
                    return fail(
                        R0_ERR_EXECUTION,
                        format!("the guest assumes a claim no receipt proves: {assumption:?}"),
                    );
                }
                keccak_seen = true;
                Vec::new()
            }
        };
        entries.push(entry);
    }
    if keccak_requests > 0 && !keccak_seen {
        return fail(
            R0_ERR_EXECUTION,
            format!("{keccak_requests} keccak request(s) but no keccak assumption in the session"),
        );
    }
    Ok(entries)
}

/// Executes a program into the pieces split proving needs.
///
/// Inputs as for `r0_prove` (`assumptions`: framed encoded receipts the guest
/// may verify; split proving resolves only succinct ones: the guest verifying
/// another kind is an argument error). `segment_po2`, `max_cycles` and
/// `keccak_po2` of 0 keep RISC Zero's defaults and set no cycle limit.
///
/// Outputs, each released with `r0_free_bytes`, and written only on success:
/// * `out_journal`: the journal;
/// * `out_segments`: framed list of encoded `Segment`s, in order;
/// * `out_keccak_requests`: framed list of encoded `ProveKeccakRequest`s, in
///   the order the guest made them;
/// * `out_assumptions`: framed list, in resolve order (head first): an empty
///   item for the keccak assumption, else an encoded `SuccinctReceipt<Unknown>`;
/// * total cycles (padded segment sizes), user cycles, number of segments.
///
/// # Safety
/// Pointers follow the crate's calling convention.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn r0_execute_split(
    blob: *const u8,
    blob_len: usize,
    input: *const u8,
    input_len: usize,
    assumptions: *const u8,
    assumptions_len: usize,
    segment_po2: u32,
    max_cycles: u64,
    keccak_po2: u32,
    out_journal: *mut *mut u8,
    out_journal_len: *mut usize,
    out_segments: *mut *mut u8,
    out_segments_len: *mut usize,
    out_keccak_requests: *mut *mut u8,
    out_keccak_requests_len: *mut usize,
    out_assumptions: *mut *mut u8,
    out_assumptions_len: *mut usize,
    out_total_cycles: *mut u64,
    out_user_cycles: *mut u64,
    out_segment_count: *mut u64,
    err: *mut *mut c_char,
) -> i32 {
    boundary(err, || {
        let outputs = [
            (out_journal, out_journal_len),
            (out_segments, out_segments_len),
            (out_keccak_requests, out_keccak_requests_len),
            (out_assumptions, out_assumptions_len),
        ];
        if outputs
            .iter()
            .any(|(ptr, len)| ptr.is_null() || len.is_null())
        {
            return fail(R0_ERR_ARGUMENT, "output pointer is null");
        }
        let blob = borrow(blob, blob_len, "program")?;
        let input = borrow(input, input_len, "input")?;
        let assumptions = decode_assumptions(borrow(assumptions, assumptions_len, "assumptions")?)?;
        image_id_of(blob)?;

        let requests = Rc::new(RefCell::new(Vec::new()));
        let env = env_builder(input, segment_po2, max_cycles, keccak_po2, &assumptions)?
            .coprocessor_callback(KeccakRequests(requests.clone()))
            .build()
            .code(R0_ERR_ARGUMENT)?;

        let mut segments: Vec<Vec<u8>> = Vec::new();
        let session = ExecutorImpl::from_elf(env, blob)
            .and_then(|mut executor| {
                executor.run_with_callback(|segment: Segment| {
                    segments.push(bincode::serialize(&segment)?);
                    Ok(Box::new(NullSegmentRef) as Box<dyn SegmentRef>)
                })
            })
            .context("guest execution failed")
            .code(R0_ERR_EXECUTION)?;
        check_exit(session.exit_code)?;

        let requests = requests.take();
        let keccaks = requests
            .iter()
            .map(|request| encode(request, "keccak request"))
            .collect::<Outcome<Vec<_>>>()?;
        let entries = assumption_entries(&session.assumptions, requests.len())?;
        let journal = session.journal.map(|journal| journal.bytes);

        let counts = [
            session.total_cycles,
            session.user_cycles,
            segments.len() as u64,
        ];
        let lists = [
            join_frames(&segments, "segment")?,
            join_frames(&keccaks, "keccak request")?,
            join_frames(&entries, "assumption")?,
        ];
        write_counts(counts, out_total_cycles, out_user_cycles, out_segment_count)?;
        give(journal.unwrap_or_default(), out_journal, out_journal_len)?;
        for (list, (ptr, len)) in lists.into_iter().zip(&outputs[1..]) {
            give(list, *ptr, *len)?;
        }
        Ok(())
    })
}

/// Proves one segment (an item of `r0_execute_split`'s `out_segments`) and
/// lifts it: out, an encoded `SuccinctReceipt<ReceiptClaim>`.
///
/// # Safety
/// Pointers follow the crate's calling convention.
#[no_mangle]
pub unsafe extern "C" fn r0_prove_segment(
    segment: *const u8,
    segment_len: usize,
    out_receipt: *mut *mut u8,
    out_receipt_len: *mut usize,
    err: *mut *mut c_char,
) -> i32 {
    boundary(err, || {
        let segment: Segment = decode(borrow(segment, segment_len, "segment")?, "segment")?;
        let server = prover()?;
        let lifted = server
            .prove_segment(&real_context(), &segment)
            .and_then(|receipt| server.lift(&receipt))
            .with_context(|| format!("proving segment {} failed", segment.index))
            .code(R0_ERR_PROVING)?;
        give(encode(&lifted, "receipt")?, out_receipt, out_receipt_len)
    })
}

/// Joins the succinct receipts of two consecutive runs of segments (`left`
/// ends where `right` starts): out, an encoded `SuccinctReceipt<ReceiptClaim>`
/// covering both.
///
/// # Safety
/// Pointers follow the crate's calling convention.
#[no_mangle]
pub unsafe extern "C" fn r0_join(
    left: *const u8,
    left_len: usize,
    right: *const u8,
    right_len: usize,
    out_receipt: *mut *mut u8,
    out_receipt_len: *mut usize,
    err: *mut *mut c_char,
) -> i32 {
    boundary(err, || {
        let left: SuccinctReceipt<ReceiptClaim> =
            decode(borrow(left, left_len, "left")?, "left receipt")?;
        let right: SuccinctReceipt<ReceiptClaim> =
            decode(borrow(right, right_len, "right")?, "right receipt")?;
        check_seal(&left, "left receipt")?;
        check_seal(&right, "right receipt")?;
        let joined = prover()?
            .join(&left, &right)
            .context("join failed")
            .code(R0_ERR_PROVING)?;
        give(encode(&joined, "receipt")?, out_receipt, out_receipt_len)
    })
}

/// Proves one keccak request (an item of `r0_execute_split`'s
/// `out_keccak_requests`): out, an encoded `SuccinctReceipt<Unknown>`.
///
/// # Safety
/// Pointers follow the crate's calling convention.
#[no_mangle]
pub unsafe extern "C" fn r0_prove_keccak(
    request: *const u8,
    request_len: usize,
    out_receipt: *mut *mut u8,
    out_receipt_len: *mut usize,
    err: *mut *mut c_char,
) -> i32 {
    boundary(err, || {
        let request: ProveKeccakRequest =
            decode(borrow(request, request_len, "request")?, "keccak request")?;
        let receipt = prover()?
            .prove_keccak(&request)
            .context("proving the keccak request failed")
            .code(R0_ERR_PROVING)?;
        give(encode(&receipt, "receipt")?, out_receipt, out_receipt_len)
    })
}

/// Unites two keccak receipts (or unions of them): out, an encoded
/// `SuccinctReceipt<Unknown>` (the union's claim). Union sorts its two
/// claims, so the order of the arguments does not matter; the shape of the
/// tree does (see the module's documentation).
///
/// # Safety
/// Pointers follow the crate's calling convention.
#[no_mangle]
pub unsafe extern "C" fn r0_union(
    left: *const u8,
    left_len: usize,
    right: *const u8,
    right_len: usize,
    out_receipt: *mut *mut u8,
    out_receipt_len: *mut usize,
    err: *mut *mut c_char,
) -> i32 {
    boundary(err, || {
        let left: SuccinctReceipt<Unknown> =
            decode(borrow(left, left_len, "left")?, "left receipt")?;
        let right: SuccinctReceipt<Unknown> =
            decode(borrow(right, right_len, "right")?, "right receipt")?;
        let united = prover()?
            .union(&left, &right)
            .context("union failed")
            .code(R0_ERR_PROVING)?
            .into_unknown();
        give(encode(&united, "receipt")?, out_receipt, out_receipt_len)
    })
}

/// Resolves the head assumption of `conditional` (an encoded
/// `SuccinctReceipt<ReceiptClaim>`) with `assumption` (an encoded
/// `SuccinctReceipt<Unknown>`: the keccak root or an entry of
/// `r0_execute_split`'s `out_assumptions`): out, the encoded
/// `SuccinctReceipt<ReceiptClaim>` without that assumption.
///
/// # Safety
/// Pointers follow the crate's calling convention.
#[no_mangle]
pub unsafe extern "C" fn r0_resolve(
    conditional: *const u8,
    conditional_len: usize,
    assumption: *const u8,
    assumption_len: usize,
    out_receipt: *mut *mut u8,
    out_receipt_len: *mut usize,
    err: *mut *mut c_char,
) -> i32 {
    boundary(err, || {
        let conditional: SuccinctReceipt<ReceiptClaim> = decode(
            borrow(conditional, conditional_len, "conditional")?,
            "conditional receipt",
        )?;
        let assumption: SuccinctReceipt<Unknown> = decode(
            borrow(assumption, assumption_len, "assumption")?,
            "assumption receipt",
        )?;
        check_seal(&conditional, "conditional receipt")?;
        let resolved = prover()?
            .resolve(&conditional, &assumption)
            .context("resolve failed")
            .code(R0_ERR_PROVING)?;
        give(encode(&resolved, "receipt")?, out_receipt, out_receipt_len)
    })
}

/// Why a root receipt's claim is not a successful run with `journal`: its
/// exit code, its unresolved assumptions or its journal.
fn claim_mismatch(claim: &ReceiptClaim, journal: &Journal) -> String {
    if claim.exit_code != risc0_zkvm::ExitCode::Halted(0) {
        return format!("the run exited with {:?}", claim.exit_code);
    }
    let output = match &claim.output {
        MaybePruned::Value(Some(output)) => output,
        MaybePruned::Value(None) => return "the run committed no output".to_string(),
        MaybePruned::Pruned(_) => return "the claim's output is pruned".to_string(),
    };
    if !output.assumptions.is_empty() {
        let count = match &output.assumptions {
            MaybePruned::Value(list) => list.len().to_string(),
            MaybePruned::Pruned(_) => "some".to_string(),
        };
        return format!("{count} assumption(s) are still unresolved (resolve them first)");
    }
    if output.journal.digest() != journal.digest() {
        return format!(
            "its journal (digest {}) is not the given journal (digest {})",
            output.journal.digest(),
            journal.digest()
        );
    }
    "its claim is not a successful run's".to_string()
}

/// The final receipt of a session: `root` (an encoded
/// `SuccinctReceipt<ReceiptClaim>` covering every segment with every
/// assumption resolved) with its `journal`: out, an encoded `Receipt`
/// (succinct) that `r0_verify` accepts. A root whose claim is not a successful
/// run committing exactly `journal` is refused (a verification error).
///
/// # Safety
/// Pointers follow the crate's calling convention.
#[no_mangle]
pub unsafe extern "C" fn r0_finalize(
    root: *const u8,
    root_len: usize,
    journal: *const u8,
    journal_len: usize,
    out_receipt: *mut *mut u8,
    out_receipt_len: *mut usize,
    err: *mut *mut c_char,
) -> i32 {
    boundary(err, || {
        let root: SuccinctReceipt<ReceiptClaim> =
            decode(borrow(root, root_len, "root")?, "root receipt")?;
        let journal = Journal::new(borrow(journal, journal_len, "journal")?.to_vec());
        check_seal(&root, "root receipt")?;
        let Ok(claim) = root.claim.as_value() else {
            return fail(R0_ERR_VERIFICATION, "root receipt's claim is pruned");
        };
        let expected = ReceiptClaim::ok(claim.pre.digest(), MaybePruned::Pruned(journal.digest()));
        if expected.digest() != root.claim.digest() {
            return fail(
                R0_ERR_VERIFICATION,
                format!(
                    "root receipt does not prove this journal: {}",
                    claim_mismatch(claim, &journal)
                ),
            );
        }
        let receipt = Receipt::new(InnerReceipt::Succinct(root), journal.bytes);
        give(encode(&receipt, "receipt")?, out_receipt, out_receipt_len)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffers::r0_free_string;
    use crate::status::{R0_ERR_PROGRAM, R0_ERR_RECEIPT_FORMAT};

    fn message(err: *mut c_char) -> String {
        assert!(!err.is_null());
        let text = unsafe { std::ffi::CStr::from_ptr(err) }
            .to_string_lossy()
            .into_owned();
        unsafe { r0_free_string(err) };
        text
    }

    type OneInput =
        unsafe extern "C" fn(*const u8, usize, *mut *mut u8, *mut usize, *mut *mut c_char) -> i32;
    type TwoInputs = unsafe extern "C" fn(
        *const u8,
        usize,
        *const u8,
        usize,
        *mut *mut u8,
        *mut usize,
        *mut *mut c_char,
    ) -> i32;

    const ONE_INPUT: [(&str, OneInput); 2] = [
        ("prove_segment", r0_prove_segment),
        ("prove_keccak", r0_prove_keccak),
    ];
    const TWO_INPUTS: [(&str, TwoInputs); 4] = [
        ("join", r0_join),
        ("union", r0_union),
        ("resolve", r0_resolve),
        ("finalize", r0_finalize),
    ];

    fn call_one(export: OneInput, input: *const u8, len: usize) -> (i32, String) {
        let (mut out, mut out_len, mut err) = (std::ptr::null_mut(), 0usize, std::ptr::null_mut());
        let code = unsafe { export(input, len, &mut out, &mut out_len, &mut err) };
        assert!(out.is_null(), "no output on failure");
        (code, message(err))
    }

    fn call_two(export: TwoInputs, a: (*const u8, usize), b: (*const u8, usize)) -> (i32, String) {
        let (mut out, mut out_len, mut err) = (std::ptr::null_mut(), 0usize, std::ptr::null_mut());
        let code = unsafe { export(a.0, a.1, b.0, b.1, &mut out, &mut out_len, &mut err) };
        assert!(out.is_null(), "no output on failure");
        (code, message(err))
    }

    #[test]
    fn garbage_inputs_are_format_errors() {
        let garbage = [0xffu8; 64];
        for (name, export) in ONE_INPUT {
            let (code, text) = call_one(export, garbage.as_ptr(), garbage.len());
            assert_eq!(code, R0_ERR_RECEIPT_FORMAT, "{name}: {text}");
            assert!(text.contains("cannot decode"), "{name}: {text}");
        }
        for (name, export) in TWO_INPUTS {
            let input = (garbage.as_ptr(), garbage.len());
            let (code, text) = call_two(export, input, input);
            assert_eq!(code, R0_ERR_RECEIPT_FORMAT, "{name}: {text}");
        }
    }

    #[test]
    fn empty_inputs_are_format_errors() {
        for (name, export) in ONE_INPUT {
            let (code, text) = call_one(export, std::ptr::null(), 0);
            assert_eq!(code, R0_ERR_RECEIPT_FORMAT, "{name}: {text}");
        }
    }

    #[test]
    fn null_inputs_with_a_length_are_argument_errors() {
        for (name, export) in ONE_INPUT {
            let (code, text) = call_one(export, std::ptr::null(), 8);
            assert_eq!(code, R0_ERR_ARGUMENT, "{name}: {text}");
        }
        let bytes = [0u8; 8];
        for (name, export) in TWO_INPUTS {
            let (code, text) = call_two(export, (std::ptr::null(), 8), (bytes.as_ptr(), 8));
            assert_eq!(code, R0_ERR_ARGUMENT, "{name}: {text}");
        }
    }

    fn execute_split(blob: &[u8], assumptions: &[u8], outputs_null: bool) -> (i32, String) {
        let mut out = [std::ptr::null_mut(); 4];
        let mut lens = [0usize; 4];
        let mut counts = [0u64; 3];
        let mut err = std::ptr::null_mut();
        let [journal, segments, keccaks, entries] = &mut out;
        let [journal_len, segments_len, keccaks_len, entries_len] = &mut lens;
        let [total, user, count] = &mut counts;
        let segments: *mut *mut u8 = if outputs_null {
            std::ptr::null_mut()
        } else {
            segments
        };
        let code = unsafe {
            r0_execute_split(
                blob.as_ptr(),
                blob.len(),
                std::ptr::null(),
                0,
                assumptions.as_ptr(),
                assumptions.len(),
                0,
                0,
                0,
                journal,
                journal_len,
                segments,
                segments_len,
                keccaks,
                keccaks_len,
                entries,
                entries_len,
                total,
                user,
                count,
                &mut err,
            )
        };
        assert!(out.iter().all(|ptr| ptr.is_null()), "no output on failure");
        (code, message(err))
    }

    #[test]
    fn execute_split_checks_its_arguments() {
        let garbage = b"definitely not a program";
        let (code, text) = execute_split(garbage, &[], false);
        assert_eq!(code, R0_ERR_PROGRAM, "{text}");
        let (code, text) = execute_split(garbage, &[], true);
        assert_eq!(code, R0_ERR_ARGUMENT, "{text}");
        let (code, text) = execute_split(garbage, &[3, 0, 0, 0, 1], false);
        assert_eq!(code, R0_ERR_ARGUMENT, "{text}");
        assert!(text.contains("assumptions"), "{text}");
        let (code, text) = execute_split(garbage, &[2, 0, 0, 0, 1, 2], false);
        assert_eq!(code, R0_ERR_RECEIPT_FORMAT, "{text}");
        assert!(text.contains("assumption receipt 0"), "{text}");
    }
}
