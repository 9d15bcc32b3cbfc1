"""The relayer's persistent outbox: SQLite in WAL mode (never the DuckDB index).

One file holds, for a (chain id, contract, relayer account):

- `requests`: every request seen, UNIQUE (chain_id, contract, query_id), with its state
  (records.REQUEST_STATES), the proof once made, the nonce whose transactions fulfil it,
  and how often its fulfilment was reorged out;
- `transactions`: every transaction signed, stored with its raw bytes and hash BEFORE it
  is broadcast, so a restart finds and reconciles it instead of signing another;
- `nonces`: the account's next nonce, advanced in the same SQLite transaction that stores
  the transaction using it (no nonce is ever handed out without a stored transaction);
- `scan_cursors`: the last blocks scanned for requests, with their hashes (reorg checks).

A process holds the outbox exclusively (an advisory lock on `<db>.lock`): two relayers on
one outbox would hand out the same nonces. All methods are thread-safe.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from coprocessor.errors import OutboxError
from coprocessor.relayer.fees import Fees
from coprocessor.relayer.records import OPEN_TX_STATES, Attempt, RequestRecord
from coprocessor.relayer.request import QueryRequest
from coprocessor.sqlite_wal import connect_wal, write_transaction

CURSORS_KEPT = 128

_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    chain_id INTEGER NOT NULL,
    contract TEXT NOT NULL,
    query_id BLOB NOT NULL,
    block_number INTEGER NOT NULL,
    block_hash BLOB NOT NULL,
    request TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    journal BLOB,
    seal BLOB,
    nonce INTEGER,
    proofs INTEGER NOT NULL DEFAULT 0,
    reorgs INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL,
    UNIQUE (chain_id, contract, query_id)
);
CREATE TABLE IF NOT EXISTS transactions (
    tx_hash BLOB PRIMARY KEY,
    chain_id INTEGER NOT NULL,
    contract TEXT NOT NULL,
    sender TEXT NOT NULL,
    nonce INTEGER NOT NULL,
    query_id BLOB NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('fulfil', 'cancel')),
    raw_tx BLOB NOT NULL,
    max_fee_per_gas INTEGER NOT NULL,
    max_priority_fee_per_gas INTEGER NOT NULL,
    state TEXT NOT NULL,
    broadcast_block INTEGER,
    mined_block_number INTEGER,
    mined_block_hash BLOB,
    receipt_status INTEGER,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS transactions_by_nonce ON transactions (chain_id, sender, nonce);
CREATE TABLE IF NOT EXISTS nonces (
    chain_id INTEGER NOT NULL,
    sender TEXT NOT NULL,
    next_nonce INTEGER NOT NULL,
    PRIMARY KEY (chain_id, sender)
);
CREATE TABLE IF NOT EXISTS scan_cursors (
    chain_id INTEGER NOT NULL,
    contract TEXT NOT NULL,
    block_number INTEGER NOT NULL,
    block_hash BLOB NOT NULL,
    PRIMARY KEY (chain_id, contract, block_number)
);
"""


_REQUEST_COLUMNS = "request, state, reason, journal, seal, nonce, proofs, reorgs"
_ATTEMPT_COLUMNS = (
    "tx_hash, nonce, query_id, kind, raw_tx, max_fee_per_gas, max_priority_fee_per_gas, "
    "state, broadcast_block, mined_block_number, mined_block_hash, receipt_status"
)
_UPDATABLE_REQUEST = {"state", "reason", "journal", "seal", "nonce", "proofs", "reorgs"}
_UPDATABLE_ATTEMPT = {
    "state",
    "broadcast_block",
    "mined_block_number",
    "mined_block_hash",
    "receipt_status",
}


def _request_record(row: sqlite3.Row) -> RequestRecord:
    return RequestRecord(QueryRequest.from_json(row[0]), *row[1:])


def _attempt(row: sqlite3.Row) -> Attempt:
    tx_hash, nonce, query_id, kind, raw, max_fee, tip, *rest = row
    return Attempt(tx_hash, nonce, query_id, kind, raw, Fees(max_fee, tip), *rest)


def _lock_file(path: Path) -> int:
    descriptor = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        os.close(descriptor)
        raise OutboxError(f"another relayer holds the outbox {path}") from exc
    return descriptor


class Outbox:
    """The outbox of one relayer account serving one contract on one chain."""

    def __init__(self, path: Path, *, chain_id: int, contract: str, sender: str):
        self.path, self.chain_id, self.contract, self.sender = path, chain_id, contract, sender
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_descriptor = _lock_file(path)
        self._lock = threading.RLock()
        try:
            self._db = connect_wal(path, synchronous="FULL", error=OutboxError)
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            self.close()
            raise OutboxError(f"cannot open the outbox {path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            if getattr(self, "_db", None) is not None:
                self._db.close()
                self._db = None  # type: ignore[assignment]
            if self._lock_descriptor >= 0:
                os.close(self._lock_descriptor)
                self._lock_descriptor = -1

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """One SQLite write transaction (BEGIN IMMEDIATE ... COMMIT, rolled back on error)."""
        return write_transaction(self._db, self._lock, OutboxError, f"outbox {self.path}")

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise OutboxError(f"outbox {self.path}: {exc}") from exc

    @property
    def _scope(self) -> tuple[int, str]:
        return self.chain_id, self.contract

    # --- requests -----------------------------------------------------------------------------

    def add_request(self, request: QueryRequest) -> bool:
        """Stores a request seen at confirmation depth; True if it is new. Seen again in
        another block (after a reorg) it takes that block, and a removed one comes back."""
        with self.transaction() as db:
            row = db.execute(
                "SELECT block_hash, state FROM requests "
                "WHERE chain_id = ? AND contract = ? AND query_id = ?",
                (*self._scope, request.query_id),
            ).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO requests (chain_id, contract, query_id, block_number, "
                    "block_hash, request, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'new', ?)",
                    (
                        *self._scope,
                        request.query_id,
                        request.block_number,
                        request.block_hash,
                        request.to_json(),
                        time.time(),
                    ),
                )
                return True
            if row[0] != request.block_hash:
                state = "new" if row[1] == "removed" else row[1]
                db.execute(
                    "UPDATE requests SET block_number = ?, block_hash = ?, request = ?, state = ?, "
                    "updated_at = ? WHERE chain_id = ? AND contract = ? AND query_id = ?",
                    (
                        request.block_number,
                        request.block_hash,
                        request.to_json(),
                        state,
                        time.time(),
                        *self._scope,
                        request.query_id,
                    ),
                )
            return False

    def remove_requests_after(self, block_number: int, keep: set[bytes]) -> list[bytes]:
        """Marks `removed` the requests above `block_number` not in `keep` on which nothing
        was sent (their block left the chain); returns their queryIds."""
        rows = self._query(
            "SELECT query_id FROM requests WHERE chain_id = ? AND contract = ? AND "
            "block_number > ? AND state IN ('new', 'deferred', 'proved', 'unprofitable')",
            (*self._scope, block_number),
        )
        removed = [row[0] for row in rows if row[0] not in keep]
        for query_id in removed:
            self.update_request(query_id, state="removed", reason="request_reorged_out")
        return removed

    def request(self, query_id: bytes) -> RequestRecord | None:
        rows = self._query(
            f"SELECT {_REQUEST_COLUMNS} FROM requests "
            "WHERE chain_id = ? AND contract = ? AND query_id = ?",
            (*self._scope, query_id),
        )
        return _request_record(rows[0]) if rows else None

    def requests_in(self, *states: str) -> list[RequestRecord]:
        marks = ", ".join("?" * len(states))
        rows = self._query(
            f"SELECT {_REQUEST_COLUMNS} FROM requests WHERE chain_id = ? AND contract = ? "
            f"AND state IN ({marks}) ORDER BY block_number, query_id",
            (*self._scope, *states),
        )
        return [_request_record(row) for row in rows]

    def update_request(self, query_id: bytes, **columns: Any) -> None:
        unknown = set(columns) - _UPDATABLE_REQUEST
        if unknown or not columns:
            raise OutboxError(f"cannot update request columns {sorted(unknown) or '(none)'}")
        assignments = ", ".join(f"{name} = ?" for name in columns)
        with self.transaction() as db:
            db.execute(
                f"UPDATE requests SET {assignments}, updated_at = ? "
                "WHERE chain_id = ? AND contract = ? AND query_id = ?",
                (*columns.values(), time.time(), *self._scope, query_id),
            )

    def reset_deferred(self) -> int:
        """Deferred requests go back to `new` (at start: the prover may answer them now)."""
        rows = self.requests_in("deferred")
        for record in rows:
            self.update_request(record.request.query_id, state="new", reason=None)
        return len(rows)

    # --- transactions and nonces --------------------------------------------------------------

    def record_attempt(
        self, attempt: Attempt, *, new_nonce: bool, request_update: dict[str, Any]
    ) -> None:
        """Stores a signed transaction before it is broadcast; with `new_nonce` its nonce must
        be the account's next one, which advances in the same SQLite transaction. A
        fulfilment's request records its nonce, with `request_update` applied."""
        with self.transaction() as db:
            if new_nonce:
                expected = self._next_nonce(db)
                if attempt.nonce != expected:
                    raise OutboxError(f"nonce {attempt.nonce} signed, {expected} is next")
                db.execute(
                    "INSERT OR REPLACE INTO nonces VALUES (?, ?, ?)",
                    (self.chain_id, self.sender, attempt.nonce + 1),
                )
            db.execute(
                f"INSERT INTO transactions ({_ATTEMPT_COLUMNS}, chain_id, contract, sender, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    attempt.tx_hash,
                    attempt.nonce,
                    attempt.query_id,
                    attempt.kind,
                    attempt.raw_tx,
                    attempt.fees.max_fee_per_gas,
                    attempt.fees.max_priority_fee_per_gas,
                    attempt.state,
                    attempt.broadcast_block,
                    attempt.mined_block_number,
                    attempt.mined_block_hash,
                    attempt.receipt_status,
                    *self._scope,
                    self.sender,
                    time.time(),
                ),
            )
            if attempt.kind == "fulfil":
                request_update = {**request_update, "nonce": attempt.nonce}
            if request_update:
                assignments = ", ".join(f"{name} = ?" for name in request_update)
                db.execute(
                    f"UPDATE requests SET {assignments}, updated_at = ? "
                    "WHERE chain_id = ? AND contract = ? AND query_id = ?",
                    (*request_update.values(), time.time(), *self._scope, attempt.query_id),
                )

    def _next_nonce(self, db: sqlite3.Connection) -> int | None:
        row = db.execute(
            "SELECT next_nonce FROM nonces WHERE chain_id = ? AND sender = ?",
            (self.chain_id, self.sender),
        ).fetchone()
        return None if row is None else int(row[0])

    def next_nonce(self) -> int | None:
        """The account's next nonce as the outbox knows it (None: never used here)."""
        with self._lock:
            return self._next_nonce(self._db)

    def raise_next_nonce(self, at_least: int) -> int:
        """Moves the next nonce up to `at_least` (the node saw more); returns the next nonce."""
        with self.transaction() as db:
            current = self._next_nonce(db)
            if current is None or current < at_least:
                db.execute(
                    "INSERT OR REPLACE INTO nonces VALUES (?, ?, ?)",
                    (self.chain_id, self.sender, at_least),
                )
                return at_least
            return current

    def update_attempt(self, tx_hash: bytes, **columns: Any) -> None:
        unknown = set(columns) - _UPDATABLE_ATTEMPT
        if unknown or not columns:
            raise OutboxError(f"cannot update transaction columns {sorted(unknown) or '(none)'}")
        assignments = ", ".join(f"{name} = ?" for name in columns)
        with self.transaction() as db:
            db.execute(
                f"UPDATE transactions SET {assignments} WHERE tx_hash = ?",
                (*columns.values(), tx_hash),
            )

    def attempts_at(self, nonce: int) -> list[Attempt]:
        """The transactions signed at `nonce`, oldest first."""
        rows = self._query(
            f"SELECT {_ATTEMPT_COLUMNS} FROM transactions WHERE chain_id = ? AND sender = ? "
            "AND nonce = ? ORDER BY created_at, rowid",
            (self.chain_id, self.sender, nonce),
        )
        return [_attempt(row) for row in rows]

    def open_nonces(self) -> list[int]:
        """Nonces with a transaction not yet settled (signed, broadcast or mined), in order."""
        marks = ", ".join("?" * len(OPEN_TX_STATES))
        rows = self._query(
            f"SELECT DISTINCT nonce FROM transactions WHERE chain_id = ? AND sender = ? "
            f"AND state IN ({marks}) ORDER BY nonce",
            (self.chain_id, self.sender, *OPEN_TX_STATES),
        )
        return [int(row[0]) for row in rows]

    def nonce_is_open(self, nonce: int) -> bool:
        return nonce in self.open_nonces()

    def settle_nonce(self, nonce: int, *, winner: bytes | None, state: str) -> None:
        """Closes a nonce: `winner` takes `state`, its other transactions are superseded
        (all of them `dropped` when no transaction of ours won)."""
        others = "superseded" if winner is not None else "dropped"
        with self.transaction() as db:
            db.execute(
                "UPDATE transactions SET state = ? WHERE chain_id = ? AND sender = ? AND nonce = ?",
                (others, self.chain_id, self.sender, nonce),
            )
            if winner is not None:
                db.execute("UPDATE transactions SET state = ? WHERE tx_hash = ?", (state, winner))

    def count_transactions(self, query_id: bytes | None = None) -> int:
        if query_id is None:
            rows = self._query(
                "SELECT COUNT(*) FROM transactions WHERE chain_id = ? AND sender = ?",
                (self.chain_id, self.sender),
            )
        else:
            rows = self._query(
                "SELECT COUNT(*) FROM transactions WHERE chain_id = ? AND query_id = ?",
                (self.chain_id, query_id),
            )
        return int(rows[0][0])

    # --- scanning -----------------------------------------------------------------------------

    def cursors(self) -> list[tuple[int, bytes]]:
        """Blocks the scan ended at, newest first, with the hashes they had."""
        rows = self._query(
            "SELECT block_number, block_hash FROM scan_cursors WHERE chain_id = ? AND contract = ? "
            "ORDER BY block_number DESC",
            self._scope,
        )
        return [(int(row[0]), bytes(row[1])) for row in rows]

    def advance_cursor(self, block_number: int, block_hash: bytes) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO scan_cursors VALUES (?, ?, ?, ?)",
                (*self._scope, block_number, block_hash),
            )
            db.execute(
                "DELETE FROM scan_cursors WHERE chain_id = ? AND contract = ? AND block_number "
                "NOT IN (SELECT block_number FROM scan_cursors WHERE chain_id = ? AND "
                "contract = ? ORDER BY block_number DESC LIMIT ?)",
                (*self._scope, *self._scope, CURSORS_KEPT),
            )

    def rewind_cursor(self, block_number: int) -> None:
        """Forgets the cursors above `block_number` (they are no longer canonical)."""
        with self.transaction() as db:
            db.execute(
                "DELETE FROM scan_cursors WHERE chain_id = ? AND contract = ? AND block_number > ?",
                (*self._scope, block_number),
            )
