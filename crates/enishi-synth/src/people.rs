//! Generated customer profiles: names, contact details, consent, channels, referrals.

use chrono::{Duration, NaiveDateTime};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::io::Write;

/// Header of customers.csv.
pub const HEADER: &str = "external_id,name,email,phone,address_line1,city,region,postal_code,country,birthday,locale,\
channels,tags,acquisition_source,referred_by,first_seen_at,account_id,account_name,account_industry,account_region,\
account_size,email_consent,email_consent_at,postal_consent";

const JA_FAMILY: &[&str] =
    &["Sato", "Suzuki", "Takahashi", "Tanaka", "Ito", "Watanabe", "Yamamoto", "Nakamura", "Kobayashi", "Kato"];
const JA_GIVEN: &[&str] =
    &["Hana", "Yui", "Aoi", "Sakura", "Ren", "Haruto", "Sota", "Yuto", "Mei", "Riko", "Kenta", "Daiki"];
const EN_FAMILY: &[&str] =
    &["Smith", "Johnson", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Clarke", "Walker", "Wright"];
const EN_GIVEN: &[&str] =
    &["Emma", "Olivia", "Noah", "Liam", "Ava", "Mia", "Lucas", "Ethan", "Grace", "Chloe", "Jack", "Ruby"];
const JA_CITIES: &[(&str, &str, &str)] = &[
    ("Shibuya", "Tokyo", "150-0002"),
    ("Kita", "Osaka", "530-0001"),
    ("Naka", "Yokohama", "231-0001"),
    ("Chuo", "Sapporo", "060-0001"),
];
const EN_CITIES: &[(&str, &str, &str)] =
    &[("Portland", "OR", "97205"), ("Austin", "TX", "78701"), ("Seattle", "WA", "98101"), ("Boston", "MA", "02108")];
const SOURCES: &[&str] = &["walk_in", "search", "instagram", "newsletter", "marketplace"];
const INDUSTRIES: &[&str] = &["restaurant", "office", "hotel", "retail", "education"];
const CHANNELS: &[&str] = &["in_store", "ecommerce", "delivery", "phone"];

/// One generated customer.
pub struct Profile {
    /// The shop's id.
    pub external_id: String,
    n: u64,
    ja: bool,
    primary_channel: usize,
    morning_person: bool,
    fields: String,
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, v: &'a [T]) -> &'a T {
    &v[rng.gen_range(0..v.len())]
}

impl Profile {
    /// Customer number `n`, first seen at `first_seen`, a contact of `account` if any.
    pub fn new(rng: &mut ChaCha8Rng, n: u64, first_seen: NaiveDateTime, account: Option<u64>) -> Self {
        let ja = rng.gen::<f64>() < 0.5;
        let (given, family) =
            if ja { (pick(rng, JA_GIVEN), pick(rng, JA_FAMILY)) } else { (pick(rng, EN_GIVEN), pick(rng, EN_FAMILY)) };
        let (city, region, postal) = *pick(rng, if ja { JA_CITIES } else { EN_CITIES });
        let primary_channel = *pick(rng, &[0usize, 0, 0, 1, 1, 1, 2, 3]);
        let mut p = Profile {
            external_id: format!("C{n:07}"),
            n,
            ja,
            primary_channel,
            morning_person: rng.gen::<f64>() < 0.4,
            fields: String::new(),
        };
        let email = if rng.gen::<f64>() < 0.9 {
            format!("{}.{}{n}@example.com", given.to_lowercase(), family.to_lowercase())
        } else {
            String::new()
        };
        let phone = if rng.gen::<f64>() < 0.6 {
            if ja {
                format!("+81 90-{:04}-{:04}", rng.gen_range(0..10_000), n % 10_000)
            } else {
                format!("+1 503-555-{:04}", n % 10_000)
            }
        } else {
            String::new()
        };
        let birthday = if rng.gen::<f64>() < 0.7 {
            format!("{}-{:02}-{:02}", rng.gen_range(1950..2006), rng.gen_range(1..=12), rng.gen_range(1..=28))
        } else {
            String::new()
        };
        let referred = n > 20 && rng.gen::<f64>() < 0.08;
        let source = if referred { "referral" } else { pick(rng, SOURCES) };
        let referrer = if referred { format!("C{:07}", rng.gen_range(1..n)) } else { String::new() };
        let mut channels = vec![CHANNELS[primary_channel]];
        if rng.gen::<f64>() < 0.35 {
            let other = *pick(rng, CHANNELS);
            if other != channels[0] {
                channels.push(other);
            }
        }
        let tags = match rng.gen_range(0..10) {
            0 => "coffee_lover",
            1 => "tea_lover",
            2 => "gift_buyer",
            _ => "",
        };
        let consent_roll = rng.gen::<f64>();
        let email_consent = if email.is_empty() {
            ""
        } else if consent_roll < 0.72 {
            "opted_in"
        } else if consent_roll < 0.85 {
            "opted_out"
        } else {
            ""
        };
        let consent_at = if email_consent.is_empty() {
            String::new()
        } else {
            (first_seen + Duration::minutes(rng.gen_range(0..600))).format("%Y-%m-%d %H:%M:%S").to_string()
        };
        let postal_consent = if rng.gen::<f64>() < 0.4 { "opted_in" } else { "" };
        let (acc_id, acc_name, industry, acc_region, size) = match account {
            Some(a) => {
                let mut r = ChaCha8Rng::from_seed_for(a);
                (
                    format!("ACC-{a:05}"),
                    format!(
                        "{} {}",
                        pick(&mut r, if ja { JA_FAMILY } else { EN_FAMILY }),
                        pick(&mut r, &["Cafe", "Hotel", "Office", "Kitchen", "Books"])
                    ),
                    pick(&mut r, INDUSTRIES).to_string(),
                    region.to_string(),
                    pick(&mut r, &["1-10", "11-50", "51-200"]).to_string(),
                )
            }
            None => Default::default(),
        };
        p.fields = [
            p.external_id.clone(),
            format!("{given} {family}"),
            email,
            phone,
            format!("{}-{} {}", n % 9 + 1, n % 30 + 1, if ja { "Chome" } else { "Main St" }),
            city.to_string(),
            region.to_string(),
            postal.to_string(),
            if ja { "JP" } else { "US" }.to_string(),
            birthday,
            if ja { "ja" } else { "en" }.to_string(),
            channels.join(";"),
            tags.to_string(),
            source.to_string(),
            referrer,
            first_seen.format("%Y-%m-%d %H:%M:%S").to_string(),
            acc_id,
            acc_name,
            industry,
            acc_region,
            size,
            email_consent.to_string(),
            consent_at,
            postal_consent.to_string(),
        ]
        .join(",");
        p
    }

    /// Writes the customers.csv row.
    pub fn write_csv(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(out, "{}", self.fields)
    }

    /// A time of day for an order: opening hours, with a morning or an evening habit.
    pub fn time_of_day(&self, rng: &mut ChaCha8Rng) -> Duration {
        let hour = if self.morning_person { rng.gen_range(7..12) } else { rng.gen_range(11..21) };
        Duration::minutes(hour * 60 + rng.gen_range(0..60))
    }

    /// The channel of an order: mostly the customer's usual one.
    pub fn channel(&self, rng: &mut ChaCha8Rng) -> &'static str {
        if rng.gen::<f64>() < 0.8 {
            CHANNELS[self.primary_channel]
        } else {
            CHANNELS[(self.primary_channel + 1 + (self.n as usize + usize::from(self.ja)) % 3) % 4]
        }
    }
}

/// A deterministic generator per account, so that every contact of an account agrees on it.
trait SeedFor {
    fn from_seed_for(n: u64) -> Self;
}

impl SeedFor for ChaCha8Rng {
    fn from_seed_for(n: u64) -> Self {
        <ChaCha8Rng as rand::SeedableRng>::seed_from_u64(n ^ 0x5EED_0ACC)
    }
}
