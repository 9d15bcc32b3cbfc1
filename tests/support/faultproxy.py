"""A fault-injecting JSON-RPC proxy for indexer tests (a real HTTP server on 127.0.0.1:0).

Between the indexer and a real anvil it answers some requests with 429 or 5xx,
stalls some past the client's timeout, drops some connections without a
response, and can corrupt chosen results (a header field, a proof value).
Faults are drawn from a seeded RNG so runs are reproducible.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

Corrupt = Callable[[str, list, object], object]  # (method, params, result) -> result


@dataclass
class Faults:
    p429: float = 0.0
    p500: float = 0.0
    pdrop: float = 0.0
    pstall: float = 0.0
    stall_seconds: float = 3.0
    latency: float = 0.0  # seconds added before forwarding each request (a remote node)
    corrupt: Corrupt | None = None
    seed: int = 0
    counts: dict = field(
        default_factory=lambda: {"429": 0, "500": 0, "drop": 0, "stall": 0, "ok": 0}
    )


class FaultProxy:
    def __init__(self, upstream: str, faults: Faults):
        self.upstream, self.faults = upstream, faults
        self.rng = random.Random(faults.seed)
        self.lock = threading.Lock()
        self.http = httpx.Client(timeout=30)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def setup(self):
                super().setup()
                # no Nagle: a response written in two parts must not wait for a delayed ACK
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                f = proxy.faults
                with proxy.lock:
                    r = proxy.rng.random()
                if r < f.p429:
                    f.counts["429"] += 1
                    return self._send(429, b'{"error":"rate limited"}', {"retry-after": "0"})
                r -= f.p429
                if r < f.p500:
                    f.counts["500"] += 1
                    return self._send(502, b"bad gateway")
                r -= f.p500
                if r < f.pdrop:
                    f.counts["drop"] += 1
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                r -= f.pdrop
                if r < f.pstall:
                    f.counts["stall"] += 1
                    time.sleep(f.stall_seconds)
                    self.close_connection = True
                    return
                f.counts["ok"] += 1
                if f.latency:
                    time.sleep(f.latency)
                resp = proxy.http.post(
                    proxy.upstream, content=body, headers={"content-type": "application/json"}
                )
                content = resp.content
                if f.corrupt is not None:
                    content = proxy._corrupt(body, content)
                self._send(resp.status_code, content)

            def _send(self, status, content, headers=None):
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(content)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(content)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _corrupt(self, request: bytes, content: bytes) -> bytes:
        req, resp = json.loads(request), json.loads(content)
        by_id = {}
        for q in req if isinstance(req, list) else [req]:
            by_id[q["id"]] = q
        items = resp if isinstance(resp, list) else [resp]
        for item in items:
            q = by_id.get(item.get("id"))
            if q is not None and "result" in item:
                item["result"] = self.faults.corrupt(q["method"], q["params"], item["result"])
        return json.dumps(resp).encode()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
