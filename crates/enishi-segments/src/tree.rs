//! The rule tree: conditions joined by AND, OR and NOT to any depth, and its JSON form.
//!
//! The tree is syntax only — a condition names a field, optional arguments and an optional
//! test. Whether a field exists and which values it takes is the compiler's business
//! ([`crate::compile`]), so that a stored rule can be read back even when it has become invalid
//! (a deleted tier, say) and shown with what is wrong.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value as Json};
use std::collections::BTreeMap;
use std::fmt;

/// A node of a rule tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// Every child holds.
    And(Vec<Node>),
    /// At least one child holds.
    Or(Vec<Node>),
    /// The child does not hold.
    Not(Box<Node>),
    /// One condition.
    Condition(Condition),
}

/// One condition: a field such as `orders` or `rfm.segment`, its arguments (`within: 90d`), and
/// a test (`>= 3`). A condition without a test is a flag (`consent.email`, `bought(sku: "A")`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// Dotted field name.
    pub field: String,
    /// Named arguments.
    pub args: BTreeMap<String, Value>,
    /// The comparison, if any.
    pub test: Option<Test>,
}

/// What a condition's field is compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    /// `field op value`.
    Compare(Op, Value),
    /// `field in (v1, v2, …)`: equal to one of the values.
    In(Vec<Value>),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Op {
    /// Every operator.
    pub const ALL: [Op; 6] = [Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge];

    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }

    /// The operator written `s`.
    pub fn parse(s: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.as_str() == s)
    }

    /// Whether `a op b` holds.
    pub fn holds<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            Op::Eq => a == b,
            Op::Ne => a != b,
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
        }
    }
}

/// A literal value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `"text"`
    Text(String),
    /// `12`, `-3`, `100.50`
    Number(Decimal),
    /// A length of time in days: `90d`.
    Days(u32),
    /// A calendar date: `2026-01-31`.
    Date(NaiveDate),
    /// `true` or `false`.
    Bool(bool),
}

impl Value {
    /// The kind of value, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Text(_) => "text",
            Value::Number(_) => "a number",
            Value::Days(_) => "a number of days",
            Value::Date(_) => "a date",
            Value::Bool(_) => "true or false",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A JSON rule that is not a rule tree: where (a JSON pointer) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at {pointer}: {message}")]
pub struct JsonError {
    /// JSON pointer to the offending node (`""` is the root, `/and/1/not` a nested node).
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

fn json_error(pointer: &str, message: impl Into<String>) -> JsonError {
    JsonError { pointer: pointer.to_string(), message: message.into() }
}

impl Node {
    /// The tree in its JSON form (docs/segments.md).
    pub fn to_json(&self) -> Json {
        match self {
            Node::And(children) => json!({ "and": children.iter().map(Node::to_json).collect::<Vec<_>>() }),
            Node::Or(children) => json!({ "or": children.iter().map(Node::to_json).collect::<Vec<_>>() }),
            Node::Not(child) => json!({ "not": child.to_json() }),
            Node::Condition(c) => {
                let mut o = Map::new();
                o.insert("field".into(), Json::String(c.field.clone()));
                if !c.args.is_empty() {
                    o.insert("args".into(), c.args.iter().map(|(k, v)| (k.clone(), value_to_json(v))).collect());
                }
                match &c.test {
                    Some(Test::Compare(op, v)) => {
                        o.insert("op".into(), Json::String(op.as_str().into()));
                        o.insert("value".into(), value_to_json(v));
                    }
                    Some(Test::In(values)) => {
                        o.insert("op".into(), Json::String("in".into()));
                        o.insert("value".into(), Json::Array(values.iter().map(value_to_json).collect()));
                    }
                    None => {}
                }
                Json::Object(o)
            }
        }
    }

    /// Reads a tree from its JSON form; an error names the node by JSON pointer.
    pub fn from_json(json: &Json) -> Result<Node, JsonError> {
        node_from_json(json, "", 0)
    }

    /// Every condition of the tree, depth first, left to right, with its JSON pointer.
    pub fn conditions(&self) -> Vec<(String, &Condition)> {
        fn walk<'a>(n: &'a Node, at: String, out: &mut Vec<(String, &'a Condition)>) {
            match n {
                Node::And(cs) => cs.iter().enumerate().for_each(|(i, c)| walk(c, format!("{at}/and/{i}"), out)),
                Node::Or(cs) => cs.iter().enumerate().for_each(|(i, c)| walk(c, format!("{at}/or/{i}"), out)),
                Node::Not(c) => walk(c, format!("{at}/not"), out),
                Node::Condition(c) => out.push((at, c)),
            }
        }
        let mut out = Vec::new();
        walk(self, String::new(), &mut out);
        out
    }
}

/// Deepest nesting a rule may have; deeper input is refused rather than risking the stack.
pub const MAX_DEPTH: usize = 64;

fn node_from_json(json: &Json, at: &str, depth: usize) -> Result<Node, JsonError> {
    if depth > MAX_DEPTH {
        return Err(json_error(at, format!("rules nest at most {MAX_DEPTH} deep")));
    }
    let Json::Object(o) = json else {
        return Err(json_error(at, "expected an object: {\"and\": […]}, {\"or\": […]}, {\"not\": …} or a condition"));
    };
    for (group, make) in [("and", Node::And as fn(Vec<Node>) -> Node), ("or", Node::Or)] {
        if let Some(children) = o.get(group) {
            only_keys(o, &[group], at)?;
            let here = format!("{at}/{group}");
            let Json::Array(children) = children else {
                return Err(json_error(&here, "expected an array of rules"));
            };
            if children.is_empty() {
                return Err(json_error(&here, "a group needs at least one rule"));
            }
            let mut nodes = children
                .iter()
                .enumerate()
                .map(|(i, c)| node_from_json(c, &format!("{here}/{i}"), depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            // A group of one is that rule: the text form has no way to write it.
            return Ok(if nodes.len() == 1 { nodes.remove(0) } else { make(nodes) });
        }
    }
    if let Some(child) = o.get("not") {
        only_keys(o, &["not"], at)?;
        return Ok(Node::Not(Box::new(node_from_json(child, &format!("{at}/not"), depth + 1)?)));
    }
    let Some(field) = o.get("field") else {
        return Err(json_error(at, "expected \"and\", \"or\", \"not\" or \"field\""));
    };
    only_keys(o, &["field", "args", "op", "value"], at)?;
    let Json::String(field) = field else {
        return Err(json_error(&format!("{at}/field"), "expected the field's name as text"));
    };
    if !is_field_name(field) {
        return Err(json_error(&format!("{at}/field"), format!("`{field}` is not a field name")));
    }
    let mut args = BTreeMap::new();
    if let Some(a) = o.get("args") {
        let Json::Object(a) = a else {
            return Err(json_error(&format!("{at}/args"), "expected an object of arguments"));
        };
        for (k, v) in a {
            let here = format!("{at}/args/{}", pointer_escape(k));
            if !is_field_name(k) {
                return Err(json_error(&here, format!("`{k}` is not an argument name")));
            }
            args.insert(k.clone(), value_from_json(v, &here)?);
        }
    }
    let test = match (o.get("op"), o.get("value")) {
        (None, None) => None,
        (Some(Json::String(op)), Some(v)) if op == "in" => {
            let here = format!("{at}/value");
            let Json::Array(values) = v else {
                return Err(json_error(&here, "`in` takes an array of values"));
            };
            if values.is_empty() {
                return Err(json_error(&here, "`in` needs at least one value"));
            }
            let values = values.iter().enumerate().map(|(i, v)| value_from_json(v, &format!("{here}/{i}")));
            Some(Test::In(values.collect::<Result<_, _>>()?))
        }
        (Some(Json::String(op)), Some(v)) => {
            let Some(op) = Op::parse(op) else {
                return Err(json_error(&format!("{at}/op"), format!("`{op}` is not one of =, !=, <, <=, >, >=, in")));
            };
            Some(Test::Compare(op, value_from_json(v, &format!("{at}/value"))?))
        }
        (Some(_), Some(_)) => return Err(json_error(&format!("{at}/op"), "expected the operator as text")),
        (Some(_), None) => return Err(json_error(at, "an \"op\" needs a \"value\"")),
        (None, Some(_)) => return Err(json_error(at, "a \"value\" needs an \"op\"")),
    };
    Ok(Node::Condition(Condition { field: field.clone(), args, test }))
}

fn only_keys(o: &Map<String, Json>, allowed: &[&str], at: &str) -> Result<(), JsonError> {
    match o.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(json_error(at, format!("unexpected key \"{k}\" (allowed here: {})", allowed.join(", ")))),
        None => Ok(()),
    }
}

/// `~` and `/` escaped as a JSON pointer needs them.
fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Whether `s` is a dotted name: identifiers (`[A-Za-z_][A-Za-z0-9_]*`) joined by dots.
pub fn is_field_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !crate::text::KEYWORDS.contains(&part)
        })
}

fn value_to_json(v: &Value) -> Json {
    match v {
        Value::Text(s) => Json::String(s.clone()),
        Value::Number(d) => {
            let text = d.normalize().to_string();
            serde_json::from_str(&text).unwrap_or(Json::String(text))
        }
        Value::Days(n) => json!({ "days": n }),
        Value::Date(d) => json!({ "date": d.format("%Y-%m-%d").to_string() }),
        Value::Bool(b) => Json::Bool(*b),
    }
}

fn value_from_json(v: &Json, at: &str) -> Result<Value, JsonError> {
    Ok(match v {
        Json::String(s) => Value::Text(s.clone()),
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => Value::Number(
            crate::text::parse_number(&n.to_string())
                .ok_or_else(|| json_error(at, format!("{n} is not a number Enishi can hold")))?,
        ),
        Json::Object(o) if o.len() == 1 && o.contains_key("days") => match o["days"].as_u64() {
            Some(n) if n <= u64::from(crate::text::MAX_DAYS) => Value::Days(n as u32),
            _ => {
                return Err(json_error(
                    &format!("{at}/days"),
                    format!("expected whole days, 0 to {}", crate::text::MAX_DAYS),
                ))
            }
        },
        Json::Object(o) if o.len() == 1 && o.contains_key("date") => {
            match o["date"].as_str().and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()) {
                Some(d) => Value::Date(d),
                None => return Err(json_error(&format!("{at}/date"), "expected a date YYYY-MM-DD")),
            }
        }
        _ => {
            return Err(json_error(
                at,
                "expected text, a number, true/false, {\"days\": N} or {\"date\": \"YYYY-MM-DD\"}",
            ))
        }
    })
}
