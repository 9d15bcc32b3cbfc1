//! Memory crossing the C ABI: borrowing the caller's inputs, handing owned
//! outputs to the caller, the two exports that release them, and the framing
//! of lists.
//!
//! # Lists
//!
//! A list of byte strings (receipts given as assumptions, segments, keccak
//! requests) crosses the boundary as one buffer: each item as its length (u32,
//! little-endian) followed by its bytes, items concatenated; the empty buffer
//! is the empty list. `coprocessor/ffi.py` has the same two functions.

use std::ffi::{c_char, CString};

use crate::status::{fail, Outcome, R0_ERR_ARGUMENT};

/// Borrows an input buffer for the duration of the call.
pub(crate) fn borrow<'a>(ptr: *const u8, len: usize, what: &str) -> Outcome<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return fail(
            R0_ERR_ARGUMENT,
            format!("{what}: null pointer with length {len}"),
        );
    }
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Hands `bytes` to the caller, who releases them with `r0_free_bytes`.
pub(crate) fn give(bytes: Vec<u8>, out_ptr: *mut *mut u8, out_len: *mut usize) -> Outcome<()> {
    if out_ptr.is_null() || out_len.is_null() {
        return fail(R0_ERR_ARGUMENT, "output pointer is null");
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

/// Writes a 32-byte digest into a caller-provided buffer.
pub(crate) fn write_digest(digest: &risc0_zkvm::sha::Digest, out: *mut u8) -> Outcome<()> {
    if out.is_null() {
        return fail(R0_ERR_ARGUMENT, "image id output is null");
    }
    let bytes = digest.as_bytes();
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), out, 32) };
    Ok(())
}

/// Writes the run statistics into the caller's three counters.
pub(crate) fn write_counts(
    counts: [u64; 3],
    out_total_cycles: *mut u64,
    out_user_cycles: *mut u64,
    out_segments: *mut u64,
) -> Outcome<()> {
    if out_total_cycles.is_null() || out_user_cycles.is_null() || out_segments.is_null() {
        return fail(R0_ERR_ARGUMENT, "output pointer is null");
    }
    let [total_cycles, user_cycles, segments] = counts;
    unsafe {
        *out_total_cycles = total_cycles;
        *out_user_cycles = user_cycles;
        *out_segments = segments;
    }
    Ok(())
}

/// Frames a list of byte strings into one buffer (see the module's "Lists").
pub(crate) fn join_frames<T: AsRef<[u8]>>(items: &[T], what: &str) -> Outcome<Vec<u8>> {
    let total: usize = items.iter().map(|item| 4 + item.as_ref().len()).sum();
    let mut out = Vec::with_capacity(total);
    for (index, item) in items.iter().enumerate() {
        let item = item.as_ref();
        let Ok(len) = u32::try_from(item.len()) else {
            return fail(
                R0_ERR_ARGUMENT,
                format!(
                    "{what} {index}: {} bytes do not fit a u32 frame",
                    item.len()
                ),
            );
        };
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(item);
    }
    Ok(out)
}

/// Splits a framed buffer back into its items (borrowed from `bytes`).
pub(crate) fn split_frames<'a>(bytes: &'a [u8], what: &str) -> Outcome<Vec<&'a [u8]>> {
    let mut items = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let Some((prefix, tail)) = rest.split_first_chunk::<4>() else {
            return fail(
                R0_ERR_ARGUMENT,
                format!("{what}: truncated length prefix of item {}", items.len()),
            );
        };
        let len = u32::from_le_bytes(*prefix) as usize;
        if tail.len() < len {
            return fail(
                R0_ERR_ARGUMENT,
                format!(
                    "{what}: item {} declares {len} bytes but {} remain",
                    items.len(),
                    tail.len()
                ),
            );
        }
        let (item, tail) = tail.split_at(len);
        items.push(item);
        rest = tail;
    }
    Ok(items)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_round_trip_through_free() {
        let (mut out, mut len) = (std::ptr::null_mut(), 0usize);
        assert!(give(vec![1, 2, 3], &mut out, &mut len).is_ok());
        assert_eq!(unsafe { std::slice::from_raw_parts(out, len) }, &[1, 2, 3]);
        unsafe { r0_free_bytes(out, len) };
    }

    fn ok<T>(outcome: Outcome<T>) -> T {
        match outcome {
            Ok(value) => value,
            Err(failure) => panic!("{:#}", failure.error),
        }
    }

    #[test]
    fn frames_round_trip() {
        let items: [&[u8]; 3] = [b"ab", b"", b"cde"];
        let framed = ok(join_frames(&items, "item"));
        assert_eq!(framed.len(), 3 * 4 + 5);
        assert_eq!(ok(split_frames(&framed, "list")), items);
        assert!(ok(split_frames(&[], "list")).is_empty());
    }

    #[test]
    fn truncated_frames_are_refused() {
        let framed = ok(join_frames(&[b"abc"], "item"));
        for cut in 1..framed.len() {
            let failure = split_frames(&framed[..cut], "list").expect_err("refused");
            assert_eq!(failure.code, R0_ERR_ARGUMENT);
        }
    }

    #[test]
    fn null_input_with_a_length_is_refused() {
        let failure = borrow(std::ptr::null(), 10, "input").expect_err("refused");
        assert_eq!(failure.code, R0_ERR_ARGUMENT);
    }
}
