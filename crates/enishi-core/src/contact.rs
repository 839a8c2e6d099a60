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

/// A phone number, stored in E.164 where the country is known: a leading `+` and digits
/// (spaces, dashes, dots and parentheses are dropped, full-width digits read as digits); a
/// number in the Japanese national form (`090-1234-5678`, `03-1234-5678`: a trunk `0` and 10
/// or 11 digits) becomes `+819012345678`, and the trunk `0` some write after a country code
/// (`+81 (0)90 …`) is dropped. Other numbers without a `+` are kept as digits. 5 to 20 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    /// The normalised number.
    pub fn as_str(&self) -> &str {
        &self.0
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
        } else if out.starts_with('0')
            && !out.starts_with("00")
            && !out.starts_with("010")
            && (10..=11).contains(&out.len())
        {
            out = format!("+81{}", &out[1..]);
        }
        Ok(Phone(out))
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

    #[test]
    fn phones() {
        assert_eq!("+81 (3) 1234-5678".parse::<Phone>().unwrap().as_str(), "+81312345678");
        // Japanese numbers in the national form are stored in E.164.
        for typed in
            ["090-1234-5678", "+81 90 1234 5678", "+81-(0)90-1234-5678", "０９０－１２３４－５６７８", "090 1234 5678"]
        {
            assert_eq!(typed.parse::<Phone>().unwrap().as_str(), "+819012345678", "{typed}");
        }
        assert_eq!("03-1234-5678".parse::<Phone>().unwrap().as_str(), "+81312345678");
        // Numbers whose country is not known stay as typed; so do other countries'.
        assert_eq!("12345".parse::<Phone>().unwrap().as_str(), "12345");
        assert_eq!("+1 212 555 0100".parse::<Phone>().unwrap().as_str(), "+12125550100");
        assert_eq!("010-1-212-555-0100".parse::<Phone>().unwrap().as_str(), "01012125550100");
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
