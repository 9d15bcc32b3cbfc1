"""The Python/Rust contract, written once on each side and checked here: every code the two
languages exchange (plan opcodes, source kinds, event and output types, aggregates, witness
modes, ethcore and query commands, status codes, receipt kinds, the journal version, the tables
of the indexer's native fast path) must have the same value on both sides. The Rust side is read
from its source, so no build is needed; so is the Solidity side of the journal version."""

from __future__ import annotations

import re
from pathlib import Path

from coprocessor import ethcore, ffi, store
from coprocessor.compiler import anchors as A
from coprocessor.compiler import journal, native
from coprocessor.compiler import plan as P
from coprocessor.compiler import schema as S
from coprocessor.compiler import witness as W
from coprocessor.errors import (
    EthDataError,
    ExecutionError,
    InternalError,
    InvalidArgument,
    PlanRejectedError,
    ProgramError,
    ProvingError,
    QueryEvaluationError,
    ReceiptFormatError,
    VerificationError,
)

REPO = Path(__file__).resolve().parents[2]
QUERY_CORE = REPO / "guest_programs" / "query-core" / "src"
NATIVE = REPO / "native" / "risc0-py" / "src"


def rust_consts(path: Path) -> dict[str, int]:
    """`pub const NAME: type = <integer>;` of a Rust file."""
    text = path.read_text()
    return {m[1]: int(m[2]) for m in re.finditer(r"pub const (\w+): \w+ = (\d+);", text)}


def test_plan_codes():
    rs = rust_consts(QUERY_CORE / "plan.rs")
    sources = [
        "SRC_BLOCKS",
        "SRC_TRANSACTIONS",
        "SRC_RECEIPTS",
        "SRC_LOGS",
        "SRC_EVENT",
        "SRC_ACCOUNTS",
        "SRC_STORAGE",
    ]
    assert {k: rs[k] for k in sources} == {k: getattr(S, k) for k in sources}
    events = {
        "EV_ADDRESS": S.EV_ADDRESS,
        "EV_UINT": S.EV_UINT,
        "EV_BOOL": S.EV_BOOL,
        "EV_BYTES": S.EV_BYTES32,
    }
    assert {k: rs[k] for k in events} == events
    types = {
        "T_UINT": S.UINT,
        "T_ADDRESS": S.ADDRESS,
        "T_BYTES32": S.BYTES32,
        "T_BYTES": S.BYTES,
        "T_BOOL": S.BOOL,
    }
    assert {k: rs[k] for k in types} == types
    aggs = ["COUNT_STAR", "COUNT", "COUNT_DISTINCT", "SUM", "MIN", "MAX", "AVG"]
    assert {k: rs[k] for k in aggs} == {k: getattr(P, k) for k in aggs}


def test_expression_opcodes():
    text = (QUERY_CORE / "plan.rs").read_text()
    binops = {m[2]: int(m[1]) for m in re.finditer(r"(\d+) => BinOp::(\w+),", text)}
    py_bin = {
        "Add": P.ADD,
        "Sub": P.SUB,
        "Mul": P.MUL,
        "Div": P.DIV,
        "Mod": P.MOD,
        "Eq": P.EQ,
        "Ne": P.NE,
        "Lt": P.LT,
        "Le": P.LE,
        "Gt": P.GT,
        "Ge": P.GE,
        "And": P.AND,
        "Or": P.OR,
    }
    assert binops == py_bin
    others = {m[2]: int(m[1]) for m in re.finditer(r"(\d+) => Expr::(\w+(?:\(Value::\w+)?)", text)}
    assert others == {
        "Col": P.COL,
        "Const(Value::Uint": P.UINT_C,
        "Const(Value::bytes": P.BYTES_C,
        "Const(Value::Bool": P.BOOL_C,
        "Const(Value::Null": P.NULL_C,
        "Not": P.NOT,
        "Group": P.GROUP_REF,
        "Agg": P.AGG_REF,
        "Param": P.PARAM,
    }
    assert re.search(r"\b33 => \{\s*let a = sub", text) and P.IN == 33
    assert re.search(r"\b7 => \{\s*let args", text) and P.MAPPING_SLOT == 7


def test_witness_modes_and_versions():
    rs = rust_consts(QUERY_CORE / "scan.rs")
    modes = ["MODE_BLOOM_SKIP", "MODE_RECEIPTS", "MODE_TXS_RECEIPTS"]
    assert {k: rs[k] for k in modes} == {k: getattr(W, k) for k in modes}
    assert rust_consts(QUERY_CORE / "journal.rs")["JOURNAL_VERSION"] == journal.JOURNAL_VERSION
    assert rs["WITNESS_VERSION"] == W.WITNESS_VERSION == 2
    anchors = rust_consts(QUERY_CORE / "anchor.rs")
    for name in ("ANCHOR_WALK", "ANCHOR_HISTORY", "ANCHOR_EIP2935", "EIP2935_WINDOW"):
        assert anchors[name] == getattr(A, name), name
    assert rust_consts(QUERY_CORE / "template.rs")["PLAN_VERSION"] == P.PLAN_VERSION == 2


def test_journal_version_in_solidity():
    text = (REPO / "contracts" / "CoprocessorJournal.sol").read_text()
    found = re.search(r"uint8 internal constant VERSION = (\d+);", text)
    assert found and int(found[1]) == journal.JOURNAL_VERSION


def test_ethcore_and_query_commands():
    rs = rust_consts(REPO / "guest_programs" / "ethcore" / "src" / "ops.rs")
    assert rs and rs == {k: getattr(ethcore, k) for k in rs}
    accumulator = rust_consts(NATIVE / "commands.rs")
    assert accumulator and accumulator == {k: getattr(ethcore, k) for k in accumulator}
    assert not set(accumulator.values()) & set(rs.values())
    rs = rust_consts(NATIVE / "query.rs")
    assert rs == {
        "OP_RUN": native.OP_RUN,
        "OP_CHECK": native.OP_CHECK,
        "OP_STATE_POINTS": native.OP_STATE_POINTS,
        "OP_CHECK_BOUND": native.OP_CHECK_BOUND,
        "OP_EVALUATE": native.OP_EVALUATE,
    }


def test_status_codes_and_receipt_kinds():
    rs = rust_consts(NATIVE / "status.rs")
    errors = {
        "R0_ERR_PROGRAM": ProgramError,
        "R0_ERR_EXECUTION": ExecutionError,
        "R0_ERR_PROVING": ProvingError,
        "R0_ERR_VERIFICATION": VerificationError,
        "R0_ERR_RECEIPT_FORMAT": ReceiptFormatError,
        "R0_ERR_ARGUMENT": InvalidArgument,
        "R0_ERR_ETHCORE": EthDataError,
        "R0_ERR_QUERY_EVAL": QueryEvaluationError,
        "R0_ERR_QUERY_INVALID": PlanRejectedError,
        "R0_ERR_PANIC": InternalError,
    }
    assert rs["R0_OK"] == ffi.STATUS_OK == 0
    assert rs["R0_DECLINED"] == ffi.STATUS_DECLINED
    assert {rs[k]: v for k, v in errors.items()} == ffi.ERRORS_BY_STATUS
    assert set(errors) == {k for k in rs if k.startswith("R0_ERR_")}
    assert set(rs) == {"R0_OK", "R0_DECLINED", *errors}
    kinds = rust_consts(NATIVE / "zkvm.rs")
    names = {
        kinds[k]: k.removeprefix("R0_KIND_").lower() for k in kinds if k.startswith("R0_KIND_")
    }
    assert names == ffi.RECEIPT_KIND_NAMES


def rust_table_schemas(path: Path) -> dict[str, list[tuple[str, str]]]:
    """`pub const X: TableSchema = TableSchema { name: "t", columns: &[("c", TYPE), ...] };`"""
    text = path.read_text()
    declaration = r'TableSchema = TableSchema \{\s*name: "(\w+)",\s*columns: &\[(.*?)\],\s*\};'
    tables = re.findall(declaration, text, re.DOTALL)
    return {name: re.findall(r'\("(\w+)", (\w+)\)', columns) for name, columns in tables}


def test_native_ingest_tables_match_the_store():
    """The tables the native fast path fills are declared in Rust with DuckDB's type names;
    each must be the store's table column for column."""
    rust = rust_table_schemas(NATIVE / "ingest" / "schema.rs")
    assert list(rust) == ["blocks", "transactions", "receipts", "logs", "withdrawals"]
    assert rust == {name: store.TABLES[name] for name in rust}
