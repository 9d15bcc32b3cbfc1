"""Structured log lines of the relayer: one event name, then key=value fields.

    relayer.skip query_id=0x12… reason=already_fulfilled status=Fulfilled

Each record also carries `event` and `fields` attributes (logging's `extra`), so a handler
can act on the event without parsing the message.
"""

from __future__ import annotations

import logging

LOGGER = logging.getLogger("coprocessor.relayer")


def _format_value(value: object) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    text = str(value)
    return f'"{text}"' if (" " in text or not text) else text


def log_event(event: str, *, level: int = logging.INFO, **fields: object) -> None:
    """Logs `event key=value ...` with `event` and `fields` attached to the record."""
    parts = [event, *(f"{key}={_format_value(value)}" for key, value in fields.items())]
    LOGGER.log(level, " ".join(parts), extra={"event": event, "fields": fields})
