//! Materialising a campaign's audience when its send starts: the segment or list is
//! snapshotted (exactly who was in it), each member is checked against the contact policy —
//! consent on the channel, an address, the suppression list, the frequency cap — and the
//! eligible are split at random, but reproducibly, into the holdout group and the variants.
//! Every member gets one recipient row saying which, and a skipped one why.

use crate::definition::{Audience, Definition};
use crate::policy::Policy;
use crate::Error;
use enishi_core::BusinessClock;
use enishi_segments::saved;
use enishi_store::repo::campaigns::{self as repo, Campaign, Placement};
use enishi_store::repo::segments as segments_repo;
use enishi_store::Conn;
use std::collections::HashMap;

/// Why a member of the audience gets no message, in the order they are checked.
pub const SKIP_REASONS: [&str; 4] = ["no_consent", "no_address", "suppressed", "frequency_cap"];

/// What materialising an audience found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Materialised {
    /// The audience snapshot.
    pub snapshot_id: i64,
    /// Members of the audience.
    pub audience: usize,
    /// Messages queued per variant.
    pub queued: Vec<(String, usize)>,
    /// Kept back.
    pub holdout: usize,
    /// Skipped, per reason.
    pub skipped: Vec<(&'static str, usize)>,
}

/// A 64-bit mix of `seed` and `id` (SplitMix64's finaliser): the same pair always gives the same
/// number, and neighbouring ids give unrelated ones.
pub fn mix(seed: u64, id: u64) -> u64 {
    let mut z = seed ^ id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The arm of an eligible customer: `holdout`, or the key of a variant by its share.
pub fn arm_of(d: &Definition, campaign_id: i64, customer_id: i64) -> &str {
    let seed = mix(0x656e_6973_6869, campaign_id as u64);
    let h = mix(seed, customer_id as u64);
    // Two independent draws in [0, 10,000): one for the holdout, one for the variant.
    let holdout_draw = (h % 10_000) as u32;
    if holdout_draw < d.holdout_percent * 100 {
        return "holdout";
    }
    let variant_draw = ((h >> 32) % 100) as u32;
    let mut upto = 0;
    for v in &d.variants {
        upto += v.share;
        if variant_draw < upto {
            return &v.key;
        }
    }
    d.variants.last().map_or("A", |v| v.key.as_str())
}

/// Snapshots the audience of `campaign`, decides every member's place, writes the recipient
/// rows and moves the campaign to `sending` — in the caller's transaction, so that all of it
/// happens or none. `None` when the campaign was started by someone else first.
pub fn materialise(
    c: &mut dyn Conn,
    campaign: &Campaign,
    d: &Definition,
    policy: &Policy,
    calendar: &BusinessClock,
) -> Result<Option<Materialised>, Error> {
    let now = c.now();
    let day = calendar.day_number(enishi_store::instant(now));
    let (segment, rule) = match &d.audience {
        Audience::Segment(name) => {
            let s = saved::find(c, name)?;
            let rule = saved::read_rule(&s)?;
            (Some(s), rule)
        }
        Audience::List(name) => {
            if segments_repo::list_by_name(c, name)?.is_none() {
                return Err(Error::Invalid(format!("audience: there is no list named \"{name}\"")));
            }
            let text = format!("list = {}", serde_json::to_string(name).unwrap_or_default());
            (None, enishi_segments::text::parse(&text).map_err(|e| Error::Invalid(e.to_string()))?)
        }
        Audience::Journey(name) => {
            return Err(Error::State(format!("\"{}\" is a step of the journey \"{name}\", sent by it", campaign.name)))
        }
    };
    let (snap, members) = saved::snapshot_and_members(c, segment.as_ref(), &rule, &campaign.name, day, calendar)?;
    if !repo::start(c, campaign.id, snap.id, now)? {
        return Ok(None);
    }
    let channel = d.channel;
    let mut reason: HashMap<i64, &'static str> = HashMap::new();
    let consented: std::collections::HashSet<i64> = repo::consented(c, d.consent())?.into_iter().collect();
    for &m in &members {
        if !consented.contains(&m) {
            reason.insert(m, "no_consent");
        }
    }
    let since = now - policy.cap_days * 86_400;
    let later_checks: [(&'static str, Vec<i64>); 3] = [
        ("no_address", repo::without_address(c, channel.as_str())?),
        ("suppressed", repo::suppressed(c, channel.as_str())?),
        ("frequency_cap", repo::at_cap(c, channel.as_str(), since, policy.cap_messages, campaign.id)?),
    ];
    for (why, ids) in later_checks {
        for id in ids {
            if let std::collections::hash_map::Entry::Vacant(e) = reason.entry(id) {
                e.insert(why);
            }
        }
    }
    let mut out = Materialised { snapshot_id: snap.id, audience: members.len(), ..Materialised::default() };
    let mut placements = Vec::with_capacity(members.len());
    let mut per_arm: HashMap<String, usize> = HashMap::new();
    let mut per_reason: HashMap<&'static str, usize> = HashMap::new();
    for &m in &members {
        let p = match reason.get(&m) {
            Some(&why) => {
                *per_reason.entry(why).or_default() += 1;
                Placement { customer_id: m, arm: "-".into(), status: "skipped", reason: Some(why), run_after: now }
            }
            None => {
                let arm = arm_of(d, campaign.id, m);
                if arm == "holdout" {
                    out.holdout += 1;
                    Placement { customer_id: m, arm: arm.into(), status: "holdout", reason: None, run_after: now }
                } else {
                    *per_arm.entry(arm.to_string()).or_default() += 1;
                    Placement { customer_id: m, arm: arm.into(), status: "queued", reason: None, run_after: now }
                }
            }
        };
        placements.push(p);
    }
    repo::place(c, campaign.id, &placements)?;
    out.queued = d.variants.iter().map(|v| (v.key.clone(), per_arm.get(&v.key).copied().unwrap_or(0))).collect();
    out.skipped = SKIP_REASONS.iter().map(|r| (*r, per_reason.get(r).copied().unwrap_or(0))).collect();
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_follows_the_shares_and_is_the_same_every_time() {
        let d = Definition::parse(
            r#"{"name": "n", "channel": "email", "audience": {"segment": "s"}, "holdout_percent": 10,
                "variants": [{"key": "A", "template": "t", "share": 70}, {"key": "B", "template": "t", "share": 30}]}"#,
        )
        .unwrap();
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for id in 1..=100_000 {
            *counts.entry(arm_of(&d, 7, id)).or_default() += 1;
            assert_eq!(arm_of(&d, 7, id), arm_of(&d, 7, id));
        }
        let share = |k: &str| counts[k] as f64 / 100_000.0;
        assert!((share("holdout") - 0.10).abs() < 0.005, "{counts:?}");
        assert!((share("A") - 0.63).abs() < 0.006, "{counts:?}");
        assert!((share("B") - 0.27).abs() < 0.006, "{counts:?}");
        // Another campaign draws another holdout.
        let same =
            (1..=10_000).filter(|&id| (arm_of(&d, 7, id) == "holdout") == (arm_of(&d, 8, id) == "holdout")).count();
        assert!(same < 9_500, "{same}");
    }
}
