//! Money: decimal amounts (never floating point) and ISO 4217 currency codes.
//!
//! Storage keeps amounts as integers of 1/10,000 of the currency unit ([`Amount::to_scaled`]),
//! so that SQL sums in SQLite and PostgreSQL are exact.

use crate::ParseError;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Number of decimal places kept in storage.
pub const STORAGE_SCALE: u32 = 4;

/// A decimal amount of money in some currency (the currency travels beside it).
///
/// Amounts parse from decimal strings such as `"57.40"` or `"-3"`; at most four decimal
/// places are accepted, so that the stored value is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Amount(Decimal);

/// A mantissa at the storage scale as stored, clamped to the stored range.
fn saturated(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount(Decimal::ZERO);

    /// The amount as a decimal.
    pub fn decimal(self) -> Decimal {
        self.0
    }

    /// Builds an amount from a decimal, rounding to the storage scale (banker's rounding is
    /// not used: midpoints round away from zero, as on a receipt).
    pub fn from_decimal(d: Decimal) -> Amount {
        Amount(
            d.round_dp_with_strategy(STORAGE_SCALE, rust_decimal::RoundingStrategy::MidpointAwayFromZero).normalize(),
        )
    }

    /// The amount in 1/10,000 units, as stored.
    pub fn to_scaled(self) -> i64 {
        // An amount has at most the storage scale (it is rounded to it): widening the mantissa
        // is exact, and much cheaper than a general rescale, which stays for the rest.
        let scale = self.0.scale();
        if scale <= STORAGE_SCALE {
            if let Some(v) = self.0.mantissa().checked_mul(10i128.pow(STORAGE_SCALE - scale)) {
                return saturated(v);
            }
        }
        let mut d = self.0;
        d.rescale(STORAGE_SCALE);
        saturated(d.mantissa())
    }

    /// The amount from its stored 1/10,000 units.
    pub fn from_scaled(v: i64) -> Amount {
        Amount(Decimal::new(v, STORAGE_SCALE).normalize())
    }

    /// Whether the amount is below zero.
    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    /// Whether the amount is zero.
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// The amount shared over `qty` units (a unit price from a line total), rounded to the
    /// storage scale; `qty` below 2 gives the amount itself.
    pub fn per_unit(self, qty: i64) -> Amount {
        if qty > 1 {
            Amount::from_decimal(self.0 / Decimal::from(qty))
        } else {
            self
        }
    }

    /// The amount times `num / den` (a share of a discounted total), rounded to the storage
    /// scale; `den` zero gives the amount itself.
    pub fn prorated(self, num: Amount, den: Amount) -> Amount {
        if den.is_zero() {
            self
        } else {
            Amount::from_decimal(self.0 * num.0 / den.0)
        }
    }

    /// The amount times an integer quantity.
    pub fn times(self, qty: i64) -> Amount {
        Amount::from_decimal(self.0 * Decimal::from(qty))
    }

    /// Largest amount in either direction that Enishi accepts: 922,337,203,685 currency units.
    /// A thousand such amounts still sum within the stored 64-bit range.
    pub const LIMIT: Amount = Amount(Decimal::from_parts(3_214_202_341, 214, 0, false, 0));

    /// Whether the amount is within [`Amount::LIMIT`] either way.
    pub fn within_limit(self) -> bool {
        self.0.abs() <= Amount::LIMIT.0
    }

    /// The amount times a quantity, or `None` when the product exceeds [`Amount::LIMIT`]
    /// (never a wrap or a silent cap).
    pub fn checked_times(self, qty: i64) -> Option<Amount> {
        self.0.checked_mul(Decimal::from(qty)).map(Amount::from_decimal).filter(|a| a.within_limit())
    }

    /// The sum, or `None` when it exceeds [`Amount::LIMIT`].
    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount).filter(|a| a.within_limit())
    }

    /// The sum of `amounts`, or `None` when it (or a partial sum) exceeds [`Amount::LIMIT`].
    pub fn checked_sum(amounts: impl IntoIterator<Item = Amount>) -> Option<Amount> {
        amounts.into_iter().try_fold(Amount::ZERO, Amount::checked_add)
    }
}

impl std::ops::Add for Amount {
    type Output = Amount;
    fn add(self, rhs: Amount) -> Amount {
        Amount(self.0 + rhs.0)
    }
}

impl std::ops::Sub for Amount {
    type Output = Amount;
    fn sub(self, rhs: Amount) -> Amount {
        Amount(self.0 - rhs.0)
    }
}

impl std::iter::Sum for Amount {
    fn sum<I: Iterator<Item = Amount>>(iter: I) -> Amount {
        iter.fold(Amount::ZERO, |a, b| a + b)
    }
}

impl FromStr for Amount {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let bad = || ParseError::new(format!("'{s}' is not an amount (expected a decimal like 57.40)"));
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'+') {
            return Err(bad());
        }
        let d = Decimal::from_str(t).map_err(|_| bad())?;
        if d.scale() > STORAGE_SCALE && d.normalize().scale() > STORAGE_SCALE {
            return Err(ParseError::new(format!("'{s}' has more than {STORAGE_SCALE} decimal places")));
        }
        if d.abs() > Amount::LIMIT.0 {
            return Err(ParseError::new(format!("'{s}' is too large an amount")));
        }
        Ok(Amount(d.normalize()))
    }
}

impl TryFrom<String> for Amount {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Amount> for String {
    fn from(a: Amount) -> String {
        a.to_string()
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Always at least two decimals, as money is usually written.
        let d = self.0.normalize();
        if d.scale() < 2 {
            let mut d2 = d;
            d2.rescale(2);
            write!(f, "{d2}")
        } else {
            write!(f, "{d}")
        }
    }
}

/// An ISO 4217 currency code: three upper-case ASCII letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    /// US dollar, the default of a new workspace.
    pub const USD: Currency = Currency(*b"USD");

    /// The code as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Digits after the decimal point in everyday amounts (ISO 4217 minor units): 0 for the
    /// yen and the other currencies without subunits, 3 for the dinars and rials that have
    /// them, 2 for the rest.
    pub fn minor_units(&self) -> u32 {
        const NONE: [&str; 17] = [
            "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF",
            "XOF", "XPF",
        ];
        const THREE: [&str; 7] = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
        if NONE.contains(&self.as_str()) {
            0
        } else if THREE.contains(&self.as_str()) {
            3
        } else {
            2
        }
    }
}

impl FromStr for Currency {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_uppercase();
        let b = t.as_bytes();
        if b.len() == 3 && b.iter().all(u8::is_ascii_uppercase) {
            Ok(Currency([b[0], b[1], b[2]]))
        } else {
            Err(ParseError::new(format!("'{s}' is not a currency code (expected three letters like USD or JPY)")))
        }
    }
}

impl TryFrom<String> for Currency {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.as_str().to_string()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_displays_money() {
        assert_eq!("57.40".parse::<Amount>().unwrap().to_string(), "57.40");
        assert_eq!("3".parse::<Amount>().unwrap().to_string(), "3.00");
        assert_eq!("-0.125".parse::<Amount>().unwrap().to_scaled(), -1250);
        assert!("1e5".parse::<Amount>().is_err());
        assert!("12,50".parse::<Amount>().is_err());
        assert!("0.00001".parse::<Amount>().is_err());
        assert!("".parse::<Amount>().is_err());
        assert_eq!("1.50000".parse::<Amount>().unwrap().to_scaled(), 15000);
    }

    #[test]
    fn the_limit_is_the_largest_amount_accepted() {
        assert_eq!(Amount::LIMIT.decimal(), Decimal::new(i64::MAX / 10_000 / 1000, 0));
        assert_eq!(Amount::LIMIT.to_string(), "922337203685.00");
        assert!("922337203685".parse::<Amount>().is_ok());
        assert!("922337203686".parse::<Amount>().is_err());
        let big: Amount = "999999.99".parse().unwrap();
        assert_eq!(big.checked_times(2_147_483_648), None);
        assert_eq!(big.checked_times(3), Some("2999999.97".parse().unwrap()));
        assert_eq!(Amount::LIMIT.checked_add("0.01".parse().unwrap()), None);
        assert_eq!(Amount::checked_sum([Amount::LIMIT, Amount::LIMIT]), None);
        assert_eq!(Amount::checked_sum(["1".parse().unwrap(), "2.5".parse().unwrap()]), Some("3.5".parse().unwrap()));
        // A thousand amounts at the limit still store.
        assert!((Amount::LIMIT.to_scaled() as i128) * 1000 <= i64::MAX as i128);
    }

    #[test]
    fn currency_codes() {
        assert_eq!("jpy".parse::<Currency>().unwrap().as_str(), "JPY");
        assert!("YEN1".parse::<Currency>().is_err());
        assert_eq!(["JPY", "USD", "KWD"].map(|c| c.parse::<Currency>().unwrap().minor_units()), [0, 2, 3]);
    }

    proptest! {
        #[test]
        fn scaled_round_trip(v in -1_000_000_000_000i64..1_000_000_000_000i64) {
            let a = Amount::from_scaled(v);
            prop_assert_eq!(a.to_scaled(), v);
            prop_assert_eq!(a.to_string().parse::<Amount>().unwrap(), a);
        }

        #[test]
        fn scaling_is_a_rescale(m in -100_000_000_000_000i64..100_000_000_000_000i64, scale in 0u32..9) {
            let d = Decimal::new(m, scale);
            let mut r = d;
            r.rescale(STORAGE_SCALE);
            prop_assert_eq!(Amount(d).to_scaled(), i64::try_from(r.mantissa()).unwrap());
        }

        #[test]
        fn sums_are_exact(xs in proptest::collection::vec(0i64..100_000_000, 0..50)) {
            let total: Amount = xs.iter().map(|&x| Amount::from_scaled(x)).sum();
            prop_assert_eq!(total.to_scaled(), xs.iter().sum::<i64>());
        }
    }
}
