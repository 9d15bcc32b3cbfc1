//! Solidity ABI encoding of the result rows and of parameter values (PLAN.md
//! "Journal"), and the strict decoding of parameter values.
//!
//! result = abi.encode(Row[]) with Row = (uint256 nulls, T0 c0, T1 c1, ...):
//! bit i of `nulls` is set iff column i is NULL (its value is then encoded
//! as the type's zero: 0, address(0), bytes32(0), "" or false).

use alloc::vec::Vec;

use crate::plan::{T_ADDRESS, T_BOOL, T_BYTES, T_BYTES32, T_UINT};
use crate::{Error, Result, Value};

/// Append a uint word.
pub fn word_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&[0u8; 24]);
    out.extend_from_slice(&v.to_be_bytes());
}

/// Append `bytes`'s tail: length word + data padded to 32.
pub fn bytes_tail(out: &mut Vec<u8>, b: &[u8]) {
    word_u64(out, b.len() as u64);
    out.extend_from_slice(b);
    let pad = (32 - b.len() % 32) % 32;
    out.resize(out.len() + pad, 0);
}

fn static_word(t: u64, v: &Value) -> Result<[u8; 32]> {
    let mut w = [0u8; 32];
    match (t, v) {
        (_, Value::Null) => {}
        (T_UINT, Value::Uint(u)) => w = u.to_be_bytes::<32>(),
        (T_ADDRESS, Value::Bytes(b)) if b.len() == 20 => w[12..].copy_from_slice(b),
        (T_BYTES32, Value::Bytes(b)) if b.len() <= 32 => w[..b.len()].copy_from_slice(b),
        (T_BOOL, Value::Bool(b)) => w[31] = *b as u8,
        _ => return Err(Error::Eval("output value does not match its type")),
    }
    Ok(w)
}

/// ABI encoding of one row tuple (uint256 nulls, values...).
pub fn encode_row(types: &[u64], row: &[Value]) -> Result<Vec<u8>> {
    if types.len() != row.len() || types.len() > 256 {
        return Err(Error::Invalid("row width"));
    }
    let mut nulls = [0u8; 32];
    for (i, v) in row.iter().enumerate() {
        if v.is_null() {
            nulls[31 - i / 8] |= 1 << (i % 8);
        }
    }
    encode_tuple(Some(&nulls), types, row)
}

/// Head/tail encoding of a tuple: the `lead` word (if any), then the values.
fn encode_tuple(lead: Option<&[u8; 32]>, types: &[u64], row: &[Value]) -> Result<Vec<u8>> {
    let head_len = 32 * (usize::from(lead.is_some()) + row.len());
    let mut head = Vec::with_capacity(head_len);
    let mut tail = Vec::new();
    if let Some(w) = lead {
        head.extend_from_slice(w);
    }
    for (&t, v) in types.iter().zip(row) {
        if t == T_BYTES {
            word_u64(&mut head, (head_len + tail.len()) as u64);
            match v {
                Value::Null => bytes_tail(&mut tail, &[]),
                Value::Bytes(b) => bytes_tail(&mut tail, b),
                _ => return Err(Error::Eval("output value does not match its type")),
            }
        } else {
            head.extend_from_slice(&static_word(t, v)?);
        }
    }
    head.extend_from_slice(&tail);
    Ok(head)
}

/// abi.encode(v0, ..., vk-1) of values with the type codes `types` (a tuple's head/tail
/// encoding; empty for no values).
pub fn encode_values(types: &[u64], values: &[Value]) -> Result<Vec<u8>> {
    if types.len() != values.len() || values.iter().any(Value::is_null) {
        return Err(Error::Invalid("parameter values do not match their types"));
    }
    encode_tuple(None, types, values)
}

fn word_at(data: &[u8], i: usize) -> Result<&[u8]> {
    data.get(i..i + 32)
        .ok_or(Error::Invalid("parameter values are too short"))
}

fn small_word(w: &[u8]) -> Result<usize> {
    if w[..24].iter().any(|&b| b != 0) {
        return Err(Error::Invalid("parameter offset or length out of range"));
    }
    usize::try_from(u64::from_be_bytes(w[24..].try_into().unwrap_or_default()))
        .map_err(|_| Error::Invalid("parameter offset or length out of range"))
}

fn decode_value(t: u64, data: &[u8], head: usize) -> Result<Value> {
    let w = word_at(data, head)?;
    let bad = || Error::Invalid("a parameter value does not have its declared type");
    Ok(match t {
        T_UINT => Value::Uint(ethcore::U256::from_be_slice(w)),
        T_ADDRESS if w[..12].iter().all(|&b| b == 0) => Value::bytes(&w[12..]),
        T_BYTES32 => Value::bytes(w),
        T_BOOL if w[..31].iter().all(|&b| b == 0) && w[31] <= 1 => Value::Bool(w[31] == 1),
        T_BYTES => {
            let at = small_word(w)?;
            let len = small_word(word_at(data, at)?)?;
            let start = at.checked_add(32).ok_or_else(bad)?;
            let end = start.checked_add(len).ok_or_else(bad)?;
            Value::bytes(data.get(start..end).ok_or_else(bad)?)
        }
        _ => return Err(bad()),
    })
}

/// The values of `abi.encode(v0, ..., vk-1)` with type codes `types`, accepted only in the
/// canonical encoding (`encode_values` of the result gives `data` back byte for byte: no
/// missing or extra bytes, no dirty padding, standard offsets).
pub fn decode_values(types: &[u64], data: &[u8]) -> Result<Vec<Value>> {
    let values = types
        .iter()
        .enumerate()
        .map(|(i, &t)| decode_value(t, data, 32 * i))
        .collect::<Result<Vec<_>>>()?;
    if encode_values(types, &values)? != data {
        return Err(Error::Invalid(
            "parameter values are not the canonical encoding of the declared types",
        ));
    }
    Ok(values)
}

/// result = abi.encode(Row[]).
pub fn encode_rows(types: &[u64], rows: &[Vec<Value>]) -> Result<Vec<u8>> {
    let dynamic = types.contains(&T_BYTES);
    let mut out = Vec::new();
    word_u64(&mut out, 32);
    word_u64(&mut out, rows.len() as u64);
    let encoded = rows
        .iter()
        .map(|r| encode_row(types, r))
        .collect::<Result<Vec<_>>>()?;
    if dynamic {
        let mut off = 32 * rows.len();
        for e in &encoded {
            word_u64(&mut out, off as u64);
            off += e.len();
        }
    }
    for e in encoded {
        out.extend_from_slice(&e);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use ethcore::U256;

    fn w(v: u64) -> Vec<u8> {
        let mut o = Vec::new();
        word_u64(&mut o, v);
        o
    }

    #[test]
    fn static_rows() {
        let rows = vec![
            vec![Value::u64(5), Value::Bytes(vec![0xaa; 20])],
            vec![Value::Null, Value::Bytes(vec![0xbb; 20])],
        ];
        let got = encode_rows(&[T_UINT, T_ADDRESS], &rows).unwrap();
        let mut want = [w(32), w(2), w(0), w(5)].concat();
        want.extend_from_slice(&[0u8; 12]);
        want.extend_from_slice(&[0xaa; 20]);
        want.extend([w(1), w(0)].concat());
        want.extend_from_slice(&[0u8; 12]);
        want.extend_from_slice(&[0xbb; 20]);
        assert_eq!(got, want);
    }

    #[test]
    fn dynamic_rows() {
        let rows = vec![
            vec![Value::Bytes(vec![1, 2, 3]), Value::Bool(true)],
            vec![Value::Null, Value::Bool(false)],
        ];
        let got = encode_rows(&[T_BYTES, T_BOOL], &rows).unwrap();
        // row = nulls, offset(=96), bool, len, data
        let mut r0 = [w(0), w(96), w(1), w(3)].concat();
        r0.extend_from_slice(&[1, 2, 3]);
        r0.extend_from_slice(&[0u8; 29]);
        let r1 = [w(1), w(96), w(0), w(0)].concat();
        let want = [w(32), w(2), w(64), w(64 + r0.len() as u64), r0, r1].concat();
        assert_eq!(got, want);
    }

    #[test]
    fn parameter_values_round_trip_and_are_strict() {
        let types = [T_ADDRESS, T_BYTES, T_UINT, T_BOOL];
        let values = vec![
            Value::Bytes(vec![0x11; 20]),
            Value::Bytes(vec![1, 2, 3]),
            Value::u64(40),
            Value::Bool(true),
        ];
        let data = encode_values(&types, &values).unwrap();
        assert_eq!(data.len(), 32 * 6);
        assert_eq!(decode_values(&types, &data).unwrap(), values);
        assert_eq!(encode_values(&[], &[]).unwrap(), Vec::<u8>::new());
        assert_eq!(decode_values(&[], &[]).unwrap(), vec![]);
        // missing, extra, dirty
        assert!(decode_values(&types, &data[..data.len() - 32]).is_err());
        assert!(decode_values(&types[..3], &data).is_err());
        let mut extra = data.clone();
        extra.extend_from_slice(&[0u8; 32]);
        assert!(decode_values(&types, &extra).is_err());
        let mut dirty = data.clone();
        dirty[0] = 1; // address with a non-zero high byte
        assert!(decode_values(&types, &dirty).is_err());
        let mut not_bool = data.clone();
        not_bool[32 * 4 - 1] = 2;
        assert!(decode_values(&types, &not_bool).is_err());
    }

    #[test]
    fn empty_and_types() {
        assert_eq!(encode_rows(&[T_UINT], &[]).unwrap(), [w(32), w(0)].concat());
        assert!(encode_rows(&[T_UINT], &[vec![Value::Bool(true)]]).is_err());
        assert!(encode_rows(&[T_ADDRESS], &[vec![Value::Bytes(vec![1; 32])]]).is_err());
        let max = encode_rows(&[T_UINT], &[vec![Value::Uint(U256::MAX)]]).unwrap();
        assert_eq!(&max[96..], &[0xff; 32]);
    }
}
