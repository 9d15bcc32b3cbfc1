"""Event views with bytesN parameters (N < 32) on a devchain: a bytes4 (indexed, a topic) and a
bytes16 (a data word). Their value is the whole left-aligned 32-byte word, typed bytes32, so
`=`, `<>`, ordering and selecting them agree with the node, DuckDB and the query guest."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from eth_abi import encode as abi_encode
from eth_hash.auto import keccak

from coprocessor import zkvm
from coprocessor.compiler import compile
from coprocessor.compiler.journal import decode_journal, guest_input
from coprocessor.devchain import Anvil, compile_contracts, selector
from coprocessor.errors import CompileError
from coprocessor.indexer import Indexer
from coprocessor.store import Store

VIEWS = {"tags": "Tagged(bytes4 indexed tag, bytes16 note, uint256 n)"}
BEEF, CAFE = bytes.fromhex("deadbeef"), bytes.fromhex("cafe0001")
NOTES = [bytes(range(16)), bytes([0xFF] * 16), bytes(16)]
EMITS = [(BEEF, NOTES[0], 1), (CAFE, NOTES[1], 2), (BEEF, NOTES[2], 3), (BEEF, NOTES[1], 4)]


def mined(c, tx: str) -> dict:
    """The receipt of `tx`, once anvil (automine) has mined it."""
    for _ in range(200):
        r = c.call("eth_getTransactionReceipt", [tx])
        if r is not None:
            assert r["status"] == "0x1", r
            return r
        time.sleep(0.05)
    raise AssertionError(f"{tx} was not mined")


def pad(b: bytes) -> bytes:
    return b.ljust(32, b"\0")


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    art = compile_contracts(Path(__file__).resolve().parents[1] / "contracts" / "TagEmitter.sol")[
        "TagEmitter"
    ]
    with Anvil() as node, node.client() as c:
        sender = c.call("eth_accounts")[0]
        tx = c.call(
            "eth_sendTransaction",
            [{"from": sender, "data": "0x" + art.bytecode.hex(), "gas": hex(500_000)}],
        )
        contract = mined(c, tx)["contractAddress"]
        first = c.block_number() + 1
        for t, note, n in EMITS:  # one block each (automine)
            data = selector("tag(bytes4,bytes16,uint256)") + abi_encode(
                ["bytes4", "bytes16", "uint256"], [t, note, n]
            )
            mined(
                c,
                c.call(
                    "eth_sendTransaction",
                    [
                        {
                            "from": sender,
                            "to": contract,
                            "data": "0x" + data.hex(),
                            "gas": hex(100_000),
                        }
                    ],
                ),
            )
        last = c.block_number()
        store = Store(tmp_path_factory.mktemp("bytesn") / "index.duckdb")
        Indexer(c, store).run(first=0)
        yield store, bytes.fromhex(contract[2:]), first, last, c.chain_id()
        store.close()


def q(chain, where: str, select: str = "COUNT(*)", tail: str = ""):
    store, contract, a, b, _ = chain
    sql = (
        f"SELECT {select} FROM tags"
        f" WHERE block_number BETWEEN {a} AND {b} AND address = :c{where} {tail}"
    )
    return compile(sql, params={"c": contract}, views=VIEWS, store=store)


def test_bytes_n_compare_with_constants_of_their_length(chain):
    assert q(chain, " AND tag = 0xdeadbeef").expected == [(3,)]
    assert q(chain, " AND tag <> 0xdeadbeef").expected == [(1,)]
    assert q(chain, " AND tag IN (0xcafe0001, 0x12345678)").expected == [(1,)]
    assert q(chain, " AND note = 0x" + NOTES[1].hex()).expected == [(2,)]
    assert q(chain, " AND tag < 0xdeadbeef").expected == [(1,)]  # cafe0001.. < deadbeef..
    # the full 32-byte word works too; other lengths are a compile error
    assert q(chain, " AND tag = 0x" + pad(BEEF).hex()).expected == [(3,)]
    with pytest.raises(CompileError, match="bytes4"):
        q(chain, " AND tag = 0xdeadbeef00")


def test_bytes_n_select_and_order(chain):
    got = q(chain, "", "tag, note, n", "ORDER BY note DESC, n").expected
    want = sorted(
        ((pad(t), pad(note), n) for t, note, n in EMITS),
        key=lambda r: (-int.from_bytes(r[1], "big"), r[2]),
    )
    assert got == want
    assert q(chain, "", "MIN(tag), MAX(note)").expected == [(pad(CAFE), pad(NOTES[1]))]


def test_bytes_n_in_the_guest(chain):
    guest = zkvm.Program.load("query")
    chain_id = chain[4]
    for cq in (
        q(chain, " AND tag = 0xdeadbeef", "tag, note, n", "ORDER BY n"),
        q(chain, " AND note <> 0x" + NOTES[0].hex(), "COUNT(*), MAX(tag)"),
    ):
        j = decode_journal(
            zkvm.execute(guest, guest_input(cq, chain_id)).journal, cq.plan.output_types
        )
        assert j.rows == cq.expected and j.query_hash == keccak(cq.plan_bytes)
