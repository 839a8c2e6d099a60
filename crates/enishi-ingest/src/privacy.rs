//! Privacy requests (GDPR, APPI): a customer's own data as one JSON document (access and
//! portability), and erasure. The API, the console and the CLI all go through [`export`] and
//! [`erase`], which record the request in the audit log.

use enishi_core::ConsentChannel;
use enishi_store::repo::audit::{self, NewAuditEntry};
use enishi_store::repo::{customers, history, loyalty, orders, privacy, scores};
use enishi_store::{Conn, Store, StoreError};
use serde_json::{json, Value};

/// Rows read per list; a customer's history is read in full, page by page.
const PAGE: i64 = 1000;

/// Reads every page of a list until one comes back short.
fn all<T>(mut page: impl FnMut(i64) -> Result<Vec<T>, StoreError>) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    loop {
        let got = page(out.len() as i64)?;
        let done = (got.len() as i64) < PAGE;
        out.extend(got);
        if done {
            return Ok(out);
        }
    }
}

/// Everything held about customer `id`: profile and consent (with its history), orders with
/// their returns, the loyalty account and ledger, messages, interactions, tasks, survey answers,
/// reviews, events, scores and recommendations. `None` when there is no such customer.
pub fn export_customer(c: &mut dyn Conn, id: i64) -> Result<Option<Value>, StoreError> {
    let Some(customer) = customers::get(c, id)? else { return Ok(None) };
    let mut consent_history = serde_json::Map::new();
    for ch in ConsentChannel::ALL {
        let changes: Vec<Value> = customers::consent_history(c, id, *ch)?
            .into_iter()
            .map(|(status, at, source)| json!({"status": status, "at": enishi_store::instant(at), "source": source}))
            .collect();
        consent_history.insert(ch.as_str().to_string(), changes.into());
    }
    let order_list = all(|offset| orders::for_customer(c, id, PAGE, offset))?;
    let mut returns = Vec::new();
    for o in &order_list {
        returns.extend(orders::returns_of(c, o.id)?);
    }
    let recommendations: Vec<Value> = scores::recommendations(c, id)?
        .into_iter()
        .map(|(sku, name, score)| json!({"sku": sku, "name": name, "score": score}))
        .collect();
    Ok(Some(json!({
        "exported_at": c.clock().now(),
        "customer": customer,
        "consent_history": consent_history,
        "orders": order_list,
        "returns": returns,
        "loyalty": {
            "account": loyalty::account(c, id)?,
            "ledger": all(|offset| loyalty::entries(c, id, PAGE, offset))?,
        },
        "communications": all(|offset| history::communications(c, id, PAGE, offset))?,
        "interactions": all(|offset| history::interactions(c, Some(id), None, PAGE, offset))?,
        "tasks": all(|offset| {
            let q = enishi_store::repo::tasks::TaskQuery { customer_id: Some(id), ..Default::default() };
            enishi_store::repo::tasks::list(c, &q, PAGE, offset)
        })?,
        "survey_answers": enishi_store::repo::surveys::customer_answers(c, id, i64::MAX)?,
        "reviews": enishi_store::repo::reviews::list(
            c,
            &enishi_store::repo::reviews::ReviewQuery { customer_id: Some(id), ..Default::default() },
            i64::MAX,
            0,
        )?,
        "events": all(|offset| history::events(c, id, PAGE, offset))?,
        "scores": scores::get(c, id)?,
        "recommendations": recommendations,
    })))
}

fn audited(c: &mut dyn Conn, actor: &str, action: &str, id: i64) -> Result<(), StoreError> {
    let subject = format!("customer:{id}");
    let entry = NewAuditEntry { actor, action, subject: &subject, before: None, after: None };
    let now = c.now();
    audit::append(c, &entry, now)
}

/// Everything held about customer `id` ([`export_customer`]), the request recorded in the
/// audit log as made by `actor`. `None` when there is no such customer.
pub fn export(store: &Store, id: i64, actor: &str) -> Result<Option<Value>, StoreError> {
    store.write(|c| {
        let data = export_customer(c, id)?;
        if data.is_some() {
            audited(c, actor, "customers.privacy_export", id)?;
        }
        Ok(data)
    })
}

/// Erases customer `id` ([`privacy::erase`]) as `actor`, audited, then scrubs the files so the
/// data is left nowhere ([`Store::scrub`]). `false` when there is no such customer.
pub fn erase(store: &Store, id: i64, actor: &str) -> Result<bool, StoreError> {
    let erased = store.write(|c| {
        let now = c.now();
        let erased = privacy::erase(c, id, now)?;
        if erased {
            audited(c, actor, "customers.erase", id)?;
        }
        Ok::<_, StoreError>(erased)
    })?;
    if erased {
        store.scrub(privacy::ERASED_TABLES)?;
    }
    Ok(erased)
}
