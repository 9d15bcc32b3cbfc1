"""The catalogue of ready queries in `queries/`: each `<name>.sql` with its `<name>.json`
(description, parameters, expected answer shape, event views)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

CATALOGUE = Path(__file__).resolve().parents[2] / "queries"


@dataclass(frozen=True)
class CatalogueQuery:
    name: str
    sql: str
    description: str
    params: dict  # name -> {"type": ..., "description": ...}
    result: list  # expected answer shape: [{"name", "type"}]
    views: dict


def catalogue(directory: Path = CATALOGUE) -> dict[str, CatalogueQuery]:
    """The catalogue's queries by name."""
    out = {}
    for sql_path in sorted(directory.glob("*.sql")):
        meta = json.loads(sql_path.with_suffix(".json").read_text())
        out[sql_path.stem] = CatalogueQuery(
            sql_path.stem,
            sql_path.read_text(),
            meta["description"],
            meta.get("params", {}),
            meta.get("result", []),
            meta.get("views", {}),
        )
    return out
