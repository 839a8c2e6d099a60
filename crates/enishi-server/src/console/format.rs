//! How the console writes dates, times, time zones, phone numbers and postal addresses for
//! its reader: in Japanese, dates as 2026年12月3日 and Japanese addresses in their own order
//! (〒150-0043 東京都渋谷区道玄坂1-2-3); phone numbers in the national form (090-1234-5678).

use crate::console::i18n::Tr;
use chrono::{DateTime, NaiveDate, Utc};
use enishi_core::{BusinessClock, Language};
use enishi_store::PostalAddress;

/// A date: `2026年12月3日` in Japanese, `2026-12-03` in English.
pub(crate) fn date(tr: Tr, d: NaiveDate) -> String {
    match tr.lang() {
        Language::Ja => d.format("%Y年%-m月%-d日").to_string(),
        Language::En => d.format("%Y-%m-%d").to_string(),
    }
}

/// The business day of an instant, as [`date`] writes it.
pub(crate) fn local_date(tr: Tr, clock: &BusinessClock, at: DateTime<Utc>) -> String {
    date(tr, clock.local_date(at))
}

/// An instant in the business time zone: `2026年12月3日 14:05` in Japanese, `2026-12-03
/// 14:05` in English.
pub(crate) fn local_time(tr: Tr, clock: &BusinessClock, at: DateTime<Utc>) -> String {
    let local = clock.local_datetime(at);
    format!("{} {}", date(tr, local.date()), local.format("%H:%M"))
}

/// The business time zone as people call it: "Japan time" (日本時間) for Asia/Tokyo, "UTC",
/// and the IANA name for the others.
pub(crate) fn zone_name(tr: Tr, clock: &BusinessClock) -> String {
    match clock.tz_name() {
        "Asia/Tokyo" | "Japan" => tr.t("Japan time").to_string(),
        "UTC" | "Etc/UTC" | "Etc/GMT" | "GMT" => tr.t("UTC").to_string(),
        other => other.to_string(),
    }
}

/// A stored phone number as people write it: a Japanese one in the national form.
pub(crate) fn phone(stored: &str) -> String {
    enishi_core::national_form(stored)
}

/// Whether an address is in Japan by its country (`JP`, `JPN`, `Japan`, `日本`).
fn japanese(a: &PostalAddress) -> bool {
    a.country.as_deref().is_some_and(|c| matches!(c.trim().to_lowercase().as_str(), "jp" | "jpn" | "japan" | "日本"))
}

/// A postal address on one line, or `None` when it has no part. A Japanese address — by its
/// country, or without a country for a reader of Japanese — goes from the postal code to the
/// building (〒150-0043 東京都渋谷区道玄坂1-2-3 道玄坂ビル4F), the country left out; any other
/// from the street to the country, separated by commas.
pub(crate) fn address(tr: Tr, a: &PostalAddress) -> Option<String> {
    fn part(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
    let parts = [&a.line1, &a.line2, &a.city, &a.region, &a.postal_code, &a.country];
    if parts.iter().all(|p| part(p).is_none()) {
        return None;
    }
    if japanese(a) || (a.country.is_none() && tr.lang() == Language::Ja) {
        let mut out = String::new();
        if let Some(code) = part(&a.postal_code) {
            let digits: String = code.chars().filter(char::is_ascii_digit).collect();
            let code = if digits.len() == 7 { format!("{}-{}", &digits[..3], &digits[3..]) } else { code.to_string() };
            out.push_str(&format!("〒{code} "));
        }
        for p in [&a.region, &a.city, &a.line1] {
            out.push_str(part(p).unwrap_or(""));
        }
        if let Some(building) = part(&a.line2) {
            out.push(' ');
            out.push_str(building);
        }
        return Some(out.trim().to_string());
    }
    Some(parts.iter().filter_map(|p| part(p)).collect::<Vec<_>>().join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shibuya(country: Option<&str>) -> PostalAddress {
        PostalAddress {
            line1: Some("道玄坂1-2-3".into()),
            line2: Some("道玄坂ビル4F".into()),
            city: Some("渋谷区".into()),
            region: Some("東京都".into()),
            postal_code: Some("1500043".into()),
            country: country.map(String::from),
        }
    }

    #[test]
    fn japanese_addresses_go_from_the_postal_code_to_the_building() {
        let (ja, en) = (Tr(Language::Ja), Tr(Language::En));
        let expected = "〒150-0043 東京都渋谷区道玄坂1-2-3 道玄坂ビル4F";
        assert_eq!(address(ja, &shibuya(Some("JP"))).as_deref(), Some(expected));
        assert_eq!(address(en, &shibuya(Some("Japan"))).as_deref(), Some(expected));
        assert_eq!(address(ja, &shibuya(None)).as_deref(), Some(expected));
        let hyphenated = PostalAddress { postal_code: Some("150-0043".into()), line2: None, ..shibuya(Some("日本")) };
        assert_eq!(address(en, &hyphenated).as_deref(), Some("〒150-0043 東京都渋谷区道玄坂1-2-3"));
        // Elsewhere, street first; without a country an English reader gets that order too.
        let us = PostalAddress {
            line1: Some("1 Main St".into()),
            line2: None,
            city: Some("Springfield".into()),
            region: Some("IL".into()),
            postal_code: Some("62701".into()),
            country: Some("US".into()),
        };
        assert_eq!(address(ja, &us).as_deref(), Some("1 Main St, Springfield, IL, 62701, US"));
        assert_eq!(address(en, &shibuya(None)).as_deref(), Some("道玄坂1-2-3, 道玄坂ビル4F, 渋谷区, 東京都, 1500043"));
        assert_eq!(address(ja, &PostalAddress::default()), None);
    }

    #[test]
    fn japanese_dates_are_written_with_year_month_and_day() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        assert_eq!(date(Tr(Language::Ja), d), "2026年12月3日");
        assert_eq!(date(Tr(Language::En), d), "2026-12-03");
        let tokyo = BusinessClock::new("Asia/Tokyo").unwrap();
        // 2026-12-02 20:05 UTC is the next day in Tokyo.
        let at = DateTime::parse_from_rfc3339("2026-12-02T20:05:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(local_time(Tr(Language::Ja), &tokyo, at), "2026年12月3日 05:05");
        assert_eq!(local_date(Tr(Language::En), &tokyo, at), "2026-12-03");
        assert_eq!(zone_name(Tr(Language::Ja), &tokyo), "日本時間");
        assert_eq!(zone_name(Tr(Language::En), &BusinessClock::new("Europe/Paris").unwrap()), "Europe/Paris");
    }

    #[test]
    fn phones_show_in_the_national_form() {
        assert_eq!(phone("+819012345678"), "090-1234-5678");
        assert_eq!(phone("+442071234567"), "+442071234567");
    }
}
