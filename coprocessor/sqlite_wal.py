"""The embedded SQLite databases (the proving queue, the relayer's outbox): one connection in
WAL mode shared by threads behind a lock, and write transactions that roll back on any error.

Layer 1: only the standard library's sqlite3; callers map sqlite3.Error to their own error.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from coprocessor.errors import CoprocessorError


def connect_wal(
    path: str | Path, *, synchronous: str, error: type[CoprocessorError], timeout: float = 30.0
) -> sqlite3.Connection:
    """A connection in WAL mode (autocommit: transactions are explicit) usable from any thread
    that holds its owner's lock. `synchronous` is SQLite's setting (NORMAL survives a killed
    process, FULL also a power loss). Raises `error` if SQLite refuses WAL mode, sqlite3.Error
    for the rest."""
    if synchronous not in ("NORMAL", "FULL"):
        raise ValueError(f"synchronous must be NORMAL or FULL, not {synchronous!r}")
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=timeout)
    try:
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise error(f"{path}: SQLite refused WAL mode (journal_mode={mode})")
        db.execute(f"PRAGMA synchronous={synchronous}")
    except BaseException:
        db.close()
        raise
    return db


@contextmanager
def write_transaction(
    db: sqlite3.Connection,
    lock: threading.Lock | threading.RLock,
    error: type[CoprocessorError],
    what: str,
) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT under `lock`, rolled back if the body raises; SQLite's own
    failures become `error` naming `what`."""
    with lock:
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise error(f"{what}: {exc}") from exc
