//! The fast path's output: rows of the five tables (`schema`) collected
//! column by column and serialized as Arrow buffers, which
//! `coprocessor/indexer/native.py` wraps without copying.
//!
//! Wire format (little endian, every buffer starting at a multiple of 8):
//! `u32 tables`, then per table `u16 len, name, u32 rows, u32 columns`, then
//! per column `u16 len, name, u8 kind (0 u64, 1 binary, 2 utf-8 text),
//! u8 has_validity`, padding to 8, the validity bitmap if any (Arrow layout,
//! `ceil(rows/8)` bytes padded to 8), then for kind 0 `rows` u64 values, for
//! kinds 1-2 `rows + 1` i32 offsets (padded to 8), `u64 data_len` and the data
//! (padded to 8).

use super::schema::{ColumnType, TableSchema};
use super::schema::{BLOCKS, LOGS, RECEIPTS, TRANSACTIONS, WITHDRAWALS};
use super::Result;

/// One value of a row.
pub enum Cell<'a> {
    UInt(u64),
    Bytes(&'a [u8]),
    Text(String),
    Null,
}

impl<'a> Cell<'a> {
    /// Bytes, or NULL when absent.
    pub fn bytes_or_null(value: Option<&'a [u8]>) -> Self {
        value.map_or(Cell::Null, Cell::Bytes)
    }

    /// An integer, or NULL when absent.
    pub fn uint_or_null(value: Option<u64>) -> Self {
        value.map_or(Cell::Null, Cell::UInt)
    }

    /// The decimal text of a big-endian integer, or NULL when absent.
    pub fn decimal_or_null(value: Option<&[u8]>) -> Cell<'static> {
        value.map_or(Cell::Null, |bytes| {
            Cell::Text(super::hex::decimal_text(bytes))
        })
    }
}

/// A column's values: u64s, or byte strings as Arrow offsets and data.
enum Values {
    UInt(Vec<u64>),
    Bytes { offsets: Vec<i32>, data: Vec<u8> },
}

struct Column {
    name: &'static str,
    column_type: ColumnType,
    valid: Vec<bool>,
    has_nulls: bool,
    values: Values,
}

impl Column {
    fn new(name: &'static str, column_type: ColumnType) -> Self {
        let values = match column_type {
            ColumnType::UInt(_) => Values::UInt(Vec::new()),
            ColumnType::Binary | ColumnType::DecimalText => Values::Bytes {
                offsets: vec![0],
                data: Vec::new(),
            },
        };
        Column {
            name,
            column_type,
            valid: Vec::new(),
            has_nulls: false,
            values,
        }
    }

    /// Appends one value. A value of the wrong kind is a bug of this crate
    /// (a panic, reported as such); one out of the column's range declines.
    fn push(&mut self, table: &str, cell: Cell<'_>) -> Result<()> {
        let is_null = matches!(cell, Cell::Null);
        self.valid.push(!is_null);
        self.has_nulls |= is_null;
        match (&mut self.values, self.column_type, cell) {
            (Values::UInt(values), ColumnType::UInt(max), Cell::UInt(value)) => {
                if value > max {
                    return Err(declined!(
                        "{table}.{} value {value} out of range",
                        self.name
                    ));
                }
                values.push(value);
            }
            (Values::UInt(values), _, Cell::Null) => values.push(0),
            (Values::Bytes { offsets, data }, column_type, cell) => {
                match (column_type, cell) {
                    (ColumnType::Binary, Cell::Bytes(bytes)) => data.extend_from_slice(bytes),
                    (ColumnType::DecimalText, Cell::Text(text)) => {
                        data.extend_from_slice(text.as_bytes())
                    }
                    (_, Cell::Null) => {}
                    _ => panic!("internal: {table}.{} value of the wrong kind", self.name),
                }
                let end = i32::try_from(data.len())
                    .map_err(|_| declined!("{table}.{} holds more than 2 GiB", self.name))?;
                offsets.push(end);
            }
            _ => panic!("internal: {table}.{} value of the wrong kind", self.name),
        }
        Ok(())
    }

    fn serialize(&self, rows: usize, out: &mut Vec<u8>) {
        push_name(out, self.name);
        out.push(self.column_type.wire_kind());
        out.push(self.has_nulls as u8);
        pad_to_8(out);
        if self.has_nulls {
            let mut bits = vec![0u8; rows.div_ceil(8)];
            for (i, &valid) in self.valid.iter().enumerate() {
                if valid {
                    bits[i / 8] |= 1 << (i % 8);
                }
            }
            out.extend_from_slice(&bits);
            pad_to_8(out);
        }
        match &self.values {
            Values::UInt(values) => {
                for value in values {
                    out.extend_from_slice(&value.to_le_bytes());
                }
            }
            Values::Bytes { offsets, data } => {
                for offset in offsets {
                    out.extend_from_slice(&offset.to_le_bytes());
                }
                pad_to_8(out);
                out.extend_from_slice(&(data.len() as u64).to_le_bytes());
                out.extend_from_slice(data);
                pad_to_8(out);
            }
        }
    }
}

fn pad_to_8(out: &mut Vec<u8>) {
    out.resize(out.len().next_multiple_of(8), 0);
}

fn push_name(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(&(name.len() as u16).to_le_bytes());
    out.extend_from_slice(name.as_bytes());
}

/// The rows of one table, column by column.
pub struct Table {
    name: &'static str,
    columns: Vec<Column>,
    rows: usize,
}

impl Table {
    fn new(schema: &TableSchema) -> Self {
        let columns = schema
            .columns
            .iter()
            .map(|&(name, column_type)| Column::new(name, column_type))
            .collect();
        Table {
            name: schema.name,
            columns,
            rows: 0,
        }
    }

    /// Appends a row: one cell per column, in the schema's order.
    pub fn push(&mut self, row: Vec<Cell<'_>>) -> Result<()> {
        assert_eq!(row.len(), self.columns.len(), "{} row width", self.name);
        for (column, cell) in self.columns.iter_mut().zip(row) {
            column.push(self.name, cell)?;
        }
        self.rows += 1;
        Ok(())
    }

    fn serialize(&self, out: &mut Vec<u8>) {
        push_name(out, self.name);
        out.extend_from_slice(&(self.rows as u32).to_le_bytes());
        out.extend_from_slice(&(self.columns.len() as u32).to_le_bytes());
        for column in &self.columns {
            column.serialize(self.rows, out);
        }
    }
}

/// The rows of the five tables, in wire order.
pub struct Tables {
    pub blocks: Table,
    pub transactions: Table,
    pub receipts: Table,
    pub logs: Table,
    pub withdrawals: Table,
}

impl Default for Tables {
    fn default() -> Self {
        Tables {
            blocks: Table::new(&BLOCKS),
            transactions: Table::new(&TRANSACTIONS),
            receipts: Table::new(&RECEIPTS),
            logs: Table::new(&LOGS),
            withdrawals: Table::new(&WITHDRAWALS),
        }
    }
}

impl Tables {
    /// The wire format of every table.
    pub fn serialize(&self) -> Vec<u8> {
        let tables = [
            &self.blocks,
            &self.transactions,
            &self.receipts,
            &self.logs,
            &self.withdrawals,
        ];
        let mut out = Vec::new();
        out.extend_from_slice(&(tables.len() as u32).to_le_bytes());
        for table in tables {
            table.serialize(&mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_make_a_validity_bitmap_and_buffers_stay_aligned() {
        let mut tables = Tables::default();
        let mut row: Vec<Cell> = (0..6).map(|_| Cell::UInt(1)).collect();
        row[4] = Cell::Bytes(b"abc");
        tables.withdrawals.push(row).unwrap();
        let mut row: Vec<Cell> = (0..6).map(|_| Cell::UInt(2)).collect();
        row[4] = Cell::Null;
        tables.withdrawals.push(row).unwrap();
        let out = tables.serialize();
        assert_eq!(out.len() % 8, 0);
        assert_eq!(&out[..4], &5u32.to_le_bytes());
        // the address column: name, kind 1, has_validity 1, padding, bitmap 0b01
        let at = out
            .windows(9)
            .rposition(|w| w == b"\x07\x00address")
            .unwrap();
        assert_eq!(&out[at + 9..at + 11], &[1, 1]);
        let bitmap = (at + 11).next_multiple_of(8);
        assert_eq!(out[bitmap], 0b01);
    }

    #[test]
    fn values_out_of_range_decline() {
        let mut tables = Tables::default();
        let mut row: Vec<Cell> = (0..9).map(|_| Cell::Null).collect();
        row[2] = Cell::UInt(u32::MAX as u64 + 1); // log_index is a UINTEGER
        assert!(tables.logs.push(row).is_err());
    }
}
