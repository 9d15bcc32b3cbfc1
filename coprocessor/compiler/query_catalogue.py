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

    def typed_params(self, params: dict | None) -> dict:
        """`params` read by their declared types, so that the template (whose parameter types
        come from the values) is the catalogue's: a uint256 given as 0x-hex is an integer."""
        out = dict(params or {})
        for name, spec in self.params.items():
            v = out.get(name)
            if spec.get("type") == "uint256" and isinstance(v, str) and v[:2].lower() == "0x":
                try:
                    out[name] = int(v, 16)
                except ValueError:
                    pass  # the compiler names the bad value
        return out


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
