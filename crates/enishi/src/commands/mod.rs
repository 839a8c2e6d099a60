//! The commands.

pub mod analyze;
pub mod bench;
pub mod campaign;
pub mod import;
pub mod jobs;
pub mod journey;
pub mod loyalty;
pub mod review;
pub mod segment;
pub mod survey;
pub mod tasks;
pub mod user;

use crate::{BadInput, Command};
use anyhow::{Context, Result};
use clap::Subcommand;
use enishi_core::{BusinessClock, Currency, Role};
use enishi_ingest::export::{export_customers, export_orders, ExportFormat};
use enishi_store::repo::{customers, settings, tokens};
use enishi_store::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Token commands.
#[derive(Subcommand)]
pub enum TokenWhat {
    /// Create a token; it is printed as the last line (the only time it is shown).
    Create {
        /// admin, marketer or staff.
        #[arg(long)]
        role: String,
        /// A label to recognise (and revoke) it by.
        #[arg(long, default_value = "cli")]
        label: String,
    },
    /// Revoke every token with this label.
    Revoke {
        /// The label.
        #[arg(long)]
        label: String,
    },
}

/// The database URL: the flag or environment, else DATA_DIR/enishi.db.
pub fn database_url(url: Option<String>, data_dir: &Path) -> String {
    url.unwrap_or_else(|| data_dir.join("enishi.db").display().to_string())
}

/// Opens the store, with a message that says where.
pub fn open(url: &str) -> Result<Store> {
    Store::open(url).with_context(|| "opening the database (check --database-url or ENISHI_DATABASE_URL)".to_string())
}

/// The workspace's business clock and currency.
pub fn workspace(store: &Store) -> Result<(BusinessClock, Currency)> {
    let w = enishi_ingest::intake::Workspace::load(store)?;
    Ok((w.clock, w.currency))
}

/// Runs one command.
pub fn run(command: Command, url: Option<String>, data_dir: &Path) -> Result<()> {
    let url = database_url(url, data_dir);
    match command {
        Command::Demo { addr, customers, seed, fresh } => demo(&url, data_dir, &addr, customers, seed, fresh),
        Command::Serve { addr, jobs_every_minutes, secure_cookies, request_timeout, log_format } => {
            start_logging(log_format == "json");
            let options = ServeOptions {
                jobs_every_minutes,
                secure_cookies,
                request_timeout: std::time::Duration::from_secs(request_timeout),
            };
            serve(open(&url)?, &addr, None, options)
        }
        Command::Import { what } => import::run(&open(&url)?, what),
        Command::Export { what, format, raw, out } => {
            let store = open(&url)?;
            let format = match (format.as_str(), raw) {
                ("json", _) => ExportFormat::Json,
                (_, true) => ExportFormat::RawCsv,
                _ => ExportFormat::Csv,
            };
            let writer: Box<dyn std::io::Write> = match &out {
                Some(p) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let n = if what == "customers" {
                export_customers(&store, format, writer)?
            } else {
                export_orders(&store, format, writer)?
            };
            let target = out.as_ref().map_or("stdout".to_string(), |p| p.display().to_string());
            store
                .write(|c| audit(c, &format!("{what}.export"), &what, serde_json::json!({"rows": n, "to": target})))?;
            if out.is_some() {
                eprintln!("exported {n} {what}");
            }
            Ok(())
        }
        Command::Gen { customers, seed, out, end } => {
            let end = chrono::NaiveDate::parse_from_str(&end, "%Y-%m-%d")
                .map_err(|_| BadInput(format!("--end '{end}' is not a YYYY-MM-DD date")))?;
            let mut opts = enishi_synth::GenOptions::new(customers, seed);
            opts.end = end;
            let started = std::time::Instant::now();
            let s = enishi_synth::generate(&opts, &out)?;
            eprintln!(
                "wrote {} customers, {} products, {} orders, {} returns, {} order lines to {} in {:.1}s",
                s.customers,
                s.products,
                s.orders,
                s.returns,
                s.lines,
                out.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Token { what } => {
            let store = open(&url)?;
            match what {
                TokenWhat::Create { role, label } => {
                    let role: Role =
                        role.parse().map_err(|e: enishi_core::ParseError| BadInput(format!("--role: {e}")))?;
                    let token = store.write(|c| {
                        let token = tokens::create(c, role, &label)?;
                        audit(
                            c,
                            "tokens.create",
                            &format!("token:{label}"),
                            serde_json::json!({"role": role.as_str()}),
                        )?;
                        Ok::<_, enishi_store::StoreError>(token)
                    })?;
                    eprintln!("created a {role} token labelled '{label}'; keep it secret:");
                    println!("{token}");
                }
                TokenWhat::Revoke { label } => {
                    let n = store.write(|c| {
                        let n = tokens::revoke_label(c, &label)?;
                        audit(c, "tokens.revoke", &format!("token:{label}"), serde_json::json!({"revoked": n}))?;
                        Ok::<_, enishi_store::StoreError>(n)
                    })?;
                    println!("revoked {n} token(s) labelled '{label}'");
                }
            }
            Ok(())
        }
        Command::Settings {
            time_zone,
            currency,
            phone_country,
            staff_order_limit,
            confirm_ratio,
            confirm_sale_over,
            confirm_points_over,
            retention_days_events,
            retention_days_messages,
            campaigns,
        } => {
            let store = open(&url)?;
            campaign::apply_settings(&store, &campaigns)?;
            if let Some(tz) = &time_zone {
                BusinessClock::new(tz).map_err(|e| BadInput(format!("--time-zone: {e}")))?;
            }
            if let Some(c) = &currency {
                Currency::iso4217(c).map_err(|e| BadInput(format!("--currency: {e}")))?;
            }
            let phone_country = phone_country
                .as_deref()
                .map(enishi_ingest::intake::Workspace::phone_country_setting)
                .transpose()
                .map_err(|e| BadInput(format!("--phone-country: {e}")))?;
            let limit = staff_order_limit
                .as_deref()
                .map(|l| match l.parse::<enishi_core::Amount>() {
                    Ok(a) if !a.is_negative() && !a.is_zero() => Ok(a),
                    Ok(_) => Err(BadInput("--staff-order-limit: must be more than 0".into())),
                    Err(e) => Err(BadInput(format!("--staff-order-limit: {e}"))),
                })
                .transpose()?;
            let sale_over = confirm_sale_over
                .as_deref()
                .map(|l| match l.parse::<enishi_core::Amount>() {
                    Ok(a) if !a.is_negative() && !a.is_zero() => Ok(a),
                    Ok(_) => Err(BadInput("--confirm-sale-over: must be more than 0".into())),
                    Err(e) => Err(BadInput(format!("--confirm-sale-over: {e}"))),
                })
                .transpose()?;
            store.write(|c| -> Result<(), enishi_store::StoreError> {
                if let Some(a) = sale_over {
                    settings::set(c, settings::CONFIRM_SALE_OVER, &a.to_string())?;
                }
                if let Some(tz) = &time_zone {
                    settings::set(c, settings::TIME_ZONE, tz)?;
                }
                if let Some(cur) = &currency {
                    settings::set(c, settings::CURRENCY, &cur.trim().to_uppercase())?;
                }
                if let Some(country) = &phone_country {
                    settings::set(c, settings::PHONE_COUNTRY, country)?;
                }
                if let Some(l) = limit {
                    settings::set(c, settings::STAFF_ORDER_LIMIT, &l.to_string())?;
                }
                for (key, days) in [
                    (settings::CONFIRM_RATIO, confirm_ratio),
                    (settings::CONFIRM_POINTS_OVER, confirm_points_over),
                    (settings::RETENTION_DAYS_EVENTS, retention_days_events),
                    (settings::RETENTION_DAYS_MESSAGES, retention_days_messages),
                ] {
                    if let Some(d) = days.filter(|d| *d >= 1) {
                        settings::set(c, key, &d.to_string())?;
                    }
                }
                Ok(())
            })?;
            let (clock, cur) = workspace(&store)?;
            let limit = match store.read(|c| settings::get(c, settings::STAFF_ORDER_LIMIT))? {
                Some(l) => l,
                None => format!("{} (default)", if cur.minor_units() == 0 { "100000" } else { "1000.00" }),
            };
            let phones = enishi_ingest::intake::Workspace::load(&store)?.phone_country.map_or("none", |p| p.code());
            println!(
                "time zone: {}\ncurrency: {cur}\nphone country: {phones}\nstaff order limit: {limit}",
                clock.tz_name()
            );
            println!("{}", campaign::describe_settings(&store)?);
            Ok(())
        }
        Command::Backup { file } => {
            open(&url)?.backup_to(&file)?;
            println!("backed up to {}", file.display());
            Ok(())
        }
        Command::Restore { file } => restore(&url, &file),
        Command::Privacy { what } => privacy(&open(&url)?, what),
        Command::Bench { what } => bench::run(what, &url),
        Command::Analyze { what } => analyze::run(&open(&url)?, what),
        Command::Loyalty { what } => loyalty::run(&open(&url)?, what),
        Command::User { what } => user::run(&open(&url)?, what),
        Command::Jobs { what } => jobs::run(&open(&url)?, what),
        Command::Tasks { what } => tasks::run(&open(&url)?, what),
        Command::Survey { what } => survey::run(&open(&url)?, what),
        Command::Customer { what } => survey::run_customer(&open(&url)?, what),
        Command::Review { what } => review::run(&open(&url)?, what),
        Command::Change { what } => review::run_change(&open(&url)?, what),
        Command::Segment { what } => segment::run(&open(&url)?, what),
        Command::Template { what } => campaign::run_template(&open(&url)?, what),
        Command::Campaign { what } => campaign::run(&open(&url)?, what),
        Command::Journey { what } => journey::run(&open(&url)?, what),
        Command::List { what } => segment::run_list(&open(&url)?, what),
    }
}

/// Who signs in to the demo, and with what.
struct DemoAccess {
    /// The admin API token.
    token: String,
    /// The demo users' shared password.
    password: String,
}

/// Keeps the log writer's thread running for the life of the process.
static LOG_WRITER: std::sync::OnceLock<tracing_appender::non_blocking::WorkerGuard> = std::sync::OnceLock::new();

/// Sends the server's log lines to standard error, filtered by `RUST_LOG` (default `info`). A
/// thread of its own writes them, so a request never waits on the terminal or the pipe (no
/// line is dropped: a full buffer slows the server down instead).
fn start_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (writer, guard) =
        tracing_appender::non_blocking::NonBlockingBuilder::default().lossy(false).finish(std::io::stderr());
    if LOG_WRITER.set(guard).is_err() {
        return; // logging was started already
    }
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    // Only the first call installs a subscriber (a second would fail, and may be ignored).
    let _ = if json { logs.json().flatten_event(true).try_init() } else { logs.with_ansi(false).try_init() };
}

/// How `enishi serve` runs.
struct ServeOptions {
    /// Minutes between scheduler runs; 0 turns it off.
    jobs_every_minutes: u64,
    /// Session cookies always `Secure`.
    secure_cookies: bool,
    /// Longest a request may take.
    request_timeout: std::time::Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions { jobs_every_minutes: 60, secure_cookies: false, request_timeout: enishi_server::REQUEST_TIMEOUT }
    }
}

fn serve(store: Store, addr: &str, demo: Option<DemoAccess>, options: ServeOptions) -> Result<()> {
    let state = enishi_server::AppState::new(Arc::new(store))?
        .with_secure_cookies(options.secure_cookies)
        .with_request_timeout(options.request_timeout);
    let every = options.jobs_every_minutes;
    let _scheduler =
        (every > 0).then(|| enishi_server::scheduler::start(state.clone(), std::time::Duration::from_secs(60 * every)));
    let _campaigns = enishi_server::campaign_worker::start(state.clone());
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(enishi_server::serve(state, addr, |bound| {
        tracing::info!(
            "Enishi is running at http://{bound}/ (Ctrl-C to stop); API: http://{bound}/api/v1/openapi.json"
        );
        if let Some(d) = &demo {
            eprintln!(
                "Sign in to the console as {DEMO_OWNER} (or {DEMO_MARKETER}, {DEMO_STAFF}) with the password {}",
                d.password
            );
            eprintln!("Call the API with Authorization: Bearer and this admin token:");
            println!("{}", d.token);
        }
    }))
    .with_context(|| format!("serving on {addr}"))
}

/// Applies the demo shop's programme, in force over the whole generated history, with its
/// 48-hour double-points weekend placed on a recent Friday evening.
fn apply_demo_programme(store: &Store, end: chrono::NaiveDate) -> Result<()> {
    use chrono::{Datelike, Duration, Weekday};
    let mut doc: serde_json::Value =
        serde_json::from_str(enishi_loyalty::starter("demo").unwrap_or_default()).context("the demo programme")?;
    let mut friday = end - Duration::days(21);
    while friday.weekday() != Weekday::Fri {
        friday -= Duration::days(1);
    }
    doc["effective_from"] = (end - Duration::days(800)).to_string().into();
    doc["promotions"][0]["starts"] = format!("{friday} 18:00").into();
    doc["promotions"][0]["ends"] = format!("{} 18:00", friday + Duration::days(2)).into();
    let (clock, _) = workspace(store)?;
    let (version, _) = loyalty::apply(store, &doc.to_string(), clock, "demo")?;
    eprintln!("Applied the demo loyalty programme (version {version}).");
    Ok(())
}

fn demo(url: &str, data_dir: &Path, addr: &str, n: u64, seed: u64, fresh: bool) -> Result<()> {
    if fresh {
        if let enishi_store::Location::Sqlite(path) = enishi_store::Location::parse(url) {
            for suffix in ["", "-wal", "-shm"] {
                let p = format!("{}{suffix}", path.display());
                if Path::new(&p).exists() {
                    std::fs::remove_file(&p).with_context(|| format!("removing {p}"))?;
                }
            }
        } else {
            anyhow::bail!("--fresh only removes a SQLite database; drop the PostgreSQL database yourself");
        }
    }
    let store = open(url)?;
    let existing = store.read(|c| customers::count(c))?;
    if existing > 0 {
        eprintln!("Using the existing database ({existing} customers); pass --fresh to generate the demo again.");
    } else {
        let dir = data_dir.join("demo-input");
        let mut opts = enishi_synth::GenOptions::new(n, seed);
        opts.end = store.now().date_naive();
        eprintln!("Generating a demo shop: {n} customers, two years of orders…");
        enishi_synth::generate(&opts, &dir)?;
        store.write(|c| settings::set(c, settings::CURRENCY, "USD"))?;
        apply_demo_programme(&store, opts.end)?;
        import::demo_files(&store, &dir)?;
        let (clock, _) = workspace(&store)?;
        let report = store.write(|c| -> Result<_, enishi_store::StoreError> {
            let programs = enishi_rewards::Programs::load(c, clock)?;
            let now = c.now();
            enishi_rewards::run_jobs(c, &programs, now)
        })?;
        eprintln!(
            "Loyalty: {} points expired, {} birthday rewards, {} tier reviews.",
            report.points_expired, report.birthday_rewards, report.tier_changes
        );
    }
    let password = enishi_store::repo::users::generate_password();
    let token = store.write(|c| -> Result<String, enishi_store::repo::users::UserError> {
        tokens::revoke_label(c, "demo")?;
        demo_users(c, &password)?;
        Ok(tokens::create(c, Role::Admin, "demo")?)
    })?;
    start_logging(false);
    serve(store, addr, Some(DemoAccess { token, password }), ServeOptions::default())
}

/// The demo's owner, marketer and staff users.
const DEMO_OWNER: &str = "owner@example.com";
const DEMO_MARKETER: &str = "marketer@example.com";
const DEMO_STAFF: &str = "staff@example.com";

/// Creates the demo users, or gives them a new shared password when they exist.
fn demo_users(c: &mut dyn enishi_store::Conn, password: &str) -> Result<(), enishi_store::repo::users::UserError> {
    use enishi_core::Language;
    use enishi_store::repo::users;
    let existing = users::list(c)?;
    for (email, name, role) in [
        (DEMO_OWNER, "Owner", Role::Admin),
        (DEMO_MARKETER, "Marketer", Role::Marketer),
        (DEMO_STAFF, "Staff", Role::Staff),
    ] {
        match existing.iter().find(|u| u.email == email) {
            Some(u) => users::set_password(c, u.id, password, None)?,
            None => {
                users::create(c, email, name, role, Language::En, password)?;
            }
        }
    }
    Ok(())
}

/// Replaces the SQLite database at `url` with the backup `file`: the backup is copied beside
/// the database, opened (which checks it and brings its schema up to date), and only then
/// moved into place; the database it replaces (and its WAL) is kept as
/// `….before-restore-TIMESTAMP`.
fn restore(url: &str, file: &Path) -> Result<()> {
    let enishi_store::Location::Sqlite(target) = enishi_store::Location::parse(url) else {
        return Err(
            BadInput("restore is for SQLite; restore PostgreSQL with pg_restore (docs/operations.md)".into()).into()
        );
    };
    if !file.is_file() {
        return Err(BadInput(format!("{} is not a file", file.display())).into());
    }
    let staged = target.with_extension("restoring");
    std::fs::copy(file, &staged).with_context(|| format!("copying {}", file.display()))?;
    if let Err(e) = Store::open(&staged.display().to_string()) {
        let _ = std::fs::remove_file(&staged);
        return Err(BadInput(format!("{} is not an Enishi database: {e}", file.display())).into());
    }
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    for suffix in ["", "-wal", "-shm"] {
        let old = PathBuf::from(format!("{}{suffix}", target.display()));
        if old.exists() {
            let kept = PathBuf::from(format!("{}.before-restore-{stamp}{suffix}", target.display()));
            std::fs::rename(&old, &kept).with_context(|| format!("moving {} aside", old.display()))?;
        }
    }
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", staged.display()));
    }
    std::fs::rename(&staged, &target).with_context(|| format!("moving the backup to {}", target.display()))?;
    println!("restored {} from {}", target.display(), file.display());
    Ok(())
}

/// Records a command in the audit log, as `cli`.
pub(crate) fn audit(
    c: &mut dyn enishi_store::Conn,
    action: &str,
    subject: &str,
    after: serde_json::Value,
) -> Result<(), enishi_store::StoreError> {
    let after = after.to_string();
    let entry =
        enishi_store::repo::audit::NewAuditEntry { actor: "cli", action, subject, before: None, after: Some(&after) };
    let now = c.now();
    enishi_store::repo::audit::append(c, &entry, now)
}

/// Privacy requests.
#[derive(clap::Subcommand)]
pub enum PrivacyWhat {
    /// Print everything held about a customer as JSON (access and portability requests).
    Export {
        /// The customer's shop id (external id).
        external_id: String,
    },
    /// Erase a customer's personal data for good; orders, ledger and totals stay, anonymised,
    /// and the shop id goes on the erasure list so imports skip it.
    Erase {
        /// The customer's shop id (external id).
        external_id: String,
    },
}

fn privacy(store: &Store, what: PrivacyWhat) -> Result<()> {
    let (PrivacyWhat::Export { external_id } | PrivacyWhat::Erase { external_id }) = &what;
    let found = store.read(|c| enishi_store::repo::customers::get_by_external_id(c, external_id))?;
    let id = found.ok_or_else(|| BadInput(format!("no customer with external id {external_id}")))?.id;
    match what {
        PrivacyWhat::Export { .. } => {
            let data = enishi_ingest::privacy::export(store, id, "cli")?;
            println!("{}", serde_json::to_string_pretty(&data)?);
        }
        PrivacyWhat::Erase { .. } => {
            enishi_ingest::privacy::erase(store, id, "cli")?;
            println!("erased customer {id}; they are now erased:{id}");
        }
    }
    Ok(())
}
