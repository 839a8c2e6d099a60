//! Money as people read and type it: `¥1,200`, `$1,200.50`, `1,200円`, `１２００`.
//!
//! [`Currency::format`] is the one way an amount is shown to a person (symbol, grouping,
//! the currency's minor units); [`Currency::parse_typed`] reads what a person types at a till.
//! Formatting and then parsing gives the amount back.

use crate::money::{Amount, Currency};
use crate::ParseError;
use rust_decimal::Decimal;
use std::fmt;
use std::str::FromStr;

/// The active ISO 4217 codes of money a shop can take (funds, precious metals and the testing
/// codes left out).
const ISO_4217: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD", "BIF",
    "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC",
    "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS",
    "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD",
    "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL",
    "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD",
    "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD",
    "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP",
    "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VES",
    "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
];

/// Symbols written before the amount; a currency not listed is written with its code.
const SYMBOLS: &[(&str, &str)] = &[
    ("JPY", "¥"),
    ("USD", "$"),
    ("EUR", "€"),
    ("GBP", "£"),
    ("KRW", "₩"),
    ("CNY", "CN¥"),
    ("TWD", "NT$"),
    ("HKD", "HK$"),
    ("AUD", "A$"),
    ("CAD", "CA$"),
    ("NZD", "NZ$"),
    ("SGD", "S$"),
    ("INR", "₹"),
    ("THB", "฿"),
    ("VND", "₫"),
    ("PHP", "₱"),
    ("ILS", "₪"),
    ("NGN", "₦"),
    ("UAH", "₴"),
    ("TRY", "₺"),
    ("RUB", "₽"),
];

/// Why a typed amount was refused. The till says it in the visitor's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypedAmountError {
    /// Nothing typed.
    Empty,
    /// Not a number as people write one (`12,50`, `abc`, `1.2.3`).
    NotAnAmount,
    /// Decimals in a currency without subunits (`1200.5` in yen).
    NoDecimals,
    /// More decimals than the currency has (`12.505` in dollars); the number it has.
    TooManyDecimals(u32),
    /// A symbol or code of another currency (`$12` in a yen shop); what was seen.
    OtherCurrency(String),
    /// Beyond [`Amount::LIMIT`].
    TooLarge,
}

impl fmt::Display for TypedAmountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypedAmountError::Empty => f.write_str("no amount"),
            TypedAmountError::NotAnAmount => f.write_str("not an amount"),
            TypedAmountError::NoDecimals => f.write_str("the currency has no decimals"),
            TypedAmountError::TooManyDecimals(n) => write!(f, "the currency has {n} decimals"),
            TypedAmountError::OtherCurrency(s) => write!(f, "'{s}' is another currency"),
            TypedAmountError::TooLarge => f.write_str("too large an amount"),
        }
    }
}

impl std::error::Error for TypedAmountError {}

/// `s` with full-width ASCII (`１２００`, `，`, `￥`), the ideographic space and the minus
/// sign turned into their plain forms.
fn half_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{FFE5}' => '¥',
            '\u{3000}' => ' ',
            '\u{2212}' => '-',
            _ => c,
        })
        .collect()
}

impl Currency {
    /// Whether this is the code of a currency in ISO 4217 (not `YEN`, not `XYZ`).
    pub fn is_iso4217(&self) -> bool {
        ISO_4217.contains(&self.as_str())
    }

    /// A currency from a code that ISO 4217 defines: what a workspace's settings accept.
    pub fn iso4217(code: &str) -> Result<Currency, ParseError> {
        let c = Currency::from_str(code)?;
        if c.is_iso4217() {
            Ok(c)
        } else {
            Err(ParseError::new(format!(
                "'{}' is not an ISO 4217 currency code (for example JPY, USD or EUR)",
                code.trim()
            )))
        }
    }

    /// The symbol written before an amount (`¥`, `$`, `€`), or `None` for a currency written
    /// with its code.
    pub fn symbol(&self) -> Option<&'static str> {
        SYMBOLS.iter().find(|(code, _)| *code == self.as_str()).map(|(_, s)| *s)
    }

    /// The amount as a person reads it: symbol (or code), thousands separated by commas, and
    /// exactly the currency's minor units, rounded half away from zero: `¥1,200`,
    /// `$1,200.50`, `-€3.00`, `CHF 12.00`.
    pub fn format(&self, amount: Amount) -> String {
        let units = self.minor_units();
        let d = amount.decimal().round_dp_with_strategy(units, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        let negative = d.is_sign_negative() && !d.is_zero();
        let mut digits = d.abs();
        digits.rescale(units);
        let text = digits.to_string();
        let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
        let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
        for (i, ch) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        let sign = if negative { "-" } else { "" };
        let number = if fraction.is_empty() { grouped } else { format!("{grouped}.{fraction}") };
        match self.symbol() {
            Some(s) => format!("{sign}{s}{number}"),
            None => format!("{sign}{} {number}", self.as_str()),
        }
    }

    /// [`Currency::format`] of a computed figure (a mean, a prediction); `—` when it is not a
    /// number.
    pub fn format_f64(&self, value: f64) -> String {
        match Decimal::try_from(value) {
            Ok(d) if value.is_finite() => self.format(Amount::from_decimal(d)),
            _ => "—".to_string(),
        }
    }

    /// An amount as a person types it at a till, in this currency: `1200`, `1,200`, `¥1,200`,
    /// `1,200円`, `JPY 1200`, full-width `１２００`, `$12.50`. Commas must group thousands
    /// (`12,50` is refused, not guessed); decimals beyond the currency's minor units are
    /// refused (a yen amount has none); a symbol of another currency is refused.
    pub fn parse_typed(&self, typed: &str) -> Result<Amount, TypedAmountError> {
        let text = half_width(typed);
        let mut t = text.trim();
        if t.is_empty() {
            return Err(TypedAmountError::Empty);
        }
        let mut negative = false;
        if let Some(rest) = t.strip_prefix('-') {
            negative = true;
            t = rest.trim_start();
        }
        t = self.strip_marks(t);
        if !negative {
            if let Some(rest) = t.strip_prefix('-') {
                negative = true;
                t = rest.trim_start();
            }
        }
        if t.is_empty() || !t.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
            return Err(self.refusal(t));
        }
        let (whole, fraction) = match t.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (t, None),
        };
        let groups: Vec<&str> = whole.split(',').collect();
        let grouped_well = groups.len() == 1
            || (!groups[0].is_empty()
                && groups[0].len() <= 3
                && groups[1..].iter().all(|g| g.len() == 3)
                && !groups[0].starts_with('0'));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if !grouped_well || !groups.iter().all(|g| all_digits(g)) {
            return Err(self.refusal(t));
        }
        if let Some(f) = fraction {
            if f.is_empty() || !all_digits(f) {
                return Err(self.refusal(t));
            }
            let units = self.minor_units();
            if units == 0 {
                return Err(TypedAmountError::NoDecimals);
            }
            if f.trim_end_matches('0').len() > units as usize {
                return Err(TypedAmountError::TooManyDecimals(units));
            }
        }
        let whole = if whole.is_empty() { "0".to_string() } else { groups.concat() };
        let plain = match fraction {
            Some(f) => format!("{whole}.{f}"),
            None => whole,
        };
        let d = Decimal::from_str(&plain).map_err(|_| TypedAmountError::TooLarge)?;
        let d = if negative { -d } else { d };
        let a = Amount::from_decimal(d);
        if !a.within_limit() {
            return Err(TypedAmountError::TooLarge);
        }
        Ok(a)
    }

    /// `t` without this currency's symbol or code before it, or its code (or `円` for the yen)
    /// after it.
    fn strip_marks<'a>(&self, t: &'a str) -> &'a str {
        let code = self.as_str();
        let mut prefixes: Vec<&str> = self.symbol().into_iter().collect();
        if self.symbol().is_some_and(|s| s.ends_with('$')) {
            prefixes.push("$");
        }
        let mut suffixes: Vec<&str> = Vec::new();
        if code == "JPY" {
            suffixes.push("円");
        }
        let mut t = t;
        for p in prefixes {
            if let Some(rest) = t.strip_prefix(p) {
                t = rest.trim_start();
                break;
            }
        }
        if t.len() >= 3 && t.is_char_boundary(3) && t[..3].eq_ignore_ascii_case(code) {
            t = t[3..].trim_start();
        }
        for s in suffixes {
            if let Some(rest) = t.strip_suffix(s) {
                t = rest.trim_end();
            }
        }
        let n = t.len();
        if n >= 3 && t.is_char_boundary(n - 3) && t[n - 3..].eq_ignore_ascii_case(code) {
            t = t[..n - 3].trim_end();
        }
        t
    }

    /// Why `rest` (what is left once this currency's marks are gone) is no amount: another
    /// currency's symbol or code when it has one, or not an amount at all.
    fn refusal(&self, rest: &str) -> TypedAmountError {
        let own = |s: &str| {
            Some(s) == self.symbol()
                || (s == "$" && self.symbol().is_some_and(|m| m.ends_with('$')))
                || (s == "円" && self.as_str() == "JPY")
        };
        let foreign = SYMBOLS
            .iter()
            .map(|(_, s)| *s)
            .chain(["$", "円", "元"])
            .find(|s| !own(s) && (rest.starts_with(s) || rest.ends_with(s)));
        let code = rest
            .split(|c: char| !c.is_ascii_alphabetic())
            .find(|w| w.len() == 3 && Currency::from_str(w).is_ok_and(|c| c.is_iso4217() && c != *self));
        match foreign.or(code) {
            Some(s) => TypedAmountError::OtherCurrency(s.to_string()),
            None => TypedAmountError::NotAnAmount,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cur(code: &str) -> Currency {
        code.parse().unwrap()
    }

    fn amount(s: &str) -> Amount {
        s.parse().unwrap()
    }

    #[test]
    fn amounts_are_written_in_the_currency() {
        let (jpy, usd, eur, chf) = (cur("JPY"), cur("USD"), cur("EUR"), cur("CHF"));
        assert_eq!(jpy.format(amount("1200")), "¥1,200");
        assert_eq!(jpy.format(amount("1234567.5")), "¥1,234,568", "yen has no decimals: rounded half up");
        assert_eq!(jpy.format(amount("0")), "¥0");
        assert_eq!(jpy.format(amount("-500")), "-¥500");
        assert_eq!(usd.format(amount("1200.5")), "$1,200.50");
        assert_eq!(usd.format(amount("999.995")), "$1,000.00");
        assert_eq!(usd.format(amount("-0.001")), "$0.00", "no minus on what rounds to zero");
        assert_eq!(eur.format(amount("3")), "€3.00");
        assert_eq!(chf.format(amount("1234.5")), "CHF 1,234.50");
        assert_eq!(cur("KWD").format(amount("1.5")), "KWD 1.500");
        assert_eq!(jpy.format_f64(1234.4), "¥1,234");
        assert_eq!(jpy.format_f64(f64::NAN), "—");
    }

    #[test]
    fn only_iso_4217_codes_are_currencies_of_a_workspace() {
        assert_eq!(Currency::iso4217(" jpy ").unwrap().as_str(), "JPY");
        assert!(Currency::iso4217("EUR").is_ok());
        for bad in ["YEN", "XYZ", "XXX", "US", "円"] {
            let e = Currency::iso4217(bad).unwrap_err();
            assert!(e.0.contains(bad) || e.0.contains("three letters"), "{bad}: {e}");
        }
        assert!(Currency::iso4217("YEN").unwrap_err().0.contains("not an ISO 4217 currency code"));
    }

    #[test]
    fn the_till_reads_what_people_type() {
        let jpy = cur("JPY");
        for typed in [
            "1200",
            "1,200",
            "¥1,200",
            "￥1,200",
            "1,200円",
            "1200 円",
            "１２００",
            "１，２００円",
            "JPY 1200",
            "1200jpy",
            " 1200 ",
        ] {
            assert_eq!(jpy.parse_typed(typed), Ok(amount("1200")), "{typed}");
        }
        assert_eq!(jpy.parse_typed("-500"), Ok(amount("-500")));
        assert_eq!(jpy.parse_typed("0"), Ok(Amount::ZERO));
        let usd = cur("USD");
        for (typed, want) in [
            ("$12.50", "12.50"),
            ("12.5", "12.5"),
            ("1,200.50", "1200.50"),
            ("USD 3", "3"),
            ("$.50", "0.50"),
            ("１２．５０", "12.50"),
            ("12.500", "12.5"),
        ] {
            assert_eq!(usd.parse_typed(typed), Ok(amount(want)), "{typed}");
        }
        assert_eq!(cur("TWD").parse_typed("$30"), Ok(amount("30")), "a dollar of its own");
    }

    #[test]
    fn the_till_refuses_what_is_not_clear() {
        let (jpy, usd) = (cur("JPY"), cur("USD"));
        assert_eq!(jpy.parse_typed("1200.5"), Err(TypedAmountError::NoDecimals));
        assert_eq!(jpy.parse_typed("1,200.00円"), Err(TypedAmountError::NoDecimals), "no decimals at all in yen");
        assert_eq!(usd.parse_typed("12.505"), Err(TypedAmountError::TooManyDecimals(2)));
        assert_eq!(jpy.parse_typed("$12.50"), Err(TypedAmountError::OtherCurrency("$".into())));
        assert_eq!(usd.parse_typed("1,200円"), Err(TypedAmountError::OtherCurrency("円".into())));
        assert_eq!(usd.parse_typed("EUR 5"), Err(TypedAmountError::OtherCurrency("EUR".into())));
        assert_eq!(jpy.parse_typed("  "), Err(TypedAmountError::Empty));
        for bad in ["12,50", "1,20,0", ",120", "0,120", "abc", "1.2.3", "1e5", "12.", "¥", "1 200", "--5", "1200円円"]
        {
            assert_eq!(jpy.parse_typed(bad), Err(TypedAmountError::NotAnAmount), "{bad}");
        }
        assert_eq!(jpy.parse_typed("922337203686"), Err(TypedAmountError::TooLarge));
        assert!(jpy.parse_typed("922,337,203,685").is_ok());
    }

    proptest! {
        #[test]
        fn yen_written_then_typed_is_the_same_amount(v in -922_337_203_685i64..922_337_203_685i64) {
            let jpy = cur("JPY");
            let a = Amount::from_decimal(Decimal::from(v));
            prop_assert_eq!(jpy.parse_typed(&jpy.format(a)), Ok(a));
        }

        #[test]
        fn dollars_written_then_typed_are_the_same_amount(cents in -92_233_720_368_500i64..92_233_720_368_500i64) {
            let usd = cur("USD");
            let a = Amount::from_decimal(Decimal::new(cents, 2));
            prop_assert_eq!(usd.parse_typed(&usd.format(a)), Ok(a));
        }
    }
}
