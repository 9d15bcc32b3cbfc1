mod common;

use common::*;
use ethcore::chain::{verify_chain, verify_chain_rlp};
use ethcore::header::{Era, Header, SealedHeader};
use ethcore::keccak::keccak256;
use ethcore::{rlp, Error};
use proptest::prelude::*;

#[test]
fn json_headers_hash_to_stated_hash() {
    let Some(files) = load_dir("headers") else {
        return;
    };
    let mut eras = std::collections::BTreeSet::new();
    for (name, b) in &files {
        let h = header_from_json(b);
        let enc = h.encode().unwrap();
        let again = Header::decode(&enc).unwrap();
        assert_eq!(again, h, "{name}: decode(encode) differs");
        eras.insert(format!("{:?}", h.era().unwrap()));
        let hash = keccak256(&enc);
        match b.get("hash").and_then(|v| v.as_str()) {
            Some(s) => assert_eq!(hash.to_vec(), hex_bytes(s), "{name}: hash"),
            None => eprintln!("{name}: no stated hash, computed 0x{}", hex::encode(hash)),
        }
        assert_eq!(h.number, qty_u64(&b["number"]));
    }
    assert_eq!(eras.len(), 5, "all five header layouts covered: {eras:?}");
}

#[test]
fn rlp_headers_roundtrip_and_hash() {
    let Some(files) = load_dir("headers_rlp") else {
        return;
    };
    for (name, f) in &files {
        let raw = vhex(&f["rlp"]);
        let sealed = SealedHeader::decode(&raw).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(sealed.hash.to_vec(), vhex(&f["hash"]), "{name}: hash");
        assert_eq!(
            sealed.header.number,
            f["number"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            sealed.header.encode().unwrap(),
            raw,
            "{name}: re-encoding not byte-identical"
        );
        assert_eq!(sealed.header.hash_slow().unwrap(), sealed.hash);
    }
}

#[test]
fn rlp_and_json_headers_agree() {
    let Some(files) = load_dir("headers_rlp") else {
        return;
    };
    let mut compared = 0;
    for (name, f) in &files {
        if let Some(j) = load_file("headers", name) {
            let from_json = header_from_json(&j).encode().unwrap();
            assert_eq!(from_json, vhex(&f["rlp"]), "{name}");
            compared += 1;
        }
    }
    assert!(compared >= 3, "compared {compared}");
}

/// Take a header's RLP payload, append one extra item, re-wrap.
fn with_extra_field(raw: &[u8], extra: &[u8]) -> Vec<u8> {
    let rlp::Item::List(payload) = rlp::decode_exact(raw).unwrap() else {
        panic!()
    };
    let mut p = payload.to_vec();
    rlp::encode_bytes(&mut p, extra);
    rlp::list_from_payload(&p)
}

fn drop_last_field(raw: &[u8]) -> Vec<u8> {
    let rlp::Item::List(payload) = rlp::decode_exact(raw).unwrap() else {
        panic!()
    };
    let mut r = rlp::ListReader::new(payload);
    let mut items = Vec::new();
    while !r.is_empty() {
        items.push(r.raw().unwrap());
    }
    items.pop();
    rlp::list_from_payload(&items.concat())
}

#[test]
fn unknown_or_missing_fields_are_rejected() {
    let Some(files) = load_dir("headers_rlp") else {
        return;
    };
    for (name, f) in &files {
        let raw = vhex(&f["rlp"]);
        let h = Header::decode(&raw).unwrap();
        let n = h.era().unwrap().field_count();
        let extra = with_extra_field(&raw, &[0x42; 32]);
        // One extra item can coincide with the next era's layout (e.g.
        // London + 32 bytes has Shanghai's shape); then it is read as that
        // field, never ignored.
        if let Ok(h2) = Header::decode(&extra) {
            assert_eq!(h2.era().unwrap().field_count(), n + 1, "{name}");
            assert_eq!(h2.encode().unwrap(), extra, "{name}: a field was ignored");
        }
        // Enough small extra fields to reach a count that matches no era.
        let k = match n {
            15 => 3,
            16 => 2,
            17 => 1,
            20 => 2,
            _ => 1,
        };
        let mut padded = raw.clone();
        for i in 0..k {
            padded = with_extra_field(&padded, &[i as u8 + 1]);
        }
        assert_eq!(
            Header::decode(&padded),
            Err(Error::HeaderFieldCount(n + k)),
            "{name}"
        );
        if n == 20 || n == 21 {
            let short = drop_last_field(&drop_last_field(&raw));
            assert!(
                Header::decode(&short).is_err(),
                "{name}: truncated header accepted"
            );
        }
        // Trailing garbage after the list.
        let mut t = raw.clone();
        t.push(0x80);
        assert_eq!(Header::decode(&t), Err(Error::RlpTrailingBytes));
    }
}

#[test]
fn prague_header_with_unknown_trailing_field_rejected() {
    let Some(f) = load_file("headers_rlp", "22431084.json") else {
        return;
    };
    let raw = vhex(&f["rlp"]);
    assert_eq!(Header::decode(&raw).unwrap().era().unwrap(), Era::Prague);
    let extra = with_extra_field(&raw, &[0x11; 32]);
    assert_eq!(Header::decode(&extra), Err(Error::HeaderFieldCount(22)));
}

#[test]
fn inconsistent_optional_fields_do_not_encode() {
    let Some(f) = load_file("headers_rlp", "22431084.json") else {
        return;
    };
    let mut h = Header::decode(&vhex(&f["rlp"])).unwrap();
    h.withdrawals_root = None;
    assert!(h.encode().is_err());
}

fn consecutive_headers() -> Option<Vec<SealedHeader>> {
    let mut hs = Vec::new();
    for n in 22431080u64..=22431090 {
        let b = load_file("headers", &format!("{n}.json"))?;
        hs.push(SealedHeader::seal(header_from_json(&b)).unwrap());
    }
    Some(hs)
}

#[test]
fn header_chain_links_to_anchor() {
    let Some(hs) = consecutive_headers() else {
        return;
    };
    let anchor = hs.last().unwrap().hash;
    verify_chain(&hs, &anchor).unwrap();
    // RLP form of the same chain.
    let raws: Vec<Vec<u8>> = hs.iter().map(|h| h.header.encode().unwrap()).collect();
    verify_chain_rlp(&raws, &anchor).unwrap();
    // Also the 1000001..1000010 and 15537392..94 runs in headers_rlp.
    for run in [
        1000001u64..=1000010,
        15537392..=15537394,
        17034869..=17034870,
        19426586..=19426587,
    ] {
        let raws: Vec<Vec<u8>> = run
            .clone()
            .map(|n| vhex(&load_file("headers_rlp", &format!("{n}.json")).unwrap()["rlp"]))
            .collect();
        let anchor = keccak256(raws.last().unwrap());
        verify_chain_rlp(&raws, &anchor).unwrap_or_else(|e| panic!("{run:?}: {e}"));
    }
}

#[test]
fn header_chain_rejections() {
    let Some(hs) = consecutive_headers() else {
        return;
    };
    let anchor = hs.last().unwrap().hash;
    assert_eq!(verify_chain(&[], &anchor), Err(Error::EmptyChain));
    assert_eq!(verify_chain(&hs, &hs[0].hash), Err(Error::AnchorMismatch));
    // wrong order (newest → oldest) is rejected
    let rev: Vec<_> = hs.iter().rev().cloned().collect();
    assert!(verify_chain(&rev, &hs[0].hash).is_err());
    // a gap
    let mut gap = hs.clone();
    gap.remove(4);
    assert_eq!(
        verify_chain(&gap, &anchor),
        Err(Error::ParentHashMismatch { index: 4 })
    );
    // wrong parent hash, resealed
    let mut bad = hs.clone();
    bad[3].header.parent_hash[0] ^= 1;
    bad[3] = SealedHeader::seal(bad[3].header.clone()).unwrap();
    assert_eq!(
        verify_chain(&bad, &anchor),
        Err(Error::ParentHashMismatch { index: 3 })
    );
    // a tampered header (hash kept from the original) breaks its child's link
    let mut forged = hs.clone();
    forged[5].header.state_root[7] ^= 0x80;
    let forged = SealedHeader::seal(forged[5].header.clone()).unwrap();
    let mut chain = hs.clone();
    chain[5] = forged;
    assert_eq!(
        verify_chain(&chain, &anchor),
        Err(Error::ParentHashMismatch { index: 6 })
    );
    // a non-consecutive number with a matching hash link
    let mut num = hs[..2].to_vec();
    num[1].header.number += 1;
    let resealed = SealedHeader::seal(num[1].header.clone()).unwrap();
    num[1] = resealed.clone();
    assert_eq!(
        verify_chain(&num, &resealed.hash),
        Err(Error::NonConsecutiveNumber { index: 1 })
    );
}

fn sample_rlp_headers() -> &'static [Vec<u8>] {
    static C: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    C.get_or_init(|| match load_dir("headers_rlp") {
        Some(f) => f.iter().map(|(_, v)| vhex(&v["rlp"])).collect(),
        None => Vec::new(),
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]
    /// Flipping any byte of a header either makes it undecodable or changes its hash.
    #[test]
    fn mutated_header_byte_rejected_or_rehashed(pick in any::<prop::sample::Index>(), pos in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let hs = sample_rlp_headers();
        if hs.is_empty() { return Ok(()); }
        let raw = &hs[pick.index(hs.len())];
        let orig = keccak256(raw);
        let mut m = raw.clone();
        let i = pos.index(m.len());
        m[i] ^= flip;
        if let Ok(s) = SealedHeader::decode(&m) {
            prop_assert_ne!(s.hash, orig);
            // and it no longer links as the anchor
            prop_assert_eq!(verify_chain(&[s], &orig), Err(Error::AnchorMismatch));
        }
    }

    /// Changing any header field changes the hash.
    #[test]
    fn mutated_header_field_changes_hash(pick in any::<prop::sample::Index>(), field in 0usize..15, v in any::<u64>()) {
        let hs = sample_rlp_headers();
        if hs.is_empty() { return Ok(()); }
        let raw = &hs[pick.index(hs.len())];
        let mut h = Header::decode(raw).unwrap();
        let before = h.clone();
        match field {
            0 => h.parent_hash[(v % 32) as usize] ^= 1,
            1 => h.ommers_hash[(v % 32) as usize] ^= 1,
            2 => h.beneficiary[(v % 20) as usize] ^= 1,
            3 => h.state_root[(v % 32) as usize] ^= 1,
            4 => h.transactions_root[(v % 32) as usize] ^= 1,
            5 => h.receipts_root[(v % 32) as usize] ^= 1,
            6 => h.logs_bloom.0[(v % 256) as usize] ^= 1,
            7 => h.difficulty = h.difficulty.wrapping_add(ethcore::U256::from(v | 1)),
            8 => h.number = h.number.wrapping_add(v | 1),
            9 => h.gas_limit ^= v | 1,
            10 => h.gas_used ^= v | 1,
            11 => h.timestamp ^= v | 1,
            12 => h.extra_data.push(v as u8),
            13 => h.mix_hash[(v % 32) as usize] ^= 1,
            _ => h.nonce[(v % 8) as usize] ^= 1,
        }
        prop_assert_ne!(&h, &before);
        prop_assert_ne!(h.hash_slow().unwrap(), keccak256(raw));
    }
}

#[test]
fn base_fee_is_a_uint256() {
    // execution-specs types base_fee_per_gas as Uint: a fee past 2^64 decodes and round-trips
    let Some(f) = load_file("headers_rlp", "22431084.json") else {
        return;
    };
    let mut h = Header::decode(&vhex(&f["rlp"])).unwrap();
    let big = ethcore::U256::from(1u64) << 70;
    h.base_fee_per_gas = Some(big);
    let again = Header::decode(&h.encode().unwrap()).unwrap();
    assert_eq!(again.base_fee_per_gas, Some(big));
}
