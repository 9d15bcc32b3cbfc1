"""The relayer's own check of a proof before it sends anything (no node of its own: what
it must know of the chain is passed in).

A proof is (journal, seal). It must answer the request it was made for: a journal of the
current version whose chain id, queryHash and params equal the request's, anchored at a
block before the one the fulfilment can land in. A journal anchored on a BlockHistory root
(`historyRoot` non-zero) goes only to a contract whose BlockHistory knows that root
(`is_known_root`, the contract's `blockHistory.isKnownRoot`; None when the contract has no
BlockHistory and refuses such journals). The seal must be one the contract's verifier can
accept:

- a mock seal (0xFFFFFFFF ‖ claim digest) goes only to a contract whose verifier is the
  mock (`MockSealRefusedError` otherwise), and must equal the fake seal of
  `ReceiptClaim::ok(imageId, journal)` recomputed here for the pinned image ID;
- any other seal (Groth16 through RISC Zero's router) is refused toward the mock verifier,
  which could not accept it. Such a seal cannot be checked without its receipt: the prover
  verifies the receipt before it returns (see prover.py), and the eth_call simulation runs
  the contract's own verifier before every send.
"""

from __future__ import annotations

from collections.abc import Callable

from coprocessor.contracts import MOCK_SELECTOR, mock_seal
from coprocessor.errors import MockSealRefusedError, ProofCheckError
from coprocessor.relayer.journal import Journal, decode_canonical_journal
from coprocessor.relayer.request import QueryRequest

KnownRootCheck = Callable[[bytes], bool]
"""`blockHistory.isKnownRoot` of the contract the proof goes to."""


def is_mock_seal(seal: bytes) -> bool:
    return bytes(seal[:4]) == MOCK_SELECTOR


def check_journal(
    request: QueryRequest,
    journal: bytes,
    *,
    head_number: int,
    is_known_root: KnownRootCheck | None,
) -> Journal:
    """The decoded journal, if it answers `request` on this chain; ProofCheckError otherwise."""
    decoded = decode_canonical_journal(journal)
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
    if decoded.anchored_on_history:
        check_history_root(decoded.history_root, is_known_root)
    return decoded


def check_history_root(history_root: bytes, is_known_root: KnownRootCheck | None) -> None:
    """Refuses a journal anchored on a root the contract would not accept: it has no
    BlockHistory (HistoryAnchorsDisabled on chain), or its BlockHistory never accepted the
    root (UnknownHistoryRoot)."""
    if is_known_root is None:
        raise ProofCheckError(
            "the journal is anchored on a BlockHistory root, and the contract has no BlockHistory"
        )
    if not is_known_root(history_root):
        raise ProofCheckError(
            f"the contract's BlockHistory does not know the journal's root 0x{history_root.hex()}"
        )


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
    is_known_root: KnownRootCheck | None,
) -> Journal:
    """Both checks: the journal answers the request, and the seal fits the verifier."""
    decoded = check_journal(request, journal, head_number=head_number, is_known_root=is_known_root)
    check_seal(seal, journal, image_id=image_id, verifier_is_mock=verifier_is_mock)
    return decoded
