"""Domain values shared by every layer (layer 0: imports nothing of ours but errors)."""

from __future__ import annotations

from dataclasses import dataclass

from coprocessor.errors import InvalidArgument

UINT256_MAX = 2**256 - 1


def hex_bytes(value: str | None) -> bytes:
    """Bytes of a 0x-prefixed hex string as JSON-RPC sends it (None and "0x" give b"")."""
    if not value:
        return b""
    try:
        return bytes.fromhex(value[2:] if value[:2] in ("0x", "0X") else value)
    except (ValueError, TypeError) as exc:
        raise InvalidArgument(f"not hex bytes: {value!r:.80}") from exc


def hex_int(value: str | int | None) -> int:
    """Integer of a JSON-RPC quantity ("0x1a"); None gives 0."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    try:
        return int(value, 16)
    except (ValueError, TypeError) as exc:
        raise InvalidArgument(f"not a hex quantity: {value!r:.80}") from exc


def to_hex(value: bytes | int) -> str:
    if isinstance(value, int):
        return hex(value)
    return "0x" + value.hex()


def parse_address(value: str) -> bytes:
    raw = hex_bytes(value)
    if len(raw) != 20:
        raise InvalidArgument(f"an address is 20 bytes, got {value!r}")
    return raw


def parse_slot(value: str | int) -> bytes:
    """A storage slot as 32 big-endian bytes, from a decimal/hex integer or 32-byte hex."""
    if isinstance(value, int):
        n = value
    elif value.startswith(("0x", "0X")):
        n = int(value, 16)
    else:
        n = int(value)
    if not 0 <= n <= UINT256_MAX:
        raise InvalidArgument(f"slot out of range: {value!r}")
    return n.to_bytes(32, "big")


@dataclass(frozen=True)
class Tracked:
    """An address whose account (and some of whose storage slots) is indexed each block."""

    address: bytes
    slots: tuple[bytes, ...] = ()

    @classmethod
    def parse(cls, spec: str) -> Tracked:
        """`0xADDR` or `0xADDR:slot,slot` (slots decimal, 0x-hex or 32-byte hex)."""
        addr, _, slots = spec.partition(":")
        return cls(
            parse_address(addr.strip()),
            tuple(parse_slot(s.strip()) for s in slots.split(",") if s.strip()),
        )
