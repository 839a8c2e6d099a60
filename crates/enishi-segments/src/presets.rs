//! Segments a marketer can use at once — each one an ordinary rule, saved and edited like any
//! other — and the product pairs most often bought by the same customers, to choose A and B for
//! the seed practice's product mailings.

use crate::text::parse;
use crate::Node;
use enishi_store::repo::segments as repo;
use enishi_store::{Conn, StoreError};
use std::collections::HashMap;

/// A preset: its name and rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preset {
    /// The name it is saved under.
    pub name: String,
    /// What it selects and what to do with it.
    pub description: &'static str,
    /// The rule.
    pub rule: Node,
}

/// The text form of `s` as a quoted literal.
fn quoted(s: &str) -> String {
    let mut out = String::new();
    crate::text::write_value(&crate::tree::Value::Text(s.to_string()), &mut out);
    out
}

fn preset(name: String, description: &'static str, text: &str) -> Preset {
    let rule = parse(text).unwrap_or_else(|e| unreachable!("preset `{text}` does not parse: {e}"));
    Preset { name, description, rule }
}

/// The presets; with a product pair (SKUs A and B), the three product mailings too.
pub fn presets(pair: Option<(&str, &str)>) -> Vec<Preset> {
    let mut out = Vec::new();
    if let Some((a, b)) = pair {
        let (qa, qb) = (quoted(a), quoted(b));
        out.push(preset(
            format!("Bought {a} only"),
            "offer them B",
            &format!("bought(sku: {qa}) and not bought(sku: {qb})"),
        ));
        out.push(preset(
            format!("Bought {a} and {b}"),
            "they know both: thank them, offer what goes with both",
            &format!("bought(sku: {qa}) and bought(sku: {qb})"),
        ));
        out.push(preset(
            format!("Bought {b} only"),
            "offer them A",
            &format!("bought(sku: {qb}) and not bought(sku: {qa})"),
        ));
    }
    out.push(preset(
        "Loyal".into(),
        "the top ≈7% of buyers: a personal touch (a call, a handwritten letter)",
        "loyal_class = \"loyal\"",
    ));
    out.push(preset("Semi-loyal".into(), "the next ≈13%: a letter", "loyal_class = \"semi_loyal\""));
    out.push(preset(
        "Lapsed loyal".into(),
        "loyal or semi-loyal customers with no order for 90 days: ask why",
        "loyal_class in (\"loyal\", \"semi_loyal\") and days_since_last_order > 90",
    ));
    out.push(preset(
        "New customers".into(),
        "first order in the last 30 days: welcome them",
        "days_since_first_order < 30",
    ));
    out.push(preset(
        "Frequent buyers without a membership".into(),
        "4 or more orders in a year and no paid membership: invite them",
        "orders(within: 365d) >= 4 and not member",
    ));
    out.push(preset("One-time buyers".into(), "bought once: a reason to come back", "orders = 1"));
    out.push(preset("Birthdays next month".into(), "send the birthday offer in time", "months_to_birthday = 1"));
    out
}

/// Counts each pair of one customer's products once, and empties the basket.
fn count_pairs(basket: &mut Vec<u32>, counts: &mut HashMap<(u32, u32), i64>) {
    basket.sort_unstable();
    basket.dedup();
    for (i, x) in basket.iter().enumerate() {
        for y in &basket[i + 1..] {
            *counts.entry((*x, *y)).or_default() += 1;
        }
    }
    basket.clear();
}

/// Two products and how many customers bought both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// One SKU (the smaller).
    pub a: String,
    /// The other SKU.
    pub b: String,
    /// Customers who bought both.
    pub customers: i64,
}

/// The `n` product pairs bought by the most customers (each customer counts once per pair).
pub fn top_pairs(c: &mut dyn Conn, n: usize) -> Result<Vec<Pair>, StoreError> {
    let mut counts: HashMap<(u32, u32), i64> = HashMap::new();
    let mut skus: Vec<String> = Vec::new();
    let mut index: HashMap<String, u32> = HashMap::new();
    let mut basket: Vec<u32> = Vec::new();
    let mut current = None;
    repo::for_each_customer_sku(c, &mut |customer, sku| {
        if current != Some(customer) {
            count_pairs(&mut basket, &mut counts);
            current = Some(customer);
        }
        let i = match index.get(sku) {
            Some(i) => *i,
            None => {
                let i = skus.len() as u32;
                skus.push(sku.to_string());
                index.insert(sku.to_string(), i);
                i
            }
        };
        basket.push(i);
    })?;
    count_pairs(&mut basket, &mut counts);
    let mut pairs: Vec<Pair> = counts
        .into_iter()
        .map(|((x, y), customers)| {
            let (a, b) = (skus[x as usize].clone(), skus[y as usize].clone());
            let (a, b) = if a <= b { (a, b) } else { (b, a) };
            Pair { a, b, customers }
        })
        .collect();
    pairs.sort_by(|p, q| q.customers.cmp(&p.customers).then_with(|| (&p.a, &p.b).cmp(&(&q.a, &q.b))));
    pairs.truncate(n);
    Ok(pairs)
}
