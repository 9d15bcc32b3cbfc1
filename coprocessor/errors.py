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
