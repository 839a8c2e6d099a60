//! One order or return sent through the API: parsed, checked and stored like an imported
//! one, idempotent on the shop's ids.

use chrono::{DateTime, Utc};
use enishi_core::{Amount, BusinessClock, Channel, Currency, Email, ExternalId, Phone, PhoneCountry};
use enishi_rewards::{OrderLoyalty, Programs, ReturnFacts};
use enishi_store::repo::{customers, loyalty, orders, privacy, products, purchase_summary};
use enishi_store::{
    Conn, CustomerUpsert, NewOrder, NewReturn, Order, OrderLine, Product, Return, ReturnLine, StoreError,
};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

/// A field of the request that is wrong: the JSON path and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    /// JSON path of the field (`lines[1].unit_price`).
    pub field: String,
    /// What is wrong.
    pub reason: String,
    /// Whether the value (or a sum or product it takes part in) is out of the range Enishi
    /// stores, rather than malformed.
    pub out_of_range: bool,
}

fn field_err(field: impl Into<String>, reason: impl std::fmt::Display) -> FieldError {
    FieldError { field: field.into(), reason: reason.to_string(), out_of_range: false }
}

fn out_of_range(field: impl Into<String>, reason: impl std::fmt::Display) -> FieldError {
    FieldError { out_of_range: true, ..field_err(field, reason) }
}

/// A line's quantity: at least 1 and at most [`enishi_core::QUANTITY_LIMIT`].
fn line_quantity(field: String, q: i64, hint: &str) -> Result<i64, FieldError> {
    if q < 1 {
        return Err(field_err(field, format!("must be at least 1{hint}")));
    }
    if q > enishi_core::QUANTITY_LIMIT {
        return Err(out_of_range(field, format!("must be at most {}", enishi_core::QUANTITY_LIMIT)));
    }
    Ok(q)
}

/// Why an order or return was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The request is wrong; nothing was written.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// The order a return refers to does not exist.
    #[error("no order with id {0}")]
    UnknownOrder(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The customer an order is for, as an integrator sends it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerRef {
    /// The shop's customer id.
    pub external_id: String,
    /// Email, stored if given.
    #[serde(default)]
    pub email: Option<String>,
    /// Name, stored if given.
    #[serde(default)]
    pub name: Option<String>,
    /// Phone, stored if given.
    #[serde(default)]
    pub phone: Option<String>,
    /// Another customer's referral code: a new customer is attributed to them.
    #[serde(default)]
    pub referral_code: Option<String>,
}

/// An order line as sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    /// Product.
    pub sku: String,
    /// Units (at least 1).
    pub quantity: i64,
    /// Price per unit, as a decimal string.
    pub unit_price: String,
    /// Line amount; defaults to quantity × unit price.
    #[serde(default)]
    pub amount: Option<String>,
    /// Category.
    #[serde(default)]
    pub category: Option<String>,
    /// Product name.
    #[serde(default)]
    pub product_name: Option<String>,
}

/// An order as sent to `POST /api/v1/orders`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderInput {
    /// The shop's order id (idempotency key).
    pub order_id: String,
    /// When it was placed (RFC 3339, or local time in the business time zone).
    pub placed_at: String,
    /// Currency; defaults to the workspace's.
    #[serde(default)]
    pub currency: Option<String>,
    /// Total paid; defaults to the sum of the lines (it may differ: discounts, shipping).
    #[serde(default)]
    pub total: Option<String>,
    /// Channel; defaults to `other`.
    #[serde(default)]
    pub channel: Option<String>,
    /// Status; defaults to `completed`.
    #[serde(default)]
    pub status: Option<String>,
    /// The customer.
    pub customer: CustomerRef,
    /// Lines (at least one).
    pub lines: Vec<LineInput>,
}

/// Workspace defaults that intake needs.
#[derive(Debug, Clone, Copy)]
pub struct Workspace {
    /// Business time zone.
    pub clock: BusinessClock,
    /// Default currency.
    pub currency: Currency,
    /// The country whose national phone numbers are read (stored in E.164), if known.
    pub phone_country: Option<PhoneCountry>,
}

impl Workspace {
    /// A workspace in `clock`'s time zone and `currency`, reading Japanese phone numbers when
    /// it is a yen or Tokyo-time one (and no others).
    pub fn new(clock: BusinessClock, currency: Currency) -> Workspace {
        let japanese = currency.as_str() == "JPY" || clock.tz_name() == "Asia/Tokyo";
        Workspace { clock, currency, phone_country: japanese.then_some(PhoneCountry::JAPAN) }
    }

    /// A phone-country setting as an owner types it — empty for automatic (Japan in a yen or
    /// Tokyo-time workspace), `none` to keep numbers as typed, or a country's ISO code in any
    /// case — as it is stored and [`Workspace::load`] reads it.
    pub fn phone_country_setting(typed: &str) -> Result<String, enishi_core::ParseError> {
        match typed.trim() {
            "" => Ok(String::new()),
            none if none.eq_ignore_ascii_case("none") => Ok("none".to_string()),
            code => Ok(code.parse::<PhoneCountry>()?.code().to_string()),
        }
    }

    /// The workspace settings stored in the database: UTC and USD where none are set; an
    /// error naming the setting when a stored value does not parse.
    pub fn load(store: &enishi_store::Store) -> Result<Workspace, IntakeError> {
        use enishi_store::repo::settings;
        let (tz, currency, country) = store.read(|c| {
            Ok::<_, StoreError>((
                settings::get(c, settings::TIME_ZONE)?,
                settings::get(c, settings::CURRENCY)?,
                settings::get(c, settings::PHONE_COUNTRY)?,
            ))
        })?;
        let bad = |what: &str, e: enishi_core::ParseError| {
            IntakeError::Store(StoreError::Decode(format!("stored {what}: {e} (fix it with `enishi settings`)")))
        };
        let clock = match tz {
            Some(t) => BusinessClock::new(&t).map_err(|e| bad("time zone", e))?,
            None => BusinessClock::default(),
        };
        let currency = match currency {
            Some(c) => c.parse().map_err(|e| bad("currency", e))?,
            None => Currency::USD,
        };
        let mut ws = Workspace::new(clock, currency);
        match country.as_deref() {
            None | Some("") => {}
            Some("none") => ws.phone_country = None,
            Some(code) => ws.phone_country = Some(code.parse().map_err(|e| bad("phone country", e))?),
        }
        Ok(ws)
    }
}

fn parse<T: FromStr<Err = enishi_core::ParseError>>(field: &str, v: &str) -> Result<T, FieldError> {
    v.parse().map_err(|e: enishi_core::ParseError| field_err(field, e.0))
}

/// Checks an order and turns it into what the store takes (the customer id is filled in
/// later) plus the customer's profile fields. An order placed more than a day after `now` is
/// refused.
pub fn check_order(
    input: &OrderInput,
    ws: Workspace,
    now: DateTime<Utc>,
) -> Result<(NewOrder, CustomerUpsert), FieldError> {
    let order_ref: ExternalId = parse("order_id", &input.order_id)?;
    let placed_at = ws.clock.parse_timestamp(&input.placed_at).map_err(|e| field_err("placed_at", e.0))?;
    if placed_at > now + chrono::Duration::days(1) {
        return Err(field_err("placed_at", "is in the future"));
    }
    let currency = match &input.currency {
        Some(c) => parse::<Currency>("currency", c)?,
        None => ws.currency,
    };
    let channel =
        input.channel.as_deref().map(|c| parse::<Channel>("channel", c)).transpose()?.unwrap_or(Channel::Other);
    if input.lines.is_empty() {
        return Err(field_err("lines", "an order needs at least one line"));
    }
    let mut lines = Vec::with_capacity(input.lines.len());
    for (i, l) in input.lines.iter().enumerate() {
        let f = |name: &str| format!("lines[{i}].{name}");
        let sku: ExternalId = parse(&f("sku"), &l.sku)?;
        line_quantity(f("quantity"), l.quantity, " (returns go to /orders/{order_id}/returns)")?;
        let unit_price: Amount = parse(&f("unit_price"), &l.unit_price)?;
        if unit_price.is_negative() {
            return Err(field_err(f("unit_price"), "must not be negative"));
        }
        let amount = match &l.amount {
            Some(a) => parse::<Amount>(&f("amount"), a)?,
            None => unit_price.checked_times(l.quantity).ok_or_else(|| {
                out_of_range(
                    f("quantity"),
                    format!("quantity × unit price exceeds the largest amount, {}", Amount::LIMIT),
                )
            })?,
        };
        if amount.is_negative() {
            return Err(field_err(f("amount"), "must not be negative"));
        }
        lines.push(OrderLine {
            sku: sku.to_string(),
            product_name: l.product_name.clone(),
            category: l.category.clone(),
            quantity: l.quantity,
            unit_price,
            amount,
        });
    }
    let total = match &input.total {
        Some(t) => parse::<Amount>("total", t)?,
        None => Amount::checked_sum(lines.iter().map(|l| l.amount)).ok_or_else(|| {
            out_of_range("lines", format!("the lines add up to more than the largest amount, {}", Amount::LIMIT))
        })?,
    };
    if total.is_negative() {
        return Err(field_err("total", "must not be negative"));
    }
    let customer = CustomerUpsert {
        external_id: Some(parse("customer.external_id", &input.customer.external_id)?),
        name: input.customer.name.clone().filter(|n| !n.trim().is_empty()),
        email: input.customer.email.as_deref().map(|e| parse::<Email>("customer.email", e)).transpose()?,
        phone: input
            .customer
            .phone
            .as_deref()
            .map(|p| parse::<Phone>("customer.phone", p).map(|p| p.in_country(ws.phone_country)))
            .transpose()?,
        first_seen_at: Some(placed_at),
        ..Default::default()
    };
    let order = NewOrder {
        order_ref: order_ref.to_string(),
        customer_id: 0,
        placed_at,
        placed_day: ws.clock.day_number(placed_at),
        channel,
        currency: currency.to_string(),
        total,
        status: input.status.clone().unwrap_or_else(|| "completed".into()),
        lines,
    };
    Ok((order, customer))
}

/// An order as recorded: the stored order, whether it was created now (`false`: a replay,
/// nothing written), and what it did in the loyalty programme (`None` when no programme was
/// in force when it was placed).
pub type RecordedOrder = (Order, bool, Option<OrderLoyalty>);

/// Stores an order unless one with the same id exists, and runs it through the loyalty
/// programme. A replay answers what the first call did.
pub fn record_order(
    c: &mut dyn Conn,
    input: &OrderInput,
    ws: Workspace,
    programs: &Programs,
) -> Result<RecordedOrder, IntakeError> {
    if let Some(existing) = orders::get_by_ref(c, input.order_id.trim())? {
        let loyalty = enishi_rewards::on_order(c, programs, &existing)?;
        return Ok((existing, false, loyalty));
    }
    let (mut order, customer) = check_order(input, ws, c.clock().now())?;
    let customer_id = match customers::id_by_external_id(c, input.customer.external_id.trim())? {
        // Known customers keep their first-seen time.
        Some(found) => {
            customers::update(c, found, &CustomerUpsert { first_seen_at: None, ..customer }).map(|()| found)?
        }
        None => {
            // An erased customer's shop id is free in the table but on the erasure list.
            if privacy::is_erased(c, input.customer.external_id.trim())? {
                let why = "this customer was erased on request, so this id takes no new data; \
                           if they come back and agree to be recorded, give them a new id";
                return Err(field_err("customer.external_id", why).into());
            }
            let id = customers::upsert(c, &customer)?.id();
            if let Some(code) = input.customer.referral_code.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                let referrer = enishi_rewards::referrer_by_code(c, code)?
                    .filter(|&r| r != id)
                    .ok_or_else(|| field_err("customer.referral_code", format!("no customer has the code {code}")))?;
                loyalty::set_referrer(c, id, referrer)?;
            }
            id
        }
    };
    order.customer_id = customer_id;
    let id = match orders::insert_batch(c, std::slice::from_ref(&order))?[0] {
        orders::Inserted::Created(id) => id,
        // Stored by a concurrent writer since the look-up above: this attempt is not the one
        // that created it, so it fails as a conflict (undoing what it wrote) and the caller's
        // retry answers the stored order as a replay.
        orders::Inserted::Duplicate(_) => {
            return Err(StoreError::Conflict(format!("order {} was stored meanwhile", order.order_ref)).into())
        }
    };
    let new_products: Vec<Product> = order
        .lines
        .iter()
        .map(|l| Product {
            sku: l.sku.clone(),
            name: l.product_name.clone(),
            category: l.category.clone(),
            price: Some(l.unit_price),
            currency: Some(order.currency.clone()),
        })
        .collect();
    products::insert_missing(c, &new_products)?;
    customers::refresh_stats(c, &[customer_id])?;
    purchase_summary::after_sale(c, customer_id, Some(order.placed_day), None)?;
    let stored = orders::get(c, id)?.ok_or_else(|| StoreError::NotFound(format!("order {id}")))?;
    let loyalty = enishi_rewards::on_order(c, programs, &stored)?;
    Ok((stored, true, loyalty))
}

/// A return as sent to `POST /api/v1/orders/{order_id}/returns`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnInput {
    /// The shop's return id (idempotency key).
    pub return_id: String,
    /// When; defaults to now.
    #[serde(default)]
    pub returned_at: Option<String>,
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
    /// Returned units per SKU. Without lines and amount, everything not yet returned is
    /// returned (a full return).
    #[serde(default)]
    pub lines: Vec<ReturnLineInput>,
    /// A refund without goods (a price adjustment), when there are no lines.
    #[serde(default)]
    pub amount: Option<String>,
    /// Who records it (a console user or an API token, as the audit log names them): kept
    /// with the points it takes back. Never read from a request body.
    #[serde(skip)]
    pub by: Option<String>,
}

/// Returned units of one SKU.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnLineInput {
    /// Product.
    pub sku: String,
    /// Units returned (at least 1).
    pub quantity: i64,
}

/// Whether `lines` asks for more units of an order (shop id `order_ref`, Enishi id
/// `order_id`) than are left to return after the returns already stored; the reason if so.
pub fn remaining_quantities(
    c: &mut dyn Conn,
    order_id: i64,
    order_ref: &str,
    lines: &[ReturnLine],
) -> Result<Result<(), String>, StoreError> {
    Ok(within_returnable(&orders::returnable_quantities(c, order_id)?, order_ref, lines))
}

/// Whether `lines` fits in `left`, the units of each SKU of order `order_ref` left to return;
/// the reason if not.
pub fn within_returnable(left: &HashMap<String, i64>, order_ref: &str, lines: &[ReturnLine]) -> Result<(), String> {
    let mut asked: BTreeMap<&str, i64> = BTreeMap::new();
    for l in lines {
        *asked.entry(l.sku.as_str()).or_default() += l.quantity;
    }
    for (sku, qty) in asked {
        let left = left.get(sku).copied().unwrap_or(0);
        if qty > left {
            return Err(format!("order {order_ref} has {left} unit(s) of {sku} left to return, not {qty}"));
        }
    }
    Ok(())
}

/// Stores a return of the order with the shop's id `order_ref`, unless one with the same
/// return id exists, and takes back the points the returned part earned. Returns it, whether
/// it was created now, and the points taken back.
pub fn record_return(
    c: &mut dyn Conn,
    order_ref: &str,
    input: &ReturnInput,
    ws: Workspace,
) -> Result<(Return, bool, i64), IntakeError> {
    let return_ref: ExternalId = parse("return_id", &input.return_id)?;
    // The request's own shape is checked before a replay is answered: a malformed request is
    // refused whether or not its return id was used.
    for (i, l) in input.lines.iter().enumerate() {
        parse::<ExternalId>(&format!("lines[{i}].sku"), &l.sku)?;
        line_quantity(format!("lines[{i}].quantity"), l.quantity, "")?;
    }
    if !input.lines.is_empty() && input.amount.is_some() {
        return Err(field_err("amount", "give either lines or an amount, not both").into());
    }
    let order = orders::get_by_ref(c, order_ref)?.ok_or_else(|| IntakeError::UnknownOrder(order_ref.to_string()))?;
    let outcome_of = |c: &mut dyn Conn, id: i64, created: bool| -> Result<(Return, bool, i64), IntakeError> {
        let r = orders::get_return(c, id)?.ok_or_else(|| StoreError::NotFound(format!("return {id}")))?;
        let taken = loyalty::entry_by_key(c, &format!("return:{}", r.return_id))?.map_or(0, |e| -e.points);
        Ok((r, created, taken))
    };
    if let Some(id) = orders::return_id_by_ref(c, return_ref.as_str())? {
        let (existing, _, taken) = outcome_of(c, id, false)?;
        if existing.order_id.as_deref() != Some(order.order_id.as_str()) {
            return Err(field_err(
                "return_id",
                format!(
                    "is already used by a return of another order ({})",
                    existing.order_id.as_deref().unwrap_or("unknown")
                ),
            )
            .into());
        }
        return Ok((existing, false, taken));
    }
    let returned_at = match &input.returned_at {
        Some(t) => ws.clock.parse_timestamp(t).map_err(|e| field_err("returned_at", e.0))?,
        None => c.clock().now(),
    };
    if returned_at < order.placed_at {
        return Err(field_err("returned_at", "is before the order was placed").into());
    }
    let already = orders::returned_quantities(c, order.id)?;
    let bought = bought_by_sku(&order);
    let left_to_refund = order.total - order.returned_amount;
    let (lines, amount) = if !input.lines.is_empty() {
        let mut asked: BTreeMap<&str, i64> = BTreeMap::new();
        for (i, l) in input.lines.iter().enumerate() {
            if !bought.contains_key(l.sku.trim()) {
                return Err(field_err(
                    format!("lines[{i}].sku"),
                    format!("order {order_ref} has no line with SKU {}", l.sku),
                )
                .into());
            }
            *asked.entry(l.sku.trim()).or_default() += l.quantity;
        }
        let lines: Vec<ReturnLine> = asked.iter().map(|(sku, &qty)| bought[sku].returned(sku, qty)).collect();
        if let Err(why) = remaining_quantities(c, order.id, &order.order_id, &lines)? {
            return Err(field_err("lines", why).into());
        }
        // Refund the paid share of the goods (an order-level discount is shared pro rata).
        let value: Amount = lines.iter().map(|l| l.amount).sum();
        let lines_total: Amount = order.lines.iter().map(|l| l.amount).sum();
        (lines, value.prorated(order.total, lines_total).min(left_to_refund))
    } else if let Some(a) = &input.amount {
        let amount: Amount = parse("amount", a)?;
        if amount.is_negative() || amount.is_zero() || amount > left_to_refund {
            return Err(field_err(
                "amount",
                format!("must be more than 0 and at most {left_to_refund} (the order's unrefunded total)"),
            )
            .into());
        }
        (Vec::new(), amount)
    } else {
        // Full return: every unit not yet returned, and whatever is left of the total.
        let lines: Vec<ReturnLine> = bought
            .iter()
            .filter_map(|(sku, b)| {
                let left = b.quantity - already.get(*sku).copied().unwrap_or(0);
                (left > 0).then(|| b.returned(sku, left))
            })
            .collect();
        if lines.is_empty() {
            return Err(field_err("lines", format!("order {order_ref} has been fully returned already")).into());
        }
        (lines, left_to_refund)
    };
    let new = NewReturn {
        return_ref: return_ref.to_string(),
        order_id: Some(order.id),
        customer_id: order.customer_id,
        returned_at,
        amount,
        reason: input.reason.clone(),
        lines,
    };
    let id = orders::insert_returns(c, std::slice::from_ref(&new))?[0].id();
    customers::refresh_stats(c, &[order.customer_id])?;
    purchase_summary::after_sale(c, order.customer_id, None, Some(returned_at.timestamp()))?;
    enishi_rewards::on_return(
        c,
        &ReturnFacts {
            order_id: order.id,
            return_ref: &new.return_ref,
            returned_at,
            reason: new.reason.as_deref(),
            amount: new.amount,
            by: input.by.as_deref(),
        },
    )?;
    outcome_of(c, id, true)
}

/// Units and amount of one SKU over all lines of an order (a SKU may appear on several lines,
/// for instance once paid and once free).
struct Bought {
    quantity: i64,
    amount: Amount,
}

impl Bought {
    /// `qty` returned units, priced at the SKU's average paid unit price.
    fn returned(&self, sku: &str, qty: i64) -> ReturnLine {
        let unit = self.amount.per_unit(self.quantity);
        let amount = if qty == self.quantity { self.amount } else { unit.times(qty) };
        ReturnLine { sku: sku.to_string(), quantity: qty, unit_price: unit, amount }
    }
}

fn bought_by_sku(order: &Order) -> BTreeMap<&str, Bought> {
    let mut out: BTreeMap<&str, Bought> = BTreeMap::new();
    for l in &order.lines {
        let b = out.entry(l.sku.as_str()).or_insert(Bought { quantity: 0, amount: Amount::ZERO });
        b.quantity += l.quantity;
        b.amount = b.amount + l.amount;
    }
    out
}
