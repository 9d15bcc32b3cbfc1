"""The block-hash accumulator (issue 13, layer 2; notes/HISTORY_DESIGN.md): keccak MMRs of
block hashes proven batch by batch by the `history` guest, each receipt composing the one
before it, so one receipt attests every block hash from the earliest to the latest.

- `journal`: the guest's ABI journal and the state's roots (historyRoot).
- `plan`: which batches are pending, forward to the index's last block or backward.
- `prover`: a batch's guest input, its proof (previous receipt as assumption), its record.
- `steps`: the durable record of proven steps (SQLite WAL next to the index).
- `proofs`: inclusion proofs of block hashes from the index.

The MMR itself is `ethcore::mmr` (Rust), reached through `coprocessor.ethcore`.
"""

from coprocessor.history.journal import HistoryJournal, decode_history_journal
from coprocessor.history.plan import (
    DEFAULT_BATCH,
    MODE_BACKWARD,
    MODE_FORWARD,
    MODE_NEW,
    Batch,
    plan_batches,
)
from coprocessor.history.proofs import BlockInclusion, block_inclusion
from coprocessor.history.prover import HISTORY_GUEST, HistoryProver, guest_input
from coprocessor.history.steps import Step, StepLog, default_path

__all__ = [
    "DEFAULT_BATCH",
    "HISTORY_GUEST",
    "MODE_BACKWARD",
    "MODE_FORWARD",
    "MODE_NEW",
    "Batch",
    "BlockInclusion",
    "HistoryJournal",
    "HistoryProver",
    "Step",
    "StepLog",
    "block_inclusion",
    "decode_history_journal",
    "default_path",
    "guest_input",
    "plan_batches",
]
