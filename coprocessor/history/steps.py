"""The durable record of proven history steps: SQLite in WAL mode next to the index
(`<db>.history.sqlite`), one row per step with its journal and receipt.

A step is recorded in one transaction after its receipt verified, and only if it extends the
last recorded step (the next sequence number, the same chain and image, the journal one batch
further), so a crash leaves the record at the last complete step and `prove` resumes there.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from coprocessor.errors import ConfigError, InternalError, StoreError
from coprocessor.history.journal import HistoryJournal, decode_history_journal
from coprocessor.sqlite_wal import connect_wal, write_transaction
from coprocessor.zkvm import Receipt

_SCHEMA = """
CREATE TABLE IF NOT EXISTS steps (
    seq INTEGER PRIMARY KEY,
    mode INTEGER NOT NULL,
    first_block INTEGER NOT NULL,
    last_block INTEGER NOT NULL,
    image_id BLOB NOT NULL,
    chain_id INTEGER NOT NULL,
    dev INTEGER NOT NULL,
    journal BLOB NOT NULL,
    receipt BLOB NOT NULL,
    cycles INTEGER NOT NULL,
    user_cycles INTEGER NOT NULL,
    seconds REAL NOT NULL,
    created REAL NOT NULL
);
"""


def default_path(index_db: str | Path) -> Path:
    """Where the steps of an index's accumulator live: `<db>.history.sqlite`."""
    return Path(f"{index_db}.history.sqlite")


@dataclass(frozen=True)
class Step:
    """One proven batch: its receipt attests every step before it (composition)."""

    seq: int
    mode: int
    first_block: int
    last_block: int
    dev: bool
    journal: HistoryJournal
    receipt: Receipt
    cycles: int
    user_cycles: int
    seconds: float


class StepLog:
    """One history database. Thread-safe (one connection behind a lock)."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        self._lock = threading.Lock()
        try:
            self._db = connect_wal(self.path, synchronous="FULL", error=StoreError)
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open history steps {self.path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> StepLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _select(self, where: str = "", params: tuple = ()) -> list[Step]:
        query = (
            "SELECT seq, mode, first_block, last_block, dev, journal, receipt, cycles, "
            f"user_cycles, seconds FROM steps {where} ORDER BY seq"
        )
        try:
            with self._lock:
                rows = self._db.execute(query, params).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: reading steps failed: {exc}") from exc
        return [
            Step(
                seq=row[0],
                mode=row[1],
                first_block=row[2],
                last_block=row[3],
                dev=bool(row[4]),
                journal=decode_history_journal(row[5]),
                receipt=Receipt.from_bytes(row[6]),
                cycles=row[7],
                user_cycles=row[8],
                seconds=row[9],
            )
            for row in rows
        ]

    def last(self) -> Step | None:
        """The last recorded step (its journal is the accumulator's current state)."""
        steps = self._select("WHERE seq = (SELECT max(seq) FROM steps)")
        return steps[0] if steps else None

    def steps(self) -> list[Step]:
        return self._select()

    def recent(self, n: int) -> list[Step]:
        """The last `n` recorded steps, newest first."""
        newest = self._select(
            "WHERE seq IN (SELECT seq FROM steps ORDER BY seq DESC LIMIT ?)", (int(n),)
        )
        return newest[::-1]

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM steps").fetchone()[0]

    def record(
        self,
        *,
        mode: int,
        first_block: int,
        last_block: int,
        image_id: bytes,
        dev: bool,
        receipt: Receipt,
        journal: HistoryJournal,
    ) -> Step:
        """Records a verified step; it must extend the last one (same chain, image and dev
        setting, the next batch). Raises ConfigError when it cannot (another accumulator
        shares the file) and InternalError when the journal is not the next state."""
        stats = receipt.stats
        with write_transaction(self._db, self._lock, StoreError, "recording a history step"):
            row = self._db.execute(
                "SELECT seq, image_id, chain_id, dev, journal FROM steps "
                "WHERE seq = (SELECT max(seq) FROM steps)"
            ).fetchone()
            if row is None:
                seq = 0
            else:
                seq = row[0] + 1
                if bytes(row[1]) != image_id or row[2] != journal.chain_id or bool(row[3]) != dev:
                    raise ConfigError(
                        f"{self.path} holds an accumulator of another image, chain or dev "
                        "setting: use another file"
                    )
                previous = decode_history_journal(row[4])
                if (previous.origin, previous.self_image_id) != (
                    journal.origin,
                    journal.self_image_id,
                ) or not (
                    journal.earliest <= previous.earliest and journal.latest >= previous.latest
                ):
                    raise InternalError("a history step does not extend the previous one")
            self._db.execute(
                "INSERT INTO steps (seq, mode, first_block, last_block, image_id, chain_id, dev, "
                "journal, receipt, cycles, user_cycles, seconds, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    seq,
                    mode,
                    first_block,
                    last_block,
                    image_id,
                    journal.chain_id,
                    int(dev),
                    journal.encode(),
                    receipt.to_bytes(),
                    stats.cycles if stats else 0,
                    stats.user_cycles if stats else 0,
                    stats.seconds if stats else 0.0,
                    time.time(),
                ),
            )
        return Step(
            seq=seq,
            mode=mode,
            first_block=first_block,
            last_block=last_block,
            dev=dev,
            journal=journal,
            receipt=receipt,
            cycles=stats.cycles if stats else 0,
            user_cycles=stats.user_cycles if stats else 0,
            seconds=stats.seconds if stats else 0.0,
        )


__all__ = ["Step", "StepLog", "default_path"]
