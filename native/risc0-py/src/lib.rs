//! C ABI over RISC Zero and `ethcore` for the coprocessor's Python bindings
//! (`coprocessor/ffi.py`, the one Python module that loads this library).
//!
//! # Calling convention
//!
//! Every exported function returns an `int32_t` status: `R0_OK` (0) on success,
//! otherwise one of the codes in `status`. On failure `*err` points to a
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
//!
//! # Modules
//!
//! * `status`: the status codes and the boundary every export runs in.
//! * `buffers`: borrowing inputs, handing out outputs, `r0_free_*`.
//! * `zkvm` (with `program`): program binaries, execute, prove, verify.
//! * `split`: split proving, one export per step (execute into segments,
//!   prove and lift a segment, join, keccak, union, resolve, finalize).
//! * `commands`: `r0_ethcore` and `r0_query` (with `query`).
//! * `ingest`: `r0_ingest_blocks`, the indexer's fast path.

mod buffers;
mod commands;
mod ingest;
mod program;
mod query;
mod split;
mod status;
mod zkvm;
