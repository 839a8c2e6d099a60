//! Fuzz-style property tests of the programme document on the stable toolchain: any value at
//! any place of a real programme is accepted or refused with its path, never a panic; an
//! accepted programme evaluates any order without a panic, and its breakdown adds up.
//!
//! CI runs a bounded number of cases; a long run is
//! `PROPTEST_CASES=20000 cargo test -p enishi-loyalty --test fuzz --release`.

use enishi_core::BusinessClock;
use enishi_loyalty::{evaluate, CustomerState, LineFacts, OrderFacts, Program};
use proptest::prelude::*;
use serde_json::Value;

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
