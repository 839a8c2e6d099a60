//! The small closed vocabularies of the data model: channels, consent, interaction kinds, roles,
//! languages.

use crate::ParseError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value's stable name, as stored and sent.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let t = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
                match t.as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err(ParseError::new(format!(
                        "'{}' is not one of: {}", s, [$($text),+].join(", ")
                    ))),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary! {
    /// Where a customer buys or is served.
    Channel {
        /// The shop's online store.
        Ecommerce = "ecommerce",
        /// A physical store.
        InStore = "in_store",
        /// The shop's mobile app.
        App = "app",
        /// Delivery or take-away.
        Delivery = "delivery",
        /// Phone orders.
        Phone = "phone",
        /// Sales to businesses through a sales rep.
        B2b = "b2b",
        /// Anything else.
        Other = "other",
    }
}

vocabulary! {
    /// A channel through which a customer can be contacted, each with its own consent.
    ConsentChannel {
        /// Email.
        Email = "email",
        /// Text messages.
        Sms = "sms",
        /// Direct mail by post.
        Postal = "postal",
        /// Phone calls.
        Phone = "phone",
    }
}

vocabulary! {
    /// Whether a customer agreed to be contacted on a channel.
    ConsentStatus {
        /// Agreed.
        OptedIn = "opted_in",
        /// Refused or withdrew.
        OptedOut = "opted_out",
        /// Never asked: treated as no consent for marketing.
        Unknown = "unknown",
    }
}

vocabulary! {
    /// What a recorded interaction with a customer was.
    InteractionKind {
        /// A request (a reservation, an order change, …).
        Request = "request",
        /// A complaint.
        Complaint = "complaint",
        /// A question.
        Inquiry = "inquiry",
        /// Praise.
        Compliment = "compliment",
        /// A phone call.
        Call = "call",
        /// A note by staff.
        Note = "note",
    }
}

vocabulary! {
    /// Whether an interaction still needs attention.
    InteractionStatus {
        /// Needs attention.
        Open = "open",
        /// Someone is working on it.
        InProgress = "in_progress",
        /// Dealt with.
        Resolved = "resolved",
        /// Closed without a resolution (a duplicate, nothing to do).
        Closed = "closed",
    }
}

impl InteractionStatus {
    /// Whether it still needs attention (open or in progress): an open issue.
    pub fn is_open(self) -> bool {
        matches!(self, InteractionStatus::Open | InteractionStatus::InProgress)
    }
}

vocabulary! {
    /// What a follow-up task is.
    TaskKind {
        /// A phone call.
        Call = "call",
        /// An email.
        Email = "email",
        /// A letter or handwritten note.
        Letter = "letter",
        /// A meeting or visit.
        Meeting = "meeting",
    }
}

vocabulary! {
    /// Whether a task is still to do.
    TaskStatus {
        /// To do.
        Open = "open",
        /// Done, with its outcome.
        Done = "done",
        /// Dropped.
        Cancelled = "cancelled",
    }
}

vocabulary! {
    /// What a user or API token may do.
    Role {
        /// Everything, including settings and tokens.
        Admin = "admin",
        /// Customers, segments, campaigns, analytics and exports.
        Marketer = "marketer",
        /// Look up customers, record orders and interactions; no adjustments, no exports.
        Staff = "staff",
    }
}

vocabulary! {
    /// The console's languages, chosen per user.
    Language {
        /// English.
        En = "en",
        /// Japanese.
        Ja = "ja",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_value() {
        for c in Channel::ALL {
            assert_eq!(c.as_str().parse::<Channel>().unwrap(), *c);
        }
        assert_eq!("In-Store".parse::<Channel>().unwrap(), Channel::InStore);
        assert_eq!("opted in".parse::<ConsentStatus>().unwrap(), ConsentStatus::OptedIn);
        let err = "fax".parse::<ConsentChannel>().unwrap_err();
        assert!(err.0.contains("email, sms, postal, phone"), "{err}");
    }
}
