"""The gRPC service (layer 4): `coprocessor serve`.

- `runtime`: `CoprocessorServer` (gRPC server, health, reflection, indexer in follow mode,
  index-lag monitor, prover workers, graceful shutdown) and its `ServeConfig`
- `service`: `QueryService`, the coprocessor.v1 API over the index and the proving queue
- `relay`: `HostedRelayer`, the relayer of `serve --relay`, proving from the server's Store
- `auth`: the bearer-token interceptor; `errors`: CoprocessorError -> gRPC status, once
"""

from coprocessor.server.runtime import CoprocessorServer, ServeConfig

__all__ = ["CoprocessorServer", "ServeConfig"]
