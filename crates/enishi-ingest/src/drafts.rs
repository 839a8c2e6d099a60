//! Drafts suggested from the shop's own data, and what a draft programme would have cost: the
//! stored orders of a period imported again into a fresh, temporary database under the draft
//! and under the programme in force. The shop's own database is only read.

use crate::formats::OrderFormat;
use crate::orders::{import_orders, OrderImportOptions};
use crate::{ImportError, Progress};
use chrono::{DateTime, SecondsFormat, Utc};
use enishi_core::{Amount, BusinessClock, Currency};
use enishi_insights::quiet::{quiet_windows, QuietWindow};
use enishi_loyalty::program::{Document, Promotion, Repeat, Weekday};
use enishi_loyalty::Rate;
use enishi_store::repo::scores;
use enishi_store::repo::segments::{self, Segment};
use enishi_store::{params, Conn, CustomerScores, RfmScores, Store, StoreError, ValueScores};
use serde::Serialize;
use std::fmt::Write as _;

/// A suggested happy hour: a quiet window of the shop's week, the promotion drafted for it, the
/// programme with it added, and what it would have cost.
#[derive(Debug, Clone, Serialize)]
pub struct Suggestion {
    /// The quiet window.
    pub window: QuietWindow,
    /// The recurring promotion drafted for it.
    pub promotion: Promotion,
    /// The programme it starts from (the one in force, or the café starter) with it added: a
    /// draft to review and apply.
    pub draft: Document,
    /// What it would have cost over the weeks read.
    pub cost: ReplayCost,
}

/// The three quietest windows of `hours` hours in the `weeks` weeks before `now` (see
/// [`quiet_windows`]), each drafted as a `multiplier` × points happy hour added to the
/// programme in force (or to the café starter when there is none), with its cost replayed
/// against that programme over the same weeks.
pub fn suggest_happy_hours(
    store: &Store,
    clock: BusinessClock,
    currency: Currency,
    now: DateTime<Utc>,
    weeks: i64,
    hours: u32,
    multiplier: u32,
) -> Result<Vec<Suggestion>, ImportError> {
    let (base, doc) = programme_in_force(store)?;
    let windows = store.read(|c| quiet_windows(c, &clock, now, weeks, hours, 3))?;
    if windows.is_empty() {
        return Ok(Vec::new());
    }
    // The period's orders are read, and replayed under the programme as it is, once; then
    // once under each draft.
    let replay = Replay::read(store, now - chrono::Duration::weeks(weeks), now, clock, currency)?;
    let points_in_force = replay.points(&base)?;
    let mut out = Vec::with_capacity(windows.len());
    for window in windows {
        let Some(promotion) = happy_hour(window.weekday, window.from_hour, window.until_hour, multiplier) else {
            continue;
        };
        let draft = with_promotion(doc.clone(), promotion.clone());
        let text = serde_json::to_string(&draft).map_err(|e| undecodable(e.to_string()))?;
        let cost = replay.cost(points_in_force, replay.points(&text)?);
        out.push(Suggestion { window, promotion, draft, cost });
    }
    Ok(out)
}

/// The saved segment a promotion for loyal customers is limited to, when the shop has none of
/// that name: the loyal and semi-loyal customers of the last ranking.
pub const LOYAL_SEGMENT: &str = "Loyal and semi-loyal";

/// Its rule, in the segment language.
pub const LOYAL_RULE: &str = "loyal_class in (\"loyal\", \"semi_loyal\")";

/// What it is for.
pub const LOYAL_DESCRIPTION: &str = "loyal and semi-loyal customers of the last ranking: a thank-you";

/// A segment a draft names: saved already, or to be saved with the draft.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentDraft {
    /// Its name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Whether the shop has saved it already.
    pub saved: bool,
    /// The rule to save it with (the segment language) when it is not saved yet.
    pub rule: Option<String>,
}

/// A suggested thank-you for loyal customers: `multiplier` × points on every order of the
/// loyal and semi-loyal customers, with what it would have cost.
#[derive(Debug, Clone, Serialize)]
pub struct LoyalSuggestion {
    /// The segment it is limited to.
    pub segment: SegmentDraft,
    /// Customers ranked loyal or semi-loyal now.
    pub members: u64,
    /// The promotion drafted.
    pub promotion: Promotion,
    /// The programme it starts from with it added.
    pub draft: Document,
    /// What it would have cost over the weeks read, with today's loyal and semi-loyal
    /// customers.
    pub cost: ReplayCost,
}

/// A promotion giving `multiplier` × points on every order of the members of `segment`, all
/// week, for as long as it stays in the programme.
pub fn loyal_promotion(segment: &str, multiplier: u32) -> Promotion {
    Promotion {
        id: format!("loyal-x{multiplier}"),
        name: format!("{multiplier}× points for loyal customers"),
        names: [("ja".to_string(), format!("ロイヤル顧客はポイント{multiplier}倍"))].into_iter().collect(),
        starts: None,
        ends: None,
        repeat: Some(Repeat {
            weekdays: vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
                Weekday::Sat,
                Weekday::Sun,
            ],
            from: "00:00".into(),
            until: "24:00".into(),
        }),
        multiplier: Some(Rate(i64::from(multiplier) * Rate::ONE)),
        bonus: None,
        when: Default::default(),
        tiers: Vec::new(),
        segment: Some(segment.to_string()),
        budget_points: None,
    }
}

/// From the loyal-class ranking: `multiplier` × points for the loyal and semi-loyal customers
/// (the saved segment [`LOYAL_SEGMENT`], to be saved with the draft when the shop has not),
/// added to the programme in force (or the café starter), with its cost replayed over the
/// `weeks` weeks before `now`. `None` while no customer is ranked loyal or semi-loyal (the
/// analysis ranks them).
pub fn suggest_loyal_promotion(
    store: &Store,
    clock: BusinessClock,
    currency: Currency,
    now: DateTime<Utc>,
    weeks: i64,
    multiplier: u32,
) -> Result<Option<LoyalSuggestion>, ImportError> {
    let members = store.read(|c| {
        c.query_one("SELECT COUNT(*) FROM customer_scores WHERE loyal_class IN ('loyal', 'semi_loyal')", &[])?.int(0)
    })?;
    if members == 0 {
        return Ok(None);
    }
    let (base, doc) = programme_in_force(store)?;
    let saved = store.read(|c| segments::by_name(c, LOYAL_SEGMENT))?;
    let segment = match &saved {
        Some(s) => SegmentDraft { name: s.name.clone(), description: s.description.clone(), saved: true, rule: None },
        None => SegmentDraft {
            name: LOYAL_SEGMENT.to_string(),
            description: LOYAL_DESCRIPTION.to_string(),
            saved: false,
            rule: Some(LOYAL_RULE.to_string()),
        },
    };
    let promotion = loyal_promotion(&segment.name, multiplier);
    let draft = with_promotion(doc, promotion.clone());
    let mut replay = Replay::read(store, now - chrono::Duration::weeks(weeks), now, clock, currency)?;
    if !segment.saved {
        let rule = enishi_segments::text::parse(LOYAL_RULE).map_err(|e| undecodable(e.to_string()))?;
        replay.segments.push(Segment {
            id: 0,
            name: segment.name.clone(),
            description: segment.description.clone(),
            rule: rule.to_json().to_string(),
            created_at: 0,
            updated_at: 0,
            last_count: None,
            last_evaluated_at: None,
        });
    }
    let text = serde_json::to_string(&draft).map_err(|e| undecodable(e.to_string()))?;
    let cost = replay.cost(replay.points(&base)?, replay.points(&text)?);
    Ok(Some(LoyalSuggestion { segment, members: u64::try_from(members).unwrap_or(0), promotion, draft, cost }))
}

/// The programme in force as stored, and read; the café starter when there is none.
fn programme_in_force(store: &Store) -> Result<(String, Document), ImportError> {
    let latest = store.read(enishi_store::repo::loyalty::latest_program)?;
    let base = latest.map_or_else(|| enishi_loyalty::starter("cafe").unwrap_or_default().to_string(), |p| p.document);
    let doc: Document = serde_json::from_str(&base).map_err(|e| undecodable(format!("the programme in force: {e}")))?;
    Ok((base, doc))
}

/// What a draft would have given on the orders of a period, against the programme in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplayCost {
    /// First instant of the period.
    pub since: DateTime<Utc>,
    /// First instant after it.
    pub until: DateTime<Utc>,
    /// Orders replayed.
    pub orders: u64,
    /// Points the orders earn under the programme in force (0 without one).
    pub points_in_force: i64,
    /// Points they earn under the draft.
    pub points_with_draft: i64,
    /// What the draft adds (negative: it gives less).
    pub extra_points: i64,
}

/// A recurring promotion for a quiet window: `multiplier` × points on `day` (`mon` … `sun`)
/// from `from_hour` until `until_hour` (local hours, 24 for midnight), every week; `None` for
/// a day that is not a weekday or hours out of order.
pub fn happy_hour(day: &str, from_hour: u32, until_hour: u32, multiplier: u32) -> Option<Promotion> {
    let weekday: Weekday = serde_json::from_value(serde_json::Value::String(day.to_string())).ok()?;
    if from_hour >= until_hour || until_hour > 24 {
        return None;
    }
    Some(Promotion {
        id: format!("quiet-{day}-{from_hour:02}"),
        name: format!("{multiplier}× points, {day} {from_hour:02}:00–{until_hour:02}:00"),
        names: [(
            "ja".to_string(),
            format!("{}曜 {from_hour}時〜{until_hour}時 ポイント{multiplier}倍", japanese_day(day)),
        )]
        .into_iter()
        .collect(),
        starts: None,
        ends: None,
        repeat: Some(Repeat {
            weekdays: vec![weekday],
            from: format!("{from_hour:02}:00"),
            until: format!("{until_hour:02}:00"),
        }),
        multiplier: Some(Rate(i64::from(multiplier) * Rate::ONE)),
        bonus: None,
        when: Default::default(),
        tiers: Vec::new(),
        segment: None,
        budget_points: None,
    })
}

/// A weekday (`mon` … `sun`) as one Japanese character (月 … 日).
fn japanese_day(day: &str) -> &'static str {
    match day {
        "mon" => "月",
        "tue" => "火",
        "wed" => "水",
        "thu" => "木",
        "fri" => "金",
        "sat" => "土",
        _ => "日",
    }
}

/// `doc` with `promotion` added (replacing one with the same id).
pub fn with_promotion(mut doc: Document, promotion: Promotion) -> Document {
    doc.promotions.retain(|p| p.id != promotion.id);
    doc.promotions.push(promotion);
    doc
}

/// What the programme document `draft` would have given on the orders placed in
/// `since..until`, against `in_force` (the document in force, if any): each is applied to a
/// fresh temporary database, in force from `since`, and the period's orders are imported into
/// it as they are stored (their lines, channel and time), as a re-import into a fresh database
/// would. Nothing is written to `store`.
pub fn replay_cost(
    store: &Store,
    draft: &str,
    in_force: Option<&str>,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    clock: BusinessClock,
    currency: Currency,
) -> Result<ReplayCost, ImportError> {
    let replay = Replay::read(store, since, until, clock, currency)?;
    let points_in_force = in_force.map(|doc| replay.points(doc)).transpose()?.unwrap_or(0);
    Ok(replay.cost(points_in_force, replay.points(draft)?))
}

/// The orders of a period, read once from the shop's database, to be replayed under
/// programme documents in fresh temporary databases.
struct Replay {
    /// The orders as a generic order file, in time order.
    csv: String,
    /// How many.
    orders: u64,
    /// The saved segments: they go along, so that a programme naming them applies; their
    /// members are then read from the replayed orders, as in a fresh database.
    segments: Vec<Segment>,
    /// The period's buyers that an analysis has scored: (Enishi id, first order in the
    /// period, their scores today). They go along too, under the same ids, so that a segment
    /// on scores (the loyal class, RFM, lifecycle, value) has the members it has today.
    scored: Vec<(i64, i64, CustomerScores)>,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    clock: BusinessClock,
    currency: Currency,
}

impl Replay {
    /// Reads the orders placed in `since..until` and the saved segments.
    fn read(
        store: &Store,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        clock: BusinessClock,
        currency: Currency,
    ) -> Result<Replay, ImportError> {
        let (csv, orders) = store.read(|c| orders_as_csv(c, since.timestamp(), until.timestamp()))?;
        let segments = store.read(segments::list)?;
        let scored = store.read(|c| scored_buyers(c, since.timestamp(), until.timestamp()))?;
        Ok(Replay { csv, orders, segments, scored, since, until, clock, currency })
    }

    /// The points the orders earn in a fresh database under the programme `doc`, in force
    /// from the start of the period.
    fn points(&self, doc: &str) -> Result<i64, ImportError> {
        let mut doc: serde_json::Value =
            serde_json::from_str(doc).map_err(|e| undecodable(format!("the programme document: {e}")))?;
        doc["effective_from"] = serde_json::Value::String(self.since.to_rfc3339_opts(SecondsFormat::Secs, true));
        let dir = tempfile::tempdir().map_err(|e| ImportError::Store(StoreError::Open(e.to_string())))?;
        let fresh = Store::open(&dir.path().join("replay.db").to_string_lossy())?;
        fresh.write(|c| {
            for s in &self.segments {
                segments::create(c, &s.name, &s.description, &s.rule)?;
            }
            copy_scores(c, &self.scored)
        })?;
        fresh
            .write(|c| enishi_rewards::apply_program(c, &doc.to_string(), self.clock, "replay"))
            .map_err(|e| undecodable(format!("the programme cannot be replayed: {e}")))?;
        let mut opts = OrderImportOptions::new(OrderFormat::Generic);
        opts.clock = self.clock;
        opts.currency = self.currency;
        import_orders(&fresh, self.csv.as_bytes(), "replay.csv", &opts, Progress::default())?;
        Ok(fresh.read(|c| c.query_one("SELECT COALESCE(SUM(points), 0) FROM loyalty_order_effects", &[])?.int(0))?)
    }

    /// The cost of a draft that earns `points_with_draft` against `points_in_force`.
    fn cost(&self, points_in_force: i64, points_with_draft: i64) -> ReplayCost {
        ReplayCost {
            since: self.since,
            until: self.until,
            orders: self.orders,
            points_in_force,
            points_with_draft,
            extra_points: points_with_draft.saturating_sub(points_in_force),
        }
    }
}

/// The buyers of `since..until` (Unix seconds) that an analysis has scored: (id, first order
/// in the period, scores).
fn scored_buyers(c: &mut dyn Conn, since: i64, until: i64) -> Result<Vec<(i64, i64, CustomerScores)>, StoreError> {
    let rows = c.query(
        "SELECT o.customer_id, MIN(o.placed_at) FROM orders o JOIN customer_scores s ON s.customer_id = o.customer_id \
         WHERE o.placed_at >= $1 AND o.placed_at < $2 GROUP BY o.customer_id ORDER BY o.customer_id",
        params![since, until],
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let id = r.int(0)?;
        if let Some(scores) = scores::get(c, id)? {
            out.push((id, r.int(1)?, scores));
        }
    }
    Ok(out)
}

/// Creates the scored buyers in a fresh database under their own ids, named as the replayed
/// order file names them (`K{id}`), with their scores.
fn copy_scores(c: &mut dyn Conn, scored: &[(i64, i64, CustomerScores)]) -> Result<(), StoreError> {
    for (id, first, _) in scored {
        c.execute(
            "INSERT INTO customers (id, external_id, first_seen_at, created_at, updated_at) VALUES ($1, $2, $3, $3, $3)",
            params![*id, format!("K{id}"), *first],
        )?;
    }
    let rfm: Vec<(i64, RfmScores)> = scored.iter().filter_map(|(id, _, s)| Some((*id, s.rfm.clone()?))).collect();
    scores::store_rfm(c, &rfm)?;
    let value: Vec<(i64, ValueScores)> = scored.iter().filter_map(|(id, _, s)| Some((*id, s.value.clone()?))).collect();
    scores::store_value(c, &value)?;
    let classes: Vec<(i64, &str)> =
        scored.iter().filter_map(|(id, _, s)| Some((*id, s.loyal_class.as_deref()?))).collect();
    scores::store_loyal_classes(c, &classes)?;
    let stages: Vec<(i64, &str)> =
        scored.iter().filter_map(|(id, _, s)| Some((*id, s.lifecycle_stage.as_deref()?))).collect();
    let day = scored.iter().find_map(|(_, _, s)| s.rfm.as_ref().map(|r| r.as_of_day)).unwrap_or(0);
    scores::store_lifecycle(c, day, &stages, &[])
}

/// A document that cannot be read or replayed, as an import error.
fn undecodable(message: String) -> ImportError {
    ImportError::Store(StoreError::Decode(message))
}

/// The orders placed in `since..until` (Unix seconds) as a generic order file, in time order,
/// each customer named by Enishi id; and how many orders.
fn orders_as_csv(c: &mut dyn Conn, since: i64, until: i64) -> Result<(String, u64), StoreError> {
    let rows = c.query(
        "SELECT o.order_ref, o.customer_id, o.placed_at, o.channel, o.currency, l.sku, l.quantity, l.unit_price, l.category \
         FROM orders o JOIN order_lines l ON l.order_id = o.id \
         WHERE o.placed_at >= $1 AND o.placed_at < $2 ORDER BY o.placed_at, o.id, l.line_no",
        params![since, until],
    )?;
    let mut csv = String::from("order_id,customer_id,placed_at,sku,quantity,unit_price,currency,channel,category\n");
    let (mut orders, mut last) = (0u64, String::new());
    for r in &rows {
        let order_ref = r.text(0)?;
        if order_ref != last {
            orders += 1;
            last.clone_from(&order_ref);
        }
        let placed_at = enishi_store::instant(r.int(2)?).to_rfc3339_opts(SecondsFormat::Secs, true);
        let _ = writeln!(
            csv,
            "{},K{},{placed_at},{},{},{},{},{},{}",
            field(&order_ref),
            r.int(1)?,
            field(&r.text(5)?),
            r.int(6)?,
            Amount::from_scaled(r.int(7)?),
            field(&r.text(4)?),
            field(&r.text(3)?),
            field(&r.opt_text(8)?.unwrap_or_default()),
        );
    }
    Ok((csv, orders))
}

/// A CSV field, quoted when it needs to be.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
