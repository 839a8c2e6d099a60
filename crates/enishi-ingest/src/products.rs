//! The product catalogue import: `sku,name,category,price,currency`.

use crate::formats::Csv;
use crate::{ImportError, Rejection, MAX_REPORTED};
use enishi_core::{Amount, Currency};
use enishi_store::repo::products;
use enishi_store::{Product, Store};
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
}

/// Imports products from a CSV; all-or-nothing.
pub fn import_products(store: &Store, input: impl Read) -> Result<ProductImportSummary, ImportError> {
    store.write(|c| {
        let mut csv = Csv::open(input, &PRODUCT_COLUMNS[..1], &PRODUCT_COLUMNS[1..], |_| false, &[])?;
        let mut summary = ProductImportSummary::default();
        let mut rejected = Vec::new();
        let mut bad = 0u64;
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
                    bad += 1;
                    if rejected.len() < MAX_REPORTED {
                        rejected.push(r);
                    }
                }
                Ok(_) if bad > 0 => {}
                Ok(p) => {
                    if products::upsert(c, &p)? {
                        summary.products_created += 1;
                    } else {
                        summary.products_updated += 1;
                    }
                }
            }
        }
        if bad > 0 {
            return Err(ImportError::BadRows { rejections: rejected, total: bad });
        }
        if summary.rows_read == 0 {
            return Err(ImportError::File(Rejection::line(1, "the file has no rows")));
        }
        Ok(summary)
    })
}
