//! The product catalogue import: `sku,name,category,price,currency`.

use crate::formats::Csv;
use crate::mapping::CsvOptions;
use crate::reader::Hashing;
use crate::{ImportError, Progress, Rejection, MAX_REPORTED};
use enishi_core::{Amount, Currency};
use enishi_store::repo::{imports, products};
use enishi_store::{ImportRecord, Product, Store};
use serde::Serialize;
use std::io::Read;

/// Columns of the product CSV.
pub const PRODUCT_COLUMNS: &[&str] = &["sku", "name", "category", "price", "currency"];

/// What a product import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProductImportSummary {
    /// Data rows read.
    pub rows_read: u64,
    /// Products created.
    pub products_created: u64,
    /// Products updated.
    pub products_updated: u64,
    /// Rows rejected (with `skip_bad_rows`).
    pub rows_rejected: u64,
    /// The encoding the file was read in (`utf-8` or `shift_jis`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub encoding: String,
}

/// How to import products.
#[derive(Debug, Clone, Default)]
pub struct ProductImportOptions {
    /// Import the good rows and report the bad ones, instead of all-or-nothing.
    pub skip_bad_rows: bool,
    /// How the file is read: its encoding and the mapping of its headers.
    pub csv: CsvOptions,
}

/// The result of a product import that went through.
#[derive(Debug, Clone)]
pub struct ProductImport {
    /// Counts.
    pub summary: ProductImportSummary,
    /// Rejected rows (with `skip_bad_rows`).
    pub report: Vec<Rejection>,
}

/// Imports products from a CSV in Enishi's names; all-or-nothing.
pub fn import_products(store: &Store, input: impl Read) -> Result<ProductImportSummary, ImportError> {
    let done =
        import_products_with(store, input, "products.csv", &ProductImportOptions::default(), Progress::default())?;
    Ok(done.summary)
}

/// Imports products from a CSV (named `file_name` in the import record) as `opts` say.
pub fn import_products_with(
    store: &Store,
    input: impl Read,
    file_name: &str,
    opts: &ProductImportOptions,
    progress: Progress,
) -> Result<ProductImport, ImportError> {
    let started_at = store.now();
    let (reader, hash) = Hashing::new(input, progress);
    store.write(|c| {
        let mut csv = Csv::open(reader, &opts.csv, &PRODUCT_COLUMNS[..1], &PRODUCT_COLUMNS[1..], |_| false, &[])?;
        let mut summary = ProductImportSummary::default();
        let mut rejected = Vec::new();
        while let Some(row) = csv.next_row() {
            let parsed = row.and_then(|line| {
                Ok(Product {
                    sku: csv.require(line, "sku")?.to_string(),
                    name: csv.get(line, "name")?.map(String::from),
                    category: csv.get(line, "category")?.map(String::from),
                    price: csv.parse(line, "price", |t| {
                        t.parse::<Amount>().map_err(|e| e.0).and_then(|a| {
                            if a.is_negative() {
                                Err("is negative".into())
                            } else {
                                Ok(a)
                            }
                        })
                    })?,
                    currency: csv
                        .parse(line, "currency", |t| t.parse::<Currency>().map(|c| c.to_string()).map_err(|e| e.0))?,
                })
            });
            summary.rows_read += 1;
            match parsed {
                Err(r) => {
                    summary.rows_rejected += 1;
                    if rejected.len() < MAX_REPORTED || opts.skip_bad_rows {
                        rejected.push(csv.relabel(r));
                    }
                }
                Ok(_) if summary.rows_rejected > 0 && !opts.skip_bad_rows => {}
                Ok(p) => {
                    if products::upsert(c, &p)? {
                        summary.products_created += 1;
                    } else {
                        summary.products_updated += 1;
                    }
                }
            }
        }
        if summary.rows_rejected > 0 && !opts.skip_bad_rows {
            return Err(ImportError::BadRows { rejections: rejected, total: summary.rows_rejected });
        }
        if summary.rows_read == 0 {
            return Err(ImportError::File(Rejection::line(1, "the file has no rows")));
        }
        summary.encoding = csv.detected().encoding().name().to_string();
        drop(csv);
        let finished_at = c.clock().now();
        imports::record(
            c,
            &ImportRecord {
                id: 0,
                kind: "products".into(),
                format: "csv".into(),
                file_name: file_name.into(),
                sha256: hash.get(),
                started_at,
                finished_at,
                summary: serde_json::to_value(&summary).unwrap_or_default(),
            },
        )?;
        Ok(ProductImport { summary, report: rejected })
    })
}
