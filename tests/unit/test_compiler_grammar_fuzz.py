"""The compiler on random SQL: random queries from a grammar of the dialect
and random mutations of valid ones only ever give a plan the guest accepts or a CompileError,
never another exception (no store: plans only, checked by the guest's own code natively)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coprocessor.compiler import compile
from coprocessor.compiler.prepared import bind
from coprocessor.compiler.schema import BUILTIN
from coprocessor.errors import CompileError

TABLES = ["blocks", "transactions", "receipts", "logs", "accounts", "storage", "erc20_transfers"]
CONSTS = [
    "0",
    "1",
    "7",
    "115792089237316195423570985008687907853269984665640564039457584007913129639935",
    "0x" + "11" * 20,
    "0x" + "22" * 32,
    "0xdeadbeef",
    "true",
    "false",
    ":p",
    ":q",
    "'x'",
    "1.5",
    "-3",
    "mapping_slot(0, 0x" + "11" * 20 + ")",
    "NULL",
]
CMP = ["=", "<>", "<", "<=", ">", ">="]
ARITH = ["+", "-", "*", "/", "%"]
AGGS = ["COUNT(*)", "COUNT({})", "COUNT(DISTINCT {})", "SUM({})", "MIN({})", "MAX({})", "AVG({})"]
EXTRA = ["JOIN blocks b ON 1 = 1", "HAVING COUNT(*) > 1", "OFFSET 2", "LIMIT 3"]


@st.composite
def query(draw):
    table = draw(st.sampled_from(TABLES))
    cols = [c.name for c in BUILTIN[table].columns]
    quoted = [f'"{c}"' if c in ("from", "to", "exists") else c for c in cols]
    col = st.sampled_from(quoted)

    def value(depth):
        leaf = st.one_of(col, st.sampled_from(CONSTS))
        if depth == 0:
            return leaf
        return st.one_of(
            leaf,
            st.builds(
                lambda a, op, b: f"({a} {op} {b})",
                value(depth - 1),
                st.sampled_from(ARITH),
                value(depth - 1),
            ),
        )

    def cond(depth):
        atom = st.one_of(
            st.builds(lambda a, op, b: f"{a} {op} {b}", value(1), st.sampled_from(CMP), value(1)),
            st.builds(lambda a, b, c: f"{a} BETWEEN {b} AND {c}", col, value(0), value(0)),
            st.builds(
                lambda a, xs: f"{a} IN ({', '.join(xs)})",
                col,
                st.lists(value(0), min_size=1, max_size=3),
            ),
        )
        if depth == 0:
            return atom
        sub = cond(depth - 1)
        return st.one_of(
            atom,
            st.builds(lambda a, op, b: f"({a} {op} {b})", sub, st.sampled_from(["AND", "OR"]), sub),
            st.builds(lambda a: f"NOT ({a})", sub),
        )

    a = draw(st.integers(0, 40))
    where = f"block_number BETWEEN {a} AND {a + draw(st.integers(0, 5))}"
    if draw(st.booleans()):
        where += " AND " + draw(cond(2))
    if table in ("accounts", "storage"):
        where += " AND address = 0x" + "11" * 20 + (" AND slot = 3" if table == "storage" else "")
    grouped = draw(st.booleans())
    items = draw(
        st.lists(
            st.one_of(value(1), st.builds(lambda f, c: f.format(c), st.sampled_from(AGGS), col)),
            min_size=1,
            max_size=3,
        )
    )
    sql = f"SELECT {', '.join(items)} FROM {table} WHERE {where}"
    if grouped:
        sql += f" GROUP BY {draw(col)}"
    if draw(st.booleans()):
        sql += f" ORDER BY {draw(st.integers(1, len(items)))}" + draw(
            st.sampled_from(["", " DESC", " LIMIT 2"])
        )
    if draw(st.integers(0, 9)) == 0:
        sql += " " + draw(st.sampled_from(EXTRA))
    return sql


def compiles_or_refuses(sql: str) -> None:
    try:
        q = compile(sql, params={"p": 5, "q": "0x" + "33" * 20})
    except (
        CompileError
    ) as exc:  # the lowering itself refuses: it never emits a plan the guest rejects
        assert "the query guest rejects" not in exc.reason, sql
        return
    assert q.plan_bytes == q.prepared.template_bytes and len(q.query_hash) == 32
    assert bind(q.prepared.template, q.prepared.param_values).encode() == q.plan.encode()


@settings(
    max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(query())
def test_grammar_queries_give_a_plan_or_a_compile_error(sql):
    compiles_or_refuses(sql)


VALID = [
    "SELECT SUM(value) FROM erc20_transfers WHERE token = 0x"
    + "11" * 20
    + " AND block_number BETWEEN 1 AND 9",
    'SELECT "to", COUNT(*) AS n FROM erc20_transfers WHERE block_number BETWEEN 1 AND 9 '
    'GROUP BY "to" ORDER BY n DESC LIMIT 3',
    "SELECT balance FROM accounts WHERE address = 0x" + "11" * 20 + " AND block_number = 5",
    "SELECT block_number, base_fee_per_gas FROM blocks WHERE block_number BETWEEN 1 AND 4 "
    "ORDER BY 2",
]


@st.composite
def mutated(draw):
    sql = draw(st.sampled_from(VALID))
    tokens = sql.split(" ")
    for _ in range(draw(st.integers(1, 3))):
        k = draw(st.integers(0, len(tokens) - 1))
        how = draw(st.sampled_from(["drop", "dup", "swap", "char"]))
        if how == "drop" and len(tokens) > 1:
            tokens.pop(k)
        elif how == "dup":
            tokens.insert(k, tokens[k])
        elif how == "swap":
            j = draw(st.integers(0, len(tokens) - 1))
            tokens[k], tokens[j] = tokens[j], tokens[k]
        else:
            c = draw(st.sampled_from(list("(),*;'\"=<>-+0x:")))
            t = tokens[k]
            i = draw(st.integers(0, len(t)))
            tokens[k] = t[:i] + c + t[i:]
    return " ".join(tokens)


@settings(
    max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(mutated())
def test_mutated_queries_give_a_plan_or_a_compile_error(sql):
    compiles_or_refuses(sql)
