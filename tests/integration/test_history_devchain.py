"""The block-hash accumulator on a devchain of a few hundred blocks: `history prove --dev`
forward from an origin in the middle, then backward to genesis, resumable; the final peaks
equal the MMR of the node's own block hashes; inclusion proofs from the index verify; and the
history guest (executor) fails on a side-fork header, a skipped block, a stale previous
journal, a previous journal of another selfImageId, or a previous journal without its
receipt. One small real proof with composition is marked slow."""

from __future__ import annotations

import json

import pytest
import rlp
from eth_hash.auto import keccak
from typer.testing import CliRunner

from coprocessor import zkvm
from coprocessor.cli import app
from coprocessor.devchain import Anvil
from coprocessor.errors import ConfigError, EthDataError, ExecutionError
from coprocessor.history import (
    MODE_BACKWARD,
    MODE_FORWARD,
    MODE_NEW,
    Batch,
    HistoryProver,
    StepLog,
    block_inclusion,
    decode_history_journal,
    default_path,
    guest_input,
)
from coprocessor.history.prover import batch_headers
from coprocessor.indexer import Indexer
from coprocessor.store import Store

from support.mmr_reference import peaks as ref_peaks

BLOCKS = 300
ORIGIN = 150
runner = CliRunner()


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """(node block hashes by number, index path) of a devchain of BLOCKS mined blocks."""
    db = tmp_path_factory.mktemp("history") / "index.duckdb"
    with Anvil() as anvil, anvil.client() as client:
        client.call("anvil_mine", [hex(BLOCKS)])
        hashes = {n: bytes.fromhex(client.get_block(n)["hash"][2:]) for n in range(BLOCKS + 1)}
        with Store(db) as store:
            Indexer(client, store).run(first=0)
    return hashes, db


@pytest.fixture(scope="module")
def history():
    return zkvm.Program.load("history")


def prove_cli(db, *args) -> dict:
    r = runner.invoke(
        app, ["history", "prove", "--db", str(db), "--dev", "--batch", "64", "--json", *args]
    )
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def status_cli(db) -> dict:
    r = runner.invoke(app, ["history", "status", "--db", str(db), "--batch", "64", "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_prove_forward_then_backward_matches_the_node(chain):
    hashes, db = chain
    assert status_cli(db)["state"] is None
    # one batch, then resume: the rest of the way forward
    first = prove_cli(db, "--origin", str(ORIGIN), "--max-batches", "1")
    assert first["proven_batches"] == 1 and first["state"]["latest"] == ORIGIN + 63
    rest = prove_cli(db)
    assert rest["proven_batches"] == 2 and rest["state"]["latest"] == BLOCKS
    assert status_cli(db)["pending"]["backward_headers"] == ORIGIN
    back = prove_cli(db, "--backward")
    assert back["proven_batches"] == 3 and back["state"]["earliest"] == 0
    status = status_cli(db)
    assert status["pending"] == {
        "forward_batches": 0,
        "forward_headers": 0,
        "backward_batches": 0,
        "backward_headers": 0,
    }
    assert status["state"]["steps"] == 6 and status["state"]["dev"] is True
    with StepLog(default_path(db)) as log:
        state = log.last().journal
    forward = [hashes[n] for n in range(ORIGIN, BLOCKS + 1)]
    backward = [hashes[n] for n in range(ORIGIN - 1, -1, -1)]
    assert list(state.forward.peaks) == ref_peaks(forward)
    assert list(state.backward.peaks) == ref_peaks(backward)
    assert state.latest_hash == hashes[BLOCKS] and state.earliest_parent_hash == bytes(32)
    assert status["state"]["history_root"] == "0x" + state.history_root.hex()
    with Store(db, read_only=True) as store:
        for number in (0, 1, ORIGIN - 1, ORIGIN, ORIGIN + 1, 200, BLOCKS):
            proof = block_inclusion(store, state, number)
            assert proof.hash == hashes[number] and proof.backward == (number < ORIGIN)
            forged = type(proof)(**{**proof.__dict__, "hash": hashes[(number + 1) % BLOCKS]})
            with pytest.raises(EthDataError):
                forged.verify()
    r = runner.invoke(app, ["history", "status", "--db", str(db)])
    assert r.exit_code == 0 and "history_root" in r.stdout


def test_a_dev_step_log_is_not_extended_by_real_proofs(chain, tmp_path):
    _, db = chain
    with Store(db, read_only=True) as store, StepLog(tmp_path / "steps.sqlite") as log:
        HistoryProver(store, log, dev=True).prove_batch(Batch(MODE_NEW, 10, 12))
        real = HistoryProver(store, log, dev=False)
        with pytest.raises(ConfigError, match="dev"):
            real.prove_batch(Batch(MODE_FORWARD, 13, 14))
        assert log.count() == 1


def test_an_interrupted_run_resumes_from_the_last_recorded_step(chain, tmp_path, monkeypatch):
    hashes, db = chain
    real_prove, calls = zkvm.prove, []

    def dying_prove(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the process dies while proving the second batch
        return real_prove(*args, **kwargs)

    with Store(db, read_only=True) as store, StepLog(tmp_path / "steps.sqlite") as log:
        prover = HistoryProver(store, log, dev=True)
        monkeypatch.setattr(zkvm, "prove", dying_prove)
        with pytest.raises(KeyboardInterrupt):
            prover.prove_pending(batch=100, origin=50)
        assert log.count() == 1 and log.last().journal.latest == 149
        monkeypatch.setattr(zkvm, "prove", real_prove)
        assert [b.first for b in prover.pending(batch=100)] == [150, 250]
        prover.prove_pending(batch=100)
        state = log.last().journal
    assert state.forward.peaks == tuple(ref_peaks([hashes[n] for n in range(50, BLOCKS + 1)]))


# ------------------------------------------------------------------ the guest refuses


@pytest.fixture(scope="module")
def base(chain, history, tmp_path_factory):
    """Two dev steps over blocks 100..119 and 120..139: (store headers, receipts)."""
    _, db = chain
    with Store(db, read_only=True) as store:
        headers = {n: h for n, h in zip(range(90, 160), batch_headers(store, Batch(1, 90, 159)))}
    image = history.image_id
    step0 = zkvm.prove(
        history,
        guest_input(image, 31337, MODE_NEW, b"", [headers[n] for n in range(100, 120)]),
        dev=True,
    )
    step1 = zkvm.prove(
        history,
        guest_input(
            image, 31337, MODE_FORWARD, step0.journal, [headers[n] for n in range(120, 140)]
        ),
        dev=True,
        assumptions=[step0],
    )
    return headers, step0, step1


def run(history, mode, previous, headers, *, image=None, assumptions=()):
    data = guest_input(image or history.image_id, 31337, mode, previous, headers)
    return zkvm.execute(history, data, assumptions=assumptions)


def test_the_guest_accepts_the_honest_steps(base, history):
    headers, step0, step1 = base
    execution = run(
        history,
        MODE_FORWARD,
        step1.journal,
        [headers[n] for n in range(140, 160)],
        assumptions=[step1],
    )
    journal = decode_history_journal(execution.journal)
    assert (journal.origin, journal.latest, journal.forward.size) == (100, 159, 60)
    back = run(
        history,
        MODE_BACKWARD,
        step1.journal,
        [headers[n] for n in range(90, 100)],
        assumptions=[step1],
    )
    assert decode_history_journal(back.journal).earliest == 90


def rlp_hash(header: bytes) -> bytes:
    return keccak(header)


def side_fork(header: bytes) -> bytes:
    """The same block number with other contents (another extraData): a sibling block."""
    fields = rlp.decode(header)
    fields[12] = b"side fork"
    return rlp.encode(fields)


def test_a_side_fork_header_in_a_batch_fails(base, history):
    headers, _, step1 = base
    batch = [headers[n] for n in range(140, 160)]
    batch[5] = side_fork(batch[5])
    with pytest.raises(ExecutionError, match="parent hash"):
        run(history, MODE_FORWARD, step1.journal, batch, assumptions=[step1])
    # a side-fork block last in a batch links (it is a real sibling): the state then ends on a
    # hash the chain does not have (BlockHistory's anchor check refuses it), and the canonical
    # blocks after it do not link to it
    sibling = run(
        history, MODE_FORWARD, step1.journal, [side_fork(headers[140])], assumptions=[step1]
    )
    forked = zkvm.prove(
        history,
        guest_input(
            history.image_id, 31337, MODE_FORWARD, step1.journal, [side_fork(headers[140])]
        ),
        dev=True,
        assumptions=[step1],
    )
    assert forked.journal == sibling.journal
    assert decode_history_journal(forked.journal).latest_hash != rlp_hash(headers[140])
    with pytest.raises(ExecutionError, match="does not link"):
        run(
            history,
            MODE_FORWARD,
            forked.journal,
            [headers[n] for n in range(141, 150)],
            assumptions=[forked],
        )


def test_a_skipped_block_fails(base, history):
    headers, _, step1 = base
    batch = [headers[n] for n in range(140, 160) if n != 150]
    with pytest.raises(ExecutionError, match="number is not previous"):
        run(history, MODE_FORWARD, step1.journal, batch, assumptions=[step1])
    with pytest.raises(ExecutionError, match="does not start after latest"):
        run(
            history,
            MODE_FORWARD,
            step1.journal,
            [headers[n] for n in range(141, 160)],
            assumptions=[step1],
        )


def test_a_stale_previous_journal_fails(base, history):
    """step0 ends at 119: a batch from 140 on top of it (as if step1 were not there) fails."""
    headers, step0, _ = base
    with pytest.raises(ExecutionError, match="does not start after latest"):
        run(
            history,
            MODE_FORWARD,
            step0.journal,
            [headers[n] for n in range(140, 160)],
            assumptions=[step0],
        )


def test_a_previous_journal_of_another_self_image_fails(base, history):
    """A receipt of the history guest whose journal names another selfImageId (it was given a
    wrong one): the next step refuses it, so a chain of compositions is one image throughout."""
    headers, _, _ = base
    wrong = bytes(32)
    forged = zkvm.prove(
        history,
        guest_input(wrong, 31337, MODE_NEW, b"", [headers[n] for n in range(100, 120)]),
        dev=True,
    )
    with pytest.raises(ExecutionError, match="another image"):
        run(
            history,
            MODE_FORWARD,
            forged.journal,
            [headers[n] for n in range(120, 140)],
            assumptions=[forged],
        )


def test_a_previous_journal_without_its_receipt_fails(base, history):
    """The journal is right but no receipt proves it: env::verify finds nothing to resolve."""
    headers, step0, _ = base
    with pytest.raises(ExecutionError):
        run(history, MODE_FORWARD, step0.journal, [headers[n] for n in range(120, 140)])


def test_cycles_per_header(base, history):
    headers, _, step1 = base
    small = run(
        history,
        MODE_FORWARD,
        step1.journal,
        [headers[n] for n in range(140, 145)],
        assumptions=[step1],
    )
    large = run(
        history,
        MODE_FORWARD,
        step1.journal,
        [headers[n] for n in range(140, 160)],
        assumptions=[step1],
    )
    per_header = (large.user_cycles - small.user_cycles) / 15
    print(
        f"history guest: {per_header:,.0f} user cycles per header "
        f"({large.user_cycles:,} for 20 headers)"
    )
    assert 0 < per_header < 40_000


@pytest.mark.slow
@pytest.mark.heavy  # two real succinct proofs: make test-heavy
def test_real_proof_with_composition(base, history):
    """Two real succinct receipts, the second composing the first; both verify with dev mode
    off, and the second's journal covers both batches."""
    headers, _, _ = base
    image = history.image_id
    first = zkvm.prove(
        history,
        guest_input(image, 31337, MODE_NEW, b"", [headers[100], headers[101]]),
        kind="succinct",
        keccak_po2=14,
    )
    zkvm.verify(first, image)
    second = zkvm.prove(
        history,
        guest_input(image, 31337, MODE_FORWARD, first.journal, [headers[102], headers[103]]),
        kind="succinct",
        keccak_po2=14,
        assumptions=[first],
    )
    journal = decode_history_journal(zkvm.verify(second, image))
    assert (journal.origin, journal.latest, journal.forward.size) == (100, 103, 4)
    print(f"real proofs: {first.stats.seconds:.1f} s and {second.stats.seconds:.1f} s")
