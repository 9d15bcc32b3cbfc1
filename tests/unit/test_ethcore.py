"""coprocessor.ethcore (the guests' Rust checks, run natively) on real mainnet data.

The exhaustive conformance and property suites of the Rust crate itself are in
guest_programs/ethcore/tests (cargo test); these check the Python path the
indexer uses, and that bad data raises EthDataError.
"""

import random

import pytest

from coprocessor import ethcore
from coprocessor.errors import EthDataError, InvalidArgument

from support import mainnet

HEADERS = mainnet.files("headers_rlp")
BLOCKS = mainnet.files("block_rlp")
PROOFS = mainnet.files("proofs")
RECEIPTS = mainnet.files("receipts")


def flip(data: bytes, at: int, bit: int = 1) -> bytes:
    out = bytearray(data)
    out[at % len(out)] ^= bit
    return bytes(out)


@pytest.fixture(autouse=True)
def _fixtures():
    mainnet.require()


@pytest.mark.parametrize("path", mainnet.params(HEADERS))
def test_header_hash_matches_mainnet(path):
    fixture = mainnet.load(path)
    info = ethcore.decode_header(mainnet.hexbytes(fixture["rlp"]))
    assert info.hash == mainnet.hexbytes(fixture["hash"])
    assert info.number == fixture["number"]
    assert info.field_count in (15, 16, 17, 20, 21)


@pytest.mark.parametrize("path", mainnet.params(HEADERS[:8]))
def test_mutated_header_is_rejected_or_rehashed(path):
    fixture = mainnet.load(path)
    header = mainnet.hexbytes(fixture["rlp"])
    rng = random.Random(path.stem)
    for _ in range(20):
        mutated = flip(header, rng.randrange(len(header)), 1 << rng.randrange(8))
        try:
            assert ethcore.header_hash(mutated) != mainnet.hexbytes(fixture["hash"])
        except EthDataError:
            pass


def test_header_with_an_extra_field_is_rejected():
    # A Prague header (21 fields, the most of any fork) plus one more field.
    fixture = mainnet.load(mainnet.FIXTURES / "headers_rlp" / "22431084.json")
    fields = mainnet.header_fields(mainnet.hexbytes(fixture["rlp"]))
    assert len(fields) == 21
    with pytest.raises(EthDataError, match="fields"):
        ethcore.decode_header(mainnet.rlp.encode([*fields, b"\x01"]))


def test_header_chain_links_to_anchor():
    chain = [
        mainnet.load(mainnet.FIXTURES / "headers_rlp" / f"{n}.json")
        for n in range(1000001, 1000011)
    ]
    headers = [mainnet.hexbytes(h["rlp"]) for h in chain]
    anchor = mainnet.hexbytes(chain[-1]["hash"])
    assert ethcore.verify_chain(headers, anchor) == (1000001, 1000010)
    with pytest.raises(EthDataError):
        ethcore.verify_chain(headers, flip(anchor, 0))
    with pytest.raises(EthDataError):
        ethcore.verify_chain(headers[:4] + headers[5:], anchor)  # a gap
    with pytest.raises(EthDataError):
        ethcore.verify_chain(list(reversed(headers)), anchor)


@pytest.mark.parametrize("path", mainnet.params(PROOFS))
def test_eth_get_proof_verifies(path):
    fixture = mainnet.load(path)
    result = fixture["result"]
    state_root = mainnet.hexbytes(fixture["stateRoot"])
    address = mainnet.hexbytes(result["address"])
    proof = [mainnet.hexbytes(n) for n in result["accountProof"]]
    account = ethcore.verify_account_proof(state_root, address, proof)
    assert account is not None
    assert account.nonce == mainnet.hexint(result["nonce"])
    assert account.balance == mainnet.hexint(result["balance"])
    assert account.storage_root == mainnet.hexbytes(result["storageHash"])
    assert account.code_hash == mainnet.hexbytes(result["codeHash"])
    slots, nodes = [], list(proof)
    for entry in result["storageProof"]:
        slot = mainnet.hexint(entry["key"]).to_bytes(32, "big")
        storage_proof = [mainnet.hexbytes(n) for n in entry["proof"]]
        value = ethcore.verify_storage_proof(account.storage_root, slot, storage_proof)
        assert value == mainnet.hexint(entry["value"])
        slots.append(slot)
        nodes += storage_proof
    multi_account, values = ethcore.verify_account_storage(state_root, address, slots, nodes)
    assert multi_account == account
    assert values == [mainnet.hexint(e["value"]) for e in result["storageProof"]]


@pytest.mark.parametrize("path", mainnet.params(PROOFS[:6]))
def test_tampered_account_proof_is_rejected(path):
    result = mainnet.load(path)["result"]
    state_root = mainnet.hexbytes(mainnet.load(path)["stateRoot"])
    address = mainnet.hexbytes(result["address"])
    proof = [mainnet.hexbytes(n) for n in result["accountProof"]]
    rng = random.Random(path.stem)
    for _ in range(10):
        i = rng.randrange(len(proof))
        tampered = list(proof)
        tampered[i] = flip(proof[i], rng.randrange(len(proof[i])), 1 << rng.randrange(8))
        with pytest.raises(EthDataError):
            ethcore.verify_account_proof(state_root, address, tampered)
    with pytest.raises(EthDataError):
        ethcore.verify_account_proof(flip(state_root, 5), address, proof)
    with pytest.raises(EthDataError):
        ethcore.verify_account_proof(state_root, address, proof[:-1])


@pytest.mark.parametrize("path", mainnet.params(BLOCKS))
def test_block_roots_match_header(path):
    fixture = mainnet.load(path)
    header = mainnet.header_fields(mainnet.hexbytes(fixture["header"]))
    txs = mainnet.body_transactions(mainnet.hexbytes(fixture["body"]))
    assert ethcore.transactions_root(txs) == header[4]
    receipts = mainnet.receipts_from_eth69(mainnet.hexbytes(fixture["receipts"]))
    assert len(receipts) == len(txs)
    root, bloom = ethcore.receipts_root(receipts)
    assert root == header[5]
    assert bloom == header[6]
    for raw in txs[:5]:
        tx = ethcore.decode_transaction(raw)
        assert tx.hash == mainnet.keccak(raw)
        assert 0 <= tx.type <= 4


@pytest.mark.parametrize("path", mainnet.params(RECEIPTS))
def test_rpc_receipts_root(path):
    fixture = mainnet.load(path)
    receipts = mainnet.receipts_from_rpc(fixture["receipts"])
    root, _ = ethcore.receipts_root(receipts)
    assert root == mainnet.hexbytes(fixture["receiptsRoot"])
    # A receipt whose stored bloom lies is rejected; a dropped one changes the root.
    with_log = next(i for i, r in enumerate(fixture["receipts"]) if r["logs"])
    lying = dict(fixture["receipts"][with_log], logsBloom="0x" + "00" * 256)
    bad = list(fixture["receipts"])
    bad[with_log] = lying
    with pytest.raises(EthDataError):
        ethcore.receipts_root(mainnet.receipts_from_rpc(bad))
    assert ethcore.receipts_root(receipts[:-1])[0] != root


def test_bloom_absence():
    fixture = mainnet.load(mainnet.FIXTURES / "receipts" / "21925176.json")
    log = next(x for r in fixture["receipts"] for x in r["logs"] if x["topics"])
    bloom = mainnet.hexbytes(next(r["logsBloom"] for r in fixture["receipts"] if log in r["logs"]))
    address, topic = mainnet.hexbytes(log["address"]), mainnet.hexbytes(log["topics"][0])
    assert not ethcore.bloom_proves_absent(bloom, address, topic)
    assert ethcore.bloom_proves_absent(bytes(256), address, topic)
    rng = random.Random(7)
    absent = sum(ethcore.bloom_proves_absent(bloom, rng.randbytes(20), topic) for _ in range(50))
    assert absent > 40


@pytest.mark.parametrize(
    "call",
    [
        lambda: ethcore.verify_account_proof(b"short", bytes(20), []),
        lambda: ethcore.verify_storage_proof(bytes(32), bytes(31), []),
        lambda: ethcore.transactions_root(b"not a list"),
        lambda: ethcore.bloom_proves_absent(bytes(255), bytes(20), bytes(32)),
    ],
)
def test_bad_arguments(call):
    with pytest.raises(InvalidArgument):
        call()


@pytest.mark.parametrize("data", [b"", b"\xc0", b"\x80" * 3, b"\xf9\xff\xff"])
def test_garbage_header_is_eth_data_error(data):
    with pytest.raises(EthDataError):
        ethcore.decode_header(data)
