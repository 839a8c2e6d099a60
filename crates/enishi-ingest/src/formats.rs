//! Readers for the order file formats. Each turns a file into [`SourceLine`]s (one per
//! order line, with its line number) or [`Rejection`]s; grouping lines into orders and
//! everything after is shared ([`crate::orders`]).

use crate::{ImportError, Rejection};
use chrono::{DateTime, Utc};
use enishi_core::{Amount, BusinessClock, Channel, Currency, ExternalId};
use serde::Deserialize;
use std::io::{BufRead, BufReader, Read};
use std::str::FromStr;

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
}

impl FromStr for OrderFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "generic" | "csv" => Ok(OrderFormat::Generic),
            "json" | "jsonl" => Ok(OrderFormat::Json),
            "cdnow" => Ok(OrderFormat::Cdnow),
            "online-retail" => Ok(OrderFormat::OnlineRetail),
            _ => Err(format!("unknown format '{s}' (generic, json, cdnow, online-retail)")),
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
        }
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

/// Opens `input` as `format`. Header problems (empty file, missing or unknown columns) are
/// returned at once.
pub fn open<'a>(
    format: OrderFormat,
    input: impl Read + Send + 'a,
    clock: BusinessClock,
) -> Result<Lines<'a>, ImportError> {
    match format {
        OrderFormat::Generic => generic(input, clock),
        OrderFormat::OnlineRetail => online_retail(input, clock),
        OrderFormat::Cdnow => Ok(Box::new(Cdnow::new(input, clock))),
        OrderFormat::Json => Ok(Box::new(JsonOrders::new(input, clock))),
    }
}

// ------------------------------------------------------------------ CSV helpers

/// A CSV file with a header row, read as text fields by column name.
pub(crate) struct Csv<R: Read> {
    reader: csv::Reader<R>,
    record: csv::ByteRecord,
    /// Column names, in file order.
    pub(crate) names: Vec<String>,
    /// The column that names the group a row belongs to (the order), reported with rejections.
    key: Option<&'static str>,
}

impl<R: Read> Csv<R> {
    /// Opens a CSV file and checks its header: every `required` column present and, unless
    /// `allow_extra` says otherwise, no column outside `required` and `optional`.
    pub(crate) fn open(
        input: R,
        required: &[&str],
        optional: &[&str],
        allow_extra: impl Fn(&str) -> bool,
        aliases: &[(&str, &str)],
    ) -> Result<Self, ImportError> {
        let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(input);
        let mut header = csv::ByteRecord::new();
        let has = reader.read_byte_record(&mut header).map_err(|e| csv_file_error(&e))?;
        if !has || header.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            return Err(ImportError::File(Rejection::line(1, "the file is empty (expected a header row)")));
        }
        let mut names = Vec::new();
        for (i, raw) in header.iter().enumerate() {
            let raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
            let name = std::str::from_utf8(raw)
                .map_err(|_| {
                    ImportError::File(Rejection::line(1, format!("header column {} is not UTF-8 text", i + 1)))
                })?
                .trim()
                .to_string();
            let name = aliases.iter().find(|(a, _)| *a == name).map_or(name.clone(), |(_, to)| to.to_string());
            if !required.contains(&name.as_str()) && !optional.contains(&name.as_str()) && !allow_extra(&name) {
                return Err(ImportError::File(Rejection::at(
                    1,
                    name.clone(),
                    format!("unknown column '{name}' (known columns: {})", [required, optional].concat().join(", ")),
                )));
            }
            if names.contains(&name) {
                return Err(ImportError::File(Rejection::at(1, name.clone(), "column appears twice")));
            }
            names.push(name);
        }
        for r in required {
            if !names.iter().any(|n| n == r) {
                return Err(ImportError::File(Rejection::at(1, *r, format!("missing required column '{r}'"))));
            }
        }
        Ok(Csv { reader, record: csv::ByteRecord::new(), names, key: None })
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
                let line = self.record.position().map_or(0, |p| p.line());
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
                let line = e.position().map_or(0, |p| p.line());
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

fn csv_file_error(e: &csv::Error) -> ImportError {
    ImportError::File(Rejection::line(e.position().map_or(1, |p| p.line()), format!("unreadable CSV: {e}")))
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

fn generic<'a>(input: impl Read + Send + 'a, clock: BusinessClock) -> Result<Lines<'a>, ImportError> {
    let mut csv = Csv::open(input, GENERIC_REQUIRED, GENERIC_OPTIONAL, |_| false, &[])?.with_key("order_id");
    Ok(Box::new(std::iter::from_fn(move || {
        let line = match csv.next_row()? {
            Ok(l) => l,
            Err(r) => return Some(Err(r)),
        };
        let order = csv.get(line, "order_id").ok().flatten().map(String::from);
        Some(generic_row(&csv, line, clock).map_err(|r| r.in_order(order.as_deref())))
    })))
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

fn online_retail<'a>(input: impl Read + Send + 'a, clock: BusinessClock) -> Result<Lines<'a>, ImportError> {
    let mut csv = Csv::open(input, RETAIL_REQUIRED, RETAIL_OPTIONAL, |_| false, RETAIL_ALIASES)?.with_key("Invoice");
    let gbp = Currency::from_str("GBP").ok();
    Ok(Box::new(std::iter::from_fn(move || {
        let line = match csv.next_row()? {
            Ok(l) => l,
            Err(r) => return Some(Err(r)),
        };
        let order = csv.get(line, "Invoice").ok().flatten().map(String::from);
        Some(retail_row(&csv, line, clock, gbp).map_err(|r| r.in_order(order.as_deref())))
    })))
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
