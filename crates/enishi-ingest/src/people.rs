//! Customers kept by hand, as the console does: a walk-in enrolled at the till, contact details
//! and consent edited, two records of one person merged. Each is one transaction, recorded in
//! the audit log as made by its actor; a duplicate email or phone is refused, naming the other
//! customer.

use crate::controls::check_text;
use enishi_core::{ConsentChannel, ConsentStatus, Email, ExternalId, Phone, PhoneCountry};
use enishi_store::repo::audit::{self, NewAuditEntry};
use enishi_store::repo::customers::{self, ContactTaken};
use enishi_store::repo::{loyalty, merges, purchase_summary};
use enishi_store::{ConsentChange, CustomerUpsert, PostalAddress, Store, StoreError};
use serde_json::json;

/// Longest name or furigana accepted.
const MAX_NAME: usize = 200;

/// Contact details as typed: empty text is "not given".
#[derive(Debug, Clone, Default)]
pub struct Contact {
    /// Full name.
    pub name: String,
    /// How the name reads (furigana).
    pub furigana: String,
    /// Email.
    pub email: String,
    /// Phone.
    pub phone: String,
    /// The consent to record on each channel given (a channel left out is left as it is).
    pub consents: Vec<(ConsentChannel, ConsentStatus)>,
    /// The workspace's phone country: a number in its national form is stored in E.164.
    pub phone_country: Option<PhoneCountry>,
}

/// Why contact details were refused.
#[derive(Debug, thiserror::Error)]
pub enum ContactError {
    /// A field is wrong.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field (`name`, `furigana`, `email`, `phone`).
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// Another customer has this email or phone.
    #[error("{}: customer {} already has it", .0.field, .0.external_id)]
    Taken(ContactTaken),
    /// No such customer.
    #[error("no such customer")]
    NotFound,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checked contact details.
struct Checked {
    name: Option<String>,
    furigana: Option<String>,
    email: Option<Email>,
    phone: Option<Phone>,
}

fn text(field: &'static str, value: &str) -> Result<Option<String>, ContactError> {
    let t = value.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if t.chars().count() > MAX_NAME {
        return Err(ContactError::Invalid { field, reason: format!("is longer than {MAX_NAME} characters") });
    }
    check_text(t).map_err(|reason| ContactError::Invalid { field, reason })?;
    Ok(Some(t.to_string()))
}

fn check(f: &Contact) -> Result<Checked, ContactError> {
    let email = text("email", &f.email)?
        .map(|e| e.parse::<Email>())
        .transpose()
        .map_err(|e| ContactError::Invalid { field: "email", reason: e.to_string() })?;
    let phone = text("phone", &f.phone)?
        .map(|p| p.parse::<Phone>().map(|p| p.in_country(f.phone_country)))
        .transpose()
        .map_err(|e| ContactError::Invalid { field: "phone", reason: e.to_string() })?;
    Ok(Checked { name: text("name", &f.name)?, furigana: text("furigana", &f.furigana)?, email, phone })
}

fn taken(c: &mut dyn enishi_store::Conn, k: &Checked, except: Option<i64>) -> Result<(), ContactError> {
    let email = k.email.as_ref().map(|e| e.as_str());
    let phone = k.phone.as_ref().map(|p| p.as_str());
    match customers::contact_taken(c, email, phone, except)? {
        Some(t) => Err(ContactError::Taken(t)),
        None => Ok(()),
    }
}

fn consent_changes(f: &Contact, source: &str) -> Vec<ConsentChange> {
    f.consents
        .iter()
        .map(|(channel, status)| ConsentChange {
            channel: *channel,
            status: *status,
            at: None,
            source: source.to_string(),
        })
        .collect()
}

fn audited(
    c: &mut dyn enishi_store::Conn,
    actor: &str,
    action: &str,
    id: i64,
    after: serde_json::Value,
) -> Result<(), StoreError> {
    let subject = format!("customer:{id}");
    let after = after.to_string();
    let now = c.now();
    audit::append(c, &NewAuditEntry { actor, action, subject: &subject, before: None, after: Some(&after) }, now)
}

/// Enrols a new customer (a walk-in at the till): a name and a phone or an email are needed;
/// consent is recorded with `source` (such as `till:ten@cafe.example`). The shop id is made
/// up (`W-` and the time in milliseconds). The new customer's Enishi id.
pub fn enrol(store: &Store, f: &Contact, source: &str, actor: &str) -> Result<i64, ContactError> {
    let k = check(f)?;
    if k.name.is_none() {
        return Err(ContactError::Invalid { field: "name", reason: "is needed".into() });
    }
    if k.email.is_none() && k.phone.is_none() {
        return Err(ContactError::Invalid { field: "phone", reason: "a phone number or an email is needed".into() });
    }
    store.write(|c| {
        taken(c, &k, None)?;
        let millis = c.clock().now().timestamp_millis();
        for n in 0..10 {
            let id = if n == 0 { format!("W-{millis}") } else { format!("W-{millis}-{n}") };
            let external_id: ExternalId =
                id.parse().map_err(|e: enishi_core::ParseError| StoreError::Decode(e.to_string()))?;
            let u = CustomerUpsert {
                external_id: Some(external_id),
                name: k.name.clone(),
                email: k.email.clone(),
                phone: k.phone.clone(),
                acquisition_source: Some("in_store".into()),
                consents: consent_changes(f, source)
                    .into_iter()
                    .filter(|x| x.status != ConsentStatus::Unknown)
                    .collect(),
                ..Default::default()
            };
            if let Some(new) = customers::insert_if_absent(c, &u)? {
                customers::set_furigana(c, new, k.furigana.as_deref())?;
                audited(c, actor, "customers.enrol", new, json!({"external_id": id, "consent_source": source}))?;
                return Ok(new);
            }
        }
        Err(ContactError::Store(StoreError::Decode("no free shop id for a new customer".into())))
    })
}

/// Sets customer `id`'s name, furigana, email and phone as given (empty clears) and records
/// the consent given with `source`.
pub fn edit(store: &Store, id: i64, f: &Contact, source: &str, actor: &str) -> Result<(), ContactError> {
    let k = check(f)?;
    store.write(|c| {
        let Some(before) = customers::get(c, id)? else { return Err(ContactError::NotFound) };
        taken(c, &k, Some(id))?;
        // Only the channels whose state changes are recorded (a channel never set is unknown).
        let now_of = |ch: ConsentChannel| {
            before.consents.iter().find(|x| x.channel == ch).map_or(ConsentStatus::Unknown, |x| x.status)
        };
        let consents: Vec<ConsentChange> =
            consent_changes(f, source).into_iter().filter(|x| now_of(x.channel) != x.status).collect();
        let changed: Vec<&str> = consents.iter().map(|x| x.channel.as_str()).collect();
        let u = CustomerUpsert {
            name: k.name.clone(),
            email: k.email.clone(),
            phone: k.phone.clone(),
            consents: consents.clone(),
            ..Default::default()
        };
        customers::update(c, id, &u)?;
        for (field, set) in [("name", k.name.is_some()), ("email", k.email.is_some()), ("phone", k.phone.is_some())] {
            if !set {
                customers::clear_field(c, id, field)?;
            }
        }
        customers::set_furigana(c, id, k.furigana.as_deref())?;
        let after = json!({"name": k.name, "furigana": k.furigana, "email": k.email.as_ref().map(|e| e.as_str()),
                           "phone": k.phone.as_ref().map(|p| p.as_str()), "consent_changed": changed});
        audited(c, actor, "customers.edit", id, after)?;
        Ok(())
    })
}

/// Why a merge was refused.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A record cannot be merged with itself.
    #[error("a customer cannot be merged with itself")]
    Same,
    /// One of the two is not stored.
    #[error("no customer {0}")]
    NotFound(i64),
    /// One of the two was erased.
    #[error("customer {0} was erased")]
    Erased(i64),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a merge did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Merged {
    /// The customer kept.
    pub kept: i64,
    /// The shop id of the record merged away (it now finds the customer kept).
    pub merged_external_id: String,
    /// Rows moved, per table.
    pub moved: merges::Moved,
    /// What the points did (absent when neither had any).
    pub books: Option<enishi_rewards::MergedBooks>,
}

/// Merges customer `merged` into customer `keep`, in one transaction: everything the merged
/// record owns moves to the kept one ([`merges::move_records`]), profile fields the kept one
/// lacks are taken from it (the address only as a whole), the loyalty account, running stats
/// and purchase summary are re-derived, the merge is recorded (on the kept customer's timeline,
/// with the shop id and email that resolve to the kept customer from now on) and audited as
/// made by `actor`, and the merged record is deleted.
pub fn merge(store: &Store, keep: i64, merged: i64, actor: &str) -> Result<Merged, MergeError> {
    if keep == merged {
        return Err(MergeError::Same);
    }
    store.write(|c| {
        merges::lock_pair(c, keep, merged)?;
        let kept = customers::get(c, keep)?.ok_or(MergeError::NotFound(keep))?;
        let gone = customers::get(c, merged)?.ok_or(MergeError::NotFound(merged))?;
        for x in [&kept, &gone] {
            if x.external_id == format!("erased:{}", x.id) {
                return Err(MergeError::Erased(x.id));
            }
        }
        let merged_account = loyalty::account(c, merged)?;
        let moved = merges::move_records(c, merged, keep)?;
        let now = c.now();
        let books = enishi_rewards::merge_books(c, keep, merged_account.as_ref(), &gone.external_id, actor, now)?;

        // What the kept record lacks, the merged one gives.
        let address_empty = [
            &kept.address.line1,
            &kept.address.line2,
            &kept.address.city,
            &kept.address.region,
            &kept.address.postal_code,
            &kept.address.country,
        ]
        .iter()
        .all(|f| f.is_none());
        let fill = |mine: &Option<String>, theirs: &Option<String>| if mine.is_none() { theirs.clone() } else { None };
        let u = CustomerUpsert {
            name: fill(&kept.name, &gone.name),
            email: if kept.email.is_none() { gone.email.as_deref().and_then(|e| e.parse().ok()) } else { None },
            phone: if kept.phone.is_none() { gone.phone.as_deref().and_then(|p| p.parse().ok()) } else { None },
            address: if address_empty { gone.address.clone() } else { PostalAddress::default() },
            birthday: if kept.birthday.is_none() { gone.birthday } else { None },
            locale: fill(&kept.locale, &gone.locale),
            account_id: if kept.account_id.is_none() { gone.account_id } else { None },
            acquisition_source: fill(&kept.acquisition_source, &gone.acquisition_source),
            referred_by: if kept.referred_by.is_none() { gone.referred_by.filter(|r| *r != keep) } else { None },
            first_seen_at: (gone.first_seen_at < kept.first_seen_at).then_some(gone.first_seen_at),
            ..Default::default()
        };
        customers::update(c, keep, &u)?;
        if kept.furigana.is_none() && gone.furigana.is_some() {
            customers::set_furigana(c, keep, gone.furigana.as_deref())?;
        }
        customers::refresh_stats(c, &[keep])?;
        purchase_summary::refresh(c, &[keep])?;

        let detail = json!({"moved": moved, "books": books}).to_string();
        merges::record(
            c,
            &merges::NewMerge {
                customer_id: keep,
                merged_id: merged,
                merged_external_id: &gone.external_id,
                merged_name: gone.name.as_deref(),
                merged_email: gone.email.as_deref(),
                merged_by: actor,
                detail: &detail,
            },
        )?;
        customers::delete(c, merged)?;
        let subject = format!("customer:{keep}");
        let before = json!({"merged": {"id": merged, "external_id": gone.external_id}}).to_string();
        audit::append(
            c,
            &NewAuditEntry {
                actor,
                action: "customers.merge",
                subject: &subject,
                before: Some(&before),
                after: Some(&detail),
            },
            now,
        )?;
        Ok(Merged { kept: keep, merged_external_id: gone.external_id, moved, books })
    })
}
