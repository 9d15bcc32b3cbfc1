mod common;

use common::*;
use ethcore::keccak::keccak256;
use ethcore::mpt::{self, Account, MultiProof};
use ethcore::{Error, B256, EMPTY_ROOT, U256};
use proptest::prelude::*;
use serde_json::Value;

struct Case {
    name: String,
    state_root: B256,
    address: [u8; 20],
    account: Account,
    account_proof: Vec<Vec<u8>>,
    storage: Vec<(B256, U256, Vec<Vec<u8>>)>,
}

fn cases() -> Option<Vec<Case>> {
    let files = load_dir("proofs")?;
    Some(
        files
            .into_iter()
            .map(|(name, f)| {
                let r = &f["result"];
                let storage = r["storageProof"]
                    .as_array()
                    .map(|a| a.as_slice())
                    .unwrap_or(&[])
                    .iter()
                    .map(|s: &Value| {
                        let key: Vec<u8> = vhex(&s["key"]);
                        let mut slot = [0u8; 32];
                        slot[32 - key.len()..].copy_from_slice(&key);
                        (
                            slot,
                            qty_u256(&s["value"]),
                            s["proof"].as_array().unwrap().iter().map(vhex).collect(),
                        )
                    })
                    .collect();
                Case {
                    name,
                    state_root: fixed(&f["stateRoot"]),
                    address: fixed(&r["address"]),
                    account: Account {
                        nonce: qty_u64(&r["nonce"]),
                        balance: qty_u256(&r["balance"]),
                        storage_root: fixed(&r["storageHash"]),
                        code_hash: fixed(&r["codeHash"]),
                    },
                    account_proof: r["accountProof"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(vhex)
                        .collect(),
                    storage,
                }
            })
            .collect(),
    )
}

#[test]
fn state_roots_match_headers() {
    let Some(cs) = cases() else { return };
    for c in &cs {
        let n = number_of(&c.name);
        if let Some(h) = load_file("headers", &format!("{n}.json")) {
            assert_eq!(c.state_root, fixed::<32>(&h["stateRoot"]), "{}", c.name);
        }
    }
}

#[test]
fn every_account_and_storage_proof_verifies() {
    let Some(cs) = cases() else { return };
    let (mut slots, mut zero_slots) = (0, 0);
    for c in &cs {
        let acct = mpt::verify_account_proof(&c.state_root, &c.address, &c.account_proof)
            .unwrap_or_else(|e| panic!("{}: {e}", c.name))
            .expect("account exists");
        assert_eq!(acct, c.account, "{}", c.name);
        for (slot, value, proof) in &c.storage {
            let v = mpt::verify_storage_proof(&acct.storage_root, slot, proof)
                .unwrap_or_else(|e| panic!("{} slot {}: {e}", c.name, hex::encode(slot)));
            assert_eq!(v, *value, "{} slot {}", c.name, hex::encode(slot));
            slots += 1;
            if value.is_zero() {
                zero_slots += 1;
            }
        }
    }
    assert!(
        slots >= 20 && zero_slots >= 3,
        "slots {slots}, zero {zero_slots}"
    );
}

#[test]
fn other_addresses_never_resolve_to_an_account() {
    // Walking another address through a real proof: either proven absent or
    // the proof lacks the needed node; never a wrong account.
    let Some(cs) = cases() else { return };
    let mut absent = 0;
    for c in &cs {
        let set = MultiProof::new(c.account_proof.iter().map(|v| v.as_slice()));
        for i in 1u8..=255 {
            let mut other = c.address;
            other[19] ^= i;
            match set.account(&c.state_root, &other) {
                Ok(None) => absent += 1,
                Ok(Some(a)) => panic!("{}: unexpected account {a:?}", c.name),
                Err(Error::ProofNodeMissing) => {}
                Err(e) => panic!("{}: {e}", c.name),
            }
        }
    }
    eprintln!("addresses proven absent via real nodes: {absent}");
}

#[test]
fn multiproof_per_block_union() {
    let Some(cs) = cases() else { return };
    let mut blocks: std::collections::BTreeMap<u64, Vec<&Case>> = Default::default();
    for c in &cs {
        blocks.entry(number_of(&c.name)).or_default().push(c);
    }
    for (n, group) in blocks {
        let mut all: Vec<&[u8]> = Vec::new();
        for c in &group {
            all.extend(c.account_proof.iter().map(|v| v.as_slice()));
            for (_, _, p) in &c.storage {
                all.extend(p.iter().map(|v| v.as_slice()));
            }
        }
        let total = all.len();
        // shuffle-ish: reverse order to show order does not matter
        all.reverse();
        let set = MultiProof::new(all);
        assert!(set.len() <= total);
        for c in &group {
            let a = set.account(&c.state_root, &c.address).unwrap().unwrap();
            assert_eq!(a, c.account, "{n} {}", c.name);
            for (slot, value, _) in &c.storage {
                assert_eq!(
                    set.storage(&a.storage_root, slot).unwrap(),
                    *value,
                    "{}",
                    c.name
                );
            }
        }
        eprintln!("block {n}: {total} proof nodes, {} distinct", set.len());
    }
}

#[test]
fn empty_storage_root_is_absence() {
    assert_eq!(
        mpt::verify_storage_proof::<Vec<u8>>(&EMPTY_ROOT, &[7; 32], &[]).unwrap(),
        U256::ZERO
    );
    assert_eq!(
        mpt::verify_storage_proof(&EMPTY_ROOT, &[7; 32], &[vec![0x80u8]]).unwrap(),
        U256::ZERO
    );
    // a non-empty root with no proof is an error, not absence
    assert_eq!(
        mpt::verify_storage_proof::<Vec<u8>>(&[1; 32], &[7; 32], &[]),
        Err(Error::ProofNodeMissing)
    );
}

#[test]
fn proof_rejections() {
    let Some(cs) = cases() else { return };
    let c = cs.iter().find(|c| !c.storage.is_empty()).unwrap();
    // wrong root
    let mut root = c.state_root;
    root[0] ^= 1;
    assert_eq!(
        mpt::verify_account_proof(&root, &c.address, &c.account_proof),
        Err(Error::ProofHashMismatch)
    );
    // missing last node
    let short = &c.account_proof[..c.account_proof.len() - 1];
    assert_eq!(
        mpt::verify_account_proof(&c.state_root, &c.address, short),
        Err(Error::ProofNodeMissing)
    );
    // extra trailing node
    let mut long = c.account_proof.clone();
    long.push(c.account_proof[0].clone());
    assert_eq!(
        mpt::verify_account_proof(&c.state_root, &c.address, &long),
        Err(Error::ProofUnusedNodes)
    );
    // swapped nodes
    let mut sw = c.account_proof.clone();
    sw.swap(0, 1);
    assert!(mpt::verify_account_proof(&c.state_root, &c.address, &sw).is_err());
    // storage proof against the wrong storage root
    let (slot, _, proof) = &c.storage[0];
    assert!(mpt::verify_storage_proof(&c.state_root, slot, proof).is_err());
    // account leaf claiming another key
    assert!(!matches!(
        mpt::verify_account_proof(&c.state_root, &[0x11; 20], &c.account_proof),
        Ok(Some(_))
    ));
    let _ = keccak256(b"");
}

type ProofCase = (B256, Vec<u8>, Vec<Vec<u8>>, Option<Vec<u8>>);

fn all_proofs() -> &'static [ProofCase] {
    static C: std::sync::OnceLock<Vec<ProofCase>> = std::sync::OnceLock::new();
    C.get_or_init(all_proofs_uncached)
}

fn all_proofs_uncached() -> Vec<ProofCase> {
    // (root, key, proof, expected raw value)
    let Some(cs) = cases() else { return Vec::new() };
    let mut out = Vec::new();
    for c in cs {
        let key = keccak256(&c.address).to_vec();
        out.push((
            c.state_root,
            key,
            c.account_proof.clone(),
            Some(c.account.encode()),
        ));
        for (slot, value, proof) in c.storage {
            let v = if value.is_zero() {
                None
            } else {
                let mut e = Vec::new();
                ethcore::rlp::encode_u256(&mut e, &value);
                Some(e)
            };
            out.push((c.account.storage_root, keccak256(&slot).to_vec(), proof, v));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, failure_persistence: None, ..ProptestConfig::default() })]
    /// Mutating one byte of one proof node never yields an accepted different answer.
    #[test]
    fn mutated_proof_node_rejected(pick in any::<prop::sample::Index>(), node in any::<prop::sample::Index>(), pos in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let ps = all_proofs();
        if ps.is_empty() { return Ok(()); }
        let (root, key, proof, expected) = &ps[pick.index(ps.len())];
        prop_assume!(!proof.is_empty());
        prop_assert_eq!(mpt::verify_proof(root, key, proof).unwrap().map(|v| v.to_vec()), expected.clone());
        let mut m = proof.clone();
        let ni = node.index(m.len());
        let bi = pos.index(m[ni].len());
        m[ni][bi] ^= flip;
        prop_assert!(mpt::verify_proof(root, key, &m).is_err());
        // and through the multiproof path
        let set = MultiProof::new(m.iter().map(|v| v.as_slice()));
        prop_assert!(set.get(root, key).is_err());
    }

    /// Any other key through the same proof: absent, missing node, or error; never the value.
    #[test]
    fn other_key_never_gets_value(pick in any::<prop::sample::Index>(), k in any::<[u8; 32]>()) {
        let ps = all_proofs();
        if ps.is_empty() { return Ok(()); }
        let (root, key, proof, expected) = &ps[pick.index(ps.len())];
        prop_assume!(k.as_slice() != key.as_slice());
        let set = MultiProof::new(proof.iter().map(|v| v.as_slice()));
        if let Ok(Some(v)) = set.get(root, &k) {
            prop_assert!(Some(v.to_vec()) != *expected || expected.is_none());
        }
    }
}
