"""Compiled contracts (ABI, creation and runtime bytecode) as `make contracts` left them.

`make contracts` runs `forge build` with the pinned solc-js (foundry.toml, profile
`artifacts`), which writes one JSON file per contract at
build/contracts/<Source>.sol/<Contract>.json.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from coprocessor.errors import ConfigError, InvalidArgument

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_ENV = "COPROCESSOR_CONTRACTS_DIR"

# Contract name -> its source file under contracts/.
CONTRACT_NAMES: dict[str, str] = {
    "CoprocessorQuery": "CoprocessorQuery.sol",
    "BlockHistory": "BlockHistory.sol",
    "IBlockHistory": "IBlockHistory.sol",
    "RiscZeroMockVerifier": "RiscZeroMockVerifier.sol",
    "ProvenAirdrop": "ProvenAirdrop.sol",
    "CoprocessorClient": "CoprocessorClient.sol",
    "ICoprocessorClient": "ICoprocessorClient.sol",
    "IRiscZeroVerifier": "IRiscZeroVerifier.sol",
    "DevToken": "DevToken.sol",
}


@dataclass(frozen=True)
class ContractArtifact:
    """One compiled contract: `bytecode` deploys it (empty for interfaces and abstract ones)."""

    name: str
    abi: list[dict]
    bytecode: bytes
    deployed_bytecode: bytes

    def event_abi(self, name: str) -> dict:
        return self._entry("event", name)

    def function_abi(self, name: str) -> dict:
        return self._entry("function", name)

    def _entry(self, kind: str, name: str) -> dict:
        for entry in self.abi:
            if entry.get("type") == kind and entry.get("name") == name:
                return entry
        raise InvalidArgument(f"{self.name} has no {kind} named {name!r}")


def artifacts_dir() -> Path:
    """Where artifacts are read from: $COPROCESSOR_CONTRACTS_DIR or build/contracts."""
    return Path(os.environ.get(ARTIFACTS_ENV) or REPO_ROOT / "build" / "contracts")


def _hex_bytes(field: object, where: Path) -> bytes:
    text = field.get("object", "") if isinstance(field, dict) else field
    if not isinstance(text, str):
        raise ConfigError(f"{where}: bytecode is not a hex string")
    if "__$" in text:
        raise ConfigError(f"{where}: bytecode has unlinked library references")
    return bytes.fromhex(text.removeprefix("0x"))


@cache
def _load(directory: Path, name: str) -> ContractArtifact:
    if name not in CONTRACT_NAMES:
        raise InvalidArgument(
            f"unknown contract {name!r}; known: {', '.join(sorted(CONTRACT_NAMES))}"
        )
    path = directory / CONTRACT_NAMES[name] / f"{name}.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"contract artifact {path} is missing: run `make contracts`") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"contract artifact {path} is not JSON: {exc}") from exc
    return ContractArtifact(
        name=name,
        abi=data["abi"],
        bytecode=_hex_bytes(data["bytecode"], path),
        deployed_bytecode=_hex_bytes(data["deployedBytecode"], path),
    )


def load_artifact(name: str) -> ContractArtifact:
    """The compiled contract `name` (one of CONTRACT_NAMES)."""
    return _load(artifacts_dir(), name)
