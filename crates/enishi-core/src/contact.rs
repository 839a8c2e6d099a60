//! Contact details and identifiers: the shop's own ids, email addresses and phone numbers.

use crate::ParseError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Longest identifier accepted from outside.
pub const MAX_ID_LEN: usize = 128;

/// An identifier the shop gives a customer, order, product or account: non-empty, trimmed,
/// at most 128 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ExternalId(String);

impl ExternalId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ExternalId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.is_empty() {
            return Err(ParseError::new("an id is empty"));
        }
        if t.chars().count() > MAX_ID_LEN {
            return Err(ParseError::new(format!(
                "id '{}…' is longer than {MAX_ID_LEN} characters",
                t.chars().take(20).collect::<String>()
            )));
        }
        if t.chars().any(char::is_control) {
            return Err(ParseError::new(format!("id '{}' contains control characters", t.escape_debug())));
        }
        Ok(ExternalId(t.to_string()))
    }
}

impl TryFrom<String> for ExternalId {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<ExternalId> for String {
    fn from(v: ExternalId) -> String {
        v.0
    }
}

impl fmt::Display for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email address, trimmed and with its domain lower-cased. The check is deliberately
/// modest (one `@`, a dotted domain, no spaces): deliverability is proven by sending.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Email {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let bad = || ParseError::new(format!("'{s}' is not an email address"));
        let (local, domain) = t.split_once('@').ok_or_else(bad)?;
        let ok_local = !local.is_empty() && local.len() <= 64;
        let ok_domain = domain.len() >= 3
            && domain.len() <= 253
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..");
        let ok_chars =
            !t.chars().any(|c| c.is_whitespace() || c.is_control() || c == ',' || c == ';' || c == '<' || c == '>')
                && !domain.contains('@');
        if ok_local && ok_domain && ok_chars {
            Ok(Email(format!("{local}@{}", domain.to_lowercase())))
        } else {
            Err(bad())
        }
    }
}

impl TryFrom<String> for Email {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Email> for String {
    fn from(v: Email) -> String {
        v.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A phone number: a leading `+` and digits (spaces, dashes, dots and parentheses are dropped,
/// full-width digits read as digits), 5 to 20 digits; the trunk `0` some write after Japan's
/// country code (`+81 (0)90 …`) is dropped. A number without a `+` is kept as digits until
/// [`Phone::in_country`] reads it in the workspace's country: stored numbers are in E.164
/// wherever the country is known (`090-1234-5678` in Japan is `+819012345678`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    /// The normalised number.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number in E.164 when it is written in `country`'s national form (with its trunk
    /// `0`: `090-1234-5678` in Japan, `07700 900123` in the United Kingdom; ten digits in North
    /// America); as it is otherwise, or without a country.
    pub fn in_country(self, country: Option<PhoneCountry>) -> Phone {
        let Some(country) = country else { return self };
        let n = &self.0;
        if n.starts_with('+') {
            return self;
        }
        let national = if country.trunk {
            let japan_ok = country.code != "JP" || ((10..=11).contains(&n.len()) && !n.starts_with("010"));
            (n.starts_with('0') && !n.starts_with("00") && (9..=12).contains(&n.len()) && japan_ok).then(|| &n[1..])
        } else {
            // North America: ten digits, the area code not starting with 0 or 1, or the 1 before.
            match n.len() {
                10 if !n.starts_with(['0', '1']) => Some(n.as_str()),
                11 if n.starts_with('1') && !n[1..].starts_with(['0', '1']) => Some(&n[1..]),
                _ => None,
            }
        };
        match national {
            Some(rest) => Phone(format!("+{}{rest}", country.calling)),
            None => self,
        }
    }

    /// The number as people write it at home: a Japanese number (+81) in the national form
    /// with dashes (`090-1234-5678`, `03-1234-5678`, `0120-123-456`), any other as stored.
    pub fn national(&self) -> String {
        national_form(&self.0)
    }
}

/// A stored number (see [`Phone`]) in the national form when it is Japanese (`+81…`, or
/// digits in the national form as numbers were stored before E.164), as it is otherwise. Mobile, IP and 0800 numbers group as 3-4-4 (0800 as 4-3-4), free dial and
/// navi dial (0120, 0570) as 4-3-3, Tokyo and Osaka (03, 06) as 2-4-4, other 10-digit numbers
/// as 3-3-4 (the most common length of area code).
pub fn national_form(stored: &str) -> String {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let n = match stored.strip_prefix("+81") {
        Some(rest) if digits(rest) => format!("0{rest}"),
        None if digits(stored) && stored.starts_with('0') && !stored.starts_with("00") => stored.to_string(),
        _ => return stored.to_string(),
    };
    let group = |sizes: &[usize]| {
        let mut parts = Vec::new();
        let mut at = 0;
        for size in sizes {
            parts.push(&n[at..at + size]);
            at += size;
        }
        parts.join("-")
    };
    match n.len() {
        11 if n.starts_with("0800") => group(&[4, 3, 4]),
        11 if ["020", "050", "060", "070", "080", "090"].iter().any(|p| n.starts_with(p)) => group(&[3, 4, 4]),
        10 if n.starts_with("0120") || n.starts_with("0570") => group(&[4, 3, 3]),
        10 if n.starts_with("03") || n.starts_with("06") => group(&[2, 4, 4]),
        10 => group(&[3, 3, 4]),
        _ => n,
    }
}

impl FromStr for Phone {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let mut out = String::with_capacity(t.len());
        for (i, c) in t.chars().enumerate() {
            // Full-width forms, as Japanese keyboards type them.
            let c = match c {
                '\u{FF10}'..='\u{FF19}' => char::from_u32(c as u32 - 0xFF10 + u32::from(b'0')).unwrap_or(c),
                '\u{FF0B}' => '+',
                '\u{FF0D}' | '\u{2010}' | '\u{2212}' | '\u{30FC}' | '\u{FF08}' | '\u{FF09}' | '\u{3000}' => ' ',
                c => c,
            };
            match c {
                '+' if i == 0 => out.push('+'),
                '0'..='9' => out.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(ParseError::new(format!("'{s}' is not a phone number"))),
            }
        }
        let digits = out.trim_start_matches('+').len();
        if !(5..=20).contains(&digits) {
            return Err(ParseError::new(format!("'{s}' is not a phone number (5 to 20 digits)")));
        }
        if let Some(national) = out.strip_prefix("+810") {
            out = format!("+81{national}");
        }
        Ok(Phone(out))
    }
}

/// The country whose national phone numbers a workspace reads, so that they are stored in
/// E.164 (see [`Phone::in_country`]): Japan in a yen or Tokyo-time workspace, or the country set
/// with `enishi settings --phone-country`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneCountry {
    /// ISO 3166-1 alpha-2 code.
    code: &'static str,
    /// Country calling code.
    calling: &'static str,
    /// National numbers start with a trunk `0`, dropped after the country code.
    trunk: bool,
}

/// The countries whose national numbering Enishi reads.
const PHONE_COUNTRIES: &[PhoneCountry] = &[
    PhoneCountry { code: "JP", calling: "81", trunk: true },
    PhoneCountry { code: "KR", calling: "82", trunk: true },
    PhoneCountry { code: "TW", calling: "886", trunk: true },
    PhoneCountry { code: "CN", calling: "86", trunk: true },
    PhoneCountry { code: "GB", calling: "44", trunk: true },
    PhoneCountry { code: "IE", calling: "353", trunk: true },
    PhoneCountry { code: "FR", calling: "33", trunk: true },
    PhoneCountry { code: "DE", calling: "49", trunk: true },
    PhoneCountry { code: "NL", calling: "31", trunk: true },
    PhoneCountry { code: "BE", calling: "32", trunk: true },
    PhoneCountry { code: "CH", calling: "41", trunk: true },
    PhoneCountry { code: "AT", calling: "43", trunk: true },
    PhoneCountry { code: "AU", calling: "61", trunk: true },
    PhoneCountry { code: "NZ", calling: "64", trunk: true },
    PhoneCountry { code: "US", calling: "1", trunk: false },
    PhoneCountry { code: "CA", calling: "1", trunk: false },
];

impl PhoneCountry {
    /// Japan.
    pub const JAPAN: PhoneCountry = PHONE_COUNTRIES[0];

    /// Its ISO 3166-1 alpha-2 code.
    pub fn code(self) -> &'static str {
        self.code
    }

    /// Every country whose national numbering Enishi reads.
    pub fn all() -> impl Iterator<Item = PhoneCountry> {
        PHONE_COUNTRIES.iter().copied()
    }
}

impl FromStr for PhoneCountry {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let code = s.trim().to_ascii_uppercase();
        PHONE_COUNTRIES.iter().find(|c| c.code == code).copied().ok_or_else(|| {
            let known: Vec<&str> = PHONE_COUNTRIES.iter().map(|c| c.code).collect();
            ParseError::new(format!("'{s}' is not a country whose phone numbers Enishi reads ({})", known.join(", ")))
        })
    }
}

impl TryFrom<String> for Phone {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Phone> for String {
    fn from(v: Phone) -> String {
        v.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn emails() {
        assert_eq!("  Hana@Example.COM ".parse::<Email>().unwrap().as_str(), "Hana@example.com");
        for bad in ["", "a", "a@b", "a@@b.com", "a b@c.com", "a@.com", "a@com.", "@x.com"] {
            assert!(bad.parse::<Email>().is_err(), "{bad}");
        }
    }

    /// `typed` read in `country` (an ISO code, or "" for none).
    fn read(typed: &str, country: &str) -> String {
        let country = (!country.is_empty()).then(|| country.parse::<PhoneCountry>().unwrap());
        typed.parse::<Phone>().unwrap().in_country(country).as_str().to_string()
    }

    #[test]
    fn phones() {
        assert_eq!(read("+81 (3) 1234-5678", ""), "+81312345678");
        // Japanese numbers in the national form are stored in E.164 in Japan.
        for typed in
            ["090-1234-5678", "+81 90 1234 5678", "+81-(0)90-1234-5678", "０９０－１２３４－５６７８", "090 1234 5678"]
        {
            assert_eq!(read(typed, "JP"), "+819012345678", "{typed}");
        }
        assert_eq!(read("03-1234-5678", "jp"), "+81312345678");
        // Numbers whose country is not known stay as typed; so do other countries'.
        assert_eq!(read("12345", "JP"), "12345");
        assert_eq!(read("+1 212 555 0100", "JP"), "+12125550100");
        assert_eq!(read("010-1-212-555-0100", "JP"), "01012125550100");
        // Elsewhere a national number is never taken for a Japanese one.
        assert_eq!(read("07700 900123", ""), "07700900123");
        assert_eq!(read("07700 900123", "GB"), "+447700900123");
        assert_eq!(read("06 12 34 56 78", "FR"), "+33612345678");
        assert_eq!(read("090-1234-5678", "GB"), "+449012345678");
        assert_eq!(read("(212) 555-0100", "US"), "+12125550100");
        assert_eq!(read("1 212 555 0100", "CA"), "+12125550100");
        assert_eq!(read("0212 555 0100", "US"), "02125550100");
        assert!("XX".parse::<PhoneCountry>().unwrap_err().0.contains("JP, KR"));
        assert!("12".parse::<Phone>().is_err());
        assert!("call me".parse::<Phone>().is_err());
    }

    #[test]
    fn japanese_numbers_show_in_the_national_form() {
        let national = |s: &str| s.parse::<Phone>().unwrap().national();
        assert_eq!(national("+819012345678"), "090-1234-5678");
        assert_eq!(national("090-1234-5678"), "090-1234-5678");
        assert_eq!(national("+81312345678"), "03-1234-5678");
        assert_eq!(national("0451234567"), "045-123-4567");
        assert_eq!(national("0120-123-456"), "0120-123-456");
        assert_eq!(national("0800-123-4567"), "0800-123-4567");
        assert_eq!(national("050-1234-5678"), "050-1234-5678");
        assert_eq!(national("+12125550100"), "+12125550100");
        assert_eq!(national_form("12345"), "12345");
        assert_eq!(national_form("+81123"), "0123");
        assert_eq!(national_form("09012345678"), "090-1234-5678");
        assert_eq!(national_form("0012345"), "0012345");
    }

    #[test]
    fn ids() {
        assert_eq!(" C-1 ".parse::<ExternalId>().unwrap().as_str(), "C-1");
        assert!("  ".parse::<ExternalId>().is_err());
        assert!("a\u{7}b".parse::<ExternalId>().is_err());
    }

    proptest! {
        #[test]
        fn email_parse_is_idempotent(local in "[a-zA-Z0-9._+-]{1,20}", domain in "[a-z0-9-]{1,20}\\.[a-z]{2,6}") {
            let e: Email = format!("{local}@{domain}").parse().unwrap();
            let again: Email = e.as_str().parse().unwrap();
            prop_assert_eq!(e, again);
        }

        #[test]
        fn phone_never_panics(s in ".{0,30}") {
            let _ = s.parse::<Phone>();
        }

        #[test]
        fn id_never_panics(s in ".{0,200}") {
            let _ = s.parse::<ExternalId>();
        }
    }
}
