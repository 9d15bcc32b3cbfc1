"""The indexer's native fast path from Python: its column wire format read into Arrow tables,
and `ingest_native`, which turns a batch response into `Rows` when the fast path takes it.

The wire format and the tables it carries are declared once, in Rust
(native/risc0-py/src/ingest/columns.rs and schema.rs). The reader wraps the buffers without
copying and checks every column's name and kind against `coprocessor.store`'s schema;
tests/unit/test_cross_language_constants.py checks the two schema declarations agree.
"""

from __future__ import annotations

import struct

import pyarrow as pa

from coprocessor import ethcore
from coprocessor.errors import InternalError
from coprocessor.indexer.rows import Rows
from coprocessor.store import ARROW_SCHEMAS

# Column kinds of the wire format and the Arrow type their buffers hold.
KIND_UINT64, KIND_BINARY, KIND_TEXT = 0, 1, 2
_ARROW_TYPE_OF_KIND = {KIND_UINT64: pa.uint64(), KIND_BINARY: pa.binary(), KIND_TEXT: pa.string()}


def _padded(size: int) -> int:
    """`size` rounded up to a multiple of 8 (every buffer starts 8-aligned)."""
    return -(-size // 8) * 8


class _WireReader:
    """A cursor over one buffer of the wire format."""

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.view = memoryview(buf)
        self.pos = 0

    def unpack(self, fmt: str) -> tuple:
        values = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return values

    def name(self) -> str:
        (length,) = self.unpack("<H")
        self.pos += length
        return bytes(self.view[self.pos - length : self.pos]).decode()

    def align(self) -> None:
        self.pos = _padded(self.pos)

    def buffer(self, size: int) -> pa.Buffer:
        """The next `size` bytes, wrapped (not copied), then the padding after them."""
        wrapped = pa.py_buffer(self.view[self.pos : self.pos + size])
        self.pos += _padded(size)
        return wrapped


def _kind_fits(kind: int, arrow_type: pa.DataType) -> bool:
    if kind == KIND_UINT64:
        return pa.types.is_unsigned_integer(arrow_type)
    return kind in _ARROW_TYPE_OF_KIND and _ARROW_TYPE_OF_KIND[kind] == arrow_type


def _read_column(reader: _WireReader, table: str, rows: int, field: pa.Field) -> pa.Array:
    name = reader.name()
    kind, has_validity = reader.unpack("<BB")
    reader.align()
    if name != field.name or not _kind_fits(kind, field.type):
        raise InternalError(
            f"native rows: {table} column {name!r} of kind {kind}, expected {field.name!r} "
            f"({field.type})"
        )
    validity = reader.buffer(-(-rows // 8)) if has_validity else None
    if kind == KIND_UINT64:
        array = pa.Array.from_buffers(pa.uint64(), rows, [validity, reader.buffer(rows * 8)])
    else:
        offsets = reader.buffer((rows + 1) * 4)
        (size,) = reader.unpack("<Q")
        buffers = [validity, offsets, reader.buffer(size)]
        array = pa.Array.from_buffers(_ARROW_TYPE_OF_KIND[kind], rows, buffers)
    # u64 values narrow to the store's type; a value out of its range raises
    return array if array.type == field.type else array.cast(field.type)


def tables_from_columns(buf: bytes) -> dict[str, pa.Table]:
    """Arrow tables (store schemas) from the column buffers of `ethcore.ingest_blocks`."""
    reader = _WireReader(buf)
    tables = {}
    (table_count,) = reader.unpack("<I")
    for _ in range(table_count):
        table = reader.name()
        rows, column_count = reader.unpack("<II")
        schema = ARROW_SCHEMAS.get(table)
        if schema is None or column_count != len(schema):
            raise InternalError(f"native rows: table {table!r} with {column_count} columns")
        arrays = [_read_column(reader, table, rows, field) for field in schema]
        tables[table] = pa.Table.from_arrays(arrays, schema=schema)
    return tables


def ingest_native(
    body: bytes | bytearray, first: int, block_ids: list[int], receipt_ids: list[int]
) -> Rows | None:
    """Blocks first.. validated natively from a batch response body (see
    `ethcore.ingest_blocks`); None when the native path declines (the caller then runs
    `ingest_block` on the parsed response, which decides)."""
    buf = ethcore.ingest_blocks(body, first, block_ids, receipt_ids)
    if buf is None:
        return None
    tables = tables_from_columns(buf)
    blocks = tables["blocks"]
    rows = Rows()
    rows.parts.append(tables)
    rows.blocks = blocks.num_rows
    if rows.blocks != len(block_ids):
        raise InternalError(f"native rows: {rows.blocks} blocks for {len(block_ids)} requested")
    rows.first, rows.last = first, first + rows.blocks - 1
    rows.parent_hash = blocks.column("parent_hash")[0].as_py()
    rows.last_hash = blocks.column("hash")[rows.blocks - 1].as_py()
    return rows
