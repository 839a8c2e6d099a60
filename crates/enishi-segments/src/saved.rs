//! Named segments, their evaluations and snapshots, and static lists, kept in the store.

use crate::tree::{Node, Test, Value};
use crate::{members, CampaignGoal, Error, Refs};
use enishi_core::BusinessClock;
use enishi_store::repo::segments::{self as repo, Change, Segment, Snapshot};
use enishi_store::{Conn, StoreError};

/// The saved segments, static lists, campaigns and changes that `rule` names, and those the
/// segments' rules name in turn.
/// Names that do not exist are left out; compiling the rule then says so at the condition.
pub fn refs(c: &mut dyn Conn, rule: &Node) -> Result<Refs, Error> {
    let mut refs = Refs::default();
    let mut pending = vec![rule.clone()];
    while let Some(node) = pending.pop() {
        for (_, cond) in node.conditions() {
            if cond.field == "responded" {
                if let Some(Value::Text(name)) = cond.args.get("campaign") {
                    if !refs.campaigns.contains_key(name) {
                        if let Some(goal) = campaign_goal(c, name)? {
                            refs.campaigns.insert(name.clone(), goal);
                        }
                    }
                }
                continue;
            }
            if cond.field == "raised" {
                if let Some(Value::Text(key)) = cond.args.get("change") {
                    let key = key.trim();
                    if !refs.changes.contains_key(key) {
                        if let Some(ch) = enishi_store::repo::changes::by_key(c, key)? {
                            refs.changes.insert(key.to_string(), ch.id);
                        }
                    }
                }
                continue;
            }
            let names: Vec<&str> = match &cond.test {
                Some(Test::Compare(_, Value::Text(n))) => vec![n.as_str()],
                Some(Test::In(values)) => {
                    values.iter().filter_map(|v| if let Value::Text(n) = v { Some(n.as_str()) } else { None }).collect()
                }
                _ => continue,
            };
            for name in names {
                match cond.field.as_str() {
                    "segment" if !refs.segments.contains_key(name) => {
                        if let Some(s) = repo::by_name(c, name)? {
                            let rule = read_rule(&s)?;
                            pending.push(rule.clone());
                            refs.segments.insert(name.to_string(), rule);
                        }
                    }
                    "list" if !refs.lists.contains_key(name) => {
                        if let Some(l) = repo::list_by_name(c, name)? {
                            refs.lists.insert(name.to_string(), l.id);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(refs)
}

/// The goal and attribution window of the campaign named `name`, read from its document
/// (`goal` defaults to any purchase, `attribution_days` to 14, as docs/campaigns.md says).
fn campaign_goal(c: &mut dyn Conn, name: &str) -> Result<Option<CampaignGoal>, Error> {
    let Some(k) = enishi_store::repo::campaigns::by_name(c, name)? else { return Ok(None) };
    let corrupt = |message: String| {
        Error::Corrupt(format!("campaign {name}"), crate::tree::JsonError { pointer: String::new(), message })
    };
    let d: serde_json::Value = serde_json::from_str(&k.definition).map_err(|e| corrupt(e.to_string()))?;
    let goal = &d["goal"];
    let text = |key: &str| goal.get(key).and_then(serde_json::Value::as_str).map(String::from);
    let (sku, category) = match goal.get("kind").and_then(serde_json::Value::as_str).unwrap_or("purchase") {
        "purchase" => (None, None),
        "sku" => (Some(text("sku").ok_or_else(|| corrupt("goal: no sku".into()))?), None),
        "category" => (None, Some(text("category").ok_or_else(|| corrupt("goal: no category".into()))?)),
        other => return Err(corrupt(format!("goal: unknown kind '{other}'"))),
    };
    let attribution_days = d.get("attribution_days").and_then(serde_json::Value::as_i64).unwrap_or(14);
    Ok(Some(CampaignGoal { id: k.id, sku, category, attribution_days }))
}

/// A saved segment's rule.
pub fn read_rule(s: &Segment) -> Result<Node, Error> {
    let json: serde_json::Value = serde_json::from_str(&s.rule).map_err(|e| {
        Error::Corrupt(s.name.clone(), crate::tree::JsonError { pointer: String::new(), message: e.to_string() })
    })?;
    Node::from_json(&json).map_err(|e| Error::Corrupt(s.name.clone(), e))
}

/// The segment named `name`.
pub fn find(c: &mut dyn Conn, name: &str) -> Result<Segment, Error> {
    repo::by_name(c, name)?.ok_or_else(|| Error::NotFound("segment", name.to_string()))
}

/// Saves a new segment after checking its rule (fields, values, the segments and lists it
/// names, cycles); nothing is saved when anything is wrong.
pub fn create(
    c: &mut dyn Conn,
    name: &str,
    description: &str,
    rule: &Node,
    calendar: &BusinessClock,
) -> Result<Segment, Error> {
    check_name(name)?;
    crate::check(c, rule, calendar)?;
    let json = rule.to_json().to_string();
    repo::create(c, name.trim(), description.trim(), &json)?
        .ok_or_else(|| Error::NameTaken("segment", name.trim().to_string()))?;
    find(c, name.trim())
}

/// Replaces a saved segment's description and rule, after checking the rule as it would be
/// saved (a change that makes the segment part of a cycle is refused).
pub fn update(
    c: &mut dyn Conn,
    name: &str,
    description: &str,
    rule: &Node,
    calendar: &BusinessClock,
) -> Result<Segment, Error> {
    let existing = find(c, name)?;
    let mut refs = refs(c, rule)?;
    // Check the rule as if already saved, so that a reference back to this segment is a cycle.
    refs.segments.insert(existing.name.clone(), rule.clone());
    let self_reference = Node::Condition(crate::tree::Condition {
        field: "segment".into(),
        args: Default::default(),
        test: Some(Test::Compare(crate::tree::Op::Eq, Value::Text(existing.name.clone()))),
    });
    let ctx = crate::Context::for_checking(calendar, crate::dialect(c), &refs);
    crate::compile::validate(&self_reference, &ctx).map_err(|e| {
        // Errors are reported against the rule given, not the wrapper used to check it.
        crate::Invalid { pointer: String::new(), condition: crate::text::print(rule), message: e.message }
    })?;
    repo::update(c, existing.id, description.trim(), &rule.to_json().to_string())?;
    find(c, name)
}

fn check_name(name: &str) -> Result<(), Error> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(Error::Invalid(crate::Invalid {
            pointer: String::new(),
            condition: String::new(),
            message: "a name is 1 to 200 characters, without control characters".into(),
        }));
    }
    Ok(())
}

/// Evaluates a saved segment as of `as_of_day`, records its members, and says who joined and
/// who left since the last evaluation.
pub fn evaluate(
    c: &mut dyn Conn,
    s: &Segment,
    as_of_day: i64,
    calendar: &BusinessClock,
) -> Result<(Vec<i64>, Change), Error> {
    let rule = read_rule(s)?;
    let ids = members(c, &rule, as_of_day, calendar)?;
    let change = repo::record_evaluation(c, s.id, as_of_day, &ids)?;
    Ok((ids, change))
}

/// A saved segment's name, and its member count or why it could not be evaluated.
pub type Evaluated = (String, Result<usize, Error>);

/// Evaluates every saved segment as of `as_of_day` and records each (one transaction per
/// segment, so that writers wait for one at most): each segment's name with its member count,
/// or why it could not be evaluated (a rule naming a segment since deleted, say).
pub fn evaluate_every(
    store: &enishi_store::Store,
    as_of_day: i64,
    calendar: &BusinessClock,
) -> Result<Vec<Evaluated>, StoreError> {
    let segments = store.read(repo::list)?;
    let mut out = Vec::with_capacity(segments.len());
    for seg in segments {
        let result = store.write(|c| evaluate(c, &seg, as_of_day, calendar).map(|(ids, _)| ids.len()));
        if let Err(Error::Store(e)) = result {
            return Err(e);
        }
        out.push((seg.name, result));
    }
    Ok(out)
}

/// Keeps exactly who is in `rule` (saved as `segment`, if any) now, under `label`.
pub fn snapshot(
    c: &mut dyn Conn,
    segment: Option<&Segment>,
    rule: &Node,
    label: &str,
    as_of_day: i64,
    calendar: &BusinessClock,
) -> Result<Snapshot, Error> {
    Ok(snapshot_and_members(c, segment, rule, label, as_of_day, calendar)?.0)
}

/// [`snapshot`], answering the members kept as well (ascending), for a caller that goes on to
/// use them without reading them back.
pub fn snapshot_and_members(
    c: &mut dyn Conn,
    segment: Option<&Segment>,
    rule: &Node,
    label: &str,
    as_of_day: i64,
    calendar: &BusinessClock,
) -> Result<(Snapshot, Vec<i64>), Error> {
    let ids = members(c, rule, as_of_day, calendar)?;
    let snap = repo::snapshot(c, segment.map(|s| s.id), label, &rule.to_json().to_string(), as_of_day, &ids)?;
    Ok((snap, ids))
}

/// Creates an empty static list.
pub fn create_list(c: &mut dyn Conn, name: &str, description: &str) -> Result<i64, Error> {
    check_name(name)?;
    repo::create_list(c, name.trim(), description.trim())?
        .ok_or_else(|| Error::NameTaken("list", name.trim().to_string()))
}
