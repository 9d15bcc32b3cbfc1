"""Writes journals.json: query journals (version 3) with their decoded fields, for the Solidity,
Rust and Python decoders, and their RISC Zero claim digests for the mock verifier.

    .venv/bin/python contracts/test/vectors/make_journals.py          # rewrite journals.json
    .venv/bin/python contracts/test/vectors/make_journals.py --check  # fail if it is stale

Journal (contracts/README.md): abi.encode(uint8 version = 3, uint64 chainId, bytes32 queryHash,
uint64 anchorNumber, bytes32 anchorHash, bytes32 historyRoot, uint64 firstBlock, uint64 lastBlock,
bytes params, bytes result), result = abi.encode(Row[]), Row = (uint256 nulls, column values...).
historyRoot is zero for a journal anchored on a block hash, else a BlockHistory state's root
(stand-in bytes here).
`plan` is opaque stand-in bytes (queryHash = keccak256(plan)), not a real plan template.
Integers are decimal strings (uint64 and uint256 exceed JSON's safe integers), bytes are 0x-hex.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from eth_abi import encode
from eth_hash.auto import keccak

from coprocessor.contracts.mock_seal import receipt_claim_digest

OUT = Path(__file__).with_name("journals.json")
JOURNAL_VERSION = 3
JOURNAL_TYPES = "uint8 uint64 bytes32 uint64 bytes32 bytes32 uint64 uint64 bytes bytes".split()
NO_HISTORY_ROOT = bytes(32)
# PLAN.md output type codes -> ABI type of a Row column.
COLUMN_TYPES = {1: "uint256", 2: "address", 3: "bytes32", 4: "bytes", 5: "bool"}
U64_MAX, U256_MAX = 2**64 - 1, 2**256 - 1


def h(data: bytes) -> str:
    return "0x" + data.hex()


def json_value(abi_type: str, value) -> object:
    if abi_type == "bool":
        return value
    if abi_type.startswith("uint"):
        return str(value)
    if abi_type == "address":
        return value.lower()
    return h(value)


def vector(
    name: str,
    *,
    chain_id: int,
    plan: bytes,
    anchor_number: int,
    first: int,
    last: int,
    param_types: list[str],
    param_values: list,
    output_types: list[int],
    rows: list[tuple],
    history_root: bytes = NO_HISTORY_ROOT,
) -> dict:
    query_hash = keccak(plan)
    anchor_hash = keccak(b"anchor " + name.encode())
    params = encode(param_types, param_values)
    row_types = ["uint256", *(COLUMN_TYPES[code] for code in output_types)]
    result = encode([f"({','.join(row_types)})[]"], [rows])
    journal = encode(
        JOURNAL_TYPES,
        [
            JOURNAL_VERSION,
            chain_id,
            query_hash,
            anchor_number,
            anchor_hash,
            history_root,
            first,
            last,
            params,
            result,
        ],
    )
    image_id = hashlib.sha256(b"coprocessor test image " + name.encode()).digest()
    return {
        "name": name,
        "journal": h(journal),
        "version": JOURNAL_VERSION,
        "chainId": str(chain_id),
        "queryHash": h(query_hash),
        "plan": h(plan),
        "anchorNumber": str(anchor_number),
        "anchorHash": h(anchor_hash),
        "historyRoot": h(history_root),
        "firstBlock": str(first),
        "lastBlock": str(last),
        "params": h(params),
        "paramTypes": param_types,
        "paramValues": [json_value(t, v) for t, v in zip(param_types, param_values, strict=True)],
        "result": h(result),
        "outputTypes": output_types,
        "rows": [[json_value(t, v) for t, v in zip(row_types, row, strict=True)] for row in rows],
        "journalDigest": h(hashlib.sha256(journal).digest()),
        "imageId": h(image_id),
        "claimDigest": h(receipt_claim_digest(image_id, journal)),
    }


def build() -> dict:
    token = "0x" + "11" * 20
    alice, bob = "0x" + "a1" * 20, "0x" + "b0" * 20
    vectors = [
        vector(
            "no-params-one-row",
            chain_id=31337,
            plan=b"stand-in plan: count of blocks",
            anchor_number=120,
            first=100,
            last=119,
            param_types=[],
            param_values=[],
            output_types=[1],
            rows=[(0, 20)],
        ),
        vector(
            "transfer-volume",
            chain_id=31337,
            plan=b"stand-in plan: transfer volume",
            anchor_number=45,
            first=1,
            last=40,
            param_types=["address", "address", "uint256", "uint256"],
            param_values=[token, alice, 1, 40],
            output_types=[1, 1],
            rows=[(0, 1_500 * 10**18, 7)],
        ),
        vector(
            "transfer-volume-none",
            chain_id=31337,
            plan=b"stand-in plan: transfer volume",
            anchor_number=45,
            first=1,
            last=40,
            param_types=["address", "address", "uint256", "uint256"],
            param_values=[token, bob, 1, 40],
            output_types=[1, 1],
            rows=[(1, 0, 0)],
        ),
        vector(
            "mixed-columns-extremes",
            chain_id=1,
            plan=b"stand-in plan: mixed columns",
            anchor_number=U64_MAX,
            first=0,
            last=U64_MAX - 1,
            param_types=["bytes32", "bool", "bytes", "uint256"],
            param_values=[b"\x5a" * 32, True, b"\x01\x02\x03", U256_MAX],
            output_types=[2, 4, 3, 5],
            rows=[
                (0, alice, b"", b"\x00" * 32, True),
                (0b0101, "0x" + "00" * 20, b"\xff", b"\x01" * 32, False),
                (0b1010, bob, bytes(range(33)), b"\x00" * 32, False),
                (0, token, bytes(100), b"\xee" * 32, True),
            ],
        ),
        vector(
            "no-rows",
            chain_id=17000,
            plan=b"stand-in plan: nothing matches",
            anchor_number=2**32,
            first=2**32 - 8191,
            last=2**32,
            param_types=["uint256"],
            param_values=[0],
            output_types=[1],
            rows=[],
        ),
        vector(
            "history-anchored",
            chain_id=1,
            plan=b"stand-in plan: transfer volume",
            anchor_number=19_100_000,
            first=19_000_000,
            last=19_100_000,
            param_types=["address", "address", "uint256", "uint256"],
            param_values=[token, alice, 19_000_000, 19_100_000],
            output_types=[1, 1],
            rows=[(0, 42 * 10**18, 3)],
            history_root=keccak(b"history root of a stand-in BlockHistory state"),
        ),
        vector(
            "history-anchored-extremes",
            chain_id=U64_MAX,
            plan=b"stand-in plan: count of blocks",
            anchor_number=0,
            first=0,
            last=0,
            param_types=["address"],
            param_values=[bob],
            output_types=[1],
            rows=[(1, 0)],
            history_root=b"\xff" * 32,
        ),
    ]
    return {
        "description": "Query journals, version 3 (contracts/README.md), with their decoded fields "
        "and the RISC Zero claim digest of ReceiptClaim::ok(imageId, journal). "
        "Written by make_journals.py; read by contracts/test, native/risc0-py/tests and tests/.",
        "count": len(vectors),
        "vectors": vectors,
    }


def main(argv: list[str]) -> int:
    text = json.dumps(build(), indent=2) + "\n"
    if argv[1:] == ["--check"]:
        if OUT.read_text() != text:
            print(f"{OUT} is stale: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
