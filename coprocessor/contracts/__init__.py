"""The coprocessor's Solidity contracts from Python (layer 1).

`load_artifact(name)` reads the ABI and bytecode that `make contracts` (part of
`make setup`) compiles from contracts/ into build/contracts; nothing here is
hand-copied from a compiler's output. `mock_seal` makes the fake seals that
only RiscZeroMockVerifier accepts (local chains and tests).
"""

from coprocessor.contracts.artifacts import (
    CONTRACT_NAMES,
    ContractArtifact,
    artifacts_dir,
    load_artifact,
)
from coprocessor.contracts.mock_seal import MOCK_SELECTOR, mock_seal, receipt_claim_digest

__all__ = [
    "CONTRACT_NAMES",
    "MOCK_SELECTOR",
    "ContractArtifact",
    "artifacts_dir",
    "load_artifact",
    "mock_seal",
    "receipt_claim_digest",
]
