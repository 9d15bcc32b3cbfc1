"""coprocessor.ffi, the one module that loads the native library: its status map and its
raw calls through the real library (the zkVM calls are exercised by test_zkvm.py)."""

import pytest

from coprocessor import errors, ethcore, ffi


def test_every_error_status_maps_into_the_exception_tree():
    assert ffi.STATUS_OK not in ffi.ERRORS_BY_STATUS
    assert ffi.STATUS_DECLINED not in ffi.ERRORS_BY_STATUS  # a decline is not an error
    for status, error in ffi.ERRORS_BY_STATUS.items():
        assert issubclass(error, errors.CoprocessorError), status


def test_library_path_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(ffi.LIBRARY_ENV, str(tmp_path / "lib.so"))
    assert ffi.native_library_path() == tmp_path / "lib.so"
    monkeypatch.delenv(ffi.LIBRARY_ENV)
    assert ffi.native_library_path() == ffi.REPO_ROOT / "build" / "lib" / "librisc0_py.so"


@pytest.mark.parametrize("value", ["text", None, 7, [1, 2]])
def test_only_buffers_cross_the_boundary(value):
    with pytest.raises(errors.InvalidArgument, match="command must be bytes"):
        ffi.run_ethcore(value)


def test_any_buffer_type_is_accepted():
    command = ethcore.command(ethcore.ORDERED_TRIE_ROOT, [])
    root = ffi.run_ethcore(command)
    assert ffi.run_ethcore(bytearray(command)) == ffi.run_ethcore(memoryview(command)) == root


def test_a_failed_check_raises_its_mapped_error():
    with pytest.raises(errors.EthDataError):
        ffi.run_ethcore(b"\xc2\x80\x80")  # command 0: no such ethcore op


def test_ingest_blocks_declines_with_none_and_raises_for_a_bad_spec():
    spec = ethcore.command(0, [0], [1])
    assert ffi.run_ingest_blocks(b"not json", spec) is None
    assert ffi.run_ingest_blocks(b"[]", spec) is None  # no result for the block: declined
    with pytest.raises(errors.InvalidArgument, match="bad spec"):
        ffi.run_ingest_blocks(b"[]", b"\x01")


def test_receipt_kinds_are_named_both_ways():
    assert {ffi.RECEIPT_KIND_CODES[n]: n for n in ffi.RECEIPT_KIND_CODES} == ffi.RECEIPT_KIND_NAMES


@pytest.mark.parametrize("items", [[], [b""], [b"a", b"", b"bc" * 300]])
def test_framed_lists_round_trip(items):
    framed = ffi.join_frames(items)
    assert len(framed) == 4 * len(items) + sum(map(len, items))
    assert ffi.split_frames(framed) == items


def test_truncated_framed_list_is_an_internal_error():
    with pytest.raises(errors.InternalError, match="truncated"):
        ffi.split_frames(ffi.join_frames([b"abc"])[:-1])


def test_undecodable_assumption_receipts_are_refused_by_the_library():
    blob = b"not a program: the assumptions are decoded first"
    with pytest.raises(errors.ProgramError):
        ffi.execute(blob, b"", segment_po2=0, max_cycles=0, assumptions=[])
    with pytest.raises(errors.ReceiptFormatError, match="assumption receipt 0"):
        ffi.execute(blob, b"", segment_po2=0, max_cycles=0, assumptions=[b"junk"])
