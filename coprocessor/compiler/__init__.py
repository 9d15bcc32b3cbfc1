"""Query compiler (layer 2): SQL → QueryPlan (canonical RLP, queryHash) + witness + expected result.

    from coprocessor.compiler import compile
    q = compile(sql, params={"token": addr}, store=store, fetch_state=indexer.fetch_state)
    q.plan, q.plan_bytes, q.query_hash, q.witness, q.witness_bytes, q.expected, q.explain()
    q.plan_bytes            # the plan template (parameters unresolved); query_hash = its keccak
    q.params_bytes, q.param_types   # abi.encode of the values, and their ABI types

The dialect and the plan encoding are specified in coprocessor/compiler/PLAN.md. Modules:

- `pipeline`: `compile` and `CompiledQuery` (the steps below, in order)
- `prepared`: the plan template and its parameter values (prepared queries)
- `lower`: SQL → plan, clause by clause, with `sql_text` (parsing, error positions),
  `constants`, `expressions`, `aggregates` and `scan_scope` (block range, state domains,
  bloom keys); `schema` (tables and event views) and `plan` (the plan and its encoding)
- `witness`: the data the guest checks, read from the index; `source_rows`: the rows DuckDB
  sees; `native`: the guest's own code run natively; `crosscheck`: DuckDB's answer compared;
  `journal`: the guest's input and output
- `explain`: `CompiledQuery.explain()`; `query_catalogue`: the ready queries of `queries/`
- `template`: `compile_template(plan_bytes, params_bytes, store=...)`, a request as it arrives
  on chain (template + ABI-encoded values, no SQL)
"""

from coprocessor.compiler.pipeline import CompiledQuery, compile
from coprocessor.compiler.query_catalogue import CatalogueQuery, catalogue
from coprocessor.compiler.template import compile_template
from coprocessor.errors import CompileError

__all__ = [
    "CatalogueQuery",
    "CompileError",
    "CompiledQuery",
    "catalogue",
    "compile",
    "compile_template",
]
