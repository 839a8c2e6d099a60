//! Enishi's loyalty engine, as pure functions: the programme document and its validation
//! ([`program`]), and what one order earns under it ([`engine`]): points with a per-rule
//! breakdown, stamps, tier upgrades. No IO: the caller loads the customer's state, calls the
//! engine and writes the ledger entries it answers.
//!
//! Arithmetic is integer: money in 1/10,000 units (as stored), rates and multipliers in
//! 1/10,000, points whole.

pub mod diff;
pub mod engine;
pub mod program;

pub use engine::{
    evaluate, expires_at, reversal_due, why_no_points, CardState, CustomerState, Earned, LineFacts, NoPoints,
    OrderFacts, Part, Source, StampChange, TierChange,
};
pub use program::{Document, Names, Program, ProgramError};

use serde::{Deserialize, Serialize};
use std::fmt;

/// Largest number of points, either way, that Enishi counts: in a balance, a ledger entry, a
/// lot, an order's earnings or any count in a programme document. A trillion points is far
/// beyond any real programme, and a thousand times it still fits in 64 bits, so sums of
/// bounded values cannot wrap; an operation that would go beyond it is refused.
pub const POINTS_LIMIT: i64 = 1_000_000_000_000;

/// Starter programmes for common businesses, as (name, JSON document): a new user applies one
/// and adjusts it. `demo` is the demo shop's programme, which shows every feature.
pub const STARTERS: &[(&str, &str)] = &[
    ("cafe", include_str!("../starters/cafe.json")),
    ("retail", include_str!("../starters/retail.json")),
    ("ecommerce", include_str!("../starters/ecommerce.json")),
    ("demo", include_str!("../starters/demo.json")),
];

/// The starter programme called `name`.
pub fn starter(name: &str) -> Option<&'static str> {
    STARTERS.iter().find(|(n, _)| *n == name).map(|(_, doc)| *doc)
}

/// A non-negative decimal rate (points per unit, multiplier) with at most four decimal
/// places, held as an integer of 1/10,000. Written in documents as a string (`"1.5"`) or a
/// number (`1.5`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Rate(pub i64);

impl Rate {
    /// 1 in rate units.
    pub const ONE: i64 = 10_000;

    /// Reads `"1.25"`; more than four decimal places, or not a number, is an error.
    pub fn parse(s: &str) -> Result<Rate, String> {
        let d: rust_decimal::Decimal = s.trim().parse().map_err(|_| format!("'{s}' is not a number"))?;
        let mut scaled = d * rust_decimal::Decimal::from(Rate::ONE);
        if scaled.fract() != rust_decimal::Decimal::ZERO {
            return Err(format!("'{s}' has more than four decimal places"));
        }
        scaled.rescale(0);
        i64::try_from(scaled.mantissa()).map(Rate).map_err(|_| format!("'{s}' is too large"))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", rust_decimal::Decimal::new(self.0, 4).normalize())
    }
}

impl Serialize for Rate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(serde_json::Number),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Text(t) => t,
            Raw::Number(n) => n.to_string(),
        };
        Rate::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::{starter, Program, Rate, STARTERS};

    #[test]
    fn every_starter_programme_is_valid_and_found_by_its_name() {
        for (name, doc) in STARTERS {
            let p = Program::parse(doc, &enishi_core::BusinessClock::default());
            assert!(p.is_ok(), "{name}: {:?}", p.err());
            assert_eq!(starter(name), Some(*doc));
        }
        assert_eq!(starter("bakery"), None);
    }

    #[test]
    fn rates_read_exactly() {
        assert_eq!(Rate::parse("1").unwrap(), Rate(10_000));
        assert_eq!(Rate::parse("0.01").unwrap(), Rate(100));
        assert_eq!(Rate::parse("1.25").unwrap().to_string(), "1.25");
        assert!(Rate::parse("0.00001").is_err());
        assert!(Rate::parse("x").is_err());
        let r: Rate = serde_json::from_str("1.5").unwrap();
        assert_eq!(r, Rate(15_000));
    }
}
