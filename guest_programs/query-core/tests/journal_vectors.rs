//! The shared journal vectors (contracts/test/vectors/journals.json, also read by the forge
//! tests and by tests/unit): `Journal::decode` gives each vector's fields, re-encoding gives
//! its bytes back, and a version-1 or tampered journal is refused.

use query_core::Journal;

const VECTORS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../contracts/test/vectors/journals.json"
));

/// The string value of `"key": "..."` in one vector's JSON text.
fn field<'a>(vector: &'a str, key: &str) -> &'a str {
    let at = vector
        .find(&format!("\"{key}\":"))
        .unwrap_or_else(|| panic!("no {key}"));
    let rest = vector[at + key.len() + 3..].trim_start();
    let rest = rest.strip_prefix('"').expect("a string value");
    &rest[..rest.find('"').expect("a closing quote")]
}

fn hex(s: &str) -> Vec<u8> {
    let s = s.strip_prefix("0x").expect("0x-hex");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digits"))
        .collect()
}

fn vectors() -> Vec<&'static str> {
    let all: Vec<&str> = VECTORS.split("\"name\":").skip(1).collect();
    assert!(
        all.len() >= 5,
        "expected the shared vectors, found {}",
        all.len()
    );
    all
}

#[test]
fn decodes_every_shared_vector() {
    for v in vectors() {
        let bytes = hex(field(v, "journal"));
        let j = Journal::decode(&bytes).expect("a valid journal");
        let num = |k: &str| field(v, k).parse::<u64>().expect("a decimal string");
        assert_eq!(j.chain_id, num("chainId"));
        assert_eq!(j.query_hash.to_vec(), hex(field(v, "queryHash")));
        assert_eq!(j.anchor_number, num("anchorNumber"));
        assert_eq!(j.anchor_hash.to_vec(), hex(field(v, "anchorHash")));
        assert_eq!(j.history_root.to_vec(), hex(field(v, "historyRoot")));
        assert_eq!(j.first_block, num("firstBlock"));
        assert_eq!(j.last_block, num("lastBlock"));
        assert_eq!(j.params, hex(field(v, "params")));
        assert_eq!(j.result, hex(field(v, "result")));
        assert_eq!(j.encode(), bytes);
    }
}

#[test]
fn refuses_other_versions_and_tampered_bytes() {
    let bytes = hex(field(vectors()[1], "journal"));
    let mut v1 = bytes.clone();
    v1[31] = 1;
    assert!(Journal::decode(&v1).is_err());
    let mut long = bytes.clone();
    long.push(0);
    assert!(Journal::decode(&long).is_err());
    assert!(Journal::decode(&bytes[..bytes.len() - 1]).is_err());
    let mut offset = bytes.clone();
    offset[32 * 9 - 1] ^= 0x20; // the params offset is no longer 0x140
    assert!(Journal::decode(&offset).is_err());
    let mut high = bytes;
    high[32] = 1; // chainId word above uint64
    assert!(Journal::decode(&high).is_err());
}
