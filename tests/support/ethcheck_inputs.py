"""ethcore commands built from mainnet fixtures, for the ethcheck guest (tests and bench)."""

from __future__ import annotations

from coprocessor import ethcore

from support import mainnet

PROOF_BLOCK = "19493153"
USDT = "0xdac17f958d2ee523a2206206994597c13d831ec7"
RECEIPTS_BLOCK = "22162263"


def header_hash() -> bytes:
    fixture = mainnet.load(mainnet.FIXTURES / "headers_rlp" / f"{RECEIPTS_BLOCK}.json")
    return ethcore.command(ethcore.HEADER_HASH, mainnet.hexbytes(fixture["rlp"]))


def _usdt_proof(suffix: str = "-2") -> dict:
    return mainnet.load(mainnet.FIXTURES / "proofs" / f"{PROOF_BLOCK}-{USDT}{suffix}.json")


def account_proof() -> bytes:
    fixture = _usdt_proof()
    result = fixture["result"]
    return ethcore.command(
        ethcore.ACCOUNT_PROOF,
        mainnet.hexbytes(fixture["stateRoot"]),
        mainnet.hexbytes(result["address"]),
        [mainnet.hexbytes(n) for n in result["accountProof"]],
    )


def storage_proof() -> bytes:
    result = _usdt_proof()["result"]
    entry = result["storageProof"][0]
    return ethcore.command(
        ethcore.STORAGE_PROOF,
        mainnet.hexbytes(result["storageHash"]),
        mainnet.hexint(entry["key"]).to_bytes(32, "big"),
        [mainnet.hexbytes(n) for n in entry["proof"]],
    )


def account_and_slots(count: int = 8) -> bytes:
    """One account plus `count` of its slots as a multiproof (the union of the nodes)."""
    fixture = _usdt_proof()
    result = fixture["result"]
    entries = result["storageProof"][:count]
    assert len(entries) == count, f"fixture has {len(entries)} slots"
    nodes = {mainnet.hexbytes(n) for n in result["accountProof"]}
    for entry in entries:
        nodes.update(mainnet.hexbytes(n) for n in entry["proof"])
    slots = [mainnet.hexint(e["key"]).to_bytes(32, "big") for e in entries]
    return ethcore.command(
        ethcore.ACCOUNT_STORAGE,
        mainnet.hexbytes(fixture["stateRoot"]),
        mainnet.hexbytes(result["address"]),
        slots,
        sorted(nodes),
    )


def receipts_root() -> bytes:
    fixture = mainnet.load(mainnet.FIXTURES / "block_rlp" / f"{RECEIPTS_BLOCK}.json")
    receipts = mainnet.receipts_from_eth69(mainnet.hexbytes(fixture["receipts"]))
    return ethcore.command(ethcore.RECEIPTS_ROOT, receipts)


def account_plus_one_slot() -> bytes:
    return ethcore.command(
        ethcore.BATCH, [mainnet.rlp.decode(account_proof()), mainnet.rlp.decode(storage_proof())]
    )


def noop() -> bytes:
    """A BATCH of nothing: the guest's fixed cost (start, read, commit)."""
    return ethcore.command(ethcore.BATCH, [])


CASES = {
    "one mainnet header hash": header_hash,
    "one account proof": account_proof,
    "one storage proof": storage_proof,
    "account + 1 slot (two proofs)": account_plus_one_slot,
    "account + 8 slots (multiproof)": account_and_slots,
    f"receiptsRoot of block {RECEIPTS_BLOCK} (142 receipts)": receipts_root,
}
