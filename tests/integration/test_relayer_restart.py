"""The relayer killed with SIGKILL at each stage of a fulfilment and started again on the same
outbox fulfils each request exactly once: one `Fulfilled` event per queryId, one signed
transaction, no nonce skipped. The relayer runs in a subprocess (tests/support/
relayer_process.py) that kills itself at the logged stage; anvil is on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from coprocessor.relayer.outbox import Outbox

from support.relayer import RelayerChain
from support.relayer_process import KEY_ENV

REPO_ROOT = Path(__file__).resolve().parents[2]
STAGES = ("relayer.sending", "relayer.signed", "relayer.broadcast", "relayer.mined")


@pytest.fixture(scope="module")
def chain():
    chain = RelayerChain.start()
    yield chain
    chain.stop()


class Miner:
    """Mines a block every `interval` seconds (confirmations for the subprocess) until stopped."""

    def __init__(self, chain: RelayerChain, interval: float = 0.3):
        self.chain, self.interval, self.stop = chain, interval, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            self.chain.mine()

    def __enter__(self) -> Miner:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()


def run_relayer(chain: RelayerChain, db: Path, kill_at: str | None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env[KEY_ENV] = chain.relayer.key.hex()
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT / "tests"), str(REPO_ROOT)])
    command = [sys.executable, "-m", "support.relayer_process", "--rpc", chain.anvil.url]
    command += ["--contract", chain.addresses["coprocessor_query"], "--db", str(db)]
    command += ["--image-id", chain.image_id.hex(), "--timeout", "40"]
    if kill_at:
        command += ["--kill-at", kill_at]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=90)


@pytest.mark.parametrize("stage", STAGES)
def test_killed_at_each_stage_and_restarted_fulfils_exactly_once(chain, stage, tmp_path):
    nonce_before = chain.relayer_nonce()
    query_id = chain.request(salt=STAGES.index(stage))
    db = tmp_path / "outbox.db"
    with Miner(chain):
        killed = run_relayer(chain, db, kill_at=stage)
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
        assert stage in killed.stderr
        restarted = run_relayer(chain, db, kill_at=None)
        assert restarted.returncode == 0, restarted.stderr[-3000:]

    assert len(chain.fulfilled_events(query_id)) == 1
    assert chain.status(query_id) == 2  # Fulfilled
    # one signed transaction, at the next nonce, and nothing else sent
    assert chain.relayer_nonce() == chain.relayer_nonce("pending") == nonce_before + 1
    outbox = Outbox(db, chain_id=31337, contract=chain.query.address, sender=chain.relayer.address)
    try:
        assert outbox.count_transactions(query_id) == 1
        assert outbox.request(query_id).state == "confirmed"
    finally:
        outbox.close()
    if stage == "relayer.signed":  # the restart broadcast the stored transaction, unsigned anew
        assert "relayer.signed" not in restarted.stderr
        assert "relayer.broadcast" in restarted.stderr
