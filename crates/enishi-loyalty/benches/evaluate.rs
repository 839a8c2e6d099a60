//! Rule evaluation throughput: a 10-rule programme over a mix of orders.
//! Run: `cargo bench -p enishi-loyalty --bench evaluate`.
#![allow(missing_docs)] // criterion_group! defines an undocumented public function

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use enishi_core::BusinessClock;
use enishi_loyalty::{evaluate, CustomerState, LineFacts, OrderFacts, Program};
use std::hint::black_box;

const TEN_RULES: &str = r#"{
  "name": "bench", "earning": {"points_per_unit": 1, "minimum_order": "10", "exclude_skus": ["GIFT", "SHIP"],
     "max_points_per_order": 5000, "max_points_per_day": 20000},
  "rules": [
    {"name": "coffee x2", "when": {"categories": ["coffee"]}, "multiplier": 2},
    {"name": "tea x1.5", "when": {"categories": ["tea"]}, "multiplier": "1.5"},
    {"name": "mugs", "when": {"skus": ["MUG", "CUP"]}, "points_per_item": 5},
    {"name": "app", "when": {"channels": ["app"]}, "bonus": 20},
    {"name": "big basket", "when": {"minimum_order": "100"}, "bonus": 50},
    {"name": "beans", "when": {"skus": ["BEANS-1"]}, "multiplier": 3},
    {"name": "online", "when": {"channels": ["ecommerce"]}, "multiplier": "1.1"},
    {"name": "pastry", "when": {"categories": ["pastry"]}, "points_per_item": 2},
    {"name": "gift wrap", "when": {"skus": ["WRAP"]}, "bonus": 5},
    {"name": "delivery", "when": {"channels": ["delivery"], "minimum_order": "30"}, "bonus": 10}
  ],
  "promotions": [{"id": "double", "name": "Double", "starts": "2026-11-27 18:00", "ends": "2026-11-29 18:00", "multiplier": 2}],
  "tiers": {"basis": "spend", "window": {"rolling_days": 365}, "levels": [
    {"id": "member", "name": "Member", "threshold": "0"},
    {"id": "silver", "name": "Silver", "threshold": "200", "multiplier": "1.25"},
    {"id": "gold", "name": "Gold", "threshold": "500", "multiplier": "1.5"}]}
}"#;

fn bench(c: &mut Criterion) {
    let clock = BusinessClock::default();
    let program = Program::parse(TEN_RULES, &clock).expect("valid programme");
    let lines = [
        LineFacts { sku: "BEANS-1", category: Some("coffee"), quantity: 2, amount: 574_000 },
        LineFacts { sku: "MUG", category: Some("ware"), quantity: 1, amount: 120_000 },
        LineFacts { sku: "CROISSANT", category: Some("pastry"), quantity: 3, amount: 90_000 },
    ];
    let channels = ["in_store", "app", "ecommerce", "delivery"];
    let at = clock.parse_timestamp("2026-11-28 10:00").expect("time");
    let orders: Vec<OrderFacts<'_>> = (0..1024)
        .map(|i| OrderFacts {
            placed_at: at,
            day: 20_000 + i as i64 % 7,
            channel: channels[i % 4],
            total: 784_000 - (i as i64 % 5) * 10_000,
            lines: &lines[..1 + i % 3],
        })
        .collect();
    let states: Vec<CustomerState> = (0..16)
        .map(|i| CustomerState { tier: Some(i % 3), tier_progress: i as i64 * 400_000, ..CustomerState::default() })
        .collect();
    let mut g = c.benchmark_group("loyalty");
    g.throughput(Throughput::Elements(orders.len() as u64));
    g.bench_function("evaluate_10_rules", |b| {
        b.iter(|| {
            let mut sum = 0;
            for (i, o) in orders.iter().enumerate() {
                sum += evaluate(&program, &states[i % 16], black_box(o)).points;
            }
            black_box(sum)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
