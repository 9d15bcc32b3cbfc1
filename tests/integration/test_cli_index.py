"""The `coprocessor` CLI: index, index status, export, devchain; errors are clear, exit codes
non-zero."""

import json
import socket
import subprocess
import sys

import polars as pl
import pytest
from typer.testing import CliRunner

from coprocessor.cli import app
from coprocessor.store import TABLES

runner = CliRunner()


@pytest.fixture(scope="module")
def indexed(devnode, tmp_path_factory):
    db = tmp_path_factory.mktemp("cli") / "i.duckdb"
    r = runner.invoke(app, ["index", "--rpc", devnode.url, "--db", str(db), "--json", "--to", "20"])
    assert r.exit_code == 0, r.output
    return db, json.loads(r.stdout)


def test_index_summary(indexed):
    db, summary = indexed
    assert summary["first_block"] == 0 and summary["last_block"] == 20 and summary["blocks"] == 21


def test_index_resumes_and_status(indexed, devnode):
    db, _ = indexed
    r = runner.invoke(app, ["index", "--rpc", devnode.url, "--db", str(db), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["blocks"] == devnode.history.last_block - 20
    r = runner.invoke(app, ["index", "status", "--db", str(db), "--json"])
    assert r.exit_code == 0, r.output
    st = json.loads(r.stdout)
    assert st["last_block"] == devnode.history.last_block and st["rows"]["transactions"] > 100
    r = runner.invoke(app, ["index", "status", "--db", str(db)])
    assert "last_block" in r.stdout


def test_export_parquet_is_exact(indexed, tmp_path):
    db, _ = indexed
    r = runner.invoke(app, ["export", "--db", str(db), "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    for t in TABLES:
        assert (tmp_path / f"{t}.parquet").exists()
    tx = pl.read_parquet(tmp_path / "transactions.parquet")
    assert tx["value"].dtype == pl.String  # uint256 as exact decimal text
    assert tx.height > 0 and all(int(v) >= 0 for v in tx["value"])


def test_gap_is_refused(indexed, devnode):
    db, _ = indexed
    r = runner.invoke(app, ["index", "--rpc", devnode.url, "--db", str(db), "--from", "999"])
    assert r.exit_code == 1 and "gap" in r.output


def test_unreachable_node_fails_clearly(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{s.getsockname()[1]}"
    s.close()
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "coprocessor.cli",
            "index",
            "--rpc",
            url,
            "--db",
            str(tmp_path / "x.duckdb"),
            "--retries",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1 and "failed after 3 attempts" in r.stderr and url in r.stderr


def test_missing_rpc_and_missing_db(tmp_path):
    assert runner.invoke(app, ["index"]).exit_code == 2
    r = runner.invoke(app, ["index", "status", "--db", str(tmp_path / "none.duckdb")])
    assert r.exit_code == 1 and "no index" in r.output


def test_devchain_command_builds_and_exits():
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "coprocessor.cli",
            "devchain",
            "--blocks",
            "4",
            "--txs-per-block",
            "3",
            "--exit",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["rpc"].startswith("http://127.0.0.1:") and set(info["tokens"]) == {
        "DUSD",
        "DETH",
        "WHALE",
    }


def test_track_from_a_config_file(devnode, tmp_path):
    from coprocessor.devchain import balance_slot

    token = devnode.history.tokens["WHALE"]
    holder = devnode.history.accounts[0]
    cfg = tmp_path / "track.toml"
    cfg.write_text(
        f'track = ["0x{devnode.history.accounts[1].hex()}", '
        f'{{ address = "0x{token.hex()}", slots = ["0x{balance_slot(holder).hex()}"] }}]\n'
    )
    db = tmp_path / "t.duckdb"
    r = runner.invoke(
        app,
        [
            "index",
            "--rpc",
            devnode.url,
            "--db",
            str(db),
            "--from",
            "1",
            "--to",
            "5",
            "--config",
            str(cfg),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    from coprocessor.store import Store

    with Store(db, read_only=True) as s:
        assert s.sql("SELECT count(*) FROM accounts")[0][0] == 10
        assert s.sql("SELECT count(*) FROM storage")[0][0] == 5
        assert int(s.sql("SELECT max(value)::VARCHAR FROM storage")[0][0]) > 2**128


def test_bad_config_is_a_clear_error(devnode, tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("track = [")
    r = runner.invoke(
        app,
        ["index", "--rpc", devnode.url, "--db", str(tmp_path / "b.duckdb"), "--config", str(cfg)],
    )
    assert r.exit_code == 1 and "cannot read config" in r.output
