"""Prometheus metrics of `coprocessor serve`, in a registry of the server's own (several servers
can run in one process) and served over HTTP by `MetricsEndpoint` (`--metrics-listen`).

Read at each scrape from the sources `GetIndexStatus` answers from, not counted twice:
- `coprocessor_jobs{state}`: jobs in each state (the proving queue's counts)
- `coprocessor_proving_seconds`: histogram of the done jobs' proving seconds (their results)
- `coprocessor_index_last_block`, `coprocessor_node_head_block`, `coprocessor_index_lag_blocks`,
  `coprocessor_serving`: the index-lag monitor's last measurement
Counted as calls end, by `RequestCounter` (a server interceptor):
- `coprocessor_grpc_requests_total{service, method, code}`: gRPC calls by method and status
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import grpc
from prometheus_client import CollectorRegistry, Counter, start_wsgi_server
from prometheus_client.metrics_core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from coprocessor.errors import ConfigError
from coprocessor.queue import ProvingQueue
from coprocessor.server.service import IndexHealth

# proving takes milliseconds in dev mode and up to hours for a long range scan
PROVING_SECONDS_BUCKETS = (0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 14400)


class ServerStateCollector(Collector):
    """Jobs by state, proving seconds and the index's lag, read when Prometheus scrapes."""

    def __init__(self, queue: ProvingQueue, health: IndexHealth):
        self.queue, self.health = queue, health

    def collect(self) -> Iterable[Metric]:
        jobs = GaugeMetricFamily("coprocessor_jobs", "Jobs in each state", labels=["state"])
        for state, count in self.queue.counts().items():
            jobs.add_metric([state], count)
        yield jobs
        times = self.queue.proving_times(PROVING_SECONDS_BUCKETS)
        buckets = [(_bound(b), n) for b, n in zip(PROVING_SECONDS_BUCKETS, times.at_most)]
        yield HistogramMetricFamily(
            "coprocessor_proving_seconds",
            "Seconds spent proving each done job",
            buckets=[*buckets, ("+Inf", times.count)],
            sum_value=times.total,
        )
        h = self.health
        for name, text, value in (
            ("coprocessor_index_last_block", "The index's last block", h.last_block),
            ("coprocessor_node_head_block", "The node's head block", h.node_head),
            ("coprocessor_index_lag_blocks", "Blocks the index lags the node by", h.lag),
            ("coprocessor_serving", "1 while health is SERVING, else 0", int(h.serving)),
        ):
            yield GaugeMetricFamily(name, text, value=value)


def _bound(seconds: float) -> str:
    return str(float(seconds))  # the `le` label as Prometheus's own clients write it: "5.0"


class ServerMetrics:
    """The server's registry: its state (read at scrape time) and the gRPC call counter."""

    def __init__(self, queue: ProvingQueue, health: IndexHealth):
        self.registry = CollectorRegistry()
        self.registry.register(ServerStateCollector(queue, health))
        self.grpc_requests = Counter(
            "coprocessor_grpc_requests",
            "gRPC calls handled, by method and status code",
            ["service", "method", "code"],
            registry=self.registry,
        )
        self.interceptor = RequestCounter(self.grpc_requests)


class RequestCounter(grpc.ServerInterceptor):
    """Counts each call when it ends, with its status code. Put it first among the server's
    interceptors, so that calls the others refuse (UNAUTHENTICATED) are counted too."""

    def __init__(self, counter: Counter):
        self._counter = counter

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        service, _, method = handler_call_details.method.lstrip("/").rpartition("/")

        def done(context: grpc.ServicerContext, failed: bool) -> None:
            code = context.code()  # set by abort or set_code; None: the call decides it now
            if code is None and failed:
                code = grpc.StatusCode.UNKNOWN  # what grpc answers an exception with
            elif code is None:
                code = grpc.StatusCode.OK if context.is_active() else grpc.StatusCode.CANCELLED
            self._counter.labels(service, method, code.name).inc()

        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                _unary(handler.unary_unary, done),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                _streaming(handler.unary_stream, done),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_unary is not None:
            return grpc.stream_unary_rpc_method_handler(
                _unary(handler.stream_unary, done),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return grpc.stream_stream_rpc_method_handler(
            _streaming(handler.stream_stream, done),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


Done = Callable[[grpc.ServicerContext, bool], None]


def _unary(behaviour: Callable, done: Done) -> Callable:
    """A behaviour with one response, reporting its end to `done`."""

    def call(request, context: grpc.ServicerContext):
        try:
            response = behaviour(request, context)
        except BaseException:
            done(context, True)
            raise
        done(context, False)
        return response

    return call


def _streaming(behaviour: Callable[..., Iterator], done: Done) -> Callable[..., Iterator]:
    """A behaviour with a stream of responses, reporting its end to `done`."""

    def call(request, context: grpc.ServicerContext):
        try:
            yield from behaviour(request, context)
        except GeneratorExit:  # the stream was dropped (the client went away)
            done(context, False)
            raise
        except BaseException:
            done(context, True)
            raise
        done(context, False)

    return call


class MetricsEndpoint:
    """The HTTP endpoint Prometheus scrapes (`GET /metrics`) at `listen` (host:port; port 0:
    a free one), in a thread of its own until `stop`."""

    def __init__(self, registry: CollectorRegistry, listen: str):
        host, _, port = listen.rpartition(":")
        host = host.strip("[]")
        if not host or not port.isdigit():
            raise ConfigError(f"--metrics-listen wants HOST:PORT, not {listen!r}")
        try:
            self._server, self._thread = start_wsgi_server(int(port), addr=host, registry=registry)
        except OSError as exc:
            raise ConfigError(f"cannot serve metrics on {listen}: {exc}") from exc
        self.port: int = self._server.server_address[1]
        self.address = f"{listen.rpartition(':')[0]}:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)


__all__ = ["MetricsEndpoint", "RequestCounter", "ServerMetrics", "ServerStateCollector"]
