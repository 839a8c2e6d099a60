//! Message templates: a subject, an HTML body and a text body written in the template language
//! (minijinja: `{{ customer.honorific }}`, `{% if points.expiring %}…{% endif %}`), rendered
//! in a sandbox — HTML escaping on in the HTML body, a fuel limit so that no template can loop
//! forever, and no access to anything but the merge fields listed in [`FIELDS`].
//!
//! A template is checked when it is saved: it must parse, and every field it uses must be one
//! of [`FIELDS`]; a typo fails then, not when a campaign sends it.

use crate::Error;
use enishi_core::{Amount, Currency};
use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Serialize;
use std::collections::BTreeSet;

/// The merge fields a template may use, with what each one is (docs/campaigns.md lists them
/// too). A field with parts is used as `customer.name`; lists are used in `{% for %}`.
pub const FIELDS: &[(&str, &str)] = &[
    ("customer.name", "the customer's name as stored"),
    ("customer.honorific", "the name as a letter addresses it: 佐藤 花子 様 in Japanese, the name in English"),
    ("customer.external_id", "the shop's own customer id"),
    ("customer.email", "the customer's email address"),
    ("points.balance", "the points balance"),
    ("points.available", "points that can be used now"),
    ("points.expiring", "points expiring within 60 days (0 when none)"),
    ("points.expiring_on", "the first day on which some of them expire, written in the template's language"),
    ("tier", "the tier's name, empty without one"),
    ("stamps", "stamp cards: each with name, stamps and of (stamps to complete it)"),
    ("recommended", "recommended products: each with sku, name, rating (the average stars of its approved reviews, such as 4.5; empty without any) and reviews (how many)"),
    ("coupon.code", "the code of a coupon issued for this message (when the campaign issues one)"),
    ("coupon.expires_on", "the last day the coupon can be used"),
    ("unsubscribe_url", "the customer's one-click unsubscribe page"),
    ("survey_url", "the customer's newest open survey invitation (empty without one)"),
    ("review_url", "the customer's newest review invitation not written yet (empty without one)"),
    ("promotion.name", "the bonus-points promotion the message is about: a promotion journey's own, else the first one running when the message goes out for the customer's tier (empty without one)"),
    ("promotion.multiplier", "what the promotion multiplies base points by, such as 2 (empty when it gives a fixed bonus only)"),
    ("promotion.bonus", "the fixed points the promotion adds per order (0 without)"),
    ("promotion.ends", "when the promotion (or a recurring one's current occurrence) ends, with the time, in the business time zone and the template's language (empty when it has no end)"),
    ("change.title", "the latest change the shop made after feedback the customer gave (empty without one)"),
    ("my_page_url", "the customer's own page: points, tier, stamps, coupons, contact preferences"),
    ("sender.name", "the person the message is from (\"Aya\")"),
    ("shop.name", "the shop's name"),
    ("campaign.name", "the campaign's name"),
];

/// The `money` filter and the language a template is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    /// Japanese wording: honorific 様, dates as 2026年12月3日.
    Japanese,
    /// English wording.
    #[default]
    English,
}

impl Language {
    /// The language of a locale tag (`ja`, `ja-JP` → Japanese; anything else English).
    pub fn of(locale: &str) -> Language {
        if locale.to_ascii_lowercase().starts_with("ja") {
            Language::Japanese
        } else {
            Language::English
        }
    }

    /// The text for this language, of one given in English and Japanese (the public pages'
    /// fixed wording).
    pub fn say(self, en: &'static str, ja: &'static str) -> &'static str {
        match self {
            Language::Japanese => ja,
            Language::English => en,
        }
    }

    /// The stored tag.
    pub fn tag(self) -> &'static str {
        match self {
            Language::Japanese => "ja",
            Language::English => "en",
        }
    }
}

/// A template's three parts, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parts {
    /// Subject line.
    pub subject: String,
    /// HTML body (escaped).
    pub html: String,
    /// Text body.
    pub text: String,
}

/// A coupon issued for one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CouponField {
    /// The code.
    pub code: String,
    /// The last day it can be used, written in the template's language.
    pub expires_on: String,
}

/// One stamp card on a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StampField {
    /// Card name.
    pub name: String,
    /// Stamps so far.
    pub stamps: i64,
    /// Stamps that complete it.
    pub of: i64,
}

/// One recommended product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductField {
    /// SKU.
    pub sku: String,
    /// Name (the SKU when the product has none).
    pub name: String,
    /// The average stars of its approved reviews to one decimal (`4.5`); empty without any.
    pub rating: String,
    /// How many approved reviews it has.
    pub reviews: i64,
}

/// Everything a template can say about one customer ([`FIELDS`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergeFields {
    /// `customer.*`.
    pub customer: CustomerField,
    /// `points.*`.
    pub points: PointsField,
    /// The tier's name.
    pub tier: String,
    /// Stamp cards.
    pub stamps: Vec<StampField>,
    /// Recommended products.
    pub recommended: Vec<ProductField>,
    /// The coupon issued for this message.
    pub coupon: Option<CouponField>,
    /// The unsubscribe page.
    pub unsubscribe_url: String,
    /// The newest open survey invitation's page (empty without one).
    pub survey_url: String,
    /// The newest review invitation's page (empty without one).
    pub review_url: String,
    /// `promotion.*`: the bonus-points promotion the message is about.
    pub promotion: PromotionField,
    /// `change.*`: the latest change made after the customer's feedback.
    pub change: ChangeField,
    /// The customer's own page.
    pub my_page_url: String,
    /// `sender.*`.
    pub sender: NameField,
    /// `shop.*`.
    pub shop: NameField,
    /// `campaign.*`.
    pub campaign: NameField,
}

/// `customer.*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerField {
    /// Name.
    pub name: String,
    /// Name as a letter addresses it.
    pub honorific: String,
    /// The shop's id.
    pub external_id: String,
    /// Email.
    pub email: String,
}

/// `points.*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct PointsField {
    /// Balance.
    pub balance: i64,
    /// Usable now.
    pub available: i64,
    /// Expiring within 60 days.
    pub expiring: i64,
    /// First expiry day, written out.
    pub expiring_on: String,
}

/// The bonus-points promotion a message is about (`promotion.*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct PromotionField {
    /// The promotion's name (empty without one).
    pub name: String,
    /// The multiplier of base points, as written (`2`, `1.5`); empty without one.
    pub multiplier: String,
    /// Fixed points per order (0 without).
    pub bonus: i64,
    /// Its end (a recurring promotion's current occurrence's), written with the time.
    pub ends: String,
}

/// A change the shop made (`change.title`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeField {
    /// What changed, in a line.
    pub title: String,
}

/// Something with a name (`sender.name`, `shop.name`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameField {
    /// The name.
    pub name: String,
}

/// The name as a letter in `language` addresses the customer: `佐藤 花子 様`; `お客様` without a
/// name. English uses the name (or "valued customer").
pub fn honorific(name: Option<&str>, language: Language) -> String {
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    match (language, name) {
        (Language::Japanese, Some(n)) => format!("{n} 様"),
        (Language::Japanese, None) => "お客様".to_string(),
        (Language::English, Some(n)) => n.to_string(),
        (Language::English, None) => "valued customer".to_string(),
    }
}

/// A date in a template's language: 2026年12月3日, or December 3, 2026.
pub fn written_date(date: chrono::NaiveDate, language: Language) -> String {
    match language {
        Language::Japanese => date.format("%Y年%-m月%-d日").to_string(),
        Language::English => date.format("%B %-d, %Y").to_string(),
    }
}

/// A local date and time as the template's language writes it: 2026年12月6日 18:00,
/// December 6, 2026, 18:00.
pub fn written_time(date: chrono::NaiveDate, time: chrono::NaiveTime, language: Language) -> String {
    let hm = time.format("%H:%M");
    match language {
        Language::Japanese => format!("{} {hm}", written_date(date, language)),
        Language::English => format!("{}, {hm}", written_date(date, language)),
    }
}

/// Steps of the template machine one message may take (a loop over a few hundred items is
/// fine; an endless one stops).
pub const FUEL: u64 = 100_000;

/// A checked template, ready to render many messages.
pub struct Compiled {
    env: Environment<'static>,
    /// The merge fields' first parts the template uses (`customer`, `coupon`, …).
    used: BTreeSet<String>,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Compiled template")
    }
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Subject (one line).
    pub subject: String,
    /// HTML body.
    pub html: String,
    /// Text body.
    pub text: String,
}

impl Compiled {
    /// Checks and compiles a template's parts: each must parse and use only [`FIELDS`]; the
    /// error names the part, the line and what is wrong.
    pub fn new(parts: &Parts, currency: Currency) -> Result<Compiled, Error> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        env.set_auto_escape_callback(|name| {
            if name == "html" {
                minijinja::AutoEscape::Html
            } else {
                minijinja::AutoEscape::None
            }
        });
        env.add_filter("money", move |v: Value| -> Result<String, minijinja::Error> {
            let amount = amount_of(&v).ok_or_else(|| {
                minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, format!("money: {v} is not an amount"))
            })?;
            Ok(currency.format(amount))
        });
        let known: BTreeSet<&str> = FIELDS.iter().map(|(f, _)| *f).collect();
        let roots: BTreeSet<&str> = FIELDS.iter().map(|(f, _)| f.split('.').next().unwrap_or(f)).collect();
        let mut used_roots = BTreeSet::new();
        for (part, source) in [("subject", &parts.subject), ("html", &parts.html), ("text", &parts.text)] {
            env.add_template_owned(part.to_string(), source.clone()).map_err(|e| template_error(part, &e))?;
            let t = env.get_template(part).map_err(|e| template_error(part, &e))?;
            for used in t.undeclared_variables(true) {
                let root = used.split('.').next().unwrap_or(&used);
                used_roots.insert(root.to_string());
                let ok = known.contains(used.as_str())
                    || (roots.contains(root) && !used.contains('.') && is_whole(root))
                    || BUILTINS.contains(&root);
                if !ok {
                    return Err(Error::Template(format!(
                        "the {part} uses '{used}', which is not a merge field (docs/campaigns.md lists them: {})",
                        known.iter().copied().collect::<Vec<_>>().join(", ")
                    )));
                }
            }
        }
        if parts.subject.contains('\n') {
            return Err(Error::Template("the subject must be one line".into()));
        }
        Ok(Compiled { env, used: used_roots })
    }

    /// Whether the template uses a merge field with this first part (`coupon`).
    pub fn uses(&self, root: &str) -> bool {
        self.used.contains(root)
    }

    /// Renders the three parts for one customer.
    pub fn render(&self, fields: &MergeFields) -> Result<Rendered, Error> {
        let ctx = Value::from_serialize(fields);
        let one = |part: &str| -> Result<String, Error> {
            self.env.get_template(part).and_then(|t| t.render(&ctx)).map_err(|e| template_error(part, &e))
        };
        let subject = one("subject")?.replace(['\r', '\n'], " ");
        Ok(Rendered { subject, html: one("html")?, text: one("text")? })
    }
}

/// The template language's own global functions.
const BUILTINS: &[&str] = &["range", "dict", "namespace", "loop"];

/// Fields used whole (`{{ tier }}`, `{% for s in stamps %}`), not by their parts.
fn is_whole(root: &str) -> bool {
    matches!(
        root,
        "tier" | "stamps" | "recommended" | "unsubscribe_url" | "survey_url" | "review_url" | "my_page_url" | "coupon"
    )
}

fn amount_of(v: &Value) -> Option<Amount> {
    if let Some(s) = v.as_str() {
        return s.trim().parse::<rust_decimal::Decimal>().ok().map(Amount::from_decimal);
    }
    i64::try_from(v.clone()).ok().map(|n| Amount::from_decimal(rust_decimal::Decimal::from(n)))
}

fn template_error(part: &str, e: &minijinja::Error) -> Error {
    let line = e.line().map(|l| format!(" line {l}")).unwrap_or_default();
    let detail = e.detail().map(|d| format!(": {d}")).unwrap_or_default();
    Error::Template(format!("the {part}{line}: {}{detail}", e.kind()))
}

/// Merge fields of an invented customer, to check and preview templates without one.
pub fn sample(language: Language) -> MergeFields {
    let (name, shop) = match language {
        Language::Japanese => ("佐藤 花子", "コーナーコーヒー"),
        Language::English => ("Hana Sato", "Corner Coffee"),
    };
    MergeFields {
        customer: CustomerField {
            name: name.into(),
            honorific: honorific(Some(name), language),
            external_id: "C-1".into(),
            email: "hana@example.com".into(),
        },
        points: PointsField {
            balance: 1_250,
            available: 1_250,
            expiring: 300,
            expiring_on: written_date(chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap_or_default(), language),
        },
        tier: "Gold".into(),
        stamps: vec![StampField { name: "Coffee card".into(), stamps: 9, of: 10 }],
        recommended: vec![ProductField {
            sku: "BEANS-1".into(),
            name: "House blend".into(),
            rating: "4.5".into(),
            reviews: 12,
        }],
        coupon: Some(CouponField {
            code: "WELCOME-1A2B".into(),
            expires_on: written_date(chrono::NaiveDate::from_ymd_opt(2027, 1, 31).unwrap_or_default(), language),
        }),
        unsubscribe_url: "https://shop.example/u/sample".into(),
        survey_url: "https://shop.example/s/sample".into(),
        review_url: "https://shop.example/r/sample".into(),
        promotion: PromotionField {
            name: match language {
                Language::Japanese => "週末ポイント2倍".into(),
                Language::English => "Double points weekend".into(),
            },
            multiplier: "2".into(),
            bonus: 0,
            ends: written_time(
                chrono::NaiveDate::from_ymd_opt(2026, 12, 6).unwrap_or_default(),
                chrono::NaiveTime::from_hms_opt(18, 0, 0).unwrap_or_default(),
                language,
            ),
        },
        change: ChangeField {
            title: match language {
                Language::Japanese => "配送が3日以内になりました".into(),
                Language::English => "Delivery now within 3 days".into(),
            },
        },
        my_page_url: "https://shop.example/me/sample".into(),
        sender: NameField { name: "Aya".into() },
        shop: NameField { name: shop.into() },
        campaign: NameField { name: "sample".into() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn parts(subject: &str, html: &str, text: &str) -> Parts {
        Parts { subject: subject.into(), html: html.into(), text: text.into() }
    }

    fn yen() -> Currency {
        Currency::from_str("JPY").unwrap()
    }

    #[test]
    fn renders_merge_fields_with_the_honorific_and_escapes_html_only() {
        let t = Compiled::new(
            &parts(
                "{{ customer.honorific }}、ポイントのお知らせ",
                "<p>{{ customer.honorific }}</p><p>{{ points.balance }} pt</p>{% for p in recommended %}<i>{{ p.name }}</i>{% endfor %}",
                "{{ customer.honorific }} {{ 1200 | money }} {{ \"12.5\" | money }}",
            ),
            yen(),
        )
        .unwrap();
        let mut f = sample(Language::Japanese);
        f.customer.honorific = honorific(Some("<b>佐藤 花子</b>"), Language::Japanese);
        let r = t.render(&f).unwrap();
        assert_eq!(r.subject, "<b>佐藤 花子</b> 様、ポイントのお知らせ");
        assert!(r.html.contains("&lt;b&gt;佐藤 花子&lt;&#x2f;b&gt; 様"), "{}", r.html);
        assert!(r.html.contains("<p>1250 pt</p><i>House blend</i>"), "{}", r.html);
        assert_eq!(r.text, "<b>佐藤 花子</b> 様 ¥1,200 ¥13");
    }

    #[test]
    fn an_unknown_field_or_a_syntax_error_fails_when_checked() {
        let e = Compiled::new(&parts("Hi {{ customer.nmae }}", "", ""), yen()).unwrap_err().to_string();
        assert!(e.contains("customer.nmae") && e.contains("subject"), "{e}");
        let e = Compiled::new(&parts("Hi", "{% if tier %}gold", ""), yen()).unwrap_err().to_string();
        assert!(e.contains("html line 1"), "{e}");
        let e = Compiled::new(&parts("Hi", "", "{{ secret }}"), yen()).unwrap_err().to_string();
        assert!(e.contains("'secret'"), "{e}");
        // A field that exists only in a branch not taken is still checked.
        let e = Compiled::new(&parts("Hi", "", "{% if false %}{{ points.nope }}{% endif %}"), yen()).unwrap_err();
        assert!(e.to_string().contains("points.nope"));
    }

    #[test]
    fn an_endless_template_runs_out_of_fuel() {
        let t = Compiled::new(
            &parts("x", "", "{% for a in range(100000) %}{% for b in range(100000) %}.{% endfor %}{% endfor %}"),
            yen(),
        )
        .unwrap();
        let e = t.render(&sample(Language::English)).unwrap_err().to_string();
        assert!(e.contains("fuel"), "{e}");
    }

    #[test]
    fn money_is_written_in_the_workspace_currency() {
        let t = Compiled::new(
            &parts("{{ 1200 | money }}", "", "{{ \"1200.5\" | money }}"),
            Currency::from_str("USD").unwrap(),
        )
        .unwrap();
        let r = t.render(&sample(Language::English)).unwrap();
        assert_eq!((r.subject.as_str(), r.text.as_str()), ("$1,200.00", "$1,200.50"));
        assert_eq!(honorific(None, Language::Japanese), "お客様");
        assert_eq!(
            written_date(chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(), Language::Japanese),
            "2026年12月3日"
        );
    }
}
