"""`coprocessor serve` as a real subprocess on 127.0.0.1 with a free port, for the server tests:
start it, read its port from its startup log line, wait for health, stop it with SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

STARTUP_SECONDS = 60


class ServeProcess:
    def __init__(
        self,
        db: Path,
        rpc: str,
        *,
        workers: int = 1,
        env: dict | None = None,
        flags: tuple[str, ...] = (),
        **opts,
    ):
        """`opts` become `--key value` options, `flags` are passed as they are (`--relay`)."""
        self.db, self.rpc, self.log = (
            db,
            rpc,
            db.with_name(db.name + f".serve-{time.time_ns()}.log"),
        )
        args = [sys.executable, "-m", "coprocessor.cli", "serve", "--db", str(db), "--rpc", rpc]
        args += ["--listen", "127.0.0.1:0", "--workers", str(workers)]
        for key, value in {"poll": 0.2, **opts}.items():
            args += [f"--{key.replace('_', '-')}", str(value)]
        args += flags
        self._log_file = self.log.open("wb")
        self.proc = subprocess.Popen(
            args, stdout=self._log_file, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )
        self.port = self._wait_for_port()
        self.target = f"127.0.0.1:{self.port}"

    def _wait_for_port(self) -> int:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            for line in self.log.read_text(errors="replace").splitlines():
                if line.startswith("{") and '"serving"' in line:
                    return int(json.loads(line)["listen"].rpartition(":")[2])
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited {self.proc.returncode}:\n{self.output()}")
            time.sleep(0.1)
        raise AssertionError(f"serve did not start:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def health(self, service: str = "") -> int:
        with grpc.insecure_channel(self.target) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status

    def wait_serving(self, seconds: float = STARTUP_SECONDS) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.health() == health_pb2.HealthCheckResponse.SERVING:
                return
            time.sleep(0.1)
        raise AssertionError(f"never SERVING:\n{self.output()}")

    def terminate(self, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self._log_file.close()
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log_file.close()
