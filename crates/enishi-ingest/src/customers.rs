//! The customer import: a CSV (or JSON Lines) of profiles, creating customers or updating
//! the ones with the same external id. Empty cells leave stored values as they are.

use crate::formats::{Csv, Detected, Labels};
use crate::mapping::CsvOptions;
use crate::reader::Hashing;
use crate::{ImportError, Progress, Rejection, MAX_REPORTED};
use chrono::Utc;
use enishi_core::{
    time::parse_date, BusinessClock, Channel, ConsentChannel, ConsentStatus, Email, ExternalId, Phone, PhoneCountry,
};
use enishi_store::repo::{accounts, customers, imports, privacy};
use enishi_store::{
    AccountUpsert, Conn, ConsentChange, CustomerUpsert, ImportRecord, JsonMap, PostalAddress, Store, Upserted,
};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::str::FromStr;

/// Profile columns of the customer CSV, in the order exports write them.
pub const PROFILE_COLUMNS: &[&str] = &[
    "external_id",
    "name",
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "country",
    "birthday",
    "locale",
    "channels",
    "tags",
    "acquisition_source",
    "referred_by",
    "first_seen_at",
    "account_id",
    "account_name",
    "account_industry",
    "account_region",
    "account_size",
];

/// Prefix of custom attribute columns (`attr.favourite_drink`).
pub const ATTRIBUTE_PREFIX: &str = "attr.";

/// A custom attribute's key: not blank, no control characters, at most 100 characters (an
/// export writes it as a column name, which must import back).
pub fn check_attribute_key(key: &str) -> Result<(), String> {
    if key.trim().is_empty() {
        return Err("an attribute key must not be blank".into());
    }
    if key.chars().count() > 100 {
        return Err("an attribute key is at most 100 characters".into());
    }
    if key.chars().any(char::is_control) {
        return Err("an attribute key must not contain control characters".into());
    }
    Ok(())
}

/// The consent columns: `{channel}_consent`, `{channel}_consent_at`, `{channel}_consent_source`.
pub fn consent_columns() -> Vec<String> {
    ConsentChannel::ALL
        .iter()
        .flat_map(|c| [format!("{c}_consent"), format!("{c}_consent_at"), format!("{c}_consent_source")])
        .collect()
}

/// Customer file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerFormat {
    /// CSV with a header.
    Csv,
    /// JSON Lines: one object per line with the same keys, attributes under `attributes`.
    Json,
}

/// What a customer import did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CustomerImportSummary {
    /// Data rows read.
    pub rows_read: u64,
    /// Customers created.
    pub customers_created: u64,
    /// Existing customers updated with the file's values.
    pub customers_updated: u64,
    /// B2B accounts created.
    pub accounts_created: u64,
    /// Rows rejected.
    pub rows_rejected: u64,
    /// Rows of customers erased on request (skipped: an old file does not bring them back).
    pub rows_of_erased_customers: u64,
    /// The encoding a CSV file was read in (`utf-8` or `shift_jis`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub encoding: String,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// The result of a customer import that went through.
#[derive(Debug, Clone)]
pub struct CustomerImport {
    /// Counts.
    pub summary: CustomerImportSummary,
    /// Rejected rows (with `skip_bad_rows`).
    pub report: Vec<Rejection>,
}

/// One row: column name → text (empty cells absent).
type Fields = BTreeMap<String, String>;

/// Rows as read, with their line numbers.
type Rows<'a> = Box<dyn Iterator<Item = Result<(u64, Fields), Rejection>> + 'a>;

/// Imports customers from `input`, a CSV file in Enishi's names and detected encoding, phone
/// numbers as written (see [`CustomerImportOptions::phone_country`]).
pub fn import_customers(
    store: &Store,
    input: impl Read,
    file_name: &str,
    format: CustomerFormat,
    skip_bad_rows: bool,
    clock: BusinessClock,
    progress: Progress,
) -> Result<CustomerImport, ImportError> {
    let opts = CustomerImportOptions { format, skip_bad_rows, clock, csv: CsvOptions::default(), phone_country: None };
    import_customers_with(store, input, file_name, &opts, progress)
}

/// How to import customers.
#[derive(Debug, Clone)]
pub struct CustomerImportOptions {
    /// The file's format.
    pub format: CustomerFormat,
    /// Import the good rows and report the bad ones, instead of all-or-nothing.
    pub skip_bad_rows: bool,
    /// Business time zone, for local times.
    pub clock: BusinessClock,
    /// How a CSV file is read: its encoding and the mapping of its headers.
    pub csv: CsvOptions,
    /// The workspace's phone country: a number in its national form is stored in E.164.
    pub phone_country: Option<PhoneCountry>,
}

/// Imports customers from `input` as `opts` say.
pub fn import_customers_with(
    store: &Store,
    input: impl Read,
    file_name: &str,
    opts: &CustomerImportOptions,
    progress: Progress,
) -> Result<CustomerImport, ImportError> {
    let (format, skip_bad_rows, clock, country) = (opts.format, opts.skip_bad_rows, opts.clock, opts.phone_country);
    let started = std::time::Instant::now();
    let started_at = store.now();
    let (reader, hash) = Hashing::new(input, progress);
    store.write(|c| {
        let (rows, labels, detected): (Rows, Labels, Detected) = match format {
            CustomerFormat::Csv => csv_rows(reader, &opts.csv)?,
            CustomerFormat::Json => (json_rows(reader), Labels::default(), Detected::default()),
        };
        let mut summary = CustomerImportSummary::default();
        let erased = privacy::erased_hashes(c)?;
        let mut rejected = Vec::new();
        let mut failed = false;
        let mut referrals = Vec::new();
        for item in rows {
            let outcome = item.and_then(|(line, f)| {
                summary.rows_read += 1;
                let parsed = parse_row(line, &f, clock, country).map_err(|r| labels.relabel(r))?;
                Ok((line, parsed))
            });
            let (line, row) = match outcome {
                Ok(x) => x,
                Err(r) => {
                    summary.rows_rejected += 1;
                    failed |= !skip_bad_rows;
                    if rejected.len() < MAX_REPORTED || skip_bad_rows {
                        rejected.push(r);
                    }
                    continue;
                }
            };
            if failed {
                continue;
            }
            let mut upsert = row.customer;
            let ext = upsert.external_id.as_ref().map(|e| e.as_str().to_string()).unwrap_or_default();
            if !erased.is_empty() && erased.contains(&privacy::external_id_hash(&ext)) {
                summary.rows_of_erased_customers += 1;
                continue;
            }
            if let Some(acc) = &row.account {
                let a = accounts::upsert(c, acc)?;
                summary.accounts_created += u64::from(matches!(a, Upserted::Created(_)));
                upsert.account_id = Some(a.id());
            }
            let id = match customers::upsert(c, &upsert)? {
                Upserted::Created(id) => {
                    summary.customers_created += 1;
                    id
                }
                Upserted::Updated(id) => {
                    summary.customers_updated += 1;
                    id
                }
            };
            if let Some(r) = row.referred_by {
                referrals.push((line, id, r));
            }
        }
        // Referrers may appear later in the file than the customers they referred.
        for (line, id, referrer) in referrals {
            if failed {
                break;
            }
            match customers::id_by_external_id(c, &referrer)? {
                Some(r) if r != id => {
                    customers::update(c, id, &CustomerUpsert { referred_by: Some(r), ..Default::default() })?;
                }
                found => {
                    let why =
                        if found.is_some() { "a customer cannot refer themselves" } else { "no customer with this id" };
                    summary.rows_rejected += 1;
                    failed |= !skip_bad_rows;
                    rejected.push(labels.relabel(Rejection::at(line, "referred_by", format!("'{referrer}': {why}"))));
                }
            }
        }
        if summary.rows_read == 0 && summary.rows_rejected == 0 {
            return Err(ImportError::File(Rejection::line(1, "the file has no rows")));
        }
        if failed {
            rejected.sort_by_key(|r| r.line);
            return Err(ImportError::BadRows { rejections: rejected, total: summary.rows_rejected });
        }
        summary.seconds = started.elapsed().as_secs_f64();
        if format == CustomerFormat::Csv {
            summary.encoding = detected.encoding().name().to_string();
        }
        drop_into_record(c, file_name, format, &hash.get(), started_at, &summary)?;
        rejected.sort_by_key(|r| r.line);
        Ok(CustomerImport { summary, report: rejected })
    })
}

fn drop_into_record(
    c: &mut dyn Conn,
    file_name: &str,
    format: CustomerFormat,
    sha256: &str,
    started_at: chrono::DateTime<Utc>,
    summary: &CustomerImportSummary,
) -> Result<(), ImportError> {
    let finished_at = c.clock().now();
    imports::record(
        c,
        &ImportRecord {
            id: 0,
            kind: "customers".into(),
            format: if format == CustomerFormat::Csv { "csv" } else { "json" }.into(),
            file_name: file_name.into(),
            sha256: sha256.into(),
            started_at,
            finished_at,
            summary: serde_json::to_value(summary).unwrap_or_default(),
        },
    )?;
    Ok(())
}

fn csv_rows<'a>(input: impl Read + 'a, opts: &CsvOptions) -> Result<(Rows<'a>, Labels, Detected), ImportError> {
    let consent = consent_columns();
    let mut csv = Csv::open(
        input,
        opts,
        &["external_id"],
        &PROFILE_COLUMNS[1..],
        move |name| {
            name.strip_prefix(ATTRIBUTE_PREFIX).is_some_and(|k| check_attribute_key(k).is_ok())
                || consent.iter().any(|c| c == name)
        },
        &[],
    )?;
    let (labels, detected) = (csv.labels(), csv.detected());
    let rows = std::iter::from_fn(move || {
        let line = match csv.next_row()? {
            Ok(l) => l,
            Err(r) => return Some(Err(r)),
        };
        let mut fields = Fields::new();
        for name in csv.names.clone() {
            if name.is_empty() {
                continue; // a column the mapping ignores
            }
            match csv.get(line, &name) {
                Ok(Some(v)) => {
                    fields.insert(name, v.to_string());
                }
                Ok(None) => {}
                Err(r) => return Some(Err(csv.relabel(r))),
            }
        }
        Some(Ok((line, fields)))
    });
    Ok((Box::new(rows), labels, detected))
}

fn json_rows<'a>(input: impl Read + 'a) -> Rows<'a> {
    let mut line = 0u64;
    let known: Vec<String> = PROFILE_COLUMNS.iter().map(|s| s.to_string()).chain(consent_columns()).collect();
    Box::new(BufReader::new(input).split(b'\n').filter_map(move |raw| {
        line += 1;
        let raw = match raw {
            Ok(r) => r,
            Err(e) => return Some(Err(Rejection::line(line, format!("cannot read: {e}")))),
        };
        let Ok(text) = std::str::from_utf8(&raw) else { return Some(Err(Rejection::line(line, "is not UTF-8 text"))) };
        if text.trim().is_empty() {
            return None;
        }
        if let Some((field, why)) = crate::controls::find_in_raw_json(text.as_bytes()) {
            return Some(Err(Rejection::at(line, field, why)));
        }
        let obj: JsonMap = match serde_json::from_str(text) {
            Ok(o) => o,
            Err(e) => return Some(Err(Rejection::line(line, format!("invalid customer JSON: {e}")))),
        };
        let mut fields = Fields::new();
        for (k, v) in obj {
            if k == "attributes" {
                let Some(attrs) = v.as_object() else { return Some(Err(Rejection::at(line, k, "must be an object"))) };
                for (ak, av) in attrs {
                    let text = match av {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    fields.insert(format!("{ATTRIBUTE_PREFIX}{ak}"), text);
                }
                continue;
            }
            if !known.contains(&k) {
                return Some(Err(Rejection::at(line, k.clone(), format!("unknown field '{k}'"))));
            }
            match v {
                serde_json::Value::Null => {}
                serde_json::Value::String(s) if s.trim().is_empty() => {}
                serde_json::Value::String(s) => {
                    fields.insert(k, s);
                }
                other => return Some(Err(Rejection::at(line, k, format!("must be a string, not {other}")))),
            }
        }
        Some(Ok((line, fields)))
    }))
}

/// A parsed row.
struct Row {
    customer: CustomerUpsert,
    account: Option<AccountUpsert>,
    referred_by: Option<String>,
}

fn parse_row(line: u64, f: &Fields, clock: BusinessClock, country: Option<PhoneCountry>) -> Result<Row, Rejection> {
    let get = |k: &str| f.get(k).map(String::as_str);
    fn typed<T: FromStr<Err = enishi_core::ParseError>>(
        line: u64,
        k: &str,
        v: Option<&str>,
    ) -> Result<Option<T>, Rejection> {
        v.map(|t| t.parse::<T>().map_err(|e| Rejection::at(line, k, e.0))).transpose()
    }
    let external_id: ExternalId = typed(line, "external_id", get("external_id"))?
        .ok_or_else(|| Rejection::at(line, "external_id", "is empty"))?;
    let list = |k: &str| -> Option<Vec<String>> {
        get(k).map(|v| v.split(';').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect())
    };
    let channels = match list("channels") {
        None => None,
        Some(v) => Some(
            v.iter()
                .map(|c| Channel::from_str(c).map_err(|e| Rejection::at(line, "channels", e.0)))
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let mut consents = Vec::new();
    for ch in ConsentChannel::ALL {
        let col = format!("{ch}_consent");
        if let Some(status) = typed::<ConsentStatus>(line, &col, get(&col))? {
            let at_col = format!("{ch}_consent_at");
            let at = get(&at_col)
                .map(|t| clock.parse_timestamp(t).map_err(|e| Rejection::at(line, &at_col, e.0)))
                .transpose()?;
            let source = get(&format!("{ch}_consent_source")).unwrap_or("import").to_string();
            consents.push(ConsentChange { channel: *ch, status, at, source });
        }
    }
    let mut attributes = JsonMap::new();
    for (k, v) in f {
        if let Some(name) = k.strip_prefix(ATTRIBUTE_PREFIX) {
            check_attribute_key(name).map_err(|why| Rejection::at(line, k.as_str(), why))?;
            attributes.insert(name.to_string(), serde_json::Value::String(v.clone()));
        }
    }
    let account = match get("account_id") {
        None => {
            if get("account_name").is_some() {
                return Err(Rejection::at(line, "account_id", "is needed when account_name is given"));
            }
            None
        }
        Some(id) => Some(AccountUpsert {
            external_id: id.parse().map_err(|e: enishi_core::ParseError| Rejection::at(line, "account_id", e.0))?,
            name: get("account_name").map(String::from),
            industry: get("account_industry").map(String::from),
            region: get("account_region").map(String::from),
            size_band: get("account_size").map(String::from),
        }),
    };
    let customer = CustomerUpsert {
        external_id: Some(external_id),
        name: get("name").map(String::from),
        email: typed::<Email>(line, "email", get("email"))?,
        phone: typed::<Phone>(line, "phone", get("phone"))?.map(|p| p.in_country(country)),
        address: PostalAddress {
            line1: get("address_line1").map(String::from),
            line2: get("address_line2").map(String::from),
            city: get("city").map(String::from),
            region: get("region").map(String::from),
            postal_code: get("postal_code").map(String::from),
            country: get("country").map(String::from),
        },
        birthday: get("birthday")
            .map(|d| parse_date(d).map_err(|e| Rejection::at(line, "birthday", e.0)))
            .transpose()?,
        locale: get("locale").map(String::from),
        channels,
        tags: list("tags"),
        attributes: (!attributes.is_empty()).then_some(attributes),
        account_id: None,
        acquisition_source: get("acquisition_source").map(String::from),
        referred_by: None,
        first_seen_at: get("first_seen_at")
            .map(|t| clock.parse_timestamp(t).map_err(|e| Rejection::at(line, "first_seen_at", e.0)))
            .transpose()?,
        consents,
    };
    Ok(Row { customer, account, referred_by: get("referred_by").map(String::from) })
}
