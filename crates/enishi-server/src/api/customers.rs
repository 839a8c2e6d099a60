//! `/api/v1/customers`: search, create, read, update and delete customers; their timeline,
//! orders, messages, events and recommendations; merges; privacy exports and erasure.

use super::shared::{
    created, customer_history, existing, not_blank, not_negative, ok, page_limit, Body, ChannelName, Id, Money,
    PageQuery, PathParam, QueryParams, Timestamp,
};
use crate::api::orders::OrderView;
use crate::auth::{Admin, Caller, Manager};
use crate::error::Problem;
use crate::openapi::{
    BadRequest, Conflict, Forbidden, Internal, NotFound, PayloadTooLarge, TooManyRequests, Unauthorized, Unavailable,
    UnprocessableEntity, UnsupportedMediaType,
};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use enishi_core::{Channel, ConsentChannel, ConsentStatus, Email, Phone, Role};
use enishi_store::repo::{accounts, customers, history, orders};
use enishi_store::{Communication, ConsentChange, CustomerUpsert, JsonMap};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The customer routes, each registered with its documentation.
pub(super) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_customers, create_customer))
        .routes(routes!(get_customer, update_customer, delete_customer))
        .routes(routes!(timeline))
        .routes(routes!(customer_orders))
        .routes(routes!(customer_communications, add_communication))
        .routes(routes!(customer_events))
        .routes(routes!(customer_recommendations))
        .routes(routes!(privacy_export))
        .routes(routes!(erase_customer))
        .routes(routes!(merge_customer))
}

crate::openapi::vocabulary!(ConsentChannelName(ConsentChannel) as "ConsentChannel": "A channel through which a customer can be contacted, each with its own consent.");
crate::openapi::vocabulary!(ConsentStatusName(ConsentStatus) as "ConsentStatus": "Whether the customer agreed to be contacted on a channel (`unknown`: never asked, treated as no consent for marketing).");

// A postal address, for direct mail.
#[derive(Serialize, ToSchema)]
#[schema(as = PostalAddress, description = "A postal address, for direct mail.")]
struct AddressView {
    #[schema(required = true)]
    line1: Option<String>,
    #[schema(required = true)]
    line2: Option<String>,
    #[schema(required = true)]
    city: Option<String>,
    /// Region, state or prefecture.
    #[schema(required = true)]
    region: Option<String>,
    #[schema(required = true)]
    postal_code: Option<String>,
    /// ISO 3166 code or name.
    #[schema(required = true)]
    country: Option<String>,
}

// Consent on one channel.
#[derive(Serialize, ToSchema)]
#[schema(as = Consent, description = "Consent on one channel.")]
struct ConsentView {
    channel: ConsentChannelName,
    status: ConsentStatusName,
    changed_at: Timestamp,
    /// How it was given or withdrawn: `import`, `api`, `signup_form`, `unsubscribe_link`, …
    source: String,
}

// Running totals.
#[derive(Serialize, ToSchema)]
#[schema(as = CustomerStats, description = "Running totals, kept current on every order and return.")]
struct StatsView {
    #[schema(required = true)]
    first_order_at: Option<Timestamp>,
    #[schema(required = true)]
    last_order_at: Option<Timestamp>,
    order_count: i64,
    /// Distinct business days with an order.
    purchase_days: i64,
    total_spend: Money,
    returned_amount: Money,
}

// A customer's RFM scores.
#[derive(Serialize, ToSchema)]
#[schema(as = RfmScores)]
struct RfmView {
    /// Business day (days since 1970-01-01).
    as_of_day: i64,
    /// Recency score 1–5.
    r: i64,
    /// Frequency score 1–5.
    f: i64,
    /// Monetary score 1–5.
    m: i64,
    /// Segment (`champions`, `at_risk`, …).
    segment: String,
}

// A customer's predicted value; a figure the models could not compute is null.
#[derive(Serialize, ToSchema)]
#[schema(as = ValueScores)]
struct ValueView {
    /// Business day the models were fitted as of.
    as_of_day: i64,
    /// Probability of still being a customer.
    #[schema(value_type = Option<f64>, required = true)]
    p_alive: f64,
    /// Expected purchases in the next `expected_days` days.
    #[schema(value_type = Option<f64>, required = true)]
    expected_purchases: f64,
    /// The horizon of `expected_purchases`.
    expected_days: i64,
    /// Expected value per purchase.
    #[schema(value_type = Option<f64>, required = true)]
    expected_value: f64,
    /// Discounted customer lifetime value.
    #[schema(value_type = Option<f64>, required = true)]
    clv: f64,
}

// What the analyses stored about a customer.
#[derive(Serialize, ToSchema)]
#[schema(as = CustomerScores, description = "What the analyses stored about the customer (`enishi analyze rfm` / `clv`).")]
pub(crate) struct ScoresView {
    #[schema(required = true)]
    rfm: Option<RfmView>,
    #[schema(required = true)]
    value: Option<ValueView>,
    /// Lifecycle stage (`new`, `active`, `inactive`, `at_risk`, `lost`), null before it was judged.
    #[schema(required = true)]
    lifecycle_stage: Option<String>,
    #[schema(required = true, schema_with = loyal_class)]
    loyal_class: Option<String>,
}

/// A customer's loyal class, as the loyal analysis stores it.
fn loyal_class() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            utoipa::openapi::Type::String,
            utoipa::openapi::Type::Null,
        ]))
        .description(Some("Loyal class of seed practice: loyal (top ≈7% of buyers by spend, tenure and repeat days), semi_loyal (next ≈13%), other; null before the customer has bought and been ranked."))
        .enum_values(Some([Value::from("loyal"), Value::from("semi_loyal"), Value::from("other"), Value::Null]))
        .build()
}

impl From<enishi_store::CustomerScores> for ScoresView {
    fn from(s: enishi_store::CustomerScores) -> Self {
        ScoresView {
            rfm: s.rfm.map(|r| RfmView { as_of_day: r.as_of_day, r: r.r, f: r.f, m: r.m, segment: r.segment }),
            value: s.value.map(|v| ValueView {
                as_of_day: v.as_of_day,
                p_alive: v.p_alive,
                expected_purchases: v.expected_purchases,
                expected_days: v.expected_days,
                expected_value: v.expected_value,
                clv: v.clv,
            }),
            lifecycle_stage: s.lifecycle_stage,
            loyal_class: s.loyal_class,
        }
    }
}

// A customer as answered (the store's row, typed for the API).
#[derive(Serialize, ToSchema)]
#[schema(as = Customer)]
pub(crate) struct CustomerView {
    /// Enishi's id.
    id: i64,
    /// The shop's id.
    external_id: String,
    #[schema(required = true)]
    name: Option<String>,
    /// How the name reads (furigana, in kana), as entered in the console.
    #[schema(required = true)]
    furigana: Option<String>,
    /// Trimmed, domain lower-cased.
    #[schema(required = true)]
    email: Option<String>,
    /// Normalised: optional leading `+` and digits.
    #[schema(required = true, pattern = r"^\+?[ ()\-.]*([0-9][ ()\-.]*){5,20}$")]
    phone: Option<String>,
    address: AddressView,
    /// `YYYY-MM-DD`.
    #[schema(required = true, value_type = Option<String>, format = Date)]
    birthday: Option<chrono::NaiveDate>,
    #[schema(required = true, examples("ja", "en-US"))]
    locale: Option<String>,
    channels: Vec<ChannelName>,
    tags: Vec<String>,
    /// Custom attributes (any JSON values).
    #[schema(value_type = Object)]
    attributes: JsonMap,
    /// The B2B account the customer is a contact of.
    #[schema(required = true)]
    account_id: Option<i64>,
    #[schema(required = true)]
    acquisition_source: Option<String>,
    /// Enishi id of the referring customer.
    #[schema(required = true)]
    referred_by: Option<i64>,
    first_seen_at: Timestamp,
    /// One entry per channel that has been set, in channel order; channels never set are absent and count as `unknown`.
    consents: Vec<ConsentView>,
    stats: StatsView,
    created_at: Timestamp,
    updated_at: Timestamp,
    /// Only in GET /customers/{id}: the stored analytics scores, or null before any analysis ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ScoresView>)]
    scores: Option<Option<ScoresView>>,
}

impl From<enishi_store::Customer> for CustomerView {
    fn from(c: enishi_store::Customer) -> Self {
        let a = c.address;
        let s = c.stats;
        CustomerView {
            id: c.id,
            external_id: c.external_id,
            name: c.name,
            furigana: c.furigana,
            email: c.email,
            phone: c.phone,
            address: AddressView {
                line1: a.line1,
                line2: a.line2,
                city: a.city,
                region: a.region,
                postal_code: a.postal_code,
                country: a.country,
            },
            birthday: c.birthday,
            locale: c.locale,
            channels: c.channels.into_iter().map(ChannelName).collect(),
            tags: c.tags,
            attributes: c.attributes,
            account_id: c.account_id,
            acquisition_source: c.acquisition_source,
            referred_by: c.referred_by,
            first_seen_at: Timestamp(c.first_seen_at),
            consents: c
                .consents
                .into_iter()
                .map(|x| ConsentView {
                    channel: ConsentChannelName(x.channel),
                    status: ConsentStatusName(x.status),
                    changed_at: Timestamp(x.changed_at),
                    source: x.source,
                })
                .collect(),
            stats: StatsView {
                first_order_at: s.first_order_at.map(Timestamp),
                last_order_at: s.last_order_at.map(Timestamp),
                order_count: s.order_count,
                purchase_days: s.purchase_days,
                total_spend: Money(s.total_spend),
                returned_amount: Money(s.returned_amount),
            },
            created_at: Timestamp(c.created_at),
            updated_at: Timestamp(c.updated_at),
            scores: None,
        }
    }
}

// A page of customers.
#[derive(Serialize, ToSchema)]
struct CustomerPage {
    items: Vec<CustomerView>,
    /// Pass as `after` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    next_cursor: Option<i64>,
}

/// The customer search's query parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Free text: name (substring), its reading (furigana, in hiragana or katakana), email (prefix), phone in any form (prefix, 4 digits or more; `090…` and `+8190…` alike), exact external id or referral code; case-insensitive, full-width and half-width forms alike.
    #[param(pattern = r"^[^\u0000-\u001F]*$", nullable = false)]
    q: Option<String>,
    /// Exact external id.
    #[param(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
        nullable = false
    )]
    external_id: Option<String>,
    /// Exact email, case-insensitive.
    #[param(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
        nullable = false
    )]
    email: Option<String>,
    /// Exact phone number (normalised before comparison; an invalid number is 422 `invalid_field`).
    #[param(pattern = r"^\+?[ ()\-.]*([0-9][ ()\-.]*){5,20}$", nullable = false)]
    phone: Option<String>,
    /// Contacts of this account.
    #[param(nullable = false)]
    account_id: Option<i64>,
    /// Customers in this lifecycle stage as last scored: new, active, inactive, at_risk, lost.
    #[param(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
        nullable = false
    )]
    lifecycle_stage: Option<String>,
    /// Customers in this RFM segment as last scored (snake_case, e.g. champions, cant_lose_them).
    #[param(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
        nullable = false
    )]
    rfm_segment: Option<String>,
    /// Customers with this tag (exact).
    #[param(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
        nullable = false
    )]
    tag: Option<String>,
    /// Customers who use this sales channel: ecommerce, in_store, app, delivery, phone, b2b or other (an unknown channel is 422 `invalid_field`).
    #[param(
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
        nullable = false
    )]
    channel: Option<String>,
    /// Cursor: only customers with an id above this (the previous page's `next_cursor`).
    #[param(default = 0, minimum = 0, nullable = false)]
    after: Option<i64>,
    /// Page size, 1 to 500 (values outside are refused with 422).
    #[param(default = 50, minimum = 1, maximum = 500, nullable = false)]
    limit: Option<i64>,
}

/// Declares a customer body's documentation: the fields both creation and update take, after
/// the ones given. Documentation only, hence `dead_code` allowed: the body is read field by
/// field by [`customer_body`], which tells a JSON null (clear the field) from an absent field
/// (keep it) and names the field at fault.
macro_rules! customer_input {
    ($(#[$m:meta])* $name:ident { $($extra:tt)* }) => {
        $(#[$m])*
        #[allow(dead_code)]
        #[derive(ToSchema)]
        #[serde(deny_unknown_fields)]
        struct $name {
            $($extra)*
            /// Full name.
            #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
            name: Option<String>,
            /// Email address (one `@`, a dotted domain).
            #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
            email: Option<String>,
            /// Phone number: 5 to 20 digits, optional leading `+`; spaces, dashes, dots and parentheses are dropped.
            #[schema(pattern = r"^\+?[ ()\-.]*([0-9][ ()\-.]*){5,20}$")]
            phone: Option<String>,
            /// `YYYY-MM-DD`.
            #[schema(format = Date)]
            birthday: Option<String>,
            /// Preferred locale, such as `ja` or `en-US`.
            #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
            locale: Option<String>,
            /// Where the customer came from (`referral`, `instagram`, …).
            #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
            acquisition_source: Option<String>,
            /// When the shop first saw the customer (see `TimestampInput`); defaults to now on create. A null is ignored.
            #[schema(
                pattern = r"^\s*([+-]?[0-9]{4,}-[0-9]{1,2}-[0-9]{1,2}([T ][0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?)?|[+-]?[0-9]{4,}-[0-9]{1,2}-[0-9]{1,2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})|[0-9]{8}|[0-9]{1,2}/[0-9]{1,2}/[+-]?[0-9]{4,} [0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?)\s*$"
            )]
            first_seen_at: Option<String>,
            /// Enishi id of an existing account.
            account_id: Option<i64>,
            /// Enishi id of an existing customer (not the customer itself).
            referred_by: Option<i64>,
            #[schema(nullable = false)]
            address: Option<AddressInput>,
            /// Replaces the stored list.
            #[schema(nullable = false)]
            channels: Option<Vec<ChannelName>>,
            /// Replaces the stored list.
            #[schema(nullable = false)]
            tags: Option<Vec<String>>,
            /// Merged key by key into the stored attributes; a JSON null value removes a key.
            #[schema(nullable = false, value_type = Option<Object>)]
            attributes: Option<JsonMap>,
            /// Consent changes keyed by channel (`email`, `sms`, `postal`, `phone`).
            #[schema(nullable = false)]
            consents: Option<std::collections::BTreeMap<String, ConsentInput>>,
        }
    };
}

customer_input! {
    /// A new customer. Only `external_id` is required; strings are trimmed and an empty string counts as absent. Unknown fields are refused (422 `invalid_field` naming the field).
    CustomerCreate {
        /// The shop's id (1 to 128 characters).
        #[schema(
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
            max_length = 128
        )]
        external_id: String,
        /// Another customer's referral code; the new customer is attributed to them (422 on `referral_code` when no customer has it).
        #[schema(
            nullable = false,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
        )]
        referral_code: Option<String>,
    }
}

customer_input! {
    /// Fields to change: fields left out are kept, a JSON null clears one. Unknown fields are refused (422 `invalid_field` naming the field).
    CustomerUpdate {
        /// The shop's id: it cannot be changed, so it may be sent only unchanged.
        #[schema(
            nullable = false,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
            max_length = 128
        )]
        external_id: Option<String>,
    }
}

// Documentation only, as for `customer_input!`.
/// Address fields to set; fields left out are kept, a JSON null clears one. Unknown keys are refused (422 `invalid_field`).
#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
struct AddressInput {
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    line1: Option<String>,
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    line2: Option<String>,
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    city: Option<String>,
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    region: Option<String>,
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    postal_code: Option<String>,
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    country: Option<String>,
}

// Documentation only, as for `customer_input!`.
/// A consent change on one channel.
#[allow(dead_code)]
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
struct ConsentInput {
    status: ConsentStatusName,
    /// How it was given; defaults to `api`.
    #[schema(nullable = false, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    source: Option<String>,
    /// When it was given (see `TimestampInput`); defaults to now.
    #[schema(
        nullable = false,
        pattern = r"^\s*([+-]?[0-9]{4,}-[0-9]{1,2}-[0-9]{1,2}([T ][0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?)?|[+-]?[0-9]{4,}-[0-9]{1,2}-[0-9]{1,2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})|[0-9]{8}|[0-9]{1,2}/[0-9]{1,2}/[+-]?[0-9]{4,} [0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?)\s*$"
    )]
    at: Option<String>,
}

// One entry of a customer's timeline.
#[derive(Serialize, ToSchema)]
#[schema(as = TimelineEntry)]
pub(crate) struct TimelineView {
    #[schema(inline)]
    kind: TimelineKind,
    /// Enishi id of the entry in its own table.
    id: i64,
    at: Timestamp,
    /// One line: `Order {order_id}`, `Return {return_id}`, a message's subject (or channel), an interaction's text, `Merged {external_id}` (a record of the same person merged into this customer).
    summary: String,
    /// Orders and returns only; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    amount: Option<Money>,
    /// The entry's status where it has one (for a return: its reason); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    status: Option<String>,
}

// What a timeline entry is (its kind, as the store names it).
#[derive(Serialize)]
#[serde(transparent)]
struct TimelineKind(String);

impl utoipa::PartialSchema for TimelineKind {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .enum_values(Some(["order", "return", "communication", "interaction", "task", "survey", "merge"]))
            .into()
    }
}

impl ToSchema for TimelineKind {}

impl From<enishi_store::TimelineEntry> for TimelineView {
    fn from(e: enishi_store::TimelineEntry) -> Self {
        TimelineView {
            kind: TimelineKind(e.kind),
            id: e.id,
            at: Timestamp(e.at),
            summary: e.summary,
            amount: e.amount.map(Money),
            status: e.status,
        }
    }
}

// A page of a customer's timeline.
#[derive(Serialize, ToSchema)]
struct TimelinePage {
    items: Vec<TimelineView>,
    limit: i64,
    offset: i64,
}

// A page of a customer's orders.
#[derive(Serialize, ToSchema)]
struct OrderPage {
    items: Vec<OrderView>,
    limit: i64,
    offset: i64,
}

// A message sent to a customer.
#[derive(Serialize, ToSchema)]
#[schema(as = Communication, description = "A message sent to a customer.")]
struct CommunicationView {
    id: i64,
    customer_id: i64,
    /// `email`, `sms`, `postal`, `line`, …
    channel: String,
    #[schema(required = true)]
    campaign: Option<String>,
    /// Step of a step-mail sequence.
    #[schema(required = true)]
    step: Option<String>,
    /// A/B variant.
    #[schema(required = true)]
    variant: Option<String>,
    #[schema(required = true)]
    subject: Option<String>,
    sent_at: Timestamp,
    /// `queued`, `sent`, `delivered`, `bounced`, `failed`, …
    status: String,
}

impl From<Communication> for CommunicationView {
    fn from(m: Communication) -> Self {
        CommunicationView {
            id: m.id,
            customer_id: m.customer_id,
            channel: m.channel,
            campaign: m.campaign,
            step: m.step,
            variant: m.variant,
            subject: m.subject,
            sent_at: Timestamp(m.sent_at),
            status: m.status,
        }
    }
}

// A page of messages.
#[derive(Serialize, ToSchema)]
struct CommunicationList {
    items: Vec<CommunicationView>,
    limit: i64,
    offset: i64,
}

// A behavioural event.
#[derive(Serialize, ToSchema)]
#[schema(as = Event)]
struct EventView {
    id: i64,
    /// Enishi customer id.
    customer_id: i64,
    name: String,
    occurred_at: Timestamp,
    #[schema(value_type = Object)]
    properties: JsonMap,
}

impl From<enishi_store::Event> for EventView {
    fn from(e: enishi_store::Event) -> Self {
        EventView {
            id: e.id,
            customer_id: e.customer_id,
            name: e.name,
            occurred_at: Timestamp(e.occurred_at),
            properties: e.properties,
        }
    }
}

// A page of events.
#[derive(Serialize, ToSchema)]
struct EventList {
    items: Vec<EventView>,
    limit: i64,
    offset: i64,
}

// A product recommended to a customer.
#[derive(Serialize, ToSchema)]
struct Recommendation {
    sku: String,
    /// The product's name, null when the catalogue does not know it.
    #[schema(required = true)]
    name: Option<String>,
    /// Higher is better.
    score: f64,
}

// A customer's recommendations, best first.
#[derive(Serialize, ToSchema)]
struct RecommendationList {
    items: Vec<Recommendation>,
}

// An erasure done.
#[derive(Serialize, ToSchema)]
struct Erased {
    /// The customer's Enishi id, kept.
    erased: i64,
    /// The shop id the customer now has: `erased:ID`.
    external_id: String,
}

// Everything held about a customer, as one document.
#[derive(Serialize, ToSchema)]
struct PrivacyExport {
    /// When the export was made.
    #[schema(value_type = Option<Timestamp>, nullable = false)]
    exported_at: Value,
    #[schema(value_type = CustomerView)]
    customer: Value,
    /// Every consent change per channel, oldest first.
    #[schema(value_type = Option<Object>, nullable = false)]
    consent_history: Value,
    #[schema(value_type = Vec<Object>)]
    orders: Value,
    #[schema(value_type = Option<Vec<Object>>, nullable = false)]
    returns: Value,
    /// The loyalty account and its ledger.
    #[schema(value_type = Object)]
    loyalty: Value,
    #[schema(value_type = Option<Vec<Object>>, nullable = false)]
    communications: Value,
    #[schema(value_type = Option<Vec<Object>>, nullable = false)]
    interactions: Value,
    /// Follow-up tasks about the customer.
    #[schema(value_type = Option<Vec<Object>>, nullable = false)]
    tasks: Value,
    #[schema(value_type = Option<Vec<Object>>, nullable = false)]
    events: Value,
    /// The stored analytics scores, null before any analysis ran.
    #[schema(value_type = Option<ScoresView>)]
    scores: Value,
    #[schema(value_type = Option<Vec<Recommendation>>, nullable = false)]
    recommendations: Value,
}

impl PrivacyExport {
    /// The export's parts, taken from the document [`enishi_ingest::privacy::export`] made.
    fn from_document(mut v: Value) -> Self {
        let mut take = |k: &str| v.get_mut(k).map(Value::take).unwrap_or_default();
        PrivacyExport {
            exported_at: take("exported_at"),
            customer: take("customer"),
            consent_history: take("consent_history"),
            orders: take("orders"),
            returns: take("returns"),
            loyalty: take("loyalty"),
            communications: take("communications"),
            interactions: take("interactions"),
            tasks: take("tasks"),
            events: take("events"),
            scores: take("scores"),
            recommendations: take("recommendations"),
        }
    }
}

/// A message to record.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CommunicationInput)]
struct CommunicationBody {
    /// Free text, not empty: `email`, `sms`, `postal`, `line`, …
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*[^\s\u0000-\u001F][^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$"
    )]
    channel: String,
    /// Campaign, where there is one.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    campaign: Option<String>,
    /// Step of a step-mail sequence.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    step: Option<String>,
    /// A/B variant.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    variant: Option<String>,
    /// Subject line.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    subject: Option<String>,
    /// When it was sent (see `TimestampInput`); defaults to now.
    #[serde(default)]
    #[schema(
        pattern = r"^\s*([+-]?[0-9]{4,}-[0-9]{1,2}-[0-9]{1,2}([T ][0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?)?|[+-]?[0-9]{4,}-[0-9]{1,2}-[0-9]{1,2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})|[0-9]{8}|[0-9]{1,2}/[0-9]{1,2}/[+-]?[0-9]{4,} [0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?)\s*$"
    )]
    sent_at: Option<String>,
    /// Defaults to `sent`.
    #[serde(default)]
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$")]
    status: Option<String>,
}
#[utoipa::path(get, path = "/api/v1/customers", operation_id = "listCustomers", tag = "customers",
    summary = "Search customers",
    description = "Customers matching every filter given, in id order, one page at a time: pass `next_cursor` as `after` for the next page. Unknown query parameters are refused (400 `bad_query`).\n\nRoles: admin, marketer, staff.\n\nStaff: a search needs a term (`q` of two characters or more, `external_id`, `email` or `phone`), answers at most 20 customers with `next_cursor` null, and is limited to 30 a minute per token (429 `rate_limited`).",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of customers.", body = CustomerPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = UnprocessableEntity),
        (status = 429, response = TooManyRequests),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn list_customers(
    caller: Caller,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Response, ApiError> {
    let phone = match q.phone {
        Some(p) => Some(
            p.parse::<Phone>()
                .map_err(|e| ApiError::invalid("phone", e.0))?
                .in_country(state.workspace().phone_country)
                .to_string(),
        ),
        None => None,
    };
    let (external_id, email) = (not_blank("external_id", q.external_id)?, not_blank("email", q.email)?);
    let (lifecycle_stage, rfm_segment) =
        (not_blank("lifecycle_stage", q.lifecycle_stage)?, not_blank("rfm_segment", q.rfm_segment)?);
    let tag = not_blank("tag", q.tag)?;
    let channel = match not_blank("channel", q.channel)? {
        Some(c) => Some(c.parse::<enishi_core::Channel>().map_err(|e| ApiError::invalid("channel", e.0))?),
        None => None,
    };
    let exact = external_id.is_some() || email.is_some() || phone.is_some();
    let q_summary = json!({
        "q_chars": q.q.as_ref().map(|t| t.chars().count()), "external_id": external_id.is_some(), "email": email.is_some(), "phone": phone.is_some(),
        "lifecycle_stage": lifecycle_stage, "rfm_segment": rfm_segment, "tag": tag, "channel": channel.map(|c| c.as_str()),
        "after": q.after, "limit": q.limit,
    });
    let mut query = customers::CustomerQuery {
        text: q.q,
        external_id,
        email,
        phone,
        account_id: q.account_id,
        lifecycle_stage,
        rfm_segment,
        tag,
        channel,
        after: not_negative("after", q.after)?,
        limit: page_limit(q.limit)?,
        ..Default::default()
    };
    crate::access::customer_query_for(caller.role, &mut query)?;
    if caller.role == Role::Staff {
        state.searches.check(&caller.key, crate::access::STAFF_SEARCHES_PER_MINUTE)?;
    }
    let mut page = state.run(move |s| Ok(s.read(|c| customers::search(c, &query))?)).await?;
    if caller.role == Role::Staff {
        page.next_cursor = None; // one page only
    }
    // Bulk reads of personal data are recorded (what was asked, how many came back); a lookup
    // of one customer by an exact key is not a bulk read.
    if !exact {
        let after = json!({"query": q_summary, "returned": page.items.len()});
        let actor = caller.actor.clone();
        state
            .run(move |s| Ok(s.write(|c| crate::audit::record(c, &actor, "customers.list", "customers", Some(after)))?))
            .await?;
    }
    let next_cursor = page.next_cursor;
    Ok(ok(CustomerPage { items: page.items.into_iter().map(CustomerView::from).collect(), next_cursor }))
}

/// Reads a customer body: every field optional except, on create, `external_id`. A JSON null
/// clears a field (on update). Unknown fields are refused.
fn customer_body(
    body: &JsonMap,
    ws: enishi_ingest::intake::Workspace,
) -> Result<(CustomerUpsert, Vec<&'static str>), ApiError> {
    let clock = ws.clock;
    let mut u = CustomerUpsert::default();
    let mut clear = Vec::new();
    let text = |k: &str, v: &Value| -> Result<Option<String>, ApiError> {
        match v {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
            _ => Err(ApiError::invalid(k, "must be a string")),
        }
    };
    let set = |clear: &mut Vec<&'static str>, column: &'static str, v: &Value| {
        if v.is_null() {
            clear.push(column);
        }
    };
    for (k, v) in body {
        match k.as_str() {
            "external_id" => {
                u.external_id = text(k, v)?
                    .map(|t| t.parse())
                    .transpose()
                    .map_err(|e: enishi_core::ParseError| ApiError::invalid(k, e.0))?
            }
            "name" => {
                set(&mut clear, "name", v);
                u.name = text(k, v)?;
            }
            "email" => {
                set(&mut clear, "email", v);
                u.email = text(k, v)?.map(|t| t.parse::<Email>()).transpose().map_err(|e| ApiError::invalid(k, e.0))?;
            }
            "phone" => {
                set(&mut clear, "phone", v);
                u.phone = text(k, v)?
                    .map(|t| t.parse::<Phone>().map(|p| p.in_country(ws.phone_country)))
                    .transpose()
                    .map_err(|e| ApiError::invalid(k, e.0))?;
            }
            "birthday" => {
                set(&mut clear, "birthday", v);
                u.birthday = text(k, v)?
                    .map(|t| enishi_core::time::parse_date(&t))
                    .transpose()
                    .map_err(|e| ApiError::invalid(k, e.0))?;
            }
            "locale" => {
                set(&mut clear, "locale", v);
                u.locale = text(k, v)?;
            }
            "acquisition_source" => {
                set(&mut clear, "acquisition_source", v);
                u.acquisition_source = text(k, v)?;
            }
            "first_seen_at" => {
                u.first_seen_at = text(k, v)?
                    .map(|t| clock.parse_timestamp(&t))
                    .transpose()
                    .map_err(|e| ApiError::invalid(k, e.0))?;
            }
            "account_id" | "referred_by" => {
                let col = if k == "account_id" { "account_id" } else { "referred_by" };
                set(&mut clear, col, v);
                let id = match v {
                    Value::Null => None,
                    Value::Number(n) => Some(n.as_i64().ok_or_else(|| ApiError::invalid(k, "must be an integer id"))?),
                    _ => return Err(ApiError::invalid(k, "must be an integer id")),
                };
                if col == "account_id" {
                    u.account_id = id;
                } else {
                    u.referred_by = id;
                }
            }
            "address" => {
                let Some(obj) = v.as_object() else { return Err(ApiError::invalid(k, "must be an object")) };
                for (ak, av) in obj {
                    let field = format!("address.{ak}");
                    let (slot, column) = match ak.as_str() {
                        "line1" => (&mut u.address.line1, "address_line1"),
                        "line2" => (&mut u.address.line2, "address_line2"),
                        "city" => (&mut u.address.city, "city"),
                        "region" => (&mut u.address.region, "region"),
                        "postal_code" => (&mut u.address.postal_code, "postal_code"),
                        "country" => (&mut u.address.country, "country"),
                        _ => return Err(ApiError::invalid(field, "unknown address field")),
                    };
                    set(&mut clear, column, av);
                    *slot = text(&field, av)?;
                }
            }
            "channels" => {
                let list: Vec<String> = serde_json::from_value(v.clone())
                    .map_err(|_| ApiError::invalid(k, "must be a list of channel names"))?;
                u.channels = Some(
                    list.iter()
                        .map(|c| c.parse::<Channel>())
                        .collect::<Result<_, _>>()
                        .map_err(|e| ApiError::invalid(k, e.0))?,
                );
            }
            "tags" => {
                u.tags = Some(
                    serde_json::from_value(v.clone()).map_err(|_| ApiError::invalid(k, "must be a list of strings"))?,
                )
            }
            "attributes" => {
                let map = v.as_object().cloned().ok_or_else(|| ApiError::invalid(k, "must be an object"))?;
                for key in map.keys() {
                    enishi_ingest::customers::check_attribute_key(key)
                        .map_err(|why| ApiError::invalid(format!("attributes.{key}"), why))?;
                }
                u.attributes = Some(map);
            }
            "consents" => {
                let Some(obj) = v.as_object() else {
                    return Err(ApiError::invalid(k, "must be an object keyed by channel"));
                };
                for (ch, c) in obj {
                    let field = format!("consents.{ch}");
                    let channel: ConsentChannel =
                        ch.parse().map_err(|e: enishi_core::ParseError| ApiError::invalid(&field, e.0))?;
                    let status = c
                        .get("status")
                        .and_then(Value::as_str)
                        .ok_or_else(|| ApiError::invalid(format!("{field}.status"), "is required"))?;
                    let status: ConsentStatus = status
                        .parse()
                        .map_err(|e: enishi_core::ParseError| ApiError::invalid(format!("{field}.status"), e.0))?;
                    let source = c.get("source").and_then(Value::as_str).unwrap_or("api").to_string();
                    let at = c
                        .get("at")
                        .and_then(Value::as_str)
                        .map(|t| clock.parse_timestamp(t))
                        .transpose()
                        .map_err(|e| ApiError::invalid(format!("{field}.at"), e.0))?;
                    u.consents.push(ConsentChange { channel, status, at, source });
                }
            }
            other => return Err(ApiError::invalid(other, "unknown field")),
        }
    }
    Ok((u, clear))
}

#[utoipa::path(post, path = "/api/v1/customers", operation_id = "createCustomer", tag = "customers",
    summary = "Create a customer",
    description = "Creates a customer. Creation is atomic: of concurrent requests with the same `external_id` exactly one answers 201. A request whose fields all agree with the stored customer (a replay) answers 200 with the stored customer; one that differs is refused with 409 `customer_exists` (PATCH it instead). `account_id` and `referred_by` must name existing records.\n\nRoles: admin, marketer, staff. A new customer may carry another customer's `referral_code` (create only).",
    request_body(content((CustomerCreate = "application/json", examples(("customer" = (value = json!(
        {"external_id": "C-2", "name": "Ken Ito", "email": "ken@example.com", "phone": "+81 90-1234-5678",
         "address": {"city": "Kyoto", "country": "JP"}, "birthday": "1990-04-01", "channels": ["ecommerce"],
         "tags": ["vip"], "attributes": {"favourite_roast": "dark"},
         "consents": {"email": {"status": "opted_in", "source": "signup_form"}}}
    ))))))),
    responses(
        (status = 200, description = "A customer with this `external_id` exists and agrees with every field sent (a replay): the stored customer, unchanged.", body = CustomerView),
        (status = 201, description = "The customer created.", body = CustomerView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, description = "`customer_exists`: a customer with this `external_id` exists with other details (PATCH it instead); or `conflict`.",
            body = Problem, content_type = "application/problem+json",
            example = json!({"type": "https://enishi.dev/problems/customer_exists", "title": "Conflict", "status": 409,
                "code": "customer_exists", "detail": "a customer with external_id C-2 exists with other details; PATCH it instead"})),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn create_customer(
    _: Caller,
    State(state): State<AppState>,
    Body(mut body): Body<JsonMap>,
) -> Result<Response, ApiError> {
    // A new customer may sign up with another customer's referral code.
    let code = match body.remove("referral_code") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(_) => return Err(ApiError::invalid("referral_code", "must be a referral code such as R3K9ZQ2MD")),
    };
    let (mut u, _) = customer_body(&body, state.workspace())?;
    if code.is_some() && u.referred_by.is_some() {
        return Err(ApiError::invalid("referral_code", "give either referral_code or referred_by, not both"));
    }
    let ext = u.external_id.clone().ok_or_else(|| ApiError::invalid("external_id", "is required"))?;
    let (customer, is_new) = state
        .run(move |s| {
            s.write(|c| {
                if let Some(code) = &code {
                    let referrer = enishi_rewards::referrer_by_code(c, code)?.ok_or_else(|| {
                        ApiError::invalid("referral_code", format!("no customer has the code {code}"))
                    })?;
                    u.referred_by = Some(referrer);
                    u.acquisition_source = u.acquisition_source.take().or_else(|| Some("referral".into()));
                }
                check_links(c, &u)?;
                // One atomic insert-if-absent: of concurrent creations exactly one creates.
                if let Some(id) = customers::insert_if_absent(c, &u)? {
                    let created = customers::get(c, id)?.ok_or_else(|| ApiError::internal("created row vanished"))?;
                    return Ok((created, true));
                }
                let stored = customers::get_by_external_id(c, ext.as_str())?
                    .ok_or_else(|| ApiError::internal("a conflicting customer vanished"))?;
                if u.agrees_with(&stored) {
                    return Ok((stored, false));
                }
                Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "customer_exists",
                    format!("a customer with external_id {ext} exists with other details; PATCH it instead"),
                ))
            })
        })
        .await?;
    let customer = CustomerView::from(customer);
    Ok(if is_new { created(customer) } else { ok(customer) })
}

fn check_links(c: &mut dyn enishi_store::Conn, u: &CustomerUpsert) -> Result<(), ApiError> {
    if let Some(a) = u.account_id {
        if accounts::get(c, a)?.is_none() {
            return Err(ApiError::invalid("account_id", format!("no account {a}")));
        }
    }
    if let Some(r) = u.referred_by {
        if customers::get(c, r)?.is_none() {
            return Err(ApiError::invalid("referred_by", format!("no customer {r}")));
        }
    }
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/customers/{id}", operation_id = "getCustomer", tag = "customers",
    summary = "Get a customer",
    description = "One customer by Enishi id, with its stored analytics `scores`.\n\nRoles: admin, marketer, staff.",
    params(("id" = i64, Path, description = "Enishi customer id.", minimum = 0)),
    responses(
        (status = 200, description = "The customer.", body = CustomerView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn get_customer(
    _: Caller,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
) -> Result<Response, ApiError> {
    let found = state
        .run(move |s| {
            Ok(s.read(|c| -> Result<_, enishi_store::StoreError> {
                let Some(customer) = customers::get(c, id)? else { return Ok(None) };
                Ok(Some((customer, enishi_store::repo::scores::get(c, id)?)))
            })?)
        })
        .await?;
    let (customer, scores) = found.ok_or_else(|| ApiError::not_found(format!("no customer {id}")))?;
    Ok(ok(CustomerView { scores: Some(scores.map(ScoresView::from)), ..CustomerView::from(customer) }))
}

#[utoipa::path(patch, path = "/api/v1/customers/{id}", operation_id = "updateCustomer", tag = "customers",
    summary = "Update a customer",
    description = "Changes the fields given; a JSON null clears a field. `external_id` cannot be changed; a customer cannot refer themselves.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("id" = i64, Path, description = "Enishi customer id.", minimum = 0)),
    request_body(content((CustomerUpdate = "application/json", examples(("update" = (value = json!(
        {"phone": null, "tags": ["vip", "wholesale"], "consents": {"sms": {"status": "opted_out", "source": "unsubscribe_link"}}}
    ))))))),
    responses(
        (status = 200, description = "The customer as updated.", body = CustomerView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn update_customer(
    Manager(caller): Manager,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
    Body(body): Body<JsonMap>,
) -> Result<Response, ApiError> {
    let (mut u, clear) = customer_body(&body, state.workspace())?;
    let customer = state
        .run(move |s| {
            s.write(|c| {
                let existing =
                    customers::get(c, id)?.ok_or_else(|| ApiError::not_found(format!("no customer {id}")))?;
                if u.external_id.as_ref().is_some_and(|e| e.as_str() != existing.external_id) {
                    return Err(ApiError::invalid("external_id", "cannot be changed"));
                }
                if u.referred_by == Some(id) {
                    return Err(ApiError::invalid("referred_by", "a customer cannot refer themselves"));
                }
                check_links(c, &u)?;
                u.external_id = existing.external_id.parse().ok();
                customers::upsert(c, &u)?;
                for f in &clear {
                    customers::clear_field(c, id, f)?;
                }
                // The fields changed, not their values: no personal data in the audit log.
                let fields: Vec<&String> = body.keys().collect();
                let after = json!({"fields": fields, "cleared": clear});
                crate::audit::record(c, &caller.actor, "customers.update", &format!("customer:{id}"), Some(after))?;
                Ok(customers::get(c, id)?)
            })
        })
        .await?;
    Ok(ok(customer.map(CustomerView::from)))
}

#[utoipa::path(delete, path = "/api/v1/customers/{id}", operation_id = "deleteCustomer", tag = "customers",
    summary = "Delete a customer",
    description = "Deletes the customer and everything recorded about them (orders, returns, messages, interactions, events, consents). Customers they referred keep existing with `referred_by` cleared.\n\nRoles: admin only (marketer and staff get 403 `forbidden`).",
    params(("id" = i64, Path, description = "Enishi customer id.", minimum = 0)),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn delete_customer(
    Admin(caller): Admin,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
) -> Result<Response, ApiError> {
    let gone = state
        .run(move |s| {
            Ok(s.write(|c| {
                let gone = customers::delete(c, id)?;
                if gone {
                    crate::audit::record(c, &caller.actor, "customers.delete", &format!("customer:{id}"), None)?;
                }
                Ok::<_, enishi_store::StoreError>(gone)
            })?)
        })
        .await?;
    if gone {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found(format!("no customer {id}")))
    }
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/privacy-export", operation_id = "exportCustomerData", tag = "customers",
    summary = "Everything held about a customer (privacy request)",
    description = "For a GDPR access or portability request or an APPI disclosure request: profile and consent with its history, orders and returns, loyalty account and ledger, messages, interactions, tasks, events, scores and recommendations, as one JSON document. Recorded in the audit log. Roles: admin.",
    params(("id" = i64, Path, description = "Enishi customer id.", minimum = 0)),
    responses(
        (status = 200, description = "The customer's data.", body = PrivacyExport),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
/// Everything held about a customer, for a privacy request (admins); recorded in the audit log.
async fn privacy_export(
    Admin(caller): Admin,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
) -> Result<Response, ApiError> {
    let data = state.run(move |s| Ok(enishi_ingest::privacy::export(s, id, &caller.actor)?)).await?;
    let data = data.ok_or_else(|| ApiError::not_found(format!("no customer {id}")))?;
    Ok(ok(PrivacyExport::from_document(data)))
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/erasure", operation_id = "eraseCustomer", tag = "customers",
    summary = "Erase a customer's personal data (privacy request)",
    description = "For a GDPR erasure or APPI deletion request. Deletes the profile, consent history, messages, interactions, events and recommendations for good (SQLite zeroes the freed content and truncates its WAL; PostgreSQL vacuums the tables); the customer row keeps only its id and `erased:ID` as shop id, and their orders, ledger and totals stay, anonymised, so the books still balance. The shop id goes on an erasure list (as a hash): imports skip it and the API refuses orders for it, so an old file cannot bring the customer back. Recorded in the audit log. No request body. Roles: admin.",
    params(("id" = i64, Path, description = "Enishi customer id.", minimum = 0)),
    responses(
        (status = 200, description = "Erased.", body = Erased),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
/// Erases a customer's personal data for good (admins): see [`enishi_ingest::privacy::erase`].
async fn erase_customer(
    Admin(caller): Admin,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
) -> Result<Response, ApiError> {
    if state.run(move |s| Ok(enishi_ingest::privacy::erase(s, id, &caller.actor)?)).await? {
        Ok(ok(Erased { erased: id, external_id: format!("erased:{id}") }))
    } else {
        Err(ApiError::not_found(format!("no customer {id}")))
    }
}

/// `?limit=&offset=` of a history list: 50 by default, at most 500.

#[utoipa::path(get, path = "/api/v1/customers/{id}/recommendations", operation_id = "customerRecommendations", tag = "customers",
    summary = "Products the customer is likely to buy next",
    description = "The customer's top products from co-purchase (bought items left out unless repeat-bought), best first, as stored by the daily scheduler or `enishi analyze recommend`; empty before the first refresh.\n\nRoles: admin, marketer, staff.",
    params(("id" = i64, Path, description = "Enishi customer id.", minimum = 0)),
    responses(
        (status = 200, description = "The recommendations.", body = RecommendationList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn customer_recommendations(
    _: Caller,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
) -> Result<Response, ApiError> {
    existing(&state, id).await?;
    let items = state.run(move |s| Ok(s.read(|c| enishi_store::repo::scores::recommendations(c, id))?)).await?;
    let items = items.into_iter().map(|(sku, name, score)| Recommendation { sku, name, score }).collect();
    Ok(ok(RecommendationList { items }))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/timeline", operation_id = "getCustomerTimeline", tag = "history",
    summary = "A customer's timeline",
    description = "Orders, returns, messages, interactions and merges (kind `merge`: another record of the same person merged into this customer) of the customer, newest first, paged with `limit` and `offset`. Unknown query parameters are refused (400 `bad_query`).\n\nRoles: admin, marketer, staff.",
    params(("id" = i64, Path, description = "Enishi customer id.", minimum = 0), PageQuery),
    responses(
        (status = 200, description = "A page of the timeline.", body = TimelinePage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn timeline(
    caller: Caller,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
    QueryParams(p): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    let (items, limit, offset) = customer_history(caller, &state, id, p, history::timeline).await?;
    Ok(ok(TimelinePage { items: items.into_iter().map(TimelineView::from).collect(), limit, offset }))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/orders", operation_id = "listCustomerOrders", tag = "orders",
    summary = "A customer's orders",
    description = "The customer's orders with their lines, newest first, paged with `limit` and `offset`. Returns are not included (see `GET /api/v1/orders/{order_id}`).\n\nRoles: admin, marketer, staff.",
    params(("id" = i64, Path, description = "Enishi customer id.", minimum = 0), PageQuery),
    responses(
        (status = 200, description = "A page of orders.", body = OrderPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn customer_orders(
    caller: Caller,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
    QueryParams(p): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    let (items, limit, offset) = customer_history(caller, &state, id, p, orders::for_customer).await?;
    Ok(ok(OrderPage { items: items.into_iter().map(OrderView::from).collect(), limit, offset }))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/communications", operation_id = "listCustomerCommunications", tag = "history",
    summary = "Messages sent to a customer",
    description = "The customer's communication history, newest first, paged with `limit` and `offset`.\n\nRoles: admin, marketer, staff.",
    params(("id" = i64, Path, description = "Enishi customer id.", minimum = 0), PageQuery),
    responses(
        (status = 200, description = "The messages.", body = CommunicationList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn customer_communications(
    caller: Caller,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
    QueryParams(p): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    let (items, limit, offset) = customer_history(caller, &state, id, p, history::communications).await?;
    Ok(ok(CommunicationList { items: items.into_iter().map(CommunicationView::from).collect(), limit, offset }))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/events", operation_id = "listCustomerEvents", tag = "events",
    summary = "A customer's events",
    description = "The customer's behavioural events, newest first, paged with `limit` and `offset`.\n\nRoles: admin, marketer, staff.",
    params(("id" = i64, Path, description = "Enishi customer id.", minimum = 0), PageQuery),
    responses(
        (status = 200, description = "The events.", body = EventList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn customer_events(
    caller: Caller,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
    QueryParams(p): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    let (items, limit, offset) = customer_history(caller, &state, id, p, history::events).await?;
    Ok(ok(EventList { items: items.into_iter().map(EventView::from).collect(), limit, offset }))
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/communications", operation_id = "createCustomerCommunication", tag = "history",
    summary = "Record a message sent",
    description = "Records a message sent to the customer (email, SMS, postal mail, …). Not idempotent: each call adds one.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("id" = i64, Path, description = "Enishi customer id.", minimum = 0)),
    request_body(content((CommunicationBody = "application/json", examples(("email" = (value = json!(
        {"channel": "email", "campaign": "winter-2026", "step": "1", "variant": "A", "subject": "New winter blend", "sent_at": "2026-11-21 09:00", "status": "delivered"}
    ))))))),
    responses(
        (status = 201, description = "The message recorded.", body = CommunicationView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
async fn add_communication(
    _: Manager,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
    Body(b): Body<CommunicationBody>,
) -> Result<Response, ApiError> {
    if b.channel.trim().is_empty() {
        return Err(ApiError::invalid("channel", "is required"));
    }
    let sent_at = match &b.sent_at {
        Some(t) => state.workspace().clock.parse_timestamp(t).map_err(|e| ApiError::invalid("sent_at", e.0))?,
        None => state.now(),
    };
    existing(&state, id).await?;
    let m = Communication {
        id: 0,
        customer_id: id,
        channel: b.channel.trim().to_string(),
        campaign: b.campaign,
        step: b.step,
        variant: b.variant,
        subject: b.subject,
        sent_at,
        status: b.status.unwrap_or_else(|| "sent".into()),
    };
    let stored = state
        .run(move |s| {
            Ok(s.write(|c| {
                let new_id = history::add_communication(c, &m)?;
                Ok::<_, enishi_store::StoreError>(Communication { id: new_id, ..m })
            })?)
        })
        .await?;
    Ok(created(CommunicationView::from(stored)))
}

// Which record to merge into the customer kept.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MergeInput)]
struct MergeBody {
    /// Enishi id of the record merged away (another record of the same person).
    #[schema(minimum = 0)]
    merged_id: i64,
}

// A merge done.
#[derive(Serialize, ToSchema)]
#[schema(as = Merged)]
struct MergedView {
    /// Enishi id of the customer kept.
    kept: i64,
    /// The shop id of the record merged away; from now on it finds the customer kept.
    merged_external_id: String,
    /// Rows moved to the customer kept, per table (tables with none left out).
    #[schema(value_type = Object)]
    moved: Value,
    /// The kept customer's points balance after the merge (the sum of both ledgers); null when neither had points.
    #[schema(required = true)]
    balance: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/merge", operation_id = "mergeCustomer", tag = "customers",
    summary = "Merge another record of the same person into this customer",
    description = "Moves everything the record `merged_id` owns to customer `id`, in one transaction: orders with their lines and returns, the points ledger, lots, stamps, coupons and memberships, messages, interactions, events, the consent trail (per channel the later decision stands), tags, channels, attributes and list memberships. Profile fields customer `id` lacks are taken from the other record (the address only as a whole). The balance, running stats and purchase summary are re-derived (the ledger audit passes), the merge is a 0-point ledger entry and a `merge` timeline entry, and it is recorded in the audit log. The other record is deleted; its shop id and email then find customer `id` (lookups, searches, orders and imports). Cannot be undone.\n\nRoles: admin, marketer (staff gets 403 `forbidden`).",
    params(("id" = i64, Path, description = "Enishi id of the customer kept.", minimum = 0)),
    request_body(content((MergeBody = "application/json", examples(("merge" = (value = json!({"merged_id": 42}))))))),
    responses(
        (status = 200, description = "Merged.", body = MergedView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    ))]
/// Merges another record into a customer (admins and marketers): see
/// [`enishi_ingest::people::merge`].
async fn merge_customer(
    caller: Manager,
    State(state): State<AppState>,
    PathParam(Id(id)): PathParam<Id>,
    Body(b): Body<MergeBody>,
) -> Result<Response, ApiError> {
    use enishi_ingest::people::MergeError;
    let actor = caller.0.actor.clone();
    let other = b.merged_id;
    match state.run(move |s| Ok(enishi_ingest::people::merge(s, id, other, &actor))).await? {
        Ok(m) => {
            let moved: serde_json::Map<String, Value> = m.moved.0.into_iter().map(|(t, n)| (t, json!(n))).collect();
            let balance = m.books.map(|b| b.after);
            Ok(ok(MergedView {
                kept: m.kept,
                merged_external_id: m.merged_external_id,
                moved: Value::Object(moved),
                balance,
            }))
        }
        Err(MergeError::Same) => {
            Err(ApiError::invalid("merged_id", "is this customer: a record cannot be merged with itself"))
        }
        Err(MergeError::NotFound(n)) => Err(ApiError::not_found(format!("no customer {n}"))),
        Err(MergeError::Erased(n)) => Err(ApiError::invalid("merged_id", format!("customer {n} was erased"))),
        Err(MergeError::Store(e)) => Err(e.into()),
    }
}
