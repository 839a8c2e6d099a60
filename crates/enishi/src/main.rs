//! `enishi`: the command-line program. Each command parses its arguments and calls the
//! library crates; the logic the API also needs lives there, not here.

mod commands;
mod progress;

/// mimalloc instead of the system allocator: imports and analytics allocate many small
/// strings and rows, and glibc's allocator spent a fifth of an import's time on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Enishi (縁): relationship-marketing CRM and loyalty engine.
#[derive(Parser)]
#[command(name = "enishi", version, about)]
struct Cli {
    /// Database: postgres://… or a SQLite file path (default: DATA_DIR/enishi.db).
    #[arg(long, global = true, env = "ENISHI_DATABASE_URL")]
    database_url: Option<String>,
    /// Directory for the SQLite database and demo files.
    #[arg(long, global = true, env = "ENISHI_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a demo shop (if the database is empty), then serve it.
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        /// Demo customers to generate.
        #[arg(long, default_value_t = 3000)]
        customers: u64,
        /// Random seed of the demo data.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Throw away the existing database and generate again.
        #[arg(long)]
        fresh: bool,
    },
    /// Serve an existing database.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        /// Minutes between runs of the scheduled jobs (loyalty jobs; scores once a day); 0 turns
        /// the scheduler off (run `enishi loyalty jobs` and `enishi analyze …` from cron instead).
        #[arg(long, default_value_t = 60)]
        jobs_every_minutes: u64,
        /// Mark session cookies Secure on every response (behind a TLS proxy that does not send
        /// X-Forwarded-Proto: https).
        #[arg(long, env = "ENISHI_SECURE_COOKIES")]
        secure_cookies: bool,
        /// Seconds a request may take before it is answered 503 `timeout`.
        #[arg(long, env = "ENISHI_REQUEST_TIMEOUT", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
        request_timeout: u64,
        /// Log lines as `text` (for people) or `json` (one object per line, for collectors);
        /// `RUST_LOG` filters them (default `info`).
        #[arg(long, env = "ENISHI_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
        log_format: String,
    },
    /// Import a file.
    Import {
        #[command(subcommand)]
        what: commands::import::ImportWhat,
    },
    /// Export customers or orders (to standard output unless --out).
    Export {
        /// What to export.
        #[arg(value_parser = ["customers", "orders"])]
        what: String,
        /// csv or json (JSON Lines).
        #[arg(long, default_value = "csv", value_parser = ["csv", "json"])]
        format: String,
        /// Write CSV cells exactly as stored, for machines. Without it, a cell a spreadsheet
        /// would run as a formula (starting with = + - @, tab or CR) gets a leading ' (the
        /// importers remove it again).
        #[arg(long)]
        raw: bool,
        /// Output file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Generate synthetic shop data (customers.csv, products.csv, orders.csv).
    Gen {
        /// Number of customers.
        #[arg(long)]
        customers: u64,
        /// Random seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Last day of the generated history (YYYY-MM-DD).
        #[arg(long, default_value = "2026-10-31")]
        end: String,
    },
    /// Manage console users.
    User {
        #[command(subcommand)]
        what: commands::user::UserWhat,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        what: commands::TokenWhat,
    },
    /// Privacy requests (GDPR, APPI): a customer's data as JSON, or its erasure.
    Privacy {
        #[command(subcommand)]
        what: commands::PrivacyWhat,
    },
    /// Write a consistent copy of the SQLite database to FILE, while the server runs.
    Backup {
        /// The new file (must not exist).
        file: PathBuf,
    },
    /// Replace the SQLite database with a backup (stop the server first); the database it
    /// replaces is kept beside it as `….before-restore-TIMESTAMP`.
    Restore {
        /// A file written by `enishi backup`.
        file: PathBuf,
    },
    /// Show or change workspace settings.
    Settings {
        /// Business time zone (IANA name, such as Asia/Tokyo).
        #[arg(long)]
        time_zone: Option<String>,
        /// Default currency (ISO 4217 code).
        #[arg(long)]
        currency: Option<String>,
        /// The country whose national phone numbers are read and stored in E.164 (JP, GB, FR,
        /// US, … as ISO 3166 codes; `none`: kept as typed; empty: automatic again). Automatic:
        /// Japan in a yen or Tokyo-time workspace, none otherwise.
        #[arg(long)]
        phone_country: Option<String>,
        /// Largest order total staff may record without a manager's confirmation, in the
        /// workspace currency (default 100,000 for the yen and other currencies without
        /// subunits, 1,000 for others).
        #[arg(long)]
        staff_order_limit: Option<String>,
        /// The console asks to confirm a sale more than this many times the customer's average
        /// order, or an adjustment more than this many times the points of one (default 10).
        #[arg(long)]
        confirm_ratio: Option<u32>,
        /// The console asks to confirm any sale above this amount, in the workspace currency
        /// (default 1,000,000 for the yen and other currencies without subunits, 10,000 for
        /// others).
        #[arg(long)]
        confirm_sale_over: Option<String>,
        /// The console asks to confirm any adjustment of more points than this (default 1,000).
        #[arg(long)]
        confirm_points_over: Option<u32>,
        /// Days customer events are kept (default 730); older ones are deleted daily.
        #[arg(long)]
        retention_days_events: Option<u32>,
        /// Days sent messages are kept (default 1825); older ones are deleted daily.
        #[arg(long)]
        retention_days_messages: Option<u32>,
        /// Campaign settings (boxed: they are many, and the other commands small).
        #[command(flatten)]
        campaigns: Box<commands::campaign::CampaignSettings>,
    },
    /// Customer analytics (CLV and churn with BG/NBD and Gamma-Gamma, …).
    Analyze {
        #[command(subcommand)]
        what: commands::analyze::AnalyzeWhat,
    },
    /// The loyalty programme: apply, show, starters, jobs, audit.
    Loyalty {
        #[command(subcommand)]
        what: commands::loyalty::LoyaltyWhat,
    },
    /// Segments: count a rule, save, evaluate, export and snapshot segments (docs/segments.md).
    Segment {
        #[command(subcommand)]
        what: commands::segment::SegmentWhat,
    },
    /// Static lists of customers, usable in segments as `list = "…"`.
    List {
        #[command(subcommand)]
        what: commands::segment::ListWhat,
    },
    /// The job queue: jobs by state, dead jobs with their errors, retrying one.
    Jobs {
        #[command(subcommand)]
        what: commands::jobs::JobsWhat,
    },
    /// Message templates for campaigns: save (checked), list, the merge fields
    /// (docs/campaigns.md).
    Template {
        #[command(subcommand)]
        what: commands::campaign::TemplateWhat,
    },
    /// Campaigns: create from a JSON document, preview, schedule, send, results, skipped,
    /// cancel (docs/campaigns.md).
    Campaign {
        #[command(subcommand)]
        what: commands::campaign::CampaignWhat,
    },
    /// Journeys: step mails entered on a trigger — create from a JSON document, list, show,
    /// run one pass now (docs/campaigns.md).
    Journey {
        #[command(subcommand)]
        what: commands::journey::JourneyWhat,
    },
    /// Follow-up tasks: list (mine, overdue), create, mark done (docs/listening.md).
    Tasks {
        #[command(subcommand)]
        what: commands::tasks::TasksWhat,
    },
    /// Surveys: create (NPS, CSAT, stop), invite a segment, results (docs/listening.md).
    Survey {
        #[command(subcommand)]
        what: commands::survey::SurveyWhat,
    },
    /// Reviews: invite after an order, list, approve or reject, ratings (docs/listening.md).
    Review {
        #[command(subcommand)]
        what: commands::review::ReviewWhat,
    },
    /// Changes made after feedback: create, link or unlink feedback, list (docs/listening.md).
    Change {
        #[command(subcommand)]
        what: commands::review::ChangeWhat,
    },
    /// A customer's own page: the signed link to print or send (docs/listening.md).
    Customer {
        #[command(subcommand)]
        what: commands::survey::CustomerWhat,
    },
    /// Benchmarks that need a database (see BENCHMARKS.md).
    Bench {
        #[command(subcommand)]
        what: commands::bench::BenchWhat,
    },
}

/// A failure caused by the user's input: exit code 2 instead of 1.
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match commands::run(cli.command, cli.database_url, &cli.data_dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `enishi export … | head`: the reader has what it wanted; stopping is not an error.
            let broken_pipe = e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            });
            if broken_pipe {
                return ExitCode::SUCCESS;
            }
            if let Some(bad) = e.downcast_ref::<BadInput>() {
                eprintln!("error: {bad}");
                ExitCode::from(2)
            } else {
                eprintln!("error: {e:#}");
                ExitCode::from(1)
            }
        }
    }
}
