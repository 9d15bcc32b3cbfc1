"""`Rows`: the columns a run of blocks adds to each table of the index, collected block by
block (or as whole Arrow tables from the native path) until they are written in one commit."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from coprocessor.store import ARROW_SCHEMAS, DATA_TABLES, TABLES, arrow_table


def bignum_text(v: int | None) -> str | None:
    """uint256 as decimal text for a BIGNUM column."""
    return None if v is None else str(v)


@dataclass
class Rows:
    """Columns of every table for a run of blocks, appended block by block (`cols`, Python
    lists) or as whole Arrow tables from the native path (`parts`)."""

    cols: dict[str, dict[str, list]] = field(
        default_factory=lambda: {t: {c: [] for c, _ in TABLES[t]} for t in DATA_TABLES}
    )
    parts: list[dict[str, pa.Table]] = field(default_factory=list)
    first: int | None = None
    last: int | None = None
    parent_hash: bytes | None = None  # parentHash of `first`
    last_hash: bytes | None = None
    blocks: int = 0

    def rows(self) -> int:
        return sum(len(next(iter(c.values()))) for c in self.cols.values()) + sum(
            t.num_rows for part in self.parts for t in part.values()
        )

    def extend(self, other: Rows) -> None:
        if other.blocks == 0:
            return
        if self.blocks and any(self.cols[t][c] for t in DATA_TABLES for c in self.cols[t]):
            # keep row order: what is in `cols` so far becomes a part before other's rows
            self.parts.append(self._col_tables())
            self.cols = Rows().cols
        self.parts.extend(other.parts)
        if any(other.cols[t][c] for t in DATA_TABLES for c in other.cols[t]):
            self.parts.append(other._col_tables())
        if self.first is None:
            self.first, self.parent_hash = other.first, other.parent_hash
        self.last, self.last_hash = other.last, other.last_hash
        self.blocks += other.blocks

    def _col_tables(self) -> dict[str, pa.Table]:
        return {t: arrow_table(t, self.cols[t]) for t in DATA_TABLES}

    def tables(self) -> dict[str, pa.Table]:
        if not self.parts:
            return self._col_tables()
        parts = [*self.parts, self._col_tables()]
        return {
            t: pa.concat_tables([p[t] for p in parts if t in p and p[t].num_rows])
            if any(t in p and p[t].num_rows for p in parts)
            else ARROW_SCHEMAS[t].empty_table()
            for t in DATA_TABLES
        }


def add_state_rows(rows: Rows, acct_row, storage_rows) -> None:
    a = rows.cols["accounts"]
    for c, v in zip(
        (
            "block_number",
            "address",
            "exists",
            "nonce",
            "balance",
            "storage_root",
            "code_hash",
            "proof",
        ),
        acct_row,
    ):
        a[c].append(bignum_text(v) if c == "balance" else v)
    s = rows.cols["storage"]
    for n, address, slot, value, nodes in storage_rows:
        s["block_number"].append(n)
        s["address"].append(address)
        s["slot"].append(slot)
        s["value"].append(str(value))
        s["proof"].append(nodes)
