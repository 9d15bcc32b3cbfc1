"""Split proving for real (issue 14): a catalogue query of several segments proven through a
Ray cluster of two nodes on 127.0.0.1 and through local worker processes; a worker killed
mid-step is retried and the receipt still verifies, with the journal of the monolithic path.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from coprocessor import zkvm
from coprocessor.prover import LocalExecutor, Progress, prove_split
from coprocessor.sdk import Coprocessor

from support.catalogue import CAT, params_for
from support.ray_cluster import descendants, ray_cluster

pytestmark = [pytest.mark.slow, pytest.mark.heavy]  # make test-heavy

QUERY = "code_hash_at_block"  # one header and one account proof: ~56k user cycles
SEGMENT_PO2 = 16  # 6 segments of 2^16 (each pays ~55k cycles of paging) for this query


@pytest.fixture(scope="module")
def cp(env):
    node, store, _ = env
    with Coprocessor(store, rpc=node.url) as cp:
        yield cp


@pytest.fixture(scope="module")
def compiled(cp, env):
    return cp.compile(CAT[QUERY], params=params_for(env, QUERY))


class KillOnce(threading.Thread):
    """SIGKILLs the first process below this one whose command line `matches`, once."""

    def __init__(self, matches):
        super().__init__(daemon=True)
        self.matches, self.killed, self.stop = matches, None, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set() and self.killed is None:
            for pid, args in descendants(os.getpid()):
                if self.matches(args):
                    os.kill(pid, signal.SIGKILL)
                    self.killed = pid
                    return
            time.sleep(0.05)


def test_ray_cluster_proves_a_query_and_survives_a_killed_worker(cp, compiled):
    seen: list[Progress] = []
    killer = KillOnce(lambda args: args == "ray::run_step")
    with ray_cluster(nodes=2) as cluster:
        killer.start()
        res = cp.prove_compiled(
            compiled,
            ray_address=cluster.address,
            segment_po2=SEGMENT_PO2,
            on_progress=seen.append,
        )
        killer.stop.set()
    assert killer.killed is not None, "no Ray worker was seen running a step"
    assert res.segments >= 4 and res.receipt.kind == "succinct"
    assert zkvm.verify(res.receipt, res.image_id) == compiled.journal  # the monolithic journal
    assert res.verify().rows == compiled.expected
    assert seen[0].segments_done == 0 and seen[-1].segments_done == res.segments
    assert [p.steps_done for p in seen] == list(range(len(seen)))


def test_local_workers_retry_a_step_whose_worker_was_killed(echo):
    """LocalExecutor: the pool worker proving the (only) segment is SIGKILLed; the step is
    retried in a fresh pool and the receipt verifies (echo: one segment, the cheapest proof)."""
    killer = KillOnce(lambda args: "multiprocessing" in args and "spawn_main" in args)
    killer.start()
    receipt = prove_split(echo, b"split proving", executor=LocalExecutor(2))
    killer.stop.set()
    assert killer.killed is not None, "no pool worker was seen"
    assert receipt.kind == "succinct"
    assert zkvm.verify(receipt, echo.image_id) == zkvm.execute(echo, b"split proving").journal
