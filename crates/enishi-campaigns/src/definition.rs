//! The campaign document: what a marketer writes (JSON, docs/campaigns.md) to say who gets
//! what, through which channel, split how, and what counts as a response.

use crate::Error;
use enishi_core::Amount;
use serde::{Deserialize, Serialize};

/// A channel a campaign reaches customers through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Email over SMTP.
    Email,
    /// A printed letter: a mailing list for the print shop, recorded as sent when confirmed.
    Postal,
    /// A signed JSON POST per message (LINE, SMS, …).
    Webhook,
    /// A call list: a follow-up task per customer for staff.
    Call,
}

impl Channel {
    /// The name as stored, and the consent channel it needs.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Postal => "postal",
            Channel::Webhook => "webhook",
            Channel::Call => "call",
        }
    }

    /// The consent channel a customer must have opted in to: `email`, `postal`, `sms` (webhook: LINE, SMS) or `phone`.
    pub fn consent(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Postal => "postal",
            Channel::Webhook => "sms",
            Channel::Call => "phone",
        }
    }
}

/// Who a campaign is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Audience {
    /// A saved segment, evaluated and snapshotted when the send starts.
    Segment(String),
    /// A static list, snapshotted when the send starts.
    List(String),
    /// The customers a journey's trigger enters: a journey step's campaign (made by the
    /// journey, not written in a campaign document).
    Journey(String),
}

/// One version of the message and its share of the audience that is not held out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Short key (`A`, `B`, `short-subject`).
    pub key: String,
    /// The template it sends (email and webhook).
    #[serde(default)]
    pub template: Option<String>,
    /// Percent of the audience (the shares add up to 100).
    pub share: u32,
}

/// What counts as a response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Goal {
    /// Any order.
    Purchase,
    /// An order with this SKU.
    Sku {
        /// The SKU.
        sku: String,
    },
    /// An order with a product of this category.
    Category {
        /// The category.
        category: String,
    },
}

/// Who the message is from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Sender {
    /// A person's name ("Aya"), for `sender.name` and the From line.
    #[serde(default)]
    pub name: String,
    /// The From address (email); the `ENISHI_SMTP_FROM` setting when empty.
    #[serde(default)]
    pub email: String,
}

/// A campaign as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    /// Unique name ("coffee DM v2").
    pub name: String,
    /// The mailing this is a version of ("coffee DM"); the name when absent.
    #[serde(default)]
    pub mailing: Option<String>,
    /// The version label ("v2").
    #[serde(default)]
    pub version: String,
    /// Channel.
    pub channel: Channel,
    /// Who it is for.
    pub audience: Audience,
    /// The versions of the message; one variant `A` with the whole audience when absent.
    #[serde(default)]
    pub variants: Vec<Variant>,
    /// The template when there is one variant.
    #[serde(default)]
    pub template: Option<String>,
    /// Percent of the eligible audience kept back (0–50), chosen at random but the same on
    /// every run of the same campaign.
    #[serde(default)]
    pub holdout_percent: u32,
    /// What counts as a response; any order when absent.
    #[serde(default = "purchase")]
    pub goal: Goal,
    /// Days after a message in which a goal order counts (1–365; 14 when absent).
    #[serde(default = "fourteen")]
    pub attribution_days: u32,
    /// Cost of one message in the workspace currency (for ROI), a decimal string.
    #[serde(default)]
    pub cost_per_message: Option<String>,
    /// Who it is from.
    #[serde(default)]
    pub sender: Sender,
    /// The signed webhook's address (webhook channel).
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// The consent channel a webhook campaign needs (`sms` when absent; `email`, `postal`,
    /// `phone` also allowed): LINE and SMS messages are sent under the customer's `sms` consent.
    #[serde(default)]
    pub webhook_consent: Option<String>,
    /// The webhook's signing secret (16 characters or more); the `webhook_secret` setting
    /// when absent.
    #[serde(default)]
    pub webhook_secret: Option<String>,
    /// The call-list channel's task: its title and when it is due.
    #[serde(default)]
    pub call: Option<CallTask>,
    /// A coupon issued for each message (`coupon.code` in the template).
    #[serde(default)]
    pub coupon: Option<CouponOffer>,
}

/// The follow-up task a call-list campaign makes per recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallTask {
    /// What to do ("Thank-you call for the winter season"); "Call: CAMPAIGN" when empty.
    #[serde(default)]
    pub title: String,
    /// Days from the start of the campaign until the call is due (0–90; 3 when absent).
    #[serde(default = "three")]
    pub due_days: u32,
}

/// The coupon a campaign issues per message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CouponOffer {
    /// The loyalty programme's catalogue reward the coupon is for.
    pub reward: String,
    /// Days the coupon is valid from the message (1–365).
    pub valid_days: u32,
}

fn three() -> u32 {
    3
}

impl Default for CallTask {
    fn default() -> CallTask {
        CallTask { title: String::new(), due_days: three() }
    }
}

fn purchase() -> Goal {
    Goal::Purchase
}

fn fourteen() -> u32 {
    14
}

impl Definition {
    /// Reads and checks a campaign document; the error names the field that is wrong.
    pub fn parse(json: &str) -> Result<Definition, Error> {
        let mut d: Definition = serde_json::from_str(json).map_err(|e| {
            Error::Invalid(format!("the campaign document, line {} column {}: {e}", e.line(), e.column()))
        })?;
        d.check()?;
        if d.variants.is_empty() {
            d.variants.push(Variant { key: "A".into(), template: d.template.take(), share: 100 });
        }
        Ok(d)
    }

    fn check(&self) -> Result<(), Error> {
        let bad = |field: &str, why: String| Err(Error::Invalid(format!("{field}: {why}")));
        if self.name.trim().is_empty() || self.name.chars().count() > 120 {
            return bad("name", "must be 1 to 120 characters".into());
        }
        if !self.variants.is_empty() && self.template.is_some() {
            return bad("template", "give the template in each variant when there are variants".into());
        }
        let mut keys = std::collections::BTreeSet::new();
        for (i, v) in self.variants.iter().enumerate() {
            let ok_key = !v.key.is_empty()
                && v.key.len() <= 20
                && v.key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                && v.key != "holdout";
            if !ok_key {
                return bad(
                    &format!("variants[{i}].key"),
                    format!("'{}' must be 1 to 20 letters, digits, - or _ (and not 'holdout')", v.key),
                );
            }
            if !keys.insert(v.key.as_str()) {
                return bad(&format!("variants[{i}].key"), format!("'{}' is used twice", v.key));
            }
            if v.share == 0 {
                return bad(&format!("variants[{i}].share"), "must be at least 1 (percent)".into());
            }
        }
        if !self.variants.is_empty() {
            let total: u32 = self.variants.iter().map(|v| v.share.min(100)).sum();
            if total != 100 {
                return bad("variants", format!("the shares add up to {total}, not 100"));
            }
        }
        if self.holdout_percent > 50 {
            return bad("holdout_percent", format!("{} is more than 50", self.holdout_percent));
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
        let needs_template = matches!(self.channel, Channel::Email | Channel::Webhook);
        let templated = if self.variants.is_empty() {
            self.template.is_some()
        } else {
            self.variants.iter().all(|v| v.template.is_some())
        };
        if needs_template && !templated {
            return bad(
                "template",
                format!("the {} channel needs a template for every variant", self.channel.as_str()),
            );
        }
        if self.channel == Channel::Webhook {
            match self.webhook_url.as_deref() {
                Some(u) if u.starts_with("https://") || u.starts_with("http://") => {}
                _ => return bad("webhook_url", "the webhook channel needs an http(s) address".into()),
            }
        }
        if let Some(consent) = &self.webhook_consent {
            if self.channel != Channel::Webhook {
                return bad("webhook_consent", "is for the webhook channel".into());
            }
            if consent.parse::<enishi_core::ConsentChannel>().is_err() {
                return bad("webhook_consent", format!("'{consent}' is not one of email, sms, postal, phone"));
            }
        }
        if let Some(secret) = &self.webhook_secret {
            if self.channel != Channel::Webhook {
                return bad("webhook_secret", "is for the webhook channel".into());
            }
            if secret.chars().count() < 16 {
                return bad("webhook_secret", "must be 16 characters or more".into());
            }
        }
        if let Some(call) = &self.call {
            if self.channel != Channel::Call {
                return bad("call", "is for the call channel".into());
            }
            if call.due_days > 90 {
                return bad("call.due_days", format!("{} is more than 90", call.due_days));
            }
            if call.title.chars().count() > 200 {
                return bad("call.title", "must be at most 200 characters".into());
            }
        }
        if let Some(coupon) = &self.coupon {
            if !matches!(self.channel, Channel::Email | Channel::Webhook) {
                return bad("coupon", "is issued with email and webhook messages".into());
            }
            if coupon.reward.trim().is_empty() {
                return bad("coupon.reward", "names no reward".into());
            }
            if !(1..=365).contains(&coupon.valid_days) {
                return bad("coupon.valid_days", format!("{} is not between 1 and 365", coupon.valid_days));
            }
        }
        match &self.audience {
            Audience::Segment(n) | Audience::List(n) | Audience::Journey(n) if n.trim().is_empty() => {
                bad("audience", "names nothing".into())
            }
            _ => Ok(()),
        }
    }

    /// The mailing this is a version of.
    pub fn mailing(&self) -> &str {
        self.mailing.as_deref().unwrap_or(&self.name)
    }

    /// The cost of one message.
    pub fn cost(&self) -> Amount {
        self.cost_per_message.as_deref().and_then(|c| c.trim().parse().ok()).unwrap_or(Amount::ZERO)
    }

    /// The consent channel a customer must have opted in to for this campaign: the channel's
    /// own, or for a webhook the one the document names (`sms` by default).
    pub fn consent(&self) -> &str {
        match (&self.channel, &self.webhook_consent) {
            (Channel::Webhook, Some(c)) => c,
            (channel, _) => channel.consent(),
        }
    }

    /// The variant of a key.
    pub fn variant(&self, key: &str) -> Option<&Variant> {
        self.variants.iter().find(|v| v.key == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_read_with_its_defaults() {
        let d = Definition::parse(
            r#"{"name": "coffee DM v2", "mailing": "coffee DM", "version": "v2", "channel": "email",
                "audience": {"segment": "bought A only"}, "template": "offer-b", "holdout_percent": 10}"#,
        )
        .unwrap();
        assert_eq!(d.variants, vec![Variant { key: "A".into(), template: Some("offer-b".into()), share: 100 }]);
        assert_eq!((d.goal.clone(), d.attribution_days, d.mailing()), (Goal::Purchase, 14, "coffee DM"));
    }

    #[test]
    fn each_mistake_names_its_field() {
        let cases = [
            (
                r#""variants": [{"key": "A", "template": "t", "share": 60}, {"key": "B", "template": "t", "share": 30}]"#,
                "add up to 90",
            ),
            (
                r#""variants": [{"key": "A", "template": "t", "share": 50}, {"key": "A", "template": "t", "share": 50}]"#,
                "used twice",
            ),
            (r#""variants": [{"key": "holdout", "template": "t", "share": 100}]"#, "variants[0].key"),
            (r#""template": "t", "holdout_percent": 60"#, "holdout_percent"),
            (r#""template": "t", "attribution_days": 0"#, "attribution_days"),
            (r#""template": "t", "cost_per_message": "-1""#, "cost_per_message"),
            (r#""variants": [{"key": "A", "share": 100}]"#, "needs a template"),
            (r#""template": "t", "colour": "red""#, "unknown field"),
            (r#""template": "t", "webhook_consent": "sms""#, "webhook_consent"),
            (r#""template": "t", "call": {"due_days": 1}"#, "call"),
            (r#""template": "t", "coupon": {"reward": "r", "valid_days": 0}"#, "coupon.valid_days"),
            (r#""template": "t", "coupon": {"reward": " ", "valid_days": 3}"#, "coupon.reward"),
        ];
        for (extra, expected) in cases {
            let json = format!(r#"{{"name": "n", "channel": "email", "audience": {{"segment": "s"}}, {extra}}}"#);
            let e = Definition::parse(&json).unwrap_err().to_string();
            assert!(e.contains(expected), "{extra}: {e}");
        }
    }
}
