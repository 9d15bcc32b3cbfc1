//! What a plan means is decided here, not by the compiler that wrote it
//! (PLAN.md "Checks the guest makes on a plan"):
//!
//! - every expression is well typed (uint, bytes of a known or any length,
//!   bool), and every output column has the type its ABI type code says;
//! - the bloom keys are exactly those the filter implies ([`derive_bloom_keys`]),
//!   so a prover cannot choose which blocks it may skip;
//! - sizes are bounded (expression depth, IN lists, state domains, block
//!   range), so a plan cannot exhaust the guest before it fails clearly.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use crate::plan::{
    BinOp, Expr, Plan, Source, AVG, COUNT, COUNT_DISTINCT, COUNT_STAR, EV_ADDRESS, EV_BOOL,
    EV_UINT, MAX, MIN, SUM, T_ADDRESS, T_BOOL, T_BYTES, T_BYTES32, T_UINT,
};
use crate::{Error, Result, Value};

/// Deepest expression nesting a plan may have (decoding is recursive).
pub const MAX_EXPR_DEPTH: usize = 256;
/// Most constants in one IN list.
pub const MAX_IN_LIST: usize = 1024;
/// Most addresses (and, for storage, most slots) of a state source.
pub const MAX_STATE_KEYS: usize = 1024;
/// Most blocks in a plan's range, and most headers in a witness (all of mainnet's
/// history fits: about 24M blocks in 2026).
pub const MAX_BLOCKS: u64 = 1 << 25;
/// Most domain points (blocks × addresses × slots) of a state source.
pub const MAX_STATE_POINTS: u64 = 1 << 20;
/// Largest plan encoding accepted.
pub const MAX_PLAN_BYTES: usize = 1 << 16;

/// The static type of an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// uint256
    Uint,
    /// bytes; `Some(n)` when every value is exactly n bytes long
    Bytes(Option<usize>),
    /// bool
    Bool,
}

impl Kind {
    fn same_family(self, other: Kind) -> bool {
        matches!(
            (self, other),
            (Kind::Uint, Kind::Uint) | (Kind::Bool, Kind::Bool) | (Kind::Bytes(_), Kind::Bytes(_))
        )
    }
}

const U: Kind = Kind::Uint;
const A: Kind = Kind::Bytes(Some(20));
const H: Kind = Kind::Bytes(Some(32));
const D: Kind = Kind::Bytes(None);
const B: Kind = Kind::Bool;

/// Column types of a source, in the plan's column numbering (PLAN.md "Sources").
pub fn column_kinds(s: &Source) -> Vec<Kind> {
    match s {
        Source::Blocks => alloc::vec![U, H, H, A, H, H, H, U, U, U, U, D, H, U, H, U, U, H],
        Source::Transactions => alloc::vec![U, U, H, U, A, A, U, U, U, U, U, U, D, U, U, U],
        Source::Receipts => alloc::vec![U; 7],
        Source::Logs => alloc::vec![U, U, U, A, H, H, H, H, D],
        Source::Event { params, .. } => {
            let mut k = alloc::vec![U, U, U, A];
            k.extend(params.iter().map(|p| match p.kind {
                EV_ADDRESS => A,
                EV_UINT => U,
                EV_BOOL => B,
                _ => H, // bytesN: the whole 32-byte word (left-aligned, rest zero)
            }));
            k
        }
        Source::Accounts { .. } => alloc::vec![U, A, B, U, U, H, H],
        Source::Storage { .. } => alloc::vec![U, A, H, U],
    }
}

fn const_kind(v: &Value) -> Result<Kind> {
    Ok(match v {
        Value::Uint(_) => U,
        Value::Bytes(b) => Kind::Bytes(Some(b.len())),
        Value::Bool(_) => B,
        Value::Null => {
            return Err(Error::Invalid(
                "NULL constants are not part of plan version 2",
            ))
        }
    })
}

/// What an expression may refer to.
struct Scope<'a> {
    row: Option<&'a [Kind]>,
    groups: Option<&'a [Kind]>,
    aggs: Option<&'a [Kind]>,
}

fn kind_of(e: &Expr, s: &Scope<'_>) -> Result<Kind> {
    let pick = |list: Option<&[Kind]>, i: usize, what: &'static str| {
        list.and_then(|l| l.get(i))
            .copied()
            .ok_or(Error::Invalid(what))
    };
    Ok(match e {
        Expr::Col(i) => pick(
            s.row,
            *i,
            "column reference out of range or not allowed here",
        )?,
        Expr::Group(i) => pick(
            s.groups,
            *i,
            "group reference out of range or not allowed here",
        )?,
        Expr::Agg(i) => pick(
            s.aggs,
            *i,
            "aggregate reference out of range or not allowed here",
        )?,
        Expr::Const(v) => const_kind(v)?,
        Expr::Param(_) | Expr::MapSlot(_) => {
            return Err(Error::Invalid("a parameter is not bound to a value"))
        }
        Expr::Not(a) => {
            if kind_of(a, s)? != B {
                return Err(Error::Invalid("NOT of a non-boolean"));
            }
            B
        }
        Expr::In(a, consts) => {
            let k = kind_of(a, s)?;
            if consts.is_empty() || consts.len() > MAX_IN_LIST {
                return Err(Error::Invalid("IN list is empty or too long"));
            }
            for c in consts {
                if !const_kind(c)?.same_family(k) {
                    return Err(Error::Invalid("IN list constant of another type"));
                }
            }
            if consts.windows(2).any(|w| w[0] >= w[1]) {
                return Err(Error::Invalid("IN list is not sorted and unique"));
            }
            B
        }
        Expr::Bin(op, a, b) => {
            let (ka, kb) = (kind_of(a, s)?, kind_of(b, s)?);
            match op {
                BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => {
                    if ka != U || kb != U {
                        return Err(Error::Invalid("arithmetic on a non-uint"));
                    }
                    U
                }
                BinOp::And | BinOp::Or => {
                    if ka != B || kb != B {
                        return Err(Error::Invalid("AND/OR of a non-boolean"));
                    }
                    B
                }
                _ => {
                    if !ka.same_family(kb) {
                        return Err(Error::Invalid("comparison of different types"));
                    }
                    if ka == B && !matches!(op, BinOp::Eq | BinOp::Ne) {
                        return Err(Error::Invalid("booleans compare with = and <> only"));
                    }
                    B
                }
            }
        }
    })
}

fn output_kind_ok(t: u64, k: Kind) -> bool {
    match t {
        T_UINT => k == U,
        T_ADDRESS => k == A,
        T_BYTES32 => k == H,
        T_BYTES => matches!(k, Kind::Bytes(_)),
        T_BOOL => k == B,
        _ => false,
    }
}

/// The top-level conjuncts of a filter (nested ANDs flattened, in order).
pub fn conjuncts(e: &Expr) -> Vec<&Expr> {
    let mut out = Vec::new();
    let mut stack = alloc::vec![e];
    while let Some(x) = stack.pop() {
        match x {
            Expr::Bin(BinOp::And, a, b) => {
                stack.push(b);
                stack.push(a);
            }
            _ => out.push(x),
        }
    }
    out
}

/// Byte constants that column `col` must equal when conjunct `e` is TRUE
/// (`col = c`, `c = col`, `col IN (...)`); None when `e` does not say.
fn const_set(e: &Expr, col: usize) -> Option<BTreeSet<Vec<u8>>> {
    let bytes = |v: &Value| match v {
        Value::Bytes(b) => Some(b.clone()),
        _ => None,
    };
    match e {
        Expr::Bin(BinOp::Eq, a, b) => match (&**a, &**b) {
            (Expr::Col(c), Expr::Const(v)) | (Expr::Const(v), Expr::Col(c)) if *c == col => {
                bytes(v).map(|b| [b].into_iter().collect())
            }
            _ => None,
        },
        Expr::In(a, consts) if **a == Expr::Col(col) => consts.iter().map(bytes).collect(),
        _ => None,
    }
}

/// Intersection of the constant sets the conjuncts force on `col`.
pub(crate) fn domain(conj: &[&Expr], col: usize) -> Option<BTreeSet<Vec<u8>>> {
    let mut dom: Option<BTreeSet<Vec<u8>>> = None;
    for e in conj {
        if let Some(s) = const_set(e, col) {
            dom = Some(match dom {
                None => s,
                Some(d) => d.intersection(&s).cloned().collect(),
            });
        }
    }
    dom
}

/// Column numbers of the log sources.
const LOG_ADDRESS: usize = 3;
const LOG_TOPIC0: usize = 4;

/// The (address, topic0) pairs a log source's filter implies: for the logs
/// table the cross product of the address and topic0 constants its top-level
/// conjuncts force; for an event, those addresses with the event's topic0.
/// Empty (no block may be skipped) when the filter does not force both, or a
/// constant cannot be an address / topic. A row whose bloom key is absent from
/// its block's bloom fails one of those conjuncts: it is not kept.
pub fn derive_bloom_keys(plan: &Plan) -> Vec<([u8; 20], [u8; 32])> {
    let conj = plan.filter.as_ref().map(conjuncts).unwrap_or_default();
    let (addrs, topics) = match &plan.source {
        Source::Logs => (domain(&conj, LOG_ADDRESS), domain(&conj, LOG_TOPIC0)),
        Source::Event { topic0, .. } => (
            domain(&conj, LOG_ADDRESS),
            Some([topic0.to_vec()].into_iter().collect()),
        ),
        _ => (None, None),
    };
    let (Some(addrs), Some(topics)) = (addrs, topics) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for a in &addrs {
        for t in &topics {
            match (<[u8; 20]>::try_from(&a[..]), <[u8; 32]>::try_from(&t[..])) {
                (Ok(a), Ok(t)) => out.push((a, t)),
                _ => return Vec::new(),
            }
        }
    }
    out
}

/// Every check of this module; `Plan::decode` calls it, so a decoded plan is a valid one.
pub fn check_plan(p: &Plan) -> Result<()> {
    if p.last_block - p.first_block >= MAX_BLOCKS {
        return Err(Error::Invalid("block range too long"));
    }
    let row = column_kinds(&p.source);
    let rows = Scope {
        row: Some(&row),
        groups: None,
        aggs: None,
    };
    if let Some(f) = &p.filter {
        if kind_of(f, &rows)? != B {
            return Err(Error::Invalid("filter is not boolean"));
        }
    }
    check_state(p, &rows)?;
    let groups = p
        .group_by
        .iter()
        .map(|g| kind_of(g, &rows))
        .collect::<Result<Vec<_>>>()?;
    let mut aggs = Vec::with_capacity(p.aggregates.len());
    for (op, e) in &p.aggregates {
        let k = match (e, *op) {
            (None, COUNT_STAR) => U,
            (Some(e), COUNT | COUNT_DISTINCT) => {
                kind_of(e, &rows)?;
                U
            }
            (Some(e), SUM | AVG) => {
                if kind_of(e, &rows)? != U {
                    return Err(Error::Invalid("SUM/AVG of a non-uint"));
                }
                U
            }
            (Some(e), MIN | MAX) => kind_of(e, &rows)?,
            _ => return Err(Error::Invalid("bad aggregate")),
        };
        aggs.push(k);
    }
    let out = if p.aggregated() {
        Scope {
            row: None,
            groups: Some(&groups),
            aggs: Some(&aggs),
        }
    } else {
        rows
    };
    for (e, &t) in p.select.iter().zip(&p.output_types) {
        if !output_kind_ok(t, kind_of(e, &out)?) {
            return Err(Error::Invalid(
                "output column does not have its declared type",
            ));
        }
    }
    if p.bloom_keys != derive_bloom_keys(p) {
        return Err(Error::Invalid(
            "bloom keys are not the ones the filter implies",
        ));
    }
    Ok(())
}

fn check_state(p: &Plan, rows: &Scope<'_>) -> Result<()> {
    let (keys, points): (&[usize], u64) = match &p.source {
        Source::Accounts { addresses } => (&[0, 1], addresses.len() as u64),
        Source::Storage { addresses, slots } => {
            if slots.len() > MAX_STATE_KEYS {
                return Err(Error::Invalid("too many storage slots"));
            }
            (&[0, 1, 2], addresses.len() as u64 * slots.len() as u64)
        }
        _ => {
            if p.state_filter.is_some() {
                return Err(Error::Invalid("state_filter for a source without state"));
            }
            return Ok(());
        }
    };
    let addresses = match &p.source {
        Source::Accounts { addresses } | Source::Storage { addresses, .. } => addresses.len(),
        _ => 0,
    };
    if addresses == 0 || addresses > MAX_STATE_KEYS {
        return Err(Error::Invalid("a state source needs 1 to 1024 addresses"));
    }
    let blocks = p.last_block - p.first_block + 1;
    if points.saturating_mul(blocks) > MAX_STATE_POINTS {
        return Err(Error::Invalid("state domain too large"));
    }
    if let Some(f) = &p.state_filter {
        if kind_of(f, rows)? != B {
            return Err(Error::Invalid("state_filter is not boolean"));
        }
        if (0..row_width(p)).any(|c| f.uses_col(c) && !keys.contains(&c)) {
            return Err(Error::Invalid(
                "state_filter reads a column that is not a key",
            ));
        }
    }
    Ok(())
}

fn row_width(p: &Plan) -> usize {
    p.source.width()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::keeps;
    use alloc::boxed::Box;
    use alloc::vec;
    use ethcore::U256;

    fn col(i: usize) -> Box<Expr> {
        Box::new(Expr::Col(i))
    }
    fn c(v: Value) -> Box<Expr> {
        Box::new(Expr::Const(v))
    }
    fn bin(op: BinOp, a: Box<Expr>, b: Box<Expr>) -> Expr {
        Expr::Bin(op, a, b)
    }
    fn logs_plan(filter: Option<Expr>, bloom_keys: Vec<([u8; 20], [u8; 32])>) -> Plan {
        Plan {
            source: Source::Logs,
            first_block: 1,
            last_block: 9,
            bloom_keys,
            state_filter: None,
            filter,
            group_by: vec![],
            aggregates: vec![(COUNT_STAR, None)],
            select: vec![Expr::Agg(0)],
            order_by: vec![],
            limit: None,
            output_types: vec![T_UINT],
        }
    }
    const A: [u8; 20] = [0xaa; 20];
    const T: [u8; 32] = [0x77; 32];
    const RARE: [u8; 32] = [0x01; 32];

    fn addr_is(a: [u8; 20]) -> Expr {
        bin(BinOp::Eq, col(3), c(Value::bytes(&a)))
    }
    fn topic_is(t: [u8; 32]) -> Expr {
        bin(BinOp::Eq, c(Value::bytes(&t)), col(4))
    }

    #[test]
    fn bloom_keys_must_be_the_filters() {
        // the attack: address = A only, and a rare topic the filter never mentions
        let p = logs_plan(Some(addr_is(A)), vec![(A, RARE)]);
        assert_eq!(derive_bloom_keys(&p), vec![]);
        assert!(check_plan(&p).is_err());
        // address = A AND topic0 = T: exactly [(A, T)], in either operand order
        let f = bin(BinOp::And, Box::new(addr_is(A)), Box::new(topic_is(T)));
        assert!(check_plan(&logs_plan(Some(f.clone()), vec![(A, T)])).is_ok());
        assert!(check_plan(&logs_plan(Some(f.clone()), vec![])).is_err());
        assert!(check_plan(&logs_plan(Some(f.clone()), vec![(A, T), (A, RARE)])).is_err());
        // under an OR the constants imply nothing
        let or = bin(BinOp::Or, Box::new(addr_is(A)), Box::new(topic_is(T)));
        assert_eq!(derive_bloom_keys(&logs_plan(Some(or), vec![])), vec![]);
        // IN lists: the sorted cross product, intersected with other conjuncts
        let b = [0xbb; 20];
        let ins = Expr::In(col(3), vec![Value::bytes(&A), Value::bytes(&b)]);
        let f = bin(BinOp::And, Box::new(ins), Box::new(topic_is(T)));
        let p = logs_plan(Some(f.clone()), vec![]);
        assert_eq!(derive_bloom_keys(&p), vec![(A, T), (b, T)]);
        let f = bin(BinOp::And, Box::new(f), Box::new(addr_is(b)));
        assert_eq!(derive_bloom_keys(&logs_plan(Some(f), vec![])), vec![(b, T)]);
    }

    #[test]
    fn ill_typed_plans_are_rejected() {
        let u = |v: u64| c(Value::u64(v));
        let bad = [
            Expr::Not(col(0)),                                                   // NOT uint
            bin(BinOp::And, col(0), Box::new(addr_is(A))),                       // AND of a uint
            bin(BinOp::Eq, col(0), c(Value::bytes(&A))),                         // uint = bytes
            bin(BinOp::Lt, c(Value::Bool(true)), c(Value::Bool(false))),         // bool ordering
            bin(BinOp::Eq, bin(BinOp::Add, col(3), u(1)).into(), u(2)),          // address + 1
            Expr::In(col(3), vec![Value::bytes(&[0xbb; 20]), Value::bytes(&A)]), // unsorted IN
            Expr::In(col(3), vec![Value::u64(1)]), // IN of another type
            bin(BinOp::Eq, col(0), c(Value::Null)), // NULL constant
            bin(BinOp::Eq, col(99), u(1)),         // no such column
            bin(BinOp::Eq, Box::new(Expr::Agg(0)), u(1)), // aggregate in WHERE
            Expr::Col(0),                          // filter not boolean
        ];
        for f in bad {
            assert!(
                check_plan(&logs_plan(Some(f.clone()), vec![])).is_err(),
                "{f:?}"
            );
        }
        // output types must match: COUNT(*) declared as address, SUM of bytes, MIN(data) as bytes32
        let mut p = logs_plan(None, vec![]);
        p.output_types = vec![T_ADDRESS];
        assert!(check_plan(&p).is_err());
        let mut p = logs_plan(None, vec![]);
        p.aggregates = vec![(SUM, Some(Expr::Col(3)))];
        assert!(check_plan(&p).is_err());
        let mut p = logs_plan(None, vec![]);
        p.aggregates = vec![(MIN, Some(Expr::Col(8)))];
        p.output_types = vec![T_BYTES32];
        assert!(check_plan(&p).is_err());
        p.output_types = vec![T_BYTES];
        assert!(check_plan(&p).is_ok());
        // a row column in an aggregated select
        let mut p = logs_plan(None, vec![]);
        p.select = vec![Expr::Col(0)];
        assert!(check_plan(&p).is_err());
    }

    #[test]
    fn bounds() {
        // a plan too deep to decode: build its bytes by hand ([32, inner] nested)
        let mut inner = alloc::vec::Vec::new();
        ethcore::rlp::encode_u64(&mut inner, 2);
        ethcore::rlp::encode_u64(&mut inner, 1);
        let mut expr = ethcore::rlp::list_from_payload(&inner);
        for _ in 0..MAX_EXPR_DEPTH + 1 {
            let mut p = alloc::vec::Vec::new();
            ethcore::rlp::encode_u64(&mut p, 32);
            p.extend_from_slice(&expr);
            expr = ethcore::rlp::list_from_payload(&p);
        }
        assert_eq!(
            crate::plan::expr_from(ethcore::rlp::list_exact(&expr).unwrap()),
            Err(Error::Invalid("expression nested too deeply"))
        );
        let long = Expr::In(
            col(0),
            (0..MAX_IN_LIST as u64 + 1).map(Value::u64).collect(),
        );
        assert!(check_plan(&logs_plan(Some(long), vec![])).is_err());
        let mut p = logs_plan(None, vec![]);
        p.last_block = p.first_block + MAX_BLOCKS;
        assert!(check_plan(&p).is_err());
        assert!(crate::plan::Plan::decode(&vec![0xc0; MAX_PLAN_BYTES + 1]).is_err());
    }

    #[test]
    fn a_false_conjunct_drops_the_row_whatever_the_others_do() {
        // address = A AND 10 / (log_index - log_index) = 0
        let div = bin(
            BinOp::Eq,
            Box::new(bin(
                BinOp::Div,
                c(Value::u64(10)),
                Box::new(bin(BinOp::Sub, col(2), col(2))),
            )),
            c(Value::u64(0)),
        );
        let f = Some(bin(BinOp::And, Box::new(div.clone()), Box::new(addr_is(A))));
        let row = |addr: [u8; 20], topic: Value| {
            vec![
                Value::u64(1),
                Value::u64(0),
                Value::u64(3),
                Value::bytes(&addr),
                topic,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::bytes(&[]),
            ]
        };
        assert_eq!(keeps(&f, &row([0xbb; 20], Value::Null)), Ok(false));
        assert!(keeps(&f, &row(A, Value::Null)).is_err());
        // a NULL conjunct drops the row too (topic0 = T on a log without topics)
        let f = Some(bin(
            BinOp::And,
            Box::new(bin(BinOp::And, Box::new(addr_is(A)), Box::new(div))),
            Box::new(topic_is(T)),
        ));
        assert_eq!(keeps(&f, &row(A, Value::Null)), Ok(false));
        assert!(keeps(&f, &row(A, Value::bytes(&T))).is_err());
        // nested inside an expression, an error is an error
        let or = Some(bin(
            BinOp::Or,
            Box::new(addr_is(A)),
            Box::new(bin(
                BinOp::Eq,
                Box::new(bin(BinOp::Sub, c(Value::u64(0)), col(2))),
                c(Value::Uint(U256::ZERO)),
            )),
        ));
        assert!(keeps(&or, &row(A, Value::Null)).is_err());
    }
}
