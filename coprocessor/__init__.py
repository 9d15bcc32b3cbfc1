"""ZK coprocessor for Ethereum: SQL over Ethereum history, answered with RISC Zero proofs."""

__version__ = "0.1.0"
