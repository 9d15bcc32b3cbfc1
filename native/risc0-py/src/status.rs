//! Status codes of the C ABI and the boundary that turns a Rust outcome (or a
//! panic) into one.
//!
//! Python maps each code to an exception in `coprocessor/ffi.py`;
//! `tests/unit/test_cross_language_constants.py` checks both sides agree.

use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

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
/// An argument is invalid (null pointer, unknown option, malformed spec).
pub const R0_ERR_ARGUMENT: i32 = 6;
/// Ethereum data failed an `ethcore` check (hash, root, proof, encoding).
pub const R0_ERR_ETHCORE: i32 = 7;
/// The query failed while evaluating (uint256 overflow, division by zero).
pub const R0_ERR_QUERY_EVAL: i32 = 8;
/// The query guest rejects the plan or the witness (ill-typed plan, bloom keys
/// the filter does not imply, items out of place, bounds exceeded).
pub const R0_ERR_QUERY_INVALID: i32 = 9;
/// Not an error: the indexer's fast path (`r0_ingest_blocks`) declined the
/// input, and the caller runs its reference path on the same data, which
/// decides (stores the rows or names the failed check).
pub const R0_DECLINED: i32 = 10;
/// A panic was caught inside the library.
pub const R0_ERR_PANIC: i32 = 99;

/// An error carrying the status code it maps to at the boundary.
pub struct Failure {
    pub code: i32,
    pub error: anyhow::Error,
}

/// The outcome of an export's body.
pub type Outcome<T> = std::result::Result<T, Failure>;

/// Tags an `anyhow` result with the status code its error maps to.
pub trait WithCode<T> {
    fn code(self, code: i32) -> Outcome<T>;
}

impl<T> WithCode<T> for anyhow::Result<T> {
    fn code(self, code: i32) -> Outcome<T> {
        self.map_err(|error| Failure { code, error })
    }
}

/// A failure with `code` and `message`.
pub fn fail<T>(code: i32, message: impl std::fmt::Display) -> Outcome<T> {
    Err(Failure {
        code,
        error: anyhow::anyhow!("{message}"),
    })
}

/// Runs `body`, catching panics, and turns its outcome into a status code;
/// on failure `*err` receives the message (released with `r0_free_string`).
pub(crate) fn boundary(err: *mut *mut c_char, body: impl FnOnce() -> Outcome<()>) -> i32 {
    if !err.is_null() {
        unsafe { *err = std::ptr::null_mut() };
    }
    let (code, message) = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return R0_OK,
        Ok(Err(failure)) => (failure.code, format!("{:#}", failure.error)),
        Err(payload) => {
            let text = payload
                .downcast_ref::<&str>()
                .map(|text| text.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            (R0_ERR_PANIC, format!("panic in risc0-py: {text}"))
        }
    };
    if !err.is_null() {
        let message = CString::new(message.replace('\0', " ")).unwrap_or_default();
        unsafe { *err = message.into_raw() };
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffers::r0_free_string;

    #[test]
    fn panics_become_error_codes() {
        let mut err = std::ptr::null_mut();
        let code = boundary(&mut err, || panic!("boom"));
        assert_eq!(code, R0_ERR_PANIC);
        assert!(!err.is_null());
        let text = unsafe { std::ffi::CStr::from_ptr(err) }
            .to_string_lossy()
            .into_owned();
        unsafe { r0_free_string(err) };
        assert!(text.contains("boom"));
    }

    #[test]
    fn failures_keep_their_code_and_message() {
        let mut err = std::ptr::null_mut();
        let code = boundary(&mut err, || fail(R0_DECLINED, "not\0taken"));
        assert_eq!(code, R0_DECLINED);
        let text = unsafe { std::ffi::CStr::from_ptr(err) }
            .to_string_lossy()
            .into_owned();
        unsafe { r0_free_string(err) };
        assert_eq!(text, "not taken");
    }
}
