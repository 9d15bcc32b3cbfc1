//! The command exports, RLP in and RLP out: `r0_ethcore` (one `ethcore::ops`
//! command) and `r0_query` (one command of the query guest's core, `query.rs`).
//! Both run the very code the guests run, so off-chain checks, the compiler's
//! expected rows and the proofs cannot disagree.

use std::ffi::c_char;

use anyhow::anyhow;

use crate::buffers::{borrow, give};
use crate::query;
use crate::status::{boundary, Failure, WithCode};
use crate::status::{R0_ERR_ETHCORE, R0_ERR_QUERY_EVAL, R0_ERR_QUERY_INVALID};

/// Runs one `ethcore::ops` command (RLP in, RLP out): the same code the
/// guests run, so off-chain checks and proofs cannot disagree.
///
/// # Safety
/// Pointers follow the crate's calling convention.
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

/// Runs one command of the query guest's core natively (`query.rs`): the very
/// code the `query` guest runs, so the compiler's expected rows are the
/// guest's by construction.
///
/// # Safety
/// Pointers follow the crate's calling convention.
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
