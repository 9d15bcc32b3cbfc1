//! The five tables the fast path fills, declared once: names, column order and
//! types, written with DuckDB's type names so that the declaration reads like
//! `TABLES` in `coprocessor/store.py`. `tests/unit/test_cross_language_constants.py`
//! checks the two declarations agree; `coprocessor/indexer/native.py` checks
//! every column it reads against the store's schema.

/// How a column's values travel on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// An unsigned integer no larger than the bound, sent as a u64 (wire kind 0).
    UInt(u64),
    /// A byte string (wire kind 1).
    Binary,
    /// A uint256 as decimal text (wire kind 2): Arrow has no 256-bit integer.
    DecimalText,
}

impl ColumnType {
    /// The kind byte of the wire format.
    pub fn wire_kind(self) -> u8 {
        match self {
            ColumnType::UInt(_) => 0,
            ColumnType::Binary => 1,
            ColumnType::DecimalText => 2,
        }
    }
}

/// DuckDB's names for the store's column types.
pub const UBIGINT: ColumnType = ColumnType::UInt(u64::MAX);
pub const UINTEGER: ColumnType = ColumnType::UInt(u32::MAX as u64);
pub const UTINYINT: ColumnType = ColumnType::UInt(u8::MAX as u64);
pub const BLOB: ColumnType = ColumnType::Binary;
pub const BIGNUM: ColumnType = ColumnType::DecimalText;

/// A table: its name and its columns in order.
pub struct TableSchema {
    pub name: &'static str,
    pub columns: &'static [(&'static str, ColumnType)],
}

pub const BLOCKS: TableSchema = TableSchema {
    name: "blocks",
    columns: &[
        ("number", UBIGINT),
        ("hash", BLOB),
        ("parent_hash", BLOB),
        ("ommers_hash", BLOB),
        ("miner", BLOB),
        ("state_root", BLOB),
        ("transactions_root", BLOB),
        ("receipts_root", BLOB),
        ("logs_bloom", BLOB),
        ("difficulty", BIGNUM),
        ("gas_limit", UBIGINT),
        ("gas_used", UBIGINT),
        ("timestamp", UBIGINT),
        ("extra_data", BLOB),
        ("mix_hash", BLOB),
        ("nonce", BLOB),
        ("base_fee_per_gas", BIGNUM),
        ("withdrawals_root", BLOB),
        ("blob_gas_used", UBIGINT),
        ("excess_blob_gas", UBIGINT),
        ("parent_beacon_block_root", BLOB),
        ("requests_hash", BLOB),
        ("transaction_count", UINTEGER),
        ("header_rlp", BLOB),
    ],
};

pub const TRANSACTIONS: TableSchema = TableSchema {
    name: "transactions",
    columns: &[
        ("block_number", UBIGINT),
        ("tx_index", UINTEGER),
        ("hash", BLOB),
        ("type", UTINYINT),
        ("from", BLOB),
        ("to", BLOB),
        ("value", BIGNUM),
        ("nonce", UBIGINT),
        ("gas", UBIGINT),
        ("gas_price", BIGNUM),
        ("max_fee_per_gas", BIGNUM),
        ("max_priority_fee_per_gas", BIGNUM),
        ("max_fee_per_blob_gas", BIGNUM),
        ("chain_id", UBIGINT),
        ("input", BLOB),
        ("raw", BLOB),
    ],
};

pub const RECEIPTS: TableSchema = TableSchema {
    name: "receipts",
    columns: &[
        ("block_number", UBIGINT),
        ("tx_index", UINTEGER),
        ("tx_hash", BLOB),
        ("type", UTINYINT),
        ("status", UTINYINT),
        ("post_state", BLOB),
        ("gas_used", UBIGINT),
        ("cumulative_gas_used", UBIGINT),
        ("effective_gas_price", BIGNUM),
        ("contract_address", BLOB),
        ("logs_bloom", BLOB),
        ("log_count", UINTEGER),
        ("raw", BLOB),
    ],
};

pub const LOGS: TableSchema = TableSchema {
    name: "logs",
    columns: &[
        ("block_number", UBIGINT),
        ("tx_index", UINTEGER),
        ("log_index", UINTEGER),
        ("address", BLOB),
        ("topic0", BLOB),
        ("topic1", BLOB),
        ("topic2", BLOB),
        ("topic3", BLOB),
        ("data", BLOB),
    ],
};

pub const WITHDRAWALS: TableSchema = TableSchema {
    name: "withdrawals",
    columns: &[
        ("block_number", UBIGINT),
        ("position", UINTEGER),
        ("index", UBIGINT),
        ("validator_index", UBIGINT),
        ("address", BLOB),
        ("amount_gwei", UBIGINT),
    ],
};
