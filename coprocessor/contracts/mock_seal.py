"""RISC Zero's receipt claim digest and the fake seals built on it.

`receipt_claim_digest(image_id, journal)` is the digest of risc0-zkvm's
`ReceiptClaim::ok(image_id, journal)` (risc0-binfmt `tagged_struct` hashing);
contracts/ReceiptClaim.sol computes the same in Solidity and
native/risc0-py/tests/claim_digest.rs checks both against risc0-zkvm through
contracts/test/vectors/journals.json.

A mock seal is 0xFFFFFFFF ‖ that digest: RiscZeroMockVerifier accepts it, and it
proves nothing (anyone can make one), so it is for local chains and tests only.
"""

from __future__ import annotations

import hashlib

from coprocessor.errors import InvalidArgument

MOCK_SELECTOR = b"\xff\xff\xff\xff"
_ZERO = bytes(32)


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def tagged_struct(tag: str, down: list[bytes], data: list[int]) -> bytes:
    """risc0-binfmt's tagged_struct: sha256(sha256(tag) ‖ down… ‖ le32(data)… ‖ le16(len(down)))."""
    parts = [_sha256(tag.encode()), *down]
    parts += [word.to_bytes(4, "little") for word in data]
    parts.append(len(down).to_bytes(2, "little"))
    return _sha256(b"".join(parts))


def receipt_claim_digest(image_id: bytes, journal: bytes) -> bytes:
    """Digest of ReceiptClaim::ok(image_id, journal): the guest halted with exit code 0."""
    if len(image_id) != 32:
        raise InvalidArgument(f"image ID must be 32 bytes, got {len(image_id)}")
    output = tagged_struct("risc0.Output", [_sha256(journal), _ZERO], [])
    halted_state = tagged_struct("risc0.SystemState", [_ZERO], [0])
    return tagged_struct(
        "risc0.ReceiptClaim", [_ZERO, bytes(image_id), halted_state, output], [0, 0]
    )


def mock_seal(image_id: bytes, journal: bytes) -> bytes:
    """The fake seal RiscZeroMockVerifier accepts for (image_id, journal)."""
    return MOCK_SELECTOR + receipt_claim_digest(image_id, journal)
