"""coprocessor.compiler without a chain: the dialect's errors, plan canonicality, queryHash,
catalogue."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coprocessor.compiler import catalogue, compile
from coprocessor.compiler.native import evaluate
from coprocessor.compiler.schema import ERC20_TRANSFERS, mapping_slot
from coprocessor.compiler.source_rows import decode_event
from coprocessor.errors import CompileError, CoprocessorError, QueryEvaluationError

TOKEN = "0x" + "aa" * 20
BASE = f"FROM erc20_transfers WHERE token = {TOKEN} AND block_number BETWEEN 1 AND 10"

# (sql, token the error must name, words of the reason)
BAD = [
    ("SELECT a FROM t1 JOIN t2 ON a = b WHERE block_number = 1", "JOIN", "JOIN"),
    (f"SELECT value {BASE} AND value IN (SELECT 1)", "SELECT", "subquer"),
    (f"SELECT SUM(value) OVER () {BASE}", "OVER", "window"),
    ("SELECT SUM(value) FROM erc20_transfers WHERE token = 0x00", "WHERE", "must state its blocks"),
    ("SELECT COUNT(*) FROM blocks", "blocks", "must state its blocks"),
    ("SELECT x FROM nosuchtable WHERE block_number = 1", "nosuchtable", "unknown table"),
    (f"SELECT nosuchcolumn {BASE}", "nosuchcolumn", "unknown column"),
    (f"SELECT value {BASE} AND value > 1.5", "1.5", "float"),
    (f"SELECT value / 0 {BASE}", "0", "division by zero"),
    (f"SELECT value {BASE} AND value LIKE 3", "LIKE", "LIKE"),
    (f"SELECT UPPER(value) {BASE}", "UPPER", "not supported"),
    (f"SELECT * {BASE}", "*", "SELECT *"),
    (f'SELECT "to", SUM(value) {BASE} GROUP BY "to" HAVING SUM(value) > 1', "HAVING", "HAVING"),
    (f"SELECT value {BASE} LIMIT 3", "LIMIT", "ORDER BY"),
    (f"SELECT value {BASE} AND value = {2**256}", str(2**256), "uint256"),
    (f"SELECT value {BASE} AND (value = ", "", "syntax error"),
    (f"SELECT value {BASE} AND value = 'abc'", "'abc'", "string literal"),
    (f'SELECT "to", value {BASE} GROUP BY "to"', "value", "GROUP BY"),
    (f"SELECT value {BASE} AND value = -1", "-", "not supported"),
    (f"SELECT DISTINCT value {BASE}", "DISTINCT", "DISTINCT"),
    (f"SELECT value {BASE} AND token = 3", "3", "type mismatch"),
    (f"SELECT value {BASE} AND value = :missing", ":", "no value"),
    ("SELECT balance FROM accounts WHERE block_number = 3", "accounts", "address"),
    (
        "SELECT value FROM storage WHERE address = 0x" + "11" * 20 + " AND block_number = 3",
        "storage",
        "slot",
    ),
    (f"SELECT value {BASE} UNION SELECT value {BASE}", "UNION", "only SELECT"),
    (f"SELECT SUM(MAX(value)) {BASE}", "", "nested aggregates"),
    (f"SELECT value {BASE} AND value = 2**256 - 1 + 1", "", ""),
    (f"SELECT value {BASE} AND block_number BETWEEN 2 AND 3", "", "stated twice"),
    (f"SELECT value {BASE} AND value IS NULL", "IS", "not supported"),
    (
        "SELECT value FROM erc20_transfers WHERE block_number BETWEEN 9 AND 2",
        "BETWEEN",
        "empty block range",
    ),
]


@pytest.mark.parametrize("sql,token,reason", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_unsupported_sql_names_token_and_reason(sql, token, reason):
    with pytest.raises(CompileError) as info:
        compile(sql)
    err = info.value
    assert isinstance(err, CoprocessorError)
    assert reason.lower() in err.reason.lower(), err
    if token:
        assert err.token == token, (err.token, str(err))
        assert err.line >= 1 and err.column >= 1
        line = sql.splitlines()[err.line - 1]
        assert line[err.column - 1 :].startswith(token), (line, err.column)


def test_error_position_on_a_later_line():
    sql = "SELECT value\nFROM erc20_transfers\nWHERE block_number = 4\n  AND value LIKE 7"
    with pytest.raises(CompileError) as info:
        compile(sql)
    assert (info.value.token, info.value.line, info.value.column) == ("LIKE", 4, 13)


def test_anchor_before_range_end_is_refused():
    with pytest.raises(CompileError, match="anchor"):
        from coprocessor.compiler.lower import lower

        lower(f"SELECT value {BASE}", anchor=5)


Q = (
    'SELECT "to", SUM(value) AS v FROM erc20_transfers WHERE token = {t} '
    'AND block_number BETWEEN {a} AND {b} GROUP BY "to" ORDER BY v DESC LIMIT 5'
)


def _reformat(sql: str, data) -> str:
    """Same query: random whitespace and random case of keywords and unquoted names."""
    out = []
    in_quote = False
    for ch in sql:
        if ch == '"':
            in_quote = not in_quote
        if ch == " " and not in_quote:
            out.append(data.draw(st.sampled_from([" ", "  ", "\n", "\t", " \n  "])))
        elif ch.isalpha() and not in_quote and not out[-2:] == ["0", "x"] and not _in_hex(out):
            out.append(ch.upper() if data.draw(st.booleans()) else ch.lower())
        else:
            out.append(ch)
    return "".join(out)


def _in_hex(out) -> bool:
    s = "".join(out[-70:])
    i = s.rfind("0x")
    return i >= 0 and all(c in "0123456789abcdefABCDEF" for c in s[i + 2 :])


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_query_hash_ignores_formatting(data):
    sql = Q.format(t=TOKEN, a=1, b=10)
    h = compile(sql).query_hash
    assert compile(_reformat(sql, data)).query_hash == h


@settings(max_examples=60, deadline=None)
@given(a=st.integers(0, 2**63), n=st.integers(0, 2**25 - 1), t=st.binary(min_size=20, max_size=20))
def test_query_hash_changes_with_constants(a, n, t):
    base = compile(Q.format(t=TOKEN, a=1, b=10))
    q = compile(Q.format(t="0x" + t.hex(), a=a, b=a + n))
    same = t.hex() == TOKEN[2:] and a == 1 and a + n == 10
    assert (q.query_hash == base.query_hash) == same
    assert q.plan_bytes == compile(Q.format(t="0x" + t.hex(), a=a, b=a + n)).plan_bytes


def test_equivalent_spellings_share_a_plan():
    a = compile("SELECT COUNT(*) FROM blocks WHERE block_number = 7")
    b = compile("select count(*) from BLOCKS where NUMBER between 7 and 7")
    assert a.query_hash == b.query_hash
    c = compile(f"SELECT value {BASE} AND value > 2 + 3").plan_bytes
    d = compile(f"SELECT value {BASE} AND value > 5").plan_bytes
    assert c == d
    e = compile(f"SELECT value {BASE} AND value IN (3, 1, 3)").plan_bytes
    f = compile(f"SELECT value {BASE} AND value IN (1, 3)").plan_bytes
    assert e == f
    p = compile(f"SELECT value AS x {BASE}").plan_bytes
    assert p == compile(f"SELECT value AS y {BASE}").plan_bytes  # names are not part of the plan
    named = compile(
        "SELECT value FROM erc20_transfers WHERE token = :t AND block_number BETWEEN :a AND :b",
        params={"t": TOKEN, "a": 1, "b": 10},
    )
    literal = compile(f"SELECT value {BASE}")
    # parameters stay parameters: another template, the same concrete plan
    assert named.plan.encode() == literal.plan.encode() == literal.plan_bytes
    assert named.plan_bytes != literal.plan_bytes and named.param_types == [
        "address",
        "uint256",
        "uint256",
    ]


def test_mapping_slot_matches_solidity_layout():
    from coprocessor.devchain import allowance_slot, balance_slot

    a, b = bytes.fromhex("11" * 20), bytes.fromhex("22" * 20)
    assert mapping_slot(0, a) == balance_slot(a)
    assert mapping_slot(1, a, b) == allowance_slot(a, b)
    q = compile(
        "SELECT value FROM storage WHERE address = :t AND slot = mapping_slot(1, :o, :s) "
        "AND block_number = 5",
        params={"t": TOKEN, "o": a, "s": b},
    )
    assert q.plan.source[2] == (allowance_slot(a, b),)


def test_plan_encoding_is_rlp_with_documented_layout():
    import rlp

    q = compile(Q.format(t=TOKEN, a=1, b=10))
    items = rlp.decode(q.plan_bytes)
    assert len(items) == 13 and items[0] == b"\x02" and items[1] == []  # version 2, no params
    assert items[2][0] == bytes([5]) and items[2][1] == ERC20_TRANSFERS.event[0]
    assert rlp.encode(items) == q.plan_bytes  # canonical RLP (minimal lengths)
    from eth_hash.auto import keccak

    assert q.query_hash == keccak(q.plan_bytes)


def test_guest_evaluation_is_exact():
    big = 2**255
    rows = [
        (1, 0, 0, b"a" * 20, b"x" * 20, b"y" * 20, big),
        (1, 0, 1, b"a" * 20, b"x" * 20, b"z" * 20, big - 1),
        (2, 0, 0, b"a" * 20, b"x" * 20, b"y" * 20, 3),
    ]
    q = compile(
        'SELECT AVG(value), MIN(value), MAX(value), COUNT(DISTINCT "to") FROM erc20_transfers '
        "WHERE block_number BETWEEN 1 AND 2 AND value > 2"
    )
    with pytest.raises(QueryEvaluationError, match="overflow in SUM"):
        evaluate(q.plan, rows)
    q = compile(
        "SELECT AVG(value) FROM erc20_transfers WHERE block_number BETWEEN 1 AND 2 AND value < 100"
    )
    assert evaluate(q.plan, rows) == [(3,)]
    assert evaluate(q.plan, rows[:2]) == [(None,)]  # AVG of nothing is NULL
    q = compile("SELECT (value - 4) FROM erc20_transfers WHERE block_number BETWEEN 1 AND 2")
    with pytest.raises(QueryEvaluationError, match="underflow"):
        evaluate(q.plan, rows)
    q = compile("SELECT value * 2 FROM erc20_transfers WHERE block_number BETWEEN 1 AND 2")
    with pytest.raises(QueryEvaluationError, match="overflow"):
        evaluate(q.plan, rows)
    q = compile(
        "SELECT SUM(value) / COUNT(*), SUM(value) FROM erc20_transfers WHERE block_number = 2"
    )
    assert evaluate(q.plan, rows[2:]) == [(3, 3)]  # the scan supplies only the range's rows


def test_event_decoding_rejects_other_shapes():
    params = ERC20_TRANSFERS.event[1]
    t0 = ERC20_TRANSFERS.event[0]
    a, b = bytes(12) + b"\x01" * 20, bytes(12) + b"\x02" * 20
    assert decode_event(params, (t0, a, b, None), (5).to_bytes(32, "big")) == (
        b"\x01" * 20,
        b"\x02" * 20,
        5,
    )
    assert decode_event(params, (t0, a, b, (7).to_bytes(32, "big")), b"") is None  # ERC721 Transfer
    assert decode_event(params, (t0, b"\x01" * 32, b, None), (5).to_bytes(32, "big")) is None
    assert decode_event(params, (t0, a, b, None), b"") is None


def test_user_event_view():
    views = {
        "swaps": "Swap(address indexed sender, uint256 amount0In, uint112 amount1In, bool flag)"
    }
    q = compile(
        "SELECT SUM(amount0In) FROM swaps WHERE address = :p AND flag = TRUE AND block_number = 3",
        params={"p": TOKEN},
        views=views,
    )
    assert q.plan.source[0] == 5 and q.plan.source[2] == (
        (1, 160, True),
        (2, 256, False),
        (2, 112, False),
        (3, 8, False),
    )
    with pytest.raises(CompileError, match="not supported"):
        compile("SELECT x FROM v WHERE block_number = 1", views={"v": "E(string s)"})


def test_catalogue_has_ten_queries_that_compile():
    cat = catalogue()
    assert len(cat) >= 10
    for q in cat.values():
        assert q.description and q.result
        params = {}
        for name, spec in q.params.items():
            params[name] = "0x" + "12" * 20 if spec["type"] == "address" else 3
        params.update({"from_block": 1, "to_block": 9, "block": 4})
        c = compile(q.sql, params=params, views=q.views)
        assert [r["name"] for r in q.result] == c.columns, q.name
        assert [r["type"] for r in q.result] == c.column_types, q.name


def test_comparisons_over_aggregates_and_group_keys():
    """Used to crash the compiler with a TypeError (found by fuzzing)."""
    a = b"\x01" * 20
    rows = [(1, 0, 0, a, a, a, 5), (1, 1, 1, a, a, a, 6), (2, 0, 2, a, a, a, 7)]
    q = compile(
        "SELECT block_number, block_number = COUNT(*) AS same, COUNT(*) > 1 AS many "
        "FROM erc20_transfers WHERE block_number BETWEEN 1 AND 3 GROUP BY block_number"
    )
    assert evaluate(q.plan, rows) == [(1, False, True), (2, False, False)]
    with pytest.raises(CompileError, match="cannot compare"):
        compile('SELECT "to" = COUNT(*) FROM erc20_transfers WHERE block_number = 1 GROUP BY "to"')


@pytest.mark.parametrize(
    "sql, params, reason",
    [
        (
            "SELECT block_number, tx_index:c FROM transactions WHERE block_number BETWEEN 1 AND 2",
            {"c": 1},
            "output name must be an identifier",
        ),
        ("SELECT COUNT(*) FROM blocks WHERE block_number = :c", {"c": "²"}, "must be an integer"),
        (
            "SELECT " + "(" * 3000 + "1" + ")" * 3000 + " FROM blocks WHERE block_number = 1",
            {},
            "nested too deeply",
        ),
        ("SELECT block_number + COUNT(*) FROM blocks WHERE block_number = 1", {}, "GROUP BY"),
        (
            "SELECT COUNT(*) FROM blocks WHERE block_number = 1 AND "
            + " AND ".join(["gas_used > 1"] * 300),
            {},
            "nested too deeply",
        ),
    ],
)
def test_crashes_found_by_fuzzing_are_compile_errors(sql, params, reason):
    with pytest.raises(CompileError, match=reason):
        compile(sql, params=params)


def test_a_where_of_a_hundred_conjuncts_compiles():
    compile(
        "SELECT COUNT(*) FROM blocks WHERE block_number = 1 AND "
        + " AND ".join(["gas_used > 1"] * 100)
    )
