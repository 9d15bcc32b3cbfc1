"""coprocessor.contracts: the compiled artifacts load, and the mock seal's claim digest matches
the shared vectors (which risc0-zkvm and Solidity check too)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from coprocessor.contracts import (
    CONTRACT_NAMES,
    MOCK_SELECTOR,
    load_artifact,
    mock_seal,
    receipt_claim_digest,
)
from coprocessor.contracts.mock_seal import tagged_struct
from coprocessor.errors import ConfigError, InvalidArgument

REPO = Path(__file__).resolve().parents[2]
VECTORS = REPO / "contracts" / "test" / "vectors"


def vectors() -> list[dict]:
    return json.loads((VECTORS / "journals.json").read_text())["vectors"]


def test_vector_file_is_what_make_journals_writes():
    script = VECTORS / "make_journals.py"
    proc = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("vector", vectors(), ids=lambda v: v["name"])
def test_claim_digest_and_seal_of_each_vector(vector):
    image_id = bytes.fromhex(vector["imageId"][2:])
    journal = bytes.fromhex(vector["journal"][2:])
    digest = bytes.fromhex(vector["claimDigest"][2:])
    assert receipt_claim_digest(image_id, journal) == digest
    assert mock_seal(image_id, journal) == MOCK_SELECTOR + digest


def test_tagged_struct_matches_risc0_binfmt_test_vector():
    # risc0-binfmt hash.rs `test_tagged_struct`
    d1 = tagged_struct("foo", [], [1, 2013265920, 3])
    d2 = tagged_struct("bar", [d1, d1], [2013265920, 5])
    d3 = tagged_struct("baz", [d1, d2, d1], [6, 7, 2013265920, 9, 10])
    assert d3.hex() == "9ff20cc6d365efa2af09181772f49013d05cdee6da896851614cae23aa5dd442"


def test_claim_digest_needs_a_32_byte_image_id():
    with pytest.raises(InvalidArgument):
        receipt_claim_digest(b"\x01" * 31, b"")


def test_every_named_artifact_loads_with_its_abi():
    for name in CONTRACT_NAMES:
        artifact = load_artifact(name)
        assert artifact.name == name and artifact.abi
    query = load_artifact("CoprocessorQuery")
    assert query.bytecode and query.deployed_bytecode
    assert [i["type"] for i in query.function_abi("fulfill")["inputs"]] == [
        "bytes32",
        "bytes",
        "bytes",
    ]
    assert query.event_abi("Fulfilled")["name"] == "Fulfilled"
    assert load_artifact("ICoprocessorClient").bytecode == b""
    with pytest.raises(InvalidArgument):
        query.function_abi("no_such_function")


def test_unknown_or_missing_artifacts_are_clear_errors(tmp_path, monkeypatch):
    with pytest.raises(InvalidArgument):
        load_artifact("NoSuchContract")
    monkeypatch.setenv("COPROCESSOR_CONTRACTS_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match="make contracts"):
        load_artifact("CoprocessorQuery")
