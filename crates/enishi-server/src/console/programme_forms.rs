//! The programme editor's forms, described as data: each tab of the editor is a [`Section`]
//! of [`Field`]s, each field a path in the programme document (`earning.points_per_unit`,
//! `repeat.weekdays`) and the kind of input it takes. One function draws any form from the
//! document and one reads any posted form back into the document, so adding a field to the
//! document is one line here. Fields the forms do not show are kept as they are.

use crate::console::i18n::Tr;
use enishi_core::Channel;
use maud::{html, Markup};
use serde_json::{Map, Value};

/// The kind of input of a field, and how its text becomes JSON.
pub(crate) enum Kind {
    /// Text, written as a string.
    Text,
    /// A decimal (an amount or a rate), written as a string.
    Decimal,
    /// A whole number (points, days, counts).
    Int,
    /// Words separated by commas, written as a list of strings.
    List,
    /// A check box: `true`, or not set (false).
    Bool,
    /// One of these (value, label); the empty value is "not set".
    Choice(Vec<(&'static str, &'static str)>),
    /// Several of these (value, label), as a list of strings.
    Several(Vec<(&'static str, String)>),
    /// Tiers of the document, several, by id.
    TierIds,
    /// A reward of the document's catalogue, by id.
    RewardId,
    /// A saved segment, by name.
    Segment,
    /// The tier window: `{"rolling_days": N}` or `"calendar_year"`.
    Window,
    /// The expiry policy: `{"policy": "…", "months": N}`.
    Expiry,
}

/// One input of a form.
pub(crate) struct Field {
    /// Path in the document (or the entry), dot-separated.
    pub path: &'static str,
    /// Label, in the visitor's language.
    pub label: &'static str,
    /// The input.
    pub kind: Kind,
    /// A hint below the input.
    pub help: Option<&'static str>,
}

/// Fields under a heading.
pub(crate) struct Group {
    /// The heading.
    pub legend: &'static str,
    /// Its fields.
    pub fields: Vec<Field>,
}

/// A tab of the editor.
pub(crate) struct Section {
    /// Its URL segment.
    pub tab: &'static str,
    /// Its title.
    pub title: &'static str,
    /// Fields of the document itself (paths from the top).
    pub settings: Vec<Group>,
    /// The path of its list of entries, if it has one.
    pub list: Option<&'static str>,
    /// Fields of one entry (paths inside the entry).
    pub entry: Vec<Group>,
}

fn f(path: &'static str, label: &'static str, kind: Kind) -> Field {
    Field { path, label, kind, help: None }
}

fn h(path: &'static str, label: &'static str, kind: Kind, help: &'static str) -> Field {
    Field { path, label, kind, help: Some(help) }
}

fn channels(tr: Tr) -> Kind {
    Kind::Several(Channel::ALL.iter().map(|c| (c.as_str(), tr.word(c.as_str()))).collect())
}

fn names(tr: Tr) -> [Field; 2] {
    [
        h("names.ja", tr.t("Name in Japanese"), Kind::Text, tr.t("Shown to people who use Enishi in Japanese.")),
        h("names.en", tr.t("Name in English"), Kind::Text, tr.t("Shown to people who use Enishi in English.")),
    ]
}

/// The conditions of a rule or promotion (`when`).
fn when(tr: Tr) -> Group {
    Group {
        legend: tr.t("Which orders"),
        fields: vec![
            h("when.skus", tr.t("Only these SKUs"), Kind::List, tr.t("Separated by commas; empty: any.")),
            h("when.categories", tr.t("Only these categories"), Kind::List, tr.t("Separated by commas; empty: any.")),
            h("when.channels", tr.t("Only these channels"), channels(tr), tr.t("None ticked: any channel.")),
            f("when.minimum_order", tr.t("Only orders of at least"), Kind::Decimal),
        ],
    }
}

/// Every tab of the editor, in order.
pub(crate) fn sections(tr: Tr) -> Vec<Section> {
    let yes_no_help = tr.t("Leave empty for no limit.");
    vec![
        Section {
            tab: "earning",
            title: tr.t("Earning"),
            settings: vec![
                Group {
                    legend: tr.t("Programme"),
                    fields: vec![
                        f("name", tr.t("Programme name"), Kind::Text),
                        h(
                            "effective_from",
                            tr.t("In force from"),
                            Kind::Text,
                            tr.t("Local time such as 2026-12-01 00:00; empty: from the moment it is applied."),
                        ),
                    ],
                },
                Group {
                    legend: tr.t("Points for spending"),
                    fields: vec![
                        h(
                            "earning.points_per_unit",
                            tr.t("Points per currency unit"),
                            Kind::Decimal,
                            tr.t("1 is one point per yen (or dollar); 0.01 is one point per 100."),
                        ),
                        f(
                            "earning.rounding",
                            tr.t("Rounding"),
                            Kind::Choice(vec![
                                ("down", tr.t("Down (57.4 → 57)")),
                                ("nearest", tr.t("To the nearest point")),
                                ("up", tr.t("Up")),
                            ]),
                        ),
                        h(
                            "earning.minimum_order",
                            tr.t("Minimum basket"),
                            Kind::Decimal,
                            tr.t("Smaller orders earn no points."),
                        ),
                        h(
                            "earning.exclude_skus",
                            tr.t("SKUs that never earn"),
                            Kind::List,
                            tr.t("Gift cards, shipping … separated by commas."),
                        ),
                        f("earning.exclude_categories", tr.t("Categories that never earn"), Kind::List),
                        h("earning.max_points_per_order", tr.t("Most points per order"), Kind::Int, yes_no_help),
                        h(
                            "earning.max_points_per_day",
                            tr.t("Most points per customer and day"),
                            Kind::Int,
                            yes_no_help,
                        ),
                    ],
                },
                Group {
                    legend: tr.t("Pending and expiry"),
                    fields: vec![
                        h(
                            "pending_days",
                            tr.t("Days points stay pending"),
                            Kind::Int,
                            tr.t("The return window: pending points cannot be spent yet."),
                        ),
                        f("expiry", tr.t("Points expire"), Kind::Expiry),
                    ],
                },
                Group {
                    legend: tr.t("Referrals, birthdays and joining"),
                    fields: vec![
                        f("referrals.referrer_points", tr.t("Points for the referrer"), Kind::Int),
                        f("referrals.referee_points", tr.t("Points for the new customer"), Kind::Int),
                        f("referrals.minimum_order", tr.t("First order of at least"), Kind::Decimal),
                        f("referrals.max_per_referrer", tr.t("Most rewarded referrals per referrer"), Kind::Int),
                        f("birthday.points", tr.t("Birthday points"), Kind::Int),
                        f("birthday.reward", tr.t("Birthday reward"), Kind::RewardId),
                        f(
                            "birthday.period",
                            tr.t("Birthday perk given"),
                            Kind::Choice(vec![("month", tr.t("In the birthday month")), ("day", tr.t("On the day"))]),
                        ),
                        f("join.points", tr.t("Points for joining"), Kind::Int),
                        f("join.reward", tr.t("Reward for joining"), Kind::RewardId),
                    ],
                },
            ],
            list: None,
            entry: vec![],
        },
        Section {
            tab: "rules",
            title: tr.t("Rules"),
            settings: vec![],
            list: Some("rules"),
            entry: vec![
                Group {
                    legend: tr.t("Rule"),
                    fields: vec![
                        f("name", tr.t("Name"), Kind::Text),
                        h(
                            "multiplier",
                            tr.t("Multiplier"),
                            Kind::Decimal,
                            tr.t("2 doubles the points of the matching lines."),
                        ),
                        f("points_per_item", tr.t("Points per item"), Kind::Int),
                        f("bonus", tr.t("Bonus points per order"), Kind::Int),
                        f("stop", tr.t("Skip the later rules when this one applies"), Kind::Bool),
                    ],
                },
                when(tr),
            ],
        },
        Section {
            tab: "promotions",
            title: tr.t("Promotions"),
            settings: vec![],
            list: Some("promotions"),
            entry: vec![
                Group {
                    legend: tr.t("About the promotion"),
                    fields: [
                        vec![
                            h("id", tr.t("Id"), Kind::Text, tr.t("Short and stable: reports use it.")),
                            f("name", tr.t("Name"), Kind::Text),
                        ],
                        names(tr).into(),
                        vec![
                            f("multiplier", tr.t("Multiplier"), Kind::Decimal),
                            f("bonus", tr.t("Bonus points per order"), Kind::Int),
                            h(
                                "budget_points",
                                tr.t("Budget (points)"),
                                Kind::Int,
                                tr.t("Most points it gives in all."),
                            ),
                            h("tiers", tr.t("Only for these tiers"), Kind::TierIds, tr.t("None ticked: everyone.")),
                            h(
                                "segment",
                                tr.t("Only for the members of the segment"),
                                Kind::Segment,
                                tr.t("As of the close of the day before the order; empty: everyone."),
                            ),
                        ],
                    ]
                    .into_iter()
                    .flatten()
                    .collect(),
                },
                Group {
                    legend: tr.t("When it runs"),
                    fields: vec![
                        h(
                            "starts",
                            tr.t("Starts"),
                            Kind::Text,
                            tr.t("Local time such as 2026-11-27 18:00; optional for a weekly promotion."),
                        ),
                        h("ends", tr.t("Ends (not included)"), Kind::Text, tr.t("Optional for a weekly promotion.")),
                        h(
                            "repeat.weekdays",
                            tr.t("Every week on"),
                            Kind::Several(vec![
                                ("mon", tr.t("Mon").to_string()),
                                ("tue", tr.t("Tue").to_string()),
                                ("wed", tr.t("Wed").to_string()),
                                ("thu", tr.t("Thu").to_string()),
                                ("fri", tr.t("Fri").to_string()),
                                ("sat", tr.t("Sat").to_string()),
                                ("sun", tr.t("Sun").to_string()),
                            ]),
                            tr.t("For a weekly promotion: tick its days and give its hours."),
                        ),
                        h("repeat.from", tr.t("From (HH:MM)"), Kind::Text, tr.t("Such as 14:00.")),
                        h(
                            "repeat.until",
                            tr.t("Until (HH:MM)"),
                            Kind::Text,
                            tr.t("Not included; 24:00 is midnight, an earlier time than From ends the next day."),
                        ),
                    ],
                },
                when(tr),
            ],
        },
        Section {
            tab: "stamp-cards",
            title: tr.t("Stamp cards"),
            settings: vec![],
            list: Some("stamp_cards"),
            entry: vec![Group {
                legend: tr.t("Stamp card"),
                fields: [
                    vec![f("id", tr.t("Id"), Kind::Text), f("name", tr.t("Name"), Kind::Text)],
                    names(tr).into(),
                    vec![
                        h(
                            "stamps",
                            tr.t("Stamps to complete it"),
                            Kind::Int,
                            tr.t("2 to 100; one stamp per visit day."),
                        ),
                        f("minimum_spend", tr.t("Least spend for a stamp"), Kind::Decimal),
                        h(
                            "categories",
                            tr.t("Only these categories"),
                            Kind::List,
                            tr.t("Separated by commas; empty: any."),
                        ),
                        f("reward", tr.t("Reward when complete"), Kind::RewardId),
                    ],
                ]
                .into_iter()
                .flatten()
                .collect(),
            }],
        },
        Section {
            tab: "tiers",
            title: tr.t("Tiers"),
            settings: vec![Group {
                legend: tr.t("How customers move between tiers"),
                fields: vec![
                    f(
                        "tiers.basis",
                        tr.t("Counted on"),
                        Kind::Choice(vec![("spend", tr.t("Spend")), ("points", tr.t("Points earned"))]),
                    ),
                    f("tiers.window", tr.t("Counted over"), Kind::Window),
                    h(
                        "tiers.grace_days",
                        tr.t("Grace days before moving down"),
                        Kind::Int,
                        tr.t("A customer below their tier keeps it this long."),
                    ),
                ],
            }],
            list: Some("tiers.levels"),
            entry: vec![Group {
                legend: tr.t("Tier"),
                fields: [
                    vec![f("id", tr.t("Id"), Kind::Text), f("name", tr.t("Name"), Kind::Text)],
                    names(tr).into(),
                    vec![
                        h(
                            "threshold",
                            tr.t("Reached at"),
                            Kind::Decimal,
                            tr.t("Spend or points in the window; the first tier starts at 0."),
                        ),
                        f("multiplier", tr.t("Multiplier"), Kind::Decimal),
                        h("perks", tr.t("Perks"), Kind::List, tr.t("Separated by commas.")),
                    ],
                ]
                .into_iter()
                .flatten()
                .collect(),
            }],
        },
        Section {
            tab: "rewards",
            title: tr.t("Rewards"),
            settings: vec![],
            list: Some("rewards"),
            entry: vec![Group {
                legend: tr.t("Reward"),
                fields: [
                    vec![f("id", tr.t("Id"), Kind::Text), f("name", tr.t("Name"), Kind::Text)],
                    names(tr).into(),
                    vec![
                        h(
                            "cost",
                            tr.t("Cost in points"),
                            Kind::Int,
                            tr.t("0: only given by stamp cards, birthdays and joining."),
                        ),
                        f(
                            "kind",
                            tr.t("Gives"),
                            Kind::Choice(vec![
                                ("discount", tr.t("An amount off")),
                                ("percent_off", tr.t("A percentage off")),
                                ("free_item", tr.t("A free item")),
                            ]),
                        ),
                        h("value", tr.t("Amount or percentage off"), Kind::Decimal, tr.t("Not for a free item.")),
                        h("sku", tr.t("SKU of the free item"), Kind::Text, tr.t("Only for a free item.")),
                        h("valid_days", tr.t("Days the coupon is valid"), Kind::Int, tr.t("Empty: 90.")),
                        h("max_uses", tr.t("Uses per coupon"), Kind::Int, tr.t("Empty: 1.")),
                        h("per_customer_limit", tr.t("Most per customer"), Kind::Int, yes_no_help),
                        f("members_only", tr.t("Only for paid members"), Kind::Bool),
                        h(
                            "segment",
                            tr.t("Only for the members of the segment"),
                            Kind::Segment,
                            tr.t("On the day they redeem it; empty: everyone."),
                        ),
                    ],
                ]
                .into_iter()
                .flatten()
                .collect(),
            }],
        },
        Section {
            tab: "memberships",
            title: tr.t("Memberships"),
            settings: vec![],
            list: Some("memberships"),
            entry: vec![Group {
                legend: tr.t("Membership plan"),
                fields: [
                    vec![f("id", tr.t("Id"), Kind::Text), f("name", tr.t("Name"), Kind::Text)],
                    names(tr).into(),
                    vec![
                        f("fee", tr.t("Fee"), Kind::Decimal),
                        f(
                            "period",
                            tr.t("Paid"),
                            Kind::Choice(vec![("monthly", tr.t("Monthly")), ("annual", tr.t("Yearly"))]),
                        ),
                        f("multiplier", tr.t("Multiplier"), Kind::Decimal),
                        h("perks", tr.t("Perks"), Kind::List, tr.t("Separated by commas.")),
                    ],
                ]
                .into_iter()
                .flatten()
                .collect(),
            }],
        },
        Section {
            tab: "offers",
            title: tr.t("Personal offers"),
            settings: vec![],
            list: Some("offers"),
            entry: vec![Group {
                legend: tr.t("Personal offer"),
                fields: vec![
                    h("id", tr.t("Id"), Kind::Text, tr.t("Short and stable: reports use it.")),
                    f("name", tr.t("Name"), Kind::Text),
                    h(
                        "segment",
                        tr.t("For the members of the segment"),
                        Kind::Segment,
                        tr.t("As of the day it is issued."),
                    ),
                    h("reward", tr.t("A coupon for the reward"), Kind::RewardId, tr.t("A coupon or points, not both.")),
                    f("points", tr.t("Or bonus points"), Kind::Int),
                    h("valid_days", tr.t("Days it stays valid"), Kind::Int, tr.t("Empty: 30.")),
                    f(
                        "product",
                        tr.t("The coupon's product"),
                        Kind::Choice(vec![("most_bought", tr.t("What the customer bought most"))]),
                    ),
                    h(
                        "product_categories",
                        tr.t("Products of these categories only"),
                        Kind::List,
                        tr.t("Separated by commas; empty: any."),
                    ),
                ],
            }],
        },
    ]
}

/// The field at `path` among `groups`.
pub(crate) fn field_at<'a>(groups: &'a [Group], path: &str) -> Option<&'a Field> {
    groups.iter().flat_map(|g| &g.fields).find(|f| f.path == path)
}

// ------------------------------------------------------------------ reading the document

/// The value at a dot-separated path.
pub(crate) fn get<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, k| v.get(k)).filter(|v| !v.is_null())
}

/// Sets (or with `None` removes) the value at a dot-separated path, making objects on the
/// way; objects the removal leaves empty are removed too.
pub(crate) fn set(v: &mut Value, path: &str, value: Option<Value>) {
    let (head, rest) = match path.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (path, None),
    };
    if !v.is_object() {
        if value.is_none() {
            return;
        }
        *v = Value::Object(Map::new());
    }
    let Some(map) = v.as_object_mut() else { return };
    match rest {
        None => match value {
            Some(x) => {
                map.insert(head.to_string(), x);
            }
            None => {
                map.remove(head);
            }
        },
        Some(rest) => {
            if value.is_none() && !map.contains_key(head) {
                return;
            }
            let child = map.entry(head.to_string()).or_insert(Value::Null);
            set(child, rest, value);
            if child.as_object().is_some_and(Map::is_empty) || child.is_null() {
                map.remove(head);
            }
        }
    }
}

/// A value as a form shows it: text as it is, numbers, lists joined with commas.
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(shown).collect::<Vec<_>>().join(", "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// What a form sends: every field as sent, in order.
pub(crate) type Sent = [(String, String)];

fn sent_one<'a>(sent: &'a Sent, name: &str) -> &'a str {
    sent.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.trim())
}

fn sent_all<'a>(sent: &'a Sent, name: &str) -> Vec<&'a str> {
    sent.iter().filter(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty()).collect()
}

/// Why a form's field cannot be read: its path and the message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct FieldError {
    /// The field's path.
    pub path: String,
    /// Why (an engine message, translated when shown).
    pub message: String,
    /// Whether the error is in another part of the document than the form's (its path is
    /// then the document's path).
    pub elsewhere: bool,
}

/// A whole number as typed: thousands separators and full-width digits are fine.
fn whole(path: &str, text: &str) -> Result<Value, FieldError> {
    let plain: String = text
        .chars()
        .filter(|c| !matches!(c, ',' | '，' | '_' | ' '))
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            '－' => '-',
            other => other,
        })
        .collect();
    plain.parse::<i64>().map(Value::from).map_err(|_| FieldError {
        path: path.to_string(),
        message: format!("'{text}' is not a whole number"),
        elsewhere: false,
    })
}

/// A decimal as typed, written as a string (full-width digits are read).
fn decimal(text: &str) -> Value {
    Value::String(
        text.chars()
            .filter(|c| !matches!(c, ',' | '，' | ' '))
            .map(|c| match c {
                '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
                '．' => '.',
                other => other,
            })
            .collect(),
    )
}

/// Reads the posted `sent` into `entry` for every field of `groups`: a field left empty is
/// removed (its default applies), objects left empty disappear, other fields stay.
pub(crate) fn read_into(entry: &mut Value, groups: &[Group], sent: &Sent) -> Result<(), FieldError> {
    for field in groups.iter().flat_map(|g| &g.fields) {
        let path = field.path;
        let one = sent_one(sent, path);
        let value = match &field.kind {
            Kind::Text | Kind::Choice(_) | Kind::RewardId | Kind::Segment => {
                (!one.is_empty()).then(|| Value::from(one))
            }
            Kind::Decimal => (!one.is_empty()).then(|| decimal(one)),
            Kind::Int => (!one.is_empty()).then(|| whole(path, one)).transpose()?,
            Kind::List => {
                let items: Vec<Value> = one
                    .split([',', '、', '，', '\n'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(Value::from)
                    .collect();
                (!items.is_empty()).then_some(Value::Array(items))
            }
            Kind::Bool => (!one.is_empty()).then_some(Value::Bool(true)),
            Kind::Several(_) | Kind::TierIds => {
                let items = sent_all(sent, path);
                (!items.is_empty()).then(|| Value::Array(items.into_iter().map(Value::from).collect()))
            }
            Kind::Window => match one {
                "calendar_year" => Some(Value::from("calendar_year")),
                "" => None,
                _ => {
                    let days = sent_one(sent, &format!("{path}.days"));
                    let days =
                        if days.is_empty() { Value::Null } else { whole(&format!("{path}.rolling_days"), days)? };
                    Some(serde_json::json!({ "rolling_days": days }))
                }
            },
            Kind::Expiry => match one {
                "" => None,
                "months_after_earning" => {
                    let months = sent_one(sent, &format!("{path}.months"));
                    let months =
                        if months.is_empty() { Value::Null } else { whole(&format!("{path}.months"), months)? };
                    Some(serde_json::json!({ "policy": one, "months": months }))
                }
                policy => Some(serde_json::json!({ "policy": policy })),
            },
        };
        set(entry, path, value);
    }
    Ok(())
}

// ------------------------------------------------------------------ drawing a form

/// What fills a form: the entry as stored, or what was sent (after a refusal).
pub(crate) enum Filled<'a> {
    /// The entry (or the document) as it is.
    Stored(&'a Value),
    /// What the visitor typed.
    Sent(&'a Sent),
}

/// The document's tier ids and reward ids (for the inputs that pick them).
pub(crate) struct Choices {
    /// Tier ids and names.
    pub tiers: Vec<(String, String)>,
    /// Reward ids and names.
    pub rewards: Vec<(String, String)>,
    /// The saved segments' names.
    pub segments: Vec<String>,
}

/// The fields of `groups`, filled, with `error` next to its field (or above them all).
pub(crate) fn draw(
    tr: Tr,
    groups: &[Group],
    filled: &Filled<'_>,
    choices: &Choices,
    error: Option<&FieldError>,
) -> Markup {
    let known = |p: &str| groups.iter().flat_map(|g| &g.fields).any(|f| f.path == p);
    let loose = error.filter(|e| e.elsewhere || !known(&e.path));
    let error = error.filter(|e| !e.elsewhere);
    html! {
        @if let Some(e) = loose {
            p class="error" role="alert" id="form-error" {
                strong { (tr.t("Not saved.")) } " "
                @if !e.path.is_empty() { code { (e.path) } ": " }
                (tr.message(&e.message))
            }
        }
        @for g in groups {
            fieldset class="group" {
                legend { (g.legend) }
                @for field in &g.fields {
                    (draw_field(tr, field, filled, choices, error.filter(|e| e.path == field.path)))
                }
            }
        }
    }
}

fn draw_field(tr: Tr, field: &Field, filled: &Filled<'_>, choices: &Choices, error: Option<&FieldError>) -> Markup {
    let path = field.path;
    let one = |name: &str| -> String {
        match filled {
            Filled::Stored(v) => get(v, name).map(shown).unwrap_or_default(),
            Filled::Sent(s) => sent_one(s, name).to_string(),
        }
    };
    let several = |name: &str| -> Vec<String> {
        match filled {
            Filled::Stored(v) => match get(v, name) {
                Some(Value::Array(a)) => a.iter().map(shown).collect(),
                _ => vec![],
            },
            Filled::Sent(s) => sent_all(s, name).into_iter().map(str::to_string).collect(),
        }
    };
    let id = format!("f-{}", path.replace('.', "-"));
    let bad = error.is_some();
    let error_id = format!("{id}-error");
    let boxes = |options: Vec<(String, String)>| {
        let ticked = several(path);
        html! {
            @for (value, label) in options {
                label { input type="checkbox" name=(path) value=(value) checked[ticked.contains(&value)]; " " (label) }
            }
        }
    };
    html! {
        div class="field" data-path=(path) {
            @match &field.kind {
                Kind::Bool => {
                    label { input type="checkbox" id=(id) name=(path) value="1" checked[!one(path).is_empty() && one(path) != "false"]; " " (field.label) }
                }
                Kind::Several(options) => {
                    span class="label" { (field.label) } " "
                    (boxes(options.iter().map(|(v, l)| (v.to_string(), l.clone())).collect()))
                }
                Kind::TierIds => {
                    span class="label" { (field.label) } " "
                    @if choices.tiers.is_empty() { span class="muted" { (tr.t("No tiers yet.")) } }
                    (boxes(choices.tiers.iter().map(|(id, name)| (id.clone(), format!("{name} ({id})"))).collect()))
                }
                Kind::Choice(options) => {
                    label for=(id) { (field.label) } " "
                    select id=(id) name=(path) class=[bad.then_some("bad")] {
                        @let current = one(path);
                        option value="" { "–" }
                        @for (value, label) in options {
                            option value=(value) selected[current == *value] { (label) }
                        }
                    }
                }
                Kind::Segment => {
                    label for=(id) { (field.label) } " "
                    select id=(id) name=(path) class=[bad.then_some("bad")] {
                        @let current = one(path);
                        option value="" { "–" }
                        @for name in &choices.segments {
                            option value=(name) selected[current == *name] { (name) }
                        }
                        @if !current.is_empty() && !choices.segments.contains(&current) {
                            option value=(current) selected { (current) }
                        }
                    }
                }
                Kind::RewardId => {
                    label for=(id) { (field.label) } " "
                    select id=(id) name=(path) class=[bad.then_some("bad")] {
                        @let current = one(path);
                        option value="" { "–" }
                        @for (rid, name) in &choices.rewards {
                            option value=(rid) selected[current == *rid] { (name) " (" (rid) ")" }
                        }
                        @if !current.is_empty() && !choices.rewards.iter().any(|(r, _)| *r == current) {
                            option value=(current) selected { (current) }
                        }
                    }
                }
                Kind::Window => {
                    @let (kind, days) = window_of(filled, path);
                    label for=(id) { (field.label) } " "
                    select id=(id) name=(path) {
                        option value="rolling_days" selected[kind != "calendar_year"] { (tr.t("The last … days")) }
                        option value="calendar_year" selected[kind == "calendar_year"] { (tr.t("The calendar year")) }
                    }
                    " "
                    label { (tr.t("Number of days")) " " input type="text" inputmode="numeric" size="6" name={ (path) ".days" } value=(days) class=[bad.then_some("bad")]; }
                }
                Kind::Expiry => {
                    @let (policy, months) = expiry_of(filled, path);
                    label for=(id) { (field.label) } " "
                    select id=(id) name=(path) {
                        option value="never" selected[policy == "never" || policy.is_empty()] { (tr.t("Never")) }
                        option value="months_after_earning" selected[policy == "months_after_earning"] { (tr.t("Some months after they are earned")) }
                        option value="end_of_following_year" selected[policy == "end_of_following_year"] { (tr.t("At the end of the next year")) }
                    }
                    " "
                    label { (tr.t("Months")) " " input type="text" inputmode="numeric" size="4" name={ (path) ".months" } value=(months) class=[bad.then_some("bad")]; }
                }
                _ => {
                    label for=(id) { (field.label) } " "
                    input type="text" id=(id) name=(path) value=(one(path))
                        inputmode=[matches!(field.kind, Kind::Int).then_some("numeric")]
                        aria-invalid=[bad.then_some("true")] aria-describedby=[bad.then_some(error_id.as_str())]
                        class=[bad.then_some("bad")];
                }
            }
            @if let Some(help) = field.help { br; small class="muted" { (help) } }
            @if let Some(e) = error {
                br; span class="error" role="alert" id=(error_id) { (tr.message(&e.message)) }
            }
        }
    }
}

fn window_of(filled: &Filled<'_>, path: &str) -> (String, String) {
    match filled {
        Filled::Stored(v) => match get(v, path) {
            Some(Value::String(s)) => (s.clone(), String::new()),
            Some(w) => ("rolling_days".into(), w.get("rolling_days").map(shown).unwrap_or_default()),
            None => ("rolling_days".into(), "365".into()),
        },
        Filled::Sent(s) => (sent_one(s, path).to_string(), sent_one(s, &format!("{path}.days")).to_string()),
    }
}

fn expiry_of(filled: &Filled<'_>, path: &str) -> (String, String) {
    match filled {
        Filled::Stored(v) => (
            get(v, &format!("{path}.policy")).map(shown).unwrap_or_default(),
            get(v, &format!("{path}.months")).map(shown).unwrap_or_default(),
        ),
        Filled::Sent(s) => (sent_one(s, path).to_string(), sent_one(s, &format!("{path}.months")).to_string()),
    }
}

/// Where a programme error belongs in a form whose fields are at `prefix` in the document
/// (`promotions[2]`, or empty for the document itself): the field's path inside it, without
/// list positions (`repeat.weekdays[1]` is the weekdays field), or `None` when the error is
/// elsewhere in the document.
pub(crate) fn field_of_error(prefix: &str, path: &str) -> Option<String> {
    let inner = if prefix.is_empty() {
        path
    } else if path == prefix {
        ""
    } else {
        path.strip_prefix(prefix)?.strip_prefix('.')?
    };
    let mut out = String::new();
    for part in inner.split('.') {
        let name = part.split('[').next().unwrap_or(part);
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(name);
    }
    // The parts of the window and expiry inputs belong to them.
    for whole in ["tiers.window", "expiry"] {
        if out.starts_with(&format!("{whole}.")) {
            return Some(whole.to_string());
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use enishi_core::Language;
    use serde_json::json;

    fn sent(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn promotions() -> Section {
        sections(Tr(Language::En)).into_iter().find(|s| s.tab == "promotions").unwrap()
    }

    #[test]
    fn a_posted_promotion_becomes_its_document_entry_and_keeps_fields_the_form_lacks() {
        let mut entry = json!({"id": "old", "name": "Old", "later_field": "kept", "when": {"skus": ["X"]}});
        let form = sent(&[
            ("id", "quiet"),
            ("name", " Quiet afternoons "),
            ("names.ja", "静かな午後"),
            ("names.en", ""),
            ("multiplier", "2"),
            ("budget_points", "５０,０００"),
            ("repeat.weekdays", "tue"),
            ("repeat.weekdays", "wed"),
            ("repeat.from", "14:00"),
            ("repeat.until", "17:00"),
            ("when.skus", ""),
            ("when.categories", "coffee、 tea"),
            ("when.channels", "in_store"),
            ("segment", "vip"),
        ]);
        read_into(&mut entry, &promotions().entry, &form).unwrap();
        assert_eq!(
            entry,
            json!({"id": "quiet", "name": "Quiet afternoons", "names": {"ja": "静かな午後"}, "later_field": "kept", "segment": "vip",
                   "multiplier": "2", "budget_points": 50000,
                   "repeat": {"weekdays": ["tue", "wed"], "from": "14:00", "until": "17:00"},
                   "when": {"categories": ["coffee", "tea"], "channels": ["in_store"]}})
        );
        let bad = sent(&[("id", "q"), ("budget_points", "lots")]);
        let e = read_into(&mut entry, &promotions().entry, &bad).unwrap_err();
        assert_eq!(
            e,
            FieldError {
                path: "budget_points".into(),
                message: "'lots' is not a whole number".into(),
                elsewhere: false
            }
        );
    }

    #[test]
    fn empty_sections_disappear_and_special_inputs_read_back() {
        let mut doc = json!({"name": "x", "earning": {"points_per_unit": "1"}, "referrals": {"referrer_points": 5}});
        let earning = sections(Tr(Language::En)).into_iter().next().unwrap();
        let form = sent(&[
            ("name", "x"),
            ("earning.points_per_unit", "0.01"),
            ("expiry", "months_after_earning"),
            ("expiry.months", "12"),
            ("pending_days", "14"),
        ]);
        read_into(&mut doc, &earning.settings, &form).unwrap();
        assert_eq!(
            doc,
            json!({"name": "x", "earning": {"points_per_unit": "0.01"}, "pending_days": 14,
                   "expiry": {"policy": "months_after_earning", "months": 12}})
        );
        let tiers = sections(Tr(Language::En)).into_iter().find(|s| s.tab == "tiers").unwrap();
        let mut doc = json!({"tiers": {"levels": [{"id": "m"}]}});
        read_into(&mut doc, &tiers.settings, &sent(&[("tiers.basis", "spend"), ("tiers.window", "calendar_year")]))
            .unwrap();
        assert_eq!(doc, json!({"tiers": {"basis": "spend", "window": "calendar_year", "levels": [{"id": "m"}]}}));
        read_into(&mut doc, &tiers.settings, &sent(&[("tiers.window", "rolling_days"), ("tiers.window.days", "90")]))
            .unwrap();
        assert_eq!(doc["tiers"]["window"], json!({"rolling_days": 90}));
    }

    #[test]
    fn an_error_finds_its_field() {
        assert_eq!(
            field_of_error("promotions[2]", "promotions[2].repeat.weekdays[1]").as_deref(),
            Some("repeat.weekdays")
        );
        assert_eq!(field_of_error("promotions[2]", "promotions[2]").as_deref(), Some(""));
        assert_eq!(field_of_error("promotions[2]", "promotions[20].name"), None);
        assert_eq!(field_of_error("promotions[2]", "rules[0].name"), None);
        assert_eq!(field_of_error("", "earning.minimum_order").as_deref(), Some("earning.minimum_order"));
        assert_eq!(field_of_error("", "tiers.window.rolling_days").as_deref(), Some("tiers.window"));
        assert_eq!(field_of_error("", "expiry.months").as_deref(), Some("expiry"));
    }

    #[test]
    fn a_stored_entry_fills_its_form() {
        let entry = json!({"id": "bf", "name": "Black Friday", "when": {"channels": ["app", "in_store"]}, "bonus": 20});
        let choices = Choices { tiers: vec![], rewards: vec![], segments: vec![] };
        let html = draw(Tr(Language::En), &promotions().entry, &Filled::Stored(&entry), &choices, None).into_string();
        assert!(html.contains(r#"name="bonus" value="20""#), "{html}");
        assert!(html.contains(r#"name="when.channels" value="app" checked"#), "{html}");
        assert!(!html.contains(r#"name="when.channels" value="phone" checked"#), "{html}");
    }
}
