"""One `coprocessor serve` process: the gRPC server (QueryService, health, reflection, auth),
the indexer following the node (the one DuckDB writer; compiling reads through the same
`Store`, each thread with a read cursor of its own, so compiles and the indexer's writes do
not wait for each other), the index-lag health monitor and the prover worker processes over
the durable queue, optionally the Prometheus metrics endpoint (server/metrics.py) and, with
`relay`, the relayer (server/relay.py) in a thread, proving requests from the same `Store`.

Shutdown: health turns NOT_SERVING and new submissions get UNAVAILABLE for `drain_seconds`,
then the server stops (in-flight calls get `grace_seconds`), the workers stop and their jobs go
back to the queue, the indexer and the relayer stop after their current step, the metrics
endpoint stops and everything is closed.
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from coprocessor.chain import RpcClient
from coprocessor.errors import ConfigError, CoprocessorError
from coprocessor.indexer import Indexer, IndexerConfig
from coprocessor.queue import ProvingQueue, WorkerPool, WorkerSettings
from coprocessor.sdk import Coprocessor
from coprocessor.sdk.wire import SERVICE_NAME, pb
from coprocessor.server.auth import BearerTokenInterceptor, is_loopback
from coprocessor.server.metrics import MetricsEndpoint, ServerMetrics
from coprocessor.server.service import IndexHealth, QueryService, add_to_server
from coprocessor.store import Store

if TYPE_CHECKING:
    from coprocessor.relayer import RelayerConfig
    from coprocessor.server.relay import HostedRelayer

log = logging.getLogger("coprocessor.server")
MiB = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class ServeConfig:
    db: Path
    rpc: str
    listen: str = "127.0.0.1:50051"
    workers: int = 1
    queue_path: Path | None = None  # default: <db>.queue.sqlite
    token: str | None = None
    max_lag_blocks: int = 8
    poll_seconds: float = 0.5  # health monitor: how often the lag is measured
    index_poll_seconds: float = 1.0  # indexer: how often it polls the node's head when idle
    lease_seconds: float = 10.0
    max_pending: int = 1000
    drain_seconds: float = 1.0
    grace_seconds: float = 5.0
    max_request_bytes: int = 4 * MiB
    max_response_bytes: int = 16 * MiB
    rpc_threads: int = 32
    relay: RelayerConfig | None = None  # host the relayer (its index: this server's Store)
    metrics_listen: str | None = None  # host:port of the Prometheus endpoint (None: no endpoint)

    @property
    def queue_file(self) -> Path:
        return self.queue_path or self.db.with_name(self.db.name + ".queue.sqlite")


class CoprocessorServer:
    def __init__(self, config: ServeConfig):
        if config.token is None and not is_loopback(config.listen):
            raise ConfigError(
                f"refusing to listen on {config.listen} without a token: set COPROCESSOR_TOKEN "
                "or --token-file (only a loopback address may go without)"
            )
        self.config = config
        self.port = 0
        self._stopping = threading.Event()
        self._index_health = IndexHealth(max_lag_blocks=config.max_lag_blocks)
        self._threads: list[threading.Thread] = []
        self.relayer: HostedRelayer | None = None
        self.metrics_endpoint: MetricsEndpoint | None = None

    # --- starting ---------------------------------------------------------------------------

    def start(self) -> int:
        """Opens the index and the queue, starts every part; returns the port listened on."""
        c = self.config
        self.store = Store(c.db)
        if c.relay is not None:
            self.relayer = self._relayer(c.relay)
        self._index_rpc, self._health_rpc = RpcClient(c.rpc), RpcClient(c.rpc)
        self.indexer = Indexer(
            self._index_rpc, self.store, IndexerConfig(poll_interval=c.index_poll_seconds)
        )
        self.coprocessor = Coprocessor(self.store, rpc=c.rpc)
        self.queue = ProvingQueue(c.queue_file, max_pending=c.max_pending)
        self.metrics = ServerMetrics(self.queue, self._index_health)
        if c.metrics_listen is not None:
            self.metrics_endpoint = MetricsEndpoint(self.metrics.registry, c.metrics_listen)
        self.workers = WorkerPool(
            WorkerSettings(queue_path=str(c.queue_file), lease_seconds=c.lease_seconds),
            c.workers,
        )
        self.workers.start()
        self.health = health.HealthServicer(experimental_non_blocking=True)
        self._set_health(False)
        self.server = self._grpc_server()
        self.server.start()
        relayer = self.relayer
        log.info(
            json.dumps(
                {
                    "event": "serving",
                    "listen": f"{c.listen.rpartition(':')[0]}:{self.port}",
                    "auth": "bearer token"
                    if c.token
                    else "none: no token configured, accepting unauthenticated calls on loopback",
                    "workers": c.workers,
                    "queue": str(c.queue_file),
                }
                | ({"metrics": self.metrics_endpoint.address} if self.metrics_endpoint else {})
                | ({"relaying_for": relayer.contract} if relayer else {})
            )
        )  # first, before the background threads log (tests read the port from this line)
        self._spawn(self._follow, "indexer")
        self._spawn(self._monitor, "health-monitor")
        if relayer is not None:
            self._spawn(lambda: relayer.run(self._stopping), "relayer")
        return self.port

    def _relayer(self, config: RelayerConfig) -> HostedRelayer:
        """The relayer over this server's Store; the Store is closed if it cannot start."""
        from coprocessor.server.relay import HostedRelayer  # web3: imported only when relaying

        try:
            return HostedRelayer(config, self.store)
        except BaseException:
            self.store.close()
            raise

    def _grpc_server(self) -> grpc.Server:
        c = self.config
        server = grpc.server(
            ThreadPoolExecutor(max_workers=c.rpc_threads, thread_name_prefix="grpc"),
            interceptors=[self.metrics.interceptor]
            + ([BearerTokenInterceptor(c.token)] if c.token else []),
            options=[
                ("grpc.max_receive_message_length", c.max_request_bytes),
                ("grpc.max_send_message_length", c.max_response_bytes),
                ("grpc.so_reuseport", 0),
            ],
        )
        service = QueryService(
            self.coprocessor, self.queue, self._index_health, lambda: not self._stopping.is_set()
        )
        add_to_server(service, server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        names = (
            pb.DESCRIPTOR.services_by_name["QueryService"].full_name,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        )
        reflection.enable_server_reflection(names, server)
        self.port = server.add_insecure_port(c.listen)
        if self.port == 0:
            raise ConfigError(f"cannot listen on {c.listen}")
        return server

    def _spawn(self, target, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # --- background work --------------------------------------------------------------------

    def _follow(self) -> None:
        """The indexer in follow mode; an error is logged and following resumes a poll later."""
        while not self._stopping.is_set():
            try:
                self.indexer.follow(stop=self._stopping)
            except CoprocessorError as exc:
                log.warning(json.dumps({"event": "indexer_error", "error": str(exc)}))
                self._stopping.wait(self.config.index_poll_seconds)

    def _monitor(self) -> None:
        """Measures the index's lag behind the node and sets the health status from it."""
        h = self._index_health
        while not self._stopping.is_set():
            try:
                h.node_head = self._health_rpc.block_number()
                cp = self.store.checkpoint()
                h.last_block = cp.last_block if cp else -1
                serving = cp is not None and h.lag <= h.max_lag_blocks
            except CoprocessorError as exc:
                log.warning(json.dumps({"event": "health_check_failed", "error": str(exc)}))
                serving = False
            if serving != h.serving and not self._stopping.is_set():
                h.serving = serving
                self._set_health(serving)
                log.info(json.dumps({"event": "health", "serving": serving, "lag": h.lag}))
            self._stopping.wait(self.config.poll_seconds)

    def _set_health(self, serving: bool) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ("", SERVICE_NAME):
            self.health.set(name, status)

    # --- stopping ---------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Graceful stop (see the module docstring); idempotent."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self.health.enter_graceful_shutdown()
        log.info(json.dumps({"event": "shutting_down", "drain_seconds": self.config.drain_seconds}))
        threading.Event().wait(self.config.drain_seconds)
        self.server.stop(self.config.grace_seconds).wait()
        requeued = self.workers.stop(self.queue)
        for thread in self._threads:
            thread.join(30)
        if self.relayer is not None:
            self.relayer.close()
        if self.metrics_endpoint is not None:
            self.metrics_endpoint.stop()
        self.coprocessor.close()
        self.queue.close()
        self._index_rpc.close()
        self._health_rpc.close()
        self.store.close()
        log.info(json.dumps({"event": "stopped", "requeued_jobs": requeued}))
