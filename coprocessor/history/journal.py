"""The history guest's journal (notes/HISTORY_DESIGN.md): one flat `abi.encode` tuple, decoded
here exactly as `ethcore::mmr::HistoryState::decode` decodes it in Rust and BlockHistory.sol
on chain, and the state's roots (mmrRoot of each MMR, historyRoot).

Strict: the bytes must be the canonical encoding of the decoded fields (eth_abi alone accepts
trailing bytes and odd offsets), version 1, every number within 64 bits, and the sizes must
agree with the range (forwardSize = latest - origin + 1, backwardSize = origin - earliest,
one peak per set bit of each size).
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_abi.exceptions import DecodingError
from eth_hash.auto import keccak

from coprocessor import ethcore
from coprocessor.errors import ReceiptFormatError

HISTORY_JOURNAL_VERSION = 1
JOURNAL_TYPES = [
    "uint256",  # version
    "bytes32",  # selfImageId
    "uint256",  # chainId
    "uint256",  # earliest
    "bytes32",  # earliestParentHash
    "uint256",  # origin
    "uint256",  # latest
    "bytes32",  # latestHash
    "uint256",  # forwardSize
    "bytes32[]",  # forwardPeaks
    "uint256",  # backwardSize
    "bytes32[]",  # backwardPeaks
]
ROOT_TYPES = [
    "uint256",
    "uint256",
    "bytes32",
    "uint256",
    "uint256",
    "bytes32",
    "bytes32",
    "bytes32",
]
MAX_NUMBER = 2**64 - 1


@dataclass(frozen=True)
class HistoryJournal:
    """The accumulator's state over blocks [earliest, latest], split at `origin` into the
    forward MMR (blocks origin..latest, ascending) and the backward MMR (origin-1 down to
    earliest)."""

    self_image_id: bytes
    chain_id: int
    earliest: int
    earliest_parent_hash: bytes
    origin: int
    latest: int
    latest_hash: bytes
    forward: ethcore.MmrPeaks
    backward: ethcore.MmrPeaks

    def encode(self) -> bytes:
        return abi_encode(JOURNAL_TYPES, self._fields())

    def _fields(self) -> list:
        return [
            HISTORY_JOURNAL_VERSION,
            self.self_image_id,
            self.chain_id,
            self.earliest,
            self.earliest_parent_hash,
            self.origin,
            self.latest,
            self.latest_hash,
            self.forward.size,
            list(self.forward.peaks),
            self.backward.size,
            list(self.backward.peaks),
        ]

    @property
    def forward_root(self) -> bytes:
        return ethcore.mmr_root(self.forward)

    @property
    def backward_root(self) -> bytes:
        return ethcore.mmr_root(self.backward)

    @property
    def history_root(self) -> bytes:
        """keccak256(abi.encode(chainId, earliest, earliestParentHash, origin, latest,
        latestHash, forwardRoot, backwardRoot)): what BlockHistory records as known."""
        return keccak(
            abi_encode(
                ROOT_TYPES,
                [
                    self.chain_id,
                    self.earliest,
                    self.earliest_parent_hash,
                    self.origin,
                    self.latest,
                    self.latest_hash,
                    self.forward_root,
                    self.backward_root,
                ],
            )
        )

    def covers(self, number: int) -> bool:
        return self.earliest <= number <= self.latest


def decode_history_journal(data: bytes) -> HistoryJournal:
    """The journal's fields; ReceiptFormatError unless `data` is a canonical, consistent
    version-1 history journal."""
    data = bytes(data)
    try:
        fields = abi_decode(JOURNAL_TYPES, data)
    except (DecodingError, ValueError, TypeError) as exc:
        raise ReceiptFormatError(f"not a history journal: {exc}") from exc
    version, image_id, chain_id, earliest, parent, origin, latest, latest_hash = fields[:8]
    forward_size, forward_peaks, backward_size, backward_peaks = fields[8:]
    if version != HISTORY_JOURNAL_VERSION:
        raise ReceiptFormatError(f"history journal version is {version}, not 1")
    numbers = (chain_id, earliest, origin, latest, forward_size, backward_size)
    if any(n > MAX_NUMBER for n in numbers):
        raise ReceiptFormatError("history journal number exceeds 64 bits")
    journal = HistoryJournal(
        self_image_id=image_id,
        chain_id=chain_id,
        earliest=earliest,
        earliest_parent_hash=parent,
        origin=origin,
        latest=latest,
        latest_hash=latest_hash,
        forward=ethcore.MmrPeaks(forward_size, tuple(forward_peaks)),
        backward=ethcore.MmrPeaks(backward_size, tuple(backward_peaks)),
    )
    if journal.encode() != data:
        raise ReceiptFormatError("history journal is not canonical")
    for mmr in (journal.forward, journal.backward):
        if len(mmr.peaks) != mmr.size.bit_count():
            raise ReceiptFormatError("history journal peak count differs from its size's bits")
    if latest < origin or forward_size != latest - origin + 1 or backward_size != origin - earliest:
        raise ReceiptFormatError("history journal sizes differ from its range")
    return journal


__all__ = [
    "HISTORY_JOURNAL_VERSION",
    "JOURNAL_TYPES",
    "HistoryJournal",
    "decode_history_journal",
]
