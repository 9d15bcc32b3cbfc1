"""The relayer (layer 2): on-chain delivery of proven answers to CoprocessorQuery.

    relayer = Relayer(RelayerConfig(rpc_url=..., contract=..., db_path=OUTBOX,
                                    index_path=INDEX, key_file=..., dev=...))
    relayer.run()                       # or run_once() per tick
    deploy_contracts(rpc_url, account, mock_verifier=True)  # `coprocessor deploy`

Modules, one job each:

- `config`: RelayerConfig; `keys`: the signing key from a file or the environment
- `request`: a QueryRequested event; `journal`: the strict journal decoder
- `node`: the node through web3.py (errors mapped, broadcast outcomes);
  `query_contract`: CoprocessorQuery, its verifier, simulations and reverts
- `outbox`: the SQLite (WAL) outbox; `nonces`: gap-free nonces
- `watcher`: requests at confirmation depth, reorgs of the scanned range
- `prover`: the proving seam and `QueryGuestProver` (template + params compiled over the
  index, proven by the query guest, verified locally); `proofcheck`: the relayer's check
- `fees`: EIP-1559 fees, replacements, profit; `sender`: sign, store, broadcast
- `tracker`: receipts, depth, reorgs, stuck transactions, cancellations
- `pipeline`: one request from proof to sent fulfilment; `service`: the Relayer
- `deploy`: the contracts on a chain; `log`: structured log lines
"""

from coprocessor.relayer.config import RelayerConfig
from coprocessor.relayer.deploy import ExampleAirdrop, QueryContractTerms, deploy_contracts
from coprocessor.relayer.keys import load_account
from coprocessor.relayer.prover import Prover, QueryGuestProver
from coprocessor.relayer.service import Relayer, TickReport

__all__ = [
    "ExampleAirdrop",
    "Prover",
    "QueryContractTerms",
    "QueryGuestProver",
    "Relayer",
    "RelayerConfig",
    "TickReport",
    "deploy_contracts",
    "load_account",
]
