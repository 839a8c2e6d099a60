//! `enishi import`.

use crate::progress::Bar;
use crate::BadInput;
use anyhow::{Context, Result};
use clap::Subcommand;
use enishi_ingest::customers::{import_customers, import_customers_with, CustomerFormat, CustomerImportOptions};
use enishi_ingest::formats::OrderFormat;
use enishi_ingest::orders::{import_orders, OrderImportOptions};
use enishi_ingest::products::{import_products, import_products_with, ProductImportOptions};
use enishi_ingest::{CsvOptions, Encoding, ImportError, Mapping, Progress, Rejection};
use enishi_store::Store;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What to import.
#[derive(Subcommand)]
pub enum ImportWhat {
    /// Orders (one row per order line): generic CSV, json (JSON Lines), cdnow, online-retail or
    /// shopify.
    Orders {
        /// The file.
        file: PathBuf,
        /// generic, json, cdnow, online-retail or shopify.
        #[arg(long, default_value = "generic")]
        format: String,
        #[command(flatten)]
        read: ReadArgs,
        /// Import the good rows and write a report of the bad ones, instead of all-or-nothing.
        #[arg(long)]
        skip_bad_rows: bool,
        /// Where to write the report of rejected rows (default: FILE-NAME.rejected.csv here).
        #[arg(long)]
        report: Option<PathBuf>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Customers (CSV, or JSON Lines with --format json), updating existing ones by external id.
    Customers {
        /// The file.
        file: PathBuf,
        /// csv or json.
        #[arg(long, default_value = "csv", value_parser = ["csv", "json"])]
        format: String,
        #[command(flatten)]
        read: ReadArgs,
        /// Import the good rows and write a report of the bad ones.
        #[arg(long)]
        skip_bad_rows: bool,
        /// Where to write the report of rejected rows.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Products (CSV: sku,name,category,price,currency).
    Products {
        /// The file.
        file: PathBuf,
        #[command(flatten)]
        read: ReadArgs,
        /// Import the good rows and write a report of the bad ones.
        #[arg(long)]
        skip_bad_rows: bool,
        /// Where to write the report of rejected rows.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// How a CSV file is read.
#[derive(clap::Args)]
pub struct ReadArgs {
    /// The file's encoding: auto (valid UTF-8 is UTF-8, anything else Shift_JIS), utf-8,
    /// shift_jis or cp932.
    #[arg(long, default_value = "auto")]
    encoding: String,
    /// A mapping file (TOML or JSON): the file's headers → Enishi's fields, e.g.
    /// "注文番号" = "order_id"; a header mapped to "" is ignored.
    #[arg(long)]
    mapping: Option<PathBuf>,
}

impl ReadArgs {
    fn options(&self) -> Result<CsvOptions> {
        let encoding: Encoding = self.encoding.parse().map_err(BadInput)?;
        let mapping = match &self.mapping {
            None => Mapping::default(),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| BadInput(format!("cannot read the mapping {}: {e}", p.display())))?;
                Mapping::parse(&text).map_err(|e| BadInput(format!("{}: {e}", p.display())))?
            }
        };
        Ok(CsvOptions { encoding, mapping })
    }
}

fn open_file(path: &Path) -> Result<(std::fs::File, u64)> {
    let f = std::fs::File::open(path).map_err(|e| BadInput(format!("cannot read {}: {e}", path.display())))?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    Ok((f, size))
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}

fn default_report(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.rejected.csv", file_name(path)))
}

/// Writes rejected rows as CSV: line, column, order_id, reason.
fn write_report(path: &Path, rows: &[Rejection]) -> Result<()> {
    let mut out =
        std::io::BufWriter::new(std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?);
    enishi_ingest::write_report(&mut out, rows)?;
    out.flush()?;
    Ok(())
}

/// "1 row", "2 rows": `n` and the noun, singular for one.
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Turns an import error into the one-line message (plus the first bad rows) the CLI prints.
fn explain(e: ImportError) -> anyhow::Error {
    match e {
        ImportError::BadRows { rejections, total } => {
            let mut msg = ImportError::BadRows { rejections: rejections.clone(), total }.to_string();
            for r in rejections.iter().skip(1).take(9) {
                msg.push_str(&format!("\n  {r}"));
            }
            if total > 10 {
                msg.push_str(&format!("\n  … and {} more", total - 10));
            }
            BadInput(msg).into()
        }
        ImportError::File(_) | ImportError::Io { .. } => BadInput(e.to_string()).into(),
        ImportError::Store(s) => {
            anyhow::Error::new(s).context("the import failed in the database; nothing was written")
        }
    }
}

/// Like [`explain`], but first writes the rejected rows of a failed all-or-nothing import to
/// `report`, so that all of them can be fixed in one pass.
fn explain_with_report(e: ImportError, report: &Path) -> anyhow::Error {
    if let ImportError::BadRows { rejections, .. } = &e {
        if write_report(report, rejections).is_ok() {
            return anyhow::Error::new(BadInput(format!(
                "{}\n  the bad rows are listed in {}",
                explain(e),
                report.display()
            )));
        }
    }
    explain(e)
}

/// Runs an import command.
pub fn run(store: &Store, what: ImportWhat) -> Result<()> {
    let (clock, currency) = super::workspace(store)?;
    match what {
        ImportWhat::Orders { file, format, read, skip_bad_rows, report, json } => {
            let format: OrderFormat = format.parse().map_err(BadInput)?;
            let csv = read.options()?;
            if !format.is_csv() && (csv != CsvOptions::default()) {
                return Err(
                    BadInput(format!("--encoding and --mapping apply to CSV formats, not {}", format.name())).into()
                );
            }
            let (f, size) = open_file(&file)?;
            let mut opts = OrderImportOptions::new(format);
            opts.csv = csv;
            opts.skip_bad_rows = skip_bad_rows;
            opts.clock = clock;
            opts.currency = currency;
            let progress = Progress::default();
            let bar = Bar::start(&progress, size, json);
            let result =
                import_orders(store, std::io::BufReader::with_capacity(1 << 20, f), &file_name(&file), &opts, progress);
            drop(bar);
            let report = report.unwrap_or_else(|| default_report(&file));
            let out = result.map_err(|e| explain_with_report(e, &report))?;
            let s = &out.summary;
            let report_path = (!out.report.is_empty()).then_some(report);
            if let Some(p) = &report_path {
                write_report(p, &out.report)?;
            }
            if json {
                let mut v = serde_json::to_value(s)?;
                v["report"] = report_path.as_ref().map(|p| p.display().to_string()).into();
                println!("{v}");
                return Ok(());
            }
            println!(
                "read {} in {:.2}s ({:.0} rows/s){}\ncreated {}, {} ({}), {} ({}), {}",
                count(s.rows_read, "row", "rows"),
                s.seconds,
                s.rows_per_second,
                if s.encoding == "shift_jis" { " from Shift_JIS" } else { "" },
                count(s.customers_created, "customer", "customers"),
                count(s.orders_created, "order", "orders"),
                count(s.lines_created, "line", "lines"),
                count(s.returns_created, "return", "returns"),
                count(s.return_lines_created, "line", "lines"),
                count(s.products_created, "product", "products"),
            );
            if s.duplicates_skipped > 0 {
                println!("skipped {} already imported", count(s.duplicates_skipped, "order/return", "orders/returns"));
            }
            if s.orders_created == 0 && s.returns_created == 0 && s.duplicates_skipped > 0 {
                let when = s
                    .previously_imported_at
                    .map(|t| format!(" (this file was imported on {})", t.format("%Y-%m-%d %H:%M UTC")))
                    .unwrap_or_default();
                println!("nothing new: everything in this file was already imported{when}");
            }
            if s.zero_value_orders + s.free_lines + s.unlinked_returns > 0 {
                println!(
                    "note: {} and {} imported; {} without a matching original order stored unlinked",
                    count(s.zero_value_orders, "zero-value order", "zero-value orders"),
                    count(s.free_lines, "free line", "free lines"),
                    count(s.unlinked_returns, "return", "returns"),
                );
            }
            if s.rows_of_erased_customers > 0 {
                println!("{} of customers erased on request skipped", count(s.rows_of_erased_customers, "row", "rows"));
            }
            if s.rows_rejected + s.rows_without_customer > 0 {
                println!(
                    "{} rejected, {} without a customer not imported; see {}",
                    count(s.rows_rejected, "row", "rows"),
                    count(s.rows_without_customer, "row", "rows"),
                    report_path.map(|p| p.display().to_string()).unwrap_or_default()
                );
            }
            Ok(())
        }
        ImportWhat::Customers { file, format, read, skip_bad_rows, report, json } => {
            let format = if format == "json" { CustomerFormat::Json } else { CustomerFormat::Csv };
            let csv = read.options()?;
            if format == CustomerFormat::Json && csv != CsvOptions::default() {
                return Err(BadInput("--encoding and --mapping apply to CSV files, not json".into()).into());
            }
            let (f, size) = open_file(&file)?;
            let progress = Progress::default();
            let bar = Bar::start(&progress, size, json);
            let phone_country = enishi_ingest::intake::Workspace::load(store)?.phone_country;
            let opts = CustomerImportOptions { format, skip_bad_rows, clock, csv, phone_country };
            let result = import_customers_with(store, std::io::BufReader::new(f), &file_name(&file), &opts, progress);
            drop(bar);
            let report = report.unwrap_or_else(|| default_report(&file));
            let out = result.map_err(|e| explain_with_report(e, &report))?;
            let report_path = (!out.report.is_empty()).then_some(report);
            if let Some(p) = &report_path {
                write_report(p, &out.report)?;
            }
            let s = &out.summary;
            if json {
                let mut v = serde_json::to_value(s)?;
                v["report"] = report_path.as_ref().map(|p| p.display().to_string()).into();
                println!("{v}");
            } else {
                println!(
                    "read {}: created {}, updated {} existing, created {}; {} rejected",
                    count(s.rows_read, "row", "rows"),
                    count(s.customers_created, "customer", "customers"),
                    s.customers_updated,
                    count(s.accounts_created, "account", "accounts"),
                    count(s.rows_rejected, "row", "rows"),
                );
                if let Some(p) = report_path {
                    println!("rejected rows: {}", p.display());
                }
            }
            Ok(())
        }
        ImportWhat::Products { file, read, skip_bad_rows, report, json } => {
            let opts = ProductImportOptions { skip_bad_rows, csv: read.options()? };
            let (f, size) = open_file(&file)?;
            let progress = Progress::default();
            let bar = Bar::start(&progress, size, json);
            let result = import_products_with(store, std::io::BufReader::new(f), &file_name(&file), &opts, progress);
            drop(bar);
            let report = report.unwrap_or_else(|| default_report(&file));
            let out = result.map_err(|e| explain_with_report(e, &report))?;
            let report_path = (!out.report.is_empty()).then_some(report);
            if let Some(p) = &report_path {
                write_report(p, &out.report)?;
            }
            let s = &out.summary;
            if json {
                let mut v = serde_json::to_value(s)?;
                v["report"] = report_path.as_ref().map(|p| p.display().to_string()).into();
                println!("{v}");
            } else {
                println!(
                    "read {}: created {}, updated {}; {} rejected",
                    count(s.rows_read, "row", "rows"),
                    count(s.products_created, "product", "products"),
                    s.products_updated,
                    count(s.rows_rejected, "row", "rows"),
                );
                if let Some(p) = report_path {
                    println!("rejected rows: {}", p.display());
                }
            }
            Ok(())
        }
    }
}

/// Imports the generated demo files (products, customers, orders).
pub fn demo_files(store: &Store, dir: &Path) -> Result<()> {
    let open = |name: &str| -> Result<std::io::BufReader<std::fs::File>> {
        Ok(std::io::BufReader::new(open_file(&dir.join(name))?.0))
    };
    let (clock, currency) = super::workspace(store)?;
    import_products(store, open("products.csv")?).map_err(explain)?;
    let c = import_customers(
        store,
        open("customers.csv")?,
        "customers.csv",
        CustomerFormat::Csv,
        false,
        clock,
        Progress::default(),
    )
    .map_err(explain)?;
    let mut opts = OrderImportOptions::new(OrderFormat::Generic);
    opts.clock = clock;
    opts.currency = currency;
    let o = import_orders(store, open("orders.csv")?, "orders.csv", &opts, Progress::default()).map_err(explain)?;
    eprintln!(
        "Imported {} customers, {} orders, {} returns.",
        c.summary.customers_created, o.summary.orders_created, o.summary.returns_created
    );
    Ok(())
}
