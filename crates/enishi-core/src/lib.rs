//! Domain types of Enishi, parsed at the boundary so that the rest of the code can trust them.
//!
//! This crate does no IO and is not async. Everything that arrives from outside (CSV, JSON,
//! CLI) is turned into these types first; a value of one of them is valid by construction.

pub mod clock;
pub mod contact;
pub mod money;
pub mod time;
pub mod vocab;
pub mod written;

pub use clock::{Clock, ManualClock, SystemClock};
pub use contact::{national_form, Email, ExternalId, Phone, PhoneCountry};
pub use money::{Amount, Currency};
pub use time::BusinessClock;
pub use vocab::{
    Channel, ConsentChannel, ConsentStatus, InteractionKind, InteractionStatus, Language, Role, TaskKind, TaskStatus,
};
pub use written::TypedAmountError;

/// Largest quantity of one order line, either way (a typo guard that also keeps every
/// quantity × price and every count of units within 64 bits).
pub const QUANTITY_LIMIT: i64 = 1_000_000_000;

/// Why a value from outside could not be accepted. The message is meant for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

impl ParseError {
    pub(crate) fn new(msg: impl Into<String>) -> Self {
        ParseError(msg.into())
    }
}
