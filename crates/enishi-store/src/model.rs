//! The shapes that go into and come out of the store.
//!
//! Inputs (`New…`, `…Upsert`) carry parsed domain types; outputs carry what is stored, with
//! times as UTC instants and money as [`Amount`].

use chrono::{DateTime, NaiveDate, Utc};
use enishi_core::{
    Amount, Channel, ConsentChannel, ConsentStatus, Email, ExternalId, InteractionKind, InteractionStatus, Phone,
};
use serde::{Deserialize, Serialize};

/// A JSON object of custom attributes or event properties.
pub type JsonMap = serde_json::Map<String, serde_json::Value>;

/// Converts stored Unix seconds to an instant.
pub fn instant(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// A postal address, for direct mail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PostalAddress {
    /// First address line.
    pub line1: Option<String>,
    /// Second address line.
    pub line2: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Region, state or prefecture.
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country (ISO 3166 code or name).
    pub country: Option<String>,
}

/// Consent on one channel: the state and when and how it was given or withdrawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Consent {
    /// The channel.
    pub channel: ConsentChannel,
    /// Opted in, opted out or unknown.
    pub status: ConsentStatus,
    /// When the state was last set.
    pub changed_at: DateTime<Utc>,
    /// How: `import`, `api`, `signup_form`, `unsubscribe_link`, …
    pub source: String,
}

/// Per-customer running totals, kept current on every order and return.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomerStats {
    /// First order.
    pub first_order_at: Option<DateTime<Utc>>,
    /// Latest order.
    pub last_order_at: Option<DateTime<Utc>>,
    /// Number of orders.
    pub order_count: i64,
    /// Number of distinct business days with an order.
    pub purchase_days: i64,
    /// Sum of order totals.
    pub total_spend: Amount,
    /// Sum of returns and refunds.
    pub returned_amount: Amount,
}

/// A customer as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    /// Enishi's id.
    pub id: i64,
    /// The shop's own id.
    pub external_id: String,
    /// Full name.
    pub name: Option<String>,
    /// How the name reads (furigana, in kana), when known.
    #[serde(default)]
    pub furigana: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Postal address.
    pub address: PostalAddress,
    /// Birthday, `YYYY-MM-DD`.
    pub birthday: Option<NaiveDate>,
    /// Preferred locale, such as `ja` or `en-US`.
    pub locale: Option<String>,
    /// Channels the customer buys through.
    pub channels: Vec<Channel>,
    /// Free tags.
    pub tags: Vec<String>,
    /// Custom attributes.
    pub attributes: JsonMap,
    /// The B2B account the customer is a contact of.
    pub account_id: Option<i64>,
    /// Where the customer came from (`referral`, `instagram`, …).
    pub acquisition_source: Option<String>,
    /// The customer who referred this one.
    pub referred_by: Option<i64>,
    /// When the shop first saw the customer.
    pub first_seen_at: DateTime<Utc>,
    /// Consent per channel (channels never set are `unknown`).
    pub consents: Vec<Consent>,
    /// Running totals.
    pub stats: CustomerStats,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A consent change to record.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsentChange {
    /// The channel.
    pub channel: ConsentChannel,
    /// The new state.
    pub status: ConsentStatus,
    /// When it was given (defaults to now).
    pub at: Option<DateTime<Utc>>,
    /// How it was given.
    pub source: String,
}

/// Fields to create or update a customer with. `None` leaves a stored value as it is.
#[derive(Debug, Clone, Default)]
pub struct CustomerUpsert {
    /// The shop's id (the key).
    pub external_id: Option<ExternalId>,
    /// Full name.
    pub name: Option<String>,
    /// Email.
    pub email: Option<Email>,
    /// Phone.
    pub phone: Option<Phone>,
    /// Postal address; each `Some` field replaces the stored one.
    pub address: PostalAddress,
    /// Birthday.
    pub birthday: Option<NaiveDate>,
    /// Locale.
    pub locale: Option<String>,
    /// Channels (replace).
    pub channels: Option<Vec<Channel>>,
    /// Tags (replace).
    pub tags: Option<Vec<String>>,
    /// Custom attributes (merged key by key; a JSON null removes a key).
    pub attributes: Option<JsonMap>,
    /// B2B account (Enishi id).
    pub account_id: Option<i64>,
    /// Acquisition source.
    pub acquisition_source: Option<String>,
    /// Referring customer (Enishi id).
    pub referred_by: Option<i64>,
    /// First seen; defaults to now for a new customer.
    pub first_seen_at: Option<DateTime<Utc>>,
    /// Consent changes.
    pub consents: Vec<ConsentChange>,
}

impl CustomerUpsert {
    /// Whether applying this upsert to `stored` would change nothing: every field it sets
    /// holds that value already (a replayed creation, told apart from a different one).
    pub fn agrees_with(&self, stored: &Customer) -> bool {
        fn same<T: PartialEq<U>, U>(new: &Option<T>, old: U) -> bool {
            new.as_ref().is_none_or(|n| *n == old)
        }
        let text = |new: &Option<String>, old: &Option<String>| new.is_none() || new == old;
        let (a, b) = (&self.address, &stored.address);
        let attributes = self.attributes.as_ref().is_none_or(|m| {
            m.iter().all(|(k, v)| {
                if v.is_null() {
                    !stored.attributes.contains_key(k)
                } else {
                    stored.attributes.get(k) == Some(v)
                }
            })
        });
        let consents = self
            .consents
            .iter()
            .all(|change| stored.consents.iter().any(|c| c.channel == change.channel && c.status == change.status));
        self.external_id.as_ref().is_none_or(|e| e.as_str() == stored.external_id)
            && text(&self.name, &stored.name)
            && self.email.as_ref().is_none_or(|e| Some(e.as_str()) == stored.email.as_deref())
            && self.phone.as_ref().is_none_or(|p| Some(p.as_str()) == stored.phone.as_deref())
            && [(&a.line1, &b.line1), (&a.line2, &b.line2), (&a.city, &b.city)].iter().all(|(n, o)| text(n, o))
            && [(&a.region, &b.region), (&a.postal_code, &b.postal_code), (&a.country, &b.country)]
                .iter()
                .all(|(n, o)| text(n, o))
            && same(&self.birthday.map(Some), stored.birthday)
            && text(&self.locale, &stored.locale)
            && same(&self.channels, stored.channels.clone())
            && same(&self.tags, stored.tags.clone())
            && attributes
            && same(&self.account_id.map(Some), stored.account_id)
            && text(&self.acquisition_source, &stored.acquisition_source)
            && same(&self.referred_by.map(Some), stored.referred_by)
            && same(&self.first_seen_at, stored.first_seen_at)
            && consents
    }
}

/// Whether an upsert created a row or changed an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    /// A new row, with its id.
    Created(i64),
    /// An existing row, with its id.
    Updated(i64),
}

impl Upserted {
    /// The row's id either way.
    pub fn id(self) -> i64 {
        match self {
            Upserted::Created(id) | Upserted::Updated(id) => id,
        }
    }
}

/// A B2B account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// Enishi's id.
    pub id: i64,
    /// The shop's id.
    pub external_id: String,
    /// Company name.
    pub name: String,
    /// Industry.
    pub industry: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Size band (`1-10`, `11-50`, …).
    pub size_band: Option<String>,
}

/// Fields to create or update an account with.
#[derive(Debug, Clone)]
pub struct AccountUpsert {
    /// The shop's id (the key).
    pub external_id: ExternalId,
    /// Company name; a new account without one is named by its id.
    pub name: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Size band.
    pub size_band: Option<String>,
}

/// A product of the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    /// Stock-keeping unit (the key).
    pub sku: String,
    /// Name.
    pub name: Option<String>,
    /// Category.
    pub category: Option<String>,
    /// List price.
    pub price: Option<Amount>,
    /// Currency of the price.
    pub currency: Option<String>,
}

/// A line of an order, as sent and as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderLine {
    /// Product SKU.
    pub sku: String,
    /// Product name at the time of the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_name: Option<String>,
    /// Product category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Units (positive; zero-price units are free items).
    pub quantity: i64,
    /// Price per unit.
    pub unit_price: Amount,
    /// Line amount (normally quantity × unit price).
    pub amount: Amount,
}

/// An order to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOrder {
    /// The shop's order id.
    pub order_ref: String,
    /// Enishi customer id.
    pub customer_id: i64,
    /// When it was placed.
    pub placed_at: DateTime<Utc>,
    /// Its business day (days since 1970-01-01).
    pub placed_day: i64,
    /// Channel.
    pub channel: Channel,
    /// Currency code.
    pub currency: String,
    /// Order total.
    pub total: Amount,
    /// Status (`completed`, `cancelled`, …).
    pub status: String,
    /// Lines.
    pub lines: Vec<OrderLine>,
}

/// A stored order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// Enishi's id.
    pub id: i64,
    /// The shop's order id.
    pub order_id: String,
    /// Enishi customer id.
    pub customer_id: i64,
    /// The shop's customer id.
    pub customer_external_id: String,
    /// When it was placed.
    pub placed_at: DateTime<Utc>,
    /// Channel.
    pub channel: Channel,
    /// Currency.
    pub currency: String,
    /// Total.
    pub total: Amount,
    /// Status.
    pub status: String,
    /// Lines.
    pub lines: Vec<OrderLine>,
    /// Sum of its returns.
    pub returned_amount: Amount,
}

/// A return line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnLine {
    /// Product SKU.
    pub sku: String,
    /// Units returned (positive).
    pub quantity: i64,
    /// Price per unit refunded.
    pub unit_price: Amount,
    /// Amount refunded for the line.
    pub amount: Amount,
}

/// A return or refund to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReturn {
    /// The shop's id of the return (idempotency key).
    pub return_ref: String,
    /// The original order, when known.
    pub order_id: Option<i64>,
    /// Enishi customer id.
    pub customer_id: i64,
    /// When it happened.
    pub returned_at: DateTime<Utc>,
    /// Amount refunded.
    pub amount: Amount,
    /// Why.
    pub reason: Option<String>,
    /// Returned lines (empty for a refund without goods).
    pub lines: Vec<ReturnLine>,
}

/// A stored return.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Return {
    /// Enishi's id.
    pub id: i64,
    /// The shop's return id.
    pub return_id: String,
    /// The shop's id of the original order, when known.
    pub order_id: Option<String>,
    /// Customer.
    pub customer_id: i64,
    /// The shop's customer id.
    pub customer_external_id: String,
    /// When.
    pub returned_at: DateTime<Utc>,
    /// Amount refunded.
    pub amount: Amount,
    /// Why.
    pub reason: Option<String>,
    /// Lines.
    pub lines: Vec<ReturnLine>,
}

/// A message sent to a customer (communication history).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Communication {
    /// Enishi's id.
    #[serde(default)]
    pub id: i64,
    /// Customer.
    #[serde(default)]
    pub customer_id: i64,
    /// `email`, `sms`, `postal`, `line`, …
    pub channel: String,
    /// Campaign, where there is one.
    #[serde(default)]
    pub campaign: Option<String>,
    /// Step of a step-mail sequence.
    #[serde(default)]
    pub step: Option<String>,
    /// A/B variant.
    #[serde(default)]
    pub variant: Option<String>,
    /// Subject line.
    #[serde(default)]
    pub subject: Option<String>,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
    /// `queued`, `sent`, `delivered`, `bounced`, `failed`, …
    pub status: String,
}

/// A request, complaint, call or note (interaction history).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    /// Enishi's id.
    pub id: i64,
    /// Customer.
    pub customer_id: i64,
    /// What it was.
    pub kind: InteractionKind,
    /// Channel it came through.
    pub channel: Option<String>,
    /// What was said.
    pub body: String,
    /// Open, in progress, resolved or closed.
    pub status: InteractionStatus,
    /// Staff member who handled it.
    pub staff: Option<String>,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// When it was resolved or closed.
    pub resolved_at: Option<DateTime<Utc>>,
    /// The user who is to deal with it.
    pub assignee: Option<UserRef>,
    /// How it was resolved.
    pub resolution: Option<String>,
    /// When staff asked the customer how the resolved concern is now.
    pub asked_at: Option<DateTime<Utc>>,
}

impl Interaction {
    /// Seconds from when it happened to when it was resolved or closed.
    pub fn time_to_resolve(&self) -> Option<i64> {
        self.resolved_at.map(|r| (r - self.occurred_at).num_seconds().max(0))
    }
}

/// A console user as a record names them: an assignee or an owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    /// The user's id.
    pub id: i64,
    /// Their sign-in email.
    pub email: String,
    /// Their name.
    pub name: String,
}

/// An interaction to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInteraction {
    /// Customer.
    pub customer_id: i64,
    /// What it was.
    pub kind: InteractionKind,
    /// Channel.
    pub channel: Option<String>,
    /// Text.
    pub body: String,
    /// Open or resolved.
    pub status: InteractionStatus,
    /// Staff.
    pub staff: Option<String>,
    /// When.
    pub occurred_at: DateTime<Utc>,
    /// The user who is to deal with it.
    pub assignee_id: Option<i64>,
    /// How it was resolved (for one recorded resolved).
    pub resolution: Option<String>,
}

/// A behavioural event to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Customer.
    pub customer_id: i64,
    /// Event name (`viewed_product`, `added_to_cart`, …).
    pub name: String,
    /// When.
    pub occurred_at: DateTime<Utc>,
    /// Properties.
    pub properties: JsonMap,
    /// Sender's id for idempotency.
    pub event_ref: Option<String>,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Enishi's id.
    pub id: i64,
    /// Customer.
    pub customer_id: i64,
    /// Name.
    pub name: String,
    /// When.
    pub occurred_at: DateTime<Utc>,
    /// Properties.
    pub properties: JsonMap,
}

/// One entry of a customer's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// `order`, `return`, `communication`, `interaction`, `task`, `survey` (an answer), `review` (one written) or `merge` (another record of the
    /// same person merged into this one; the summary is its shop id).
    pub kind: String,
    /// Enishi id of the entry in its own table.
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// One-line summary.
    pub summary: String,
    /// Amount, for orders and returns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<Amount>,
    /// Status, where the entry has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A page of results with the cursor for the next page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `after` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<i64>,
}

/// A finished import, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportRecord {
    /// Enishi's id.
    pub id: i64,
    /// `orders`, `customers` or `products`.
    pub kind: String,
    /// File format.
    pub format: String,
    /// File name.
    pub file_name: String,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Started.
    pub started_at: DateTime<Utc>,
    /// Finished.
    pub finished_at: DateTime<Utc>,
    /// The summary (JSON).
    pub summary: serde_json::Value,
}

/// A customer's RFM scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RfmScores {
    /// Business day scored as of.
    pub as_of_day: i64,
    /// Recency score 1–5.
    pub r: i64,
    /// Frequency score 1–5.
    pub f: i64,
    /// Monetary score 1–5.
    pub m: i64,
    /// Segment (`champions`, `at_risk`, …).
    pub segment: String,
}

/// A customer's predicted value (BG/NBD and Gamma-Gamma).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueScores {
    /// Business day the models were fitted as of.
    pub as_of_day: i64,
    /// Probability of still being a customer.
    pub p_alive: f64,
    /// Expected purchases in the next `expected_days` days.
    pub expected_purchases: f64,
    /// The horizon of `expected_purchases`.
    pub expected_days: i64,
    /// Expected value per purchase.
    pub expected_value: f64,
    /// Discounted customer lifetime value.
    pub clv: f64,
}

/// Everything the analyses stored about a customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerScores {
    /// RFM, if scored.
    pub rfm: Option<RfmScores>,
    /// Predicted value, if scored.
    pub value: Option<ValueScores>,
    /// Lifecycle stage (`new`, `active`, `inactive`, `at_risk`, `lost`), if judged.
    pub lifecycle_stage: Option<String>,
    /// Loyal class (`loyal`, `semi_loyal`, `other`), if the customer has bought and been ranked.
    pub loyal_class: Option<String>,
}
