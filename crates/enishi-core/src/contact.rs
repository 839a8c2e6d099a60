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

/// A phone number, normalised to an optional leading `+` and digits (spaces, dashes, dots and
/// parentheses are dropped); 5 to 20 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    /// The normalised number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Phone {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let mut out = String::with_capacity(t.len());
        for (i, c) in t.chars().enumerate() {
            match c {
                '+' if i == 0 => out.push('+'),
                '0'..='9' => out.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(ParseError::new(format!("'{s}' is not a phone number"))),
            }
        }
        let digits = out.trim_start_matches('+').len();
        if (5..=20).contains(&digits) {
            Ok(Phone(out))
        } else {
            Err(ParseError::new(format!("'{s}' is not a phone number (5 to 20 digits)")))
        }
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
        assert!("12".parse::<Phone>().is_err());
        assert!("call me".parse::<Phone>().is_err());
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
