//! ethereum/tests RLPTests and TrieTests, plus trie proof generation.
mod common;

use common::*;
use ethcore::keccak::keccak256;
use ethcore::mpt::{self, MultiProof};
use ethcore::rlp::{self, Item};
use ethcore::trie;
use ethcore::{Error, EMPTY_ROOT};
use proptest::prelude::*;
use serde_json::Value;

fn load(path: &str) -> Option<serde_json::Map<String, Value>> {
    let p = eth_tests_dir()?.join(path);
    Some(serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
}

/// Decimal string → minimal big-endian bytes.
fn dec_to_be(s: &str) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new(); // big-endian
    for ch in s.bytes() {
        let mut carry = (ch - b'0') as u32;
        for b in out.iter_mut().rev() {
            let v = *b as u32 * 10 + carry;
            *b = v as u8;
            carry = v >> 8;
        }
        while carry > 0 {
            out.insert(0, carry as u8);
            carry >>= 8;
        }
    }
    while out.first() == Some(&0) {
        out.remove(0);
    }
    out
}

fn encode_json(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::String(s) if s.starts_with('#') => rlp::encode_bytes(out, &dec_to_be(&s[1..])),
        Value::String(s) => rlp::encode_bytes(out, s.as_bytes()),
        Value::Number(n) => rlp::encode_u64(out, n.as_u64().unwrap()),
        Value::Array(a) => {
            let mut p = Vec::new();
            for x in a {
                encode_json(x, &mut p);
            }
            rlp::encode_list_payload(out, &p);
        }
        _ => panic!("unexpected {v}"),
    }
}

/// Strictly decode, then re-encode generically; must reproduce the input.
fn reencode(raw: &[u8]) -> Result<Vec<u8>, Error> {
    fn go(item: Item<'_>, raw: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        match item {
            Item::String(p) => rlp::encode_bytes(out, p),
            Item::List(p) => {
                let mut r = rlp::ListReader::new(p);
                let mut inner = Vec::new();
                while !r.is_empty() {
                    let (raw, it) = r.item()?;
                    go(it, raw, &mut inner)?;
                }
                rlp::encode_list_payload(out, &inner);
            }
        }
        let _ = raw;
        Ok(())
    }
    let item = rlp::decode_exact(raw)?;
    let mut out = Vec::new();
    go(item, raw, &mut out)?;
    Ok(out)
}

#[test]
fn rlp_valid_vectors() {
    let Some(t) = load("RLPTests/rlptest.json") else {
        return;
    };
    for (name, case) in &t {
        let want = hex_bytes(case["out"].as_str().unwrap());
        let mut got = Vec::new();
        encode_json(&case["in"], &mut got);
        assert_eq!(got, want, "{name}: encode");
        assert_eq!(reencode(&want).unwrap(), want, "{name}: decode/re-encode");
    }
    assert_eq!(t.len(), 28);
}

#[test]
fn rlp_invalid_vectors() {
    let Some(t) = load("RLPTests/invalidRLPTest.json") else {
        return;
    };
    for (name, case) in &t {
        let raw = hex_bytes(case["out"].as_str().unwrap());
        assert!(reencode(&raw).is_err(), "{name}: accepted invalid RLP");
    }
    assert_eq!(t.len(), 26);
}

#[test]
fn rlp_integer_strictness() {
    assert_eq!(rlp::uint_u64(&[0, 1]), Err(Error::RlpLeadingZero));
    assert_eq!(rlp::uint_u64(&[0]), Err(Error::RlpLeadingZero));
    assert_eq!(rlp::uint_u64(&[1; 9]), Err(Error::RlpOverflow));
    assert_eq!(rlp::uint_u256(&[1; 33]), Err(Error::RlpOverflow));
    assert_eq!(rlp::uint_u64(&[]), Ok(0));
    // 0x00 as a single byte is not the integer 0
    let mut r = rlp::ListReader::new(&[0x00]);
    assert_eq!(r.u64(), Err(Error::RlpLeadingZero));
    // 0x8105 is a non-canonical single byte
    assert_eq!(
        rlp::decode_exact(&[0x81, 0x05]),
        Err(Error::RlpNonCanonicalSingleByte)
    );
    // list length overrun
    assert_eq!(
        rlp::decode_exact(&[0xc3, 0x01, 0x02]),
        Err(Error::RlpInputTooShort)
    );
    // item inside a list overruns the list
    assert_eq!(
        rlp::list_exact(&[0xc2, 0x82, 0x01]).unwrap().count(),
        Err(Error::RlpInputTooShort)
    );
}

fn trie_case_entries(input: &Value, secure: bool) -> Vec<(Vec<u8>, Vec<u8>)> {
    fn val(v: &Value) -> Option<Vec<u8>> {
        let s = v.as_str()?;
        Some(if let Some(h) = s.strip_prefix("0x") {
            hex::decode(h).unwrap()
        } else {
            s.as_bytes().to_vec()
        })
    }
    let pairs: Vec<(Vec<u8>, Option<Vec<u8>>)> = match input {
        Value::Array(a) => a
            .iter()
            .map(|p| (val(&p[0]).unwrap(), val(&p[1])))
            .collect(),
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| (val(&Value::String(k.clone())).unwrap(), val(v)))
            .collect(),
        _ => panic!(),
    };
    let mut m = std::collections::BTreeMap::new();
    for (k, v) in pairs {
        let k = if secure { keccak256(&k).to_vec() } else { k };
        match v {
            Some(v) if !v.is_empty() => {
                m.insert(k, v);
            }
            _ => {
                m.remove(&k);
            }
        }
    }
    m.into_iter().collect()
}

#[test]
fn trie_vectors() {
    let files = [
        ("TrieTests/trietest.json", false),
        ("TrieTests/trieanyorder.json", false),
        ("TrieTests/trietest_secureTrie.json", true),
        ("TrieTests/trieanyorder_secureTrie.json", true),
        ("TrieTests/hex_encoded_securetrie_test.json", true),
    ];
    let mut n = 0;
    for (f, secure) in files {
        let Some(t) = load(f) else { return };
        for (name, case) in &t {
            let entries = trie_case_entries(&case["in"], secure);
            let root = trie::trie_root(&entries).unwrap();
            assert_eq!(
                root.to_vec(),
                hex_bytes(case["root"].as_str().unwrap()),
                "{f} {name}"
            );
            // every key proves its value, single and multi proof
            for (k, v) in &entries {
                let (r2, proof) = trie::trie_proof(&entries, k).unwrap();
                assert_eq!(r2, root);
                assert_eq!(
                    mpt::verify_proof(&root, k, &proof).unwrap(),
                    Some(v.as_slice()),
                    "{f} {name}"
                );
                let set = MultiProof::new(proof.iter().map(|p| p.as_slice()));
                assert_eq!(set.get(&root, k).unwrap(), Some(v.as_slice()));
            }
            n += 1;
        }
    }
    assert_eq!(n, 25);
}

#[test]
fn empty_trie() {
    let e: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    assert_eq!(trie::trie_root(&e).unwrap(), EMPTY_ROOT);
    assert_eq!(keccak256(&[0x80]), EMPTY_ROOT);
    let none: Vec<Vec<u8>> = Vec::new();
    assert_eq!(trie::ordered_trie_root(&none).unwrap(), EMPTY_ROOT);
}

#[test]
fn exclusion_kinds() {
    // Keys chosen to exercise: empty branch slot, divergent extension, leaf with other key,
    // embedded (short) nodes, branch value.
    let entries: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (vec![0x12, 0x34], b"a".to_vec()),
        (vec![0x12, 0x35], b"b".to_vec()),
        (vec![0x12], b"branch-value".to_vec()),
        (vec![0x56, 0x78, 0x9a], vec![7; 40]),
        (vec![0x56, 0x78, 0x9b], vec![8; 40]),
        (vec![0xab; 32], vec![9; 3]),
    ];
    let root = trie::trie_root(&entries).unwrap();
    for (k, v) in &entries {
        let (_, p) = trie::trie_proof(&entries, k).unwrap();
        assert_eq!(
            mpt::verify_proof(&root, k, &p).unwrap(),
            Some(v.as_slice()),
            "{k:02x?}"
        );
    }
    for absent in [
        vec![0x12, 0x36],       // embedded leaf sibling slot empty
        vec![0x12, 0x34, 0x00], // past a leaf
        vec![0x13],             // diverges inside extension / empty slot
        vec![0x56, 0x79],       // divergent extension
        vec![0x56, 0x78, 0x9c], // empty branch slot
        vec![0xab; 31],         // leaf with other key
        vec![0xf0],             // empty root slot
        vec![],                 // root branch value (empty)
    ] {
        let (r, p) = trie::trie_proof(&entries, &absent).unwrap();
        assert_eq!(r, root);
        assert_eq!(
            mpt::verify_proof(&root, &absent, &p).unwrap(),
            None,
            "{absent:02x?}"
        );
        // tampering with the exclusion proof is caught
        if let Some(last) = p.last() {
            let mut m = p.clone();
            let i = m.len() - 1;
            let j = last.len() / 2;
            m[i][j] ^= 1;
            assert!(
                mpt::verify_proof(&root, &absent, &m).is_err(),
                "{absent:02x?}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_tries_prove_inclusion_and_exclusion(
        m in prop::collection::btree_map(prop::collection::vec(any::<u8>(), 0..6), prop::collection::vec(any::<u8>(), 1..40), 1..40),
        probe in prop::collection::vec(any::<u8>(), 0..6),
    ) {
        let entries: Vec<(Vec<u8>, Vec<u8>)> = m.clone().into_iter().collect();
        let root = trie::trie_root(&entries).unwrap();
        for (k, v) in &entries {
            let (_, p) = trie::trie_proof(&entries, k).unwrap();
            prop_assert_eq!(mpt::verify_proof(&root, k, &p).unwrap(), Some(v.as_slice()));
        }
        let (_, p) = trie::trie_proof(&entries, &probe).unwrap();
        prop_assert_eq!(mpt::verify_proof(&root, &probe, &p).unwrap(), m.get(&probe).map(|v| v.as_slice()));
        // changing one value changes the root
        let mut e2 = entries.clone();
        e2[0].1.push(1);
        prop_assert_ne!(trie::trie_root(&e2).unwrap(), root);
    }

    #[test]
    fn rlp_roundtrip_and_mutation(items in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..70), 0..20), n in any::<u64>(), pos in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let mut p = Vec::new();
        rlp::encode_u64(&mut p, n);
        for it in &items { rlp::encode_bytes(&mut p, it); }
        let enc = rlp::list_from_payload(&p);
        let mut r = rlp::list_exact(&enc).unwrap();
        prop_assert_eq!(r.u64().unwrap(), n);
        for it in &items { prop_assert_eq!(r.bytes().unwrap(), it.as_slice()); }
        r.finish().unwrap();
        prop_assert_eq!(reencode(&enc).unwrap(), enc.clone());
        // a mutated encoding either fails or re-encodes to itself (canonical)
        let mut m = enc.clone();
        let i = pos.index(m.len());
        m[i] ^= flip;
        if let Ok(re) = reencode(&m) { prop_assert_eq!(re, m); }
    }
}
