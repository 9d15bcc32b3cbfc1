"""The check that gives a journal its meaning: its anchor block (number, hash) is on the
chain it names, according to a node the caller trusts or a hash the caller knows."""

from __future__ import annotations

from coprocessor.chain import RpcClient
from coprocessor.errors import ChainError, InvalidArgument, VerificationError


def check_anchor(rpc: str, chain_id: int, number: int, block_hash: bytes) -> None:
    """Raises VerificationError unless the node at `rpc` is on chain `chain_id` and its block
    `number` has hash `block_hash` (the anchor of a journal, or of a witness about to be proven)."""
    client = RpcClient(rpc)
    try:
        node_chain = client.chain_id()
        block = client.get_block(number, full=False)
    except ChainError as exc:
        raise VerificationError(f"cannot check the anchor against {rpc}: {exc}") from exc
    finally:
        client.close()
    if node_chain != chain_id:
        raise VerificationError(
            f"the journal is for chain {chain_id}, the node at {rpc} serves chain {node_chain}"
        )
    if block is None:
        raise VerificationError(
            f"the node at {rpc} has no block {number}: the anchor is not on its chain"
        )
    node_hash = bytes.fromhex(block["hash"][2:])
    if node_hash != block_hash:
        raise VerificationError(
            f"anchor block {number} is 0x{node_hash.hex()} on the node at {rpc}, the "
            f"journal says 0x{block_hash.hex()}: not the canonical chain"
        )


def check_anchor_hash(anchor_hash: bytes | str, number: int, journal_hash: bytes) -> None:
    """Raises VerificationError unless `anchor_hash` (bytes or 0x-hex) is the journal's anchor
    hash `journal_hash` of block `number`."""
    want = _hash32(anchor_hash)
    if want != journal_hash:
        raise VerificationError(
            f"anchor block {number} has hash 0x{want.hex()}, "
            f"the journal says 0x{journal_hash.hex()}"
        )


def _hash32(h: bytes | str) -> bytes:
    b = bytes.fromhex(h[2:] if h[:2].lower() == "0x" else h) if isinstance(h, str) else bytes(h)
    if len(b) != 32:
        raise InvalidArgument(f"a block hash is 32 bytes, got {len(b)}")
    return b
