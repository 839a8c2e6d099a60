//! The console's segments (owners and marketers): the page of saved segments — each with its
//! members now, who joined and who left since its last evaluation, and the trend of its
//! snapshots — and the segment builder.
//!
//! The builder works without script: it is one form whose fields encode the rule tree (a path
//! such as `0.2.1` names each node), and its buttons — add a condition or a group, remove,
//! count, use the text form, save — post it back and get it re-rendered with the count, a
//! sample of members and, when the rule is wrong, the bad condition highlighted with why. The
//! script `/segments.js`, where the browser runs it, posts the same form to
//! `/segment-preview` as the visitor types and shows the answer: a live count.

use crate::console::i18n::Tr;
use crate::console::shell::{
    carries_csrf, table, urlencode, ConsoleManager, ForManagers, Posted, Quoted, ScriptForm, Visitor,
};
use crate::{ApiError, AppState};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use enishi_segments::catalogue::{Family, FIELDS};
use enishi_segments::text::{parse, print, write_value};
use enishi_segments::tree::{is_field_name, Condition, Op, Test, Value};
use enishi_segments::{saved, Node};
use enishi_store::repo::segments as repo;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/segments", get(segments_page))
        .route("/segments.js", get(script))
        .route("/segment-preview", post(preview))
        .route("/segments/new", get(new_page).post(submit_new))
        .route("/segments/{name}", get(edit_page).post(submit_edit))
        .route("/segments/{name}/snapshots", post(take_snapshot))
        .route("/segments/{name}/evaluate", post(count_now))
}

/// Most nodes one builder form may hold.
const MAX_NODES: usize = 500;

/// Members shown as a sample.
const SAMPLE: u64 = 5;

/// The live count: a same-origin file, so that the Content-Security-Policy can allow scripts
/// from this server only (no inline script, no eval).
const SCRIPT: &str = include_str!("segments.js");

async fn script() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")], SCRIPT)
        .into_response()
}

/// The segment pages: for owners and marketers.
pub(crate) struct SegmentPages;

impl ForManagers for SegmentPages {
    fn who_may(tr: Tr) -> &'static str {
        tr.t("Segments are for owners and marketers.")
    }
}

/// A node of the rule as the builder shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// All (`any` false) or any (`any` true) of the children; `negated` puts `not` before it.
    Group { any: bool, negated: bool, children: Vec<Item> },
    /// One condition, its parts as typed.
    Cond(Cond),
}

/// A condition as typed: the field, its arguments in the text form (`sku: "A", within: 90d`),
/// an operator (empty: the condition is a flag) and the value (`3`, `"gold"`, `"a", "b"`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Cond {
    negated: bool,
    field: String,
    args: String,
    op: String,
    value: String,
}

impl Item {
    fn empty_group(any: bool) -> Item {
        Item::Group { any, negated: false, children: Vec::new() }
    }

    fn negated(&self) -> bool {
        match self {
            Item::Group { negated, .. } => *negated,
            Item::Cond(c) => c.negated,
        }
    }

    fn negate(&mut self) {
        match self {
            Item::Group { negated, .. } => *negated = true,
            Item::Cond(c) => c.negated = true,
        }
    }

    /// The builder's form of `node`.
    fn from_node(node: &Node) -> Item {
        match node {
            Node::And(cs) => {
                Item::Group { any: false, negated: false, children: cs.iter().map(Item::from_node).collect() }
            }
            Node::Or(cs) => {
                Item::Group { any: true, negated: false, children: cs.iter().map(Item::from_node).collect() }
            }
            Node::Not(inner) => {
                let mut item = Item::from_node(inner);
                if item.negated() {
                    Item::Group { any: false, negated: true, children: vec![item] }
                } else {
                    item.negate();
                    item
                }
            }
            Node::Condition(c) => Item::Cond(Cond::from_condition(c)),
        }
    }

    /// The builder's root for `node`: always a group.
    fn root(node: &Node) -> Item {
        match Item::from_node(node) {
            group @ Item::Group { .. } => group,
            cond => Item::Group { any: false, negated: false, children: vec![cond] },
        }
    }

    /// The node at `path` (`[0]` is this root).
    fn at_mut(&mut self, path: &[u32]) -> Option<&mut Item> {
        let (first, rest) = path.split_first()?;
        if *first != 0 {
            return None;
        }
        let mut here = self;
        for i in rest {
            match here {
                Item::Group { children, .. } => here = children.get_mut(*i as usize)?,
                Item::Cond(_) => return None,
            }
        }
        Some(here)
    }
}

/// A value as the text form writes it.
fn value_text(v: &Value) -> String {
    let mut out = String::new();
    write_value(v, &mut out);
    out
}

impl Cond {
    fn from_condition(c: &Condition) -> Cond {
        let args = c.args.iter().map(|(k, v)| format!("{k}: {}", value_text(v))).collect::<Vec<_>>().join(", ");
        let (op, value) = match &c.test {
            None => (String::new(), String::new()),
            Some(Test::Compare(op, v)) => (op.as_str().to_string(), value_text(v)),
            Some(Test::In(vs)) => ("in".to_string(), vs.iter().map(value_text).collect::<Vec<_>>().join(", ")),
        };
        Cond { negated: false, field: c.field.clone(), args, op, value }
    }

    /// A new condition on `field`, filled in from the catalogue's example.
    fn example(field: &str) -> Cond {
        let example = FIELDS.iter().find(|f| f.name == field).and_then(|f| parse(f.example).ok());
        match example.as_ref().and_then(|n| n.conditions().first().map(|(_, c)| Cond::from_condition(c))) {
            Some(c) => c,
            None => Cond { field: field.to_string(), ..Cond::default() },
        }
    }

    /// The condition this stands for, or why it cannot be read (in the visitor's language).
    fn condition(&self, tr: Tr) -> Result<Condition, String> {
        let field = self.field.trim();
        if !is_field_name(field) {
            return Err(tr.t("Choose a field.").to_string());
        }
        let args =
            if self.args.trim().is_empty() {
                BTreeMap::new()
            } else {
                match parse(&format!("{field}({})", self.args)) {
                    Ok(Node::Condition(c)) if c.test.is_none() && c.field == field => c.args,
                    _ => return Err(tr
                        .t("Write the arguments as name: value, separated by commas, such as sku: \"A\", within: 90d.")
                        .to_string()),
                }
            };
        let value = self.value.trim();
        let test = match self.op.as_str() {
            "" => None,
            _ if value.is_empty() => return Err(tr.t("Give a value to compare with.").to_string()),
            "in" => {
                let values = match parse(&format!("x in ({value})")) {
                    Ok(Node::Condition(Condition { test: Some(Test::In(vs)), .. })) => vs,
                    _ => value.split(',').map(str::trim).filter(|v| !v.is_empty()).map(one_value).collect(),
                };
                Some(Test::In(values))
            }
            op => match Op::parse(op) {
                Some(op) => Some(Test::Compare(op, one_value(value))),
                None => return Err(tr.t("Choose an operator.").to_string()),
            },
        };
        Ok(Condition { field: field.to_string(), args, test })
    }
}

/// A value as typed: in the text form (`3`, `90d`, `2026-01-31`, `"gold"`, `true`), or else
/// the text as it is (`gold`).
fn one_value(typed: &str) -> Value {
    match parse(&format!("x = {typed}")) {
        Ok(Node::Condition(Condition { test: Some(Test::Compare(_, v)), .. })) => v,
        _ => Value::Text(typed.to_string()),
    }
}

/// A path as written in the form: `0.2.1`.
fn path_text(path: &[u32]) -> String {
    path.iter().map(u32::to_string).collect::<Vec<_>>().join(".")
}

fn path_of(text: &str) -> Option<Vec<u32>> {
    let path: Option<Vec<u32>> = text.split('.').map(|p| p.parse().ok()).collect();
    path.filter(|p| p.first() == Some(&0) && p.len() <= enishi_segments::tree::MAX_DEPTH)
}

/// A rule built from the builder's tree, and which builder node each part came from.
struct Built {
    node: Node,
    /// (JSON pointer relative to `node`, the builder path), outermost first.
    marks: Vec<(String, String)>,
}

/// A wrong node: its builder path and why.
type Wrong = (String, String);

/// Builds the rule of `item` at `path`; an empty group stands for nothing.
fn build(item: &Item, path: &[u32], tr: Tr) -> Result<Option<Built>, Wrong> {
    let here = path_text(path);
    let (mut built, negated) = match item {
        Item::Cond(c) => {
            let condition = c.condition(tr).map_err(|m| (here.clone(), m))?;
            (Built { node: Node::Condition(condition), marks: vec![(String::new(), here.clone())] }, c.negated)
        }
        Item::Group { any, negated, children } => {
            let mut kept = Vec::new();
            for (i, child) in children.iter().enumerate() {
                if let Some(b) = build(child, &child_path(path, i), tr)? {
                    kept.push(b);
                }
            }
            let mut marks = vec![(String::new(), here.clone())];
            let node = match kept.len() {
                0 => return Ok(None),
                // A group of one is that rule (as the engine reads it).
                1 => {
                    let only = kept.remove(0);
                    marks.extend(only.marks);
                    only.node
                }
                _ => {
                    let key = if *any { "or" } else { "and" };
                    let mut nodes = Vec::new();
                    for (i, b) in kept.into_iter().enumerate() {
                        marks.extend(b.marks.into_iter().map(|(at, p)| (format!("/{key}/{i}{at}"), p)));
                        nodes.push(b.node);
                    }
                    if *any {
                        Node::Or(nodes)
                    } else {
                        Node::And(nodes)
                    }
                }
            };
            (Built { node, marks }, *negated)
        }
    };
    if negated {
        built.marks = built.marks.into_iter().map(|(at, p)| (format!("/not{at}"), p)).collect();
        built.marks.insert(0, (String::new(), here));
        built.node = Node::Not(Box::new(built.node));
    }
    Ok(Some(built))
}

impl Built {
    /// The builder path of the deepest node at or around JSON pointer `pointer`.
    fn path_at(&self, pointer: &str) -> Option<String> {
        self.marks
            .iter()
            .filter(|(at, _)| pointer == at || pointer.starts_with(&format!("{at}/")))
            .max_by_key(|(at, _)| at.len())
            .map(|(_, p)| p.clone())
    }
}

/// What a button of the builder asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Action {
    Count,
    Save,
    UseText,
    Add(Vec<u32>),
    AddGroup(Vec<u32>),
    Remove(Vec<u32>),
}

/// The builder's form as sent.
struct Sent {
    action: Action,
    name: String,
    description: String,
    text: String,
    text_was: String,
    root: Item,
    /// The field chosen to add, by group path.
    picks: HashMap<String, String>,
}

impl Sent {
    /// Reads the form's fields; `None` when they do not describe a tree.
    fn read(fields: &[(String, String)]) -> Option<Sent> {
        let mut one: HashMap<&str, &str> = HashMap::new();
        let mut nodes: BTreeMap<Vec<u32>, bool> = BTreeMap::new(); // path → is a group
        let mut picks = HashMap::new();
        for (k, v) in fields {
            one.insert(k.as_str(), v.as_str());
            if let Some((kind, p)) = k.split_once('.') {
                match kind {
                    "g" => {
                        nodes.insert(path_of(p)?, true);
                    }
                    "f" => {
                        nodes.entry(path_of(p)?).or_insert(false);
                    }
                    "pick" => {
                        picks.insert(p.to_string(), v.clone());
                    }
                    _ => {}
                }
            }
        }
        if nodes.len() > MAX_NODES {
            return None;
        }
        let get = |k: String| one.get(k.as_str()).map(|s| s.to_string()).unwrap_or_default();
        fn item(path: &[u32], nodes: &BTreeMap<Vec<u32>, bool>, get: &dyn Fn(String) -> String) -> Item {
            let p = path_text(path);
            let negated = !get(format!("n.{p}")).is_empty();
            if nodes.get(path) == Some(&false) {
                return Item::Cond(Cond {
                    negated,
                    field: get(format!("f.{p}")),
                    args: get(format!("a.{p}")),
                    op: get(format!("o.{p}")),
                    value: get(format!("v.{p}")),
                });
            }
            let children = nodes
                .keys()
                .filter(|k| k.len() == path.len() + 1 && k.starts_with(path))
                .map(|k| item(k, nodes, get))
                .collect();
            Item::Group { any: get(format!("g.{p}")) == "any", negated, children }
        }
        let root =
            if nodes.get([0].as_slice()) == Some(&true) { item(&[0], &nodes, &get) } else { Item::empty_group(false) };
        let action = match get("do".into()).as_str() {
            "save" => Action::Save,
            "text" => Action::UseText,
            other => match other.split_once(':') {
                Some(("add", p)) => Action::Add(path_of(p)?),
                Some(("group", p)) => Action::AddGroup(path_of(p)?),
                Some(("remove", p)) => Action::Remove(path_of(p)?),
                _ => Action::Count,
            },
        };
        Some(Sent {
            action,
            name: get("name".into()),
            description: get("description".into()),
            text: get("text".into()),
            text_was: get("text_was".into()),
            root,
            picks,
        })
    }

    /// Whether the text form was edited since the page showed it (then it is the rule).
    fn text_edited(&self) -> bool {
        self.text.trim() != self.text_was.trim()
    }

    /// Does a tree button's work.
    fn apply(&mut self) {
        match self.action.clone() {
            Action::Add(path) => {
                let field = self.picks.get(&path_text(&path)).cloned().unwrap_or_default();
                if let Some(Item::Group { children, .. }) = self.root.at_mut(&path) {
                    children.push(Item::Cond(Cond::example(&field)));
                }
            }
            Action::AddGroup(path) => {
                if let Some(Item::Group { any, children, .. }) = self.root.at_mut(&path) {
                    children.push(Item::empty_group(!*any));
                }
            }
            Action::Remove(path) => {
                if let Some((last, parent)) = path.split_last() {
                    if let Some(Item::Group { children, .. }) = self.root.at_mut(parent) {
                        if (*last as usize) < children.len() {
                            children.remove(*last as usize);
                        }
                    }
                }
            }
            Action::Count | Action::Save | Action::UseText => {}
        }
    }
}

/// What is wrong with the rule, and where.
#[derive(Debug, Clone)]
enum Problem {
    /// A node of the tree (its path) and why.
    At(String, String),
    /// The text form: where and why.
    Text { line: usize, column: usize, message: String, source: String },
    /// The rule as a whole, or the name.
    General(String),
}

/// The builder as shown.
struct Builder {
    /// The saved segment's name when editing one.
    existing: Option<String>,
    name: String,
    description: String,
    root: Item,
    text: String,
    count: Option<i64>,
    sample: Vec<(i64, String)>,
    problem: Option<Problem>,
}

impl Builder {
    fn new(existing: Option<String>, name: String, description: String, rule: Option<&Node>) -> Builder {
        Builder {
            existing,
            name,
            description,
            root: rule.map_or_else(|| Item::empty_group(false), Item::root),
            text: rule.map(print).unwrap_or_default(),
            count: None,
            sample: Vec::new(),
            problem: None,
        }
    }
}

/// The builder's rule after the sent action: from the text form when that is what was
/// edited (or asked for), else from the tree. Sets the builder's tree and text to match.
fn settle(b: &mut Builder, sent: &mut Sent, tr: Tr) -> Result<Option<Built>, Problem> {
    let from_text = sent.action == Action::UseText
        || (matches!(sent.action, Action::Count | Action::Save) && sent.text_edited() && !sent.text.trim().is_empty());
    if from_text {
        match parse(&sent.text) {
            Ok(node) => sent.root = Item::root(&node),
            Err(e) => {
                b.text = sent.text.clone();
                let source = sent.text.lines().nth(e.line.saturating_sub(1)).unwrap_or("").to_string();
                let message =
                    tr.f("Line {}, column {}: expected {}, found {}.", &[&e.line, &e.column, &e.expected, &e.found]);
                return Err(Problem::Text { line: e.line, column: e.column, message, source });
            }
        }
    }
    sent.apply();
    b.root = sent.root.clone();
    let built = build(&b.root, &[0], tr).map_err(|(p, m)| Problem::At(p, m))?;
    b.text = built.as_ref().map(|x| print(&x.node)).unwrap_or_default();
    Ok(built)
}

/// The builder's problem for an engine error about `built`.
fn problem_of(e: enishi_segments::Error, built: &Built, tr: Tr) -> Result<Problem, ApiError> {
    match e {
        enishi_segments::Error::Invalid(i) => {
            let message = tr.message(&i.message);
            Ok(match built.path_at(&i.pointer) {
                Some(path) => Problem::At(path, message),
                None => Problem::General(message),
            })
        }
        enishi_segments::Error::NameTaken(_, name) => {
            Ok(Problem::General(tr.f("There is already a segment named \"{}\".", &[&name])))
        }
        enishi_segments::Error::Store(e) => Err(e.into()),
        other => Ok(Problem::General(tr.message(&other.to_string()))),
    }
}

/// Counts `rule` today and reads a sample of its members: (count, sample).
async fn count_and_sample(
    state: &AppState,
    rule: Node,
) -> Result<Result<(i64, Vec<(i64, String)>), enishi_segments::Error>, ApiError> {
    let calendar = state.workspace().clock;
    let today = calendar.day_number(state.now());
    state
        .run(move |s| {
            Ok(s.read(|c| {
                let n = enishi_segments::count(c, &rule, today, &calendar)?;
                let first = enishi_segments::sample(c, &rule, today, &calendar, SAMPLE)?;
                let sample =
                    repo::contacts(c, &first)?.into_iter().map(|x| (x.id, x.name.unwrap_or(x.external_id))).collect();
                Ok::<_, enishi_segments::Error>((n, sample))
            }))
        })
        .await
}

#[derive(Deserialize)]
struct NewQuery {
    /// A preset's index in the list of presets (with `a` and `b`, the product ones first).
    preset: Option<usize>,
    a: Option<String>,
    b: Option<String>,
}

/// The product pair of a query, when both SKUs are given.
fn pair<'a>(a: &'a Option<String>, b: &'a Option<String>) -> Option<(&'a str, &'a str)> {
    match (a.as_deref().map(str::trim), b.as_deref().map(str::trim)) {
        (Some(a), Some(b)) if !a.is_empty() && !b.is_empty() => Some((a, b)),
        _ => None,
    }
}

/// A preset's name and description in the visitor's language.
fn preset_words(
    tr: Tr,
    index: usize,
    p: &enishi_segments::presets::Preset,
    pair: Option<(&str, &str)>,
) -> (String, String) {
    match (pair, index) {
        (Some((a, b)), 0) => (tr.f("Bought {} only", &[&a]), tr.f("Offer them {}.", &[&b])),
        (Some((a, b)), 1) => {
            (tr.f("Bought {} and {}", &[&a, &b]), tr.t("They know both: thank them, offer what goes with both.").into())
        }
        (Some((a, b)), 2) => (tr.f("Bought {} only", &[&b]), tr.f("Offer them {}.", &[&a])),
        _ => (tr.word(&p.name), tr.word(p.description)),
    }
}

async fn new_page(
    ConsoleManager(v, _): ConsoleManager<SegmentPages>,
    State(state): State<AppState>,
    Query(q): Query<NewQuery>,
) -> Response {
    let tr = v.tr();
    let pair = pair(&q.a, &q.b);
    let presets = enishi_segments::presets::presets(pair);
    let mut b = match q.preset.and_then(|i| presets.get(i).map(|p| (i, p))) {
        Some((i, p)) => {
            let (name, description) = preset_words(tr, i, p, pair);
            Builder::new(None, name, description, Some(&p.rule))
        }
        None => Builder::new(None, String::new(), String::new(), None),
    };
    if q.preset.is_some() {
        if let Err(r) = preview_into(&state, &mut b, tr).await {
            return r;
        }
    }
    v.page(tr.t("New segment"), builder_body(&v, &b)).into_response()
}

/// Fills in the count and sample of the builder's rule, or its problem.
async fn preview_into(state: &AppState, b: &mut Builder, tr: Tr) -> Result<(), Response> {
    let built = match build(&b.root, &[0], tr) {
        Ok(Some(built)) => built,
        Ok(None) => return Ok(()),
        Err((p, m)) => {
            b.problem = Some(Problem::At(p, m));
            return Ok(());
        }
    };
    match count_and_sample(state, built.node.clone()).await {
        Ok(Ok((n, sample))) => {
            b.count = Some(n);
            b.sample = sample;
        }
        Ok(Err(e)) => b.problem = Some(problem_of(e, &built, tr).map_err(IntoResponse::into_response)?),
        Err(e) => return Err(e.into_response()),
    }
    Ok(())
}

async fn edit_page(
    ConsoleManager(v, _): ConsoleManager<SegmentPages>,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Response {
    let tr = v.tr();
    let found = state.run(move |s| Ok(s.read(|c| repo::by_name(c, &name))?)).await;
    let seg = match found {
        Ok(Some(seg)) => seg,
        Ok(None) => return v.not_found(),
        Err(e) => return e.into_response(),
    };
    let mut b = match saved::read_rule(&seg) {
        Ok(rule) => Builder::new(Some(seg.name.clone()), seg.name.clone(), seg.description.clone(), Some(&rule)),
        Err(e) => {
            let mut b = Builder::new(Some(seg.name.clone()), seg.name.clone(), seg.description.clone(), None);
            b.problem = Some(Problem::General(e.to_string()));
            b
        }
    };
    if b.problem.is_none() {
        if let Err(r) = preview_into(&state, &mut b, tr).await {
            return r;
        }
    }
    v.page(&seg.name, builder_body(&v, &b)).into_response()
}

async fn submit_new(
    ConsoleManager(v, _): ConsoleManager<SegmentPages>,
    State(state): State<AppState>,
    Posted(fields): Posted<Vec<(String, String)>>,
) -> Response {
    submit(v, state, None, fields).await
}

async fn submit_edit(
    ConsoleManager(v, _): ConsoleManager<SegmentPages>,
    State(state): State<AppState>,
    Path(name): Path<String>,
    Posted(fields): Posted<Vec<(String, String)>>,
) -> Response {
    submit(v, state, Some(name), fields).await
}

/// A builder post: do the button's work, then show the builder again with the count (or save
/// and go to the segments page).
async fn submit(v: Visitor, state: AppState, existing: Option<String>, fields: Vec<(String, String)>) -> Response {
    let tr = v.tr();
    let Some(mut sent) = Sent::read(&fields) else {
        return v.bad_form(tr.t("Segment"), tr.t("The form does not describe a rule. Reload the page and try again."));
    };
    if let Some(name) = &existing {
        let wanted = name.clone();
        match state.run(move |s| Ok(s.read(|c| repo::by_name(c, &wanted))?)).await {
            Ok(Some(_)) => {}
            Ok(None) => return v.not_found(),
            Err(e) => return e.into_response(),
        }
    }
    let name = existing.clone().unwrap_or_else(|| sent.name.trim().to_string());
    let mut b = Builder::new(existing.clone(), name.clone(), sent.description.clone(), None);
    let built = match settle(&mut b, &mut sent, tr) {
        Ok(built) => built,
        Err(p) => {
            b.problem = Some(p);
            return (StatusCode::UNPROCESSABLE_ENTITY, v.page(tr.t("Segment"), builder_body(&v, &b))).into_response();
        }
    };
    if sent.action != Action::Save {
        if let Some(built) = &built {
            match count_and_sample(&state, built.node.clone()).await {
                Ok(Ok((n, sample))) => {
                    b.count = Some(n);
                    b.sample = sample;
                }
                Ok(Err(e)) => match problem_of(e, built, tr) {
                    Ok(p) => b.problem = Some(p),
                    Err(e) => return e.into_response(),
                },
                Err(e) => return e.into_response(),
            }
        }
        let status = if b.problem.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
        return (status, v.page(tr.t("Segment"), builder_body(&v, &b))).into_response();
    }
    let refuse = |b: &mut Builder, p: Problem| {
        b.problem = Some(p);
        (StatusCode::UNPROCESSABLE_ENTITY, v.page(tr.t("Segment"), builder_body(&v, b))).into_response()
    };
    if name.is_empty() || name.chars().count() > 200 {
        return refuse(&mut b, Problem::General(tr.t("Give the segment a name of 1 to 200 characters.").into()));
    }
    let Some(built) = built else {
        return refuse(&mut b, Problem::General(tr.t("Add at least one condition.").into()));
    };
    let calendar = state.workspace().clock;
    let today = calendar.day_number(state.now());
    let (rule, description, actor, is_new) =
        (built.node.clone(), sent.description.clone(), v.actor(), existing.is_none());
    let saving = name.clone();
    let result = state
        .run(move |s| {
            Ok(s.write(|c| {
                let seg = if is_new {
                    saved::create(c, &saving, &description, &rule, &calendar)?
                } else {
                    saved::update(c, &saving, &description, &rule, &calendar)?
                };
                // The evaluation at saving is what the segments page's "joined / left" counts from.
                saved::evaluate(c, &seg, today, &calendar)?;
                let after = json!({"name": seg.name, "description": seg.description, "rule": print(&rule)});
                let action = if is_new { "segment.create" } else { "segment.update" };
                crate::audit::record(c, &actor, action, &format!("segment:{}", seg.name), Some(after))?;
                Ok::<_, enishi_segments::Error>(seg)
            }))
        })
        .await;
    match result {
        Ok(Ok(seg)) => Redirect::to(&format!("/segments?saved={}", urlencode(&seg.name))).into_response(),
        Ok(Err(e)) => match problem_of(e, &built, tr) {
            Ok(p) => {
                let status = if matches!(p, Problem::General(_)) && b.existing.is_none() {
                    StatusCode::CONFLICT
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                };
                let mut r = refuse(&mut b, p);
                *r.status_mut() = status;
                r
            }
            Err(e) => e.into_response(),
        },
        Err(e) => e.into_response(),
    }
}

/// The live count: the builder's form as `/segments.js` posts it, answered as JSON — the
/// count and a sample, or the problem (with the node's path when it is in the tree), and the
/// rule's text form.
async fn preview(State(state): State<AppState>, ScriptForm(v, fields): ScriptForm<Vec<(String, String)>>) -> Response {
    let tr = v.tr();
    let Some(mut sent) = Sent::read(&fields) else {
        return ApiError::invalid("form", "the form does not describe a rule").into_response();
    };
    sent.action = Action::Count;
    let from_text = sent.text_edited();
    let mut b = Builder::new(None, String::new(), String::new(), None);
    let problem = match settle(&mut b, &mut sent, tr) {
        Ok(Some(built)) => match count_and_sample(&state, built.node.clone()).await {
            Ok(Ok((n, sample))) => {
                b.count = Some(n);
                b.sample = sample;
                None
            }
            Ok(Err(e)) => match problem_of(e, &built, tr) {
                Ok(p) => Some(p),
                Err(e) => return e.into_response(),
            },
            Err(e) => return e.into_response(),
        },
        Ok(None) => None,
        Err(p) => Some(p),
    };
    let error = problem.map(|p| match p {
        // A path in a tree parsed from the text is not on the page: the text form is told instead.
        Problem::At(path, message) if !from_text => json!({"path": path, "message": message}),
        Problem::At(_, message) | Problem::General(message) => json!({"path": null, "message": message}),
        Problem::Text { message, .. } => json!({"path": null, "message": message, "text": true}),
    });
    let sample: Vec<_> = b.sample.iter().map(|(id, name)| json!({"id": id, "name": name})).collect();
    axum::Json(json!({"count": b.count, "sample": sample, "error": error, "text": b.text, "from_text": from_text}))
        .into_response()
}

/// The `<option>`s of every field, grouped by family, with `chosen` selected (and kept as an
/// option of its own when the catalogue does not know it).
fn field_options(tr: Tr, chosen: &str) -> Markup {
    let known = FIELDS.iter().any(|f| f.name == chosen);
    html! {
        @if !known && !chosen.is_empty() { option value=(chosen) selected { (chosen) } }
        @for family in Family::ALL {
            optgroup label=(tr.word(family.name())) {
                @for f in FIELDS.iter().filter(|f| f.family == family) {
                    option value=(f.name) selected[f.name == chosen] { (f.name) }
                }
            }
        }
    }
}

/// The operators a condition may use, as (value, label).
fn operators(tr: Tr) -> Vec<(&'static str, String)> {
    let mut ops = vec![("", tr.t("holds (no comparison)").to_string())];
    ops.extend(Op::ALL.iter().map(|op| (op.as_str(), op.as_str().to_string())));
    ops.push(("in", tr.t("is one of").to_string()));
    ops
}

fn problem_here<'a>(b: &'a Builder, path: &str) -> Option<&'a str> {
    match &b.problem {
        Some(Problem::At(p, m)) if p == path => Some(m),
        _ => None,
    }
}

fn child_path(path: &[u32], i: usize) -> Vec<u32> {
    let mut p = path.to_vec();
    p.push(i as u32);
    p
}

fn render_item(tr: Tr, b: &Builder, item: &Item, path: &[u32]) -> Markup {
    let p = path_text(path);
    let wrong = problem_here(b, &p);
    let class = |base: &str| if wrong.is_some() { format!("{base} bad") } else { base.to_string() };
    match item {
        Item::Cond(c) => {
            let example = FIELDS.iter().find(|f| f.name == c.field).map(|f| f.example);
            html! {
                div class=(class("cond")) data-path=(p) {
                    label { input type="checkbox" name={ "n." (p) } value="1" checked[c.negated]; " " (tr.t("Not")) } " "
                    label { span class="muted" { (tr.t("Field")) } " " select name={ "f." (p) } { (field_options(tr, &c.field)) } } " "
                    label { span class="muted" { (tr.t("Arguments")) } " " input name={ "a." (p) } value=(c.args) placeholder="within: 90d" size="18"; } " "
                    label {
                        span class="muted" { (tr.t("Operator")) } " "
                        select name={ "o." (p) } {
                            @for (op, label) in operators(tr) { option value=(op) selected[op == c.op] { (label) } }
                        }
                    } " "
                    label { span class="muted" { (tr.t("Value")) } " " input name={ "v." (p) } value=(c.value) size="14"; } " "
                    button name="do" value={ "remove:" (p) } class="remove" { (tr.t("Remove")) }
                    @if let Some(e) = example { br; span class="muted" { (tr.t("Example:")) " " code { (e) } } }
                    @if let Some(m) = wrong { p class="error" role="alert" { (Quoted(m)) } }
                }
            }
        }
        Item::Group { any, negated, children } => {
            let root = path.len() == 1;
            html! {
                fieldset class=(class("group")) data-path=(p) {
                    legend {
                        label {
                            span class="muted" { (tr.t("Match")) } " "
                            select name={ "g." (p) } {
                                option value="all" selected[!any] { (tr.t("all of these (AND)")) }
                                option value="any" selected[*any] { (tr.t("any of these (OR)")) }
                            }
                        } " "
                        label { input type="checkbox" name={ "n." (p) } value="1" checked[*negated]; " " (tr.t("Not")) }
                        @if !root { " " button name="do" value={ "remove:" (p) } class="remove" { (tr.t("Remove group")) } }
                    }
                    @if let Some(m) = wrong { p class="error" role="alert" { (Quoted(m)) } }
                    @if children.is_empty() { p class="muted" { (tr.t("No conditions yet: choose a field and add a condition.")) } }
                    ol {
                        @for (i, child) in children.iter().enumerate() {
                            li { (render_item(tr, b, child, &child_path(path, i))) }
                        }
                    }
                    div class="add" {
                        label {
                            span class="muted" { (tr.t("Condition")) } " "
                            select name={ "pick." (p) } { (field_options(tr, "")) }
                        } " "
                        button name="do" value={ "add:" (p) } { (tr.t("Add condition")) } " "
                        button name="do" value={ "group:" (p) } { (tr.t("Add group")) }
                    }
                }
            }
        }
    }
}

fn builder_body(v: &Visitor, b: &Builder) -> Markup {
    let tr = v.tr();
    let action = match &b.existing {
        Some(name) => format!("/segments/{}", urlencode(name)),
        None => "/segments/new".to_string(),
    };
    let general = match &b.problem {
        Some(Problem::General(m)) => Some(m.as_str()),
        _ => None,
    };
    html! {
        h1 {
            @match &b.existing { Some(name) => { (tr.t("Segment")) ": " (name) }, None => (tr.t("New segment")) }
        }
        p {
            a href="/segments" { (tr.t("← Segments")) }
            @if let Some(name) = &b.existing {
                " · " a id="members-link" href={ "/customers?saved=" (urlencode(name)) } { (tr.t("Customers in this segment")) }
            }
        }
        form method="post" action=(action) id="builder" data-preview="/segment-preview" {
            input type="hidden" name="csrf" value=(v.csrf);
            section class="card" id="preview" aria-live="polite" {
                (tr.t("Members now")) ": " strong id="count" { @match b.count { Some(n) => (n), None => "—" } } " "
                button name="do" value="count" id="count-button" { (tr.t("Count")) }
                p id="sample" {
                    @if !b.sample.is_empty() {
                        span class="muted" { (tr.t("For example:")) } " "
                        @for (i, (id, name)) in b.sample.iter().enumerate() {
                            @if i > 0 { ", " }
                            a href={ "/customers/" (id) } { (name) }
                        }
                    }
                }
                p id="rule-error" class="error" role="alert" { @if let Some(m) = general { (Quoted(m)) } }
            }
            section class="card" {
                label {
                    (tr.t("Name")) " "
                    @if b.existing.is_some() { input name="name" value=(b.name) readonly; }
                    @else { input name="name" value=(b.name) maxlength="200"; }
                } " "
                label { (tr.t("Description")) " " input name="description" value=(b.description) size="40"; }
            }
            h2 { (tr.t("Conditions")) }
            (render_item(tr, b, &b.root, &[0]))
            section class="card" id="text-form" {
                h2 { (tr.t("Text form")) }
                p class="muted" { (tr.t("The same rule as text (docs/segments.md). Edit it and count, save or use it to rebuild the conditions above.")) }
                @let text_wrong = matches!(b.problem, Some(Problem::Text { .. }));
                textarea name="text" id="text" rows="4" class=(if text_wrong { "full mono bad" } else { "full mono" }) { (b.text) }
                input type="hidden" name="text_was" value=(if text_wrong { "" } else { b.text.as_str() });
                @if let Some(Problem::Text { line, column, message, source }) = &b.problem {
                    p class="error" role="alert" id="text-error" { (Quoted(message)) }
                    pre class="mono" { (source) "\n" (" ".repeat(column.saturating_sub(1))) "^ " (tr.f("line {}", &[line])) }
                }
                button name="do" value="text" { (tr.t("Use this text")) }
            }
            p { button name="do" value="save" id="save" { (tr.t("Save segment")) } }
        }
        script src="/segments.js" defer {}
    }
}

#[derive(Deserialize)]
struct ListQuery {
    /// The segment just saved.
    saved: Option<String>,
    /// The segment just snapshotted.
    snapshot: Option<String>,
    /// Suggest product pairs for the product presets.
    pairs: Option<String>,
}

/// One row of the segments page.
struct Row {
    seg: repo::Segment,
    /// The daily sizes of the last [`TREND_DAYS`] days, oldest first (the last one is the
    /// latest evaluation's day).
    days: Vec<repo::DayCount>,
}

/// Days of daily sizes a segment's trend shows.
const TREND_DAYS: i64 = 60;

/// The points of a trend: the size on each day evaluated.
fn trend_points(days: &[repo::DayCount]) -> Vec<(String, i64)> {
    days.iter().map(|d| (enishi_core::time::date_of_day(d.day).to_string(), d.members)).collect()
}

/// A small line of a segment's daily sizes.
fn sparkline(tr: Tr, points: &[(String, i64)]) -> Markup {
    if points.len() < 2 {
        return html! { span class="muted" { "—" } };
    }
    let max = points.iter().map(|p| p.1).max().unwrap_or(0).max(1) as f64;
    let step = 116.0 / (points.len() - 1) as f64;
    let line = points
        .iter()
        .enumerate()
        .map(|(i, (_, n))| format!("{:.1},{:.1}", 2.0 + step * i as f64, 26.0 - 24.0 * *n as f64 / max))
        .collect::<Vec<_>>()
        .join(" ");
    let described = points.iter().map(|(label, n)| format!("{label}: {n}")).collect::<Vec<_>>().join(", ");
    html! {
        svg role="img" viewBox="0 0 120 28" width="120" height="28" class="spark" {
            title { (tr.t("Members on each day counted")) ": " (described) }
            polyline points=(line) fill="none" stroke="#5b2a3c" stroke-width="2" {}
        }
    }
}

async fn segments_page(
    ConsoleManager(v, _): ConsoleManager<SegmentPages>,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Response {
    let tr = v.tr();
    let calendar = state.workspace().clock;
    let today = calendar.day_number(state.now());
    let want_pairs = q.pairs.is_some();
    let result = state
        .run(move |s| {
            // The sizes recorded by evaluations (the daily scheduler's, a save, "count now"):
            // the page evaluates nothing, so it stays fast with many segments over a million
            // customers.
            Ok(s.read(|c| {
                let mut rows = Vec::new();
                for seg in repo::list(c)? {
                    let days = repo::counts_since(c, seg.id, today - TREND_DAYS + 1)?;
                    rows.push(Row { seg, days });
                }
                let pairs = if want_pairs { enishi_segments::presets::top_pairs(c, 5)? } else { Vec::new() };
                Ok::<_, enishi_store::StoreError>((rows, pairs))
            })?)
        })
        .await;
    let (rows, pairs) = match result {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let presets = enishi_segments::presets::presets(None);
    let pair_presets =
        [(0, tr.t("Bought A only (offer B)")), (1, tr.t("Bought A and B")), (2, tr.t("Bought B only (offer A)"))];
    let body = html! {
        h1 { (tr.t("Segments")) }
        @if let Some(name) = &q.saved { p class="card" role="status" id="flash" { (tr.f("Saved segment \"{}\".", &[name])) } }
        @if let Some(name) = &q.snapshot { p class="card" role="status" id="flash" { (tr.f("Snapshot of \"{}\" taken.", &[name])) } }
        p { a href="/segments/new" id="new-segment" { (tr.t("New segment")) } }
        @if rows.is_empty() {
            p { (tr.t("No saved segments yet. Build one, or start from a preset below.")) }
        } @else {
            (table(Some("segments"), None, &[tr.t("Segment"), tr.t("Members"), tr.t("Last change"), tr.t("Trend"), tr.t("Snapshot")], html! {
                @for r in &rows {
                    tr {
                        td {
                            a href={ "/segments/" (urlencode(&r.seg.name)) } { (r.seg.name) }
                            @if !r.seg.description.is_empty() { br; span class="muted" { (r.seg.description) } }
                            br; a href={ "/customers?saved=" (urlencode(&r.seg.name)) } class="members" { (tr.t("Customers")) }
                        }
                        td class="count" {
                            @match r.seg.last_count { Some(n) => (n), None => span class="muted" { "—" } }
                            @if let Some(at) = r.seg.last_evaluated_at {
                                br; span class="muted" { (tr.f("counted {}", &[&crate::console::format::local_time(tr, &calendar, enishi_store::instant(at))])) }
                            }
                            form method="post" action={ "/segments/" (urlencode(&r.seg.name)) "/evaluate" } class="inline" {
                                input type="hidden" name="csrf" value=(v.csrf);
                                button class="count-now" { (tr.t("Count now")) }
                            }
                        }
                        td {
                            @match r.days.last() {
                                Some(d) => {
                                    (tr.f("+{} joined, −{} left", &[&d.joined, &d.left]))
                                    br; span class="muted" { (tr.f("on {}", &[&crate::console::format::date(tr, enishi_core::time::date_of_day(d.day))])) }
                                }
                                None => span class="muted" { (tr.t("not evaluated before")) },
                            }
                        }
                        td { (sparkline(tr, &trend_points(&r.days))) }
                        td {
                            form method="post" action={ "/segments/" (urlencode(&r.seg.name)) "/snapshots" } class="inline" {
                                input type="hidden" name="csrf" value=(v.csrf);
                                label { span class="muted" { (tr.t("Label")) } " " input name="label" required size="10"; } " "
                                button { (tr.t("Take a snapshot")) }
                            }
                        }
                    }
                }
            }))
        }
        h2 { (tr.t("Start from a preset")) }
        ul id="presets" {
            @for (i, p) in presets.iter().enumerate() {
                @let (name, description) = preset_words(tr, i, p, None);
                li { a href={ "/segments/new?preset=" (i) } { (name) } " " span class="muted" { "— " (description) } }
            }
        }
        h3 { (tr.t("Product mailings: A and B")) }
        form method="get" action="/segments/new" class="card" id="pair-presets" {
            label { "A " input name="a" required placeholder="SKU"; } " "
            label { "B " input name="b" required placeholder="SKU"; } " "
            label {
                (tr.t("Preset")) " "
                select name="preset" { @for (i, label) in pair_presets { option value=(i) { (label) } } }
            } " "
            button { (tr.t("Build")) }
        }
        @if want_pairs {
            @if pairs.is_empty() { p { (tr.t("No two products were bought by the same customer yet.")) } }
            ul id="pairs" {
                @for pr in &pairs {
                    li {
                        (pr.a) " + " (pr.b) " " span class="muted" { (tr.f("({} customers)", &[&pr.customers])) } " "
                        @for (i, label) in pair_presets {
                            a href={ "/segments/new?preset=" (i) "&a=" (urlencode(&pr.a)) "&b=" (urlencode(&pr.b)) } { (label) } " "
                        }
                    }
                }
            }
        } @else {
            p { a href="/segments?pairs=1" { (tr.t("Suggest the pairs bought together most often")) } }
        }
    };
    v.page(tr.t("Segments"), body).into_response()
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct CountForm {
    csrf: String,
}

carries_csrf!(CountForm);

/// Evaluates a segment now and records it (its size today, who joined and who left).
async fn count_now(
    ConsoleManager(v, _): ConsoleManager<SegmentPages>,
    State(state): State<AppState>,
    Path(name): Path<String>,
    Posted(_): Posted<CountForm>,
) -> Response {
    let tr = v.tr();
    let calendar = state.workspace().clock;
    let today = calendar.day_number(state.now());
    let result = state
        .run(move |s| {
            Ok(s.write(|c| {
                let seg = saved::find(c, &name)?;
                saved::evaluate(c, &seg, today, &calendar)?;
                Ok::<_, enishi_segments::Error>(())
            }))
        })
        .await;
    answer(&v, tr.t("Count now"), result, |()| "/segments".to_string())
}

/// The page a segment form leads to: `done`'s redirect when it went through; otherwise the
/// missing segment's 404, the database's failure, or the form's `title` with why.
fn answer<T>(
    v: &Visitor,
    title: &str,
    result: Result<Result<T, enishi_segments::Error>, ApiError>,
    done: impl FnOnce(T) -> String,
) -> Response {
    let tr = v.tr();
    match result {
        Ok(Ok(x)) => Redirect::to(&done(x)).into_response(),
        Ok(Err(enishi_segments::Error::NotFound(..))) => v.not_found(),
        Ok(Err(enishi_segments::Error::Store(e))) => ApiError::from(e).into_response(),
        Ok(Err(e)) => v.bad_form(title, &tr.message(&e.to_string())),
        Err(e) => e.into_response(),
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct SnapshotForm {
    csrf: String,
    label: String,
}

carries_csrf!(SnapshotForm);

/// Keeps who is in a segment now under a label (a point of its trend), and records the
/// evaluation (from which "joined / left" counts).
async fn take_snapshot(
    ConsoleManager(v, _): ConsoleManager<SegmentPages>,
    State(state): State<AppState>,
    Path(name): Path<String>,
    Posted(f): Posted<SnapshotForm>,
) -> Response {
    let tr = v.tr();
    let label = f.label.trim().to_string();
    if label.is_empty() {
        return v.bad_form(tr.t("Take a snapshot"), tr.t("Give the snapshot a label, such as the mailing it is for."));
    }
    let calendar = state.workspace().clock;
    let today = calendar.day_number(state.now());
    let actor = v.actor();
    let result = state
        .run(move |s| {
            Ok(s.write(|c| {
                let seg = saved::find(c, &name)?;
                saved::evaluate(c, &seg, today, &calendar)?;
                let rule = saved::read_rule(&seg)?;
                let snap = saved::snapshot(c, Some(&seg), &rule, &label, today, &calendar)?;
                let after = json!({"label": snap.label, "members": snap.member_count});
                crate::audit::record(c, &actor, "segment.snapshot", &format!("segment:{}", seg.name), Some(after))?;
                Ok::<_, enishi_segments::Error>(seg.name)
            }))
        })
        .await;
    answer(&v, tr.t("Take a snapshot"), result, |name| format!("/segments?snapshot={}", urlencode(&name)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use enishi_core::Language;

    const EN: Tr = Tr(Language::En);

    #[test]
    fn a_rule_goes_to_the_builder_and_back_unchanged() {
        for text in [
            r#"(bought(sku: "A") and not bought(sku: "B")) or orders >= 5"#,
            r#"not (tag = "vip" or not consent.email) and rfm.segment in ("Champions", "Loyal")"#,
            "not not orders >= 2",
            r#"spend(within: 365d) >= 100.5 and first_order >= 2026-01-01"#,
        ] {
            let rule = parse(text).unwrap();
            let built = build(&Item::root(&rule), &[0], EN).unwrap().unwrap();
            assert_eq!(built.node, rule, "{text}");
        }
    }

    #[test]
    fn an_engine_pointer_names_the_builder_node() {
        let rule = parse(r#"orders >= 1 and not (tag = "a" or lifecylce = "lost")"#).unwrap();
        let root = Item::root(&rule);
        let built = build(&root, &[0], EN).unwrap().unwrap();
        assert_eq!(built.path_at("/and/1/not/or/1").as_deref(), Some("0.1.1"));
        assert_eq!(built.path_at("/and/0").as_deref(), Some("0.0"));
        assert_eq!(built.path_at("").as_deref(), Some("0"));
    }

    #[test]
    fn values_are_read_as_typed_and_bad_arguments_are_refused() {
        let c = Cond { field: "tier".into(), op: "=".into(), value: "gold".into(), ..Cond::default() };
        assert_eq!(c.condition(EN).unwrap().test, Some(Test::Compare(Op::Eq, Value::Text("gold".into()))));
        let c = Cond {
            field: "orders".into(),
            args: "within: 90d".into(),
            op: ">=".into(),
            value: "2".into(),
            ..Cond::default()
        };
        assert_eq!(print(&Node::Condition(c.condition(EN).unwrap())), "orders(within: 90d) >= 2");
        let c =
            Cond { field: "rfm.segment".into(), op: "in".into(), value: "Champions, Loyal".into(), ..Cond::default() };
        assert_eq!(print(&Node::Condition(c.condition(EN).unwrap())), r#"rfm.segment in ("Champions", "Loyal")"#);
        let c = Cond { field: "bought".into(), args: r#"sku: "A") or (x"#.into(), ..Cond::default() };
        assert!(c.condition(EN).is_err(), "arguments cannot smuggle in another condition");
        let c = Cond { field: "orders".into(), op: ">=".into(), ..Cond::default() };
        assert!(c.condition(EN).is_err());
    }

    #[test]
    fn the_form_encodes_the_tree_and_buttons_change_it() {
        let f = |k: &str, v: &str| (k.to_string(), v.to_string());
        let fields = vec![
            f("g.0", "all"),
            f("f.0.0", "orders"),
            f("o.0.0", ">="),
            f("v.0.0", "2"),
            f("g.0.1", "any"),
            f("n.0.1", "1"),
            f("f.0.1.0", "tag"),
            f("o.0.1.0", "="),
            f("v.0.1.0", "vip"),
            f("pick.0.1", "consent.email"),
            f("do", "add:0.1"),
        ];
        let mut sent = Sent::read(&fields).unwrap();
        sent.apply();
        let built = build(&sent.root, &[0], EN).unwrap().unwrap();
        assert_eq!(print(&built.node), r#"orders >= 2 and not (tag = "vip" or consent.email)"#);
        sent.action = Action::Remove(vec![0, 1]);
        sent.apply();
        assert_eq!(print(&build(&sent.root, &[0], EN).unwrap().unwrap().node), "orders >= 2");
    }
}
