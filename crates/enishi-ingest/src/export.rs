//! Exports in the formats the importers read, so that an export imports back unchanged.

use crate::customers::{consent_columns, ATTRIBUTE_PREFIX, PROFILE_COLUMNS};
use crate::formats::{GENERIC_OPTIONAL, GENERIC_REQUIRED};
use enishi_core::Amount;
use enishi_store::repo::{accounts, customers, orders};
use enishi_store::{Account, Customer, Order, Return, Store, StoreError};
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::io::Write;

/// Export file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// CSV with a header, for people: a cell a spreadsheet would run as a formula is
    /// neutralised (see [`neutralise`]). It still imports back unchanged.
    Csv,
    /// CSV with every cell exactly as stored, for machines.
    RawCsv,
    /// JSON Lines.
    Json,
}

/// Characters that make a spreadsheet read a cell as a formula (or as one after a tab or CR).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell as written for people: one that starts like a formula gets a leading `'` (which a
/// spreadsheet shows as text and the importers remove again); plain numbers such as `-3.00`
/// are left alone.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    let risky = cell.starts_with(FORMULA_STARTS) && cell.parse::<f64>().is_err();
    if risky {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The cell an importer reads from what [`neutralise`] wrote: the quote it added removed.
pub fn unneutralise(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_STARTS) && rest.parse::<f64>().is_err() => rest,
        _ => cell,
    }
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Writing the output failed.
    #[error("cannot write the export")]
    Io(#[from] std::io::Error),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<csv::Error> for ExportError {
    fn from(e: csv::Error) -> Self {
        // The writer's own I/O error is kept as it is, so that its kind (a closed pipe) shows.
        let message = e.to_string();
        match e.into_kind() {
            csv::ErrorKind::Io(io) => ExportError::Io(io),
            _ => ExportError::Io(std::io::Error::other(message)),
        }
    }
}

const PAGE: i64 = 2000;

/// Where rows go: a CSV writer (neutralising formulas or not) or JSON Lines.
enum Sink<W: Write> {
    Csv { writer: Box<csv::Writer<W>>, neutralise: bool },
    Json(W),
}

impl<W: Write> Sink<W> {
    fn new(format: ExportFormat, out: W) -> Self {
        match format {
            ExportFormat::Json => Sink::Json(out),
            csv => Sink::Csv { writer: Box::new(csv::Writer::from_writer(out)), neutralise: csv == ExportFormat::Csv },
        }
    }

    fn row<I: IntoIterator<Item = S>, S: AsRef<str>>(&mut self, fields: I) -> Result<(), ExportError> {
        if let Sink::Csv { writer, neutralise: n } = self {
            for f in fields {
                let f = f.as_ref();
                writer.write_field(if *n { neutralise(f) } else { Cow::Borrowed(f) }.as_bytes())?;
            }
            writer.write_record(None::<&[u8]>)?;
        }
        Ok(())
    }

    fn object(&mut self, v: &serde_json::Value) -> Result<(), ExportError> {
        if let Sink::Json(w) = self {
            writeln!(w, "{v}")?;
        }
        Ok(())
    }

    fn finish(self) -> Result<(), ExportError> {
        match self {
            Sink::Csv { mut writer, .. } => writer.flush()?,
            Sink::Json(mut w) => w.flush()?,
        }
        Ok(())
    }
}

/// The profile fields of a customer as the import columns read them.
fn customer_fields(c: &Customer, account: Option<&Account>, referrer: Option<&str>) -> Vec<(String, String)> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut f: Vec<(String, String)> = [
        ("external_id", c.external_id.clone()),
        ("name", opt(&c.name)),
        ("email", opt(&c.email)),
        ("phone", opt(&c.phone)),
        ("address_line1", opt(&c.address.line1)),
        ("address_line2", opt(&c.address.line2)),
        ("city", opt(&c.address.city)),
        ("region", opt(&c.address.region)),
        ("postal_code", opt(&c.address.postal_code)),
        ("country", opt(&c.address.country)),
        ("birthday", c.birthday.map(|d| d.to_string()).unwrap_or_default()),
        ("locale", opt(&c.locale)),
        ("channels", c.channels.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(";")),
        ("tags", c.tags.join(";")),
        ("acquisition_source", opt(&c.acquisition_source)),
        ("referred_by", referrer.unwrap_or_default().to_string()),
        ("first_seen_at", c.first_seen_at.to_rfc3339()),
        ("account_id", account.map(|a| a.external_id.clone()).unwrap_or_default()),
        ("account_name", account.map(|a| a.name.clone()).unwrap_or_default()),
        ("account_industry", account.and_then(|a| a.industry.clone()).unwrap_or_default()),
        ("account_region", account.and_then(|a| a.region.clone()).unwrap_or_default()),
        ("account_size", account.and_then(|a| a.size_band.clone()).unwrap_or_default()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    debug_assert_eq!(f.len(), PROFILE_COLUMNS.len());
    for ch in enishi_core::ConsentChannel::ALL {
        let consent = c.consents.iter().find(|x| x.channel == *ch);
        f.push((format!("{ch}_consent"), consent.map(|x| x.status.to_string()).unwrap_or_default()));
        f.push((format!("{ch}_consent_at"), consent.map(|x| x.changed_at.to_rfc3339()).unwrap_or_default()));
        f.push((format!("{ch}_consent_source"), consent.map(|x| x.source.clone()).unwrap_or_default()));
    }
    f
}

/// Writes every customer; returns how many.
pub fn export_customers(store: &Store, format: ExportFormat, out: impl Write) -> Result<u64, ExportError> {
    store.read(|c| {
        let mut account_by_id: HashMap<i64, Account> = HashMap::new();
        let mut after = 0;
        loop {
            let page = accounts::list(c, after, 1000)?;
            let Some(last) = page.last() else { break };
            after = last.id;
            account_by_id.extend(page.into_iter().map(|a| (a.id, a)));
        }
        // A first pass finds the attribute columns and the referrers to name.
        let mut attribute_keys = BTreeSet::new();
        let mut wanted_referrers = BTreeSet::new();
        customers::for_each_page(c, PAGE, |page| {
            for cust in page {
                attribute_keys.extend(cust.attributes.keys().cloned());
                wanted_referrers.extend(cust.referred_by);
            }
            Ok::<(), StoreError>(())
        })?;
        let mut referrers: HashMap<i64, String> = HashMap::new();
        for id in wanted_referrers {
            if let Some(r) = customers::get(c, id)? {
                referrers.insert(id, r.external_id);
            }
        }
        let mut sink = Sink::new(format, out);
        let header = PROFILE_COLUMNS
            .iter()
            .map(|s| s.to_string())
            .chain(consent_columns())
            .chain(attribute_keys.iter().map(|k| format!("{ATTRIBUTE_PREFIX}{k}")));
        sink.row(header)?;
        let mut n = 0u64;
        customers::for_each_page(c, PAGE, |page: &[Customer]| -> Result<(), ExportError> {
            for cust in page {
                n += 1;
                let account = cust.account_id.and_then(|id| account_by_id.get(&id));
                let referrer = cust.referred_by.and_then(|id| referrers.get(&id)).map(String::as_str);
                let fields = customer_fields(cust, account, referrer);
                if let Sink::Json(_) = sink {
                    let mut obj: serde_json::Map<String, serde_json::Value> =
                        fields.into_iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (k, v.into())).collect();
                    if !cust.attributes.is_empty() {
                        obj.insert("attributes".into(), cust.attributes.clone().into());
                    }
                    sink.object(&obj.into())?;
                } else {
                    let attrs = attribute_keys.iter().map(|k| match cust.attributes.get(k) {
                        Some(serde_json::Value::String(s)) => s.clone(),
                        Some(v) => v.to_string(),
                        None => String::new(),
                    });
                    sink.row(fields.into_iter().map(|(_, v)| v).chain(attrs))?;
                }
            }
            Ok(())
        })?;
        sink.finish()?;
        Ok(n)
    })
}

/// Writes every order (one row per line in CSV, one object per order in JSON Lines), with
/// returns as negative-quantity rows (`return_of` naming the original order); returns how
/// many orders.
pub fn export_orders(store: &Store, format: ExportFormat, out: impl Write) -> Result<u64, ExportError> {
    store.read(|c| {
        let mut sink = Sink::new(format, out);
        sink.row(GENERIC_REQUIRED.iter().chain(GENERIC_OPTIONAL))?;
        let mut n = 0u64;
        orders::for_each_page(c, PAGE, |page: &[Order], returns: &[Return]| -> Result<(), ExportError> {
            for o in page {
                n += 1;
                write_order(&mut sink, o)?;
            }
            for r in returns {
                write_return(&mut sink, r)?;
            }
            Ok(())
        })?;
        sink.finish()?;
        Ok(n)
    })
}

fn write_order<W: Write>(sink: &mut Sink<W>, o: &Order) -> Result<(), ExportError> {
    let sum: Amount = o.lines.iter().map(|l| l.amount).sum();
    let total = if sum == o.total { String::new() } else { o.total.to_string() };
    if let Sink::Json(_) = sink {
        let lines: Vec<serde_json::Value> = o
            .lines
            .iter()
            .map(|l| {
                let mut v = serde_json::json!({"sku": l.sku, "quantity": l.quantity, "unit_price": l.unit_price, "amount": l.amount});
                if let Some(cat) = &l.category {
                    v["category"] = cat.clone().into();
                }
                if let Some(name) = &l.product_name {
                    v["product_name"] = name.clone().into();
                }
                v
            })
            .collect();
        let mut obj = serde_json::json!({
            "order_id": o.order_id, "customer_id": o.customer_external_id, "placed_at": o.placed_at.to_rfc3339(),
            "currency": o.currency, "channel": o.channel, "status": o.status, "lines": lines,
        });
        if !total.is_empty() {
            obj["total"] = total.into();
        }
        return sink.object(&obj);
    }
    for l in &o.lines {
        sink.row([
            o.order_id.as_str(),
            &o.customer_external_id,
            &o.placed_at.to_rfc3339(),
            &l.sku,
            &l.quantity.to_string(),
            &l.unit_price.to_string(),
            &l.amount.to_string(),
            &total,
            &o.currency,
            o.channel.as_str(),
            l.category.as_deref().unwrap_or_default(),
            l.product_name.as_deref().unwrap_or_default(),
            &o.status,
            "",
        ])?;
    }
    Ok(())
}

/// SKU of the line that carries a refund without goods.
pub const REFUND_SKU: &str = "REFUND";

fn write_return<W: Write>(sink: &mut Sink<W>, r: &Return) -> Result<(), ExportError> {
    let original = r.order_id.as_deref();
    // The refund travels as the return's order_total when it differs from its lines' value.
    let goods: Amount = r.lines.iter().map(|l| l.amount).sum();
    let refund = if r.lines.is_empty() || goods != r.amount { r.amount.to_string() } else { String::new() };
    let lines: Vec<(String, i64, String, String)> = if r.lines.is_empty() {
        vec![(REFUND_SKU.into(), -1, r.amount.to_string(), (Amount::ZERO - r.amount).to_string())]
    } else {
        r.lines
            .iter()
            .map(|l| (l.sku.clone(), -l.quantity, l.unit_price.to_string(), (Amount::ZERO - l.amount).to_string()))
            .collect()
    };
    if let Sink::Json(_) = sink {
        let lines: Vec<serde_json::Value> = lines
            .iter()
            .map(|(sku, qty, unit, amount)| serde_json::json!({"sku": sku, "quantity": qty, "unit_price": unit, "amount": amount}))
            .collect();
        let mut obj = serde_json::json!({
            "order_id": r.return_id, "customer_id": r.customer_external_id, "placed_at": r.returned_at.to_rfc3339(), "lines": lines,
        });
        if let Some(o) = original {
            obj["return_of"] = o.into();
        }
        if let Some(reason) = &r.reason {
            obj["status"] = reason.clone().into();
        }
        if !refund.is_empty() {
            obj["total"] = refund.into();
        }
        return sink.object(&obj);
    }
    for (sku, qty, unit, amount) in &lines {
        sink.row([
            r.return_id.as_str(),
            &r.customer_external_id,
            &r.returned_at.to_rfc3339(),
            sku,
            &qty.to_string(),
            unit,
            amount,
            &refund,
            "",
            "",
            "",
            "",
            r.reason.as_deref().unwrap_or_default(),
            original.unwrap_or_default(),
        ])?;
    }
    Ok(())
}

/// The layouts of a segment's member export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberLayout {
    /// Every member with their contact details.
    Contacts,
    /// A postal mailing: members who opted in to post and have a postal code, sorted by postal
    /// code, in the order a Japanese envelope or postcard is written (〒 code, prefecture, city,
    /// street, building, then the name with 様).
    Postal,
}

impl std::str::FromStr for MemberLayout {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "contacts" => Ok(MemberLayout::Contacts),
            "postal" => Ok(MemberLayout::Postal),
            other => Err(format!("the export format is `contacts` or `postal`, not `{other}`")),
        }
    }
}

/// Writes members as CSV for people (cells that a spreadsheet would run as formulas are
/// neutralised); returns the rows written.
pub fn export_members(
    contacts: &[enishi_store::repo::segments::Contact],
    layout: MemberLayout,
    out: impl Write,
) -> Result<usize, ExportError> {
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(out));
    let cell = |s: &Option<String>| neutralise(s.as_deref().unwrap_or("")).into_owned();
    match layout {
        MemberLayout::Contacts => {
            w.write_record([
                "external_id",
                "name",
                "email",
                "phone",
                "postal_code",
                "region",
                "city",
                "address_line1",
                "address_line2",
            ])?;
            for x in contacts {
                w.write_record([
                    neutralise(&x.external_id).into_owned(),
                    cell(&x.name),
                    cell(&x.email),
                    cell(&x.phone),
                    cell(&x.postal_code),
                    cell(&x.region),
                    cell(&x.city),
                    cell(&x.address_line1),
                    cell(&x.address_line2),
                ])?;
            }
            w.flush()?;
            Ok(contacts.len())
        }
        MemberLayout::Postal => {
            let mut postal: Vec<_> = contacts.iter().filter(|x| x.postal_consent && x.postal_code.is_some()).collect();
            let digits = |code: &Option<String>| {
                code.as_deref().unwrap_or("").chars().filter(char::is_ascii_digit).collect::<String>()
            };
            postal.sort_by_cached_key(|x| (digits(&x.postal_code), x.id));
            w.write_record(["postal_code", "prefecture", "city", "street", "building", "name", "external_id"])?;
            for x in &postal {
                let name = x.name.as_deref().map_or(String::new(), |n| format!("{n} 様"));
                w.write_record([
                    format!("〒{}", x.postal_code.as_deref().unwrap_or("")),
                    cell(&x.region),
                    cell(&x.city),
                    cell(&x.address_line1),
                    cell(&x.address_line2),
                    neutralise(&name).into_owned(),
                    neutralise(&x.external_id).into_owned(),
                ])?;
            }
            w.flush()?;
            Ok(postal.len())
        }
    }
}
