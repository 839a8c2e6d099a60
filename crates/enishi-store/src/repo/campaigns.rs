//! Campaigns as stored: templates, campaigns, their recipients (who was sent what, held out or
//! skipped, and the send queue), the suppression list, and the figures the results are made of.
//!
//! A recipient row moves `queued` → (claimed with a lease) → `handed_over` → `sent`, or back to
//! `queued` with a later `run_after` after a transient failure, or to `failed`. `handed_over`
//! is committed just before the message's last byte goes to the server: a worker killed after
//! that leaves the row `handed_over`, which [`settle_unconfirmed`] turns into `sent` once its
//! lease has run out, so a message is never sent twice; a worker killed before it leaves the
//! row `queued` under a lease, claimed again once the lease runs out, so none is skipped.

use crate::db::{Backend, Conn, Row, Rows};
use crate::{params, Param, StoreError};

/// A message template as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Language of the wording (`ja`, `en`).
    pub locale: String,
    /// Subject line (a template).
    pub subject: String,
    /// HTML body (a template).
    pub html: String,
    /// Plain-text body (a template).
    pub text: String,
    /// Last changed (Unix seconds).
    pub updated_at: i64,
}

fn template(r: &Row) -> Result<Template, StoreError> {
    Ok(Template {
        id: r.int("id")?,
        name: r.text("name")?,
        locale: r.text("locale")?,
        subject: r.text("subject")?,
        html: r.text("html")?,
        text: r.text("text")?,
        updated_at: r.int("updated_at")?,
    })
}

const TEMPLATE_COLUMNS: &str = "id, name, locale, subject, html, text, updated_at";

/// Creates a template, or replaces the one of that name. Returns its id.
pub fn save_template(
    c: &mut dyn Conn,
    name: &str,
    locale: &str,
    subject: &str,
    html: &str,
    text: &str,
) -> Result<i64, StoreError> {
    let now = c.now();
    c.query_one(
        "INSERT INTO templates (name, locale, subject, html, text, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (name) DO UPDATE SET locale = excluded.locale, \
         subject = excluded.subject, html = excluded.html, text = excluded.text, updated_at = excluded.updated_at \
         RETURNING id",
        params![name, locale, subject, html, text, now],
    )?
    .int("id")
}

/// A template by name.
pub fn template_by_name(c: &mut dyn Conn, name: &str) -> Result<Option<Template>, StoreError> {
    let sql = format!("SELECT {TEMPLATE_COLUMNS} FROM templates WHERE name = $1");
    c.query_opt(&sql, params![name])?.as_ref().map(template).transpose()
}

/// Every template, by name.
pub fn templates(c: &mut dyn Conn) -> Result<Vec<Template>, StoreError> {
    let sql = format!("SELECT {TEMPLATE_COLUMNS} FROM templates ORDER BY name");
    c.query(&sql, &[])?.iter().map(template).collect()
}

/// Where a campaign is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignState {
    /// Being prepared; nothing is queued.
    Draft,
    /// Waits for its send time.
    Scheduled,
    /// Its audience is materialised and its messages are being sent.
    Sending,
    /// Every message was sent, failed or skipped.
    Done,
    /// Stopped by a person; what was queued is not sent.
    Cancelled,
}

impl CampaignState {
    /// Every state.
    pub const ALL: [CampaignState; 5] = [
        CampaignState::Draft,
        CampaignState::Scheduled,
        CampaignState::Sending,
        CampaignState::Done,
        CampaignState::Cancelled,
    ];

    /// The state as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignState::Draft => "draft",
            CampaignState::Scheduled => "scheduled",
            CampaignState::Sending => "sending",
            CampaignState::Done => "done",
            CampaignState::Cancelled => "cancelled",
        }
    }
}

impl std::str::FromStr for CampaignState {
    type Err = String;

    fn from_str(s: &str) -> Result<CampaignState, String> {
        CampaignState::ALL.into_iter().find(|x| x.as_str() == s).ok_or_else(|| format!("'{s}' is not a campaign state"))
    }
}

/// A campaign as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    /// Id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// The mailing this is a version of ("coffee DM").
    pub mailing: String,
    /// The version label ("v2").
    pub version: String,
    /// `email`, `postal`, `webhook` or `call`.
    pub channel: String,
    /// The campaign document as JSON (docs/campaigns.md).
    pub definition: String,
    /// Where it is.
    pub state: CampaignState,
    /// When it is to be sent (Unix seconds), once scheduled.
    pub send_at: Option<i64>,
    /// The audience snapshot taken when sending started.
    pub snapshot_id: Option<i64>,
    /// When sending started.
    pub started_at: Option<i64>,
    /// When the last message was settled.
    pub finished_at: Option<i64>,
    /// Created.
    pub created_at: i64,
}

const CAMPAIGN_COLUMNS: &str =
    "id, name, mailing, version, channel, definition, state, send_at, snapshot_id, started_at, finished_at, created_at";

fn campaign(r: &Row) -> Result<Campaign, StoreError> {
    Ok(Campaign {
        id: r.int("id")?,
        name: r.text("name")?,
        mailing: r.text("mailing")?,
        version: r.text("version")?,
        channel: r.text("channel")?,
        definition: r.text("definition")?,
        state: r.text("state")?.parse().map_err(StoreError::Decode)?,
        send_at: r.opt_int("send_at")?,
        snapshot_id: r.opt_int("snapshot_id")?,
        started_at: r.opt_int("started_at")?,
        finished_at: r.opt_int("finished_at")?,
        created_at: r.int("created_at")?,
    })
}

/// What a new campaign is made of.
#[derive(Debug, Clone, Copy)]
pub struct NewCampaign<'a> {
    /// Unique name.
    pub name: &'a str,
    /// The mailing it is a version of.
    pub mailing: &'a str,
    /// Version label.
    pub version: &'a str,
    /// Channel.
    pub channel: &'a str,
    /// The checked campaign document as JSON.
    pub definition: &'a str,
}

/// Creates a draft campaign; `None` when the name is taken.
pub fn create(c: &mut dyn Conn, new: &NewCampaign<'_>) -> Result<Option<i64>, StoreError> {
    let now = c.now();
    c.query_opt(
        "INSERT INTO campaigns (name, mailing, version, channel, definition, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (name) DO NOTHING RETURNING id",
        params![new.name, new.mailing, new.version, new.channel, new.definition, now],
    )?
    .map(|r| r.int("id"))
    .transpose()
}

/// A campaign by id.
pub fn get(c: &mut dyn Conn, id: i64) -> Result<Option<Campaign>, StoreError> {
    let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = $1");
    c.query_opt(&sql, params![id])?.as_ref().map(campaign).transpose()
}

/// A campaign by name.
pub fn by_name(c: &mut dyn Conn, name: &str) -> Result<Option<Campaign>, StoreError> {
    let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE name = $1");
    c.query_opt(&sql, params![name])?.as_ref().map(campaign).transpose()
}

/// Every campaign, newest first.
pub fn list(c: &mut dyn Conn) -> Result<Vec<Campaign>, StoreError> {
    let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns ORDER BY created_at DESC, id DESC");
    c.query(&sql, &[])?.iter().map(campaign).collect()
}

/// The campaigns of one mailing, oldest first (its versions).
pub fn versions(c: &mut dyn Conn, mailing: &str) -> Result<Vec<Campaign>, StoreError> {
    let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE mailing = $1 ORDER BY created_at, id");
    c.query(&sql, params![mailing])?.iter().map(campaign).collect()
}

/// Replaces a draft or scheduled campaign's document; `false` when it is neither.
pub fn update_definition(c: &mut dyn Conn, id: i64, definition: &str) -> Result<bool, StoreError> {
    let now = c.now();
    Ok(c.execute(
        "UPDATE campaigns SET definition = $2, updated_at = $3 WHERE id = $1 AND state IN ('draft', 'scheduled')",
        params![id, definition, now],
    )? == 1)
}

/// Schedules a draft (or reschedules a scheduled) campaign for `send_at`; `false` otherwise.
pub fn schedule(c: &mut dyn Conn, id: i64, send_at: i64) -> Result<bool, StoreError> {
    let now = c.now();
    Ok(c.execute(
        "UPDATE campaigns SET state = 'scheduled', send_at = $2, updated_at = $3 WHERE id = $1 AND state IN ('draft', 'scheduled')",
        params![id, send_at, now],
    )? == 1)
}

/// Scheduled campaigns whose time has come, oldest first.
pub fn due(c: &mut dyn Conn, now: i64) -> Result<Vec<Campaign>, StoreError> {
    let sql = format!(
        "SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE state = 'scheduled' AND send_at <= $1 ORDER BY send_at, id"
    );
    c.query(&sql, params![now])?.iter().map(campaign).collect()
}

/// Moves a draft or scheduled campaign to `sending` with its audience snapshot; `false` when
/// another process started it first (the caller then leaves it alone).
pub fn start(c: &mut dyn Conn, id: i64, snapshot_id: i64, now: i64) -> Result<bool, StoreError> {
    Ok(c.execute(
        "UPDATE campaigns SET state = 'sending', snapshot_id = $2, started_at = $3, send_at = COALESCE(send_at, $3), \
         updated_at = $3 WHERE id = $1 AND state IN ('draft', 'scheduled')",
        params![id, snapshot_id, now],
    )? == 1)
}

/// Cancels a campaign that has not finished: queued messages stay unsent (`skipped`,
/// `cancelled`). `false` when it had finished or was cancelled already.
pub fn cancel(c: &mut dyn Conn, id: i64) -> Result<bool, StoreError> {
    let now = c.now();
    let changed = c.execute(
        "UPDATE campaigns SET state = 'cancelled', finished_at = $2, updated_at = $2 \
         WHERE id = $1 AND state IN ('draft', 'scheduled', 'sending')",
        params![id, now],
    )? == 1;
    if changed {
        c.execute(
            "UPDATE campaign_recipients SET status = 'skipped', reason = 'cancelled', claimed_by = NULL, lease_until = NULL \
             WHERE campaign_id = $1 AND status = 'queued'",
            params![id],
        )?;
    }
    Ok(changed)
}

/// Marks sending campaigns that have nothing left queued or handed over as done. Returns how
/// many it finished.
pub fn finish_settled(c: &mut dyn Conn, now: i64) -> Result<u64, StoreError> {
    c.execute(
        "UPDATE campaigns SET state = 'done', finished_at = $1, updated_at = $1 WHERE state = 'sending' AND NOT EXISTS \
         (SELECT 1 FROM campaign_recipients r WHERE r.campaign_id = campaigns.id AND r.status IN ('queued', 'handed_over'))",
        params![now],
    )
}

/// Messages of sending campaigns still queued or handed over (of one campaign, or all).
pub fn pending(c: &mut dyn Conn, campaign: Option<i64>) -> Result<i64, StoreError> {
    c.query_one(
        "SELECT COUNT(*) FROM campaign_recipients r JOIN campaigns k ON k.id = r.campaign_id \
         WHERE k.state = 'sending' AND r.status IN ('queued', 'handed_over') AND ($1 = 0 OR k.id = $1)",
        params![campaign.unwrap_or(0)],
    )?
    .int(0)
}

/// Customers who opted in on the consent `channel` (`email`, `postal`, `sms`, `phone`).
pub fn consented(c: &mut dyn Conn, channel: &str) -> Result<Vec<i64>, StoreError> {
    ids(c, "SELECT customer_id FROM customer_consents WHERE channel = $1 AND status = 'opted_in'", params![channel])
}

/// Customers without an address on `channel`: no email for `email`, no postal code or first
/// address line for `postal`, no phone for `call`; none for `webhook`.
pub fn without_address(c: &mut dyn Conn, channel: &str) -> Result<Vec<i64>, StoreError> {
    let sql = match channel {
        "email" => "SELECT id FROM customers WHERE email IS NULL OR email = ''",
        "postal" => {
            "SELECT id FROM customers WHERE postal_code IS NULL OR postal_code = '' OR address_line1 IS NULL OR address_line1 = ''"
        }
        "call" => "SELECT id FROM customers WHERE phone IS NULL OR phone = ''",
        _ => return Ok(Vec::new()),
    };
    ids(c, sql, &[])
}

/// Customers whose address on `channel` is on the suppression list.
pub fn suppressed(c: &mut dyn Conn, channel: &str) -> Result<Vec<i64>, StoreError> {
    let sql = match channel {
        "email" => {
            "SELECT c.id FROM suppressions s JOIN customers c ON lower(c.email) = s.address WHERE s.channel = 'email'"
        }
        "call" | "webhook" => {
            "SELECT c.id FROM suppressions s JOIN customers c ON c.phone = s.address WHERE s.channel = $1"
        }
        _ => return Ok(Vec::new()),
    };
    let p: &[crate::Value] = if sql.contains("$1") { params![channel] } else { &[] };
    ids(c, sql, p)
}

/// Customers who already have `cap` or more marketing messages on `channel` since `since`
/// (Unix seconds): sent ones from the communication history, plus ones queued or handed over
/// by other campaigns on the channel.
pub fn at_cap(c: &mut dyn Conn, channel: &str, since: i64, cap: i64, campaign_id: i64) -> Result<Vec<i64>, StoreError> {
    ids(
        c,
        "SELECT customer_id FROM (\
           SELECT customer_id FROM communications WHERE channel = $1 AND sent_at >= $2 AND purpose = 'marketing' \
           UNION ALL \
           SELECT r.customer_id FROM campaign_recipients r JOIN campaigns k ON k.id = r.campaign_id \
           WHERE r.status IN ('queued', 'handed_over') AND k.channel = $1 AND k.id <> $4\
         ) m GROUP BY customer_id HAVING COUNT(*) >= $3",
        params![channel, since, cap, campaign_id],
    )
}

fn ids(c: &mut dyn Conn, sql: &str, p: &[crate::Value]) -> Result<Vec<i64>, StoreError> {
    let mut out = Vec::new();
    c.query_each(sql, p, &mut |r| {
        out.push(r.int(0)?);
        Ok(())
    })?;
    Ok(out)
}

/// One audience member's place in a campaign, as materialisation decides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Customer.
    pub customer_id: i64,
    /// Variant key, or `holdout`, or `-` for a skipped customer.
    pub arm: String,
    /// `queued`, `holdout` or `skipped`.
    pub status: &'static str,
    /// Why a customer was skipped.
    pub reason: Option<&'static str>,
    /// Not before (Unix seconds).
    pub run_after: i64,
}

/// Writes a campaign's recipients (once: a second call for the same customers changes nothing).
pub fn place(c: &mut dyn Conn, campaign_id: i64, placements: &[Placement]) -> Result<(), StoreError> {
    for chunk in placements.chunks(10_000) {
        let mut rows = Rows::with_capacity(chunk.len(), 6);
        for p in chunk {
            rows.push([
                Param::from(campaign_id),
                Param::from(p.customer_id),
                Param::from(p.arm.as_str()),
                Param::from(p.status),
                Param::from(p.reason),
                Param::from(p.run_after),
            ]);
        }
        c.insert_rows_then(
            "campaign_recipients",
            &["campaign_id", "customer_id", "arm", "status", "reason", "run_after"],
            &rows,
            " ON CONFLICT (campaign_id, customer_id, step) DO NOTHING",
        )?;
    }
    Ok(())
}

/// A recipient a worker holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// Campaign.
    pub campaign_id: i64,
    /// Customer.
    pub customer_id: i64,
    /// Variant key.
    pub arm: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// The journey step and occurrence the message is for (`''` for a campaign's message).
    pub step: String,
}

/// Claims up to `limit` queued recipients of sending campaigns on `channel` whose time has
/// come (or whose worker's lease ran out before the hand-over), for `worker` until
/// `lease_until`. With `campaign` only that campaign's. PostgreSQL workers skip rows others
/// hold.
pub fn claim(
    c: &mut dyn Conn,
    channel: &str,
    campaign: Option<i64>,
    worker: &str,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> Result<Vec<Claimed>, StoreError> {
    let lock = match c.backend() {
        Backend::Postgres => " FOR UPDATE OF r SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE campaign_recipients SET claimed_by = $1, lease_until = $2, attempts = attempts + 1 \
         WHERE (campaign_id, customer_id, step) IN (\
           SELECT r.campaign_id, r.customer_id, r.step FROM campaign_recipients r JOIN campaigns k ON k.id = r.campaign_id \
           WHERE r.status = 'queued' AND r.run_after <= $3 AND (r.lease_until IS NULL OR r.lease_until <= $3) \
             AND k.state = 'sending' AND k.channel = $4 AND ($5 = 0 OR k.id = $5) \
           ORDER BY r.run_after, r.campaign_id, r.customer_id LIMIT $6{lock}) \
         RETURNING campaign_id, customer_id, arm, attempts, step"
    );
    let mut out = c
        .query(&sql, params![worker, lease_until, now, channel, campaign.unwrap_or(0), limit])?
        .iter()
        .map(|r| {
            Ok(Claimed {
                campaign_id: r.int("campaign_id")?,
                customer_id: r.int("customer_id")?,
                arm: r.text("arm")?,
                attempts: r.int("attempts")?,
                step: r.text("step")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    out.sort_by_key(|x| (x.campaign_id, x.customer_id));
    Ok(out)
}

/// Gives back a message `worker` claimed but did not try (the channel cannot be used as
/// configured): queued again at once, the attempt not counted.
pub fn release(c: &mut dyn Conn, campaign_id: i64, customer_id: i64, worker: &str) -> Result<(), StoreError> {
    c.execute(
        "UPDATE campaign_recipients SET claimed_by = NULL, lease_until = NULL, \
         attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END \
         WHERE campaign_id = $1 AND customer_id = $2 AND status = 'queued' AND claimed_by = $3",
        params![campaign_id, customer_id, worker],
    )?;
    Ok(())
}

/// Reserves `count` send slots, `interval_us` microseconds apart, on `channel`'s pace that all
/// senders of the database share (table `campaign_pace`): the first slot is the later of
/// `now_us` and the end of the slots reserved before; returns it (Unix microseconds). The row
/// is locked for the statement, so concurrent senders get slots that do not overlap.
pub fn reserve_pace(
    c: &mut dyn Conn,
    channel: &str,
    now_us: i64,
    count: i64,
    interval_us: i64,
) -> Result<i64, StoreError> {
    let span = count.max(1).saturating_mul(interval_us.max(0));
    let end = c
        .query_one(
            "INSERT INTO campaign_pace (channel, next_at) VALUES ($1, CAST($2 AS BIGINT) + CAST($3 AS BIGINT)) \
             ON CONFLICT (channel) DO UPDATE SET next_at = CASE WHEN campaign_pace.next_at > CAST($2 AS BIGINT) \
             THEN campaign_pace.next_at ELSE CAST($2 AS BIGINT) END + CAST($3 AS BIGINT) RETURNING next_at",
            params![channel, now_us, span],
        )?
        .int("next_at")?;
    Ok(end - span)
}

/// Queued recipients of a campaign (of one variant, or all), by customer id.
pub fn queued(c: &mut dyn Conn, campaign_id: i64, arm: Option<&str>) -> Result<Vec<(i64, String)>, StoreError> {
    c.query(
        "SELECT customer_id, arm FROM campaign_recipients WHERE campaign_id = $1 AND status = 'queued' \
         AND ($2 = '' OR arm = $2) ORDER BY customer_id",
        params![campaign_id, arm.unwrap_or("")],
    )?
    .iter()
    .map(|r| Ok((r.int("customer_id")?, r.text("arm")?)))
    .collect()
}

/// Queued recipients of a campaign with the journey step each message is for (`''` for a
/// campaign's message): (customer, arm, step), by customer id.
pub fn queued_steps(c: &mut dyn Conn, campaign_id: i64) -> Result<Vec<(i64, String, String)>, StoreError> {
    c.query(
        "SELECT customer_id, arm, step FROM campaign_recipients WHERE campaign_id = $1 AND status = 'queued' \
         ORDER BY customer_id, step",
        params![campaign_id],
    )?
    .iter()
    .map(|r| Ok((r.int("customer_id")?, r.text("arm")?, r.text("step")?)))
    .collect()
}

/// Records that the message is about to be handed to the server, if `worker` still holds it.
/// Commit this before the message's last byte is sent.
pub fn hand_over(c: &mut dyn Conn, campaign_id: i64, customer_id: i64, worker: &str) -> Result<bool, StoreError> {
    Ok(c.execute(
        "UPDATE campaign_recipients SET status = 'handed_over' \
         WHERE campaign_id = $1 AND customer_id = $2 AND status = 'queued' AND claimed_by = $3",
        params![campaign_id, customer_id, worker],
    )? == 1)
}

/// A message as the communication history records it.
#[derive(Debug, Clone, Copy)]
pub struct Delivered<'a> {
    /// Campaign.
    pub campaign_id: i64,
    /// Campaign name.
    pub campaign: &'a str,
    /// Customer.
    pub customer_id: i64,
    /// Channel.
    pub channel: &'a str,
    /// Variant key.
    pub arm: &'a str,
    /// Subject (or a summary for channels without one).
    pub subject: &'a str,
    /// When (Unix seconds).
    pub at: i64,
    /// `None` for a confirmed delivery; otherwise why it is counted as sent unconfirmed.
    pub note: Option<&'a str>,
}

/// Records a message as sent: the recipient row (the one in the queue: there is at most one
/// per campaign and customer) and the customer's communication history, with the journey step.
pub fn mark_sent(c: &mut dyn Conn, d: &Delivered<'_>) -> Result<(), StoreError> {
    let Some(sent) = c.query_opt(
        "UPDATE campaign_recipients SET status = 'sent', sent_at = $3, reason = $4, claimed_by = NULL, lease_until = NULL \
         WHERE campaign_id = $1 AND customer_id = $2 AND status IN ('queued', 'handed_over') RETURNING step",
        params![d.campaign_id, d.customer_id, d.at, d.note],
    )?
    else {
        return Ok(());
    };
    let step = Some(sent.text("step")?).filter(|s| !s.is_empty());
    c.execute(
        "INSERT INTO communications (customer_id, channel, campaign, step, variant, subject, sent_at, status, created_at, \
         campaign_id, purpose) VALUES ($1, $2, $3, $8, $4, $5, $6, 'sent', $6, $7, 'marketing') ON CONFLICT DO NOTHING",
        params![d.customer_id, d.channel, d.campaign, d.arm, d.subject, d.at, d.campaign_id, step.as_deref()],
    )?;
    Ok(())
}

/// Puts a message back in the queue after a transient failure, to be tried at `run_after`.
pub fn retry_later(
    c: &mut dyn Conn,
    campaign_id: i64,
    customer_id: i64,
    error: &str,
    run_after: i64,
) -> Result<(), StoreError> {
    c.execute(
        "UPDATE campaign_recipients SET status = 'queued', reason = $3, run_after = $4, claimed_by = NULL, lease_until = NULL \
         WHERE campaign_id = $1 AND customer_id = $2 AND status IN ('queued', 'handed_over')",
        params![campaign_id, customer_id, error, run_after],
    )?;
    Ok(())
}

/// Records that a message failed for good, with the reason.
pub fn mark_failed(c: &mut dyn Conn, campaign_id: i64, customer_id: i64, error: &str) -> Result<(), StoreError> {
    c.execute(
        "UPDATE campaign_recipients SET status = 'failed', reason = $3, claimed_by = NULL, lease_until = NULL \
         WHERE campaign_id = $1 AND customer_id = $2 AND status IN ('queued', 'handed_over')",
        params![campaign_id, customer_id, error],
    )?;
    Ok(())
}

/// Messages handed to the server by a worker that stopped before it heard back (its lease ran
/// out): counted as sent, with the note `unconfirmed`, so that they are never sent again.
/// Returns the (campaign, customer) pairs settled.
pub fn unconfirmed(c: &mut dyn Conn, now: i64) -> Result<Vec<(i64, i64, String)>, StoreError> {
    c.query(
        "SELECT campaign_id, customer_id, arm FROM campaign_recipients WHERE status = 'handed_over' AND lease_until <= $1",
        params![now],
    )?
    .iter()
    .map(|r| Ok((r.int("campaign_id")?, r.int("customer_id")?, r.text("arm")?)))
    .collect()
}

/// Adds an address to the suppression list (kept as it is when it is there already).
pub fn suppress(c: &mut dyn Conn, channel: &str, address: &str, reason: &str, detail: &str) -> Result<(), StoreError> {
    let now = c.now();
    c.execute(
        "INSERT INTO suppressions (channel, address, reason, detail, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (channel, address) DO NOTHING",
        params![channel, address, reason, detail, now],
    )?;
    Ok(())
}

/// Whether an address is suppressed on a channel.
pub fn is_suppressed(c: &mut dyn Conn, channel: &str, address: &str) -> Result<bool, StoreError> {
    Ok(c.query_opt("SELECT 1 FROM suppressions WHERE channel = $1 AND address = $2", params![channel, address])?
        .is_some())
}

/// Recipients of a campaign counted by arm, status and reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCount {
    /// Variant key, `holdout`, or `-`.
    pub arm: String,
    /// Status.
    pub status: String,
    /// Reason (for skipped and failed).
    pub reason: Option<String>,
    /// How many.
    pub count: i64,
}

/// A campaign's recipients by arm, status and reason.
pub fn status_counts(c: &mut dyn Conn, campaign_id: i64) -> Result<Vec<StatusCount>, StoreError> {
    c.query(
        "SELECT arm, status, reason, COUNT(*) AS n FROM campaign_recipients WHERE campaign_id = $1 \
         GROUP BY arm, status, reason ORDER BY arm, status, reason",
        params![campaign_id],
    )?
    .iter()
    .map(|r| {
        Ok(StatusCount {
            arm: r.text("arm")?,
            status: r.text("status")?,
            reason: r.opt_text("reason")?,
            count: r.int("n")?,
        })
    })
    .collect()
}

/// Skipped recipients of a campaign with their reason: (customer id, external id, reason).
pub fn skipped(c: &mut dyn Conn, campaign_id: i64) -> Result<Vec<(i64, String, String)>, StoreError> {
    c.query(
        "SELECT r.customer_id, c.external_id, r.reason FROM campaign_recipients r JOIN customers c ON c.id = r.customer_id \
         WHERE r.campaign_id = $1 AND r.status = 'skipped' ORDER BY r.reason, r.customer_id",
        params![campaign_id],
    )?
    .iter()
    .map(|r| Ok((r.int(0)?, r.text(1)?, r.opt_text(2)?.unwrap_or_default())))
    .collect()
}

/// What a campaign counts as a conversion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GoalFilter {
    /// Any order.
    AnyOrder,
    /// An order with a line of this SKU.
    Sku(String),
    /// An order with a line in this category.
    Category(String),
}

/// One arm's conversions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmOutcome {
    /// Variant key or `holdout`.
    pub arm: String,
    /// Members compared: sent messages, or held-out customers.
    pub members: i64,
    /// Members with at least one qualifying order in the window.
    pub converted: i64,
    /// Revenue of the qualifying orders (order totals, stored ×10,000).
    pub revenue: i64,
    /// Seconds from the message (or the send start, for the holdout) to each member's first
    /// qualifying order.
    pub seconds_to_convert: Vec<i64>,
}

/// Conversions per arm: for each sent message (and each held-out customer, counted from
/// `started_at`), the qualifying orders placed from the message's time up to `window_seconds`
/// after it (the end excluded).
pub fn outcomes(
    c: &mut dyn Conn,
    campaign_id: i64,
    started_at: i64,
    window_seconds: i64,
    goal: &GoalFilter,
) -> Result<Vec<ArmOutcome>, StoreError> {
    let (goal_sql, goal_value) = match goal {
        GoalFilter::AnyOrder => ("", None),
        GoalFilter::Sku(s) => {
            (" AND EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id AND l.sku = $4)", Some(s.as_str()))
        }
        GoalFilter::Category(s) => {
            (" AND EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id AND l.category = $4)", Some(s.as_str()))
        }
    };
    let members = c.query(
        "SELECT arm, COUNT(*) AS n FROM campaign_recipients WHERE campaign_id = $1 AND status IN ('sent', 'holdout') GROUP BY arm ORDER BY arm",
        params![campaign_id],
    )?;
    let mut out: Vec<ArmOutcome> = members
        .iter()
        .map(|r| {
            Ok(ArmOutcome {
                arm: r.text("arm")?,
                members: r.int("n")?,
                converted: 0,
                revenue: 0,
                seconds_to_convert: Vec::new(),
            })
        })
        .collect::<Result<_, StoreError>>()?;
    let sql = format!(
        "SELECT r.arm, r.customer_id, o.placed_at - COALESCE(r.sent_at, $2) AS after, o.total AS total \
         FROM campaign_recipients r JOIN orders o ON o.customer_id = r.customer_id \
         WHERE r.campaign_id = $1 AND r.status IN ('sent', 'holdout') \
           AND o.placed_at >= COALESCE(r.sent_at, $2) AND o.placed_at < COALESCE(r.sent_at, $2) + $3{goal_sql} \
         ORDER BY r.arm, r.customer_id, o.placed_at"
    );
    let p: Vec<crate::Value> = match goal_value {
        None => params![campaign_id, started_at, window_seconds].to_vec(),
        Some(v) => params![campaign_id, started_at, window_seconds, v].to_vec(),
    };
    let mut last: Option<(String, i64)> = None;
    for r in c.query(&sql, &p)? {
        let (arm, customer) = (r.text("arm")?, r.int("customer_id")?);
        let Some(o) = out.iter_mut().find(|o| o.arm == arm) else { continue };
        o.revenue = o.revenue.checked_add(r.int("total")?).ok_or_else(|| StoreError::OutOfRange("revenue".into()))?;
        if last.as_ref() != Some(&(arm.clone(), customer)) {
            o.converted += 1;
            o.seconds_to_convert.push(r.int("after")?);
            last = Some((arm, customer));
        }
    }
    Ok(out)
}

/// One line of a call-list campaign's call list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallLine {
    /// Customer.
    pub customer_id: i64,
    /// The shop's id.
    pub external_id: String,
    /// Name.
    pub name: Option<String>,
    /// The name's reading.
    pub furigana: Option<String>,
    /// Phone as stored (normalised: `+` and digits).
    pub phone: Option<String>,
    /// When the last order was placed (Unix seconds).
    pub last_order_at: Option<i64>,
    /// Points balance.
    pub points: i64,
    /// The newest open issue (an interaction open or in progress), its text.
    pub open_issue: Option<String>,
    /// When the call is due (Unix seconds).
    pub due_at: Option<i64>,
    /// Whom the call is assigned to.
    pub assignee: Option<String>,
}

/// The customers a call-list campaign made a call task for, by customer id, with what a
/// caller needs at hand.
pub fn call_list(c: &mut dyn Conn, campaign_id: i64) -> Result<Vec<CallLine>, StoreError> {
    c.query(
        "SELECT k.id, k.external_id, k.name, k.furigana, k.phone, \
           (SELECT MAX(o.placed_at) FROM orders o WHERE o.customer_id = k.id) AS last_order_at, \
           COALESCE((SELECT a.balance FROM loyalty_accounts a WHERE a.customer_id = k.id), 0) AS points, \
           (SELECT i.body FROM interactions i WHERE i.customer_id = k.id AND i.status IN ('open', 'in_progress') \
            ORDER BY i.occurred_at DESC, i.id DESC LIMIT 1) AS open_issue, \
           t.due_at, u.name AS assignee \
         FROM campaign_recipients r JOIN customers k ON k.id = r.customer_id \
         LEFT JOIN tasks t ON t.campaign_id = r.campaign_id AND t.customer_id = r.customer_id AND t.kind = 'call' \
         LEFT JOIN users u ON u.id = t.assignee_id \
         WHERE r.campaign_id = $1 AND r.status = 'sent' ORDER BY k.id",
        params![campaign_id],
    )?
    .iter()
    .map(|r| {
        Ok(CallLine {
            customer_id: r.int("id")?,
            external_id: r.text("external_id")?,
            name: r.opt_text("name")?,
            furigana: r.opt_text("furigana")?,
            phone: r.opt_text("phone")?,
            last_order_at: r.opt_int("last_order_at")?,
            points: r.int("points")?,
            open_issue: r.opt_text("open_issue")?,
            due_at: r.opt_int("due_at")?,
            assignee: r.opt_text("assignee")?,
        })
    })
    .collect()
}

/// Every scored customer's value as the contact plan ranks it: (customer, loyal class,
/// predicted CLV, 0 when not predicted).
pub fn customer_values(c: &mut dyn Conn) -> Result<Vec<(i64, Option<String>, f64)>, StoreError> {
    let mut out = Vec::new();
    c.query_each("SELECT customer_id, loyal_class, COALESCE(clv, 0) AS clv FROM customer_scores", &[], &mut |r| {
        out.push((r.int("customer_id")?, r.opt_text("loyal_class")?, r.real("clv")?));
        Ok(())
    })?;
    Ok(out)
}

/// The shop's ids of customers `ids`, in the same order (empty for one that does not exist).
/// Reads only those customers, a chunk of ids at a time.
pub fn external_ids(c: &mut dyn Conn, ids: &[i64]) -> Result<Vec<String>, StoreError> {
    let mut wanted: Vec<i64> = ids.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    let keys: Vec<crate::db::Value> = wanted.into_iter().map(crate::db::Value::from).collect();
    let mut known: std::collections::HashMap<i64, String> = std::collections::HashMap::with_capacity(keys.len());
    if !keys.is_empty() {
        for r in super::query_in(c, "SELECT id, external_id FROM customers WHERE id IN ({list})", &keys)? {
            known.insert(r.int("id")?, r.text("external_id")?);
        }
    }
    Ok(ids.iter().map(|id| known.get(id).cloned().unwrap_or_default()).collect())
}

/// Recipients of a campaign, by arm, who have since opted out of `consent` (the consent
/// channel) through the campaign's own unsubscribe link (consent `source`).
pub fn unsubscribed_by_arm(
    c: &mut dyn Conn,
    campaign_id: i64,
    consent: &str,
    source: &str,
) -> Result<Vec<(String, i64)>, StoreError> {
    c.query(
        "SELECT r.arm, COUNT(*) AS n FROM campaign_recipients r JOIN customer_consents k ON k.customer_id = r.customer_id \
         WHERE r.campaign_id = $1 AND r.status = 'sent' AND k.channel = $2 AND k.status = 'opted_out' AND k.source = $3 \
         GROUP BY r.arm ORDER BY r.arm",
        params![campaign_id, consent, source],
    )?
    .iter()
    .map(|r| Ok((r.text("arm")?, r.int("n")?)))
    .collect()
}

/// A skipped recipient: (customer id, external id, reason).
pub type SkippedRow = (i64, String, String);

/// One page of a campaign's skipped recipients, by reason then customer, and how many there
/// are in all.
pub fn skipped_page(
    c: &mut dyn Conn,
    campaign_id: i64,
    limit: i64,
    offset: i64,
) -> Result<(Vec<SkippedRow>, i64), StoreError> {
    let total = c
        .query_one(
            "SELECT COUNT(*) FROM campaign_recipients WHERE campaign_id = $1 AND status = 'skipped'",
            params![campaign_id],
        )?
        .int(0)?;
    let rows = c
        .query(
            "SELECT r.customer_id, c.external_id, r.reason FROM campaign_recipients r JOIN customers c ON c.id = r.customer_id \
             WHERE r.campaign_id = $1 AND r.status = 'skipped' ORDER BY r.reason, r.customer_id LIMIT $2 OFFSET $3",
            params![campaign_id, limit, offset],
        )?
        .iter()
        .map(|r| Ok((r.int(0)?, r.text(1)?, r.opt_text(2)?.unwrap_or_default())))
        .collect::<Result<_, StoreError>>()?;
    Ok((rows, total))
}
