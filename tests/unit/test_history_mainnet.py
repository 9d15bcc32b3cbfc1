"""Mainnet conformance of the block-hash accumulator: the history step (the guest's code, run
natively) over runs of consecutive mainnet headers (1000001-1000010, Frontier era; and
22431080-22431090, across the Cancun -> Prague fork) gives the MMR an independent computation
from the definition gives; a header from another run or a skipped block is refused."""

from __future__ import annotations

import pytest
from eth_hash.auto import keccak

from coprocessor import ethcore
from coprocessor.errors import EthDataError
from coprocessor.history import (
    MODE_BACKWARD,
    MODE_FORWARD,
    MODE_NEW,
    decode_history_journal,
    guest_input,
)
from coprocessor.indexer.encode import header_rlp

from support import mainnet
from support.mmr_reference import peaks as ref_peaks
from support.mmr_reference import root as ref_root

IMAGE = b"\x42" * 32
RUNS = {"frontier": range(1000001, 1000011), "cancun-prague": range(22431080, 22431091)}


def run_headers(name: str) -> list[tuple[bytes, bytes]]:
    """(raw header, stated hash) of a run, checked against each other."""
    folder = mainnet.require()
    out = []
    for number in RUNS[name]:
        if (folder / "headers_rlp" / f"{number}.json").exists():
            data = mainnet.load(folder / "headers_rlp" / f"{number}.json")
            raw = mainnet.hexbytes(data["rlp"])
        else:
            data = mainnet.load(folder / "headers" / f"{number}.json")
            raw = header_rlp(data)
        stated = mainnet.hexbytes(data["hash"])
        assert keccak(raw) == stated, f"fixture {number}: header does not hash to its hash"
        out.append((raw, stated))
    return out


def step(mode: int, previous: bytes, headers: list[bytes]) -> bytes:
    return ethcore.history_step(guest_input(IMAGE, 1, mode, previous, headers))


@pytest.mark.parametrize("name", sorted(RUNS))
def test_new_accumulator_matches_the_definition(name):
    headers = run_headers(name)
    raws, hashes = [raw for raw, _ in headers], [h for _, h in headers]
    journal = decode_history_journal(step(MODE_NEW, b"", raws))
    first, last = RUNS[name][0], RUNS[name][-1]
    assert (journal.origin, journal.earliest, journal.latest) == (first, first, last)
    assert journal.latest_hash == hashes[-1]
    assert journal.earliest_parent_hash == mainnet.header_fields(raws[0])[0]
    assert journal.forward == ethcore.MmrPeaks(len(hashes), tuple(ref_peaks(hashes)))
    assert journal.forward_root == ref_root(len(hashes), ref_peaks(hashes))
    assert journal.backward == ethcore.MmrPeaks(0, ())


@pytest.mark.parametrize("name", sorted(RUNS))
def test_forward_and_backward_steps_match_the_definition(name):
    headers = run_headers(name)
    raws, hashes = [raw for raw, _ in headers], [h for _, h in headers]
    middle = len(raws) // 2
    # origin in the middle: forward over the second half in two steps, then backward
    state = step(MODE_NEW, b"", raws[middle : middle + 2])
    state = step(MODE_FORWARD, state, raws[middle + 2 :])
    state = step(MODE_BACKWARD, state, raws[1:middle])
    state = step(MODE_BACKWARD, state, raws[:1])
    journal = decode_history_journal(state)
    forward, backward = hashes[middle:], hashes[:middle][::-1]
    assert journal.forward == ethcore.MmrPeaks(len(forward), tuple(ref_peaks(forward)))
    assert journal.backward == ethcore.MmrPeaks(len(backward), tuple(ref_peaks(backward)))
    assert (journal.earliest, journal.origin, journal.latest) == (
        RUNS[name][0],
        RUNS[name][middle],
        RUNS[name][-1],
    )
    assert journal.earliest_parent_hash == mainnet.header_fields(raws[0])[0]
    # every block of the run has an inclusion proof against the final state
    for number, block_hash in zip(RUNS[name], hashes):
        backward_side = number < journal.origin
        leaves = backward if backward_side else forward
        index = journal.origin - 1 - number if backward_side else number - journal.origin
        proof = ethcore.mmr_proof(leaves, index)
        mmr = journal.backward if backward_side else journal.forward
        ethcore.mmr_verify(ethcore.mmr_root(mmr), mmr.size, index, block_hash, proof)


def test_a_header_from_another_run_is_refused():
    frontier = [raw for raw, _ in run_headers("frontier")]
    other = [raw for raw, _ in run_headers("cancun-prague")]
    with pytest.raises(EthDataError, match="parent hash|number"):
        step(MODE_NEW, b"", frontier[:4] + other[4:5] + frontier[5:])
    with pytest.raises(EthDataError):
        step(MODE_NEW, b"", frontier + other[:1])


def test_a_skipped_block_is_refused():
    headers = [raw for raw, _ in run_headers("cancun-prague")]
    with pytest.raises(EthDataError, match="number is not previous"):
        step(MODE_NEW, b"", headers[:3] + headers[4:])
    state = step(MODE_NEW, b"", headers[:3])
    with pytest.raises(EthDataError, match="does not start after latest"):
        step(MODE_FORWARD, state, headers[4:])
    state = step(MODE_NEW, b"", headers[5:])
    with pytest.raises(EthDataError, match="does not end before earliest"):
        step(MODE_BACKWARD, state, headers[:4])


def test_a_batch_that_does_not_link_to_the_state_is_refused():
    """The right numbers but a header from the other run at the seam: the link fails."""
    headers = [raw for raw, _ in run_headers("cancun-prague")]
    state = step(MODE_NEW, b"", headers[:3])
    with pytest.raises(EthDataError):
        step(MODE_BACKWARD, state, headers[3:5])
    other_chain = ethcore.history_step(guest_input(IMAGE, 5, MODE_NEW, b"", headers[:3]))
    with pytest.raises(EthDataError, match="another chain"):
        step(MODE_FORWARD, other_chain, headers[3:])
    other_image = ethcore.history_step(guest_input(b"\x43" * 32, 1, MODE_NEW, b"", headers[:3]))
    with pytest.raises(EthDataError, match="another image"):
        step(MODE_FORWARD, other_image, headers[3:])
