"""The relayer's own check of a proof before it sends anything (no node needed).

A proof is (journal, seal). It must answer the request it was made for: a version-2
journal whose chain id, queryHash and params equal the request's, anchored at a block
before the one the fulfilment can land in. The seal must be one the contract's verifier
can accept:

- a mock seal (0xFFFFFFFF ‖ claim digest) goes only to a contract whose verifier is the
  mock (`MockSealRefusedError` otherwise), and must equal the fake seal of
  `ReceiptClaim::ok(imageId, journal)` recomputed here for the pinned image ID;
- any other seal (Groth16 through RISC Zero's router) is refused toward the mock verifier,
  which could not accept it. Such a seal cannot be checked without its receipt: the prover
  verifies the receipt before it returns (see prover.py), and the eth_call simulation runs
  the contract's own verifier before every send.
"""

from __future__ import annotations

from coprocessor.contracts import MOCK_SELECTOR, mock_seal
from coprocessor.errors import MockSealRefusedError, ProofCheckError
from coprocessor.relayer.journal import JournalV2, decode_journal_v2
from coprocessor.relayer.request import QueryRequest


def is_mock_seal(seal: bytes) -> bool:
    return bytes(seal[:4]) == MOCK_SELECTOR


def check_journal(request: QueryRequest, journal: bytes, *, head_number: int) -> JournalV2:
    """The decoded journal, if it answers `request` on this chain; ProofCheckError otherwise."""
    decoded = decode_journal_v2(journal)
    if decoded.chain_id != request.chain_id:
        raise ProofCheckError(
            f"journal chain id {decoded.chain_id}, the request is on chain {request.chain_id}"
        )
    if decoded.query_hash != request.query_hash:
        raise ProofCheckError(
            f"journal queryHash 0x{decoded.query_hash.hex()}, "
            f"the request asks 0x{request.query_hash.hex()}"
        )
    if decoded.params != request.params:
        raise ProofCheckError("the journal's params differ from the request's")
    if decoded.anchor_number > head_number:
        raise ProofCheckError(
            f"anchor block {decoded.anchor_number} is past the chain head {head_number}"
        )
    return decoded


def check_seal(seal: bytes, journal: bytes, *, image_id: bytes, verifier_is_mock: bool) -> None:
    """Refuses a seal the contract's verifier must not or cannot accept (module docstring)."""
    if is_mock_seal(seal):
        if not verifier_is_mock:
            raise MockSealRefusedError(
                "refusing to send a mock seal: the contract's verifier is not the mock verifier"
            )
        if bytes(seal) != mock_seal(image_id, journal):
            raise ProofCheckError("the mock seal is not the claim digest of this journal")
        return
    if verifier_is_mock:
        raise ProofCheckError("the contract's verifier is the mock: it accepts only mock seals")
    if not seal:
        raise ProofCheckError("the seal is empty")


def check_proof(
    request: QueryRequest,
    journal: bytes,
    seal: bytes,
    *,
    image_id: bytes,
    verifier_is_mock: bool,
    head_number: int,
) -> JournalV2:
    """Both checks: the journal answers the request, and the seal fits the verifier."""
    decoded = check_journal(request, journal, head_number=head_number)
    check_seal(seal, journal, image_id=image_id, verifier_is_mock=verifier_is_mock)
    return decoded
