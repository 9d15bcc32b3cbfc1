//! A JSON value that borrows its strings from the response body (no
//! allocation per string), and typed accessors that read its fields the way
//! the Python path does, declining whatever is not canonical.

use std::borrow::Cow;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::hex::{hex_bytes, hex_quantity, u64_from_be};
use super::Result;

/// A JSON value borrowing its strings from the response body.
pub enum Value<'a> {
    Null,
    U64(u64),
    /// booleans and numbers other than u64: never read, only skipped over
    Other,
    Str(Cow<'a, str>),
    Arr(Vec<Value<'a>>),
    Obj(Obj<'a>),
}

/// A JSON object as its members in order; a repeated key reads as its last value
/// (as Python's json/orjson do).
pub struct Obj<'a>(Vec<(Cow<'a, str>, Value<'a>)>);

impl<'a> Value<'a> {
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::U64(v) => Some(*v),
            _ => None,
        }
    }

    /// This value as an object; `what` names it in the decline.
    pub fn object(&self, what: &str) -> Result<&Obj<'a>> {
        match self {
            Value::Obj(object) => Ok(object),
            _ => Err(declined!("{what} is not an object")),
        }
    }

    /// This value as an array; `what` names it in the decline.
    pub fn array(&self, what: &str) -> Result<&[Value<'a>]> {
        match self {
            Value::Arr(items) => Ok(items),
            _ => Err(declined!("{what} is not an array")),
        }
    }

    fn text(&self, what: &str) -> Result<&str> {
        match self {
            Value::Str(text) => Ok(text),
            _ => Err(declined!("{what} is not a string")),
        }
    }

    /// This value as canonical hex bytes (`hb(value)`).
    pub fn hex_bytes(&self, what: &str) -> Result<Vec<u8>> {
        hex_bytes(self.text(what)?).ok_or_else(|| declined!("{what} is not canonical hex bytes"))
    }

    /// This value as a canonical quantity, minimal big-endian bytes (`hi(value)`).
    pub fn quantity(&self, what: &str) -> Result<Vec<u8>> {
        hex_quantity(self.text(what)?)
            .ok_or_else(|| declined!("{what} is not a canonical quantity"))
    }
}

impl<'a> Obj<'a> {
    /// A member, None when absent (`d.get(key)`).
    pub fn get(&self, key: &str) -> Option<&Value<'a>> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// A present, non-null member (Python `d.get(key) is not None`).
    pub fn present(&self, key: &str) -> Option<&Value<'a>> {
        self.get(key).filter(|value| !matches!(value, Value::Null))
    }

    /// A required member (`d[key]`).
    pub fn required(&self, key: &str) -> Result<&Value<'a>> {
        self.get(key).ok_or_else(|| declined!("{key} missing"))
    }

    /// A required byte string field.
    pub fn bytes(&self, key: &str) -> Result<Vec<u8>> {
        self.required(key)?.hex_bytes(key)
    }

    /// A required quantity field (minimal big-endian bytes).
    pub fn quantity(&self, key: &str) -> Result<Vec<u8>> {
        self.required(key)?.quantity(key)
    }

    /// A required quantity field that must fit 64 bits.
    pub fn quantity_u64(&self, key: &str) -> Result<u64> {
        fit_u64(&self.quantity(key)?, key)
    }

    /// An optional quantity (the Python path's `_opt`): None when absent or null.
    pub fn optional_quantity(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.present(key)
            .map(|value| value.quantity(key))
            .transpose()
    }

    /// An optional byte string stored when truthy (`hb(d[key]) if d.get(key) else None`).
    pub fn truthy_bytes(&self, key: &str) -> Result<Option<Vec<u8>>> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Str(s)) if s.is_empty() => Err(declined!("{key} is an empty string")),
            Some(value) => value.hex_bytes(key).map(Some),
        }
    }
}

/// A big-endian integer that must fit 64 bits; `what` names it in the decline.
pub fn fit_u64(bytes: &[u8], what: &str) -> Result<u64> {
    u64_from_be(bytes).ok_or_else(|| declined!("{what} does not fit 64 bits"))
}

/// Parses a response body; anything serde_json refuses (including nesting
/// past its recursion limit) is a decline.
pub fn parse(body: &[u8]) -> Result<Value<'_>> {
    serde_json::from_slice(body).map_err(|e| declined!("response is not JSON: {e}"))
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> std::result::Result<Value<'de>, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> std::result::Result<Value<'de>, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E>(self, _: bool) -> std::result::Result<Value<'de>, E> {
        Ok(Value::Other)
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<Value<'de>, E> {
        Ok(Value::U64(v))
    }
    fn visit_i64<E>(self, _: i64) -> std::result::Result<Value<'de>, E> {
        Ok(Value::Other)
    }
    fn visit_f64<E>(self, _: f64) -> std::result::Result<Value<'de>, E> {
        Ok(Value::Other)
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Value<'de>, E> {
        Ok(Value::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<Value<'de>, E> {
        Ok(Value::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<Value<'de>, E> {
        Ok(Value::Str(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Value<'de>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Arr(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Value<'de>, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(16));
        while let Some(key) = map.next_key::<Key<'de>>()? {
            out.push((key.0, map.next_value()?));
        }
        Ok(Value::Obj(Obj(out)))
    }
}

impl<'de> Deserialize<'de> for Value<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

/// An object key, borrowed when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Str(s) => Ok(Key(s)),
            _ => Err(serde::de::Error::custom("object key is not a string")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_key_reads_as_its_last_value() {
        let value = parse(br#"{"a": "0x1", "a": "0x2", "n": null}"#).unwrap();
        let object = value.object("test").unwrap();
        assert_eq!(object.quantity_u64("a").unwrap(), 2);
        assert!(object.get("n").is_some() && object.present("n").is_none());
        assert_eq!(object.optional_quantity("n").unwrap(), None);
    }

    #[test]
    fn non_canonical_fields_decline() {
        let value = parse(br#"{"a": "0X01", "b": 5, "c": "", "d": "0x"}"#).unwrap();
        let object = value.object("test").unwrap();
        assert!(object.bytes("a").is_err());
        assert!(object.quantity("b").is_err());
        assert!(object.truthy_bytes("c").is_err());
        assert_eq!(object.truthy_bytes("d").unwrap(), Some(vec![]));
        assert!(object.bytes("missing").is_err());
        assert!(parse(&[b'['; 10_000]).is_err());
    }
}
