//! Readers for the order file formats. Each turns a file into [`SourceLine`]s (one per
//! order line, with its line number) or [`Rejection`]s; grouping lines into orders and
//! everything after is shared ([`crate::orders`]).

use crate::mapping::CsvOptions;
use crate::text::{Encoding, Text, TextState};
use crate::{ImportError, Rejection};
use chrono::{DateTime, Utc};
use enishi_core::{Amount, BusinessClock, Channel, Currency, ExternalId};
use serde::Deserialize;
use std::io::{BufRead, BufReader, Read};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

/// An order file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderFormat {
    /// Enishi's CSV, one row per order line (docs/import.md).
    Generic,
    /// JSON Lines, one order per line (what `export orders --format json` writes).
    Json,
    /// The CDNOW research data (4 columns, or 5 in the sample file).
    Cdnow,
    /// The UCI "Online Retail II" layout.
    OnlineRetail,
    /// Shopify's orders export (one row per line item; the order's columns on its first row).
    Shopify,
}

impl FromStr for OrderFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "generic" | "csv" => Ok(OrderFormat::Generic),
            "json" | "jsonl" => Ok(OrderFormat::Json),
            "cdnow" => Ok(OrderFormat::Cdnow),
            "online-retail" => Ok(OrderFormat::OnlineRetail),
            "shopify" => Ok(OrderFormat::Shopify),
            _ => Err(format!("unknown format '{s}' (generic, json, cdnow, online-retail, shopify)")),
        }
    }
}

impl OrderFormat {
    /// The format's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            OrderFormat::Generic => "generic",
            OrderFormat::Json => "json",
            OrderFormat::Cdnow => "cdnow",
            OrderFormat::OnlineRetail => "online-retail",
            OrderFormat::Shopify => "shopify",
        }
    }

    /// Whether the format is CSV (read in an encoding, through a mapping).
    pub fn is_csv(self) -> bool {
        matches!(self, OrderFormat::Generic | OrderFormat::OnlineRetail | OrderFormat::Shopify)
    }
}

/// One order line as read from a file. A negative quantity makes the line part of a return.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceLine {
    /// Line number in the file.
    pub line: u64,
    /// The shop's order id (or return id, for a return).
    pub order_ref: String,
    /// The shop's customer id; `None` for rows without one (reported, not imported).
    pub customer: Option<String>,
    /// When the order was placed.
    pub placed_at: DateTime<Utc>,
    /// Product.
    pub sku: String,
    /// Units; negative for returned units.
    pub quantity: i64,
    /// Price per unit (never negative).
    pub unit_price: Amount,
    /// Line amount (negative for returns).
    pub amount: Amount,
    /// Currency, if the file says.
    pub currency: Option<Currency>,
    /// Channel, if the file says.
    pub channel: Option<Channel>,
    /// Product category.
    pub category: Option<String>,
    /// Product name.
    pub product_name: Option<String>,
    /// Order status.
    pub status: Option<String>,
    /// For a return line: the original order's id, when the file names it.
    pub return_of: Option<String>,
    /// The order's total when it differs from the sum of its lines (discounts, shipping).
    pub order_total: Option<Amount>,
}

/// A stream of lines or rejections.
pub type Lines<'a> = Box<dyn Iterator<Item = Result<SourceLine, Rejection>> + Send + 'a>;

/// Opens `input` as `format`, a CSV format read as `csv` says. Header problems (empty file,
/// missing or unknown columns) are returned at once. The [`Detected`] handle tells the
/// encoding once the reading has begun.
pub fn open<'a>(
    format: OrderFormat,
    input: impl Read + Send + 'a,
    clock: BusinessClock,
    csv: &CsvOptions,
) -> Result<(Lines<'a>, Detected), ImportError> {
    match format {
        OrderFormat::Generic => generic(input, clock, csv),
        OrderFormat::OnlineRetail => online_retail(input, clock, csv),
        OrderFormat::Shopify => shopify(input, clock, csv),
        OrderFormat::Cdnow => Ok((Box::new(Cdnow::new(input, clock)), Detected::default())),
        OrderFormat::Json => Ok((Box::new(JsonOrders::new(input, clock)), Detected::default())),
    }
}

// ------------------------------------------------------------------ CSV helpers

/// A CSV file with a header row, read as text fields by column name.
pub(crate) struct Csv<R: Read> {
    reader: csv::Reader<Text<R>>,
    /// The decoded text's encoding and line breaks.
    text: Arc<Mutex<TextState>>,
    record: csv::ByteRecord,
    /// Column names (Enishi's fields), in file order; `""` for a column the mapping ignores.
    pub(crate) names: Vec<String>,
    /// The file's own header of each column, in file order.
    headers: Vec<String>,
    /// The column that names the group a row belongs to (the order), reported with rejections.
    key: Option<&'static str>,
}

impl<R: Read> Csv<R> {
    /// Opens a CSV file in `opts.encoding` and checks its header, read through
    /// `opts.mapping`: every `required` column present and, unless `allow_extra` says
    /// otherwise, no column outside `required` and `optional`.
    pub(crate) fn open(
        input: R,
        opts: &CsvOptions,
        required: &[&str],
        optional: &[&str],
        allow_extra: impl Fn(&str) -> bool,
        aliases: &[(&str, &str)],
    ) -> Result<Self, ImportError> {
        let (text, state) = Text::new(input, opts.encoding);
        let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text);
        let mut header = csv::ByteRecord::new();
        let has = loop {
            let has = reader.read_byte_record(&mut header).map_err(|e| csv_file_error(&e, &state))?;
            // Blank lines before the header are skipped like any other.
            if !has || !header.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
                break has;
            }
        };
        let header_line = header.position().map_or(1, |p| line_at(&state, p.byte()));
        if !has {
            return Err(ImportError::File(Rejection::line(1, "the file is empty (expected a header row)")));
        }
        let mut names = Vec::new();
        let mut headers = Vec::new();
        for (i, raw) in header.iter().enumerate() {
            let own = std::str::from_utf8(raw)
                .map_err(|_| {
                    ImportError::File(Rejection::line(
                        header_line,
                        format!("header column {} is not UTF-8 text", i + 1),
                    ))
                })?
                .trim()
                .to_string();
            headers.push(own.clone());
            let Some(name) = opts.mapping.field(&own) else {
                names.push(String::new());
                continue;
            };
            let name = aliases.iter().find(|(a, _)| *a == name).map_or(name, |(_, to)| *to).to_string();
            if !required.contains(&name.as_str()) && !optional.contains(&name.as_str()) && !allow_extra(&name) {
                return Err(ImportError::File(Rejection::at(
                    header_line,
                    own.clone(),
                    format!("unknown column '{name}' (known columns: {})", [required, optional].concat().join(", ")),
                )));
            }
            if names.contains(&name) {
                return Err(ImportError::File(Rejection::at(header_line, own.clone(), "column appears twice")));
            }
            names.push(name);
        }
        for r in required {
            if !names.iter().any(|n| n == r) {
                return Err(ImportError::File(Rejection::at(
                    header_line,
                    *r,
                    format!("missing required column '{r}'"),
                )));
            }
        }
        Ok(Csv { reader, text: state, record: csv::ByteRecord::new(), names, headers, key: None })
    }

    /// The encoding the file is read in (`Auto` while only ASCII has been read).
    pub(crate) fn detected(&self) -> Detected {
        Detected(Some(self.text.clone()))
    }

    /// The same rejection, naming the column by the file's own header when the mapping
    /// renamed it.
    pub(crate) fn relabel(&self, r: Rejection) -> Rejection {
        self.labels().relabel(r)
    }

    /// The columns the mapping renamed: (field, the file's header).
    pub(crate) fn labels(&self) -> Labels {
        Labels(
            self.names
                .iter()
                .zip(&self.headers)
                .filter(|(n, h)| !n.is_empty() && n != h)
                .map(|(n, h)| (n.clone(), h.clone()))
                .collect(),
        )
    }

    /// Names the column that identifies a row's order, so that rejections of malformed rows
    /// still say which order they spoil.
    pub(crate) fn with_key(mut self, column: &'static str) -> Self {
        self.key = Some(column);
        self
    }

    /// Reads the next row; `Ok(None)` at the end. The row is then read with [`Csv::get`].
    pub(crate) fn next_row(&mut self) -> Option<Result<u64, Rejection>> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => None,
            Ok(true) => {
                let line = self.record.position().map_or(0, |p| line_at(&self.text, p.byte()));
                if self.record.len() != self.names.len() {
                    if self.record.len() == 1 && self.record.get(0).is_some_and(|f| f.is_empty()) {
                        return self.next_row(); // blank line
                    }
                    let order = self.key.and_then(|k| self.get(line, k).ok().flatten()).map(String::from);
                    return Some(Err(Rejection::line(
                        line,
                        format!("has {} fields but the header has {}", self.record.len(), self.names.len()),
                    )
                    .in_order(order.as_deref())));
                }
                Some(Ok(line))
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| line_at(&self.text, p.byte()));
                Some(Err(Rejection::line(line, format!("unreadable CSV: {e}"))))
            }
        }
    }

    /// The trimmed text of `column` in the current row; `None` when the column is absent or
    /// the cell is empty.
    pub(crate) fn get(&self, line: u64, column: &str) -> Result<Option<&str>, Rejection> {
        // A short linear scan beats hashing the name for the dozen columns a file has.
        let Some(i) = self.names.iter().position(|n| n == column) else { return Ok(None) };
        let raw = self.record.get(i).unwrap_or_default();
        let text = std::str::from_utf8(raw).map_err(|_| Rejection::at(line, column, "is not UTF-8 text"))?.trim();
        if raw.iter().any(|&b| b < b' ') {
            crate::controls::check_text(text).map_err(|why| Rejection::at(line, column, why))?;
        }
        if text.contains('\u{FFFD}') {
            // What the decoder put in place of bytes that are not Shift_JIS.
            let (encoding, detected) = self.text.lock().map_or((Encoding::Auto, false), |s| (s.encoding, s.detected));
            if encoding == Encoding::ShiftJis {
                let why = if detected {
                    "is neither UTF-8 nor Shift_JIS (CP932) text"
                } else {
                    "is not Shift_JIS (CP932) text"
                };
                return Err(Rejection::at(line, column, why));
            }
        }
        // A cell an export neutralised for spreadsheets reads back as it was stored.
        let text = crate::export::unneutralise(text);
        Ok((!text.is_empty()).then_some(text))
    }

    /// Like [`Csv::get`], but the cell must have a value.
    pub(crate) fn require(&self, line: u64, column: &str) -> Result<&str, Rejection> {
        self.get(line, column)?.ok_or_else(|| Rejection::at(line, column, "is empty"))
    }

    /// Parses a cell with `parse`, naming the line and column on failure.
    pub(crate) fn parse<T, E: std::fmt::Display>(
        &self,
        line: u64,
        column: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Option<T>, Rejection> {
        self.get(line, column)?.map(|t| parse(t).map_err(|e| Rejection::at(line, column, e.to_string()))).transpose()
    }
}

fn csv_file_error(e: &csv::Error, text: &Arc<Mutex<TextState>>) -> ImportError {
    ImportError::File(Rejection::line(
        e.position().map_or(1, |p| line_at(text, p.byte())),
        format!("unreadable CSV: {e}"),
    ))
}

/// The columns a mapping renamed: (Enishi's field, the file's header).
#[derive(Debug, Clone, Default)]
pub(crate) struct Labels(Vec<(String, String)>);

impl Labels {
    /// The same rejection, naming its column by the file's own header.
    pub(crate) fn relabel(&self, mut r: Rejection) -> Rejection {
        if let Some(c) = &r.column {
            if let Some((_, header)) = self.0.iter().find(|(field, _)| field == c) {
                r.column = Some(header.clone());
            }
        }
        r
    }
}

/// The physical line of the record that starts at byte `offset` of the decoded text.
fn line_at(text: &Arc<Mutex<TextState>>, offset: u64) -> u64 {
    text.lock().map_or(0, |mut s| s.line_at(offset))
}

/// The encoding a file was read in, known once the reading has begun.
#[derive(Debug, Clone, Default)]
pub struct Detected(Option<Arc<Mutex<TextState>>>);

impl Detected {
    /// The encoding: `Utf8` for a file that was all ASCII, `Auto` for a format that is not
    /// CSV.
    pub fn encoding(&self) -> Encoding {
        match &self.0 {
            None => Encoding::Auto,
            Some(s) => match s.lock().map(|s| s.encoding).unwrap_or_default() {
                Encoding::Auto => Encoding::Utf8,
                e => e,
            },
        }
    }
}

fn parse_quantity(t: &str) -> Result<i64, String> {
    let t = t.strip_suffix(".0").unwrap_or(t);
    t.parse::<i64>().map_err(|_| format!("'{t}' is not a whole number")).and_then(check_quantity)
}

/// A line's quantity: not 0, and within [`enishi_core::QUANTITY_LIMIT`] either way.
fn check_quantity(q: i64) -> Result<i64, String> {
    if q == 0 {
        Err("is 0: leave the line out (a free item has unit_price 0)".into())
    } else if q.unsigned_abs() > enishi_core::QUANTITY_LIMIT as u64 {
        Err(format!("{q} is out of range (at most {} either way)", enishi_core::QUANTITY_LIMIT))
    } else {
        Ok(q)
    }
}

/// `unit_price` × `quantity`, refused (naming `column`) when it exceeds the largest amount.
fn line_amount(line: u64, column: &str, unit_price: Amount, quantity: i64) -> Result<Amount, Rejection> {
    unit_price.checked_times(quantity).ok_or_else(|| {
        Rejection::at(
            line,
            column,
            format!("quantity × unit price is out of range (at most {} either way)", Amount::LIMIT),
        )
    })
}

/// Checks an id the shop gives (order, customer, SKU): non-empty, at most 128 characters, no
/// control characters.
fn id(line: u64, column: &str, t: &str) -> Result<String, Rejection> {
    t.parse::<ExternalId>().map(|v| v.to_string()).map_err(|e| Rejection::at(line, column, e.0))
}

fn non_negative_price(t: &str) -> Result<Amount, String> {
    let a: Amount = t.parse().map_err(|e: enishi_core::ParseError| e.0)?;
    if a.is_negative() {
        Err(format!("'{t}' is negative (a unit price must be zero or more; returns use a negative quantity)"))
    } else {
        Ok(a)
    }
}

// ------------------------------------------------------------------ generic CSV

/// Columns of the generic order CSV that must be present.
pub const GENERIC_REQUIRED: &[&str] = &["order_id", "customer_id", "placed_at", "sku", "quantity", "unit_price"];
/// Columns of the generic order CSV that may be present.
pub const GENERIC_OPTIONAL: &[&str] =
    &["line_amount", "order_total", "currency", "channel", "category", "product_name", "status", "return_of"];

fn generic<'a>(
    input: impl Read + Send + 'a,
    clock: BusinessClock,
    opts: &CsvOptions,
) -> Result<(Lines<'a>, Detected), ImportError> {
    let mut csv = Csv::open(input, opts, GENERIC_REQUIRED, GENERIC_OPTIONAL, |_| false, &[])?.with_key("order_id");
    let detected = csv.detected();
    let lines = std::iter::from_fn(move || {
        let line = match csv.next_row()? {
            Ok(l) => l,
            Err(r) => return Some(Err(r)),
        };
        let order = csv.get(line, "order_id").ok().flatten().map(String::from);
        Some(generic_row(&csv, line, clock).map_err(|r| csv.relabel(r).in_order(order.as_deref())))
    });
    Ok((Box::new(lines), detected))
}

fn generic_row<R: Read>(csv: &Csv<R>, line: u64, clock: BusinessClock) -> Result<SourceLine, Rejection> {
    let quantity =
        csv.parse(line, "quantity", parse_quantity)?.ok_or_else(|| Rejection::at(line, "quantity", "is empty"))?;
    let unit_price = csv
        .parse(line, "unit_price", non_negative_price)?
        .ok_or_else(|| Rejection::at(line, "unit_price", "is empty"))?;
    let amount = match csv.parse(line, "line_amount", |t| t.parse::<Amount>().map_err(|e| e.0))? {
        Some(a) => {
            if (a.is_negative() && quantity > 0) || (!a.is_zero() && !a.is_negative() && quantity < 0) {
                return Err(Rejection::at(line, "line_amount", "has the opposite sign of quantity"));
            }
            a
        }
        None => line_amount(line, "quantity", unit_price, quantity)?,
    };
    Ok(SourceLine {
        line,
        order_ref: id(line, "order_id", csv.require(line, "order_id")?)?,
        customer: Some(id(line, "customer_id", csv.require(line, "customer_id")?)?),
        placed_at: csv
            .parse(line, "placed_at", |t| clock.parse_timestamp(t))?
            .ok_or_else(|| Rejection::at(line, "placed_at", "is empty"))?,
        sku: id(line, "sku", csv.require(line, "sku")?)?,
        quantity,
        unit_price,
        amount,
        currency: csv.parse(line, "currency", Currency::from_str)?,
        channel: csv.parse(line, "channel", Channel::from_str)?,
        category: csv.get(line, "category")?.map(String::from),
        product_name: csv.get(line, "product_name")?.map(String::from),
        status: csv.get(line, "status")?.map(String::from),
        return_of: csv.get(line, "return_of")?.map(String::from),
        order_total: csv.parse(line, "order_total", non_negative_price)?,
    })
}

// ------------------------------------------------------------------ Online Retail II

const RETAIL_REQUIRED: &[&str] = &["Invoice", "StockCode", "Quantity", "InvoiceDate", "Price", "Customer ID"];
const RETAIL_OPTIONAL: &[&str] = &["Description", "Country"];
/// Column names of the first "Online Retail" data set, read as their II equivalents.
const RETAIL_ALIASES: &[(&str, &str)] =
    &[("InvoiceNo", "Invoice"), ("UnitPrice", "Price"), ("CustomerID", "Customer ID")];

fn online_retail<'a>(
    input: impl Read + Send + 'a,
    clock: BusinessClock,
    opts: &CsvOptions,
) -> Result<(Lines<'a>, Detected), ImportError> {
    let mut csv =
        Csv::open(input, opts, RETAIL_REQUIRED, RETAIL_OPTIONAL, |_| false, RETAIL_ALIASES)?.with_key("Invoice");
    let detected = csv.detected();
    let gbp = Currency::from_str("GBP").ok();
    let lines = std::iter::from_fn(move || {
        let line = match csv.next_row()? {
            Ok(l) => l,
            Err(r) => return Some(Err(r)),
        };
        let order = csv.get(line, "Invoice").ok().flatten().map(String::from);
        Some(retail_row(&csv, line, clock, gbp).map_err(|r| csv.relabel(r).in_order(order.as_deref())))
    });
    Ok((Box::new(lines), detected))
}

fn retail_row<R: Read>(
    csv: &Csv<R>,
    line: u64,
    clock: BusinessClock,
    gbp: Option<Currency>,
) -> Result<SourceLine, Rejection> {
    let invoice = id(line, "Invoice", csv.require(line, "Invoice")?)?;
    let quantity =
        csv.parse(line, "Quantity", parse_quantity)?.ok_or_else(|| Rejection::at(line, "Quantity", "is empty"))?;
    let cancellation = invoice.starts_with('C');
    if cancellation && quantity > 0 {
        return Err(Rejection::at(
            line,
            "Quantity",
            "a cancellation (invoice starting with C) needs a negative quantity",
        ));
    }
    let unit_price =
        csv.parse(line, "Price", non_negative_price)?.ok_or_else(|| Rejection::at(line, "Price", "is empty"))?;
    // Some exports write customer ids as floats ("13085.0").
    let customer = csv
        .get(line, "Customer ID")?
        .map(|c| id(line, "Customer ID", c.strip_suffix(".0").unwrap_or(c)))
        .transpose()?;
    Ok(SourceLine {
        line,
        order_ref: invoice,
        customer,
        placed_at: csv
            .parse(line, "InvoiceDate", |t| clock.parse_timestamp(t))?
            .ok_or_else(|| Rejection::at(line, "InvoiceDate", "is empty"))?,
        sku: id(line, "StockCode", csv.require(line, "StockCode")?)?,
        quantity,
        unit_price,
        amount: line_amount(line, "Quantity", unit_price, quantity)?,
        currency: gbp,
        channel: Some(Channel::Ecommerce),
        category: None,
        product_name: csv.get(line, "Description")?.map(String::from),
        status: None,
        return_of: None,
        order_total: None,
    })
}

// ------------------------------------------------------------------ Shopify

/// Columns of Shopify's orders export that must be present.
const SHOPIFY_REQUIRED: &[&str] = &["Name", "Created at", "Lineitem quantity", "Lineitem price", "Lineitem name"];
/// Columns of Shopify's orders export that are read when present (the export has many more,
/// which are ignored).
const SHOPIFY_OPTIONAL: &[&str] =
    &["Email", "Phone", "Financial Status", "Paid at", "Currency", "Total", "Lineitem sku", "Cancelled at", "Source"];

/// The order-level columns, which Shopify writes on an order's first row only.
struct ShopifyOrder {
    name: String,
    /// `None` when the first row was rejected: the order's other rows are too.
    fields: Option<ShopifyFields>,
}

#[derive(Clone)]
struct ShopifyFields {
    customer: Option<String>,
    placed_at: DateTime<Utc>,
    currency: Option<Currency>,
    total: Option<Amount>,
    status: Option<String>,
    channel: Channel,
}

fn shopify<'a>(
    input: impl Read + Send + 'a,
    clock: BusinessClock,
    opts: &CsvOptions,
) -> Result<(Lines<'a>, Detected), ImportError> {
    let mut csv = Csv::open(input, opts, SHOPIFY_REQUIRED, SHOPIFY_OPTIONAL, |_| true, &[])?.with_key("Name");
    let detected = csv.detected();
    let mut order: Option<ShopifyOrder> = None;
    let lines = std::iter::from_fn(move || {
        let line = match csv.next_row()? {
            Ok(l) => l,
            Err(r) => return Some(Err(r)),
        };
        let name = match csv.require(line, "Name").and_then(|n| id(line, "Name", n)) {
            Ok(n) => n,
            Err(r) => return Some(Err(csv.relabel(r))),
        };
        if order.as_ref().is_none_or(|o| o.name != name) {
            let fields = shopify_order(&csv, line, clock);
            let first = fields.as_ref().err().cloned();
            order = Some(ShopifyOrder { name: name.clone(), fields: fields.ok() });
            if let Some(r) = first {
                return Some(Err(csv.relabel(r).in_order(Some(&name))));
            }
        }
        let Some(fields) = order.as_ref().and_then(|o| o.fields.clone()) else {
            let why = format!("another line of order {name} was rejected");
            return Some(Err(Rejection::line(line, why).in_order(Some(&name))));
        };
        Some(shopify_line(&csv, line, name.clone(), fields).map_err(|r| csv.relabel(r).in_order(Some(&name))))
    });
    Ok((Box::new(lines), detected))
}

/// Shopify's times: `2026-11-20 18:05:00 +0900`, or any form Enishi reads.
fn shopify_time(t: &str, clock: BusinessClock) -> Result<DateTime<Utc>, String> {
    match DateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S %z") {
        Ok(at) => Ok(at.with_timezone(&Utc)),
        Err(_) => clock.parse_timestamp(t).map_err(|e| e.0),
    }
}

fn shopify_order<R: Read>(csv: &Csv<R>, line: u64, clock: BusinessClock) -> Result<ShopifyFields, Rejection> {
    // Orders are keyed by the buyer's email (lower case), or their phone when there is none.
    let customer = match csv.get(line, "Email")? {
        Some(e) => Some(id(line, "Email", &e.to_lowercase())?),
        None => csv.get(line, "Phone")?.map(|p| id(line, "Phone", p)).transpose()?,
    };
    let placed_at = match csv.parse(line, "Created at", |t| shopify_time(t, clock))? {
        Some(at) => at,
        None => csv
            .parse(line, "Paid at", |t| shopify_time(t, clock))?
            .ok_or_else(|| Rejection::at(line, "Created at", "is empty"))?,
    };
    let status = if csv.get(line, "Cancelled at")?.is_some() {
        Some("cancelled".to_string())
    } else {
        csv.get(line, "Financial Status")?.map(String::from)
    };
    let channel = match csv.get(line, "Source")? {
        Some(s) if s.eq_ignore_ascii_case("pos") => Channel::InStore,
        _ => Channel::Ecommerce,
    };
    Ok(ShopifyFields {
        customer,
        placed_at,
        currency: csv.parse(line, "Currency", Currency::from_str)?,
        total: csv.parse(line, "Total", non_negative_price)?,
        status,
        channel,
    })
}

fn shopify_line<R: Read>(
    csv: &Csv<R>,
    line: u64,
    order_ref: String,
    o: ShopifyFields,
) -> Result<SourceLine, Rejection> {
    let quantity = csv
        .parse(line, "Lineitem quantity", parse_quantity)?
        .ok_or_else(|| Rejection::at(line, "Lineitem quantity", "is empty"))?;
    let unit_price = csv
        .parse(line, "Lineitem price", non_negative_price)?
        .ok_or_else(|| Rejection::at(line, "Lineitem price", "is empty"))?;
    let name = csv.require(line, "Lineitem name")?;
    // Products without a SKU are known by their name.
    let sku = match csv.get(line, "Lineitem sku")? {
        Some(s) => id(line, "Lineitem sku", s)?,
        None => id(line, "Lineitem name", name)?,
    };
    Ok(SourceLine {
        line,
        order_ref,
        customer: o.customer,
        placed_at: o.placed_at,
        sku,
        quantity,
        unit_price,
        amount: line_amount(line, "Lineitem quantity", unit_price, quantity)?,
        currency: o.currency,
        channel: Some(o.channel),
        category: None,
        product_name: Some(name.to_string()),
        status: o.status,
        return_of: None,
        order_total: o.total,
    })
}

// ------------------------------------------------------------------ CDNOW

/// The CDNOW files: whitespace-separated `customer date cds dollars` (master) or
/// `customer sample_id date cds dollars` (sample), dates as YYYYMMDD, an optional header.
/// Each row is one order; its id is made from customer, date and its position that day.
struct Cdnow<R: Read> {
    lines: std::io::Split<BufReader<R>>,
    line: u64,
    columns: Option<usize>,
    clock: BusinessClock,
    last_key: (String, String),
    same_day: u32,
}

impl<R: Read> Cdnow<R> {
    fn new(input: R, clock: BusinessClock) -> Self {
        Cdnow {
            lines: BufReader::with_capacity(1 << 16, input).split(b'\n'),
            line: 0,
            columns: None,
            clock,
            last_key: Default::default(),
            same_day: 0,
        }
    }

    fn row(&mut self, raw: &[u8]) -> Option<Result<SourceLine, Rejection>> {
        let line = self.line;
        let text = match std::str::from_utf8(raw) {
            Ok(t) => t,
            Err(_) => return Some(Err(Rejection::line(line, "is not UTF-8 text"))),
        };
        let fields: Vec<&str> = text.split_whitespace().collect();
        if fields.is_empty() {
            return None;
        }
        if line == 1 && !fields[0].bytes().all(|b| b.is_ascii_digit()) {
            return None; // header
        }
        let width = *self.columns.get_or_insert(fields.len());
        if width != 4 && width != 5 {
            return Some(Err(Rejection::line(
                line,
                format!("has {width} columns; CDNOW files have 4 (master) or 5 (sample)"),
            )));
        }
        if fields.len() != width {
            return Some(Err(Rejection::line(
                line,
                format!("has {} columns, earlier lines have {width}", fields.len()),
            )));
        }
        let off = width - 4;
        let (customer, date, cds, dollars) = (fields[0], fields[1 + off], fields[2 + off], fields[3 + off]);
        Some(self.build(line, customer, date, cds, dollars))
    }

    fn build(
        &mut self,
        line: u64,
        customer: &str,
        date: &str,
        cds: &str,
        dollars: &str,
    ) -> Result<SourceLine, Rejection> {
        if date.len() != 8 {
            return Err(Rejection::at(line, "date", format!("'{date}' is not a YYYYMMDD date")));
        }
        let placed_at = self.clock.parse_timestamp(date).map_err(|e| Rejection::at(line, "date", e.0))?;
        let quantity = parse_quantity(cds).map_err(|e| Rejection::at(line, "number_of_cds", e))?;
        if quantity < 0 {
            return Err(Rejection::at(line, "number_of_cds", "is negative"));
        }
        let amount = non_negative_price(dollars).map_err(|e| Rejection::at(line, "dollar_value", e))?;
        let key = (customer.to_string(), date.to_string());
        if key == self.last_key {
            self.same_day += 1;
        } else {
            self.last_key = key;
            self.same_day = 1;
        }
        let unit_price = amount.per_unit(quantity);
        Ok(SourceLine {
            line,
            order_ref: format!("cdnow-{customer}-{date}-{}", self.same_day),
            customer: Some(customer.to_string()),
            placed_at,
            sku: "CD".into(),
            quantity,
            unit_price,
            amount,
            currency: Some(Currency::USD),
            channel: Some(Channel::Ecommerce),
            category: Some("music".into()),
            product_name: None,
            status: None,
            return_of: None,
            order_total: None,
        })
    }
}

impl<R: Read> Iterator for Cdnow<R> {
    type Item = Result<SourceLine, Rejection>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.line += 1;
            let raw = match self.lines.next()? {
                Ok(r) => r,
                Err(e) => return Some(Err(Rejection::line(self.line, format!("cannot read: {e}")))),
            };
            let raw = raw.strip_suffix(b"\r").unwrap_or(&raw).to_vec();
            if let Some(r) = self.row(&raw) {
                return Some(r);
            }
        }
    }
}

// ------------------------------------------------------------------ JSON Lines

/// One order of a JSON Lines file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonOrder {
    order_id: String,
    customer_id: String,
    placed_at: String,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    return_of: Option<String>,
    #[serde(default)]
    total: Option<String>,
    lines: Vec<JsonLine>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonLine {
    sku: String,
    quantity: i64,
    unit_price: String,
    #[serde(default)]
    amount: Option<String>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    product_name: Option<String>,
}

struct JsonOrders<R: Read> {
    lines: std::io::Split<BufReader<R>>,
    line: u64,
    clock: BusinessClock,
    queue: std::collections::VecDeque<Result<SourceLine, Rejection>>,
}

impl<R: Read> JsonOrders<R> {
    fn new(input: R, clock: BusinessClock) -> Self {
        JsonOrders { lines: BufReader::new(input).split(b'\n'), line: 0, clock, queue: Default::default() }
    }

    fn expand(&self, o: JsonOrder) -> Result<Vec<SourceLine>, Rejection> {
        let line = self.line;
        let placed_at = self.clock.parse_timestamp(&o.placed_at).map_err(|e| Rejection::at(line, "placed_at", e.0))?;
        let currency = o
            .currency
            .as_deref()
            .map(Currency::from_str)
            .transpose()
            .map_err(|e| Rejection::at(line, "currency", e.0))?;
        let channel =
            o.channel.as_deref().map(Channel::from_str).transpose().map_err(|e| Rejection::at(line, "channel", e.0))?;
        let order_total =
            o.total.as_deref().map(non_negative_price).transpose().map_err(|e| Rejection::at(line, "total", e))?;
        let order_ref = id(line, "order_id", &o.order_id)?;
        let customer = id(line, "customer_id", &o.customer_id)?;
        if o.lines.is_empty() {
            return Err(Rejection::at(line, "lines", "an order needs at least one line"));
        }
        o.lines
            .into_iter()
            .enumerate()
            .map(|(i, l)| {
                let field = |f: &str| format!("lines[{i}].{f}");
                check_quantity(l.quantity).map_err(|e| Rejection::at(line, field("quantity"), e))?;
                let sku = id(line, &field("sku"), &l.sku)?;
                let unit_price =
                    non_negative_price(&l.unit_price).map_err(|e| Rejection::at(line, field("unit_price"), e))?;
                let amount = match l.amount {
                    Some(a) => a.parse::<Amount>().map_err(|e| Rejection::at(line, field("amount"), e.0))?,
                    None => line_amount(line, &field("quantity"), unit_price, l.quantity)?,
                };
                if (amount.is_negative() && l.quantity > 0)
                    || (!amount.is_zero() && !amount.is_negative() && l.quantity < 0)
                {
                    return Err(Rejection::at(line, field("amount"), "has the opposite sign of quantity"));
                }
                Ok(SourceLine {
                    line,
                    order_ref: order_ref.clone(),
                    customer: Some(customer.clone()),
                    placed_at,
                    sku,
                    quantity: l.quantity,
                    unit_price,
                    amount,
                    currency,
                    channel,
                    category: l.category,
                    product_name: l.product_name,
                    status: o.status.clone(),
                    return_of: o.return_of.clone(),
                    order_total,
                })
            })
            .collect()
    }
}

impl<R: Read> Iterator for JsonOrders<R> {
    type Item = Result<SourceLine, Rejection>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(x) = self.queue.pop_front() {
                return Some(x);
            }
            self.line += 1;
            let raw = match self.lines.next() {
                None => return None,
                Some(Err(e)) => return Some(Err(Rejection::line(self.line, format!("cannot read: {e}")))),
                Some(Ok(r)) => r,
            };
            let Ok(text) = std::str::from_utf8(&raw) else {
                return Some(Err(Rejection::line(self.line, "is not UTF-8 text")));
            };
            if text.trim().is_empty() {
                continue;
            }
            if let Some((field, why)) = crate::controls::find_in_raw_json(text.as_bytes()) {
                return Some(Err(Rejection::at(self.line, field, why)));
            }
            match serde_json::from_str::<JsonOrder>(text) {
                Err(e) => return Some(Err(Rejection::line(self.line, format!("invalid order JSON: {e}")))),
                Ok(o) => {
                    let id = o.order_id.clone();
                    match self.expand(o) {
                        Ok(lines) => self.queue.extend(lines.into_iter().map(Ok)),
                        Err(r) => return Some(Err(r.in_order(Some(&id)))),
                    }
                }
            }
        }
    }
}
