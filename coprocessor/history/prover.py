"""Proving the accumulator batch by batch: the history guest's input from the index's raw
headers, the expected journal from the same Rust code run natively (bad index data fails
here, before any proving), the proof with the previous step's receipt as the assumption the
guest verifies (composition), and the step recorded once its receipt verifies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import rlp

from coprocessor import ethcore, zkvm
from coprocessor.errors import ConfigError, IndexIncompleteError, InternalError
from coprocessor.history.journal import decode_history_journal
from coprocessor.history.plan import DEFAULT_BATCH, MODE_NEW, Batch, plan_batches
from coprocessor.history.steps import Step, StepLog
from coprocessor.store import Store

HISTORY_GUEST = "history"
KECCAK_RATE = 136


def guest_input(
    self_image_id: bytes,
    chain_id: int,
    mode: int,
    previous_journal: bytes,
    headers: Sequence[bytes],
) -> bytes:
    """The history guest's input: rlp([selfImageId, chainId, mode, previousJournal,
    [headerRlp, ...]]), headers ascending, previousJournal empty in mode 0."""
    return rlp.encode([self_image_id, chain_id, mode, previous_journal, list(headers)])


def batch_headers(store: Store, batch: Batch) -> list[bytes]:
    """The raw headers of a batch's blocks, ascending; IndexIncompleteError if one is missing."""
    rows = store.sql(
        "SELECT number, header_rlp FROM blocks WHERE number BETWEEN ? AND ? ORDER BY number",
        [batch.first, batch.last],
    )
    if [number for number, _ in rows] != list(range(batch.first, batch.last + 1)):
        raise IndexIncompleteError(
            f"the index lacks headers of blocks {batch.first}..{batch.last}",
            first=batch.first,
            last=batch.last,
        )
    return [bytes(header) for _, header in rows]


def keccak_permutations(headers: Sequence[bytes]) -> int:
    """Keccak-f permutations of one batch: each header's hash, about one MMR node per leaf,
    and the previous journal's state."""
    return sum(len(h) // KECCAK_RATE + 1 for h in headers) + len(headers) + 64


class HistoryProver:
    """Proves the pending batches of one index's accumulator into its step log."""

    def __init__(
        self,
        store: Store,
        log: StepLog,
        *,
        program: zkvm.Program | None = None,
        dev: bool = False,
        kind: str = "succinct",
        segment_po2: int | None = zkvm.DEFAULT_PROVE_SEGMENT_PO2,
    ):
        self.store, self.log, self.dev = store, log, dev
        self.program = program or zkvm.Program.load(HISTORY_GUEST)
        self.kind, self.segment_po2 = kind, segment_po2
        self.chain_id = store.indexed_checkpoint().chain_id

    def pending(
        self, *, batch: int = DEFAULT_BATCH, backward: bool = False, origin: int | None = None
    ) -> list[Batch]:
        checkpoint = self.store.indexed_checkpoint()
        last = self.log.last()
        return plan_batches(
            checkpoint.first_block,
            checkpoint.last_block,
            last.journal if last else None,
            batch=batch,
            backward=backward,
            origin=origin,
        )

    def _previous(self, batch: Batch) -> Step | None:
        previous = self.log.last()
        if (previous is None) != (batch.mode == MODE_NEW):
            raise InternalError(f"batch mode {batch.mode} does not fit the recorded steps")
        if previous is not None:
            if previous.journal.self_image_id != self.program.image_id:
                raise ConfigError(
                    f"{self.log.path} was proven by history image "
                    f"{previous.journal.self_image_id.hex()}, this build's is "
                    f"{self.program.image_id.hex()}: prove into a new file"
                )
            if previous.dev != self.dev:
                setting = "dev (fake) receipts" if previous.dev else "real receipts"
                raise ConfigError(f"{self.log.path} holds {setting}: prove into a new file")
        return previous

    def prove_batch(self, batch: Batch) -> Step:
        """Proves one batch on top of the last recorded step and records it."""
        previous = self._previous(batch)
        headers = batch_headers(self.store, batch)
        data = guest_input(
            self.program.image_id,
            self.chain_id,
            batch.mode,
            previous.receipt.journal if previous else b"",
            headers,
        )
        expected = ethcore.history_step(data)
        receipt = zkvm.prove(
            self.program,
            data,
            kind="succinct" if self.kind == "succinct" else "composite",
            dev=self.dev,
            segment_po2=self.segment_po2,
            keccak_po2=zkvm.keccak_po2_for(keccak_permutations(headers)),
            assumptions=[previous.receipt] if previous else (),
        )
        journal = zkvm.verify(receipt, self.program.image_id, allow_dev=self.dev)
        if journal != expected:
            raise InternalError("the history guest committed another journal than ethcore's")
        return self.log.record(
            mode=batch.mode,
            first_block=batch.first,
            last_block=batch.last,
            image_id=self.program.image_id,
            dev=self.dev,
            receipt=receipt,
            journal=decode_history_journal(journal),
        )

    def prove_pending(
        self,
        *,
        batch: int = DEFAULT_BATCH,
        backward: bool = False,
        origin: int | None = None,
        progress: Callable[[Batch, Step], None] | None = None,
    ) -> list[Step]:
        """Proves every pending batch in order; resumes after the last recorded step."""
        steps = []
        for pending in self.pending(batch=batch, backward=backward, origin=origin):
            step = self.prove_batch(pending)
            steps.append(step)
            if progress is not None:
                progress(pending, step)
        return steps


__all__ = [
    "HISTORY_GUEST",
    "HistoryProver",
    "batch_headers",
    "guest_input",
    "keccak_permutations",
]
