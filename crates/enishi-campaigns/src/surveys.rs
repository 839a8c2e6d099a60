//! Surveys (docs/listening.md): NPS (0–10), CSAT (five satisfaction levels) and "why did you
//! stop buying?" (a fixed reason), each with free text. Customers are invited per segment, by
//! the rule after an order, or one by one; each invitation has a signed link that expires
//! ([`crate::links`]) to a public page in the customer's language, where it is answered once.
//! Results: NPS with its groups, the CSAT distribution, a trend by month, the stop reasons.

use crate::links::{self, Purpose, Refused};
use crate::template::Language;
use crate::unsubscribe::{public_url, signing_key};
use crate::Error;
use enishi_core::BusinessClock;
use enishi_store::repo::surveys::{self as repo, Answer, Invitation, Survey};
use enishi_store::repo::{customers, settings, tasks};
use enishi_store::Conn;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// The kinds of survey.
pub const KINDS: [&str; 3] = ["nps", "csat", "stop"];

/// Days an invitation's link is valid unless the survey says otherwise.
pub const DEFAULT_VALID_DAYS: i64 = 14;

/// The longest free-text answer, in characters.
pub const MAX_COMMENT_CHARS: usize = 2_000;

/// The CSAT levels 1–5 in English and Japanese.
pub const CSAT_LEVELS: [(&str, &str); 5] = [
    ("Not satisfied", "満足していない"),
    ("Slightly satisfied", "やや満足"),
    ("Moderately satisfied", "まあまあ満足"),
    ("Very satisfied", "とても満足"),
    ("Extremely satisfied", "非常に満足"),
];

/// The fixed reasons of the "why did you stop buying?" survey: key, English, Japanese.
pub const STOP_REASONS: [(&str, &str, &str); 7] = [
    ("price", "The prices are too high", "価格が高い"),
    ("quality", "The products did not satisfy me", "商品に満足できなかった"),
    ("service", "The service did not satisfy me", "接客・対応に満足できなかった"),
    ("elsewhere", "I buy elsewhere now", "ほかのお店で買っている"),
    ("moved", "I moved, or the shop is out of my way", "引っ越した・お店が遠くなった"),
    ("no_need", "I no longer need the products", "商品が必要なくなった"),
    ("other", "Another reason", "その他"),
];

/// Setting: the name of the survey each new order invites its customer to (unset: none).
pub const AFTER_ORDER: &str = "survey_after_order";

/// The NPS group of a score: `promoter` (9–10), `passive` (7–8), `detractor` (0–6).
pub fn nps_group(score: i64) -> &'static str {
    match score {
        9.. => "promoter",
        7..=8 => "passive",
        _ => "detractor",
    }
}

/// The label of a CSAT level (1–5) in `language`.
pub fn csat_label(level: i64, language: Language) -> &'static str {
    let (en, ja) = usize::try_from(level - 1).ok().and_then(|i| CSAT_LEVELS.get(i)).copied().unwrap_or(("", ""));
    match language {
        Language::Japanese => ja,
        Language::English => en,
    }
}

/// The label of a stop reason in `language` (the key itself when it is not one).
pub fn reason_label(key: &str, language: Language) -> String {
    match STOP_REASONS.iter().find(|r| r.0 == key) {
        Some((_, en, ja)) => match language {
            Language::Japanese => ja.to_string(),
            Language::English => en.to_string(),
        },
        None => key.to_string(),
    }
}

fn invalid(field: &str, why: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("{field}: {why}"))
}

/// Makes a survey: a name of 1–200 characters, a kind of [`KINDS`], and how many days (1–365)
/// its links are valid.
pub fn create(c: &mut dyn Conn, name: &str, kind: &str, valid_days: Option<i64>) -> Result<Survey, Error> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(invalid("name", "a name is 1 to 200 characters, without control characters"));
    }
    if !KINDS.contains(&kind) {
        return Err(invalid("kind", format!("'{kind}' is not a survey kind (nps, csat or stop)")));
    }
    let days = valid_days.unwrap_or(DEFAULT_VALID_DAYS);
    if !(1..=365).contains(&days) {
        return Err(invalid("valid_days", format!("links are valid 1 to 365 days, not {days}")));
    }
    repo::create(c, name, kind, days)?.ok_or_else(|| Error::State(format!("a survey named \"{name}\" exists already")))
}

/// The survey named `name`.
pub fn find(c: &mut dyn Conn, name: &str) -> Result<Survey, Error> {
    repo::by_name(c, name)?.ok_or_else(|| Error::NotFound(format!("there is no survey named \"{name}\"")))
}

/// Invites the members of saved segment `segment` (as of today) to `survey`, except those
/// with an unanswered, unexpired invitation to it; returns how many it invited.
pub fn invite_segment(
    c: &mut dyn Conn,
    survey: &Survey,
    segment: &str,
    calendar: &BusinessClock,
) -> Result<u64, Error> {
    let seg = enishi_segments::saved::find(c, segment)?;
    let rule = enishi_segments::saved::read_rule(&seg)?;
    let today = calendar.day_number(enishi_store::instant(c.now()));
    let ids = enishi_segments::members(c, &rule, today, calendar)?;
    Ok(repo::invite(c, survey, &ids)?)
}

/// Invites the customers with the shop's ids `external_ids` to `survey`, except those with an
/// unanswered, unexpired invitation to it; returns how many it invited. An id no customer has
/// is refused (`customers[I]: …`) and nobody is invited; 1 to 1,000 ids.
pub fn invite_customers(c: &mut dyn Conn, survey: &Survey, external_ids: &[String]) -> Result<u64, Error> {
    if external_ids.is_empty() || external_ids.len() > 1_000 {
        return Err(invalid("customers", "name 1 to 1000 customers by their shop id"));
    }
    let mut ids = Vec::with_capacity(external_ids.len());
    for (i, external) in external_ids.iter().enumerate() {
        match customers::id_by_external_id(c, external.trim())? {
            Some(id) => ids.push(id),
            None => {
                return Err(invalid(&format!("customers[{i}]"), format!("no customer has the shop id '{external}'")))
            }
        }
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(repo::invite(c, survey, &ids)?)
}

/// Runs the after-order rule for orders placed at or after `since` (Unix seconds): when the
/// [`AFTER_ORDER`] setting names a survey, each order's customer is invited to it once.
pub fn after_order_rule(c: &mut dyn Conn, since: i64) -> Result<u64, Error> {
    let Some(name) = settings::get(c, AFTER_ORDER)?.filter(|n| !n.trim().is_empty()) else { return Ok(0) };
    let survey = find(c, name.trim())?;
    Ok(repo::invite_after_orders(c, &survey, since)?)
}

/// The link to an invitation's page.
pub fn link(c: &mut dyn Conn, invitation: &Invitation) -> Result<String, Error> {
    let (base, key) = (public_url(c)?, signing_key(c)?);
    Ok(links::url(&base, &key, Purpose::Survey, invitation.id, invitation.expires_at.timestamp()))
}

/// The link to the customer's newest open invitation at `now`; empty when there is none (the
/// `survey_url` merge field).
pub fn survey_url(c: &mut dyn Conn, customer_id: i64, now: i64) -> Result<String, Error> {
    match repo::open_invitation(c, customer_id, now)? {
        Some(i) => link(c, &i),
        None => Ok(String::new()),
    }
}

/// What a survey page shows.
#[derive(Debug, Clone)]
pub struct Page {
    /// The invitation (with its answer, once given).
    pub invitation: Invitation,
    /// The customer's language.
    pub language: Language,
}

/// The page a token opens at `now`, or why it is refused.
pub fn open(c: &mut dyn Conn, token: &str, now: i64) -> Result<Result<Page, Refused>, Error> {
    let key = signing_key(c)?;
    let id = match links::verify(&key, Purpose::Survey, token, now) {
        Ok(id) => id,
        Err(r) => return Ok(Err(r)),
    };
    let Some(invitation) = repo::invitation(c, id)? else { return Ok(Err(Refused::Invalid)) };
    let locale = customers::get(c, invitation.customer_id)?.and_then(|k| k.locale);
    Ok(Ok(Page { invitation, language: Language::of(locale.as_deref().unwrap_or("en")) }))
}

/// An answer as the page's form sent it.
#[derive(Debug, Clone, Default)]
pub struct Form {
    /// The score or level, as typed.
    pub score: Option<String>,
    /// The reason's key.
    pub reason: Option<String>,
    /// The free text.
    pub comment: Option<String>,
}

/// Which field of an answer is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrong {
    /// The score is missing or out of range.
    Score,
    /// The reason is missing or not one of the list.
    Reason,
    /// The text is too long or holds control characters.
    Comment,
}

/// Checks an answer to a survey of `kind`: a score of 0–10 (NPS) or 1–5 (CSAT), a reason of
/// [`STOP_REASONS`] (stop), and free text of at most [`MAX_COMMENT_CHARS`] without control
/// characters other than line breaks and tabs (blank text is none).
pub fn check(kind: &str, f: &Form) -> Result<Answer, Wrong> {
    let comment = match f.comment.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(t) if t.chars().count() > MAX_COMMENT_CHARS => return Err(Wrong::Comment),
        Some(t) if t.chars().any(|ch| ch.is_control() && !matches!(ch, '\n' | '\r' | '\t')) => {
            return Err(Wrong::Comment)
        }
        Some(t) => Some(t.to_string()),
    };
    let score = |range: std::ops::RangeInclusive<i64>| {
        f.score.as_deref().and_then(|s| s.trim().parse::<i64>().ok()).filter(|s| range.contains(s)).ok_or(Wrong::Score)
    };
    Ok(match kind {
        "nps" => Answer { score: Some(score(0..=10)?), reason: None, comment },
        "csat" => Answer { score: Some(score(1..=5)?), reason: None, comment },
        _ => {
            let reason = f.reason.as_deref().map(str::trim).filter(|r| STOP_REASONS.iter().any(|x| x.0 == *r));
            Answer { score: None, reason: Some(reason.ok_or(Wrong::Reason)?.to_string()), comment }
        }
    })
}

/// What submitting an answer did.
#[derive(Debug, Clone)]
pub enum Submitted {
    /// The link is refused.
    Refused(Refused),
    /// The answer is wrong; nothing was stored.
    Wrong(Page, Wrong),
    /// Recorded (the page now holds it).
    Recorded(Page),
    /// The invitation had an answer already, which stands (the page holds it).
    AlreadyAnswered(Page),
}

/// Records the answer `f` to the invitation of `token` at `now`, once; a detractor's NPS
/// answer makes a call task by the task rules.
pub fn submit(c: &mut dyn Conn, token: &str, f: &Form, now: i64) -> Result<Submitted, Error> {
    let page = match open(c, token, now)? {
        Ok(p) => p,
        Err(r) => return Ok(Submitted::Refused(r)),
    };
    if page.invitation.answered_at.is_some() {
        return Ok(Submitted::AlreadyAnswered(page));
    }
    let answer = match check(&page.invitation.kind, f) {
        Ok(a) => a,
        Err(w) => return Ok(Submitted::Wrong(page, w)),
    };
    let id = page.invitation.id;
    let recorded = repo::answer(c, id, &answer)?;
    let invitation = repo::invitation(c, id)?.ok_or_else(|| Error::NotFound(format!("invitation {id}")))?;
    let page = Page { invitation, ..page };
    if !recorded {
        return Ok(Submitted::AlreadyAnswered(page));
    }
    let rules = tasks::Rules::load(c)?;
    tasks::detractor_rule(c, &rules, 0, Some(id))?;
    Ok(Submitted::Recorded(page))
}

/// NPS: the groups and the score (% promoters − % detractors, to one decimal).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Nps {
    /// Answers of 9–10.
    pub promoters: u64,
    /// Answers of 7–8.
    pub passives: u64,
    /// Answers of 0–6.
    pub detractors: u64,
    /// From −100 to 100; `None` without answers.
    pub score: Option<f64>,
}

impl Nps {
    /// The NPS of these scores.
    pub fn of(scores: impl IntoIterator<Item = i64>) -> Nps {
        let mut n = Nps { promoters: 0, passives: 0, detractors: 0, score: None };
        for s in scores {
            match nps_group(s) {
                "promoter" => n.promoters += 1,
                "passive" => n.passives += 1,
                _ => n.detractors += 1,
            }
        }
        let total = n.promoters + n.passives + n.detractors;
        if total > 0 {
            let diff = n.promoters as f64 - n.detractors as f64;
            n.score = Some((diff * 1000.0 / total as f64).round() / 10.0);
        }
        n
    }
}

/// CSAT: how many answered each level, the share satisfied (levels 4–5) and the average.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Csat {
    /// Answers per level 1–5.
    pub levels: [u64; 5],
    /// Percent of answers at level 4 or 5, to one decimal; `None` without answers.
    pub satisfied_percent: Option<f64>,
    /// The average level, to two decimals; `None` without answers.
    pub average: Option<f64>,
}

impl Csat {
    /// The CSAT of these levels (others are ignored).
    pub fn of(levels: impl IntoIterator<Item = i64>) -> Csat {
        let mut counts = [0u64; 5];
        for l in levels {
            if let Some(slot) = usize::try_from(l - 1).ok().and_then(|i| counts.get_mut(i)) {
                *slot += 1;
            }
        }
        let total: u64 = counts.iter().sum();
        let sum: u64 = counts.iter().zip(1..).map(|(n, l)| n * l).sum();
        let (satisfied_percent, average) = if total == 0 {
            (None, None)
        } else {
            let satisfied = (counts[3] + counts[4]) as f64;
            (
                Some((satisfied * 1000.0 / total as f64).round() / 10.0),
                Some((sum as f64 * 100.0 / total as f64).round() / 100.0),
            )
        };
        Csat { levels: counts, satisfied_percent, average }
    }
}

/// One month of answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Month {
    /// `YYYY-MM` in the business time zone.
    pub month: String,
    /// Answers that month.
    pub answered: u64,
    /// The month's NPS (NPS surveys).
    pub nps: Option<f64>,
    /// The month's average CSAT level (CSAT surveys).
    pub csat_average: Option<f64>,
}

/// How often one stop reason was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReasonCount {
    /// The reason's key.
    pub reason: String,
    /// Answers giving it.
    pub count: u64,
}

/// One free-text answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comment {
    /// The customer.
    pub customer_id: i64,
    /// When.
    pub answered_at: chrono::DateTime<chrono::Utc>,
    /// The score or level (NPS, CSAT).
    pub score: Option<i64>,
    /// The reason (stop).
    pub reason: Option<String>,
    /// What they wrote.
    pub comment: String,
}

/// Most comments a result lists.
const COMMENTS: usize = 50;

/// A survey's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Results {
    /// The survey.
    pub survey: Survey,
    /// The segment they are narrowed to, if any.
    pub segment: Option<String>,
    /// Invitations made.
    pub invited: u64,
    /// Invitations answered.
    pub answered: u64,
    /// NPS (NPS surveys).
    pub nps: Option<Nps>,
    /// CSAT (CSAT surveys).
    pub csat: Option<Csat>,
    /// Stop reasons, the most given first (stop surveys).
    pub reasons: Vec<ReasonCount>,
    /// By month, oldest first.
    pub months: Vec<Month>,
    /// The newest free-text answers.
    pub comments: Vec<Comment>,
}

/// The results of `survey`, over the customers of saved segment `segment` (as of today) when
/// one is named; months in `calendar`'s time zone.
pub fn results(
    c: &mut dyn Conn,
    survey: &Survey,
    segment: Option<&str>,
    calendar: &BusinessClock,
) -> Result<Results, Error> {
    let only: Option<HashSet<i64>> = match segment {
        Some(name) => {
            let seg = enishi_segments::saved::find(c, name)?;
            let rule = enishi_segments::saved::read_rule(&seg)?;
            let today = calendar.day_number(enishi_store::instant(c.now()));
            Some(enishi_segments::members(c, &rule, today, calendar)?.into_iter().collect())
        }
        None => None,
    };
    let all: Vec<Invitation> = repo::invitations(c, survey.id)?
        .into_iter()
        .filter(|i| only.as_ref().is_none_or(|s| s.contains(&i.customer_id)))
        .collect();
    let answered: Vec<&Invitation> = all.iter().filter(|i| i.answered_at.is_some()).collect();
    let scores = |list: &[&Invitation]| list.iter().filter_map(|i| i.score).collect::<Vec<_>>();
    let mut by_month: BTreeMap<String, Vec<&Invitation>> = BTreeMap::new();
    for i in &answered {
        let at = i.answered_at.unwrap_or_default();
        by_month.entry(calendar.format_local(at, "%Y-%m")).or_default().push(i);
    }
    let months = by_month
        .into_iter()
        .map(|(month, list)| Month {
            month,
            answered: list.len() as u64,
            nps: (survey.kind == "nps").then(|| Nps::of(scores(&list)).score).flatten(),
            csat_average: (survey.kind == "csat").then(|| Csat::of(scores(&list)).average).flatten(),
        })
        .collect();
    let mut reasons: BTreeMap<&str, u64> = BTreeMap::new();
    for r in answered.iter().filter_map(|i| i.reason.as_deref()) {
        *reasons.entry(r).or_default() += 1;
    }
    let mut reasons: Vec<ReasonCount> =
        reasons.into_iter().map(|(reason, count)| ReasonCount { reason: reason.to_string(), count }).collect();
    reasons.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
    let mut comments: Vec<Comment> = answered
        .iter()
        .filter_map(|i| {
            Some(Comment {
                customer_id: i.customer_id,
                answered_at: i.answered_at?,
                score: i.score,
                reason: i.reason.clone(),
                comment: i.comment.clone()?,
            })
        })
        .collect();
    comments.sort_by_key(|c| std::cmp::Reverse(c.answered_at));
    comments.truncate(COMMENTS);
    Ok(Results {
        survey: survey.clone(),
        segment: segment.map(str::to_string),
        invited: all.len() as u64,
        answered: answered.len() as u64,
        nps: (survey.kind == "nps").then(|| Nps::of(scores(&answered))),
        csat: (survey.kind == "csat").then(|| Csat::of(scores(&answered))),
        reasons,
        months,
        comments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nps_counts_groups_and_scores_by_hand() {
        // 10 answers: 4 promoters (9, 10, 10, 9), 3 passives (7, 8, 7), 3 detractors (0, 6, 5).
        let n = Nps::of([9, 10, 10, 9, 7, 8, 7, 0, 6, 5]);
        assert_eq!((n.promoters, n.passives, n.detractors), (4, 3, 3));
        assert_eq!(n.score, Some(10.0));
        assert_eq!(Nps::of([0, 0, 9]).score, Some(-33.3));
        assert_eq!(Nps::of([]).score, None);
    }

    #[test]
    fn csat_distributes_levels_and_shares_the_satisfied() {
        let c = Csat::of([5, 4, 4, 3, 1, 5, 2, 4]);
        assert_eq!(c.levels, [1, 1, 1, 3, 2]);
        assert_eq!(c.satisfied_percent, Some(62.5));
        assert_eq!(c.average, Some(3.5));
        assert_eq!(Csat::of([0, 6]).average, None, "out-of-range levels are not counted");
    }

    #[test]
    fn answers_are_checked_per_kind() {
        let f = |score: &str, reason: &str, comment: &str| Form {
            score: Some(score.into()),
            reason: Some(reason.into()),
            comment: Some(comment.into()),
        };
        assert_eq!(check("nps", &f("10", "", " ok ")).unwrap().comment.as_deref(), Some("ok"));
        assert_eq!(check("nps", &f("11", "", "")), Err(Wrong::Score));
        assert_eq!(check("nps", &f("-1", "", "")), Err(Wrong::Score));
        assert_eq!(check("csat", &f("0", "", "")), Err(Wrong::Score));
        assert_eq!(check("csat", &f("5", "", "")).unwrap().score, Some(5));
        assert_eq!(check("stop", &f("", "price", "")).unwrap().reason.as_deref(), Some("price"));
        assert_eq!(check("stop", &f("", "<script>", "")), Err(Wrong::Reason));
        assert_eq!(check("nps", &f("3", "", &"x".repeat(MAX_COMMENT_CHARS + 1))), Err(Wrong::Comment));
        assert_eq!(check("nps", &f("3", "", "a\0b")), Err(Wrong::Comment));
        assert!(check("nps", &f("3", "", "line\nline")).is_ok());
    }
}
