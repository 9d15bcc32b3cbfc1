//! The query guest's core, natively: `r0_query` commands.
//!
//! A command is `rlp([op, argument])`:
//!
//! | op | argument | output |
//! |---|---|---|
//! | 1 run | guest input `rlp([chain_id, plan, witness])` | the journal the guest would commit |
//! | 2 check | plan bytes | `rlp([])` when the guest accepts the plan |
//! | 3 state points | plan bytes | `rlp([[block, address, [slot, ...]], ...])`: the state proofs the witness must hold |
//! | 5 check bound | `rlp([template, params])` | `rlp([])` when the guest binds the template to the values and accepts the plan |
//! | 4 evaluate | `rlp([plan, [row, ...]])`, a row a list of values (`[]` NULL, `[1, uint]`, `[2, bytes]`, `[3, 0/1]`) | the journal's `result` for those source rows (no witness: for tests of the semantics) |

use ethcore::rlp;
use query_core::check::{self, Kind};
use query_core::eval::keeps;
use query_core::plan::Plan;
use query_core::{Error, Result, Value};

/// Command codes.
pub const OP_RUN: u64 = 1;
/// check a plan
pub const OP_CHECK: u64 = 2;
/// state points of a plan
pub const OP_STATE_POINTS: u64 = 3;
/// evaluate a plan over given source rows
pub const OP_EVALUATE: u64 = 4;
/// bind a template to parameter values and check the plan
pub const OP_CHECK_BOUND: u64 = 5;

/// Runs one command.
pub fn run(command: &[u8]) -> Result<Vec<u8>> {
    let mut r = rlp::list_exact(command)?;
    let op = r.u64()?;
    let arg = r.bytes()?;
    r.finish()?;
    match op {
        OP_RUN => query_core::run(arg),
        OP_CHECK => Plan::decode(arg).map(|_| rlp::list_from_payload(&[])),
        OP_STATE_POINTS => {
            let plan = Plan::decode(arg)?;
            let mut items = Vec::new();
            for point in query_core::scan::state_points(&plan)? {
                let mut slots = Vec::new();
                for slot in &point.slots {
                    rlp::encode_bytes(&mut slots, slot);
                }
                let mut item = Vec::new();
                rlp::encode_u64(&mut item, point.block);
                rlp::encode_bytes(&mut item, &point.address);
                rlp::encode_list_payload(&mut item, &slots);
                rlp::encode_list_payload(&mut items, &item);
            }
            Ok(rlp::list_from_payload(&items))
        }
        OP_EVALUATE => evaluate(arg),
        OP_CHECK_BOUND => {
            let mut r = rlp::list_exact(arg)?;
            let template = query_core::template::Template::decode(r.bytes()?)?;
            template.bind(r.bytes()?)?;
            r.finish()?;
            Ok(rlp::list_from_payload(&[]))
        }
        _ => Err(Error::Invalid("unknown query command")),
    }
}

fn value(mut v: rlp::ListReader<'_>) -> Result<Value> {
    if v.is_empty() {
        return Ok(Value::Null);
    }
    let out = match v.u64()? {
        1 => Value::Uint(v.u256()?),
        2 => Value::bytes(v.bytes()?),
        3 => match v.u64()? {
            0 => Value::Bool(false),
            1 => Value::Bool(true),
            _ => return Err(Error::Invalid("bool value is not 0/1")),
        },
        _ => return Err(Error::Invalid("unknown value tag")),
    };
    v.finish()?;
    Ok(out)
}

fn evaluate(arg: &[u8]) -> Result<Vec<u8>> {
    let mut r = rlp::list_exact(arg)?;
    let plan = Plan::decode(r.bytes()?)?;
    let mut rows_in = r.list()?;
    r.finish()?;
    let kinds = check::column_kinds(&plan.source);
    let mut kept = Vec::new();
    while !rows_in.is_empty() {
        let mut l = rows_in.list()?;
        let mut row = Vec::with_capacity(kinds.len());
        while !l.is_empty() {
            row.push(value(l.list()?)?);
        }
        let fits = row.len() == kinds.len()
            && row.iter().zip(&kinds).all(|(v, k)| match (v, k) {
                (Value::Null, _) | (Value::Uint(_), Kind::Uint) | (Value::Bool(_), Kind::Bool) => {
                    true
                }
                (Value::Bytes(b), Kind::Bytes(n)) => n.is_none_or(|n| n == b.len()),
                _ => false,
            });
        if !fits {
            return Err(Error::Invalid("a row does not have the source's columns"));
        }
        if keeps(&plan.filter, &row)? {
            kept.push(row);
        }
    }
    let rows = query_core::eval::evaluate(&plan, kept)?;
    query_core::abi::encode_rows(&plan.output_types, &rows)
}
