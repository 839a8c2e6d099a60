//! The journey document: what a marketer writes (JSON, docs/campaigns.md "Journeys") to say
//! which event enters a customer, which messages follow how long after, and what takes the
//! customer out again.

use super::timing::{parse_delay, parse_time_of_day};
use crate::definition::{CallTask, Channel, Goal, Sender};
use crate::Error;
use enishi_core::Amount;
use serde::{Deserialize, Serialize};

/// What enters a customer into a journey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// The customer's first order (once per customer).
    FirstPurchase,
    /// `days` after each order.
    DaysAfterOrder {
        /// Days after the order (1–365).
        days: u32,
    },
    /// The customer's birthday (month and day in the business time zone), `days_before` it.
    Birthday {
        /// Days before the birthday (0–60).
        #[serde(default)]
        days_before: u32,
    },
    /// Points of the customer's expire within `within_days` (once per first expiry date).
    PointsExpiring {
        /// Days ahead (1–365).
        within_days: u32,
    },
    /// A behaviour event (`cart_add`) followed by no order (and no further such event) for
    /// `hours`.
    CartAbandoned {
        /// The event's name.
        #[serde(default = "cart_add")]
        event: String,
        /// Hours without an order (1–720).
        hours: u32,
    },
    /// The customer's lifecycle stage changed to `stage` (`at_risk` for a win-back).
    Lifecycle {
        /// The stage entered.
        stage: String,
    },
    /// A customer of one of the loyal `classes` has not ordered for `days` since their last
    /// order.
    LoyalLapsing {
        /// Loyal classes (`loyal`, `semi_loyal`); `loyal` when absent.
        #[serde(default = "loyal")]
        classes: Vec<String>,
        /// Days since the last order (1–730).
        days: u32,
    },
    /// The customer moved up a tier of the loyalty programme (an order or a review raised
    /// them above the tier they had; a first tier above the lowest counts too), to `tier`
    /// only when it is named. Once per tier change.
    TierUpgrade {
        /// The tier (its id in the programme) the customer must have reached; any higher tier
        /// when absent.
        #[serde(default)]
        tier: Option<String>,
    },
    /// A promotion of the loyalty programme started (its announcement on the outbox,
    /// `loyalty.promotion_started`): every loyalty member it is for (its tiers, when it names
    /// any) enters, once per promotion.
    PromotionStarted {
        /// Only this promotion (its id in the programme); every promotion when absent.
        #[serde(default)]
        promotion: Option<String>,
    },
    /// A stamp card reached one stamp short of full: once per filling of the card.
    StampCardOneShort {
        /// Only this card (its id in the programme); every card when absent.
        #[serde(default)]
        card: Option<String>,
    },
}

fn cart_add() -> String {
    "cart_add".into()
}

fn loyal() -> Vec<String> {
    vec!["loyal".into()]
}

impl Trigger {
    /// The kind as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            Trigger::FirstPurchase => "first_purchase",
            Trigger::DaysAfterOrder { .. } => "days_after_order",
            Trigger::Birthday { .. } => "birthday",
            Trigger::PointsExpiring { .. } => "points_expiring",
            Trigger::CartAbandoned { .. } => "cart_abandoned",
            Trigger::Lifecycle { .. } => "lifecycle",
            Trigger::LoyalLapsing { .. } => "loyal_lapsing",
            Trigger::TierUpgrade { .. } => "tier_upgrade",
            Trigger::PromotionStarted { .. } => "promotion_started",
            Trigger::StampCardOneShort { .. } => "stamp_card_one_short",
        }
    }

    fn check(&self) -> Result<(), Error> {
        let bad = |field: &str, why: String| Err(Error::Invalid(format!("trigger.{field}: {why}")));
        let range = |field: &str, v: u32, lo: u32, hi: u32| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                bad(field, format!("{v} is not between {lo} and {hi}"))
            }
        };
        match self {
            Trigger::FirstPurchase => Ok(()),
            Trigger::DaysAfterOrder { days } => range("days", *days, 1, 365),
            Trigger::Birthday { days_before } => range("days_before", *days_before, 0, 60),
            Trigger::PointsExpiring { within_days } => range("within_days", *within_days, 1, 365),
            Trigger::CartAbandoned { event, hours } => {
                if event.trim().is_empty() || event.chars().count() > 100 {
                    return bad("event", "must be 1 to 100 characters".into());
                }
                range("hours", *hours, 1, 720)
            }
            Trigger::Lifecycle { stage } => {
                enishi_segments::catalogue::lifecycle_stage(stage).map(|_| ()).or_else(|e| bad("stage", e))
            }
            Trigger::LoyalLapsing { classes, days } => {
                if classes.is_empty() {
                    return bad("classes", "names no loyal class".into());
                }
                for (i, class) in classes.iter().enumerate() {
                    enishi_segments::catalogue::loyal_class(class)
                        .map(|_| ())
                        .or_else(|e| bad(&format!("classes[{i}]"), e))?;
                }
                range("days", *days, 1, 730)
            }
            Trigger::TierUpgrade { tier: name }
            | Trigger::PromotionStarted { promotion: name }
            | Trigger::StampCardOneShort { card: name } => match name {
                Some(n) if n.trim().is_empty() => bad(self.named_field(), "names nothing".into()),
                _ => Ok(()),
            },
        }
    }

    /// The field of a loyalty trigger that names a tier, a promotion or a card.
    fn named_field(&self) -> &'static str {
        match self {
            Trigger::TierUpgrade { .. } => "tier",
            Trigger::PromotionStarted { .. } => "promotion",
            _ => "card",
        }
    }

    /// Checks a loyalty trigger against the programme in force (`None`: no programme yet): the
    /// tiers, the promotion or the stamp cards it needs must be there.
    pub fn check_program(&self, program: Option<&enishi_loyalty::Program>) -> Result<(), Error> {
        let bad = |field: &str, why: String| Err(Error::Invalid(format!("trigger.{field}: {why}")));
        let doc = match (self, program) {
            (
                Trigger::TierUpgrade { .. } | Trigger::PromotionStarted { .. } | Trigger::StampCardOneShort { .. },
                None,
            ) => {
                return bad(
                    "kind",
                    format!("'{}' needs a loyalty programme (enishi loyalty program apply)", self.kind()),
                )
            }
            (_, Some(p)) => &p.doc,
            (_, None) => return Ok(()),
        };
        match self {
            Trigger::TierUpgrade { tier } => {
                let Some(tiers) = &doc.tiers else {
                    return bad("kind", "the loyalty programme has no tiers".into());
                };
                match tier {
                    Some(t) if !tiers.levels.iter().any(|l| &l.id == t) => {
                        let ids: Vec<&str> = tiers.levels.iter().map(|l| l.id.as_str()).collect();
                        bad("tier", format!("'{t}' is not a tier of the programme ({})", ids.join(", ")))
                    }
                    _ => Ok(()),
                }
            }
            Trigger::PromotionStarted { promotion: Some(id) } if !doc.promotions.iter().any(|p| &p.id == id) => {
                bad("promotion", format!("'{id}' is not a promotion of the programme"))
            }
            Trigger::StampCardOneShort { card } => {
                if doc.stamp_cards.is_empty() {
                    return bad("kind", "the loyalty programme has no stamp cards".into());
                }
                match card {
                    Some(id) if !doc.stamp_cards.iter().any(|k| &k.id == id) => {
                        bad("card", format!("'{id}' is not a stamp card of the programme"))
                    }
                    _ => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }
}

/// What a step's delay counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum After {
    /// The previous step (the entry for the first step).
    #[default]
    Previous,
    /// The customer's entry into the journey.
    Entry,
}

/// One message of a journey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Short key (`welcome`, `follow-up`), unique in the journey.
    pub key: String,
    /// The template it sends (email and webhook steps).
    #[serde(default)]
    pub template: Option<String>,
    /// The channel: `email` (when absent), `webhook` (a signed JSON POST, for LINE or SMS) or
    /// `call` (a follow-up task for staff).
    #[serde(default = "email")]
    pub channel: Channel,
    /// The webhook's address (webhook steps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    /// The consent a webhook step needs (`sms` when absent; `email`, `postal`, `phone`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_consent: Option<String>,
    /// The webhook's signing secret (16 characters or more); the `webhook_secret` setting
    /// when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
    /// The task a call step makes: its title and the days until it is due (from the step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<CallTask>,
    /// How long after the previous step (or the entry) it is due: `0`, `30m`, `48h`, `7d`.
    #[serde(default = "zero")]
    pub delay: String,
    /// What the delay counts from.
    #[serde(default)]
    pub after: After,
    /// When in the day it goes out: absent, as soon as it is due; `HH:MM` in the business time
    /// zone; `suggested`, the hour the customer usually buys at.
    #[serde(default)]
    pub send_at: Option<String>,
}

fn email() -> Channel {
    Channel::Email
}

fn zero() -> String {
    "0".into()
}

fn yes() -> bool {
    true
}

/// What takes a customer out of a journey before its last step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exit {
    /// An order placed after the event that entered them (`ordered`).
    #[serde(default = "yes")]
    pub on_order: bool,
    /// Consent on the next step's channel withdrawn after entering (`unsubscribed`).
    #[serde(default = "yes")]
    pub on_unsubscribe: bool,
    /// A segment rule (text): customers who now match it leave (`matched`).
    #[serde(default)]
    pub when_matching: Option<String>,
    /// A segment rule (text): customers who no longer match it leave (`no_longer_matched`).
    #[serde(default)]
    pub unless_matching: Option<String>,
}

impl Step {
    /// The consent channel the step's customers must have opted in to: the channel's own, or
    /// for a webhook the one the step names (`sms` by default).
    pub fn consent(&self) -> &str {
        match (self.channel, &self.webhook_consent) {
            (Channel::Webhook, Some(c)) => c,
            (channel, _) => channel.consent(),
        }
    }
}

impl Default for Exit {
    fn default() -> Exit {
        Exit { on_order: true, on_unsubscribe: true, when_matching: None, unless_matching: None }
    }
}

/// A journey as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Journey {
    /// Unique name ("welcome series").
    pub name: String,
    /// What enters a customer.
    pub trigger: Trigger,
    /// The messages, in order.
    pub steps: Vec<Step>,
    /// What takes a customer out.
    #[serde(default)]
    pub exit: Exit,
    /// The time of day (`HH:MM`, business time zone) of a `suggested` step for a customer
    /// without orders; 10:00 when absent.
    #[serde(default)]
    pub send_time: Option<String>,
    /// Who the messages are from.
    #[serde(default)]
    pub sender: Sender,
    /// What counts as a response to a step (any order when absent).
    #[serde(default = "purchase")]
    pub goal: Goal,
    /// Days after a message in which a goal order counts (1–365; 14 when absent).
    #[serde(default = "fourteen")]
    pub attribution_days: u32,
    /// Cost of one message, a decimal string.
    #[serde(default)]
    pub cost_per_message: Option<String>,
}

fn purchase() -> Goal {
    Goal::Purchase
}

fn fourteen() -> u32 {
    14
}

/// Most steps a journey may have.
pub const MAX_STEPS: usize = 20;

impl Journey {
    /// Reads and checks a journey document; the error names the field that is wrong.
    pub fn parse(json: &str) -> Result<Journey, Error> {
        let j: Journey = serde_json::from_str(json).map_err(|e| {
            Error::Invalid(format!("the journey document, line {} column {}: {e}", e.line(), e.column()))
        })?;
        j.check()?;
        Ok(j)
    }

    fn check(&self) -> Result<(), Error> {
        let bad = |field: &str, why: String| Err(Error::Invalid(format!("{field}: {why}")));
        if self.name.trim().is_empty() || self.name.chars().count() > 100 {
            return bad("name", "must be 1 to 100 characters".into());
        }
        self.trigger.check()?;
        if self.steps.is_empty() || self.steps.len() > MAX_STEPS {
            return bad("steps", format!("a journey has 1 to {MAX_STEPS} steps, not {}", self.steps.len()));
        }
        let mut keys = std::collections::BTreeSet::new();
        for (i, s) in self.steps.iter().enumerate() {
            let at = |f: &str| format!("steps[{i}].{f}");
            let ok_key = !s.key.is_empty()
                && s.key.len() <= 20
                && s.key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !ok_key {
                return bad(&at("key"), format!("'{}' must be 1 to 20 letters, digits, - or _", s.key));
            }
            if !keys.insert(s.key.as_str()) {
                return bad(&at("key"), format!("'{}' is used twice", s.key));
            }
            if s.channel == Channel::Postal {
                return bad(
                    &at("channel"),
                    "'postal': letters are sent by hand (a campaign); a journey's steps are email, webhook or call"
                        .into(),
                );
            }
            match &s.template {
                Some(t) if t.trim().is_empty() => return bad(&at("template"), "names no template".into()),
                None if s.channel != Channel::Call => {
                    return bad(&at("template"), format!("the {} channel needs a template", s.channel.as_str()))
                }
                _ => {}
            }
            parse_delay(&s.delay).map_err(|e| Error::Invalid(format!("{}: {e}", at("delay"))))?;
            if let Some(t) = s.send_at.as_deref().filter(|t| *t != "suggested") {
                parse_time_of_day(t)
                    .map_err(|e| Error::Invalid(format!("{}: {e}, or \"suggested\"", at("send_at"))))?;
            }
        }
        if let Some(t) = &self.send_time {
            parse_time_of_day(t).map_err(|e| Error::Invalid(format!("send_time: {e}")))?;
        }
        if !(1..=365).contains(&self.attribution_days) {
            return bad("attribution_days", format!("{} is not between 1 and 365", self.attribution_days));
        }
        if let Some(c) = &self.cost_per_message {
            match c.trim().parse::<Amount>() {
                Ok(a) if !a.is_negative() => {}
                _ => return bad("cost_per_message", format!("'{c}' is not an amount of 0 or more")),
            }
        }
        for (field, rule) in
            [("exit.when_matching", &self.exit.when_matching), ("exit.unless_matching", &self.exit.unless_matching)]
        {
            if let Some(text) = rule {
                enishi_segments::text::parse(text).map_err(|e| Error::Invalid(format!("{field}: {e}")))?;
            }
        }
        Ok(())
    }

    /// The campaign name of step `key`: `journey / key`.
    pub fn step_campaign(&self, key: &str) -> String {
        format!("{} / {key}", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEPS: &str =
        r#""steps": [{"key": "welcome", "template": "w"}, {"key": "follow-up", "template": "f", "delay": "7d"}]"#;

    #[test]
    fn a_document_is_read_with_its_defaults() {
        let j = Journey::parse(&format!(r#"{{"name": "welcome", "trigger": {{"kind": "first_purchase"}}, {STEPS}}}"#))
            .unwrap();
        assert_eq!(j.trigger, Trigger::FirstPurchase);
        assert_eq!(
            (j.steps[0].delay.as_str(), j.steps[0].after, j.steps[0].channel),
            ("0", After::Previous, Channel::Email)
        );
        assert!(j.exit.on_order && j.exit.on_unsubscribe);
        assert_eq!(j.step_campaign("welcome"), "welcome / welcome");
        let cart = Journey::parse(&format!(
            r#"{{"name": "cart", "trigger": {{"kind": "cart_abandoned", "hours": 4}}, {STEPS}}}"#
        ))
        .unwrap();
        assert_eq!(cart.trigger, Trigger::CartAbandoned { event: "cart_add".into(), hours: 4 });
    }

    #[test]
    fn each_mistake_names_its_field() {
        let cases = [
            (r#""trigger": {"kind": "days_after_order", "days": 0}, STEPS"#, "trigger.days"),
            (r#""trigger": {"kind": "days_after_order"}, STEPS"#, "missing field `days`"),
            (r#""trigger": {"kind": "moon_phase"}, STEPS"#, "unknown variant `moon_phase`"),
            (r#""trigger": {"kind": "lifecycle", "stage": "sleepy"}, STEPS"#, "trigger.stage"),
            (r#""trigger": {"kind": "loyal_lapsing", "classes": ["gold"], "days": 60}, STEPS"#, "trigger.classes[0]"),
            (r#""trigger": {"kind": "birthday", "days_before": 90}, STEPS"#, "trigger.days_before"),
            (r#""trigger": {"kind": "first_purchase"}, "steps": []"#, "steps: a journey has 1 to 20 steps"),
            (
                r#""trigger": {"kind": "first_purchase"}, "steps": [{"key": "a", "template": "t"}, {"key": "a", "template": "t"}]"#,
                "steps[1].key: 'a' is used twice",
            ),
            (
                r#""trigger": {"kind": "first_purchase"}, "steps": [{"key": "a", "template": "t", "delay": "7x"}]"#,
                "steps[0].delay",
            ),
            (
                r#""trigger": {"kind": "first_purchase"}, "steps": [{"key": "a", "template": "t", "send_at": "25:00"}]"#,
                "steps[0].send_at",
            ),
            (
                r#""trigger": {"kind": "first_purchase"}, "steps": [{"key": "a", "template": "t", "channel": "postal"}]"#,
                "steps[0].channel",
            ),
            (
                r#""trigger": {"kind": "first_purchase"}, "steps": [{"key": "a", "channel": "webhook"}]"#,
                "steps[0].template",
            ),
            (
                r#""trigger": {"kind": "first_purchase"}, STEPS, "exit": {"when_matching": "spend >"}"#,
                "exit.when_matching",
            ),
            (r#""trigger": {"kind": "first_purchase"}, STEPS, "send_time": "noon""#, "send_time"),
            (r#""trigger": {"kind": "tier_upgrade", "tier": " "}, STEPS"#, "trigger.tier: names nothing"),
            (r#""trigger": {"kind": "promotion_started", "promotion": ""}, STEPS"#, "trigger.promotion"),
            (r#""trigger": {"kind": "stamp_card_one_short", "card": ""}, STEPS"#, "trigger.card"),
            (r#""trigger": {"kind": "first_purchase"}, STEPS, "colour": "red""#, "unknown field `colour`"),
        ];
        for (body, expected) in cases {
            let json = format!(r#"{{"name": "n", {}}}"#, body.replace("STEPS", STEPS));
            let e = Journey::parse(&json).unwrap_err().to_string();
            assert!(e.contains(expected), "{body}: {e}");
        }
    }
}
