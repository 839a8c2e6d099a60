//! Following up: owners of customers and B2B accounts, tasks (a call, an email, a letter, a
//! meeting) with a due time, an assignee and an outcome, the rules that make tasks, and the
//! assignees' daily digest (docs/listening.md).

use crate::db::{Conn, Row};
use crate::model::{instant, UserRef};
use crate::repo::history::user_ref;
use crate::repo::{jobs, settings};
use crate::{params, StoreError};
use chrono::{DateTime, Utc};
use enishi_core::{Amount, Currency, TaskKind, TaskStatus};
use serde::Serialize;

/// A follow-up task.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    /// Enishi's id.
    pub id: i64,
    /// The customer it is about.
    pub customer_id: i64,
    /// The customer's name.
    pub customer_name: Option<String>,
    /// The interaction it follows up, if any.
    pub interaction_id: Option<i64>,
    /// The campaign it belongs to, if any (set by the campaigns work).
    pub campaign_id: Option<i64>,
    /// A call, an email, a letter or a meeting.
    pub kind: TaskKind,
    /// What to do.
    pub title: String,
    /// When it is due.
    pub due_at: DateTime<Utc>,
    /// Who is to do it.
    pub assignee: Option<UserRef>,
    /// Open, done or cancelled.
    pub status: TaskStatus,
    /// What came of it.
    pub outcome: Option<String>,
    /// The rule that made it, if one did: `complaint`, `at_risk`, `first_order` or `detractor`
    /// (the task rules, docs/listening.md), or `campaign` (a call-list campaign's call,
    /// docs/campaigns.md).
    pub rule: Option<String>,
    /// Who made it (`user:EMAIL`, `api`, `rule`).
    pub created_by: Option<String>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it was done or cancelled.
    pub done_at: Option<DateTime<Utc>>,
}

/// A task to make.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTask {
    /// The customer it is about.
    pub customer_id: i64,
    /// The interaction it follows up, if any.
    pub interaction_id: Option<i64>,
    /// What kind of task.
    pub kind: TaskKind,
    /// What to do (not empty).
    pub title: String,
    /// When it is due (Unix seconds).
    pub due_at: i64,
    /// Who is to do it.
    pub assignee_id: Option<i64>,
    /// Who makes it.
    pub created_by: Option<String>,
}

const SELECT: &str = "SELECT t.id, t.customer_id, k.name AS customer_name, t.interaction_id, t.campaign_id, t.kind, \
     t.title, t.due_at, t.assignee_id, u.email AS assignee_email, u.name AS assignee_name, t.status, t.outcome, \
     t.rule_key, t.created_by, t.created_at, t.done_at \
     FROM tasks t JOIN customers k ON k.id = t.customer_id LEFT JOIN users u ON u.id = t.assignee_id";

fn decode(r: &Row) -> Result<Task, StoreError> {
    let bad = |what: &str| StoreError::Decode(format!("unknown task {what}"));
    Ok(Task {
        id: r.int("id")?,
        customer_id: r.int("customer_id")?,
        customer_name: r.opt_text("customer_name")?,
        interaction_id: r.opt_int("interaction_id")?,
        campaign_id: r.opt_int("campaign_id")?,
        kind: r.text("kind")?.parse().map_err(|_| bad("kind"))?,
        title: r.text("title")?,
        due_at: instant(r.int("due_at")?),
        assignee: user_ref(r, "assignee")?,
        status: r.text("status")?.parse().map_err(|_| bad("status"))?,
        outcome: r.opt_text("outcome")?,
        rule: r.opt_text("rule_key")?.and_then(|k| k.split(':').next().map(str::to_string)),
        created_by: r.opt_text("created_by")?,
        created_at: instant(r.int("created_at")?),
        done_at: r.opt_int("done_at")?.map(instant),
    })
}

/// Makes a task; returns it.
pub fn create(c: &mut dyn Conn, t: &NewTask) -> Result<Task, StoreError> {
    let now = c.now();
    let id = c
        .query_one(
            "INSERT INTO tasks (customer_id, interaction_id, kind, title, due_at, assignee_id, status, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8) RETURNING id",
            params![
                t.customer_id,
                t.interaction_id,
                t.kind.as_str(),
                t.title.as_str(),
                t.due_at,
                t.assignee_id,
                t.created_by.clone(),
                now
            ],
        )?
        .int(0)?;
    get(c, id)?.ok_or_else(|| StoreError::NotFound(format!("task {id}")))
}

/// One task.
pub fn get(c: &mut dyn Conn, id: i64) -> Result<Option<Task>, StoreError> {
    c.query_opt(&format!("{SELECT} WHERE t.id = $1"), params![id])?.as_ref().map(decode).transpose()
}

/// Which tasks to list.
#[derive(Debug, Clone, Default)]
pub struct TaskQuery {
    /// Only this user's.
    pub assignee_id: Option<i64>,
    /// Only this customer's.
    pub customer_id: Option<i64>,
    /// Only with this status.
    pub status: Option<TaskStatus>,
    /// Only open ones due before this instant (Unix seconds): the overdue view.
    pub due_before: Option<i64>,
}

/// Tasks as `q` asks, the soonest due first.
pub fn list(c: &mut dyn Conn, q: &TaskQuery, limit: i64, offset: i64) -> Result<Vec<Task>, StoreError> {
    use sea_query::{Alias, Expr, ExprTrait, JoinType, Order, Query};
    let (t, k, u) = (Alias::new("t"), Alias::new("k"), Alias::new("u"));
    let tcol = |col: &str| Expr::col((Alias::new("t"), Alias::new(col)));
    let mut query = Query::select();
    query
        .columns(
            ["id", "customer_id", "interaction_id", "campaign_id", "kind", "title", "due_at", "assignee_id"]
                .map(|col| (t.clone(), Alias::new(col))),
        )
        .columns(
            ["status", "outcome", "rule_key", "created_by", "created_at", "done_at"]
                .map(|col| (t.clone(), Alias::new(col))),
        )
        .expr_as(Expr::col((k.clone(), Alias::new("name"))), Alias::new("customer_name"))
        .expr_as(Expr::col((u.clone(), Alias::new("email"))), Alias::new("assignee_email"))
        .expr_as(Expr::col((u.clone(), Alias::new("name"))), Alias::new("assignee_name"))
        .from_as(Alias::new("tasks"), t.clone())
        .join_as(
            JoinType::InnerJoin,
            Alias::new("customers"),
            k.clone(),
            Expr::col((k, Alias::new("id"))).equals((t.clone(), Alias::new("customer_id"))),
        )
        .join_as(
            JoinType::LeftJoin,
            Alias::new("users"),
            u.clone(),
            Expr::col((u, Alias::new("id"))).equals((t, Alias::new("assignee_id"))),
        );
    if let Some(id) = q.assignee_id {
        query.and_where(tcol("assignee_id").eq(id));
    }
    if let Some(id) = q.customer_id {
        query.and_where(tcol("customer_id").eq(id));
    }
    if let Some(status) = q.status {
        query.and_where(tcol("status").eq(status.as_str()));
    }
    if let Some(before) = q.due_before {
        query.and_where(tcol("status").eq(TaskStatus::Open.as_str())).and_where(tcol("due_at").lt(before));
    }
    query
        .order_by_expr(tcol("due_at"), Order::Asc)
        .order_by_expr(tcol("id"), Order::Asc)
        .limit(u64::try_from(limit).unwrap_or(0))
        .offset(u64::try_from(offset).unwrap_or(0));
    crate::sql::select(c, &query)?.iter().map(decode).collect()
}

/// A change to a task: each field that is `Some` is set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskChange {
    /// A new title.
    pub title: Option<String>,
    /// A new kind.
    pub kind: Option<TaskKind>,
    /// A new due time (Unix seconds).
    pub due_at: Option<i64>,
    /// A new assignee (`Some(None)` unassigns).
    pub assignee_id: Option<Option<i64>>,
    /// A new status: done or cancelled sets `done_at` (kept when it already was), open clears it.
    pub status: Option<TaskStatus>,
    /// The outcome (`Some(None)` clears it).
    pub outcome: Option<Option<String>>,
}

/// Changes task `id` as `ch` says; returns it, or `None` when there is no such task.
pub fn update(c: &mut dyn Conn, id: i64, ch: &TaskChange) -> Result<Option<Task>, StoreError> {
    let Some(before) = get(c, id)? else { return Ok(None) };
    let status = ch.status.unwrap_or(before.status);
    let done_at = match (before.status == TaskStatus::Open, status == TaskStatus::Open) {
        (_, true) => None,
        (true, false) => Some(c.now()),
        (false, false) => before.done_at.map(|t| t.timestamp()),
    };
    c.execute(
        "UPDATE tasks SET title = $1, kind = $2, due_at = $3, assignee_id = $4, status = $5, outcome = $6, done_at = $7 WHERE id = $8",
        params![
            ch.title.clone().unwrap_or(before.title),
            ch.kind.unwrap_or(before.kind).as_str(),
            ch.due_at.unwrap_or(before.due_at.timestamp()),
            ch.assignee_id.unwrap_or(before.assignee.map(|u| u.id)),
            status.as_str(),
            ch.outcome.clone().unwrap_or(before.outcome),
            done_at,
            id
        ],
    )?;
    get(c, id)
}

/// Deletes task `id`; `false` when there was none.
pub fn delete(c: &mut dyn Conn, id: i64) -> Result<bool, StoreError> {
    Ok(c.execute("DELETE FROM tasks WHERE id = $1", params![id])? > 0)
}

/// How many open tasks of user `user_id` are due before `before` (Unix seconds): the
/// console's reminder badge.
pub fn due_count(c: &mut dyn Conn, user_id: i64, before: i64) -> Result<i64, StoreError> {
    c.query_one(
        "SELECT COUNT(*) FROM tasks WHERE assignee_id = $1 AND status = 'open' AND due_at < $2",
        params![user_id, before],
    )?
    .int(0)
}

/// A user by sign-in email (any case), if there is one and they are not disabled.
pub fn user_by_email(c: &mut dyn Conn, email: &str) -> Result<Option<UserRef>, StoreError> {
    c.query_opt(
        "SELECT id AS u_id, email AS u_email, name AS u_name FROM users WHERE email = $1 AND disabled_at IS NULL",
        params![email.trim().to_lowercase()],
    )?
    .map(|r| user_ref(&r, "u").map(|u| u.expect("the id is not NULL")))
    .transpose()
}

/// Every enabled user, by name: whom a task or an issue may be assigned to.
pub fn assignable_users(c: &mut dyn Conn) -> Result<Vec<UserRef>, StoreError> {
    c.query("SELECT id, email, name FROM users WHERE disabled_at IS NULL ORDER BY name, id", &[])?
        .iter()
        .map(|r| Ok(UserRef { id: r.int("id")?, email: r.text("email")?, name: r.text("name")? }))
        .collect()
}

/// Whether `user_id` is an enabled user.
pub fn is_assignable(c: &mut dyn Conn, user_id: i64) -> Result<bool, StoreError> {
    Ok(c.query_opt("SELECT 1 FROM users WHERE id = $1 AND disabled_at IS NULL", params![user_id])?.is_some())
}

/// The owner of customer `id` (`None` also when there is no such customer).
pub fn customer_owner(c: &mut dyn Conn, id: i64) -> Result<Option<UserRef>, StoreError> {
    c.query_opt(
        "SELECT u.id AS owner_id, u.email AS owner_email, u.name AS owner_name FROM customers k \
         JOIN users u ON u.id = k.owner_id WHERE k.id = $1",
        params![id],
    )?
    .map(|r| user_ref(&r, "owner"))
    .transpose()
    .map(Option::flatten)
}

/// Sets (or with `None` clears) the owner of customer `id`; `false` when there is no such customer.
pub fn set_customer_owner(c: &mut dyn Conn, id: i64, owner: Option<i64>) -> Result<bool, StoreError> {
    Ok(c.execute("UPDATE customers SET owner_id = $1 WHERE id = $2", params![owner, id])? > 0)
}

/// The owner of B2B account `id`.
pub fn account_owner(c: &mut dyn Conn, id: i64) -> Result<Option<UserRef>, StoreError> {
    c.query_opt(
        "SELECT u.id AS owner_id, u.email AS owner_email, u.name AS owner_name FROM accounts a \
         JOIN users u ON u.id = a.owner_id WHERE a.id = $1",
        params![id],
    )?
    .map(|r| user_ref(&r, "owner"))
    .transpose()
    .map(Option::flatten)
}

/// Sets (or with `None` clears) the owner of B2B account `id`; `false` when there is no such account.
pub fn set_account_owner(c: &mut dyn Conn, id: i64, owner: Option<i64>) -> Result<bool, StoreError> {
    Ok(c.execute("UPDATE accounts SET owner_id = $1 WHERE id = $2", params![owner, id])? > 0)
}

/// Setting: whether a complaint makes a follow-up task (`on`, the default, or `off`).
pub const RULE_COMPLAINT: &str = "task_rule_complaint";
/// Setting: days after the complaint its follow-up is due (default 3).
pub const RULE_COMPLAINT_DAYS: &str = "task_rule_complaint_days";
/// Setting: whether a loyal customer turning long overdue (lifecycle `at_risk`) makes a personal call (`on`, the default, or `off`).
pub const RULE_AT_RISK: &str = "task_rule_at_risk";
/// Setting: days after the change the call is due (default 2).
pub const RULE_AT_RISK_DAYS: &str = "task_rule_at_risk_days";
/// Setting: whether a large first order makes a thank-you note (`on` or `off`, the default).
pub const RULE_FIRST_ORDER: &str = "task_rule_first_order";
/// Setting: the total (in the workspace currency) a first order must be over (default 30000).
pub const RULE_FIRST_ORDER_OVER: &str = "task_rule_first_order_over";
/// Setting: whether a detractor's survey answer (NPS 0–6) makes a call (`on`, the default, or `off`).
pub const RULE_DETRACTOR: &str = "task_rule_detractor";
/// Setting: days after the answer the call is due (default 2).
pub const RULE_DETRACTOR_DAYS: &str = "task_rule_detractor_days";
/// Setting: how many days after a concern was resolved the till asks "how is it now?" (default 30).
pub const ASK_AFTER_DAYS: &str = "ask_after_resolved_days";

/// The task rules as the settings have them (docs/listening.md): each on or off, with its
/// parameter kept while it is off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rules {
    /// A complaint → a follow-up call.
    pub complaint: bool,
    /// … due this many days after the complaint.
    pub complaint_days: i64,
    /// A loyal customer turning long overdue (lifecycle `at_risk`) → a personal call.
    pub at_risk: bool,
    /// … due this many days after the change.
    pub at_risk_days: i64,
    /// A large first order → a thank-you letter.
    pub first_order: bool,
    /// … when its total is over this (in the workspace currency).
    pub first_order_over: Amount,
    /// A detractor's survey answer → a call.
    pub detractor: bool,
    /// … due this many days after the answer.
    pub detractor_days: i64,
}

/// Whether an on/off setting is on (`default` when unset or neither).
fn switch(c: &mut dyn Conn, key: &str, default: bool) -> Result<bool, StoreError> {
    Ok(match settings::get(c, key)?.as_deref().map(str::trim) {
        Some("on") => true,
        Some("off") => false,
        _ => default,
    })
}

impl Rules {
    /// The rules as set.
    pub fn load(c: &mut dyn Conn) -> Result<Rules, StoreError> {
        let over = settings::get(c, RULE_FIRST_ORDER_OVER)?.and_then(|v| v.trim().parse::<Amount>().ok());
        Ok(Rules {
            complaint: switch(c, RULE_COMPLAINT, true)?,
            complaint_days: settings::days(c, RULE_COMPLAINT_DAYS, 3)?,
            at_risk: switch(c, RULE_AT_RISK, true)?,
            at_risk_days: settings::days(c, RULE_AT_RISK_DAYS, 2)?,
            first_order: switch(c, RULE_FIRST_ORDER, false)?,
            first_order_over: over.unwrap_or_else(|| Amount::from_scaled(30_000 * 10_000)),
            detractor: switch(c, RULE_DETRACTOR, true)?,
            detractor_days: settings::days(c, RULE_DETRACTOR_DAYS, 2)?,
        })
    }
}

/// The titles of the tasks the rules make, by rule, in English and Japanese.
pub const RULE_TITLES: [(&str, &str, &str); 4] = [
    ("complaint", "Follow up on the complaint", "苦情のフォローアップ"),
    ("at_risk", "Personal call: a loyal customer is long overdue", "個別の電話: ロイヤル顧客がしばらくご無沙汰"),
    ("first_order", "Thank-you note for a large first order", "高額な初回注文へのお礼状"),
    ("detractor", "Call a detractor about their survey answer", "アンケートで批判的な回答のお客様へお電話"),
];

/// The title of a task made by `rule` (see [`RULE_TITLES`]), in Japanese or English; `None`
/// for a task no rule of these made.
pub fn rule_title(rule: &str, japanese: bool) -> Option<&'static str> {
    RULE_TITLES.iter().find(|(r, _, _)| *r == rule).map(|(_, en, ja)| if japanese { *ja } else { *en })
}

/// The SQL for the title of a task made by `rule`, in the customer's language (`k.locale`:
/// Japanese for `ja…`) or, for a customer without one, the assignee's (`u.language`), else
/// English.
fn title_sql(rule: &str) -> String {
    let (en, ja) = (rule_title(rule, false).unwrap_or(rule), rule_title(rule, true).unwrap_or(rule));
    debug_assert!(!en.contains('\'') && !ja.contains('\''));
    format!("CASE WHEN LOWER(COALESCE(k.locale, u.language, 'en')) LIKE 'ja%' THEN '{ja}' ELSE '{en}' END")
}

/// What one run of the rules made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RulesRun {
    /// Follow-ups of complaints.
    pub complaint: u64,
    /// Calls to loyal customers turned at risk.
    pub at_risk: u64,
    /// Thank-you notes for large first orders.
    pub first_order: u64,
    /// Calls to detractors.
    pub detractor: u64,
}

/// Runs the complaint rule for complaints recorded at or after `since` (Unix seconds), or only
/// for interaction `only`: each gets one follow-up call, due the set days after it happened,
/// for the complaint's assignee or else the customer's owner. Idempotent (the task's rule key
/// names the complaint). Returns how many tasks it made.
pub fn complaint_rule(c: &mut dyn Conn, rules: &Rules, since: i64, only: Option<i64>) -> Result<u64, StoreError> {
    if !rules.complaint {
        return Ok(0);
    }
    let days = rules.complaint_days;
    c.execute(
        &format!(
            "INSERT INTO tasks (customer_id, interaction_id, kind, title, due_at, assignee_id, status, rule_key, created_by, created_at) \
         SELECT i.customer_id, i.id, 'call', {title}, i.occurred_at + $1, COALESCE(i.assignee_id, k.owner_id), \
         'open', 'complaint:' || i.id, 'rule', $2 FROM interactions i JOIN customers k ON k.id = i.customer_id \
         LEFT JOIN users u ON u.id = COALESCE(i.assignee_id, k.owner_id) \
         WHERE i.kind = 'complaint' AND i.created_at >= $3 AND i.id BETWEEN $4 AND $5 \
         ON CONFLICT (rule_key) DO NOTHING",
            title = title_sql("complaint")
        ),
        params![days * 86_400, c.now(), since, only.unwrap_or(0), only.unwrap_or(i64::MAX)],
    )
}

/// Runs the at-risk rule for lifecycle changes on business day `since_day` or later: each
/// customer of the loyal class who turned `at_risk` gets one personal call, due the set days
/// from now, for their owner. Idempotent (the key names the customer and the day of the change).
pub fn at_risk_rule(c: &mut dyn Conn, rules: &Rules, since_day: i64) -> Result<u64, StoreError> {
    if !rules.at_risk {
        return Ok(0);
    }
    let days = rules.at_risk_days;
    let now = c.now();
    c.execute(
        &format!(
            "INSERT INTO tasks (customer_id, kind, title, due_at, assignee_id, status, rule_key, created_by, created_at) \
         SELECT l.customer_id, 'call', {title}, $1, k.owner_id, 'open', \
         'at_risk:' || l.customer_id || ':' || l.changed_day, 'rule', $2 \
         FROM lifecycle_changes l JOIN customers k ON k.id = l.customer_id LEFT JOIN users u ON u.id = k.owner_id \
         JOIN customer_scores s ON s.customer_id = l.customer_id \
         WHERE l.to_stage = 'at_risk' AND s.loyal_class = 'loyal' AND l.changed_day >= $3 \
         ON CONFLICT (rule_key) DO NOTHING",
            title = title_sql("at_risk")
        ),
        params![now + days * 86_400, now, since_day],
    )
}

/// Runs the first-order rule for orders placed at or after `since` (Unix seconds): a
/// customer's first order whose total in `currency` is over the set amount gets one thank-you
/// letter, due tomorrow, for the customer's owner. Idempotent (the key names the order).
pub fn first_order_rule(c: &mut dyn Conn, rules: &Rules, currency: Currency, since: i64) -> Result<u64, StoreError> {
    if !rules.first_order {
        return Ok(0);
    }
    let over = rules.first_order_over;
    let now = c.now();
    c.execute(
        &format!(
            "INSERT INTO tasks (customer_id, kind, title, due_at, assignee_id, status, rule_key, created_by, created_at) \
         SELECT o.customer_id, 'letter', {title}, $1, k.owner_id, 'open', \
         'first_order:' || o.id, 'rule', $2 FROM orders o JOIN customers k ON k.id = o.customer_id \
         LEFT JOIN users u ON u.id = k.owner_id WHERE o.placed_at >= $3 AND o.currency = $4 AND o.total > $5 AND NOT EXISTS ( \
           SELECT 1 FROM orders p WHERE p.customer_id = o.customer_id \
           AND (p.placed_at < o.placed_at OR (p.placed_at = o.placed_at AND p.id < o.id))) \
         ON CONFLICT (rule_key) DO NOTHING",
            title = title_sql("first_order")
        ),
        params![now + 86_400, now, since, currency.as_str(), over.to_scaled()],
    )
}

/// The most an NPS answer may score and still be a detractor's.
pub const DETRACTOR_MAX: i64 = 6;

/// Runs the detractor rule for NPS answers given at or after `since` (Unix seconds), or only
/// for invitation `only`: each answer of 0–6 gets one call, due the set days after it, for the
/// customer's owner. Idempotent (the key names the invitation).
pub fn detractor_rule(c: &mut dyn Conn, rules: &Rules, since: i64, only: Option<i64>) -> Result<u64, StoreError> {
    if !rules.detractor {
        return Ok(0);
    }
    c.execute(
        &format!(
            "INSERT INTO tasks (customer_id, kind, title, due_at, assignee_id, status, rule_key, created_by, created_at) \
         SELECT i.customer_id, 'call', {title}, i.answered_at + $1, k.owner_id, \
         'open', 'detractor:' || i.id, 'rule', $2 FROM survey_invitations i JOIN customers k ON k.id = i.customer_id \
         LEFT JOIN users u ON u.id = k.owner_id WHERE i.kind = 'nps' AND i.score <= $3 AND i.answered_at >= $4 AND i.id BETWEEN $5 AND $6 \
         ON CONFLICT (rule_key) DO NOTHING",
            title = title_sql("detractor")
        ),
        params![
            rules.detractor_days * 86_400,
            c.now(),
            DETRACTOR_MAX,
            since,
            only.unwrap_or(0),
            only.unwrap_or(i64::MAX)
        ],
    )
}

/// Runs every rule over what happened since `since` (Unix seconds; `since_day` the same as a
/// business day): the scheduler's daily work. Idempotent.
pub fn run_rules(c: &mut dyn Conn, currency: Currency, since: i64, since_day: i64) -> Result<RulesRun, StoreError> {
    let rules = Rules::load(c)?;
    Ok(RulesRun {
        complaint: complaint_rule(c, &rules, since, None)?,
        at_risk: at_risk_rule(c, &rules, since_day)?,
        first_order: first_order_rule(c, &rules, currency, since)?,
        detractor: detractor_rule(c, &rules, since, None)?,
    })
}

/// The job kind of an assignee's daily digest.
pub const DIGEST_JOB: &str = "tasks.digest";

/// One task in a digest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DigestTask {
    /// The task's id.
    pub id: i64,
    /// The customer's id.
    pub customer_id: i64,
    /// The customer's name.
    pub customer: Option<String>,
    /// `call`, `email`, `letter` or `meeting`.
    pub kind: &'static str,
    /// What to do.
    pub title: String,
    /// The rule that made it, if one did (so the digest names it in the assignee's language).
    pub rule: Option<String>,
    /// When it is due (RFC 3339).
    pub due_at: String,
    /// Whether it was due before the digest's day began.
    pub overdue: bool,
}

/// An assignee's daily digest: the job's payload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Digest {
    /// The assignee.
    pub user_id: i64,
    /// Their email (where the campaigns work will send it).
    pub email: String,
    /// Their name.
    pub name: String,
    /// The business day (`YYYY-MM-DD`).
    pub day: String,
    /// Their open tasks due by the end of the day, the soonest first.
    pub tasks: Vec<DigestTask>,
}

/// Enqueues one `tasks.digest` job per assignee with open tasks due before `day_end` (Unix
/// seconds; the end of business day `day`, which began at `day_start`): its payload is the
/// [`Digest`], its idempotency key `tasks.digest:USER:DAY`, so running it twice a day enqueues
/// one. Returns how many jobs it created.
pub fn enqueue_digests(c: &mut dyn Conn, day: &str, day_start: i64, day_end: i64) -> Result<u64, StoreError> {
    let due = list(c, &TaskQuery { due_before: Some(day_end), ..TaskQuery::default() }, i64::MAX, 0)?;
    let mut by_user: std::collections::BTreeMap<i64, Digest> = std::collections::BTreeMap::new();
    for t in due {
        let Some(u) = &t.assignee else { continue };
        let digest = by_user.entry(u.id).or_insert_with(|| Digest {
            user_id: u.id,
            email: u.email.clone(),
            name: u.name.clone(),
            day: day.to_string(),
            tasks: Vec::new(),
        });
        digest.tasks.push(DigestTask {
            id: t.id,
            customer_id: t.customer_id,
            customer: t.customer_name.clone(),
            kind: t.kind.as_str(),
            title: t.title.clone(),
            rule: t.rule.clone(),
            due_at: t.due_at.to_rfc3339(),
            overdue: t.due_at.timestamp() < day_start,
        });
    }
    let now = c.now();
    let mut made = 0;
    for (user, digest) in by_user {
        let payload = serde_json::to_string(&digest).map_err(|e| StoreError::Decode(e.to_string()))?;
        let key = format!("{DIGEST_JOB}:{user}:{day}");
        let job = jobs::NewJob {
            kind: DIGEST_JOB,
            idempotency_key: &key,
            payload: &payload,
            run_after: now,
            max_attempts: 5,
        };
        if jobs::enqueue(c, &job, now)?.1 {
            made += 1;
        }
    }
    Ok(made)
}

/// Makes the call of a call-list campaign to one customer: a `call` task for the customer's
/// owner, due at `due_at`, carrying the campaign. Once only: its key names the campaign and the
/// customer, so a second run makes none. Returns whether it made one.
pub fn create_for_campaign(
    c: &mut dyn Conn,
    campaign_id: i64,
    customer_id: i64,
    step: &str,
    title: &str,
    due_at: i64,
) -> Result<bool, StoreError> {
    let key = if step.is_empty() {
        format!("campaign:{campaign_id}:{customer_id}")
    } else {
        format!("campaign:{campaign_id}:{customer_id}:{step}")
    };
    let now = c.now();
    Ok(c.execute(
        "INSERT INTO tasks (customer_id, campaign_id, kind, title, due_at, assignee_id, status, rule_key, created_by, created_at) \
         SELECT k.id, $1, 'call', $2, $3, k.owner_id, 'open', $4, 'campaign', $5 FROM customers k WHERE k.id = $6 \
         ON CONFLICT (rule_key) DO NOTHING",
        params![campaign_id, title, due_at, key.as_str(), now, customer_id],
    )? == 1)
}
