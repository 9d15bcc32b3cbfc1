"""eth_getProof results checked against a state root with the guests' own rules, giving the
rows of the accounts and storage tables."""

from __future__ import annotations

from eth_hash.auto import keccak

from coprocessor import ethcore
from coprocessor.errors import EthDataError, InvalidArgument, InvalidBlockError
from coprocessor.types import hex_bytes, hex_int, parse_slot

# the root of an empty trie: keccak256(rlp(b""))
_EMPTY_TRIE = bytes.fromhex("56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421")
# the code hash of an account without code
_EMPTY_CODE = keccak(b"")


def verify_proof(n: int, state_root: bytes, proof: dict, slots: tuple[bytes, ...] = ()):
    """Checks an eth_getProof result against `state_root`; returns (account row, storage rows)."""
    address = hex_bytes(proof["address"])
    try:
        acct = ethcore.verify_account_proof(
            state_root, address, [hex_bytes(x) for x in proof["accountProof"]]
        )
    except (EthDataError, InvalidArgument) as exc:
        raise InvalidBlockError(n, "account_proof", f"{proof['address']}: {exc}") from exc
    claimed = (
        hex_int(proof.get("nonce")),
        hex_int(proof.get("balance")),
        hex_bytes(proof.get("storageHash")),
        hex_bytes(proof.get("codeHash")),
    )
    if acct is None:
        ok = (
            claimed[0] == 0
            and claimed[1] == 0
            and claimed[2] in (b"", _EMPTY_TRIE, bytes(32))
            and claimed[3] in (b"", _EMPTY_CODE, bytes(32))
        )
        storage_root = _EMPTY_TRIE
    else:
        ok = claimed == (acct.nonce, acct.balance, acct.storage_root, acct.code_hash)
        storage_root = acct.storage_root
    if not ok:
        raise InvalidBlockError(
            n, "account_proof", f"{proof['address']}: node's values differ from the proof"
        )
    acct_row = (
        n,
        address,
        acct is not None,
        acct.nonce if acct else 0,
        acct.balance if acct else 0,
        storage_root,
        acct.code_hash if acct else _EMPTY_CODE,
        [hex_bytes(x) for x in proof["accountProof"]],
    )
    by_slot = {parse_slot(sp["key"]): sp for sp in proof.get("storageProof", [])}
    storage_rows = []
    for slot in slots or tuple(by_slot):
        sp = by_slot.get(slot)
        if sp is None:
            raise InvalidBlockError(
                n, "storage_proof", f"{proof['address']}: no proof for slot 0x{slot.hex()}"
            )
        nodes = [hex_bytes(x) for x in sp["proof"]]
        try:
            value = ethcore.verify_storage_proof(storage_root, slot, nodes)
        except (EthDataError, InvalidArgument) as exc:
            raise InvalidBlockError(
                n, "storage_proof", f"{proof['address']} slot 0x{slot.hex()}: {exc}"
            ) from exc
        if value != hex_int(sp["value"]):
            raise InvalidBlockError(
                n,
                "storage_proof",
                f"{proof['address']} slot 0x{slot.hex()}: "
                f"node says {hex_int(sp['value'])}, proof says {value}",
            )
        storage_rows.append((n, address, slot, value, nodes))
    return acct_row, storage_rows
