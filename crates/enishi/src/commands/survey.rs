//! `enishi survey` and `enishi customer link`: surveys from the command line — make one,
//! invite a segment, read the results — and the link to a customer's own page
//! (docs/listening.md).

use crate::BadInput;
use anyhow::Result;
use clap::Subcommand;
use enishi_campaigns::surveys::{self, reason_label, Results};
use enishi_campaigns::template::Language;
use enishi_campaigns::Error;
use enishi_store::repo::customers;
use enishi_store::Store;

/// Survey commands.
#[derive(Subcommand)]
pub enum SurveyWhat {
    /// Make a survey.
    Create {
        /// Its unique name.
        name: String,
        /// nps (0–10), csat (five levels) or stop ("why did you stop buying?").
        #[arg(long)]
        kind: String,
        /// Days each invitation's link is valid (1–365).
        #[arg(long, default_value_t = surveys::DEFAULT_VALID_DAYS)]
        valid_days: i64,
    },
    /// Invite the members of a saved segment (those with an open invitation are skipped);
    /// a campaign then sends each their link as `{{ survey_url }}`.
    Invite {
        /// The survey's name.
        name: String,
        /// The saved segment's name.
        #[arg(long)]
        segment: String,
    },
    /// The results: NPS and its groups, the CSAT distribution, stop reasons, by month.
    Results {
        /// The survey's name.
        name: String,
        /// Only the customers of this saved segment.
        #[arg(long)]
        segment: Option<String>,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Customer commands.
#[derive(Subcommand)]
pub enum CustomerWhat {
    /// The link to a customer's own page (points, tier, preferences), to print or send.
    Link {
        /// The customer's shop id.
        id: String,
        /// Also write the link as a QR code to this SVG file (to print on a receipt or card).
        #[arg(long, value_name = "FILE.svg")]
        qr: Option<std::path::PathBuf>,
    },
}

fn reported(e: Error) -> anyhow::Error {
    if e.is_users() {
        BadInput(e.to_string()).into()
    } else {
        anyhow::Error::new(e)
    }
}

/// Runs a survey command.
pub fn run(store: &Store, what: SurveyWhat) -> Result<()> {
    let (clock, _) = super::workspace(store)?;
    match what {
        SurveyWhat::Create { name, kind, valid_days } => {
            let s = store.write(|c| surveys::create(c, &name, &kind, Some(valid_days))).map_err(reported)?;
            println!("survey {} \"{}\" ({}), links valid {} days", s.id, s.name, s.kind, s.valid_days);
        }
        SurveyWhat::Invite { name, segment } => {
            let invited = store
                .write(|c| {
                    let s = surveys::find(c, &name)?;
                    surveys::invite_segment(c, &s, &segment, &clock)
                })
                .map_err(reported)?;
            println!("invited {invited} customers to \"{name}\"");
        }
        SurveyWhat::Results { name, segment, json } => {
            let r = store
                .read(|c| {
                    let s = surveys::find(c, &name)?;
                    surveys::results(c, &s, segment.as_deref(), &clock)
                })
                .map_err(reported)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                print!("{}", written(&r));
            }
        }
    }
    Ok(())
}

/// The results as text.
fn written(r: &Results) -> String {
    let mut out = format!("{} ({}): {} invited, {} answered\n", r.survey.name, r.survey.kind, r.invited, r.answered);
    if let Some(n) = &r.nps {
        let score = n.score.map_or("-".to_string(), |s| format!("{s:.1}"));
        out +=
            &format!("NPS {score}: {} promoters, {} passives, {} detractors\n", n.promoters, n.passives, n.detractors);
    }
    if let Some(csat) = &r.csat {
        for (level, count) in (1..).zip(csat.levels) {
            out += &format!("{level} {}: {count}\n", surveys::csat_label(level, Language::English));
        }
        if let (Some(p), Some(a)) = (csat.satisfied_percent, csat.average) {
            out += &format!("satisfied (4-5): {p:.1}%, average {a:.2}\n");
        }
    }
    for reason in &r.reasons {
        out += &format!("{}: {}\n", reason_label(&reason.reason, Language::English), reason.count);
    }
    for m in &r.months {
        let value = match (m.nps, m.csat_average) {
            (Some(n), _) => format!(" NPS {n:.1}"),
            (_, Some(a)) => format!(" CSAT {a:.2}"),
            _ => String::new(),
        };
        out += &format!("{}: {} answered{value}\n", m.month, m.answered);
    }
    out
}

/// Runs a customer command.
pub fn run_customer(store: &Store, what: CustomerWhat) -> Result<()> {
    match what {
        CustomerWhat::Link { id, qr } => {
            let now = store.now().timestamp();
            let link = store
                .write(|c| -> Result<Option<String>, Error> {
                    let Some(k) = customers::id_by_external_id(c, id.trim())? else { return Ok(None) };
                    Ok(Some(enishi_campaigns::my_page::link(c, k, now)?))
                })
                .map_err(reported)?;
            let Some(link) = link else {
                return Err(BadInput(format!("no customer has the shop id '{id}'")).into());
            };
            if let Some(path) = qr {
                let svg = enishi_campaigns::my_page::qr_svg(&link).map_err(reported)?;
                std::fs::write(&path, svg)
                    .map_err(|e| anyhow::anyhow!("cannot write the QR code to {}: {e}", path.display()))?;
            }
            println!("{link}");
        }
    }
    Ok(())
}
