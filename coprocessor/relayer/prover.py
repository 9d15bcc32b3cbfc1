"""The proving seam of the relayer: a `Prover` turns a request into (journal, seal).

The relayer checks whatever a prover returns (proofcheck.py) and simulates the fulfilment
before sending it, so a prover is trusted for nothing: a wrong proof is refused, never sent.

`QueryGuestProver` is where real proving goes: compile the request's plan template with its
params, gather the witness from the index (fetching missing state proofs from the node),
prove with the query guest (RISC Zero), verify the receipt locally (`zkvm.verify`, dev mode
off unless `dev`), and return the journal with the seal the contract's verifier takes (a
mock seal for dev receipts, on local chains only). It needs prepared queries (issue 11
section 1: plan templates whose parameters are bound in the guest, journal version 2), which
the compiler and the query guest do not have yet, so today it refuses every request with
`ProverUnavailableError` instead of pretending.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from coprocessor.errors import ProverUnavailableError
from coprocessor.relayer.request import QueryRequest


@runtime_checkable
class Prover(Protocol):
    """Anything that answers a request with (journal, seal); may take minutes."""

    def prove(self, request: QueryRequest) -> tuple[bytes, bytes]: ...


class QueryGuestProver:
    """Real proving of a request with the query guest: awaits prepared queries (section 1)."""

    def __init__(self, *, dev: bool = False):
        self.dev = dev

    def prove(self, request: QueryRequest) -> tuple[bytes, bytes]:
        raise ProverUnavailableError(
            "proving on-chain requests needs prepared queries (plan templates with bound "
            "params, journal v2: issue 11 section 1), not built yet; query "
            f"{request.query_id_hex} is left for a relayer that can prove it"
        )
