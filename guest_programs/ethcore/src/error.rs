//! The crate's single error type.

use core::fmt;

/// Result alias used throughout the crate.
pub type Result<T> = core::result::Result<T, Error>;

/// Which commitment a recomputed value disagreed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commitment {
    /// header.transactions_root
    TransactionsRoot,
    /// header.receipts_root
    ReceiptsRoot,
    /// header.withdrawals_root
    WithdrawalsRoot,
    /// header.ommers_hash
    OmmersHash,
    /// header.logs_bloom or a receipt's stored bloom
    LogsBloom,
    /// a block hash (anchor or stated hash)
    BlockHash,
    /// a trie root given by the caller
    TrieRoot,
}

/// Every way verification or decoding of untrusted input can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    // ---- RLP ----
    /// Input ended before the item did (length overrun).
    RlpInputTooShort,
    /// Length prefix or integer has a leading zero byte.
    RlpLeadingZero,
    /// Long form used for a length < 56.
    RlpNonCanonicalSize,
    /// A single byte < 0x80 encoded as a one-byte string.
    RlpNonCanonicalSingleByte,
    /// Integer or length too large for the target type.
    RlpOverflow,
    /// Bytes left after the item.
    RlpTrailingBytes,
    /// Expected a string, found a list.
    RlpUnexpectedList,
    /// Expected a list, found a string.
    RlpUnexpectedString,
    /// A fixed-size string had the wrong length.
    RlpUnexpectedLength,
    /// A list had the wrong number of items.
    RlpListLength,
    /// Any other malformed RLP.
    RlpMalformed,

    // ---- headers ----
    /// The header list has a field count that matches no fork.
    HeaderFieldCount(usize),

    // ---- transactions / receipts ----
    /// Empty transaction or receipt bytes.
    EmptyEnvelope,
    /// Unknown EIP-2718 type byte.
    UnsupportedType(u8),
    /// A transaction field is invalid (e.g. blob tx without `to`).
    InvalidTransaction,
    /// A receipt status is neither 0 nor 1, or the post-state is not 32 bytes.
    InvalidReceiptStatus,

    // ---- Merkle-Patricia proofs ----
    /// A proof node is not a valid trie node.
    InvalidTrieNode,
    /// A proof node does not hash to the reference its parent holds.
    ProofHashMismatch,
    /// A node needed by the walk is missing from the proof.
    ProofNodeMissing,
    /// The proof has nodes after the walk ended.
    ProofUnusedNodes,
    /// The value proven is not a valid account / storage value.
    InvalidTrieValue,

    // ---- recomputed commitments ----
    /// A recomputed root/hash differs from the committed one.
    Mismatch(Commitment),

    // ---- header chains ----
    /// An empty header chain.
    EmptyChain,
    /// headers[index].parent_hash != hash(headers[index-1]).
    ParentHashMismatch {
        /// index of the child header in the slice
        index: usize,
    },
    /// headers[index].number != headers[index-1].number + 1.
    NonConsecutiveNumber {
        /// index of the child header in the slice
        index: usize,
    },
    /// The newest header does not hash to the trusted anchor.
    AnchorMismatch,

    /// Other invalid input (with a short reason).
    InvalidInput(&'static str),
    /// An `ops` command number that does not exist.
    UnknownOp(u64),
    /// A transaction signature is malformed (r or s zero / out of range, high s
    /// after Homestead, bad v / yParity) or recovers no public key.
    InvalidSignature,
}

impl From<alloy_rlp::Error> for Error {
    fn from(e: alloy_rlp::Error) -> Self {
        use alloy_rlp::Error as E;
        match e {
            E::Overflow => Error::RlpOverflow,
            E::LeadingZero => Error::RlpLeadingZero,
            E::InputTooShort => Error::RlpInputTooShort,
            E::NonCanonicalSingleByte => Error::RlpNonCanonicalSingleByte,
            E::NonCanonicalSize => Error::RlpNonCanonicalSize,
            E::UnexpectedLength => Error::RlpUnexpectedLength,
            E::UnexpectedString => Error::RlpUnexpectedString,
            E::UnexpectedList => Error::RlpUnexpectedList,
            E::ListLengthMismatch { .. } => Error::RlpListLength,
            // `Custom("Input too big")` is the only case reachable from
            // `Header::decode` (a length that does not fit in usize).
            _ => Error::RlpOverflow,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::HeaderFieldCount(n) => write!(f, "header has {n} fields: matches no fork"),
            Error::UnsupportedType(t) => write!(f, "unsupported EIP-2718 type 0x{t:02x}"),
            Error::Mismatch(c) => write!(f, "recomputed value differs from committed {c:?}"),
            Error::ParentHashMismatch { index } => {
                write!(
                    f,
                    "header {index}: parent hash does not match previous header"
                )
            }
            Error::NonConsecutiveNumber { index } => {
                write!(f, "header {index}: number is not previous + 1")
            }
            Error::InvalidInput(why) => write!(f, "invalid input: {why}"),
            Error::UnknownOp(op) => write!(f, "unknown ethcore command {op}"),
            other => write!(f, "{other:?}"),
        }
    }
}

impl core::error::Error for Error {}
