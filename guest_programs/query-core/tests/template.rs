//! Binding plan templates to parameter values (`query_core::template`): the values are checked
//! against the declared types, substituted everywhere a value may stand (filter, select, block
//! bounds, mapping slots), and the state keys and bloom keys are derived from the bound filter.

use ethcore::keccak::keccak256;
use ethcore::rlp;
use query_core::abi::encode_values;
use query_core::plan::{Plan, Source, T_ADDRESS, T_UINT};
use query_core::template::Template;
use query_core::{Error, Value};

/// RLP of an item list given as already-encoded items.
fn list(items: &[Vec<u8>]) -> Vec<u8> {
    rlp::list_from_payload(&items.concat())
}

fn int(v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    rlp::encode_u64(&mut out, v);
    out
}

fn param(i: u64) -> Vec<u8> {
    list(&[int(6), int(i)])
}

/// `SELECT value FROM storage WHERE address = :token AND slot = mapping_slot(:base, :account)
///  AND block_number = :block` as the compiler writes it.
fn balance_template() -> Vec<u8> {
    let col = |i| list(&[int(1), int(i)]);
    let eq = |a, b| list(&[int(20), a, b]);
    let and = |a, b| list(&[int(30), a, b]);
    let slot = list(&[int(7), list(&[param(1), param(2)])]);
    let filter = and(eq(col(1), param(0)), eq(col(2), slot));
    list(&[
        int(2),
        list(&[int(T_ADDRESS), int(T_UINT), int(T_ADDRESS), int(T_UINT)]),
        list(&[int(7)]),
        param(3),
        param(3),
        filter.clone(), // state_filter: the key conjuncts
        filter,
        list(&[]),
        list(&[]),
        list(&[col(3)]),
        list(&[]),
        list(&[]),
        list(&[int(T_UINT)]),
    ])
}

fn values(token: u8, account: u8, block: u64) -> Vec<u8> {
    let types = [T_ADDRESS, T_UINT, T_ADDRESS, T_UINT];
    let vals = [
        Value::Bytes(vec![token; 20]),
        Value::u64(0),
        Value::Bytes(vec![account; 20]),
        Value::u64(block),
    ];
    encode_values(&types, &vals).unwrap()
}

fn storage_keys(p: &Plan) -> (Vec<[u8; 20]>, Vec<[u8; 32]>) {
    match &p.source {
        Source::Storage { addresses, slots } => (addresses.clone(), slots.clone()),
        other => panic!("not storage: {other:?}"),
    }
}

#[test]
fn binding_substitutes_values_and_derives_the_state_keys() {
    let t = Template::decode(&balance_template()).unwrap();
    let p = t.bind(&values(0x11, 0xaa, 9)).unwrap();
    assert_eq!((p.first_block, p.last_block), (9, 9));
    let mut preimage = [0u8; 64];
    preimage[12..32].copy_from_slice(&[0xaa; 20]);
    assert_eq!(
        storage_keys(&p),
        (vec![[0x11; 20]], vec![keccak256(&preimage)])
    );
    // other values: the same template, other keys and block
    let q = t.bind(&values(0x22, 0xbb, 10)).unwrap();
    assert_eq!(q.first_block, 10);
    assert_eq!(storage_keys(&q).0, vec![[0x22; 20]]);
    assert_ne!(storage_keys(&q).1, storage_keys(&p).1);
}

#[test]
fn missing_extra_ill_typed_or_unbound_values_fail() {
    let t = Template::decode(&balance_template()).unwrap();
    let good = values(0x11, 0xaa, 9);
    assert!(t.bind(&good[..good.len() - 32]).is_err());
    let mut extra = good.clone();
    extra.extend_from_slice(&[0u8; 32]);
    assert!(t.bind(&extra).is_err());
    let mut dirty = good.clone();
    dirty[0] = 1; // an address word with a non-zero high byte
    assert!(t.bind(&dirty).is_err());
    let mut big = good.clone();
    big[32 * 3 + 23] = 1; // block = 2^64 + 9
    assert!(t.bind(&big).is_err());
    assert!(t.bind(&[]).is_err());
    assert!(Plan::decode(&balance_template()).is_err()); // a template is not a plan
    let mut v1 = balance_template();
    let header = if v1[0] >= 0xf8 {
        1 + (v1[0] - 0xf7) as usize
    } else {
        1
    };
    v1[header] = 1; // version 1 is not decoded
    assert_eq!(
        Template::decode(&v1).err(),
        Some(Error::Invalid("plan version is not 2"))
    );
}

#[test]
fn a_parameter_index_past_the_declarations_fails() {
    let mut t = Template::decode(&balance_template()).unwrap();
    t.param_types.truncate(3); // :block (index 3) is no longer declared
    let types = [T_ADDRESS, T_UINT, T_ADDRESS];
    let vals = [
        Value::Bytes(vec![1; 20]),
        Value::u64(0),
        Value::Bytes(vec![2; 20]),
    ];
    assert!(t.bind(&encode_values(&types, &vals).unwrap()).is_err());
}
