//! The contact plan by cost: given a budget and what a call, a letter and an email cost, who
//! gets which — the most valuable customers the personal channels, the long tail email — and
//! the campaigns (one per channel) that carry it out (docs/campaigns.md, "The contact plan").
//!
//! The audience is ranked by value: the loyal class first, then the semi-loyal, then the rest;
//! within a class by predicted CLV, highest first (then by id). The plan is made in two passes:
//!
//! 1. **Reach**: everyone who can get an email (consent, an address, not suppressed) is planned
//!    one, in rank order while the budget lasts.
//! 2. **Upgrades**: in rank order, a loyal customer is upgraded to a call, or else a letter, and a
//!    semi-loyal customer to a letter — when they can get it (consent and a phone or a postal
//!    address) and what it costs beyond their email fits in what is left. An upgrade that does
//!    not fit is skipped and the next customer tried, so a cheaper one further down still fits.
//!
//! Whoever is left without a channel is counted with the reason: `no_channel` (no consent and
//! address on any channel), `no_email` (the long tail gets email only, and this customer has
//! none) or `budget`.

use crate::definition::Channel;
use crate::Error;
use enishi_core::{Amount, BusinessClock};
use enishi_segments::saved;
use enishi_store::repo::campaigns as repo;
use enishi_store::repo::segments as segments_repo;
use enishi_store::Conn;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// A channel of the plan, the dearest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Medium {
    /// A personal phone call (a call-list campaign).
    Call,
    /// A letter (a postal campaign).
    Letter,
    /// An email.
    Email,
}

impl Medium {
    /// Every channel, the dearest first.
    pub const ALL: [Medium; 3] = [Medium::Call, Medium::Letter, Medium::Email];

    /// The name in `--cost` and the output.
    pub fn as_str(self) -> &'static str {
        match self {
            Medium::Call => "call",
            Medium::Letter => "letter",
            Medium::Email => "email",
        }
    }

    /// The campaign channel that carries it out.
    pub fn channel(self) -> Channel {
        match self {
            Medium::Call => Channel::Call,
            Medium::Letter => Channel::Postal,
            Medium::Email => Channel::Email,
        }
    }
}

/// What one message costs on each channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Costs {
    /// A call.
    pub call: Amount,
    /// A letter.
    pub letter: Amount,
    /// An email.
    pub email: Amount,
}

impl Costs {
    /// The cost on `m`.
    pub fn of(&self, m: Medium) -> Amount {
        match m {
            Medium::Call => self.call,
            Medium::Letter => self.letter,
            Medium::Email => self.email,
        }
    }

    /// Reads `call=800,letter=150,email=2` (every channel, each once, amounts of 0 or more).
    pub fn parse(s: &str) -> Result<Costs, Error> {
        let mut found: HashMap<&str, Amount> = HashMap::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| Error::Invalid(format!("cost: '{part}' is not written channel=amount")))?;
            let name = name.trim();
            if !["call", "letter", "email"].contains(&name) {
                return Err(Error::Invalid(format!("cost: '{name}' is not call, letter or email")));
            }
            let amount = read_amount(&format!("cost of {name}"), value)?;
            if found.insert(name, amount).is_some() {
                return Err(Error::Invalid(format!("cost: {name} is given twice")));
            }
        }
        let get = |n: &str| found.get(n).copied().ok_or_else(|| Error::Invalid(format!("cost: {n}=… is missing")));
        Ok(Costs { call: get("call")?, letter: get("letter")?, email: get("email")? })
    }
}

/// An amount as a plain decimal string without trailing zeros (`1108`, `2.5`).
fn text(a: Amount) -> String {
    a.decimal().normalize().to_string()
}

fn text_of(d: Decimal) -> String {
    d.normalize().to_string()
}

/// Reads an amount of 0 or more within the workspace's limit; the error names `what`.
pub fn read_amount(what: &str, s: &str) -> Result<Amount, Error> {
    match s.trim().parse::<Amount>() {
        Ok(a) if !a.is_negative() && a.within_limit() => Ok(a),
        _ => Err(Error::Invalid(format!("{what}: '{}' is not an amount of 0 or more", s.trim()))),
    }
}

/// A customer's loyal class, the most valuable first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Loyal.
    Loyal,
    /// Semi-loyal.
    SemiLoyal,
    /// Everyone else (and customers not scored yet).
    Other,
}

impl Class {
    /// The class as stored in the scores (`loyal`, `semi_loyal`; anything else is other).
    pub fn of(stored: Option<&str>) -> Class {
        match stored {
            Some("loyal") => Class::Loyal,
            Some("semi_loyal") => Class::SemiLoyal,
            _ => Class::Other,
        }
    }

    /// The upgrades this class may get, the preferred first.
    fn upgrades(self) -> &'static [Medium] {
        match self {
            Class::Loyal => &[Medium::Call, Medium::Letter],
            Class::SemiLoyal => &[Medium::Letter],
            Class::Other => &[],
        }
    }
}

/// A member of the audience as the plan sees them.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Customer.
    pub customer_id: i64,
    /// The shop's id.
    pub external_id: String,
    /// Loyal class.
    pub class: Class,
    /// Predicted CLV (0 when not scored).
    pub clv: f64,
    /// The channels they can be reached on (consent, an address, not suppressed).
    pub reachable: Vec<Medium>,
}

/// One customer's place in the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assignment {
    /// The shop's id.
    pub customer_id: String,
    /// Loyal class.
    pub class: Class,
    /// Predicted CLV.
    pub clv: f64,
    /// The channel planned, if any.
    pub channel: Option<Medium>,
    /// Why none: `no_channel`, `no_email` or `budget`.
    pub reason: Option<&'static str>,
    #[serde(skip)]
    id: i64,
}

/// What the plan spends on one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelTotal {
    /// The channel.
    pub channel: Medium,
    /// Customers planned on it.
    pub customers: usize,
    /// What one message costs (decimal string).
    pub cost_each: String,
    /// What they cost together (decimal string).
    pub cost: String,
}

/// A contact plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The budget (decimal string).
    pub budget: String,
    /// Members of the audience.
    pub audience: usize,
    /// Customers planned on some channel.
    pub reached: usize,
    /// The expected cost of the whole plan (decimal string).
    pub cost: String,
    /// What is left of the budget (decimal string).
    pub left: String,
    /// Per channel, the dearest first.
    pub channels: Vec<ChannelTotal>,
    /// Customers without a channel, per reason.
    pub unreached: Vec<(&'static str, usize)>,
    /// Every member, ranked by value.
    pub customers: Vec<Assignment>,
}

impl Plan {
    /// The customers (Enishi ids) planned on `m`, in rank order.
    pub fn customers_on(&self, m: Medium) -> Vec<i64> {
        self.customers.iter().filter(|a| a.channel == Some(m)).map(|a| a.id).collect()
    }
}

/// Makes the plan for `candidates` within `budget` (see the module's description).
pub fn make(mut candidates: Vec<Candidate>, budget: Amount, costs: &Costs) -> Plan {
    candidates
        .sort_by(|a, b| a.class.cmp(&b.class).then(b.clv.total_cmp(&a.clv)).then(a.customer_id.cmp(&b.customer_id)));
    let cost = |m: Medium| costs.of(m).decimal();
    let mut left: Decimal = budget.decimal();
    let mut planned: Vec<Option<Medium>> = vec![None; candidates.len()];
    for (i, k) in candidates.iter().enumerate() {
        if k.reachable.contains(&Medium::Email) && cost(Medium::Email) <= left {
            planned[i] = Some(Medium::Email);
            left -= cost(Medium::Email);
        }
    }
    for (i, k) in candidates.iter().enumerate() {
        let had = planned[i].map_or(Decimal::ZERO, cost);
        if planned[i].is_none() && k.reachable.contains(&Medium::Email) {
            continue; // the budget ran out in the first pass: reach comes before upgrades
        }
        for &m in k.class.upgrades() {
            let extra = cost(m) - had;
            if k.reachable.contains(&m) && extra <= left {
                planned[i] = Some(m);
                left -= extra;
                break;
            }
        }
    }
    let mut customers = Vec::with_capacity(candidates.len());
    let mut per_reason: HashMap<&'static str, usize> = HashMap::new();
    for (k, channel) in candidates.into_iter().zip(planned) {
        let reason = match channel {
            Some(_) => None,
            None if k.reachable.is_empty() => Some("no_channel"),
            None if !k.reachable.contains(&Medium::Email)
                && k.class.upgrades().iter().all(|m| !k.reachable.contains(m)) =>
            {
                Some("no_email")
            }
            None => Some("budget"),
        };
        if let Some(r) = reason {
            *per_reason.entry(r).or_default() += 1;
        }
        customers.push(Assignment {
            customer_id: k.external_id,
            class: k.class,
            clv: k.clv,
            channel,
            reason,
            id: k.customer_id,
        });
    }
    let channels: Vec<ChannelTotal> = Medium::ALL
        .iter()
        .map(|&m| {
            let n = customers.iter().filter(|a| a.channel == Some(m)).count();
            ChannelTotal {
                channel: m,
                customers: n,
                cost_each: text(costs.of(m)),
                cost: text_of(cost(m) * Decimal::from(n)),
            }
        })
        .collect();
    let spent = budget.decimal() - left;
    Plan {
        budget: text(budget),
        audience: customers.len(),
        reached: customers.iter().filter(|a| a.channel.is_some()).count(),
        cost: text_of(spent),
        left: text_of(left),
        channels,
        unreached: ["no_channel", "no_email", "budget"]
            .iter()
            .map(|r| (*r, per_reason.get(r).copied().unwrap_or(0)))
            .collect(),
        customers,
    }
}

/// The members of the saved segment `segment` now, with their value and the channels they can
/// be reached on.
pub fn candidates(c: &mut dyn Conn, segment: &str, calendar: &BusinessClock) -> Result<Vec<Candidate>, Error> {
    let s = saved::find(c, segment)?;
    let rule = saved::read_rule(&s)?;
    let day = calendar.day_number(enishi_store::instant(c.now()));
    let members = enishi_segments::members(c, &rule, day, calendar)?;
    let values: HashMap<i64, (Option<String>, f64)> =
        repo::customer_values(c)?.into_iter().map(|(id, class, clv)| (id, (class, clv))).collect();
    let mut reachable: Vec<(Medium, HashSet<i64>)> = Vec::new();
    for m in Medium::ALL {
        let channel = m.channel();
        let mut ok: HashSet<i64> = repo::consented(c, channel.consent())?.into_iter().collect();
        for id in repo::without_address(c, channel.as_str())? {
            ok.remove(&id);
        }
        for id in repo::suppressed(c, channel.as_str())? {
            ok.remove(&id);
        }
        reachable.push((m, ok));
    }
    let ids = repo::external_ids(c, &members)?;
    Ok(members
        .iter()
        .zip(ids)
        .map(|(&id, external_id)| {
            let (class, clv) = values.get(&id).cloned().unwrap_or((None, 0.0));
            Candidate {
                customer_id: id,
                external_id,
                class: Class::of(class.as_deref()),
                clv,
                reachable: reachable.iter().filter(|(_, ok)| ok.contains(&id)).map(|(m, _)| *m).collect(),
            }
        })
        .collect())
}

/// What [`create_campaigns`] made: per channel, the list and the campaign's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Created {
    /// The channel.
    pub channel: Medium,
    /// The static list of its customers.
    pub list: String,
    /// The draft campaign.
    pub campaign: String,
    /// Its customers.
    pub customers: usize,
}

/// Creates, for each channel the plan uses, a static list of its customers and a draft campaign
/// to that list named `NAME (call)`, `NAME (letter)`, `NAME (email)` — the mailing `name`, the
/// channel's cost per message — in the caller's transaction (all or nothing). The email
/// campaign sends `email_template`, required when the plan has email.
pub fn create_campaigns(
    c: &mut dyn Conn,
    plan: &Plan,
    costs: &Costs,
    name: &str,
    email_template: Option<&str>,
    currency: enishi_core::Currency,
) -> Result<Vec<Created>, Error> {
    let mut made = Vec::new();
    for m in Medium::ALL {
        let ids = plan.customers_on(m);
        if ids.is_empty() {
            continue;
        }
        let campaign = format!("{name} ({})", m.as_str());
        let list = format!("{name} — {}", m.as_str());
        let template = match (m, email_template) {
            (Medium::Email, Some(t)) => Some(t),
            (Medium::Email, None) => {
                return Err(Error::Invalid("email template: the plan has email, so name its template".into()))
            }
            _ => None,
        };
        let list_id = saved::create_list(c, &list, &format!("contact plan \"{name}\": {}", m.as_str()))?;
        segments_repo::add_to_list(c, list_id, &ids)?;
        let mut doc = serde_json::json!({
            "name": campaign,
            "mailing": name,
            "version": m.as_str(),
            "channel": m.channel().as_str(),
            "audience": {"list": list},
            "cost_per_message": text(costs.of(m)),
        });
        if let Some(t) = template {
            doc["template"] = serde_json::Value::String(t.to_string());
        }
        crate::campaigns::create(c, &doc.to_string(), currency)?;
        made.push(Created { channel: m, list, campaign, customers: ids.len() });
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_are_read_strictly() {
        let c = Costs::parse("call=800, letter=150,email=2.5").unwrap();
        assert_eq!(text(c.email), "2.5");
        for (bad, says) in [
            ("call=800,letter=150", "email=… is missing"),
            ("call=800,letter=150,email=2,email=3", "given twice"),
            ("call=800,letter=150,fax=2", "'fax'"),
            ("call=-1,letter=150,email=2", "cost of call"),
            ("call800", "channel=amount"),
        ] {
            let e = Costs::parse(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
