"""The relayer's key comes from a file or an environment variable, never an argument
(coprocessor/relayer/keys.py, config.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account

from coprocessor.errors import ConfigError, InvalidArgument
from coprocessor.relayer.config import DEFAULT_KEY_ENV, RelayerConfig
from coprocessor.relayer.keys import load_account

KEY = "0x" + "4c" * 32
ADDRESS = Account.from_key(KEY).address


def test_key_from_a_file(tmp_path):
    path = tmp_path / "relayer.key"
    path.write_text(KEY + "\n")
    path.chmod(0o600)
    assert load_account(key_file=path).address == ADDRESS
    path.write_text(KEY.removeprefix("0x"))
    assert load_account(key_file=path).address == ADDRESS


def test_key_from_the_environment(monkeypatch):
    monkeypatch.setenv("RELAYER_KEY_FOR_TEST", KEY)
    assert load_account(key_env="RELAYER_KEY_FOR_TEST").address == ADDRESS
    monkeypatch.delenv("RELAYER_KEY_FOR_TEST")
    with pytest.raises(ConfigError, match="holds no key"):
        load_account(key_env="RELAYER_KEY_FOR_TEST")


@pytest.mark.parametrize("text", ["0x1234", "not hex at all", "0x" + "00" * 32])
def test_bad_keys_are_refused(tmp_path, text):
    path = tmp_path / "relayer.key"
    path.write_text(text)
    with pytest.raises(ConfigError):
        load_account(key_file=path)


def test_exactly_one_key_source(tmp_path):
    with pytest.raises(InvalidArgument):
        load_account()
    with pytest.raises(InvalidArgument):
        load_account(key_file=tmp_path / "k", key_env="X")
    with pytest.raises(ConfigError, match="cannot read"):
        load_account(key_file=tmp_path / "missing")


def test_config_takes_a_key_source_not_a_key():
    common = dict(rpc_url="http://127.0.0.1:1", contract="0x" + "00" * 20, db_path=Path("o.db"))
    assert RelayerConfig(**common).key_source_env == DEFAULT_KEY_ENV
    assert RelayerConfig(**common, key_file=Path("k")).key_source_env is None
    with pytest.raises(InvalidArgument, match="not both"):
        RelayerConfig(**common, key_file=Path("k"), key_env="X")
    with pytest.raises(InvalidArgument, match="confirmations"):
        RelayerConfig(**common, confirmations=0)
