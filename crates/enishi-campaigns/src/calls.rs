//! The call-list channel: instead of sending anything, a started `call` campaign makes one
//! follow-up task (a call) per recipient for staff — assigned to the customer's owner, due the
//! campaign's number of days after it started (a journey's call step: after the step, one task
//! per occurrence) — and records each recipient as reached with the note `task_created`. The phone is for personal follow-up: the call list gives the caller
//! the name and its reading, the number, the last order, the points and any open issue.

use crate::definition::Channel;
use crate::Error;
use enishi_core::BusinessClock;
use enishi_store::repo::campaigns::{self as repo, Campaign, CampaignState, Delivered};
use enishi_store::repo::tasks;
use enishi_store::Conn;

/// The note a recipient's row carries once their call task exists.
pub const TASK_CREATED: &str = "task_created";

fn call_campaign(campaign: &Campaign) -> Result<(), Error> {
    if campaign.channel != Channel::Call.as_str() {
        return Err(Error::Invalid(format!("\"{}\" is a {} campaign, not call", campaign.name, campaign.channel)));
    }
    Ok(())
}

/// Makes the call task of every queued recipient of a started call campaign and records them
/// as reached (`task_created`), in the caller's transaction; the campaign is done when none is
/// left. Running it again makes no second task. Returns how many tasks it made.
pub fn create_tasks(c: &mut dyn Conn, campaign: &Campaign) -> Result<usize, Error> {
    call_campaign(campaign)?;
    if campaign.state != CampaignState::Sending {
        return Err(Error::State(format!(
            "\"{}\" is {}: start it first (enishi campaign send)",
            campaign.name,
            campaign.state.as_str()
        )));
    }
    let d = crate::campaigns::definition(campaign)?;
    let call = d.call.unwrap_or_default();
    let title = if call.title.trim().is_empty() { format!("Call: {}", campaign.name) } else { call.title };
    let started = campaign.started_at.unwrap_or_else(|| c.now());
    let due_at = started.saturating_add(i64::from(call.due_days) * 86_400);
    let now = c.now();
    let mut made = 0;
    for (customer_id, arm, step) in repo::queued_steps(c, campaign.id)? {
        // A journey step's call is due its days after the step, one task per occurrence.
        let due_at = if step.is_empty() { due_at } else { now.saturating_add(i64::from(call.due_days) * 86_400) };
        if tasks::create_for_campaign(c, campaign.id, customer_id, &step, &title, due_at)? {
            made += 1;
        }
        let subject = format!("call task: {title}");
        let delivered = Delivered {
            campaign_id: campaign.id,
            campaign: &campaign.name,
            customer_id,
            channel: Channel::Call.as_str(),
            arm: &arm,
            subject: &subject,
            at: now,
            note: Some(TASK_CREATED),
        };
        repo::mark_sent(c, &delivered)?;
    }
    repo::finish_settled(c, now)?;
    Ok(made)
}

/// Makes the tasks of every started call campaign (the server's sender does this). Returns
/// how many tasks it made.
pub fn create_due_tasks(c: &mut dyn Conn) -> Result<usize, Error> {
    let mut made = 0;
    for k in repo::list(c)? {
        if k.channel == Channel::Call.as_str() && k.state == CampaignState::Sending {
            made += create_tasks(c, &k)?;
        }
    }
    Ok(made)
}

/// One line of the call list, as a caller reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRow {
    /// The shop's id.
    pub external_id: String,
    /// Name.
    pub name: String,
    /// The name's reading.
    pub furigana: String,
    /// Phone in the national form (`090-1234-5678`, `03-1234-5678`).
    pub phone: String,
    /// The day of the last order in the business time zone (`YYYY-MM-DD`), empty without one.
    pub last_order: String,
    /// Points balance.
    pub points: i64,
    /// The newest open issue, empty without one.
    pub open_issue: String,
    /// The day the call is due (`YYYY-MM-DD`).
    pub due: String,
    /// Whom the call is assigned to, empty when nobody.
    pub assignee: String,
}

/// The call list of a call campaign whose tasks exist, by customer.
pub fn call_list(c: &mut dyn Conn, campaign: &Campaign, calendar: &BusinessClock) -> Result<Vec<CallRow>, Error> {
    call_campaign(campaign)?;
    let day = |t: Option<i64>| {
        t.map(|t| calendar.local_date(enishi_store::instant(t)).format("%Y-%m-%d").to_string()).unwrap_or_default()
    };
    Ok(repo::call_list(c, campaign.id)?
        .into_iter()
        .map(|l| CallRow {
            external_id: l.external_id,
            name: l.name.unwrap_or_default(),
            furigana: l.furigana.unwrap_or_default(),
            phone: l.phone.as_deref().map(enishi_core::national_form).unwrap_or_default(),
            last_order: day(l.last_order_at),
            points: l.points,
            open_issue: l.open_issue.unwrap_or_default(),
            due: day(l.due_at),
            assignee: l.assignee.unwrap_or_default(),
        })
        .collect())
}
