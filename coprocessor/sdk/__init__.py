"""The Python SDK (layer 3): SQL in, a proven and checked answer out.

    from coprocessor.sdk import Coprocessor
    cp = Coprocessor(db="index.duckdb", rpc="http://127.0.0.1:8545")
    print(cp.explain(sql, params={"token": "0x..."}))
    r = cp.prove(sql, params={"token": "0x..."})        # real proof (minutes); dev=True: fast fake
    r.rows, r.columns, r.query_hash, r.anchor_number, r.cycles, r.proving_seconds
    r.params, r.param_types, r.param_values             # the values the receipt answers for
    r.verify()                                          # seal vs the `query` image ID + journal
    r.verify(sql=sql, params={"token": "0x..."})        # + this question: queryHash and params
    r.save("receipts/x.receipt"); QueryResult.load("receipts/x.receipt").verify()

`prove` returns only an answer whose journal equals the compiler's expected rows (DuckDB's
answer); a difference is a bug and raises ResultMismatchError.

Modules: `embedded` (`Coprocessor` over a local index), `result` (`QueryResult`, its
verification and files), `anchor` (checking a journal's anchor block against the chain),
`client` (`Client` / `AsyncClient` of `coprocessor serve`, loaded on first use: they need grpc
and the stubs `make setup` generates) and `wire` (the gRPC messages and status codes).
"""

from coprocessor.errors import ResultMismatchError
from coprocessor.sdk.anchor import check_anchor
from coprocessor.sdk.embedded import Coprocessor, check_journal
from coprocessor.sdk.result import QueryResult, Verification, sidecar_path

__all__ = [
    "AsyncClient",
    "Client",
    "Coprocessor",
    "QueryResult",
    "ResultMismatchError",
    "Verification",
    "check_anchor",
    "check_journal",
    "sidecar_path",
]


def __getattr__(name: str):
    if name in ("AsyncClient", "Client"):
        from coprocessor.sdk import client

        return getattr(client, name)
    raise AttributeError(f"module 'coprocessor.sdk' has no attribute {name!r}")
