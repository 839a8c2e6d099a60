//! What a till form did, said once on the page it leads to. The message stays on the server;
//! the redirect names it by a random key that only the visitor who sent the form can use, so
//! no link can make the console say something it did not do.

use crate::console::i18n::Tr;
use enishi_core::{Amount, Currency};
use enishi_loyalty::NoPoints;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a notice waits to be shown.
const KEPT: Duration = Duration::from_secs(600);

/// Most notices kept at once (the oldest go first).
const MOST: usize = 10_000;

/// Why a recorded sale earned no points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unearned {
    /// No loyalty programme was in force when it was placed.
    NoProgramme,
    /// The programme in force gave nothing, for this reason.
    Engine(NoPoints),
}

/// A till form's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Notice {
    /// A sale was recorded.
    Recorded {
        /// The shop's order id given to it.
        order: String,
        /// Its amount.
        amount: Amount,
        /// Points it earned.
        points: i64,
        /// Why it earned none (when it earned none).
        unearned: Option<Unearned>,
    },
    /// An order was voided, or part of it returned or refunded.
    Returned {
        /// The shop's order id.
        order: String,
        /// The amount refunded.
        amount: Amount,
        /// Points taken back.
        points: i64,
        /// Everything left was returned: the order is voided.
        voided: bool,
    },
}

impl Notice {
    /// The notice in the visitor's language, money in `cur`.
    pub(crate) fn text(&self, tr: Tr, cur: Currency) -> String {
        match self {
            Notice::Recorded { order, amount, points, unearned } => {
                let amount = cur.format(*amount);
                let why = match unearned {
                    None => return tr.f("Recorded order {}: {} earned {} points.", &[order, &amount, points]),
                    Some(Unearned::NoProgramme) => tr.t("no loyalty programme is in force").to_string(),
                    Some(Unearned::Engine(NoPoints::BelowMinimum(m))) => {
                        tr.f("under the {} minimum", &[&cur.format(*m)])
                    }
                    Some(Unearned::Engine(NoPoints::NothingEligible)) => tr.t("nothing in it earns points").to_string(),
                    Some(Unearned::Engine(NoPoints::TooSmall)) => tr.t("too small to earn a point").to_string(),
                    Some(Unearned::Engine(NoPoints::Capped)) => tr.t("the points limit is reached").to_string(),
                };
                tr.f("Recorded order {}: {}, no points — {}.", &[order, &amount, &why])
            }
            Notice::Returned { order, amount, points, voided } => {
                let amount = cur.format(*amount);
                if *voided {
                    tr.f("Order {} voided: {} refunded, {} points taken back.", &[order, &amount, points])
                } else {
                    tr.f("Refund on order {}: {} refunded, {} points taken back.", &[order, &amount, points])
                }
            }
        }
    }
}

/// A notice waiting for its visitor.
struct Held {
    user_id: i64,
    customer_id: i64,
    at: Instant,
    notice: Notice,
}

/// Notices waiting to be shown, by key.
#[derive(Default)]
pub(crate) struct Notices(Mutex<HashMap<String, Held>>);

impl Notices {
    /// Keeps `notice` for user `user_id` on customer `customer_id`'s page; the key to name it
    /// by.
    pub(crate) fn put(&self, user_id: i64, customer_id: i64, notice: Notice) -> String {
        use rand::RngCore;
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let key = hex::encode(bytes);
        let mut held = self.0.lock().unwrap_or_else(|p| p.into_inner());
        held.retain(|_, h| h.at.elapsed() < KEPT);
        if held.len() >= MOST {
            if let Some(oldest) = held.iter().min_by_key(|(_, h)| h.at).map(|(k, _)| k.clone()) {
                held.remove(&oldest);
            }
        }
        held.insert(key.clone(), Held { user_id, customer_id, at: Instant::now(), notice });
        key
    }

    /// The notice kept under `key` for this user and customer, once; `None` for a key that is
    /// unknown, someone else's, for another page, or too old.
    pub(crate) fn take(&self, key: &str, user_id: i64, customer_id: i64) -> Option<Notice> {
        let mut held = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match held.get(key) {
            Some(h) if h.user_id == user_id && h.customer_id == customer_id && h.at.elapsed() < KEPT => {
                held.remove(key).map(|h| h.notice)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_is_shown_once_to_its_visitor_on_its_page() {
        let notices = Notices::default();
        let n = Notice::Recorded { order: "POS-1".into(), amount: Amount::ZERO, points: 0, unearned: None };
        let key = notices.put(7, 1, n.clone());
        assert_eq!(notices.take(&key, 8, 1), None, "another user");
        assert_eq!(notices.take(&key, 7, 2), None, "another customer");
        assert_eq!(notices.take("forged", 7, 1), None);
        assert_eq!(notices.take(&key, 7, 1), Some(n));
        assert_eq!(notices.take(&key, 7, 1), None, "once");
    }
}
