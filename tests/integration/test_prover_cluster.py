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

from coprocessor import errors, zkvm
from coprocessor.prover import LocalExecutor, Progress, plan_session, prove_split
from coprocessor.sdk import Coprocessor

from support.catalogue import CAT, params_for
from support.ray_cluster import descendants, ray_cluster

pytestmark = pytest.mark.slow

QUERY = "code_hash_at_block"  # one header and one account proof: ~50k cycles
SEGMENT_PO2 = 13  # the smallest segments: several of them for a small query


@pytest.fixture(scope="module")
def cp(env):
    _, store, _ = env
    with Coprocessor(store) as cp:
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


def test_local_workers_prove_and_a_killed_worker_is_retried(cp, compiled):
    from coprocessor.compiler.journal import guest_input, keccak_po2

    killer = KillOnce(lambda args: "multiprocessing" in args and "spawn_main" in args)
    killer.start()
    receipt = prove_split(
        cp.program,
        guest_input(compiled, cp.chain_id),
        executor=LocalExecutor(2),
        segment_po2=SEGMENT_PO2,
        keccak_po2=keccak_po2(compiled),
    )
    killer.stop.set()
    assert killer.killed is not None, "no pool worker was seen"
    assert receipt.kind == "succinct" and receipt.stats.segments >= 4
    assert zkvm.verify(receipt, cp.program.image_id) == compiled.journal


def test_a_tampered_step_output_fails_the_proof(cp, compiled):
    from coprocessor.compiler.journal import guest_input, keccak_po2

    session = zkvm.execute_split(
        cp.program,
        guest_input(compiled, cp.chain_id),
        segment_po2=SEGMENT_PO2,
        keccak_po2=keccak_po2(compiled),
    )
    plan = plan_session(len(session.segments), len(session.keccak_requests), session.assumptions)
    first = zkvm.prove_segment(session.segments[0])
    second = zkvm.prove_segment(session.segments[1])
    tampered = bytearray(first)
    tampered[len(tampered) // 2] ^= 0x01
    with pytest.raises(errors.ZkvmError):
        zkvm.join(bytes(tampered), second)
    assert plan.segments == len(session.segments)
