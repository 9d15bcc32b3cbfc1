"""The one exception tree of the coprocessor.

Foreign errors (native library, RPC, DuckDB, gRPC) are mapped into this tree
once, at the boundary where they enter; callers catch `CoprocessorError`.
"""


class CoprocessorError(Exception):
    """Root of every error the coprocessor raises on purpose."""


class InvalidArgument(CoprocessorError, ValueError):
    """A caller passed a value the API does not accept."""


class ConfigError(CoprocessorError):
    """The installation is incomplete or misconfigured (run `make setup`)."""


class InternalError(CoprocessorError):
    """A bug: an invariant of the coprocessor itself broke."""


class ZkvmError(CoprocessorError):
    """Errors of the RISC Zero layer (`coprocessor.zkvm`)."""


class ProgramError(ZkvmError):
    """A guest program binary is missing, stale or malformed."""


class ExecutionError(ZkvmError):
    """A guest failed while running (panic, non-zero exit, cycle limit)."""


class ProvingError(ZkvmError):
    """The prover failed although the guest ran to a clean halt."""


class VerificationError(ZkvmError):
    """A receipt does not prove what it claims."""


class ReceiptFormatError(VerificationError):
    """Receipt bytes that cannot be decoded as a receipt at all."""


class EthDataError(CoprocessorError):
    """Ethereum data failed a check: a hash, a root, a proof, an encoding."""


# --- chain access, storage and indexing -----------------------------------------------------------


class ChainError(CoprocessorError):
    """Talking to an Ethereum JSON-RPC node failed (`coprocessor.chain`)."""


class RpcError(ChainError):
    """The node answered with a JSON-RPC error object (`code`, `message`)."""

    def __init__(self, message: str, *, code: int | None = None, method: str | None = None):
        super().__init__(message)
        self.code = code
        self.method = method


class RangeTooLargeError(RpcError):
    """The node refused a request or batch as too large; the caller splits it."""


class RpcUnavailableError(ChainError):
    """The node stayed unreachable, rate-limited or broken after every retry."""


class StoreError(CoprocessorError):
    """The DuckDB index failed or holds something it must not (`coprocessor.store`)."""


class StoreLockedError(StoreError):
    """Another process holds the DuckDB file's write lock (e.g. `coprocessor index --follow`)."""


class IndexerError(CoprocessorError):
    """The indexer cannot go on (`coprocessor.indexer`)."""


class InvalidBlockError(IndexerError, EthDataError):
    """Node data for one block failed a check; nothing of that block was stored.

    `block` is the block number, `check` names the failed check (header_hash,
    parent_hash, transactions_root, receipts_root, receipt_count, ...).
    """

    def __init__(self, block: int, check: str, detail: str = ""):
        super().__init__(f"block {block}: check {check} failed" + (f": {detail}" if detail else ""))
        self.block = block
        self.check = check
        self.detail = detail


class ReorgTooDeepError(IndexerError):
    """A reorganisation reaches deeper than --max-reorg-depth; the index is left as it was."""


class DevchainError(CoprocessorError):
    """The local development chain (anvil, solc-js) could not be started or built."""


# --- query compiler -------------------------------------------------------------------------------


class CompileError(CoprocessorError):
    """SQL the compiler refuses: `token` (its text), `line`/`column` (1-based) and `reason`."""

    def __init__(self, reason: str, *, token: str = "", line: int = 0, column: int = 0):
        where = f" at line {line}, column {column}" if line else ""
        near = f" near {token!r}" if token else ""
        super().__init__(f"{reason}{near}{where}")
        self.reason, self.token, self.line, self.column = reason, token, line, column


class IndexIncompleteError(CoprocessorError):
    """The index lacks blocks a query needs: index `first`..`last` (or point the query at
    indexed blocks)."""

    def __init__(self, message: str, *, first: int | None = None, last: int | None = None):
        super().__init__(message)
        self.first, self.last = first, last


class QueryEvaluationError(CoprocessorError):
    """A compiled query fails on the data (uint256 overflow or underflow, division by zero);
    the guest fails the same way, so no answer is produced."""


class PlanRejectedError(CoprocessorError):
    """The query guest rejects a plan or its witness (ill-typed plan, bloom keys the filter
    does not imply, a bound exceeded, witness items out of place): no proof can exist."""


# --- SDK ------------------------------------------------------------------------------------------


class ResultMismatchError(InternalError):
    """bug: the proven journal differs from the compiler's expected result (DuckDB's answer),
    or from the plan it was compiled for. Neither answer is returned."""


# --- relayer --------------------------------------------------------------------------------------


class RelayerError(CoprocessorError):
    """On-chain delivery failed (`coprocessor.relayer`): node, outbox or configuration."""


class OutboxError(RelayerError):
    """The relayer's SQLite outbox cannot be used (locked by another relayer, corrupt)."""


class ProverUnavailableError(RelayerError):
    """The relayer has no prover able to answer a request (see coprocessor.relayer.prover)."""


class IndexNotReadyError(ProverUnavailableError):
    """The index cannot serve a request yet (its blocks not indexed, the file locked): the
    relayer tries again on its next tick."""


class ProofCheckError(RelayerError):
    """A proof does not answer the request it was made for (journal or seal); nothing is sent."""


class MockSealRefusedError(ProofCheckError):
    """A mock seal (0xFFFFFFFF ‖ claim digest) toward a contract whose verifier is not the mock."""


class DeployError(RelayerError):
    """Deploying the coprocessor's contracts failed (a reverted or missing deployment)."""


# --- proving queue and gRPC service ---------------------------------------------------------------


class QueueError(CoprocessorError):
    """The proving queue's SQLite database cannot be used (`coprocessor.queue`)."""


class QueueFullError(QueueError):
    """The proving queue holds as many pending jobs as it accepts; retry later."""


class JobNotFoundError(CoprocessorError):
    """No job has this id."""


class RequestConflictError(CoprocessorError):
    """A request id already names a job submitted with a different request."""


class JobNotDoneError(CoprocessorError):
    """A job's result or receipt was asked for before the job was done."""


class JobFailedError(CoprocessorError):
    """A job ended failed or cancelled: `kind` is the error class it failed with (if any)."""

    def __init__(self, message: str, *, job_id: str = "", kind: str = ""):
        super().__init__(message)
        self.job_id, self.kind = job_id, kind


class ServiceError(CoprocessorError):
    """A call to the coprocessor's gRPC service failed (`coprocessor.sdk.Client`)."""


class ServiceUnavailableError(ServiceError):
    """The service cannot be reached or is shutting down (retried for idempotent calls)."""


class AuthenticationError(ServiceError):
    """The service refused the call's credentials (a missing or wrong bearer token)."""


class DeadlineExceededError(ServiceError):
    """A call to the service did not finish within its deadline."""
