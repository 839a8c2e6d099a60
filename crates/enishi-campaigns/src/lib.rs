//! Campaigns: message templates, campaign documents, audiences with the contact policy
//! (consent, suppression, frequency cap, quiet hours, holdout), channels, the sender that
//! delivers each message exactly once, and the results (conversions, uplift over the holdout,
//! cost and ROI). docs/campaigns.md is the user's guide.
//!
//! SQL lives in `enishi_store::repo::campaigns`; this crate holds the rules.

pub mod audience;
pub mod calls;
pub mod campaigns;
pub mod changes;
pub mod coupons;
pub mod definition;
pub mod digests;
pub mod email;
pub mod fields;
pub mod joins;
pub mod journeys;
pub mod links;
pub mod my_page;
pub mod pace;
pub mod plan;
pub mod policy;
pub mod postal;
pub mod results;
pub mod reviews;
pub mod sender;
pub mod surveys;
pub mod template;
pub mod unsubscribe;
pub mod webhook;

pub use definition::{Channel, Definition};

/// What can go wrong with a campaign.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A document, template or setting is wrong; the text names the field.
    #[error("{0}")]
    Invalid(String),
    /// A template does not parse, uses an unknown field or fails to render.
    #[error("template: {0}")]
    Template(String),
    /// Something named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The campaign is not in a state that allows this.
    #[error("{0}")]
    State(String),
    /// A channel could not deliver (after its retries).
    #[error("delivery: {0}")]
    Delivery(String),
    /// A segment error.
    #[error(transparent)]
    Segment(#[from] enishi_segments::Error),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] enishi_store::StoreError),
}

impl Error {
    /// Whether the error is the user's (bad input, a missing name, a wrong state) rather than
    /// the system's.
    pub fn is_users(&self) -> bool {
        match self {
            Error::Invalid(_) | Error::Template(_) | Error::NotFound(_) | Error::State(_) => true,
            Error::Segment(e) => !matches!(e, enishi_segments::Error::Store(_)),
            Error::Delivery(_) | Error::Store(_) => false,
        }
    }
}
