"""Sender recovery in the query guest (secp256k1 on RISC Zero's bigint2 accelerator) against
the native software path (k256, the reference) and the fixtures' `from`.

Every transaction of every mainnet fixture block (types 0-4, legacy with and without EIP-155)
goes through the guest as `SELECT "from" FROM transactions` over a one-block witness; malformed
signatures (r or s zero or >= n, an r that is no curve x, high s where EIP-2 forbids it) must get
the same verdict in the guest as natively. Witnesses: support/transactions_witness.py (the
block's header and transactions, stand-in receipts; only senders are checked here).

Executor only (no proofs).
"""

from __future__ import annotations

import pytest
import rlp

from coprocessor import zkvm
from coprocessor.compiler import native
from coprocessor.compiler.journal import decode_journal
from coprocessor.errors import CoprocessorError, ExecutionError
from coprocessor.indexer.encode import raw_transaction

from support import mainnet
from support.transactions_witness import query_input

HOMESTEAD = 1_150_000  # first block where EIP-2 (low s) applies to every signature
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@pytest.fixture(scope="module")
def guest():
    return zkvm.Program.load("query")


@pytest.fixture(scope="module")
def blocks() -> list[dict]:
    mainnet.require()
    return [mainnet.load(p) for p in mainnet.files("blocks")]


SENDERS = 'SELECT "from" FROM transactions WHERE block_number = {n}'
COUNT_SENDERS = 'SELECT COUNT(DISTINCT "from") FROM transactions WHERE block_number = {n}'
COUNT_TXS = "SELECT COUNT(*) FROM transactions WHERE block_number = {n}"


def senders_in_guest_and_natively(guest, block, raw_txs, number=None):
    """The `from` column from the guest and from the native run, or the errors they raise."""
    q, data = query_input(block, raw_txs, SENDERS, number)
    try:
        in_guest = decode_journal(zkvm.execute(guest, data).journal, q.plan.output_types).rows
    except ExecutionError as exc:
        in_guest = exc
    try:
        natively = decode_journal(native.run(data), q.plan.output_types).rows
    except CoprocessorError as exc:
        natively = exc
    return in_guest, natively


def test_every_fixture_sender_matches_software_and_json(guest, blocks):
    types: dict[int, int] = {}
    legacy = {"eip155": 0, "pre155": 0}
    for block in blocks:
        txs = block["transactions"]
        raw = [raw_transaction(t) for t in txs]
        in_guest, natively = senders_in_guest_and_natively(guest, block, raw)
        expected = [(mainnet.hexbytes(t["from"]),) for t in txs]
        assert natively == expected, f"block {block['number']}: native"
        assert in_guest == natively, f"block {block['number']}: guest"
        for t in txs:
            kind = mainnet.hexint(t.get("type"))
            types[kind] = types.get(kind, 0) + 1
            if kind == 0:
                legacy["eip155" if mainnet.hexint(t["v"]) >= 35 else "pre155"] += 1
    assert sorted(types) == [0, 1, 2, 3, 4], types
    assert legacy["eip155"] > 0 and legacy["pre155"] > 0, legacy


def test_recovery_runs_on_the_accelerator(guest, blocks):
    """User cycles per recovery (deterministic): about 0.22M on the accelerator, 11M with k256
    in software. A guest built without the accelerator fails here."""
    block = next(b for b in blocks if len(b["transactions"]) >= 10)
    raw = [raw_transaction(t) for t in block["transactions"]]

    def user_cycles(sql: str) -> int:
        _, data = query_input(block, raw, sql)
        return zkvm.execute(guest, data).user_cycles

    per_recovery = (user_cycles(COUNT_SENDERS) - user_cycles(COUNT_TXS)) / len(raw)
    assert 0 < per_recovery < 500_000, per_recovery


# --- malformed signatures: the guest's verdict is the software path's --------------------------


def _with_signature(raw: bytes, *, v=None, r=None, s=None) -> bytes:
    """`raw` with its signature fields (the last three) replaced where given."""
    typed = raw[0] < 0x80
    fields = rlp.decode(raw[1:] if typed else raw)
    for k, value in ((-3, v), (-2, r), (-1, s)):
        if value is not None:
            fields[k] = rlp.sedes.big_endian_int.serialize(value)
    body = rlp.encode(fields)
    return raw[:1] + body if typed else body


def _signature(raw: bytes) -> tuple[int, int, int]:
    fields = rlp.decode(raw[1:] if raw[0] < 0x80 else raw)
    return tuple(int.from_bytes(f, "big") for f in fields[-3:])


@pytest.fixture(scope="module")
def samples(blocks) -> dict[str, tuple[dict, bytes, bytes]]:
    """(block, raw tx, `from`) of one transaction per kind: typed 0x02, legacy with EIP-155,
    legacy without."""
    out = {}
    for block in blocks:
        for t in block["transactions"]:
            kind = mainnet.hexint(t.get("type"))
            v = mainnet.hexint(t["v"])
            name = {0: "legacy-155" if v >= 35 else "legacy-pre155", 2: "type-2"}.get(kind)
            if name and name not in out:
                out[name] = (block, raw_transaction(t), mainnet.hexbytes(t["from"]))
    assert len(out) == 3, sorted(out)
    return out


def _other_parity(raw: bytes) -> int:
    """The v field of `raw` with the other y parity (yParity, 27/28 or EIP-155's 35 + 2c + p)."""
    v, _, _ = _signature(raw)
    if raw[0] < 0x80:
        return v ^ 1
    if v in (27, 28):
        return 55 - v
    return v + 1 if (v - 35) % 2 == 0 else v - 1


def _high_s(raw: bytes) -> bytes:
    """The same signature with s' = n - s and the parity flipped: same key, high s."""
    _, _, s = _signature(raw)
    return _with_signature(raw, v=_other_parity(raw), s=SECP256K1_N - s)


MALFORMED = {
    "r zero": lambda raw: _with_signature(raw, r=0),
    "s zero": lambda raw: _with_signature(raw, s=0),
    "r = n": lambda raw: _with_signature(raw, r=SECP256K1_N),
    "s = n": lambda raw: _with_signature(raw, s=SECP256K1_N),
    "r = 2^256 - 1": lambda raw: _with_signature(raw, r=2**256 - 1),
    "s = 2^256 - 1": lambda raw: _with_signature(raw, s=2**256 - 1),
    "r without a square root": lambda raw: _with_signature(raw, r=5),  # 5³ + 7 is no square
    "high s after Homestead": _high_s,
}


@pytest.mark.parametrize("kind", ["type-2", "legacy-155", "legacy-pre155"])
@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_signature_rejected_like_software(guest, samples, kind, case, capfd):
    block, raw, _ = samples[kind]
    capfd.readouterr()
    in_guest, natively = senders_in_guest_and_natively(guest, block, [MALFORMED[case](raw)])
    assert isinstance(natively, CoprocessorError), natively
    assert str(natively) == "ethereum data: InvalidSignature"
    assert isinstance(in_guest, ExecutionError), in_guest
    # the guest panics with the very error the native run raised
    assert f"query: {natively}" in capfd.readouterr().err


@pytest.mark.parametrize("kind", ["type-2", "legacy-155", "legacy-pre155"])
def test_other_valid_signatures_agree(guest, samples, kind):
    """Signatures that recover some other key (r of another curve point, s - 1, the other
    parity) give the same address in the guest as natively, not the fixture's."""
    block, raw, sender = samples[kind]
    _, _, s = _signature(raw)
    variants = [
        _with_signature(raw, s=s - 1),
        _with_signature(raw, v=_other_parity(raw)),
        _with_signature(raw, r=1),  # x = 1: 1 + 7 = 8 is a square mod p
    ]
    in_guest, natively = senders_in_guest_and_natively(guest, block, variants)
    assert not isinstance(natively, Exception), natively
    assert in_guest == natively
    assert all(row != (sender,) for row in natively)


@pytest.mark.parametrize("kind", ["legacy-pre155", "type-2"])
def test_high_s_accepted_before_homestead(guest, samples, kind):
    """On mainnet before Homestead a high s is valid: the same sender as the low-s original."""
    block, raw, sender = samples[kind]
    frontier = HOMESTEAD - 1
    in_guest, natively = senders_in_guest_and_natively(guest, block, [_high_s(raw)], frontier)
    assert natively == [(sender,)]
    assert in_guest == natively
