//! The QueryPlan (PLAN.md "Plan"): its types, and the strict decoding of its
//! expressions and source from canonical RLP. The plan as a whole (a template
//! with parameters) is decoded and bound to its values by [`crate::template`].

use alloc::boxed::Box;
use alloc::vec::Vec;
use ethcore::rlp::ListReader;

use crate::{Error, Result, Value};

/// Source kinds.
pub const SRC_BLOCKS: u64 = 1;
/// transactions
pub const SRC_TRANSACTIONS: u64 = 2;
/// receipts
pub const SRC_RECEIPTS: u64 = 3;
/// logs
pub const SRC_LOGS: u64 = 4;
/// decoded event
pub const SRC_EVENT: u64 = 5;
/// accounts
pub const SRC_ACCOUNTS: u64 = 6;
/// storage
pub const SRC_STORAGE: u64 = 7;

/// Event parameter kinds.
pub const EV_ADDRESS: u64 = 1;
/// uintN
pub const EV_UINT: u64 = 2;
/// bool
pub const EV_BOOL: u64 = 3;
/// bytesN
pub const EV_BYTES: u64 = 4;

/// Output (ABI) types.
pub const T_UINT: u64 = 1;
/// address
pub const T_ADDRESS: u64 = 2;
/// bytes32
pub const T_BYTES32: u64 = 3;
/// bytes
pub const T_BYTES: u64 = 4;
/// bool
pub const T_BOOL: u64 = 5;

/// Aggregate opcodes.
pub const COUNT_STAR: u64 = 1;
/// COUNT(e)
pub const COUNT: u64 = 2;
/// COUNT(DISTINCT e)
pub const COUNT_DISTINCT: u64 = 3;
/// SUM
pub const SUM: u64 = 4;
/// MIN
pub const MIN: u64 = 5;
/// MAX
pub const MAX: u64 = 6;
/// AVG (floor)
pub const AVG: u64 = 7;

/// An event parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventParam {
    /// EV_*
    pub kind: u64,
    /// uintN: N; bytesN: 8N
    pub bits: u64,
    /// from a topic (else a data word)
    pub indexed: bool,
}

/// The scanned table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// kind 1
    Blocks,
    /// kind 2
    Transactions,
    /// kind 3
    Receipts,
    /// kind 4
    Logs,
    /// kind 5
    Event {
        /// topics[0]
        topic0: [u8; 32],
        /// parameters in signature order
        params: Vec<EventParam>,
    },
    /// kind 6
    Accounts {
        /// sorted addresses
        addresses: Vec<[u8; 20]>,
    },
    /// kind 7
    Storage {
        /// sorted addresses
        addresses: Vec<[u8; 20]>,
        /// sorted slots
        slots: Vec<[u8; 32]>,
    },
}

impl Source {
    /// Number of columns of a row.
    pub fn width(&self) -> usize {
        match self {
            Source::Blocks => 18,
            Source::Transactions => 16,
            Source::Receipts => 7,
            Source::Logs => 9,
            Source::Event { params, .. } => 4 + params.len(),
            Source::Accounts { .. } => 7,
            Source::Storage { .. } => 4,
        }
    }
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// 10 +
    Add,
    /// 11 -
    Sub,
    /// 12 *
    Mul,
    /// 13 /
    Div,
    /// 14 %
    Mod,
    /// 20 =
    Eq,
    /// 21 <>
    Ne,
    /// 22 <
    Lt,
    /// 23 <=
    Le,
    /// 24 >
    Gt,
    /// 25 >=
    Ge,
    /// 30 AND
    And,
    /// 31 OR
    Or,
}

/// An expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// column i of the row
    Col(usize),
    /// a constant (uint, bytes, bool, NULL)
    Const(Value),
    /// a binary operator
    Bin(BinOp, Box<Expr>, Box<Expr>),
    /// NOT
    Not(Box<Expr>),
    /// a IN (constants)
    In(Box<Expr>, Vec<Value>),
    /// group key i
    Group(usize),
    /// aggregate j
    Agg(usize),
    /// parameter i of a template (replaced by its value when the template is bound)
    Param(usize),
    /// a Solidity mapping slot `[base, key, ...]` of constants or parameters (folded to a
    /// bytes32 constant when the template is bound)
    MapSlot(Vec<Expr>),
}

/// The plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// table scanned
    pub source: Source,
    /// first block (inclusive)
    pub first_block: u64,
    /// last block (inclusive)
    pub last_block: u64,
    /// (address, topic0) pairs for bloom skipping
    pub bloom_keys: Vec<([u8; 20], [u8; 32])>,
    /// state sources: where proofs are required
    pub state_filter: Option<Expr>,
    /// WHERE
    pub filter: Option<Expr>,
    /// GROUP BY
    pub group_by: Vec<Expr>,
    /// aggregates (op, expr)
    pub aggregates: Vec<(u64, Option<Expr>)>,
    /// output columns
    pub select: Vec<Expr>,
    /// (output index, descending)
    pub order_by: Vec<(usize, bool)>,
    /// LIMIT
    pub limit: Option<u64>,
    /// ABI type per output column
    pub output_types: Vec<u64>,
}

impl Expr {
    /// True when the expression reads row column `i`.
    pub fn uses_col(&self, i: usize) -> bool {
        match self {
            Expr::Col(c) => *c == i,
            Expr::Const(_) | Expr::Group(_) | Expr::Agg(_) | Expr::Param(_) => false,
            Expr::MapSlot(args) => args.iter().any(|a| a.uses_col(i)),
            Expr::Bin(_, a, b) => a.uses_col(i) || b.uses_col(i),
            Expr::Not(a) | Expr::In(a, _) => a.uses_col(i),
        }
    }
}

impl Plan {
    /// True when the WHERE reads row column `i`.
    pub fn filter_uses_col(&self, i: usize) -> bool {
        self.filter.as_ref().is_some_and(|f| f.uses_col(i))
    }

    /// True when anything after the WHERE (group keys, aggregates, select)
    /// reads row column `i`.
    pub fn output_uses_col(&self, i: usize) -> bool {
        self.group_by.iter().any(|e| e.uses_col(i))
            || self
                .aggregates
                .iter()
                .any(|(_, e)| e.as_ref().is_some_and(|e| e.uses_col(i)))
            || self.select.iter().any(|e| e.uses_col(i))
    }
}

pub(crate) fn small(v: u64) -> Result<usize> {
    usize::try_from(v).map_err(|_| Error::Invalid("index too large"))
}

pub(crate) fn flag(v: u64) -> Result<bool> {
    match v {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(Error::Invalid("flag is not 0/1")),
    }
}

pub(crate) fn opt_expr(r: &mut ListReader<'_>) -> Result<Option<Expr>> {
    let l = r.list()?;
    if l.is_empty() {
        Ok(None)
    } else {
        Ok(Some(expr_from(l)?))
    }
}

pub(crate) fn exprs(l: ListReader<'_>) -> Result<Vec<Expr>> {
    exprs_at(l, 0)
}

fn exprs_at(mut l: ListReader<'_>, depth: usize) -> Result<Vec<Expr>> {
    let mut out = Vec::new();
    while !l.is_empty() {
        out.push(expr_at(l.list()?, depth)?);
    }
    Ok(out)
}

fn constant(e: Expr) -> Result<Value> {
    match e {
        Expr::Const(v) if !v.is_null() => Ok(v),
        _ => Err(Error::Invalid("IN list item is not a constant")),
    }
}

/// Decode one expression from its list reader.
pub fn expr_from(l: ListReader<'_>) -> Result<Expr> {
    expr_at(l, 0)
}

fn expr_at(mut l: ListReader<'_>, depth: usize) -> Result<Expr> {
    if depth >= crate::check::MAX_EXPR_DEPTH {
        return Err(Error::Invalid("expression nested too deeply"));
    }
    let sub = |l: ListReader<'_>| expr_at(l, depth + 1);
    let op = l.u64()?;
    let bin = |op| -> Option<BinOp> {
        Some(match op {
            10 => BinOp::Add,
            11 => BinOp::Sub,
            12 => BinOp::Mul,
            13 => BinOp::Div,
            14 => BinOp::Mod,
            20 => BinOp::Eq,
            21 => BinOp::Ne,
            22 => BinOp::Lt,
            23 => BinOp::Le,
            24 => BinOp::Gt,
            25 => BinOp::Ge,
            30 => BinOp::And,
            31 => BinOp::Or,
            _ => return None,
        })
    };
    let e = match op {
        1 => Expr::Col(small(l.u64()?)?),
        2 => Expr::Const(Value::Uint(l.u256()?)),
        3 => Expr::Const(Value::bytes(l.bytes()?)),
        4 => Expr::Const(Value::Bool(flag(l.u64()?)?)),
        5 => Expr::Const(Value::Null),
        32 => Expr::Not(Box::new(sub(l.list()?)?)),
        33 => {
            let a = sub(l.list()?)?;
            let consts = exprs_at(l.list()?, depth + 1)?
                .into_iter()
                .map(constant)
                .collect::<Result<Vec<_>>>()?;
            Expr::In(Box::new(a), consts)
        }
        6 => Expr::Param(small(l.u64()?)?),
        7 => {
            let args = exprs_at(l.list()?, depth + 1)?;
            if !(2..=4).contains(&args.len()) {
                return Err(Error::Invalid("mapping_slot takes a base and 1 to 3 keys"));
            }
            Expr::MapSlot(args)
        }
        40 => Expr::Group(small(l.u64()?)?),
        41 => Expr::Agg(small(l.u64()?)?),
        _ => match bin(op) {
            Some(b) => {
                let a = sub(l.list()?)?;
                let c = sub(l.list()?)?;
                Expr::Bin(b, Box::new(a), Box::new(c))
            }
            None => return Err(Error::Invalid("unknown expression opcode")),
        },
    };
    l.finish()?;
    Ok(e)
}

/// Decode a plan's source (version 2: state sources carry no key lists; the
/// guest derives them from the filter when it binds the template).
pub(crate) fn source_from(mut l: ListReader<'_>) -> Result<Source> {
    let kind = l.u64()?;
    let s = match kind {
        SRC_BLOCKS => Source::Blocks,
        SRC_TRANSACTIONS => Source::Transactions,
        SRC_RECEIPTS => Source::Receipts,
        SRC_LOGS => Source::Logs,
        SRC_EVENT => {
            let topic0 = l.fixed::<32>()?;
            let mut pl = l.list()?;
            let mut params = Vec::new();
            while !pl.is_empty() {
                let mut p = pl.list()?;
                let kind = p.u64()?;
                let bits = p.u64()?;
                let indexed = flag(p.u64()?)?;
                p.finish()?;
                let ok = match kind {
                    EV_ADDRESS => bits == 160,
                    EV_UINT | EV_BYTES => bits % 8 == 0 && (8..=256).contains(&bits),
                    EV_BOOL => bits == 8,
                    _ => false,
                };
                if !ok {
                    return Err(Error::Invalid("bad event parameter type"));
                }
                params.push(EventParam {
                    kind,
                    bits,
                    indexed,
                });
            }
            if params.iter().filter(|p| p.indexed).count() > 3 {
                return Err(Error::Invalid("more than 3 indexed event parameters"));
            }
            Source::Event { topic0, params }
        }
        SRC_ACCOUNTS => Source::Accounts {
            addresses: Vec::new(),
        },
        SRC_STORAGE => Source::Storage {
            addresses: Vec::new(),
            slots: Vec::new(),
        },
        _ => return Err(Error::Invalid("unknown source kind")),
    };
    l.finish()?;
    Ok(s)
}

impl Plan {
    /// Decode canonical plan bytes without parameters and check them
    /// ([`crate::check::check_plan`]): a decoded plan is a valid one. A template with
    /// parameters fails here (no values); see [`crate::template::Template::bind`].
    pub fn decode(bytes: &[u8]) -> Result<Plan> {
        crate::template::Template::decode(bytes)?.bind(&[])
    }

    /// Aggregated iff aggregates or group_by is non-empty.
    pub fn aggregated(&self) -> bool {
        !self.aggregates.is_empty() || !self.group_by.is_empty()
    }
}
