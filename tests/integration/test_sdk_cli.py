"""The SDK (`coprocessor.sdk`) and the CLI's `query` / `verify` on the indexed devchain.

Dev mode (executor + fake receipt) everywhere except one real proof, marked slow.
Fixtures come from conftest.py, helpers from support/catalogue.py.
"""

from __future__ import annotations

import dataclasses
import json
import time

import pytest
from typer.testing import CliRunner

from coprocessor import zkvm
from coprocessor.cli import app
from coprocessor.compiler.journal import decode_journal
from coprocessor.errors import (
    InternalError,
    InvalidArgument,
    ResultMismatchError,
    VerificationError,
)
from coprocessor.sdk import Coprocessor, QueryResult, sidecar_path

from support.catalogue import CAT, params_for

runner = CliRunner()
DEV_QUERIES = ("erc20_balance_at_block", "transfer_volume_into_account", "base_fee_and_gas")
CHEAPEST = "code_hash_at_block"  # one header + one account proof


@pytest.fixture(scope="module")
def cp(env):
    node, store, _ = env
    c = Coprocessor(store, rpc=node.url)
    yield c
    c.close()


def _cli_params(params: dict) -> list[str]:
    out = []
    for k, v in params.items():
        out += ["--param", f"{k}={'0x' + v.hex() if isinstance(v, bytes) else v}"]
    return out


def test_chain_id_from_the_index(cp, env):
    assert cp.chain_id == env[0].client.chain_id() == env[1].checkpoint().chain_id
    with pytest.raises(InvalidArgument, match="contradicts"):
        Coprocessor(env[1], chain_id=cp.chain_id + 1)


@pytest.mark.parametrize("name", DEV_QUERIES)
def test_prove_dev_equals_expected(cp, env, name):
    params = params_for(env, name)
    compiled = cp.compile(CAT[name], params=params)
    res = cp.prove(CAT[name], params=params, dev=True)
    assert res.rows == compiled.expected and res.rows
    assert res.query_hash == compiled.query_hash
    assert (res.first_block, res.last_block) == (
        compiled.plan.first_block,
        compiled.plan.last_block,
    )
    assert res.anchor_number == compiled.anchor and res.anchor_hash == compiled.witness.anchor_hash
    assert res.columns == [r["name"] for r in CAT[name].result]
    assert res.image_id == zkvm.Program.load("query").image_id
    assert res.dev and res.receipt.is_fake and res.cycles > 0
    # a fake receipt verifies only when the caller allows dev mode
    with pytest.raises(VerificationError):
        res.verify()
    j = res.verify(allow_dev=True)
    assert j.rows == compiled.expected
    # a real-looking result holding a fake receipt never verifies, allow_dev or not
    forged = dataclasses.replace(res, dev=False)
    with pytest.raises(VerificationError):
        forged.verify(allow_dev=True)


def test_explain_does_not_prove(cp, env):
    name = "transfer_volume_into_account"
    text = cp.explain(CAT[name], params=params_for(env, name))
    assert "queryHash 0x" in text and "estimated guest cycles" in text


def test_result_mismatch_raises(cp, env, monkeypatch):
    name = "erc20_balance_at_block"
    compiled = cp.compile(CAT[name], params=params_for(env, name))
    (bal,) = compiled.expected[0]
    compiled.expected = [(bal + 1,)]  # DuckDB "says" something else than the guest
    with pytest.raises(
        ResultMismatchError, match="bug: proven result differs from the expected one"
    ) as e:
        cp.prove_compiled(compiled, dev=True)
    assert isinstance(e.value, InternalError)
    # the same through prove(): the compiler's answer is patched at the seam
    import coprocessor.sdk.embedded as sdk

    real = sdk.compile_sql

    def lying_compile(*a, **kw):
        q = real(*a, **kw)
        q.expected = [(v + 1,) for (v,) in q.expected]
        return q

    monkeypatch.setattr(sdk, "compile_sql", lying_compile)
    with pytest.raises(ResultMismatchError):
        cp.prove(CAT[name], params=params_for(env, name), dev=True)


# --- binding a receipt to its question and to a trusted anchor (issue 9, findings 5 and 6) ------


@pytest.fixture(scope="module")
def saved_balance(cp, env, tmp_path_factory):
    name = "erc20_balance_at_block"
    params = params_for(env, name)
    res = cp.prove(CAT[name], params=params, dev=True)
    path = res.save(tmp_path_factory.mktemp("bind") / "bal.receipt")
    return name, params, res, path


def test_verify_binds_the_question(saved_balance, env):
    name, params, res, path = saved_balance
    v = QueryResult.load(path).verify(allow_dev=True)
    assert v.question is None and v.anchor is None and not v.complete
    assert any("question: NOT checked" in n for n in v.notes())
    v = QueryResult.load(path).verify(sql=CAT[name], params=params, allow_dev=True)
    assert v.question is not None and v.rows == res.rows
    assert res.param_types == ["address", "uint256", "address", "uint256"]
    assert res.param_values == tuple(
        params[k] for k in ("token", "balance_slot", "account", "block")
    )
    # the same query for another account: the same queryHash, other parameter values: refused
    other = {**params, "account": b"\x01" * 20}
    with pytest.raises(VerificationError, match="for other parameter values"):
        QueryResult.load(path).verify(sql=CAT[name], params=other, allow_dev=True)
    # another question is refused by its queryHash
    with pytest.raises(VerificationError, match="answers another question"):
        QueryResult.load(path).verify(
            sql=CAT["code_hash_at_block"],
            params={"contract": params["token"], "block": 1},
            allow_dev=True,
        )


def test_a_sidecar_cannot_rename_or_retype_a_bound_result(saved_balance):
    """uint256 and bytes32 share an ABI word: a sidecar may claim a balance is a hash. Seal-only
    verification cannot tell; binding the question restores the real names and types."""
    name, params, res, path = saved_balance
    meta = json.loads(sidecar_path(path).read_text())
    meta.update(types=["bytes32"], columns=["code_hash"], sql="SELECT code_hash FROM accounts ...")
    sidecar_path(path).write_text(json.dumps(meta))
    lied = QueryResult.load(path)
    v = lied.verify(allow_dev=True)  # the seal holds: only the sidecar lies
    assert (
        v.question is None
        and lied.column_types == ["bytes32"]
        and isinstance(lied.rows[0][0], bytes)
    )
    bound = QueryResult.load(path)
    bound.verify(sql=CAT[name], params=params, allow_dev=True)
    assert (
        bound.column_types == ["uint256"]
        and bound.columns == ["balance"]
        and bound.rows == res.rows
    )


def test_verify_checks_the_anchor(saved_balance, env):
    name, params, res, path = saved_balance
    node = env[0]
    v = QueryResult.load(path).verify(
        sql=CAT[name], params=params, trusted_rpc=node.url, allow_dev=True
    )
    assert v.complete and v.anchor == f"node {node.url}"
    assert (
        QueryResult.load(path)
        .verify(anchor_hash="0x" + res.anchor_hash.hex(), allow_dev=True)
        .anchor
    )
    with pytest.raises(VerificationError, match="anchor block"):
        QueryResult.load(path).verify(anchor_hash=bytes(32), allow_dev=True)
    # a node of another chain (a fresh anvil: its own genesis, no such block) is not the chain
    from coprocessor.devchain import Anvil

    with Anvil(chain_id=5) as other:
        with pytest.raises(VerificationError, match="chain 5"):
            QueryResult.load(path).verify(trusted_rpc=other.url, allow_dev=True)
    with Anvil() as other:  # same chain id, another history
        with pytest.raises(VerificationError, match="no block|not the canonical chain"):
            QueryResult.load(path).verify(trusted_rpc=other.url, allow_dev=True)


def test_prove_checks_the_index_anchor_against_its_node(cp, env):
    from coprocessor.devchain import Anvil

    name = "base_fee_and_gas"  # headers only: nothing is fetched from the node
    with Anvil() as other:  # the index's chain id, but not the index's blocks
        with Coprocessor(env[1], rpc=other.url) as liar:
            with pytest.raises(VerificationError):
                liar.prove(CAT[name], params=params_for(env, name), dev=True)


def test_cli_verify_says_what_was_checked(saved_balance, env):
    name, params, res, path = saved_balance
    r = runner.invoke(app, ["verify", str(path), "--json", "--allow-dev"])
    d = json.loads(r.stdout)
    assert (
        r.exit_code == 0
        and d["seal_checked"]
        and not d["question_checked"]
        and d["anchor_checked"] is None
    )
    r = runner.invoke(app, ["verify", str(path), "--allow-dev"])
    assert "question: NOT checked" in r.stdout and "anchor: NOT checked" in r.stdout
    r = runner.invoke(
        app,
        [
            "verify",
            str(path),
            "--json",
            "--allow-dev",
            "--name",
            name,
            *_cli_params(params),
            "--rpc",
            env[0].url,
        ],
    )
    d = json.loads(r.stdout)
    assert r.exit_code == 0, r.output
    assert (
        d["question_checked"]
        and d["anchor_checked"] == f"node {env[0].url}"
        and d["columns"] == ["balance"]
    )
    r = runner.invoke(
        app,
        [
            "verify",
            str(path),
            "--json",
            "--allow-dev",
            "--sql",
            "SELECT COUNT(*) FROM blocks WHERE block_number = 1",
        ],
    )
    assert r.exit_code == 1 and "another question" in json.loads(r.stdout)["error"]


# --- CLI ---------------------------------------------------------------------------------------


def _db(env):
    return env[1].path


def test_cli_query_json_name_param_and_verify(env, tmp_path):
    name = "erc20_balance_at_block"
    params = params_for(env, name)
    out = tmp_path / "bal.receipt"
    r = runner.invoke(
        app,
        [
            "query",
            "--name",
            name,
            *_cli_params(params),
            "--db",
            _db(env),
            "--rpc",
            env[0].url,
            "--dev",
            "--json",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    compiled = Coprocessor(env[1]).compile(CAT[name], params=params)
    assert d["rows"] == [[str(compiled.expected[0][0])]] and d["columns"] == ["balance"]
    assert d["query_hash"] == "0x" + compiled.query_hash.hex() and d["dev"] is True
    assert out.is_file() and json.loads(sidecar_path(out).read_text())["types"] == ["uint256"]

    # verify: a fake receipt fails without --allow-dev, passes with it
    r = runner.invoke(app, ["verify", str(out), "--json"])
    assert r.exit_code == 1 and json.loads(r.stdout)["verified"] is False
    r = runner.invoke(app, ["verify", str(out), "--json", "--allow-dev"])
    assert r.exit_code == 0, r.output
    v = json.loads(r.stdout)
    assert v["verified"] and v["rows"] == d["rows"] and v["query_hash"] == d["query_hash"]
    r = runner.invoke(app, ["verify", str(out), "--allow-dev"])
    assert r.exit_code == 0 and "verified" in r.stdout


def test_cli_query_plan_prints_the_template_to_pin(env):
    """`query --plan`: the queryHash, template bytes and parameter types a contract pins; the
    same for any values (no index needed)."""
    name = "transfer_volume_into_account"
    params = params_for(env, name)
    r = runner.invoke(app, ["query", "--plan", "--json", "--name", name, *_cli_params(params)])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    compiled = Coprocessor(env[1]).compile(CAT[name], params=params)
    assert d["query_hash"] == "0x" + compiled.query_hash.hex() and d["prepared"] is True
    assert d["plan"] == "0x" + compiled.plan_bytes.hex()
    assert d["param_types"] == ["address", "address", "uint256", "uint256"]
    assert [p["name"] for p in d["params"]] == ["token", "account", "from_block", "to_block"]
    assert d["params_abi"] == "0x" + compiled.params_bytes.hex()
    other = {**params, "account": b"\x01" * 20, "to_block": params["to_block"] - 1}
    r = runner.invoke(app, ["query", "--plan", "--json", "--name", name, *_cli_params(other)])
    d2 = json.loads(r.stdout)
    assert (d2["query_hash"], d2["plan"]) == (d["query_hash"], d["plan"])
    assert d2["params_abi"] != d["params_abi"]
    r = runner.invoke(app, ["query", "--plan", "--name", name, *_cli_params(params)])
    assert r.exit_code == 0 and "address token, address account" in r.stdout


def test_cli_query_sql_table_default_receipt_path(env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    h = env[0].history
    sql = CAT["base_fee_and_gas"].sql
    # the catalogue SQL starts with a `--` comment: `--` ends the options
    r = runner.invoke(
        app,
        [
            "query",
            "--db",
            _db(env),
            "--dev",
            "--param",
            f"from_block={h.first_block}",
            "--param",
            f"to_block={h.first_block + 3}",
            "--",
            sql,
        ],
    )
    assert r.exit_code == 0, r.output
    assert "queryHash" in r.stdout and "image ID" in r.stdout and "cycles" in r.stdout
    saved = list((tmp_path / "receipts").glob("*.receipt"))
    assert len(saved) == 1 and sidecar_path(saved[0]).is_file()
    res = QueryResult.load(saved[0])
    assert saved[0].name == res.query_hash.hex() + ".receipt"
    assert res.verify(allow_dev=True).rows == res.rows


def test_cli_explain(env):
    name = "top_receivers"
    r = runner.invoke(
        app,
        [
            "query",
            "--name",
            name,
            *_cli_params(params_for(env, name)),
            "--db",
            _db(env),
            "--explain",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "queryHash 0x" in r.stdout and "bloom" in r.stdout and "expected" in r.stdout


def test_cli_bad_sql_exit_2_with_token(env):
    r = runner.invoke(
        app,
        ["query", "SELECT value FROM storage\nWHERE address = 1 UNION SELECT 1", "--db", _db(env)],
    )
    assert r.exit_code == 2, r.output
    assert "compile error" in r.output and "token" in r.output and "line" in r.output
    r = runner.invoke(
        app, ["query", "SELECT nonsense_col FROM blocks WHERE block_number = 1", "--db", _db(env)]
    )
    assert r.exit_code == 2 and "nonsense_col" in r.output


def test_cli_verify_rejects_a_tampered_journal(env, tmp_path):
    name = "base_fee_and_gas"
    out = tmp_path / "fee.receipt"
    r = runner.invoke(
        app,
        [
            "query",
            "--name",
            name,
            *_cli_params(params_for(env, name)),
            "--db",
            _db(env),
            "--dev",
            "--json",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    meta = json.loads(sidecar_path(out).read_text())
    meta["types"] = ["uint256", "uint256"]  # a sidecar that does not fit the journal
    sidecar_path(out).write_text(json.dumps(meta))
    r = runner.invoke(app, ["verify", str(out), "--allow-dev"])
    assert r.exit_code != 0


# --- one real proof ----------------------------------------------------------------------------


def _flip(b: bytes, i: int) -> bytes:
    return b[:i] + bytes([b[i] ^ 1]) + b[i + 1 :]


@pytest.mark.slow
def test_real_proof_of_the_cheapest_catalogue_query(cp, env, tmp_path):
    params = params_for(env, CHEAPEST)
    compiled = cp.compile(CAT[CHEAPEST], params=params)
    started = time.perf_counter()
    res = cp.prove(CAT[CHEAPEST], params=params)
    wall = time.perf_counter() - started
    print(
        f"\n{CHEAPEST}: real proof {res.proving_seconds:.1f}s (wall {wall:.1f}s), "
        f"{res.cycles:,} cycles "
        f"({res.user_cycles:,} user, {res.segments} segments), receipt {res.receipt_size:,} bytes"
    )
    assert not res.dev and not res.receipt.is_fake and res.receipt.kind == "composite"
    assert res.rows == compiled.expected
    j = res.verify()
    assert j.rows == compiled.expected and j.query_hash == compiled.query_hash

    # saved and loaded: verifies without --allow-dev
    path = res.save(tmp_path / "real.receipt")
    r = runner.invoke(app, ["verify", str(path), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["rows"] == [["0x" + compiled.expected[0][0].hex()]]

    # a flipped journal byte (inside the code hash) fails
    data = res.receipt.to_bytes()
    k = data.find(res.journal)
    assert k >= 0
    bad_journal = _flip(data, k + len(res.journal) - 40)
    with pytest.raises(VerificationError):
        zkvm.verify(bad_journal, res.image_id)
    # a flipped byte of the seal fails
    i = len(data) // 2
    if k <= i < k + len(res.journal):
        i = k + len(res.journal) + 64
    bad_seal = _flip(data, i)
    with pytest.raises(VerificationError):
        zkvm.verify(bad_seal, res.image_id)
    # a result whose journal was altered after proving fails verify() as well
    j2 = _flip(res.journal, len(res.journal) - 40)
    forged = dataclasses.replace(
        res, journal=j2, rows=decode_journal(j2, compiled.plan.output_types).rows
    )
    with pytest.raises(VerificationError):
        forged.verify()
