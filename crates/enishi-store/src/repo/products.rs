//! The product catalogue.

use crate::db::{Conn, Row, Value};
use crate::model::Product;
use crate::{params, StoreError};
use enishi_core::Amount;

const SELECT: &str = "SELECT sku, name, category, price, currency FROM products";

fn decode(r: &Row) -> Result<Product, StoreError> {
    Ok(Product {
        sku: r.text(0)?,
        name: r.opt_text(1)?,
        category: r.opt_text(2)?,
        price: r.opt_int(3)?.map(Amount::from_scaled),
        currency: r.opt_text(4)?,
    })
}

/// Creates a product or updates the one with the same SKU (given fields only). Returns
/// whether it was new.
pub fn upsert(c: &mut dyn Conn, p: &Product) -> Result<bool, StoreError> {
    let t = c.now();
    let changed = c.execute(
        "UPDATE products SET name = COALESCE($1, name), category = COALESCE($2, category), \
         price = COALESCE($3, price), currency = COALESCE($4, currency), updated_at = $5 WHERE sku = $6",
        params![
            p.name.clone(),
            p.category.clone(),
            p.price.map(Amount::to_scaled),
            p.currency.clone(),
            t,
            p.sku.as_str()
        ],
    )?;
    if changed > 0 {
        return Ok(false);
    }
    c.execute(
        "INSERT INTO products (sku, name, category, price, currency, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
        params![p.sku.as_str(), p.name.clone(), p.category.clone(), p.price.map(Amount::to_scaled), p.currency.clone(), t],
    )?;
    Ok(true)
}

/// Adds the products that do not exist yet (known ones are left as they are); returns how
/// many were added.
pub fn insert_missing(c: &mut dyn Conn, products: &[Product]) -> Result<u64, StoreError> {
    let t = c.now();
    let mut added = 0;
    for p in products {
        added += c.execute(
            "INSERT INTO products (sku, name, category, price, currency, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (sku) DO NOTHING",
            &[
                Value::from(p.sku.as_str()),
                p.name.clone().into(),
                p.category.clone().into(),
                p.price.map(Amount::to_scaled).into(),
                p.currency.clone().into(),
                t.into(),
            ],
        )?;
    }
    Ok(added)
}

/// One product.
pub fn get(c: &mut dyn Conn, sku: &str) -> Result<Option<Product>, StoreError> {
    c.query_opt(&format!("{SELECT} WHERE sku = $1"), params![sku])?.as_ref().map(decode).transpose()
}

/// Products in SKU order after `after`, at most `limit`.
pub fn list(c: &mut dyn Conn, after: &str, limit: i64) -> Result<Vec<Product>, StoreError> {
    c.query(&format!("{SELECT} WHERE sku > $1 ORDER BY sku LIMIT $2"), params![after, limit])?
        .iter()
        .map(decode)
        .collect()
}
