//! The fields a condition can name, by family — for documentation, the console's condition
//! picker and "did you mean" hints — and the value checks shared by the compiler.

use enishi_analytics::lifecycle::Stage;
use enishi_analytics::rfm::Segment;

/// A family of conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// What the customer record says.
    Profile,
    /// What the customer bought and returned.
    Purchases,
    /// Points, tier, membership, stamps, referrals.
    Loyalty,
    /// Scores the analytics computed.
    Scores,
    /// Behaviour events.
    Events,
    /// Membership of saved segments and static lists.
    Membership,
}

impl Family {
    /// Every family, in the order the console shows them.
    pub const ALL: [Family; 6] =
        [Family::Profile, Family::Purchases, Family::Loyalty, Family::Scores, Family::Events, Family::Membership];

    /// The family's name.
    pub fn name(self) -> &'static str {
        match self {
            Family::Profile => "profile",
            Family::Purchases => "purchases",
            Family::Loyalty => "loyalty",
            Family::Scores => "scores",
            Family::Events => "events",
            Family::Membership => "membership",
        }
    }
}

/// One field: its name, family and an example condition.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The name as written in a rule.
    pub name: &'static str,
    /// Its family.
    pub family: Family,
    /// A condition that uses it.
    pub example: &'static str,
}

const fn field(name: &'static str, family: Family, example: &'static str) -> Field {
    Field { name, family, example }
}

/// Every field a rule can name (`consent.*` stands for one field per consent channel).
pub const FIELDS: &[Field] = &[
    field("name", Family::Profile, "name = \"佐藤 花子\""),
    field("email", Family::Profile, "email"),
    field("phone", Family::Profile, "not phone"),
    field("external_id", Family::Profile, "external_id in (\"C-1\", \"C-2\")"),
    field("city", Family::Profile, "city = \"Kyoto\""),
    field("region", Family::Profile, "region = \"Tokyo\""),
    field("postal_code", Family::Profile, "postal_code"),
    field("country", Family::Profile, "country = \"JP\""),
    field("locale", Family::Profile, "locale = \"ja\""),
    field("acquisition_source", Family::Profile, "acquisition_source = \"instagram\""),
    field("birthday_month", Family::Profile, "birthday_month = 12"),
    field("months_to_birthday", Family::Profile, "months_to_birthday = 1"),
    field("tag", Family::Profile, "tag = \"vip\""),
    field("channel", Family::Profile, "channel = \"in_store\""),
    field("attribute", Family::Profile, "attribute(key: \"size\") = \"L\""),
    field("consent.email", Family::Profile, "consent.email"),
    field("consent.sms", Family::Profile, "consent.sms"),
    field("consent.postal", Family::Profile, "consent.postal"),
    field("consent.phone", Family::Profile, "consent.phone"),
    field("referred", Family::Profile, "referred"),
    field("account", Family::Profile, "account"),
    field("account.name", Family::Profile, "account.name = \"Cafe Kita\""),
    field("account.industry", Family::Profile, "account.industry = \"restaurant\""),
    field("account.region", Family::Profile, "account.region = \"Kansai\""),
    field("account.size", Family::Profile, "account.size = \"10-49\""),
    field("bought", Family::Purchases, "bought(sku: \"COF-01S\", within: 90d)"),
    field("orders", Family::Purchases, "orders(within: 365d) >= 2"),
    field("spend", Family::Purchases, "spend >= 10000"),
    field("average_order_value", Family::Purchases, "average_order_value >= 3000"),
    field("first_order", Family::Purchases, "first_order >= 2026-01-01"),
    field("last_order", Family::Purchases, "last_order < 2026-06-01"),
    field("days_since_last_order", Family::Purchases, "days_since_last_order > 180"),
    field("days_since_first_order", Family::Purchases, "days_since_first_order <= 30"),
    field("returned", Family::Purchases, "returned(within: 90d)"),
    field("points", Family::Loyalty, "points >= 500"),
    field("tier", Family::Loyalty, "tier = \"gold\""),
    field("member", Family::Loyalty, "member(plan: \"vip\")"),
    field("stamps", Family::Loyalty, "stamps(card: \"coffee\") >= 5"),
    field("referrals", Family::Loyalty, "referrals >= 1"),
    field("rfm.r", Family::Scores, "rfm.r >= 4"),
    field("rfm.f", Family::Scores, "rfm.f >= 4"),
    field("rfm.m", Family::Scores, "rfm.m >= 4"),
    field("rfm.segment", Family::Scores, "rfm.segment in (\"Champions\", \"Loyal\")"),
    field("lifecycle", Family::Scores, "lifecycle = \"at_risk\""),
    field("loyal_class", Family::Scores, "loyal_class = \"loyal\""),
    field("p_alive", Family::Scores, "p_alive < 0.3"),
    field("predicted_purchases", Family::Scores, "predicted_purchases >= 1"),
    field("clv", Family::Scores, "clv >= 50000"),
    field("recommended", Family::Scores, "recommended(sku: \"MUG-02S\")"),
    field("did", Family::Events, "did(event: \"added_to_cart\", within: 2d)"),
    field("events", Family::Events, "events(event: \"page_view\", within: 30d) >= 5"),
    field("open_issue", Family::Events, "open_issue(kind: \"complaint\")"),
    field("complained", Family::Events, "complained(within: 30d)"),
    field("nps_group", Family::Events, "nps_group = \"detractor\""),
    field("last_csat", Family::Events, "last_csat <= 2"),
    field("stop_reason", Family::Events, "stop_reason = \"price\""),
    field("owner", Family::Profile, "owner = \"aki@shop.example\""),
    field("reviewed", Family::Events, "reviewed(sku: \"BEANS-1\", within: 90d) >= 4"),
    field("raised", Family::Events, "raised(change: \"delivery-3-days\")"),
    field("received", Family::Events, "received(campaign: \"winter DM v1\", within: 30d)"),
    field("messages", Family::Events, "messages(channel: \"email\", within: 7d) >= 2"),
    field("responded", Family::Events, "responded(campaign: \"coffee DM v2\")"),
    field("segment", Family::Membership, "segment = \"Lapsed VIPs\""),
    field("list", Family::Membership, "list = \"Trade fair 2026\""),
];

/// The NPS groups of `nps_group`.
pub const NPS_GROUPS: [&str; 3] = ["promoter", "passive", "detractor"];

/// The reasons of `stop_reason` (the "why did you stop buying?" survey's).
pub const STOP_REASONS: [&str; 7] = ["price", "quality", "service", "elsewhere", "moved", "no_need", "other"];

/// Checks an NPS group.
pub fn nps_group(s: &str) -> Result<String, String> {
    NPS_GROUPS
        .contains(&s)
        .then(|| s.to_string())
        .ok_or_else(|| format!("'{s}' is not an NPS group: {}", NPS_GROUPS.join(", ")))
}

/// Checks a stop reason.
pub fn stop_reason(s: &str) -> Result<String, String> {
    STOP_REASONS
        .contains(&s)
        .then(|| s.to_string())
        .ok_or_else(|| format!("'{s}' is not a stop reason: {}", STOP_REASONS.join(", ")))
}

/// The customers column behind a plain text profile field.
pub fn profile_text_column(field: &str) -> Option<&'static str> {
    Some(match field {
        "name" => "name",
        "phone" => "phone",
        "external_id" => "external_id",
        "city" => "city",
        "region" => "region",
        "postal_code" => "postal_code",
        "country" => "country",
        "locale" => "locale",
        "acquisition_source" => "acquisition_source",
        _ => return None,
    })
}

/// The known field nearest to `name` by edit distance, if it is close.
pub fn closest(name: &str) -> Option<&'static str> {
    FIELDS
        .iter()
        .map(|f| (distance(name, f.name), f.name))
        .filter(|(d, f)| *d <= 2.max(f.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, f)| f)
}

/// Levenshtein distance in characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(here + 1);
            prev = here;
        }
    }
    row[b.len()]
}

/// Folds a name as people write it to the stored form: `Can't Lose Them` → `cant_lose_them`.
fn fold(s: &str) -> String {
    s.trim().to_lowercase().replace(['\'', '’'], "").replace([' ', '-'], "_")
}

/// An RFM segment by its label or stored name, as stored.
pub fn rfm_segment(s: &str) -> Result<String, String> {
    let folded = fold(s);
    Segment::ALL.iter().map(|seg| fold(seg.label())).find(|name| *name == folded).ok_or_else(|| {
        let names: Vec<_> = Segment::ALL.iter().map(|seg| format!("\"{}\"", seg.label())).collect();
        format!("\"{s}\" is not an RFM segment (one of {})", names.join(", "))
    })
}

/// A lifecycle stage, as stored.
pub fn lifecycle_stage(s: &str) -> Result<String, String> {
    Stage::parse(&fold(s)).map(|st| st.as_str().to_string()).ok_or_else(|| {
        let names: Vec<_> = Stage::ALL.iter().map(|st| format!("\"{}\"", st.as_str())).collect();
        format!("\"{s}\" is not a lifecycle stage (one of {})", names.join(", "))
    })
}

/// The loyal classes of seed practice, as stored.
pub const LOYAL_CLASSES: [&str; 3] = ["loyal", "semi_loyal", "other"];

/// A loyal class, as stored.
pub fn loyal_class(s: &str) -> Result<String, String> {
    let folded = fold(s);
    LOYAL_CLASSES
        .iter()
        .find(|c| **c == folded)
        .map(|c| c.to_string())
        .ok_or_else(|| format!("\"{s}\" is not a loyal class (one of \"loyal\", \"semi_loyal\", \"other\")"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_stored_names_both_name_a_segment() {
        assert_eq!(rfm_segment("Can't Lose Them").unwrap(), "cant_lose_them");
        assert_eq!(rfm_segment("champions").unwrap(), "champions");
        assert!(rfm_segment("Best").unwrap_err().contains("\"Champions\""));
        assert_eq!(lifecycle_stage("At risk").unwrap(), "at_risk");
        assert_eq!(loyal_class("semi-loyal").unwrap(), "semi_loyal");
    }

    #[test]
    fn near_misses_are_suggested_and_far_ones_are_not() {
        assert_eq!(closest("order"), Some("orders"));
        assert_eq!(closest("lifecylce"), Some("lifecycle"));
        assert_eq!(closest("zzzzzzzz"), None);
    }
}
