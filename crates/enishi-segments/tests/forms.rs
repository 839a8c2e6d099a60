//! The text and JSON forms: every tree the parser returns prints back to itself, arbitrary
//! text never crashes the parser, JSON round-trips, and bad rules are refused with the node.

use chrono::NaiveDate;
use enishi_core::BusinessClock;
use enishi_segments::text::{parse, print};
use enishi_segments::tree::{Condition, Node, Op, Test, Value};
use enishi_segments::{compile, Context, Dialect};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::json;

fn name() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_]{0,6}(\\.[a-z_][a-z0-9_]{0,6})?"
        .prop_filter("not a keyword", |n| n.split('.').all(|p| !enishi_segments::text::KEYWORDS.contains(&p)))
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(Value::Text),
        (-999_999_999_999_999i64..=999_999_999_999_999, 0u32..5).prop_map(|(m, s)| Value::Number(Decimal::new(m, s))),
        (0u32..=36_600).prop_map(Value::Days),
        (1i32..9999, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| Value::Date(NaiveDate::from_ymd_opt(y, m, d).unwrap())),
        any::<bool>().prop_map(Value::Bool),
    ]
}

fn condition() -> impl Strategy<Value = Node> {
    let test = prop_oneof![
        Just(None),
        (0..6usize, value()).prop_map(|(i, v)| Some(Test::Compare(Op::ALL[i], v))),
        prop::collection::vec(value(), 1..4).prop_map(|vs| Some(Test::In(vs))),
    ];
    (name(), prop::collection::btree_map(name(), value(), 0..3), test)
        .prop_map(|(field, args, test)| Node::Condition(Condition { field, args, test }))
}

/// Trees as the parser returns them: groups of two or more, no group directly inside a group
/// of the same kind (the text form writes those with parentheses, which read back as nested).
fn tree() -> impl Strategy<Value = Node> {
    condition().prop_recursive(5, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Node::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Node::Or),
            inner.prop_map(|n| Node::Not(Box::new(n))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn printed_text_parses_back_to_the_same_tree(t in tree()) {
        let text = print(&t);
        let parsed = parse(&text).map_err(|e| TestCaseError::fail(format!("{e} in {text}")))?;
        prop_assert_eq!(parsed, t.clone());
        let read = Node::from_json(&t.to_json()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(read, t);
    }

    #[test]
    fn arbitrary_text_is_parsed_or_refused_with_a_position(s in "\\PC{0,80}") {
        if let Err(e) = parse(&s) {
            prop_assert!(e.line >= 1 && e.column >= 1);
        }
    }

    #[test]
    fn operator_soup_is_parsed_or_refused(s in "(not |and |or |\\(|\\)|a |b\\(x: 1\\) |>= 3 |in \\(1\\) ){0,30}") {
        let _ = parse(&s);
    }
}

fn calendar() -> BusinessClock {
    BusinessClock::new("Asia/Tokyo").unwrap()
}

fn invalid(text: &str) -> compile::Invalid {
    let cal = calendar();
    let refs = enishi_segments::Refs::default();
    let ctx = Context {
        as_of_day: 20_000,
        calendar: &cal,
        dialect: Dialect::Sqlite,
        refs: &refs,
        summaries: Default::default(),
        form: Default::default(),
    };
    compile::validate(&parse(text).unwrap(), &ctx).expect_err(text)
}

#[test]
fn bad_conditions_are_refused_naming_the_node_and_what_is_allowed() {
    let e = invalid("orders >= 2 and (tag = \"vip\" or lifecycl = \"lost\")");
    assert_eq!(e.pointer, "/and/1/or/1");
    assert!(e.message.contains("did you mean `lifecycle`"), "{e}");
    assert_eq!(e.condition, "lifecycl = \"lost\"");
    for (text, says) in [
        ("orders >= \"three\"", "number, not text"),
        ("orders >= 2.5", "whole number"),
        ("orders", "needs a comparison"),
        ("tier > \"gold\"", "takes =, != or in"),
        ("consent.email = true", "yes/no condition"),
        ("consent.fax", "not one of"),
        ("bought(sku: \"A\", category: \"b\")", "one of them"),
        ("bought(within: 30d)", "sku"),
        ("bought(sku: \"A\", within: 30d, since: 2026-01-01)", "not both"),
        ("bought(sku: \"A\", since: 2026-02-01, until: 2026-01-01)", "after"),
        ("bought(sku: \"A\", colour: \"red\")", "does not take `colour`"),
        ("spend(within: \"30\") > 1", "number of days"),
        ("rfm.segment = \"Best\"", "not an RFM segment"),
        ("lifecycle in (\"new\", \"gone\")", "not a lifecycle stage"),
        ("channel = \"fax\"", "not one of"),
        ("birthday_month = 13", "1 to 12"),
        ("last_order > 30", "date"),
        ("stamps >= 3", "needs the card"),
        ("did(within: 2d)", "needs the event"),
        ("did(event: \"x\", props.sku: 3)", "text"),
        ("spend > 999999999999999", "larger"),
        ("responded", "needs the campaign"),
        ("responded(campaign: \"winter\")", "no campaign named \"winter\""),
        ("responded(campaign: \"winter\", within: 7d)", "does not take `within`"),
        ("raised(change: \"nope\")", "there is no change \"nope\""),
        ("raised(change: \" \")", "non-blank text"),
    ] {
        let e = invalid(text);
        assert!(e.message.contains(says), "{text}: {e}");
        assert_eq!(e.pointer, "", "{text}");
    }
}

#[test]
fn the_json_form_is_documented_and_its_errors_point_at_the_node() {
    let t = parse("(bought(sku: \"A\", within: 90d) and not bought(sku: \"B\")) or spend >= 100.5").unwrap();
    assert_eq!(
        t.to_json(),
        json!({"or": [
            {"and": [
                {"field": "bought", "args": {"sku": "A", "within": {"days": 90}}},
                {"not": {"field": "bought", "args": {"sku": "B"}}}
            ]},
            {"field": "spend", "op": ">=", "value": 100.5}
        ]})
    );
    let one = Node::from_json(&json!({"and": [{"field": "tag", "op": "in", "value": ["vip"]}]})).unwrap();
    assert_eq!(print(&one), "tag in (\"vip\")", "a group of one is its rule");
    for (bad, pointer, says) in [
        (json!([]), "", "expected an object"),
        (json!({"and": []}), "/and", "at least one"),
        (json!({"or": [{"field": "a"}, {"fields": "b"}]}), "/or/1", "expected \"and\""),
        (json!({"not": {"field": "a", "op": "~", "value": 1}}), "/not/op", "is not one of"),
        (json!({"field": "a", "op": "="}), "", "needs a \"value\""),
        (json!({"field": "a b"}), "/field", "not a field name"),
        (json!({"field": "a", "args": {"within": {"days": -1}}}), "/args/within/days", "whole days"),
        (json!({"field": "a", "args": {"since": {"date": "2026-02-30"}}}), "/args/since/date", "YYYY-MM-DD"),
        (json!({"field": "a", "op": "in", "value": []}), "/value", "at least one"),
        (json!({"field": "a", "extra": 1}), "", "unexpected key"),
    ] {
        let e = Node::from_json(&bad).expect_err(&bad.to_string());
        assert_eq!(e.pointer, pointer, "{bad}: {e}");
        assert!(e.message.contains(says), "{bad}: {e}");
    }
    let mut deep = json!({"field": "a"});
    for _ in 0..100 {
        deep = json!({"not": deep});
    }
    assert!(Node::from_json(&deep).unwrap_err().message.contains("nest"));
}
