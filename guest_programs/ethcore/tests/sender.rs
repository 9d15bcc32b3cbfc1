//! Sender recovery: every transaction of every mainnet fixture block (types
//! 0-4, legacy with and without EIP-155) recovers its JSON `from`; tampered
//! signatures or payloads do not.
mod common;

use common::*;
use ethcore::transaction::{recover_sender, recover_sender_frontier, signing_data, Transaction};
use ethcore::Error;

#[test]
fn every_fixture_tx_recovers_its_from() {
    let Some(files) = load_dir("blocks") else {
        return;
    };
    let mut types = [0usize; 5];
    let (mut eip155, mut pre155) = (0usize, 0usize);
    for (name, b) in &files {
        let number = number_of(name);
        for t in b["transactions"].as_array().unwrap() {
            let raw = tx_raw_from_json(t);
            let tx = Transaction::decode(&raw).unwrap();
            let from = if number < 1_150_000 {
                recover_sender_frontier(&raw)
            } else {
                recover_sender(&raw)
            }
            .unwrap_or_else(|e| panic!("{name}: tx {}: {e}", t["hash"]));
            assert_eq!(from.to_vec(), vhex(&t["from"]), "{name}: tx {}", t["hash"]);
            types[tx.tx_type as usize] += 1;
            if tx.tx_type == 0 {
                if tx.chain_id.is_some() {
                    eip155 += 1
                } else {
                    pre155 += 1
                }
            }
        }
    }
    eprintln!("recovered senders by type {types:?}; legacy eip155 {eip155}, pre-155 {pre155}");
    assert!(
        types.iter().all(|&n| n > 0),
        "fixtures lack a tx type: {types:?}"
    );
    assert!(eip155 > 0 && pre155 > 0);
}

/// Every tx of every type with one byte of r or s flipped: an error or another address.
#[test]
fn flipped_signature_byte_changes_sender() {
    let Some(files) = load_dir("blocks") else {
        return;
    };
    let mut seen = [false; 5];
    for (_, b) in &files {
        for t in b["transactions"].as_array().unwrap() {
            let raw = tx_raw_from_json(t);
            let ty = Transaction::decode(&raw).unwrap().tx_type as usize;
            if seen[ty] {
                continue;
            }
            seen[ty] = true;
            let from = vhex(&t["from"]);
            // the last 32 bytes are s; r is the 32 (+1 header) before it
            for pos in [
                raw.len() - 1,
                raw.len() - 20,
                raw.len() - 40,
                raw.len() - 60,
            ] {
                let mut bad = raw.clone();
                bad[pos] ^= 0x01;
                if let Ok(a) = recover_sender(&bad) {
                    assert_ne!(a.to_vec(), from, "type {ty} pos {pos}");
                }
            }
            // a flipped byte in the payload (the nonce / chain id region)
            let mut bad = raw.clone();
            let mid = raw.len() / 2;
            bad[mid] ^= 0x01;
            if let Ok(a) = recover_sender(&bad) {
                assert_ne!(a.to_vec(), from, "type {ty} payload");
            }
        }
    }
    assert!(seen.iter().all(|&s| s));
}

#[test]
fn high_s_rejected_after_homestead() {
    let Some(files) = load_dir("blocks") else {
        return;
    };
    let (_, b) = files
        .iter()
        .find(|(n, _)| number_of(n) >= 15_537_394)
        .unwrap();
    let t = &b["transactions"].as_array().unwrap()[0];
    let raw = tx_raw_from_json(t);
    let d = signing_data(&raw).unwrap();
    // s' = n - s, parity flipped: the same key, but high s
    let n = ethcore::U256::from_be_bytes([
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36,
        0x41, 0x41,
    ]);
    let s = ethcore::U256::from_be_bytes(d.s);
    let high = ethcore::transaction::SigningData {
        s: (n - s).to_be_bytes::<32>(),
        y_parity: d.y_parity ^ 1,
        ..d.clone()
    };
    assert_eq!(
        ethcore::transaction::recover_address(&high, false),
        Err(Error::InvalidSignature)
    );
    assert_eq!(
        ethcore::transaction::recover_address(&high, true)
            .unwrap()
            .to_vec(),
        vhex(&t["from"])
    );
    // zero r / s
    let zero = ethcore::transaction::SigningData {
        r: [0; 32],
        ..d.clone()
    };
    assert_eq!(
        ethcore::transaction::recover_address(&zero, false),
        Err(Error::InvalidSignature)
    );
    assert!(recover_sender(&[]).is_err());
    assert!(recover_sender(&[0x05, 0xc0]).is_err());
}
