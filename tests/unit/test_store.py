"""coprocessor.store: exact uint256 (BIGNUM), atomic batch + checkpoint, rollback."""

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coprocessor.errors import InternalError, StoreError
from coprocessor.store import DATA_TABLES, Store, arrow_table, empty_tables

U256 = st.integers(min_value=0, max_value=2**256 - 1)


def block_cols(numbers, value=None):
    cols = {
        c: [None] * len(numbers)
        for c in (
            "ommers_hash",
            "miner",
            "state_root",
            "transactions_root",
            "receipts_root",
            "logs_bloom",
            "difficulty",
            "gas_limit",
            "gas_used",
            "timestamp",
            "extra_data",
            "mix_hash",
            "nonce",
            "base_fee_per_gas",
            "withdrawals_root",
            "blob_gas_used",
            "excess_blob_gas",
            "parent_beacon_block_root",
            "requests_hash",
            "transaction_count",
            "header_rlp",
        )
    }
    cols |= {
        "number": list(numbers),
        "hash": [n.to_bytes(32, "big") for n in numbers],
        "parent_hash": [(n - 1).to_bytes(32, "big") if n else bytes(32) for n in numbers],
    }
    cols["difficulty"] = [value or "0"] * len(numbers)
    return arrow_table("blocks", cols)


def tx_cols(rows):
    names = [
        "block_number",
        "tx_index",
        "hash",
        "type",
        "from",
        "to",
        "value",
        "nonce",
        "gas",
        "gas_price",
        "max_fee_per_gas",
        "max_priority_fee_per_gas",
        "max_fee_per_blob_gas",
        "chain_id",
        "input",
        "raw",
    ]
    cols = {c: [None] * len(rows) for c in names}
    cols["block_number"] = [r[0] for r in rows]
    cols["tx_index"] = [r[1] for r in rows]
    cols["value"] = [r[2] for r in rows]
    return arrow_table("transactions", cols)


def write(store, first, last, txs=(), value=None):
    tables = empty_tables() | {"blocks": block_cols(range(first, last + 1), value)}
    if txs:
        tables["transactions"] = tx_cols(txs)
    store.write_batch(
        tables, chain_id=1, first=first, last=last, last_hash=last.to_bytes(32, "big")
    )


@settings(max_examples=30, deadline=None)
@given(st.lists(U256, min_size=1, max_size=40))
def test_uint256_sum_min_max_exact(values):
    with Store(":memory:") as s:
        write(s, 0, 0, [(0, i, str(v)) for i, v in enumerate(values)])
        total, lo, hi = s.sql(
            "SELECT SUM(value)::VARCHAR, MIN(value)::VARCHAR, MAX(value)::VARCHAR FROM transactions"
        )[0]
        assert (int(total), int(lo), int(hi)) == (sum(values), min(values), max(values))
        ordered = [
            int(v) for (v,) in s.sql("SELECT value::VARCHAR FROM transactions ORDER BY value")
        ]
        assert ordered == sorted(values)


def test_values_past_2_128_compare_exactly():
    with Store(":memory:") as s:
        a, b = 2**200 + 1, 2**200
        write(s, 0, 0, [(0, 0, str(a)), (0, 1, str(b)), (0, 2, str(2**256 - 1))])
        assert s.sql(
            "SELECT tx_index FROM transactions WHERE value > ?::BIGNUM ORDER BY 1", [str(b)]
        ) == [(0,), (2,)]
        assert s.sql("SELECT SUM(value)::VARCHAR FROM transactions")[0][0] == str(
            a + b + 2**256 - 1
        )


def test_batch_and_checkpoint_are_one_transaction():
    with Store(":memory:") as s:
        write(s, 0, 4)
        with pytest.raises(StoreError):  # the BIGNUM cast fails after blocks were inserted
            write(s, 5, 9, [(5, 0, "not a number")])
        assert s.checkpoint().last_block == 4
        assert s.counts()["blocks"] == 5 and s.counts()["transactions"] == 0


def test_gap_and_overlap_are_refused():
    with Store(":memory:") as s:
        write(s, 10, 12)
        with pytest.raises(InternalError):
            write(s, 14, 15)
        with pytest.raises(InternalError):
            write(s, 12, 13)
        write(s, 13, 13)
        assert s.checkpoint().last_block == 13 and s.checkpoint().first_block == 10


def test_other_chain_refused():
    with Store(":memory:") as s:
        write(s, 0, 0)
        with pytest.raises(StoreError, match="chain"):
            s.write_batch(empty_tables(), chain_id=5, first=1, last=1, last_hash=bytes(32))


def test_rollback_removes_every_row_above_the_ancestor(tmp_path):
    db = tmp_path / "i.duckdb"
    with Store(db) as s:
        write(s, 0, 9, [(n, 0, "1") for n in range(10)])
        assert s.rollback_to(6) == 3
        cp = s.checkpoint()
        assert cp.last_block == 6 and cp.last_hash == (6).to_bytes(32, "big")
        assert s.sql("SELECT max(block_number) FROM transactions")[0][0] == 6
        assert s.rollback_to(8) == 0
        with pytest.raises(StoreError):
            s.rollback_to(-1)
    with Store(db, read_only=True) as s:  # persisted
        assert s.checkpoint().last_block == 6


def test_export_select_orders_and_stringifies():
    with Store(":memory:") as s:
        write(s, 0, 1, [(1, 0, str(2**255)), (0, 0, "7")])
        rows = s.sql(s.export_select("transactions"))
        assert [(r[0], r[6]) for r in rows] == [(0, "7"), (1, str(2**255))]
        for t in DATA_TABLES:
            s.arrow(s.export_select(t))


def test_a_wrong_schema_version_is_refused_read_only_too(tmp_path):
    """A read-only open (the SDK's fallback while another process writes) still checks the
    schema version: a wrong version is never silently read."""
    db = tmp_path / "i.duckdb"
    with Store(db) as s:
        write(s, 0, 1, [(1, 0, "7")])
        s.con.execute("UPDATE sync_state SET schema_version = 999")
    for read_only in (False, True):
        with pytest.raises(StoreError, match="schema version 999"):
            Store(db, read_only=read_only)
    from coprocessor.sdk import Coprocessor

    with pytest.raises(StoreError, match="schema version 999"):
        Coprocessor(db)


def test_a_locked_index_is_a_store_locked_error(tmp_path):
    import subprocess
    import sys

    from coprocessor.errors import StoreLockedError

    db = tmp_path / "i.duckdb"
    Store(db).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(db)!r}); "
            "print('locked', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(StoreLockedError):
            Store(db)
        from coprocessor.sdk import Coprocessor

        with pytest.raises(StoreLockedError):  # DuckDB refuses readers of other processes too
            Store(db, read_only=True)
        with pytest.raises(StoreLockedError):
            Coprocessor(db)
    finally:
        holder.kill()
        holder.wait()


# --- concurrent readers: a cursor per thread --------------------------------------------------


def _in_threads(*targets):
    """Runs the targets in threads at once; re-raises the first exception any of them raised."""
    errors: list[BaseException] = []

    def run(target):
        try:
            target()
        except BaseException as exc:  # reported in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if errors:
        raise errors[0]


def test_each_reading_thread_reads_through_a_cursor_of_its_own(tmp_path):
    with Store(tmp_path / "i.duckdb") as s:
        write(s, 0, 0)
        start = threading.Barrier(2)
        cursors = {}

        def reader(name):
            start.wait(10)
            assert s.sql("SELECT count(*) FROM blocks") == [(1,)]
            cursors[name] = s._cursor()
            assert s.arrow("SELECT number FROM blocks").num_rows == 1
            assert s._cursor() is cursors[name]  # one cursor per thread, kept

        _in_threads(lambda: reader("a"), lambda: reader("b"))
        assert cursors["a"] is not cursors["b"]
        assert s.con not in (cursors["a"], cursors["b"])  # not the writer's connection
        assert s._cursor() not in (cursors["a"], cursors["b"])


def test_readers_see_committed_batches_while_a_writer_commits(tmp_path):
    """Two readers poll while a writer appends 40 batches (a block and two transactions each):
    every read sees whole batches, the checkpoint agrees with the rows, and never goes back."""
    last = 39
    with Store(tmp_path / "i.duckdb") as s:
        writing = threading.Event()
        writing.set()
        seen: dict[str, list[int]] = {"a": [], "b": []}

        def writer():
            for b in range(last + 1):
                write(s, b, b, [(b, 0, str(b)), (b, 1, str(2**200 + b))])
            writing.clear()

        def reader(name):
            while True:
                done = not writing.is_set()
                ((checkpoint, blocks, txs, value),) = s.sql(
                    "SELECT (SELECT last_block FROM sync_state), (SELECT count(*) FROM blocks), "
                    "(SELECT count(*) FROM transactions), "
                    "(SELECT CAST(sum(value) AS VARCHAR) FROM transactions)"
                )
                if checkpoint is not None:
                    n = checkpoint + 1
                    assert (blocks, txs) == (n, 2 * n)
                    assert int(value) == sum(range(n)) + n * 2**200 + sum(range(n))
                    seen[name].append(checkpoint)
                if done:
                    return

        _in_threads(writer, lambda: reader("a"), lambda: reader("b"))
        for checkpoints in seen.values():
            assert checkpoints == sorted(checkpoints) and checkpoints[-1] == last


def test_close_closes_every_cursor_and_interrupts_a_read(tmp_path):
    """Closing the Store closes each thread's cursor (a query still running on one is
    interrupted: its reader gets a StoreError) and the connection: another process can then
    open the file for writing."""
    import subprocess
    import sys

    db = tmp_path / "i.duckdb"
    s = Store(db)
    write(s, 0, 0)
    reading = threading.Event()
    outcome: list[BaseException] = []
    cursors = []

    def reader():
        cursors.append(s._cursor())
        reading.set()
        try:  # 10^12 rows: runs until interrupted
            s.sql("SELECT sum(a.range * b.range) FROM range(1000000) a, range(1000000) b")
        except StoreError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    assert reading.wait(10)
    idle = s._cursor()  # this thread's cursor, not in use
    threading.Event().wait(0.2)  # let the reader start its query (either way it must end)
    s.close()
    thread.join(30)
    assert not thread.is_alive() and len(outcome) == 1
    for cursor in (*cursors, idle):
        with pytest.raises(Exception, match="closed"):
            cursor.execute("SELECT 1")
    with pytest.raises(StoreError):
        s.sql("SELECT 1")
    s.close()  # idempotent
    opened = subprocess.run(
        [sys.executable, "-c", f"import duckdb; duckdb.connect({str(db)!r}).close()"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert opened.returncode == 0, opened.stderr
