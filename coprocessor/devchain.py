"""A local development chain: anvil on a free loopback port with a realistic history (layer 2).

`Anvil` starts the pinned anvil (node_modules/.bin/anvil, from `make setup`)
in its own process group on 127.0.0.1, port chosen by the OS, and kills the
group when stopped, at interpreter exit, or when used as a context manager.
`build_history` deploys ERC20 tokens (contracts/DevToken.sol, compiled at run
time with the pinned solc-js) and mines blocks holding several transactions
each: token transfers, approvals and transferFrom (the allowance nested
mapping), ETH transfers, legacy / EIP-2930 / EIP-1559 envelopes, and a
reverting transaction now and then.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from eth_abi import encode as abi_encode
from eth_hash.auto import keccak

from coprocessor.chain import RpcClient
from coprocessor.errors import ChainError, DevchainError

REPO_ROOT = Path(__file__).resolve().parents[1]
ANVIL = Path(os.environ.get("COPROCESSOR_ANVIL", REPO_ROOT / "node_modules/.bin/anvil"))
SOLCJS = Path(os.environ.get("COPROCESSOR_SOLCJS", REPO_ROOT / "node_modules/.bin/solcjs"))
CONTRACTS = REPO_ROOT / "contracts"
CACHE = Path(os.environ.get("COPROCESSOR_CACHE", Path.home() / ".cache/coprocessor"))

# Storage slots of DevToken's mappings (contracts/DevToken.sol declares them in this order).
BALANCE_SLOT, ALLOWANCE_SLOT = 0, 1


def selector(signature: str) -> bytes:
    return keccak(signature.encode())[:4]


def balance_slot(holder: bytes) -> bytes:
    """Storage slot of DevToken.balanceOf[holder]."""
    return keccak(abi_encode(["address", "uint256"], [holder, BALANCE_SLOT]))


def allowance_slot(owner: bytes, spender: bytes) -> bytes:
    """Storage slot of DevToken.allowance[owner][spender] (nested mapping)."""
    inner = keccak(abi_encode(["address", "uint256"], [owner, ALLOWANCE_SLOT]))
    return keccak(abi_encode(["address", "bytes32"], [spender, inner]))


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list
    bytecode: bytes


def compile_contracts(source: Path = CONTRACTS / "DevToken.sol") -> dict[str, Artifact]:
    """Compiles with the pinned solc-js (standard JSON); cached by source hash."""
    text = source.read_text()
    version = json.loads((REPO_ROOT / "package.json").read_text())["dependencies"]["solc"]
    key = hashlib.sha256(f"{version}\0{text}".encode()).hexdigest()[:16]
    cached = CACHE / "contracts" / f"{source.stem}-{key}.json"
    if cached.exists():
        out = json.loads(cached.read_text())
    else:
        if not SOLCJS.exists():
            raise DevchainError(f"solc-js not found at {SOLCJS}: run `make setup`")
        std = {
            "language": "Solidity",
            "sources": {source.name: {"content": text}},
            "settings": {
                "optimizer": {"enabled": True, "runs": 200},
                "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
            },
        }
        proc = subprocess.run(
            [str(SOLCJS), "--standard-json"],
            input=json.dumps(std),
            capture_output=True,
            text=True,
            timeout=120,
        )
        try:
            out = json.loads(proc.stdout[proc.stdout.index("{") :])
        except ValueError as exc:
            raise DevchainError(f"solc-js failed: {proc.stderr[-500:]}") from exc
        errors = [e for e in out.get("errors", []) if e.get("severity") == "error"]
        if errors:
            raise DevchainError("solc-js: " + "; ".join(e["formattedMessage"] for e in errors))
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".tmp")
        tmp.write_text(json.dumps(out))
        tmp.replace(cached)
    return {
        name: Artifact(name, c["abi"], bytes.fromhex(c["evm"]["bytecode"]["object"]))
        for name, c in out["contracts"][source.name].items()
    }


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL anvil when the process that started it dies,
    even by kill -9 (Linux PR_SET_PDEATHSIG; elsewhere only stop()/atexit apply)."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Anvil:
    """An anvil process on 127.0.0.1 (free port), killed with its process group on stop."""

    _live: set[Anvil] = set()

    def __init__(
        self,
        *,
        accounts: int = 20,
        chain_id: int = 31337,
        hardfork: str | None = None,
        extra_args: tuple[str, ...] = (),
        startup_timeout: float = 30.0,
    ):
        if not ANVIL.exists():
            raise DevchainError(f"anvil not found at {ANVIL}: run `make setup`")
        args = [
            str(ANVIL),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--accounts",
            str(accounts),
            "--chain-id",
            str(chain_id),
            "--balance",
            "1000000",
            *extra_args,
        ]
        if hardfork:
            args += ["--hardfork", hardfork]
        self.proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            text=True,
            preexec_fn=_die_with_parent,
        )
        Anvil._live.add(self)
        self.port = self._wait_port(startup_timeout)
        self.url = f"http://127.0.0.1:{self.port}"
        # keep draining stdout so anvil never blocks on a full pipe
        threading.Thread(target=self._drain, daemon=True).start()

    def _wait_port(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            assert self.proc.stdout is not None  # Popen(stdout=PIPE)
            line = self.proc.stdout.readline()
            if not line:
                break
            seen.append(line)
            m = re.search(r"Listening on [\d.]+:(\d+)", line)
            if m:
                return int(m.group(1))
        self.stop()
        raise DevchainError("anvil did not start: " + "".join(seen[-10:]))

    def _drain(self) -> None:
        try:
            for _ in self.proc.stdout or ():
                pass
        except (ValueError, OSError):
            pass

    def client(self, **kw) -> RpcClient:
        return RpcClient(self.url, **kw)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        Anvil._live.discard(self)

    def __enter__(self) -> Anvil:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


@atexit.register
def _stop_all() -> None:
    for node in list(Anvil._live):
        node.stop()


@dataclass
class History:
    """What build_history made: token addresses, accounts and the range of blocks."""

    tokens: dict[str, bytes]
    accounts: list[bytes]
    first_block: int
    last_block: int
    transactions: int = 0
    approvals: list[tuple[bytes, bytes, bytes]] = field(
        default_factory=list
    )  # token, owner, spender


def _hexaddr(a: bytes) -> str:
    return "0x" + a.hex()


# The tokens build_history deploys: (name, symbol, amount minted to each account); the
# whale's amounts go past 2**128 on purpose.
_TOKENS = [("Dev USD", "DUSD", 10**24), ("Dev Ether", "DETH", 10**22), ("Whale", "WHALE", 2**245)]
_TRANSFER = selector("transfer(address,uint256)")
_APPROVE = selector("approve(address,uint256)")
_TRANSFER_FROM = selector("transferFrom(address,address,uint256)")


def build_history(
    client: RpcClient, *, blocks: int = 20, txs_per_block: int = 8, seed: int = 0
) -> History:
    """Mines `blocks` new blocks (the first deploys the tokens) of about `txs_per_block` txs."""
    if blocks < 2:
        raise DevchainError("build_history needs at least 2 blocks (deploy, then activity)")
    rng = random.Random(seed)
    art = compile_contracts()["DevToken"]
    try:
        accounts = [bytes.fromhex(a[2:]) for a in client.call("eth_accounts")]
        chain_id = client.chain_id()
        start = client.block_number()
        counts = client.batch(
            [("eth_getTransactionCount", [_hexaddr(a), "pending"]) for a in accounts]
        )
        nonces = {a: int(n, 16) for a, n in zip(accounts, counts)}
        client.call("evm_setAutomine", [False])
        tokens = _deploy_tokens(client, art, accounts, nonces)
        hist = History(tokens, accounts, start + 1, start + blocks, transactions=len(tokens))
        traffic = _Traffic(rng, accounts, list(tokens.items()), nonces, chain_id, hist.approvals)
        for _ in range(blocks - 1):
            n = max(1, txs_per_block + rng.randint(-2, 2)) if txs_per_block > 2 else txs_per_block
            # distinct senders per block: anvil's pool can strand a sender's second
            # transaction sent in the same batch (seen with 1.7.1)
            senders = rng.sample(accounts, min(n, len(accounts)))
            calls = [("eth_sendTransaction", [traffic.transaction(s)]) for s in senders]
            client.batch(calls)
            client.call("evm_mine")
            hist.transactions += len(calls)
        client.call("evm_setAutomine", [True])
        hist.last_block = client.block_number()
        return hist
    except ChainError as exc:
        raise DevchainError(f"building the devchain history failed: {exc}") from exc


def _deploy_tokens(
    client: RpcClient, art: Artifact, accounts: list[bytes], nonces: dict[bytes, int]
) -> dict[str, bytes]:
    """Deploys the _TOKENS from accounts[0] in one block; their addresses by symbol."""
    deployer = accounts[0]
    calls = []
    for name, sym, amount in _TOKENS:
        args = abi_encode(
            ["string", "string", "address[]", "uint256"], [name, sym, accounts, amount]
        )
        tx = {
            "from": _hexaddr(deployer),
            "data": "0x" + (art.bytecode + args).hex(),
            "gas": hex(3_000_000),
            "nonce": hex(nonces[deployer]),
        }
        calls.append(("eth_sendTransaction", [tx]))
        nonces[deployer] += 1
    hashes = client.batch(calls)
    client.call("evm_mine")
    receipts = client.batch([("eth_getTransactionReceipt", [h]) for h in hashes])
    tokens = {}
    for (_, sym, _), r in zip(_TOKENS, receipts):
        if r is None or r.get("status") != "0x1":
            raise DevchainError(f"deploying {sym} failed: {r}")
        tokens[sym] = bytes.fromhex(r["contractAddress"][2:])
    return tokens


@dataclass
class _Traffic:
    """Random transactions between the accounts: token transfers, approvals, transferFrom
    of what was approved, ETH transfers and an occasional revert, in legacy, EIP-2930 and
    EIP-1559 envelopes."""

    rng: random.Random
    accounts: list[bytes]
    tokens: list[tuple[str, bytes]]  # (symbol, address)
    nonces: dict[bytes, int]
    chain_id: int
    approvals: list[tuple[bytes, bytes, bytes]]  # (token, owner, spender), appended to
    allowed: set[tuple[bytes, bytes, bytes]] = field(default_factory=set)

    def transaction(self, sender: bytes) -> dict:
        tx = self._call(sender)
        self._envelope(tx)
        self.nonces[sender] += 1
        return tx

    def _call(self, sender: bytes) -> dict:
        rng = self.rng
        other = rng.choice([a for a in self.accounts if a != sender])
        sym, token = rng.choice(self.tokens)
        unit = 2**130 if sym == "WHALE" else 10**15
        kind = rng.random()
        tx = {"from": _hexaddr(sender), "nonce": hex(self.nonces[sender])}
        if kind < 0.45:
            amount = rng.randint(1, 1000) * unit
            return tx | _token_call(
                token, 80_000, _TRANSFER, ["address", "uint256"], [other, amount]
            )
        if kind < 0.60:
            self.allowed.add((token, sender, other))
            self.approvals.append((token, sender, other))
            amount = rng.randint(1, 10**6) * unit
            return tx | _token_call(
                token, 80_000, _APPROVE, ["address", "uint256"], [other, amount]
            )
        if kind < 0.70:
            owners = [k for k in self.allowed if k[2] == sender]
            if owners and rng.random() < 0.8:
                token, owner = owners[0][0], owners[0][1]
            else:
                owner = other
            types, args = (
                ["address", "address", "uint256"],
                [owner, sender, rng.randint(1, 10) * unit],
            )
            return tx | _token_call(token, 100_000, _TRANSFER_FROM, types, args)
        if kind < 0.93:
            return tx | {
                "to": _hexaddr(other),
                "gas": hex(21_000),
                "value": hex(rng.randint(1, 10**18)),
            }
        # reverts: more than anyone holds
        return tx | _token_call(token, 80_000, _TRANSFER, ["address", "uint256"], [other, 2**255])

    def _envelope(self, tx: dict) -> None:
        flavour = self.rng.random()
        if flavour < 0.2:
            tx |= {"type": "0x0", "gasPrice": hex(3 * 10**9)}
        elif flavour < 0.35:
            # an access list costs intrinsic gas (2400 + 1900): raise the limit
            tx |= {
                "type": "0x1",
                "gasPrice": hex(3 * 10**9),
                "chainId": hex(self.chain_id),
                "gas": hex(int(tx["gas"], 16) + 4300),
                "accessList": [{"address": tx["to"], "storageKeys": ["0x" + "00" * 32]}],
            }
        else:
            tx |= {
                "type": "0x2",
                "maxFeePerGas": hex(5 * 10**9),
                "maxPriorityFeePerGas": hex(self.rng.randint(1, 2 * 10**9)),
            }


def _token_call(token: bytes, gas: int, sel: bytes, types: list[str], args: list) -> dict:
    return {
        "to": _hexaddr(token),
        "gas": hex(gas),
        "data": "0x" + (sel + abi_encode(types, args)).hex(),
    }
