//! Plan templates (PLAN.md "Plan", version 2) and their binding to parameter values.
//!
//! A template is a plan whose values may be parameters: `[6, i]` in an expression,
//! `[6, i]` as `first_block` / `last_block`, and `[7, [base, key, ...]]` mapping slots
//! over constants and parameters. Its keccak256 is the queryHash. [`Template::bind`]
//! decodes the values (`abi.encode` of the declared types, strictly canonical),
//! substitutes them, folds the mapping slots, derives the state domains and the bloom
//! keys from the concrete filter, and runs every check of [`crate::check::check_plan`]
//! on the concrete plan: nothing a prover chooses escapes the checks of version 1.

use alloc::vec::Vec;
use ethcore::keccak::keccak256;
use ethcore::rlp::{self, Item, ListReader};

use crate::check::{conjuncts, derive_bloom_keys, domain};
use crate::plan::{
    exprs, flag, opt_expr, small, source_from, Expr, Plan, Source, AVG, COUNT, COUNT_STAR, T_BOOL,
    T_UINT,
};
use crate::{abi, Error, Result, Value};

/// Plan encoding version.
pub const PLAN_VERSION: u64 = 2;
/// Most parameters of a template.
pub const MAX_PARAMS: usize = 64;
/// Expression opcode of a parameter reference.
const OP_PARAM: u64 = 6;

/// A block bound: a number or a (uint256) parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// a constant block number
    Fixed(u64),
    /// parameter i
    Param(usize),
}

/// A decoded (not yet bound) template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// declared parameter types (ABI type codes, as `output_types`)
    pub param_types: Vec<u64>,
    /// first block of the range
    pub first_block: Bound,
    /// last block of the range
    pub last_block: Bound,
    /// everything else; block bounds 0, bloom keys and state key lists empty
    pub body: Plan,
}

fn bound(r: &mut ListReader<'_>) -> Result<Bound> {
    match r.item()?.1 {
        Item::String(p) => Ok(Bound::Fixed(rlp::uint_u64(p)?)),
        Item::List(p) => {
            let mut l = ListReader::new(p);
            if l.u64()? != OP_PARAM {
                return Err(Error::Invalid("a block bound is a number or a parameter"));
            }
            let i = small(l.u64()?)?;
            l.finish()?;
            Ok(Bound::Param(i))
        }
    }
}

fn aggregates(mut al: ListReader<'_>) -> Result<Vec<(u64, Option<Expr>)>> {
    let mut out = Vec::new();
    while !al.is_empty() {
        let mut a = al.list()?;
        let op = a.u64()?;
        let e = if a.is_empty() {
            None
        } else {
            Some(crate::plan::expr_from(a.list()?)?)
        };
        a.finish()?;
        match (op, &e) {
            (COUNT_STAR, None) | (COUNT..=AVG, Some(_)) => {}
            _ => return Err(Error::Invalid("bad aggregate")),
        }
        out.push((op, e));
    }
    Ok(out)
}

fn order_by(mut ol: ListReader<'_>, width: usize) -> Result<Vec<(usize, bool)>> {
    let mut out = Vec::new();
    while !ol.is_empty() {
        let mut o = ol.list()?;
        let i = small(o.u64()?)?;
        let desc = flag(o.u64()?)?;
        o.finish()?;
        if i >= width {
            return Err(Error::Invalid("order_by index out of range"));
        }
        out.push((i, desc));
    }
    Ok(out)
}

fn type_codes(mut tl: ListReader<'_>) -> Result<Vec<u64>> {
    let mut out = Vec::new();
    while !tl.is_empty() {
        let t = tl.u64()?;
        if !(T_UINT..=T_BOOL).contains(&t) {
            return Err(Error::Invalid("unknown type code"));
        }
        out.push(t);
    }
    Ok(out)
}

impl Template {
    /// Decode the canonical template bytes (PLAN.md "Plan"); no semantic checks yet.
    pub fn decode(bytes: &[u8]) -> Result<Template> {
        if bytes.len() > crate::check::MAX_PLAN_BYTES {
            return Err(Error::Invalid("plan too large"));
        }
        let mut r = rlp::list_exact(bytes)?;
        if r.u64()? != PLAN_VERSION {
            return Err(Error::Invalid("plan version is not 2"));
        }
        let param_types = type_codes(r.list()?)?;
        if param_types.len() > MAX_PARAMS {
            return Err(Error::Invalid("too many parameters"));
        }
        let source = source_from(r.list()?)?;
        let first_block = bound(&mut r)?;
        let last_block = bound(&mut r)?;
        let state_filter = opt_expr(&mut r)?;
        let filter = opt_expr(&mut r)?;
        let group_by = exprs(r.list()?)?;
        let aggregates = aggregates(r.list()?)?;
        let select = exprs(r.list()?)?;
        let order_by = order_by(r.list()?, select.len())?;
        let mut ll = r.list()?;
        let limit = if ll.is_empty() { None } else { Some(ll.u64()?) };
        ll.finish()?;
        let output_types = type_codes(r.list()?)?;
        r.finish()?;
        if output_types.len() != select.len() || select.is_empty() || select.len() > 255 {
            return Err(Error::Invalid("output_types do not match select"));
        }
        let body = Plan {
            source,
            first_block: 0,
            last_block: 0,
            bloom_keys: Vec::new(),
            state_filter,
            filter,
            group_by,
            aggregates,
            select,
            order_by,
            limit,
            output_types,
        };
        Ok(Template {
            param_types,
            first_block,
            last_block,
            body,
        })
    }

    /// The concrete, checked plan for the ABI-encoded parameter values `params`
    /// (`abi.encode(v0, ..., vk-1)` of the declared types; empty for none). Missing,
    /// extra or ill-typed values, or a non-canonical encoding, fail.
    pub fn bind(&self, params: &[u8]) -> Result<Plan> {
        let values = abi::decode_values(&self.param_types, params)?;
        let mut p = self.body.clone();
        p.first_block = block(self.first_block, &values)?;
        p.last_block = block(self.last_block, &values)?;
        if p.first_block > p.last_block {
            return Err(Error::Invalid("first_block > last_block"));
        }
        let sub = |e: &mut Expr| substitute(e, &values);
        p.state_filter.as_mut().map(sub).transpose()?;
        p.filter.as_mut().map(sub).transpose()?;
        p.group_by.iter_mut().try_for_each(sub)?;
        for (_, e) in p.aggregates.iter_mut() {
            e.as_mut().map(sub).transpose()?;
        }
        p.select.iter_mut().try_for_each(sub)?;
        p.source = state_keys(&p)?;
        p.bloom_keys = derive_bloom_keys(&p);
        crate::check::check_plan(&p)?;
        Ok(p)
    }
}

fn block(b: Bound, values: &[Value]) -> Result<u64> {
    match b {
        Bound::Fixed(n) => Ok(n),
        Bound::Param(i) => match values.get(i) {
            Some(Value::Uint(v)) => {
                u64::try_from(*v).map_err(|_| Error::Invalid("a block bound is not 64-bit"))
            }
            _ => Err(Error::Invalid("a block bound parameter is not a uint256")),
        },
    }
}

/// Replaces parameters by their values and folds mapping slots, in place.
fn substitute(e: &mut Expr, values: &[Value]) -> Result<()> {
    match e {
        Expr::Param(i) => {
            let v = values
                .get(*i)
                .ok_or(Error::Invalid("parameter index out of range"))?;
            *e = Expr::Const(v.clone());
        }
        Expr::MapSlot(args) => {
            args.iter_mut().try_for_each(|a| substitute(a, values))?;
            *e = Expr::Const(Value::Bytes(mapping_slot(args)?.to_vec()));
        }
        Expr::Bin(_, a, b) => {
            substitute(a, values)?;
            substitute(b, values)?;
        }
        Expr::Not(a) | Expr::In(a, _) => substitute(a, values)?,
        Expr::Col(_) | Expr::Const(_) | Expr::Group(_) | Expr::Agg(_) => {}
    }
    Ok(())
}

/// keccak(pad32(key) ‖ pad32(slot)) applied once per key, starting from the base
/// (uints as 32-byte big-endian words, byte strings of at most 32 bytes left-padded).
fn mapping_slot(args: &[Expr]) -> Result<[u8; 32]> {
    let word = |e: &Expr| -> Result<[u8; 32]> {
        match e {
            Expr::Const(Value::Uint(u)) => Ok(u.to_be_bytes::<32>()),
            Expr::Const(Value::Bytes(b)) if b.len() <= 32 => {
                let mut w = [0u8; 32];
                w[32 - b.len()..].copy_from_slice(b);
                Ok(w)
            }
            _ => Err(Error::Invalid(
                "mapping_slot takes uint or bytes (at most 32) constants",
            )),
        }
    };
    let mut slot = word(&args[0])?;
    for key in &args[1..] {
        let mut buf = [0u8; 64];
        buf[..32].copy_from_slice(&word(key)?);
        buf[32..].copy_from_slice(&slot);
        slot = keccak256(&buf);
    }
    Ok(slot)
}

/// Column numbers of the state sources' keys.
const STATE_ADDRESS: usize = 1;
const STATE_SLOT: usize = 2;

/// The constants the conjuncts force on column `col` (PLAN.md "Bloom keys": the domain),
/// sorted, each exactly N bytes long.
fn state_keys_of<const N: usize>(conj: &[&Expr], col: usize) -> Result<Vec<[u8; N]>> {
    domain(conj, col)
        .ok_or(Error::Invalid(
            "a state source needs address (and slot) constants in WHERE",
        ))?
        .into_iter()
        .map(|b| {
            b.try_into()
                .map_err(|_| Error::Invalid("a state key has the wrong length"))
        })
        .collect()
}

/// The state source with its addresses (and slots): the constants the concrete filter's
/// top-level conjuncts force on those columns, sorted (PLAN.md "Sources").
fn state_keys(p: &Plan) -> Result<Source> {
    let conj = p.filter.as_ref().map(conjuncts).unwrap_or_default();
    Ok(match &p.source {
        Source::Accounts { .. } => Source::Accounts {
            addresses: state_keys_of(&conj, STATE_ADDRESS)?,
        },
        Source::Storage { .. } => Source::Storage {
            addresses: state_keys_of(&conj, STATE_ADDRESS)?,
            slots: state_keys_of(&conj, STATE_SLOT)?,
        },
        other => other.clone(),
    })
}
