"""A throwaway Ray cluster on 127.0.0.1 for tests and benchmarks: a head node and N - 1 more,
one CPU each, started by `ray.cluster_utils.Cluster` (Ray's own way of running several nodes
on one machine) and shut down, with every process it started, when the context exits.

Loopback only: Ray turns 127.0.0.1 into the machine's outward address (and its CLI refuses a
second node) unless clusters are "off" (`ray_constants.ENABLE_RAY_CLUSTER`); `Cluster` starts
its nodes without that CLI check, so with clusters "off" every node, worker and the driver
stay on 127.0.0.1. The head's GCS port is free and outside Ray's worker ports (10002-19999).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

LOOPBACK_ENV = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_DISABLE_IMPORT_WARNING": "1",
}
WORKER_PORTS = range(10002, 20000)


def free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in WORKER_PORTS:
            return port


def descendants(root: int) -> list[tuple[int, str]]:
    """(pid, command line) of every process below `root`."""
    out = subprocess.run(["ps", "-ww", "-eo", "pid=,ppid=,args="], capture_output=True, text=True)
    rows = []
    for line in out.stdout.splitlines():
        pid, ppid, args = (line.strip().split(None, 2) + [""])[:3]
        rows.append((int(pid), int(ppid), args))
    own, grew = {root}, True
    while grew:
        children = {pid for pid, ppid, _ in rows if ppid in own} - own
        own |= children
        grew = bool(children)
    return [(pid, args) for pid, _, args in rows if pid in own and pid != root]


@dataclass
class RayCluster:
    address: str

    @staticmethod
    def task_worker_pids(name: str) -> list[int]:
        """Pids of worker processes running a task named `name` (Ray renames a worker's
        process to `ray::<task>` while it runs one)."""
        return [pid for pid, args in descendants(os.getpid()) if args == f"ray::{name}"]


@contextlib.contextmanager
def ray_cluster(nodes: int = 2) -> Iterator[RayCluster]:
    """A head and `nodes - 1` more nodes on 127.0.0.1, one CPU each."""
    saved = {k: os.environ.get(k) for k in LOOPBACK_ENV}
    os.environ.update(LOOPBACK_ENV)
    import ray
    from ray._private import ray_constants
    from ray.cluster_utils import Cluster

    was_enabled = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False  # in case ray was imported before the env was set
    node = {"num_cpus": 1, "node_ip_address": "127.0.0.1", "include_dashboard": False}
    cluster = Cluster(shutdown_at_exit=True)
    try:
        cluster.add_node(**node, gcs_server_port=free_port())
        for _ in range(nodes - 1):
            cluster.add_node(**node)
        cluster.wait_for_nodes()
        yield RayCluster(cluster.address)
    finally:
        if ray.is_initialized():
            ray.shutdown()
        cluster.shutdown()
        ray_constants.ENABLE_RAY_CLUSTER = was_enabled
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
