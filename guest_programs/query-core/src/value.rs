//! Values of rows and expressions: uint256, bytes, bool or NULL.

use alloc::vec::Vec;
use core::cmp::Ordering;
use ethcore::U256;

/// One value. The derived order (NULL first, then by kind, then by value;
/// bytes lexicographic, shorter prefix first) is the sort order of PLAN.md
/// for values of one type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Value {
    /// SQL NULL (an absent field).
    Null,
    /// bool
    Bool(bool),
    /// uint256
    Uint(U256),
    /// bytes (addresses 20, hashes 32, any length for data)
    Bytes(Vec<u8>),
}

impl Value {
    /// uint from u64
    pub fn u64(v: u64) -> Self {
        Value::Uint(U256::from(v))
    }
    /// bytes from a slice
    pub fn bytes(b: &[u8]) -> Self {
        Value::Bytes(b.to_vec())
    }
    /// NULL or the value
    pub fn opt_u64(v: Option<u64>) -> Self {
        v.map_or(Value::Null, Value::u64)
    }
    /// NULL or the bytes
    pub fn opt_bytes(v: Option<&[u8]>) -> Self {
        v.map_or(Value::Null, Value::bytes)
    }
    /// Is NULL
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

/// Ordering of expected.py's `_cmp` (NULL before everything); `None` when the
/// kinds differ (the compiler type checks, so this is an error).
pub fn cmp_values(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        (Value::Null, _) => Some(Ordering::Less),
        (_, Value::Null) => Some(Ordering::Greater),
        (Value::Uint(x), Value::Uint(y)) => Some(x.cmp(y)),
        (Value::Bytes(x), Value::Bytes(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}
