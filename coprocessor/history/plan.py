"""Which batches the accumulator still needs, from the index's block range and the proven
state: forward from the latest block proven to the index's last block, backward from the
earliest block proven toward the index's first block (or toward a given floor). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from coprocessor.errors import InvalidArgument
from coprocessor.history.journal import HistoryJournal

MODE_NEW, MODE_FORWARD, MODE_BACKWARD = 0, 1, 2
DEFAULT_BATCH = 1024


@dataclass(frozen=True)
class Batch:
    """Blocks first..last (ascending) proven in one step of `mode`."""

    mode: int
    first: int
    last: int

    @property
    def size(self) -> int:
        return self.last - self.first + 1


@dataclass(frozen=True)
class Span:
    """The blocks the accumulator covers (or will cover)."""

    earliest: int
    latest: int


def plan_batches(
    index_first: int,
    index_last: int,
    state: HistoryJournal | None,
    *,
    batch: int = DEFAULT_BATCH,
    backward: bool = False,
    origin: int | None = None,
) -> list[Batch]:
    """The pending batches, in proving order. Without a state the first is a mode-0 batch at
    `origin` (default: the index's first block, or its last batch with `backward`). Forward batches
    end at the index's last block (the last may be short); `backward` ones go down to the
    index's first block instead."""
    if not isinstance(batch, int) or batch < 1:
        raise InvalidArgument(f"batch must be a positive int, got {batch!r}")
    if index_first > index_last:
        return []
    batches: list[Batch] = []
    if state is None:
        if origin is None:
            start = max(index_first, index_last - batch + 1) if backward else index_first
        elif not index_first <= origin <= index_last:
            raise InvalidArgument(
                f"origin {origin} is outside the index's blocks {index_first}..{index_last}"
            )
        else:
            start = origin
        last = min(start + batch - 1, index_last)
        batches.append(Batch(MODE_NEW, start, last))
        span = Span(start, last)
    else:
        if origin is not None and origin != state.origin:
            raise InvalidArgument(
                f"the accumulator's origin is {state.origin}: --origin {origin} cannot change it"
            )
        span = Span(state.earliest, state.latest)
    if backward:
        last = span.earliest - 1
        while last >= index_first:
            first = max(index_first, last - batch + 1)
            batches.append(Batch(MODE_BACKWARD, first, last))
            last = first - 1
    else:
        first = span.latest + 1
        while first <= index_last:
            last = min(first + batch - 1, index_last)
            batches.append(Batch(MODE_FORWARD, first, last))
            first = last + 1
    return batches


__all__ = ["DEFAULT_BATCH", "MODE_BACKWARD", "MODE_FORWARD", "MODE_NEW", "Batch", "plan_batches"]
