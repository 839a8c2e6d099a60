//! Fuzz-style property tests of the programme document on the stable toolchain: any value at
//! any place of a real programme is accepted or refused with its path, never a panic; an
//! accepted programme evaluates any order without a panic, and its breakdown adds up.
//!
//! CI runs a bounded number of cases; a long run is
//! `PROPTEST_CASES=20000 cargo test -p enishi-loyalty --test fuzz --release`.

use chrono::{DateTime, Datelike, Duration, NaiveDateTime, NaiveTime, Utc};
use enishi_core::BusinessClock;
use enishi_loyalty::{evaluate, CustomerState, LineFacts, OrderFacts, Program, Source};
use proptest::prelude::*;
use serde_json::{json, Value};

/// Every path to a leaf of `v`, as JSON pointers.
fn leaves(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, x)| leaves(x, format!("{at}/{k}"), out)),
        Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| leaves(x, format!("{at}/{i}"), out)),
        _ => out.push(at),
    }
}

fn hostile() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        Just(Value::from(u64::MAX)),
        Just(Value::from(1e300)),
        Just(Value::from(-0.5)),
        Just(Value::Null),
        Just(Value::from("")),
        Just(Value::from("9999999999999999999999")),
        Just(Value::from("2026-02-30 25:00")),
        "\\PC{0,10}".prop_map(Value::from),
        Just(serde_json::json!([])),
        Just(serde_json::json!({})),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn any_value_anywhere_in_a_programme_is_refused_by_path_or_evaluates_soundly(
        pick in any::<prop::sample::Index>(),
        value in hostile(),
        amount in 0i64..=9_223_372_036_850_000,
        quantity in 1i64..=1_000_000_000,
        progress in any::<i64>(),
    ) {
        let mut doc: Value = serde_json::from_str(enishi_loyalty::starter("demo").unwrap()).unwrap();
        // A recurring promotion too, so that its fields get hostile values as well.
        doc["promotions"].as_array_mut().unwrap().push(serde_json::json!({
            "id": "happy-hour", "name": "Happy hour", "starts": "2026-11-01", "ends": "2027-01-01",
            "repeat": {"weekdays": ["fri", "sat"], "from": "11:00", "until": "13:00"},
            "multiplier": "1.5", "bonus": 3, "tiers": ["gold"], "when": {"channels": ["in_store"]}, "budget_points": 1000
        }));
        let mut paths = Vec::new();
        leaves(&doc, String::new(), &mut paths);
        let path = pick.get(&paths).clone();
        *doc.pointer_mut(&path).unwrap() = value;
        let clock = BusinessClock::default();
        match Program::parse(&doc.to_string(), &clock) {
            Err(e) => prop_assert!(!e.path.is_empty() && !e.to_string().is_empty()),
            Ok(p) => {
                let lines = [LineFacts { sku: "BEANS-1", category: Some("coffee"), quantity, amount }];
                let placed_at = clock.parse_timestamp("2026-11-28 12:00").unwrap();
                let order = OrderFacts { placed_at, day: clock.day_number(placed_at), channel: "in_store", total: amount, lines: &lines };
                let state = CustomerState { tier_progress: progress, ..CustomerState::default() };
                let got = evaluate(&p, &state, &order);
                if got.in_range() {
                    prop_assert_eq!(got.parts.iter().map(|x| x.points).sum::<i64>(), got.points);
                    prop_assert!(got.points >= 0);
                }
            }
        }
    }
}

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A time of day as a programme might hold it: mostly valid, sometimes not.
fn time_of_day() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (0u32..24, 0u32..60).prop_map(|(h, m)| format!("{h:02}:{m:02}")),
        1 => Just("24:00".to_string()),
        1 => (0u32..30, 0u32..70).prop_map(|(h, m)| format!("{h}:{m}")),
        1 => "\\PC{0,6}",
    ]
}

/// The reference for a boundary, found by brute force: the first whole UTC minute at which the
/// business clock reads `local` or later, scanning from well before it.
fn first_minute_reading(clock: &BusinessClock, local: NaiveDateTime) -> DateTime<Utc> {
    let mut t = local.and_utc() - Duration::hours(15);
    while clock.local_datetime(t) < local {
        t += Duration::minutes(1);
    }
    t
}

/// The reference: whether `at` is within an occurrence starting on one of `days` (Monday 0),
/// from `from` until `until` (at or before `from`, or 24:00: the next day).
fn reference(
    clock: &BusinessClock,
    days: &[usize],
    from: NaiveTime,
    until: (NaiveTime, bool),
    at: DateTime<Utc>,
) -> bool {
    let today = clock.local_datetime(at).date();
    (-2i64..=1).any(|k| {
        let d = today + Duration::days(k);
        let next_day = until.1 || until.0 <= from;
        let end_date = if next_day { d + Duration::days(1) } else { d };
        days.contains(&(d.weekday().num_days_from_monday() as usize))
            && first_minute_reading(clock, d.and_time(from)) <= at
            && at < first_minute_reading(clock, end_date.and_time(until.0))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn a_recurring_promotion_is_refused_by_path_or_on_exactly_within_its_occurrences(
        days in prop::collection::vec(0usize..8, 0..5),
        from in time_of_day(),
        until in time_of_day(),
        tz in prop::sample::select(vec!["UTC", "Asia/Tokyo", "America/New_York", "Europe/London", "Australia/Lord_Howe", "America/Santiago"]),
        minutes in 0i64..(2 * 366 * 24 * 60),
        around_dst in any::<bool>(),
    ) {
        let names: Vec<&str> = days.iter().map(|&d| WEEKDAYS.get(d).copied().unwrap_or("someday")).collect();
        let doc = json!({"name": "r", "earning": {"points_per_unit": 1}, "promotions": [{
            "id": "r", "name": "r", "bonus": 5, "repeat": {"weekdays": names, "from": from, "until": until}}]});
        let clock = BusinessClock::new(tz).unwrap();
        let p = match Program::parse(&doc.to_string(), &clock) {
            Err(e) => {
                prop_assert!(e.path.starts_with("promotions[0].repeat."), "{}", e);
                return Ok(());
            }
            Ok(p) => p,
        };
        // Accepted: the weekdays are known and distinct, the times well-formed and different.
        prop_assert!(!days.is_empty() && days.iter().all(|&d| d < 7));
        let from_t = NaiveTime::parse_from_str(&from, "%H:%M").unwrap();
        let until_t = if until == "24:00" { (NaiveTime::MIN, true) } else { (NaiveTime::parse_from_str(&until, "%H:%M").unwrap(), false) };
        prop_assert!(until_t.1 || until_t.0 != from_t);
        // An instant in 2025–2026, or near a daylight-saving change (the first Sundays of
        // March, April, October and November hold them in these zones).
        let base: DateTime<Utc> = "2025-01-01T00:00:00Z".parse().unwrap();
        let at = if around_dst {
            let changes = ["2026-03-08T07:00:00Z", "2026-11-01T06:00:00Z", "2026-03-29T01:00:00Z", "2026-10-25T01:00:00Z",
                           "2026-04-04T15:00:00Z", "2026-10-03T15:30:00Z", "2026-04-05T03:00:00Z", "2026-09-06T04:00:00Z"];
            let change: DateTime<Utc> = changes[(minutes % 8) as usize].parse().unwrap();
            change + Duration::minutes(minutes % (48 * 60) - 24 * 60)
        } else {
            base + Duration::minutes(minutes)
        };
        let lines = [LineFacts { sku: "X", category: None, quantity: 1, amount: 300_000 }];
        let earns = |t: DateTime<Utc>| {
            let o = OrderFacts { placed_at: t, day: clock.day_number(t), channel: "in_store", total: 300_000, lines: &lines };
            let got = evaluate(&p, &CustomerState::default(), &o);
            got.parts.iter().any(|x| x.source == Source::Promotion(0))
        };
        // The instant, and each boundary of the occurrences around it, a second either side.
        let mut probes = vec![at, at + Duration::seconds(30)];
        let today = clock.local_datetime(at).date();
        for k in -1i64..=1 {
            let d = today + Duration::days(k);
            let end_date = if until_t.1 || until_t.0 <= from_t { d + Duration::days(1) } else { d };
            for b in [first_minute_reading(&clock, d.and_time(from_t)), first_minute_reading(&clock, end_date.and_time(until_t.0))] {
                probes.extend([b - Duration::seconds(1), b]);
            }
        }
        for t in probes {
            prop_assert_eq!(earns(t), reference(&clock, &days, from_t, until_t, t), "at {} ({} local)", t, clock.local_datetime(t));
        }
    }
}
