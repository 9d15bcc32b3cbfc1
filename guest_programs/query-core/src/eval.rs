//! Evaluation of a checked plan (PLAN.md "Evaluation"). This is the one
//! definition of what a plan computes: the compiler runs this very code
//! natively for its expected rows.

use alloc::borrow::Cow;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use core::cmp::Ordering;
use ethcore::U256;

use crate::plan::{self, BinOp, Expr, Plan};
use crate::value::{cmp_values, Value};
use crate::{Error, Result};

/// Context of an expression: a row, or (group keys, aggregates).
pub struct Ctx<'a> {
    /// source row
    pub row: Option<&'a [Value]>,
    /// group keys
    pub groups: Option<&'a [Value]>,
    /// aggregate values
    pub aggs: Option<&'a [Value]>,
}

impl<'a> Ctx<'a> {
    /// Row context.
    pub fn row(row: &'a [Value]) -> Self {
        Ctx {
            row: Some(row),
            groups: None,
            aggs: None,
        }
    }
}

fn arith(op: BinOp, a: &U256, b: &U256) -> Result<U256> {
    let r = match op {
        BinOp::Add => a.checked_add(*b),
        BinOp::Sub => a.checked_sub(*b),
        BinOp::Mul => a.checked_mul(*b),
        BinOp::Div | BinOp::Mod => {
            if b.is_zero() {
                return Err(Error::Eval("division by zero"));
            }
            Some(if op == BinOp::Div { *a / *b } else { *a % *b })
        }
        _ => None,
    };
    r.ok_or(Error::Eval("uint256 overflow or underflow"))
}

/// A boolean operand (`None` = NULL); plans are type checked, so anything
/// else is an error, never a truth value.
fn boolean(v: &Value) -> Result<Option<bool>> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        _ => Err(Error::Invalid("boolean operator on a non-boolean")),
    }
}

/// An operand: a reference when it is a column, a constant, a group key or an aggregate
/// (no copy of its bytes), else its value.
fn operand<'a>(e: &'a Expr, c: &Ctx<'a>) -> Result<Cow<'a, Value>> {
    Ok(match e {
        Expr::Col(i) => Cow::Borrowed(
            c.row
                .and_then(|r| r.get(*i))
                .ok_or(Error::Invalid("column reference out of range"))?,
        ),
        Expr::Const(v) => Cow::Borrowed(v),
        Expr::Group(i) => Cow::Borrowed(
            c.groups
                .and_then(|g| g.get(*i))
                .ok_or(Error::Invalid("group reference out of range"))?,
        ),
        Expr::Agg(i) => Cow::Borrowed(
            c.aggs
                .and_then(|g| g.get(*i))
                .ok_or(Error::Invalid("aggregate reference out of range"))?,
        ),
        _ => Cow::Owned(eval(e, c)?),
    })
}

/// Evaluate an expression.
pub fn eval(e: &Expr, c: &Ctx<'_>) -> Result<Value> {
    Ok(match e {
        Expr::Col(i) => c
            .row
            .and_then(|r| r.get(*i))
            .ok_or(Error::Invalid("column reference out of range"))?
            .clone(),
        Expr::Const(v) => v.clone(),
        Expr::Param(_) | Expr::MapSlot(_) => {
            return Err(Error::Invalid("a parameter is not bound to a value"))
        }
        Expr::Group(i) => c
            .groups
            .and_then(|g| g.get(*i))
            .ok_or(Error::Invalid("group reference out of range"))?
            .clone(),
        Expr::Agg(i) => c
            .aggs
            .and_then(|g| g.get(*i))
            .ok_or(Error::Invalid("aggregate reference out of range"))?
            .clone(),
        Expr::Not(a) => match boolean(&*operand(a, c)?)? {
            None => Value::Null,
            Some(b) => Value::Bool(!b),
        },
        Expr::In(a, consts) => match &*operand(a, c)? {
            Value::Null => Value::Null,
            v => Value::Bool(consts.contains(v)),
        },
        Expr::Bin(op, a, b) => {
            let (a, b) = (operand(a, c)?, operand(b, c)?);
            let (a, b) = (&*a, &*b);
            match op {
                BinOp::And | BinOp::Or => {
                    // three-valued: the dominant value (FALSE for AND, TRUE for OR) wins over NULL
                    let dominant = *op == BinOp::Or;
                    let (x, y) = (boolean(a)?, boolean(b)?);
                    if x == Some(dominant) || y == Some(dominant) {
                        Value::Bool(dominant)
                    } else if x.is_none() || y.is_none() {
                        Value::Null
                    } else {
                        Value::Bool(!dominant)
                    }
                }
                _ if a.is_null() || b.is_null() => Value::Null,
                BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => match (a, b) {
                    (Value::Uint(x), Value::Uint(y)) => Value::Uint(arith(*op, x, y)?),
                    _ => return Err(Error::Eval("arithmetic on a non-uint")),
                },
                _ => {
                    let o = cmp_values(a, b).ok_or(Error::Eval("comparison of different types"))?;
                    Value::Bool(match op {
                        BinOp::Eq => o == Ordering::Equal,
                        BinOp::Ne => o != Ordering::Equal,
                        BinOp::Lt => o == Ordering::Less,
                        BinOp::Le => o != Ordering::Greater,
                        BinOp::Gt => o == Ordering::Greater,
                        _ => o != Ordering::Less,
                    })
                }
            }
        }
    })
}

/// Is the filter TRUE on this row (NULL and FALSE drop it).
///
/// The filter is read as its list of top-level conjuncts (PLAN.md "Evaluation",
/// rule 1): the row is dropped as soon as one conjunct is FALSE or NULL, even
/// if evaluating another conjunct fails; a failure counts only for a row that
/// every other conjunct keeps. So the answer never depends on which blocks a
/// bloom filter let the prover skip: the rows of a skipped block fail a
/// bloom-key conjunct, and that alone drops them, errors or not.
pub fn keeps(filter: &Option<Expr>, row: &[Value]) -> Result<bool> {
    let Some(f) = filter else {
        return Ok(true);
    };
    let c = Ctx::row(row);
    let mut failure = None;
    if !conjuncts_keep(f, &c, &mut failure) {
        return Ok(false);
    }
    match failure {
        Some(err) => Err(err),
        None => Ok(true),
    }
}

/// The conjuncts of `e`, left to right: false as soon as one is FALSE or NULL; a failure
/// is noted (the first one) and the walk goes on.
fn conjuncts_keep(e: &Expr, c: &Ctx<'_>, failure: &mut Option<Error>) -> bool {
    if let Expr::Bin(BinOp::And, a, b) = e {
        return conjuncts_keep(a, c, failure) && conjuncts_keep(b, c, failure);
    }
    match eval(e, c) {
        Ok(Value::Bool(true)) => true,
        Ok(_) => false,
        Err(err) => {
            failure.get_or_insert(err);
            true
        }
    }
}

fn aggregate(op: u64, e: &Option<Expr>, rows: &[&Vec<Value>]) -> Result<Value> {
    let e = match (op, e) {
        (plan::COUNT_STAR, _) => return Ok(Value::u64(rows.len() as u64)),
        (_, Some(e)) => e,
        _ => return Err(Error::Invalid("aggregate without expression")),
    };
    let mut vals = Vec::with_capacity(rows.len());
    for r in rows {
        let v = eval(e, &Ctx::row(r))?;
        if !v.is_null() {
            vals.push(v);
        }
    }
    Ok(match op {
        plan::COUNT => Value::u64(vals.len() as u64),
        plan::COUNT_DISTINCT => Value::u64(vals.iter().collect::<BTreeSet<_>>().len() as u64),
        plan::SUM | plan::AVG => {
            let mut s = U256::ZERO;
            for v in &vals {
                match v {
                    Value::Uint(x) => {
                        s = s
                            .checked_add(*x)
                            .ok_or(Error::Eval("uint256 overflow in SUM"))?
                    }
                    _ => return Err(Error::Eval("SUM of a non-uint")),
                }
            }
            if vals.is_empty() {
                Value::Null // standard SQL: SUM and AVG over no values are NULL
            } else if op == plan::SUM {
                Value::Uint(s)
            } else {
                Value::Uint(s / U256::from(vals.len() as u64))
            }
        }
        plan::MIN | plan::MAX => {
            let mut best: Option<Value> = None;
            for v in vals {
                best = Some(match best {
                    None => v,
                    Some(b) => {
                        let o = cmp_values(&v, &b).ok_or(Error::Eval("MIN/MAX of mixed types"))?;
                        let better = if op == plan::MIN {
                            o == Ordering::Less
                        } else {
                            o == Ordering::Greater
                        };
                        if better {
                            v
                        } else {
                            b
                        }
                    }
                });
            }
            best.unwrap_or(Value::Null)
        }
        _ => return Err(Error::Invalid("unknown aggregate")),
    })
}

/// A total order (Value's: NULL first; one kind per column in a checked plan).
fn cmp_rows(order_by: &[(usize, bool)], x: &[Value], y: &[Value]) -> Ordering {
    for &(i, desc) in order_by {
        let c = x[i].cmp(&y[i]);
        if c != Ordering::Equal {
            return if desc { c.reverse() } else { c };
        }
    }
    x.cmp(y)
}

/// Result rows of the plan over the kept rows (already filtered, in scan order).
pub fn evaluate(p: &Plan, kept: Vec<Vec<Value>>) -> Result<Vec<Vec<Value>>> {
    let mut out: Vec<Vec<Value>> = Vec::new();
    let sort = p.aggregated() || !p.order_by.is_empty();
    if p.aggregated() {
        let groups: Vec<(Vec<Value>, Vec<&Vec<Value>>)> = if p.group_by.is_empty() {
            // one group of every row (also of none)
            alloc::vec![(Vec::new(), kept.iter().collect())]
        } else {
            let mut groups: BTreeMap<Vec<Value>, Vec<&Vec<Value>>> = BTreeMap::new();
            for r in &kept {
                let c = Ctx::row(r);
                let key = p
                    .group_by
                    .iter()
                    .map(|g| eval(g, &c))
                    .collect::<Result<Vec<_>>>()?;
                groups.entry(key).or_default().push(r);
            }
            groups.into_iter().collect()
        };
        for (key, members) in &groups {
            let aggs = p
                .aggregates
                .iter()
                .map(|(op, e)| aggregate(*op, e, members))
                .collect::<Result<Vec<_>>>()?;
            let c = Ctx {
                row: None,
                groups: Some(key),
                aggs: Some(&aggs),
            };
            out.push(
                p.select
                    .iter()
                    .map(|s| eval(s, &c))
                    .collect::<Result<Vec<_>>>()?,
            );
        }
    } else {
        for r in &kept {
            let c = Ctx::row(r);
            out.push(
                p.select
                    .iter()
                    .map(|s| eval(s, &c))
                    .collect::<Result<Vec<_>>>()?,
            );
        }
    }
    if sort {
        // every pair compared must be of one kind per column
        for w in out.windows(2) {
            for (a, b) in w[0].iter().zip(w[1].iter()) {
                if cmp_values(a, b).is_none() {
                    return Err(Error::Eval("output column of mixed types"));
                }
            }
        }
        out.sort_by(|x, y| cmp_rows(&p.order_by, x, y));
    }
    if let Some(n) = p.limit {
        out.truncate(usize::try_from(n).unwrap_or(usize::MAX));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Plan, Source};
    use alloc::boxed::Box;
    use alloc::vec;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
    fn u(v: u64) -> Value {
        Value::u64(v)
    }
    fn b(x: u8, n: usize) -> Value {
        Value::Bytes(vec![x; n])
    }
    fn col(i: usize) -> Box<Expr> {
        Box::new(Expr::Col(i))
    }
    fn cu(v: u64) -> Box<Expr> {
        Box::new(Expr::Const(u(v)))
    }
    fn run(p: &Plan, rows: Vec<Vec<Value>>) -> Result<Vec<Vec<Value>>> {
        let mut kept = Vec::new();
        for r in rows {
            if keeps(&p.filter, &r)? {
                kept.push(r);
            }
        }
        evaluate(p, kept)
    }
    fn plain(select: Vec<Expr>, types: Vec<u64>) -> Plan {
        Plan {
            source: Source::Logs,
            first_block: 0,
            last_block: 0,
            bloom_keys: vec![],
            state_filter: None,
            filter: None,
            group_by: vec![],
            aggregates: vec![],
            select,
            order_by: vec![],
            limit: None,
            output_types: types,
        }
    }

    // A plan of the compiler (plan.py, version 2): the bloom key (A, 0x22..) of the
    // version-1 plan this was converted from is not written; the filter (address IN (A),
    // no topic0 constant) implies none, and the guest derives exactly that.
    const PLAN: &str = "f86002c0c1040109c0e61ec719c20180c20202dc21c20103d7d603941111111111111111111111111111111111111111c3c20103d1c101c404c20180c407c20180c405c20104cfc22880c22980c22901c22902c22903c3c20201c102c50201010103";

    #[test]
    fn python_plan_and_answer() {
        let p = Plan::decode(&unhex(PLAN)).unwrap();
        assert!(p.aggregated() && p.limit == Some(2) && p.bloom_keys.is_empty());
        let row = |n, a: u8, t: Value| vec![u(n), u(0), u(0), b(a, 20), t];
        let rows = vec![
            row(1, 0x11, Value::Null),
            row(2, 0x11, b(5, 32)),
            row(3, 0x22, Value::Null),
            row(4, 0x11, b(1, 32)),
            row(5, 0x11, Value::Null),
        ];
        let got = run(&p, rows).unwrap();
        assert_eq!(got, vec![vec![b(0x11, 20), u(3), u(11), u(3), b(1, 32)]]);
        // strict decoding: a trailing byte or a flipped version fails
        let mut bad = unhex(PLAN);
        bad.push(0);
        assert!(Plan::decode(&bad).is_err());
        let mut bad = unhex(PLAN);
        bad[2] = 1; // version 1
        assert_eq!(
            Plan::decode(&bad),
            Err(Error::Invalid("plan version is not 2"))
        );
    }

    #[test]
    fn arithmetic_errors() {
        let p = plain(vec![Expr::Bin(BinOp::Sub, col(0), cu(2))], vec![1]);
        assert_eq!(run(&p, vec![vec![u(5)]]).unwrap(), vec![vec![u(3)]]);
        assert!(run(&p, vec![vec![u(1)]]).is_err());
        let p = plain(vec![Expr::Bin(BinOp::Div, cu(7), col(0))], vec![1]);
        assert_eq!(run(&p, vec![vec![u(2)]]).unwrap(), vec![vec![u(3)]]);
        assert!(run(&p, vec![vec![u(0)]]).is_err());
        let p = plain(vec![Expr::Bin(BinOp::Add, col(0), cu(1))], vec![1]);
        assert!(run(&p, vec![vec![Value::Uint(U256::MAX)]]).is_err());
        assert_eq!(
            run(&p, vec![vec![Value::Null]]).unwrap(),
            vec![vec![Value::Null]]
        );
        // SUM overflow is an error; an empty SUM, AVG or MAX is NULL (standard SQL)
        let mut p = plain(
            vec![Expr::Agg(0), Expr::Agg(1), Expr::Agg(2)],
            vec![1, 1, 1],
        );
        p.aggregates = vec![
            (plan::SUM, Some(Expr::Col(0))),
            (plan::AVG, Some(Expr::Col(0))),
            (plan::MAX, Some(Expr::Col(0))),
        ];
        assert!(run(&p, vec![vec![Value::Uint(U256::MAX)], vec![u(1)]]).is_err());
        assert_eq!(
            run(&p, vec![]).unwrap(),
            vec![vec![Value::Null, Value::Null, Value::Null]]
        );
        assert_eq!(
            run(&p, vec![vec![u(3)], vec![Value::Null], vec![u(4)]]).unwrap(),
            vec![vec![u(7), u(3), u(4)]]
        );
    }

    #[test]
    fn three_valued_logic_and_order() {
        // filter: col0 > 1 OR col1 = TRUE  (NULL OR TRUE = TRUE, NULL OR FALSE = NULL -> dropped)
        let mut p = plain(vec![Expr::Col(0)], vec![1]);
        p.filter = Some(Expr::Bin(
            BinOp::Or,
            Box::new(Expr::Bin(BinOp::Gt, col(0), cu(1))),
            Box::new(Expr::Bin(
                BinOp::Eq,
                col(1),
                Box::new(Expr::Const(Value::Bool(true))),
            )),
        ));
        let rows = vec![
            vec![Value::Null, Value::Bool(true)],
            vec![Value::Null, Value::Bool(false)],
            vec![u(5), Value::Bool(false)],
            vec![u(0), Value::Bool(false)],
            vec![u(2), Value::Null],
        ];
        assert_eq!(
            run(&p, rows.clone()).unwrap(),
            vec![vec![Value::Null], vec![u(5)], vec![u(2)]]
        );
        p.order_by = vec![(0, false)];
        assert_eq!(
            run(&p, rows.clone()).unwrap(),
            vec![vec![Value::Null], vec![u(2)], vec![u(5)]]
        );
        p.order_by = vec![(0, true)];
        p.limit = Some(2);
        assert_eq!(run(&p, rows).unwrap(), vec![vec![u(5)], vec![u(2)]]);
        // NOT NULL = NULL; IN on NULL = NULL; bytes compare lexicographically
        let p = plain(
            vec![
                Expr::Not(Box::new(Expr::Col(0))),
                Expr::In(col(0), vec![Value::Bool(true)]),
                Expr::Bin(
                    BinOp::Lt,
                    Box::new(Expr::Const(Value::Bytes(vec![1]))),
                    Box::new(Expr::Const(Value::Bytes(vec![1, 0]))),
                ),
            ],
            vec![5, 5, 5],
        );
        assert_eq!(
            run(&p, vec![vec![Value::Null]]).unwrap(),
            vec![vec![Value::Null, Value::Null, Value::Bool(true)]]
        );
    }

    #[test]
    fn group_by_null_key_and_count_distinct() {
        let mut p = plain(
            vec![Expr::Group(0), Expr::Agg(0), Expr::Agg(1)],
            vec![1, 1, 1],
        );
        p.group_by = vec![Expr::Col(0)];
        p.aggregates = vec![
            (plan::COUNT_DISTINCT, Some(Expr::Col(1))),
            (plan::COUNT, Some(Expr::Col(1))),
        ];
        let rows = vec![
            vec![u(2), u(1)],
            vec![Value::Null, u(1)],
            vec![u(2), u(1)],
            vec![u(2), Value::Null],
            vec![u(2), u(3)],
        ];
        assert_eq!(
            run(&p, rows).unwrap(),
            vec![vec![Value::Null, u(1), u(1)], vec![u(2), u(2), u(3)]]
        );
        // grouped plan over no rows: no groups
        assert_eq!(run(&p, vec![]).unwrap(), Vec::<Vec<Value>>::new());
    }
}
