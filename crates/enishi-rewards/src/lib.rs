//! Runs the loyalty programme against the store: what orders earn and returns take back,
//! redemptions and coupons, manual adjustments and tier overrides, paid memberships, the
//! periodic jobs (expiry, birthdays, tier reviews, promotion announcements) and the audit that
//! re-derives every balance from the ledger.
//!
//! Every function takes the [`Conn`] of one write transaction, so each operation is atomic:
//! the ledger, the lots, the customer's loyalty state and the coupons change together or not
//! at all. The rules themselves are the pure `enishi-loyalty` engine.

mod book;
mod books;
mod cards;
mod codes;
mod jobs;
mod merge;
mod offers;
mod operations;
mod orders;
mod programs;
mod repair;
mod reports;
mod returns;
mod segment_members;
mod summary;
mod welcome;

pub use books::{EvaluatedOrders, OrderBatch, SegmentRules, EVALUATED_PART};
pub use codes::{customer_of_referral_code, referral_code, referrer_by_code};
pub use jobs::{run_jobs, verify, JobReport, Mismatch};
pub use merge::{merge_books, MergedBooks};
pub use offers::{issue_offer, OfferIssue, PRODUCT_LOOKBACK_DAYS};
pub use operations::{
    adjust, in_reward_segment, issue_once, membership, redeem, reversal_key, reverse_adjustment, reversed_entry,
    set_tier, use_coupon, Adjustment, MembershipAction, Redemption, Reversal,
};
pub use orders::{ledger, on_new_order, on_order, OrderLoyalty, Purchase, TierMove};
pub use programs::{apply_program, ProgramCache, Programs};
pub use repair::{repair, Repaired};
pub use reports::{report, OccurrenceReport, ProgramReport, BASELINE_WEEKS, REPORTED_OCCURRENCES};
pub use returns::{on_return, ReturnBatch, ReturnFacts};
pub use segment_members::{missing_segment, programme_field_naming};
pub use summary::{summary, LoyaltySummary};
pub use welcome::{welcome, Welcome};

use enishi_store::StoreError;

/// Why a loyalty operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoyaltyError {
    /// No programme has been applied yet.
    #[error("no loyalty programme has been applied (PUT /api/v1/loyalty/program or `enishi loyalty apply`)")]
    NoProgram,
    /// The programme document is wrong.
    #[error(transparent)]
    Program(#[from] enishi_loyalty::ProgramError),
    /// A request field is wrong.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field.
        field: String,
        /// Why.
        reason: String,
    },
    /// Not enough usable points.
    #[error("not enough points: {available} available, {needed} needed")]
    InsufficientPoints {
        /// Usable now.
        available: i64,
        /// Needed.
        needed: i64,
    },
    /// The customer carries a points debt (a return took back points already spent).
    #[error("the customer owes {0} points (a return took back points already spent); redemption is blocked until they are earned back")]
    Debt(i64),
    /// A per-customer limit is reached.
    #[error("{0}")]
    Limit(String),
    /// A coupon cannot be used.
    #[error("{0}")]
    Coupon(String),
    /// Something asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// An adjustment was reversed already, or is itself a reversal.
    #[error("{0}")]
    AlreadyReversed(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> LoyaltyError {
    LoyaltyError::Invalid { field: field.into(), reason: reason.into() }
}
