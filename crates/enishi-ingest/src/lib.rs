//! Everything that arrives in Enishi, and the files that leave it.
//!
//! - [`orders`]: the order import pipeline (streaming, batched, all-or-nothing or
//!   `--skip-bad-rows`), shared by every order format;
//! - [`formats`]: readers for the generic CSV, JSON Lines, CDNOW, Online Retail II and
//!   Shopify files;
//! - [`text`] and [`mapping`]: a CSV file's encoding (UTF-8 or Shift_JIS), true line numbers,
//!   and the mapping of its headers to Enishi's fields;
//! - [`customers`] and [`products`]: profile and catalogue imports;
//! - [`intake`]: one order or return sent through the API, validated like an imported one;
//! - [`controls`]: the control characters refused in every text that arrives;
//! - [`export`]: customers and orders written back in the formats the importers read;
//! - [`people`]: customers kept by hand: enrolled, edited, merged;
//! - [`privacy`]: everything held about one customer, for a privacy request.

pub mod controls;
pub mod customers;
pub mod drafts;
pub mod export;
pub mod formats;
pub mod intake;
pub mod mapping;
pub mod orders;
pub mod people;
pub mod privacy;
pub mod products;
mod reader;
pub mod text;

use serde::Serialize;

pub use mapping::{CsvOptions, ImportKind, Mapping};
pub use reader::Progress;
pub use text::Encoding;

/// A row that could not be accepted: where and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// Line number in the file (1 is the first line, the header of a CSV).
    pub line: u64,
    /// The column (or JSON field) at fault, when one is.
    pub column: Option<String>,
    /// What is wrong, for a person.
    pub reason: String,
    /// The order the row belongs to, when it could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
}

impl Rejection {
    /// A rejection of `column` on `line`.
    pub fn at(line: u64, column: impl Into<String>, reason: impl Into<String>) -> Self {
        Rejection { line, column: Some(column.into()), reason: reason.into(), order_id: None }
    }

    /// A rejection of a whole line.
    pub fn line(line: u64, reason: impl Into<String>) -> Self {
        Rejection { line, column: None, reason: reason.into(), order_id: None }
    }

    /// The same rejection, noting the order the row belongs to.
    pub fn in_order(mut self, order_id: Option<&str>) -> Self {
        self.order_id = order_id.map(String::from);
        self
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some(c) => write!(f, "line {}, column {c}: {}", self.line, self.reason),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
    }
}

/// Why an import did not happen. Nothing was written in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file could not be read.
    #[error("cannot read {path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// The system's reason.
        reason: String,
    },
    /// The file as a whole is unusable (empty, wrong header).
    #[error("{0}")]
    File(Rejection),
    /// Some rows are bad; the import was all-or-nothing, so nothing was written.
    #[error("{} bad {}, nothing imported; first: {}{}", .total, if *.total == 1 { "row" } else { "rows" }, .rejections[0], if *.total > 1 { " (use --skip-bad-rows to import the good rows)" } else { " (fix it, or use --skip-bad-rows to import the other rows)" })]
    BadRows {
        /// The first rejections (at most [`MAX_REPORTED`]).
        rejections: Vec<Rejection>,
        /// How many rows were bad in all.
        total: u64,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] enishi_store::StoreError),
}

/// Writes rejected rows as CSV (`line,column,order_id,reason`), every text cell quoted and
/// neutralised for spreadsheets: the report the CLI writes and the console offers.
pub fn write_report(out: &mut impl std::io::Write, rows: &[Rejection]) -> std::io::Result<()> {
    writeln!(out, "line,column,order_id,reason")?;
    let q = |s: &str| format!("\"{}\"", export::neutralise(s).replace('"', "\"\""));
    for r in rows {
        writeln!(
            out,
            "{},{},{},{}",
            r.line,
            q(r.column.as_deref().unwrap_or("")),
            q(r.order_id.as_deref().unwrap_or("")),
            q(&r.reason)
        )?;
    }
    Ok(())
}

/// Most rejections kept in an error or report held in memory.
pub const MAX_REPORTED: usize = 1000;
