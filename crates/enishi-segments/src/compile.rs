//! From a rule tree to one parameterised SQL query over the store's tables.
//!
//! Every condition becomes a two-valued expression on the customer `c` — true or false, never
//! NULL — so that `not` means exactly "every other customer" and the set algebra holds
//! (`A or not A` is everyone). Conditions over aggregates (orders, spend, points) treat a
//! customer without rows as having 0. Values are always bound, never written into the SQL.
//!
//! Each condition is checked while it is compiled: unknown fields, arguments and values are
//! refused with the condition's JSON pointer and a message that says what is allowed.

use crate::catalogue::{self, Family};
use crate::tree::{Condition, Node, Op, Test, Value};
use chrono::NaiveDate;
use enishi_core::time::day_of_date;
use enishi_core::{Amount, BusinessClock, Channel, ConsentChannel, InteractionKind};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use sea_query::{Alias, Expr, ExprTrait, Func, Query, SelectStatement};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

/// The database a query is written for: the few expressions that differ (JSON) follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// What a rule is evaluated against.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// The day windows count back from (days since 1970-01-01, in the business time zone);
    /// orders, returns and events after it are ignored.
    pub as_of_day: i64,
    /// The business time zone, to turn days into instants.
    pub calendar: &'a BusinessClock,
    /// The database the SQL is for.
    pub dialect: Dialect,
    /// The saved segments and static lists the rule may name.
    pub refs: &'a Refs,
    /// Which per-customer summaries say exactly what the orders say as of `as_of_day`.
    pub summaries: Summaries,
    /// How conditions on other tables are written.
    pub form: Form,
}

/// How a condition on another table's rows is written: as a set or as a probe. Both select
/// the same customers; they differ in what the database does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Form {
    /// `c.id IN (SELECT customer_id …)`: the set is built once, then looked up for each
    /// customer the query visits — best when it visits most customers.
    #[default]
    Sets,
    /// `EXISTS (SELECT … WHERE customer_id = c.id)`: an index seek for each customer the query
    /// visits — best when a selective condition has already narrowed them down.
    Probes,
    /// The gathered set itself, as `SELECT DISTINCT … AS id … ORDER BY id` (SQLite), to drive
    /// a query from: only [`gathered_ids`] uses it.
    Driver,
}

impl<'a> Context<'a> {
    /// A context for checking a rule without running it: no as-of day, no summaries read.
    pub fn for_checking(calendar: &'a BusinessClock, dialect: Dialect, refs: &'a Refs) -> Context<'a> {
        Context { as_of_day: 0, calendar, dialect, refs, summaries: Summaries::default(), form: Form::Sets }
    }
}

/// The per-customer summaries a purchase condition may read instead of the orders and their
/// lines, which give the same answer faster. Both are false when the as-of day is before the
/// latest order or return stored (the summaries count those too).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summaries {
    /// `customer_products` (what each customer bought and kept) is fresh, and no order or
    /// return is later than the as-of day.
    pub products: bool,
    /// `customer_stats.order_count` counts every order as of the as-of day: no order is later.
    pub order_count: bool,
}

/// The saved segments (by name, their rules), static lists (by name, their ids), campaigns
/// (by name, their goals) and changes (by key, their ids) that `segment = "…"`, `list = "…"`,
/// `responded(campaign: "…")` and `raised(change: "…")` conditions name.
#[derive(Debug, Default)]
pub struct Refs {
    /// Saved segments' rules by name.
    pub segments: HashMap<String, Node>,
    /// Static lists' ids by name.
    pub lists: HashMap<String, i64>,
    /// Campaigns' goals by name.
    pub campaigns: HashMap<String, CampaignGoal>,
    /// Changes' ids by key.
    pub changes: HashMap<String, i64>,
    /// The segments being compiled, outermost first, to refuse a cycle.
    within: RefCell<Vec<String>>,
}

/// What counts as a response to a campaign: its goal and attribution window, read from the
/// campaign document (docs/campaigns.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignGoal {
    /// The campaign's id (its messages in the communication history carry it).
    pub id: i64,
    /// The order must have a line of this SKU (`"goal": {"kind": "sku"}`).
    pub sku: Option<String>,
    /// The order must have a line of this category (`"goal": {"kind": "category"}`).
    pub category: Option<String>,
    /// Orders from the message's time up to this many days later (the end excluded) count.
    pub attribution_days: i64,
}

/// A rule that cannot be evaluated: which node, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (in `{condition}` at {})", if pointer.is_empty() { "the root" } else { pointer.as_str() })]
pub struct Invalid {
    /// JSON pointer to the condition (`""` when the rule is one condition).
    pub pointer: String,
    /// The condition in the text form.
    pub condition: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

/// The query `SELECT c.id FROM customers c WHERE <condition> ORDER BY c.id`: the members.
pub fn members_where(condition: Expr) -> SelectStatement {
    Query::select()
        .column((Alias::new("c"), Alias::new("id")))
        .from_as(Alias::new("customers"), Alias::new("c"))
        .and_where(condition)
        .order_by((Alias::new("c"), Alias::new("id")), sea_query::Order::Asc)
        .to_owned()
}

/// The query `SELECT COUNT(*) AS n FROM customers c WHERE <condition>`.
pub fn count_where(condition: Expr) -> SelectStatement {
    Query::select()
        .expr_as(count_all(), Alias::new("n"))
        .from_as(Alias::new("customers"), Alias::new("c"))
        .and_where(condition)
        .to_owned()
}

/// Checks a rule without running it.
pub fn validate(rule: &Node, ctx: &Context<'_>) -> Result<(), Invalid> {
    expr(rule, ctx, "").map(|_| ())
}

/// The boolean expression for `node`.
pub fn expr(node: &Node, ctx: &Context<'_>, at: &str) -> Result<Expr, Invalid> {
    let group = |children: &[Node], name: &str| -> Result<Vec<Expr>, Invalid> {
        children.iter().enumerate().map(|(i, n)| expr(n, ctx, &format!("{at}/{name}/{i}"))).collect()
    };
    Ok(match node {
        Node::And(children) => {
            group(children, "and")?.into_iter().reduce(ExprTrait::and).unwrap_or(Expr::cust("1 = 1"))
        }
        Node::Or(children) => group(children, "or")?.into_iter().reduce(ExprTrait::or).unwrap_or(Expr::cust("1 = 0")),
        Node::Not(child) => expr(child, ctx, &format!("{at}/not"))?.not(),
        Node::Condition(c) => condition(c, ctx, at)?,
    })
}

/// The customers one condition selects as a query of their ids — distinct, ascending, in a
/// column `id` — when its set form is one gathered set (`c.id IN (SELECT …)`); `None` for a
/// condition written otherwise (on the customer's own row, a count that holds at zero, …).
/// SQLite only: the query may select a column it does not group by.
pub fn gathered_ids(node: &Node, ctx: &Context<'_>) -> Result<Option<SelectStatement>, Invalid> {
    let Node::Condition(c) = node else { return Ok(None) };
    match condition(c, &Context { form: Form::Driver, ..*ctx }, "")? {
        Expr::SubQuery(None, q) => match *q {
            sea_query::SubQueryStatement::SelectStatement(q) => Ok(Some(q)),
            _ => Ok(None),
        },
        _ => Ok(None),
    }
}

/// A purchase condition's window as written: `within: 90d`, or `since:` / `until:` days.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) within: Option<u32>,
    pub(crate) since: Option<i64>,
    pub(crate) until: Option<i64>,
}

impl Window {
    /// The inclusive business days `(from, to)` the window covers as of `as_of_day`: never
    /// after it, and without a start when none is written.
    pub(crate) fn days(self, as_of_day: i64) -> (Option<i64>, i64) {
        let to = self.until.map_or(as_of_day, |u| Ord::min(u, as_of_day));
        let from = match self.within {
            Some(n) => Some(as_of_day - i64::from(n) + 1),
            None => self.since,
        };
        (from, to)
    }
}

/// Reads one condition's arguments and test, remembering which arguments were used.
pub(crate) struct Reader<'a> {
    c: &'a Condition,
    at: &'a str,
    used: BTreeSet<&'a str>,
}

impl<'a> Reader<'a> {
    /// A reader of condition `c`, found at JSON pointer `at`.
    pub(crate) fn new(c: &'a Condition, at: &'a str) -> Reader<'a> {
        Reader { c, at, used: BTreeSet::new() }
    }

    fn invalid(&self, message: impl Into<String>) -> Invalid {
        let node = Node::Condition(self.c.clone());
        Invalid { pointer: self.at.to_string(), condition: crate::text::print(&node), message: message.into() }
    }

    fn arg(&mut self, name: &'a str) -> Option<&'a Value> {
        self.used.insert(name);
        self.c.args.get(name)
    }

    pub(crate) fn text_arg(&mut self, name: &'a str) -> Result<Option<String>, Invalid> {
        match self.arg(name) {
            None => Ok(None),
            Some(Value::Text(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
            Some(v) => Err(self.invalid(format!("`{name}` takes non-blank text, not {}", v.kind()))),
        }
    }

    fn date_arg(&mut self, name: &'a str) -> Result<Option<NaiveDate>, Invalid> {
        match self.arg(name) {
            None => Ok(None),
            Some(Value::Date(d)) => Ok(Some(*d)),
            Some(v) => Err(self.invalid(format!("`{name}` takes a date such as 2026-01-31, not {}", v.kind()))),
        }
    }

    /// The purchase window: `within: 90d`, or `since:` / `until:` dates (inclusive), never after
    /// the as-of day. Inclusive business-day numbers `(from, to)`.
    fn window(&mut self, ctx: &Context<'_>) -> Result<(Option<i64>, i64), Invalid> {
        Ok(self.window_spec()?.days(ctx.as_of_day))
    }

    /// The purchase window as written, for any as-of day.
    pub(crate) fn window_spec(&mut self) -> Result<Window, Invalid> {
        let within = match self.arg("within") {
            None => None,
            Some(Value::Days(0)) => return Err(self.invalid("`within` takes at least 1d")),
            Some(Value::Days(n)) => Some(*n),
            Some(v) => Err(self.invalid(format!("`within` takes a number of days such as 90d, not {}", v.kind())))?,
        };
        let (since, until) = (self.date_arg("since")?, self.date_arg("until")?);
        if within.is_some() && (since.is_some() || until.is_some()) {
            return Err(self.invalid("give `within` or `since`/`until`, not both"));
        }
        if let (Some(s), Some(u)) = (since, until) {
            if s > u {
                return Err(self.invalid("`since` is after `until`"));
            }
        }
        Ok(Window { within, since: since.map(day_of_date), until: until.map(day_of_date) })
    }

    /// Refuses arguments the field does not take.
    pub(crate) fn finish(&self) -> Result<(), Invalid> {
        match self.c.args.keys().find(|k| !self.used.contains(k.as_str())) {
            Some(k) => {
                let takes: Vec<_> = self.used.iter().map(|u| format!("`{u}`")).collect();
                let takes = if takes.is_empty() { "no arguments".to_string() } else { takes.join(", ") };
                Err(self.invalid(format!("`{}` does not take `{k}` (it takes {takes})", self.c.field)))
            }
            None => Ok(()),
        }
    }

    pub(crate) fn flag(&self) -> Result<(), Invalid> {
        match self.c.test {
            None => Ok(()),
            Some(_) => Err(self.invalid(format!(
                "`{0}` is a yes/no condition: write `{0}` or `not {0}`, without a comparison",
                self.c.field
            ))),
        }
    }

    /// A required `op number` test.
    fn compare_number(&self) -> Result<(Op, Decimal), Invalid> {
        match &self.c.test {
            Some(Test::Compare(op, Value::Number(n))) => Ok((*op, *n)),
            Some(Test::Compare(_, v)) => {
                Err(self.invalid(format!("`{}` is compared with a number, not {}", self.c.field, v.kind())))
            }
            _ => Err(self.invalid(format!("`{}` needs a comparison such as `{} >= 3`", self.c.field, self.c.field))),
        }
    }

    /// A required `op whole-number` test.
    pub(crate) fn compare_int(&self) -> Result<(Op, i64), Invalid> {
        let (op, n) = self.compare_number()?;
        match (n.fract().is_zero(), n.to_i64()) {
            (true, Some(n)) => Ok((op, n)),
            _ => Err(self.invalid(format!("`{}` is compared with a whole number", self.c.field))),
        }
    }

    /// A required `op amount` test, as the stored scaled integer.
    pub(crate) fn compare_money(&self) -> Result<(Op, i64), Invalid> {
        let (op, n) = self.compare_number()?;
        let amount = Amount::from_decimal(n);
        if !amount.within_limit() {
            return Err(self.invalid("the amount is larger than Enishi stores"));
        }
        Ok((op, amount.to_scaled()))
    }

    /// A required `op date` test, as a day number.
    pub(crate) fn compare_date(&self) -> Result<(Op, i64), Invalid> {
        match &self.c.test {
            Some(Test::Compare(op, Value::Date(d))) => Ok((*op, day_of_date(*d))),
            _ => Err(self.invalid(format!(
                "`{}` is compared with a date, such as `{} < 2026-01-01`",
                self.c.field, self.c.field
            ))),
        }
    }

    /// A text test: none (the field is set), `= "x"`, `!= "x"` or `in ("x", "y")`; each value
    /// passed through `check`, which may normalise it or refuse it.
    pub(crate) fn text_test(&self, check: impl Fn(&str) -> Result<String, String>) -> Result<TextTest, Invalid> {
        let one = |v: &Value| match v {
            Value::Text(s) => check(s).map_err(|m| self.invalid(m)),
            v => Err(self.invalid(format!(
                "`{}` is compared with text in double quotes, not {}",
                self.c.field,
                v.kind()
            ))),
        };
        Ok(match &self.c.test {
            None => TextTest::Present,
            Some(Test::Compare(Op::Eq, v)) => TextTest::OneOf(vec![one(v)?]),
            Some(Test::Compare(Op::Ne, v)) => TextTest::NoneOf(vec![one(v)?]),
            Some(Test::In(values)) => TextTest::OneOf(values.iter().map(one).collect::<Result<_, _>>()?),
            Some(Test::Compare(op, _)) => {
                return Err(self.invalid(format!("`{}` takes =, != or in, not {op}", self.c.field)));
            }
        })
    }
}

/// A test on a text field.
pub(crate) enum TextTest {
    /// The field has a value.
    Present,
    /// The field is one of these.
    OneOf(Vec<String>),
    /// The field is not one of these (or has no value).
    NoneOf(Vec<String>),
}

fn col(table: &str, column: &str) -> Expr {
    Expr::col((Alias::new(table), Alias::new(column)))
}

/// SQL written by hand around `exprs`, which it names `$1`, `$2`, … in order.
fn custom<const N: usize>(dialect: Dialect, template: &'static str, exprs: [Expr; N]) -> Expr {
    match dialect {
        // sea-query's SQLite placeholders are `?`, taken in order.
        Dialect::Sqlite => {
            Expr::cust_with_exprs((1..=N).fold(template.to_string(), |t, i| t.replace(&format!("${i}"), "?")), exprs)
        }
        Dialect::Postgres => Expr::cust_with_exprs(template, exprs),
    }
}

/// `COUNT(*)`.
fn count_all() -> Expr {
    Func::count(Expr::col(sea_query::Asterisk)).into()
}

fn customer_id() -> Expr {
    col("c", "id")
}

fn compare(left: Expr, op: Op, right: impl Into<Expr>) -> Expr {
    let right = right.into();
    match op {
        Op::Eq => left.eq(right),
        Op::Ne => left.ne(right),
        Op::Lt => left.lt(right),
        Op::Le => left.lte(right),
        Op::Gt => left.gt(right),
        Op::Ge => left.gte(right),
    }
}

/// `customer_id`, unqualified: the customer column of a one-table query.
fn customer_col() -> Expr {
    Expr::col(Alias::new("customer_id"))
}

/// The customer `c` has rows in `query`, whose column `key` names the customer: written as
/// the context's [`Form`] says.
fn id_in(ctx: &Context<'_>, mut query: SelectStatement, key: Expr) -> Expr {
    match ctx.form {
        Form::Sets => customer_id().in_subquery(query),
        Form::Driver => {
            query
                .clear_selects()
                .expr_as(key, Alias::new("id"))
                .distinct()
                .order_by(Alias::new("id"), sea_query::Order::Asc);
            Expr::SubQuery(None, Box::new(query.into()))
        }
        Form::Probes => {
            query.and_where(key.eq(customer_id()));
            Expr::exists(query)
        }
    }
}

/// A per-customer measure that is 0 for customers without rows: `value op n` over the rows
/// `base` groups by customer (or selects one per customer when `grouped` is false).
fn zero_default(
    ctx: &Context<'_>,
    mut base: SelectStatement,
    key: Expr,
    value: Expr,
    op: Op,
    n: i64,
    grouped: bool,
) -> Expr {
    let holds_at_zero = op.holds(0, n);
    let test = compare(value, op, n);
    let test = if holds_at_zero { test.not() } else { test };
    if grouped {
        base.and_having(test);
    } else {
        base.and_where(test);
    }
    if holds_at_zero {
        id_in(ctx, base, key).not()
    } else {
        id_in(ctx, base, key)
    }
}

/// Rows of `table` (aliased `t`) whose `column` passes a text test, as a customer condition;
/// `column_of` maps a stored value to the expression compared.
fn text_in_table(
    ctx: &Context<'_>,
    table: &str,
    id_column: &str,
    column: &str,
    test: TextTest,
    filter: Option<Expr>,
) -> Expr {
    let select = |cond: Option<Expr>| {
        let mut q = Query::select()
            .column((Alias::new("t"), Alias::new(id_column)))
            .from_as(Alias::new(table), Alias::new("t"))
            .to_owned();
        if let Some(f) = filter.clone() {
            q.and_where(f);
        }
        if let Some(cond) = cond {
            q.and_where(cond);
        }
        q
    };
    let column = col("t", column);
    let key = col("t", id_column);
    match test {
        TextTest::Present => id_in(ctx, select(Some(column.is_not_null())), key),
        TextTest::OneOf(values) => id_in(ctx, select(Some(column.is_in(values))), key),
        TextTest::NoneOf(values) => id_in(ctx, select(Some(column.is_in(values))), key).not(),
    }
}

/// A text column of the customer row.
fn text_on_customer(column: Expr, test: TextTest) -> Expr {
    let set = column.clone().is_not_null();
    match test {
        TextTest::Present => set.and(column.ne("")),
        TextTest::OneOf(values) => set.and(column.is_in(values)),
        TextTest::NoneOf(values) => set.and(column.is_in(values)).not(),
    }
}

pub(crate) fn any_text(s: &str) -> Result<String, String> {
    Ok(s.to_string())
}

/// The instant (Unix seconds) business day `day` starts.
fn day_start(ctx: &Context<'_>, day: i64) -> i64 {
    ctx.calendar.start_of_day(day).timestamp()
}

/// Orders `o` of the window, as a per-customer select base.
fn orders_in(from: Option<i64>, to: i64) -> SelectStatement {
    let mut q = Query::select()
        .column((Alias::new("o"), Alias::new("customer_id")))
        .from_as(Alias::new("orders"), Alias::new("o"))
        .and_where(col("o", "placed_day").lte(to))
        .group_by_col((Alias::new("o"), Alias::new("customer_id")))
        .to_owned();
    if let Some(from) = from {
        q.and_where(col("o", "placed_day").gte(from));
    }
    q
}

/// An order's total less what its returns up to the as-of day refunded.
fn net_total(ctx: &Context<'_>) -> Expr {
    let refunded = Query::select()
        .expr(Func::coalesce([Func::sum(col("r", "amount")).into(), Expr::val(0)]))
        .from_as(Alias::new("returns"), Alias::new("r"))
        .and_where(col("r", "order_id").equals((Alias::new("o"), Alias::new("id"))))
        .and_where(col("r", "returned_at").lt(day_start(ctx, ctx.as_of_day + 1)))
        .to_owned();
    col("o", "total").sub(Expr::SubQuery(None, Box::new(refunded.into())))
}

/// Each customer's latest answered invitation of survey kind `kind` answered before `end`
/// (Unix seconds), as `i`: `SELECT i.customer_id …` to narrow by its score or reason.
fn latest_answers(kind: &str, end: i64) -> SelectStatement {
    let newer = Query::select()
        .expr(Expr::val(1))
        .from_as(Alias::new("survey_invitations"), Alias::new("j"))
        .and_where(col("j", "customer_id").equals((Alias::new("i"), Alias::new("customer_id"))))
        .and_where(col("j", "kind").eq(kind))
        .and_where(col("j", "answered_at").lt(end))
        .and_where(
            col("j", "answered_at")
                .gt(col("i", "answered_at"))
                .or(col("j", "answered_at").eq(col("i", "answered_at")).and(col("j", "id").gt(col("i", "id")))),
        )
        .to_owned();
    Query::select()
        .column((Alias::new("i"), Alias::new("customer_id")))
        .from_as(Alias::new("survey_invitations"), Alias::new("i"))
        .and_where(col("i", "kind").eq(kind))
        .and_where(col("i", "answered_at").lt(end))
        .and_where(Expr::exists(newer).not())
        .to_owned()
}

/// Customers whose stored score `column` compares with `value` (false for the unscored).
fn score_compare(ctx: &Context<'_>, column: &str, op: Op, value: impl Into<Expr>) -> Expr {
    id_in(
        ctx,
        Query::select()
            .column(Alias::new("customer_id"))
            .from(Alias::new("customer_scores"))
            .and_where(compare(Expr::col(Alias::new(column)), op, value))
            .to_owned(),
        customer_col(),
    )
}

/// The orders' net totals summed, as a 64-bit integer (PostgreSQL sums to NUMERIC).
fn net_spend(ctx: &Context<'_>) -> Expr {
    custom(ctx.dialect, "CAST($1 AS BIGINT)", [Func::sum(net_total(ctx)).into()])
}

fn condition(c: &Condition, ctx: &Context<'_>, at: &str) -> Result<Expr, Invalid> {
    let mut r = Reader::new(c, at);
    let e = compile_field(&mut r, ctx)?;
    r.finish()?;
    Ok(e)
}

fn compile_field(r: &mut Reader<'_>, ctx: &Context<'_>) -> Result<Expr, Invalid> {
    let field = r.c.field.as_str();
    if let Some(column) = catalogue::profile_text_column(field) {
        let test = r.text_test(any_text)?;
        return Ok(text_on_customer(col("c", column), test));
    }
    if let Some(channel) = field.strip_prefix("consent.") {
        let channel: ConsentChannel = channel.parse().map_err(|e: enishi_core::ParseError| r.invalid(e.0))?;
        r.flag()?;
        let q = Query::select()
            .column(Alias::new("customer_id"))
            .from(Alias::new("customer_consents"))
            .and_where(Expr::col(Alias::new("channel")).eq(channel.as_str()))
            .and_where(Expr::col(Alias::new("status")).eq("opted_in"))
            .to_owned();
        return Ok(id_in(ctx, q, customer_col()));
    }
    if let Some(part) = field.strip_prefix("account.") {
        let column = match part {
            "name" => "name",
            "industry" => "industry",
            "region" => "region",
            "size" => "size_band",
            _ => return Err(unknown(r)),
        };
        let test = r.text_test(any_text)?;
        let q = match test {
            TextTest::Present => Query::select()
                .column(Alias::new("id"))
                .from(Alias::new("accounts"))
                .and_where(Expr::col(Alias::new(column)).is_not_null())
                .to_owned(),
            TextTest::OneOf(ref v) | TextTest::NoneOf(ref v) => Query::select()
                .column(Alias::new("id"))
                .from(Alias::new("accounts"))
                .and_where(Expr::col(Alias::new(column)).is_in(v.clone()))
                .to_owned(),
        };
        let holds = col("c", "account_id").is_not_null().and(col("c", "account_id").in_subquery(q));
        return Ok(if matches!(test, TextTest::NoneOf(_)) { holds.not() } else { holds });
    }
    Ok(match field {
        "email" => {
            let test = r.text_test(|s| Ok(s.trim().to_lowercase()))?;
            text_on_customer(Func::lower(col("c", "email")).into(), test)
        }
        "birthday_month" => {
            let (op, month) = r.compare_int()?;
            if !(1..=12).contains(&month) {
                return Err(r.invalid("`birthday_month` is compared with a month, 1 to 12"));
            }
            let birthday = col("c", "birthday");
            // The positions are part of the SQL, not bound: PostgreSQL wants them as INTEGER.
            let month_text = custom(ctx.dialect, "substr($1, 6, 2)", [birthday.clone()]);
            let by_date = birthday.clone().is_not_null().and(compare(month_text, op, format!("{month:02}")));
            // A month alone (the join page asks only for it) is the `birthday_month` attribute.
            let month_alone = Query::select()
                .column((Alias::new("t"), Alias::new("customer_id")))
                .from_as(Alias::new("customer_attributes"), Alias::new("t"))
                .and_where(col("t", "key").eq("birthday_month"))
                .and_where(compare(col("t", "number_value"), op, month as f64))
                .to_owned();
            by_date.or(birthday.is_null().and(id_in(ctx, month_alone, col("t", "customer_id"))))
        }
        "months_to_birthday" => {
            let (op, n) = r.compare_int()?;
            if !(0..=11).contains(&n) {
                return Err(r.invalid("`months_to_birthday` is compared with 0 (this month) to 11"));
            }
            let month = i64::from(chrono::Datelike::month(&enishi_core::time::date_of_day(ctx.as_of_day)));
            let birthday = col("c", "birthday");
            let ahead = custom(
                ctx.dialect,
                "(CAST(substr($1, 6, 2) AS INTEGER) + $2) % 12",
                [birthday.clone(), Expr::val(12 - month)],
            );
            birthday.is_not_null().and(compare(ahead, op, n))
        }
        "tag" => text_in_table(ctx, "customer_tags", "customer_id", "tag", r.text_test(any_text)?, None),
        "channel" => {
            let test = r.text_test(|s| s.parse::<Channel>().map(|ch| ch.as_str().to_string()).map_err(|e| e.0))?;
            text_in_table(ctx, "customer_channels", "customer_id", "channel", test, None)
        }
        "attribute" => attribute(r, ctx)?,
        "referred" => {
            r.flag()?;
            col("c", "referred_by").is_not_null()
        }
        "account" => {
            r.flag()?;
            col("c", "account_id").is_not_null()
        }
        "bought" => bought(r, ctx)?,
        "orders" => {
            let (from, to) = r.window(ctx)?;
            let (op, n) = r.compare_int()?;
            if ctx.summaries.order_count && from.is_none() && to == ctx.as_of_day {
                let stats =
                    Query::select().column(Alias::new("customer_id")).from(Alias::new("customer_stats")).to_owned();
                zero_default(ctx, stats, customer_col(), Expr::col(Alias::new("order_count")), op, n, false)
            } else {
                zero_default(ctx, orders_in(from, to), col("o", "customer_id"), count_all(), op, n, true)
            }
        }
        "spend" => {
            let (from, to) = r.window(ctx)?;
            let (op, n) = r.compare_money()?;
            zero_default(ctx, orders_in(from, to), col("o", "customer_id"), net_spend(ctx), op, n, true)
        }
        "average_order_value" => {
            let (from, to) = r.window(ctx)?;
            let (op, n) = r.compare_money()?;
            let mut q = orders_in(from, to);
            q.and_having(compare(net_spend(ctx), op, Expr::val(n).mul(count_all())));
            id_in(ctx, q, col("o", "customer_id"))
        }
        "first_order" | "last_order" => {
            let (op, day) = r.compare_date()?;
            let placed = col("o", "placed_day");
            let edge: Expr = if field == "first_order" { Func::min(placed).into() } else { Func::max(placed).into() };
            let mut q = orders_in(None, ctx.as_of_day);
            q.and_having(compare(edge, op, day));
            id_in(ctx, q, col("o", "customer_id"))
        }
        "days_since_last_order" | "days_since_first_order" => {
            let (op, n) = r.compare_int()?;
            let placed = col("o", "placed_day");
            let edge: Expr =
                if field == "days_since_first_order" { Func::min(placed).into() } else { Func::max(placed).into() };
            let mut q = orders_in(None, ctx.as_of_day);
            q.and_having(compare(Expr::val(ctx.as_of_day).sub(edge), op, n));
            id_in(ctx, q, col("o", "customer_id"))
        }
        "returned" => {
            let (from, to) = r.window(ctx)?;
            r.flag()?;
            let mut q = Query::select()
                .column(Alias::new("customer_id"))
                .from(Alias::new("returns"))
                .and_where(Expr::col(Alias::new("returned_at")).lt(day_start(ctx, to + 1)))
                .to_owned();
            if let Some(from) = from {
                q.and_where(Expr::col(Alias::new("returned_at")).gte(day_start(ctx, from)));
            }
            id_in(ctx, q, customer_col())
        }
        "open_issue" => {
            let kind = match r.text_arg("kind")? {
                Some(k) => Some(k.parse::<InteractionKind>().map_err(|e| r.invalid(format!("`kind`: {}", e.0)))?),
                None => None,
            };
            r.flag()?;
            // Open as of the day: recorded by its end, and not resolved or closed by then.
            let end = day_start(ctx, ctx.as_of_day + 1);
            let mut q = Query::select()
                .column(Alias::new("customer_id"))
                .from(Alias::new("interactions"))
                .and_where(Expr::col(Alias::new("occurred_at")).lt(end))
                .and_where(
                    Expr::col(Alias::new("status"))
                        .is_in(["open", "in_progress"])
                        .or(Expr::col(Alias::new("resolved_at")).gte(end)),
                )
                .to_owned();
            if let Some(kind) = kind {
                q.and_where(Expr::col(Alias::new("kind")).eq(kind.as_str()));
            }
            id_in(ctx, q, customer_col())
        }
        "points" => {
            let (op, n) = r.compare_int()?;
            let q = Query::select().column(Alias::new("customer_id")).from(Alias::new("loyalty_accounts")).to_owned();
            zero_default(ctx, q, customer_col(), Expr::col(Alias::new("balance")), op, n, false)
        }
        "tier" => text_in_table(ctx, "loyalty_accounts", "customer_id", "tier", r.text_test(any_text)?, None),
        "member" => {
            let plan = r.text_arg("plan")?;
            r.flag()?;
            let mut q = Query::select()
                .column(Alias::new("customer_id"))
                .from(Alias::new("loyalty_memberships"))
                .and_where(Expr::col(Alias::new("started_at")).lt(day_start(ctx, ctx.as_of_day + 1)))
                .and_where(Expr::col(Alias::new("period_end")).gt(day_start(ctx, ctx.as_of_day)))
                .to_owned();
            if let Some(plan) = plan {
                q.and_where(Expr::col(Alias::new("plan_id")).eq(plan));
            }
            id_in(ctx, q, customer_col())
        }
        "referrals" => {
            let (op, n) = r.compare_int()?;
            let q = Query::select()
                .expr_as(col("t", "referred_by"), Alias::new("customer_id"))
                .from_as(Alias::new("customers"), Alias::new("t"))
                .and_where(col("t", "referred_by").is_not_null())
                .group_by_col((Alias::new("t"), Alias::new("referred_by")))
                .to_owned();
            // No index leads from a customer to those they referred: always a set.
            zero_default(&Context { form: Form::Sets, ..*ctx }, q, col("t", "referred_by"), count_all(), op, n, true)
        }
        "stamps" => {
            let card = r
                .text_arg("card")?
                .ok_or_else(|| r.invalid("`stamps` needs the card: `stamps(card: \"coffee\") >= 5`"))?;
            let (op, n) = r.compare_int()?;
            let stamps = match ctx.dialect {
                Dialect::Sqlite => custom(
                    ctx.dialect,
                    "CAST(json_extract($1, $2) AS INTEGER)",
                    [Expr::col(Alias::new("cards")), Expr::val(format!("$.\"{}\".stamps", card.replace('"', "\"\"")))],
                ),
                Dialect::Postgres => custom(
                    ctx.dialect,
                    "CAST((CAST($1 AS JSONB) -> $2 ->> 'stamps') AS BIGINT)",
                    [Expr::col(Alias::new("cards")), Expr::val(card)],
                ),
            };
            let q = Query::select().column(Alias::new("customer_id")).from(Alias::new("loyalty_accounts")).to_owned();
            zero_default(ctx, q, customer_col(), Func::coalesce([stamps, Expr::val(0)]).into(), op, n, false)
        }
        "rfm.r" | "rfm.f" | "rfm.m" => {
            let (op, n) = r.compare_int()?;
            score_compare(ctx, &format!("rfm_{}", &field[4..]), op, n)
        }
        "rfm.segment" => {
            let test = r.text_test(catalogue::rfm_segment)?;
            text_in_table(ctx, "customer_scores", "customer_id", "rfm_segment", test, None)
        }
        "lifecycle" => {
            let test = r.text_test(catalogue::lifecycle_stage)?;
            text_in_table(ctx, "customer_scores", "customer_id", "lifecycle_stage", test, None)
        }
        "loyal_class" => {
            let test = r.text_test(catalogue::loyal_class)?;
            text_in_table(ctx, "customer_scores", "customer_id", "loyal_class", test, None)
        }
        "p_alive" | "predicted_purchases" | "clv" => {
            let (op, n) = r.compare_number()?;
            let column = match field {
                "p_alive" => "p_alive",
                "predicted_purchases" => "expected_purchases",
                _ => "clv",
            };
            score_compare(ctx, column, op, n.to_f64().unwrap_or(f64::MAX))
        }
        "recommended" => {
            let sku = r
                .text_arg("sku")?
                .ok_or_else(|| r.invalid("`recommended` needs a product: `recommended(sku: \"COF-01S\")`"))?;
            r.flag()?;
            let q = Query::select()
                .column(Alias::new("customer_id"))
                .from(Alias::new("customer_recommendations"))
                .and_where(Expr::col(Alias::new("sku")).eq(sku))
                .to_owned();
            id_in(ctx, q, customer_col())
        }
        "did" | "events" => events(r, ctx)?,
        "received" | "messages" => messages(r, ctx)?,
        "responded" => responded(r, ctx)?,
        "complained" => {
            let (from, to) = r.window(ctx)?;
            r.flag()?;
            let mut q = Query::select()
                .column(Alias::new("customer_id"))
                .from(Alias::new("interactions"))
                .and_where(Expr::col(Alias::new("kind")).eq("complaint"))
                .and_where(Expr::col(Alias::new("occurred_at")).lt(day_start(ctx, to + 1)))
                .to_owned();
            if let Some(from) = from {
                q.and_where(Expr::col(Alias::new("occurred_at")).gte(day_start(ctx, from)));
            }
            id_in(ctx, q, customer_col())
        }
        "nps_group" => {
            let test = r.text_test(catalogue::nps_group)?;
            let end = day_start(ctx, ctx.as_of_day + 1);
            let in_groups = |groups: &[String]| {
                let mut q = latest_answers("nps", end);
                let ranges = groups.iter().map(|g| {
                    let (lo, hi) = match g.as_str() {
                        "promoter" => (9, 10),
                        "passive" => (7, 8),
                        _ => (0, 6),
                    };
                    col("i", "score").between(lo, hi)
                });
                q.and_where(ranges.reduce(ExprTrait::or).unwrap_or(Expr::cust("1 = 0")));
                id_in(ctx, q, col("i", "customer_id"))
            };
            match test {
                TextTest::Present => id_in(ctx, latest_answers("nps", end), col("i", "customer_id")),
                TextTest::OneOf(groups) => in_groups(&groups),
                TextTest::NoneOf(groups) => in_groups(&groups).not(),
            }
        }
        "last_csat" => {
            let (op, n) = r.compare_int()?;
            let mut q = latest_answers("csat", day_start(ctx, ctx.as_of_day + 1));
            q.and_where(compare(col("i", "score"), op, n));
            id_in(ctx, q, col("i", "customer_id"))
        }
        "stop_reason" => {
            let test = r.text_test(catalogue::stop_reason)?;
            let q = latest_answers("stop", day_start(ctx, ctx.as_of_day + 1));
            let with = |reasons: Vec<String>| {
                let mut q = q.clone();
                q.and_where(col("i", "reason").is_in(reasons));
                id_in(ctx, q, col("i", "customer_id"))
            };
            match test {
                TextTest::Present => id_in(ctx, q, col("i", "customer_id")),
                TextTest::OneOf(reasons) => with(reasons),
                TextTest::NoneOf(reasons) => with(reasons).not(),
            }
        }
        "owner" => {
            let test = r.text_test(|s| Ok(s.trim().to_lowercase()))?;
            let owner = |cond: Option<Expr>| {
                let mut q = Query::select()
                    .column((Alias::new("k"), Alias::new("id")))
                    .from_as(Alias::new("customers"), Alias::new("k"))
                    .inner_join(
                        Alias::new("users"),
                        col("users", "id").equals((Alias::new("k"), Alias::new("owner_id"))),
                    )
                    .to_owned();
                if let Some(cond) = cond {
                    q.and_where(cond);
                }
                id_in(ctx, q, col("k", "id"))
            };
            match test {
                TextTest::Present => owner(None),
                TextTest::OneOf(emails) => owner(Some(col("users", "email").is_in(emails))),
                TextTest::NoneOf(emails) => owner(Some(col("users", "email").is_in(emails))).not(),
            }
        }
        "reviewed" => reviewed(r, ctx)?,
        "raised" => {
            let change = r.text_arg("change")?;
            r.flag()?;
            let mut q = Query::select()
                .column((Alias::new("f"), Alias::new("customer_id")))
                .from_as(Alias::new("change_feedback"), Alias::new("f"))
                .to_owned();
            if let Some(key) = change {
                let key = key.trim();
                let id = ctx.refs.changes.get(key).ok_or_else(|| r.invalid(format!("there is no change \"{key}\"")))?;
                q.and_where(col("f", "change_id").eq(*id));
            }
            id_in(ctx, q, col("f", "customer_id"))
        }
        "segment" => segment(r, ctx)?,
        "list" => {
            let test = r.text_test(any_text)?;
            let names = match &test {
                TextTest::OneOf(names) | TextTest::NoneOf(names) => names,
                TextTest::Present => return Err(r.invalid("name the list: `list = \"…\"`")),
            };
            let ids = names
                .iter()
                .map(|n| {
                    ctx.refs.lists.get(n).copied().ok_or_else(|| r.invalid(format!("there is no list named \"{n}\"")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let q = Query::select()
                .column(Alias::new("customer_id"))
                .from(Alias::new("static_list_members"))
                .and_where(Expr::col(Alias::new("list_id")).is_in(ids))
                .to_owned();
            if matches!(test, TextTest::NoneOf(_)) {
                id_in(ctx, q, customer_col()).not()
            } else {
                id_in(ctx, q, customer_col())
            }
        }
        _ => return Err(unknown(r)),
    })
}

/// `segment = "Lapsed VIPs"`: the members of a saved segment, evaluated with this rule (a
/// segment that names itself, directly or through others, is refused with the cycle).
fn segment(r: &Reader<'_>, ctx: &Context<'_>) -> Result<Expr, Invalid> {
    let test = r.text_test(any_text)?;
    let names = match &test {
        TextTest::OneOf(names) | TextTest::NoneOf(names) => names,
        TextTest::Present => return Err(r.invalid("name the segment: `segment = \"…\"`")),
    };
    let mut any: Option<Expr> = None;
    for name in names {
        let rule =
            ctx.refs.segments.get(name).ok_or_else(|| r.invalid(format!("there is no segment named \"{name}\"")))?;
        let mut within = ctx.refs.within.borrow_mut();
        if let Some(start) = within.iter().position(|n| n == name) {
            let mut cycle = within[start..].to_vec();
            cycle.push(name.clone());
            return Err(r.invalid(format!("segments refer to each other in a cycle: {}", cycle.join(" → "))));
        }
        within.push(name.clone());
        drop(within);
        // Another segment's rule is a condition of this one, never the driver itself.
        let form = if ctx.form == Form::Driver { Form::Sets } else { ctx.form };
        let compiled = expr(rule, &Context { form, ..*ctx }, "");
        ctx.refs.within.borrow_mut().pop();
        let compiled = compiled.map_err(|e| {
            if e.message.starts_with("segments refer to each other") {
                r.invalid(e.message)
            } else {
                r.invalid(format!("segment \"{name}\": {}", e.message))
            }
        })?;
        any = Some(match any {
            None => compiled,
            Some(a) => a.or(compiled),
        });
    }
    let any = any.unwrap_or(Expr::cust("1 = 0"));
    Ok(if matches!(test, TextTest::NoneOf(_)) { any.not() } else { any })
}

fn unknown(r: &Reader<'_>) -> Invalid {
    let field = &r.c.field;
    let hint = catalogue::closest(field).map(|f| format!(" — did you mean `{f}`?")).unwrap_or_default();
    let families = Family::ALL.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ");
    r.invalid(format!("unknown field `{field}`{hint} (docs/segments.md lists the fields: {families})"))
}

/// `attribute(key: "size")`: the custom attribute is set; `= "L"`, `!= "L"`, `in (…)` compare
/// its text; `>= 3` and the other comparisons with a number compare its number; `= true`.
fn attribute(r: &mut Reader<'_>, ctx: &Context<'_>) -> Result<Expr, Invalid> {
    let key =
        r.text_arg("key")?.ok_or_else(|| r.invalid("`attribute` needs the key: `attribute(key: \"size\") = \"L\"`"))?;
    let key_is = col("t", "key").eq(key);
    let with_key = Query::select()
        .column((Alias::new("t"), Alias::new("customer_id")))
        .from_as(Alias::new("customer_attributes"), Alias::new("t"))
        .and_where(key_is.clone())
        .to_owned();
    let base = |cond: Expr| with_key.clone().and_where(cond).to_owned();
    Ok(match &r.c.test {
        None => id_in(ctx, with_key.clone(), col("t", "customer_id")),
        Some(Test::Compare(op, Value::Number(n))) => {
            let n = n.to_f64().unwrap_or(f64::MAX);
            match op {
                Op::Ne => id_in(ctx, base(col("t", "number_value").eq(n)), col("t", "customer_id")).not(),
                _ => id_in(ctx, base(compare(col("t", "number_value"), *op, n)), col("t", "customer_id")),
            }
        }
        Some(Test::Compare(op @ (Op::Eq | Op::Ne), Value::Bool(b))) => {
            let holds =
                id_in(ctx, base(col("t", "value").eq(if *b { "true" } else { "false" })), col("t", "customer_id"));
            if *op == Op::Ne {
                holds.not()
            } else {
                holds
            }
        }
        Some(Test::Compare(_, Value::Text(_)) | Test::In(_)) => {
            let test = r.text_test(any_text)?;
            text_in_table(ctx, "customer_attributes", "customer_id", "text_value", test, Some(key_is))
        }
        Some(_) => return Err(r.invalid("`attribute` is compared with text, a number, or true/false")),
    })
}

/// `bought(sku: "A")` / `bought(category: "coffee")` with a window: a purchase line of it that
/// was not returned in full by the as-of day.
fn bought(r: &mut Reader<'_>, ctx: &Context<'_>) -> Result<Expr, Invalid> {
    let sku = r.text_arg("sku")?;
    let category = r.text_arg("category")?;
    let (from, to) = r.window(ctx)?;
    r.flag()?;
    let (kind, product) = match (sku, category) {
        (Some(sku), None) => ("sku", sku),
        (None, Some(category)) => ("category", category),
        _ => return Err(r.invalid("`bought` takes a product: `sku: \"…\"` or `category: \"…\"` (one of them)")),
    };
    // The summary keeps the first and last day of a kept line: enough for a window that ends
    // on the as-of day, or one that has no start.
    if ctx.summaries.products && (to == ctx.as_of_day || from.is_none()) {
        let mut q = Query::select()
            .column(Alias::new("customer_id"))
            .from(Alias::new("customer_products"))
            .and_where(Expr::col(Alias::new("kind")).eq(kind))
            .and_where(Expr::col(Alias::new("product")).eq(product))
            .to_owned();
        if let Some(from) = from {
            q.and_where(Expr::col(Alias::new("last_day")).gte(from));
        }
        if to < ctx.as_of_day {
            q.and_where(Expr::col(Alias::new("first_day")).lte(to));
        }
        return Ok(id_in(ctx, q, customer_col()));
    }
    let what = col("l", kind).eq(product);
    let returned = Query::select()
        .expr(Func::coalesce([Func::sum(col("rl", "quantity")).into(), Expr::val(0)]))
        .from_as(Alias::new("return_lines"), Alias::new("rl"))
        .inner_join(Alias::new("returns"), col("returns", "id").equals((Alias::new("rl"), Alias::new("return_id"))))
        .and_where(col("returns", "order_id").equals((Alias::new("l"), Alias::new("order_id"))))
        .and_where(col("rl", "sku").equals((Alias::new("l"), Alias::new("sku"))))
        .and_where(col("returns", "returned_at").lt(day_start(ctx, ctx.as_of_day + 1)))
        .to_owned();
    let mut q = Query::select()
        .column((Alias::new("l"), Alias::new("customer_id")))
        .from_as(Alias::new("order_lines"), Alias::new("l"))
        .inner_join(Alias::new("orders"), col("orders", "id").equals((Alias::new("l"), Alias::new("order_id"))))
        .and_where(what)
        .and_where(col("orders", "placed_day").lte(to))
        .group_by_columns([
            (Alias::new("l"), Alias::new("customer_id")),
            (Alias::new("l"), Alias::new("order_id")),
            (Alias::new("l"), Alias::new("sku")),
        ])
        .and_having(Func::sum(col("l", "quantity")).gt(Expr::SubQuery(None, Box::new(returned.into()))))
        .to_owned();
    if let Some(from) = from {
        q.and_where(col("orders", "placed_day").gte(from));
    }
    // The order's customer is the line's: probing by it seeks the orders index by customer.
    Ok(id_in(ctx, q, col("orders", "customer_id")))
}

/// `received(campaign: "winter DM v1", channel: "email", within: 30d)` and
/// `messages(channel: "email", within: 7d) >= 2`: messages sent to the customer (the
/// communication history), of a campaign and on a channel when given, in the window.
fn messages(r: &mut Reader<'_>, ctx: &Context<'_>) -> Result<Expr, Invalid> {
    let campaign = r.text_arg("campaign")?;
    let channel = r.text_arg("channel")?;
    let (from, to) = r.window(ctx)?;
    let mut q = Query::select()
        .column(Alias::new("customer_id"))
        .from(Alias::new("communications"))
        .and_where(Expr::col(Alias::new("status")).eq("sent"))
        .to_owned();
    in_window(&mut q, "sent_at", ctx, from, to);
    if let Some(campaign) = campaign {
        q.and_where(Expr::col(Alias::new("campaign")).eq(campaign));
    }
    if let Some(channel) = channel {
        q.and_where(Expr::col(Alias::new("channel")).eq(channel));
    }
    any_or_count(r, ctx, q, r.c.field == "received")
}

/// `responded(campaign: "coffee DM v2")`: the customer was sent a message of the campaign and
/// placed an order matching its goal from the message's time up to its attribution window
/// later (the end excluded) — the conversions of the campaign's results — both by the end of
/// the as-of day.
fn responded(r: &mut Reader<'_>, ctx: &Context<'_>) -> Result<Expr, Invalid> {
    let name = r
        .text_arg("campaign")?
        .ok_or_else(|| r.invalid("`responded` needs the campaign: `responded(campaign: \"coffee DM v2\")`"))?;
    r.flag()?;
    r.finish()?;
    let goal =
        ctx.refs.campaigns.get(&name).ok_or_else(|| r.invalid(format!("there is no campaign named \"{name}\"")))?;
    let end = day_start(ctx, ctx.as_of_day + 1);
    let mut q = Query::select()
        .column((Alias::new("m"), Alias::new("customer_id")))
        .from_as(Alias::new("communications"), Alias::new("m"))
        .inner_join(
            Alias::new("orders"),
            col("orders", "customer_id").equals((Alias::new("m"), Alias::new("customer_id"))),
        )
        .and_where(col("m", "campaign_id").eq(goal.id))
        .and_where(col("m", "status").eq("sent"))
        .and_where(col("m", "sent_at").lt(end))
        .and_where(col("orders", "placed_at").lt(end))
        .and_where(col("orders", "placed_at").gte(col("m", "sent_at")))
        .and_where(col("orders", "placed_at").lt(col("m", "sent_at").add(goal.attribution_days.saturating_mul(86_400))))
        .to_owned();
    let line = |column: &str, value: &str| {
        Query::select()
            .expr(Expr::val(1))
            .from_as(Alias::new("order_lines"), Alias::new("l"))
            .and_where(col("l", "order_id").equals((Alias::new("orders"), Alias::new("id"))))
            .and_where(col("l", column).eq(value))
            .to_owned()
    };
    if let Some(sku) = &goal.sku {
        q.and_where(Expr::exists(line("sku", sku)));
    }
    if let Some(category) = &goal.category {
        q.and_where(Expr::exists(line("category", category)));
    }
    Ok(id_in(ctx, q, col("m", "customer_id")))
}

/// `reviewed`, `reviewed(sku: "BEANS-1", within: 90d)`, `reviewed(sku: "BEANS-1") <= 2`: the
/// customer wrote a review (of that product when `sku` is given; any product or a whole order
/// otherwise) in the window, whatever its moderation; with a comparison, one whose stars
/// compare so.
fn reviewed(r: &mut Reader<'_>, ctx: &Context<'_>) -> Result<Expr, Invalid> {
    let sku = r.text_arg("sku")?;
    let (from, to) = r.window(ctx)?;
    let mut q = Query::select()
        .column(Alias::new("customer_id"))
        .from(Alias::new("reviews"))
        .and_where(Expr::col(Alias::new("submitted_at")).is_not_null())
        .to_owned();
    in_window(&mut q, "submitted_at", ctx, from, to);
    if let Some(sku) = sku {
        q.and_where(Expr::col(Alias::new("sku")).eq(sku.trim()));
    }
    if r.c.test.is_some() {
        let (op, n) = r.compare_int()?;
        q.and_where(compare(Expr::col(Alias::new("stars")), op, n));
    }
    Ok(id_in(ctx, q, customer_col()))
}

/// Keeps the rows of `q` whose instant `column` falls in the business days `from..=to`.
fn in_window(q: &mut SelectStatement, column: &str, ctx: &Context<'_>, from: Option<i64>, to: i64) {
    q.and_where(Expr::col(Alias::new(column)).lt(day_start(ctx, to + 1)));
    if let Some(from) = from {
        q.and_where(Expr::col(Alias::new(column)).gte(day_start(ctx, from)));
    }
}

/// A flag field (`did`, `received`): customers with any row of `q`; a counting field
/// (`events`, `messages`): customers whose number of rows passes the comparison.
fn any_or_count(r: &mut Reader<'_>, ctx: &Context<'_>, mut q: SelectStatement, flag: bool) -> Result<Expr, Invalid> {
    if flag {
        r.flag()?;
        Ok(id_in(ctx, q, customer_col()))
    } else {
        let (op, n) = r.compare_int()?;
        q.group_by_col(Alias::new("customer_id"));
        Ok(zero_default(ctx, q, customer_col(), count_all(), op, n, true))
    }
}

/// `did(event: "added_to_cart", within: 2d)` and `events(event: …) >= 3`, with property
/// conditions `props.NAME: "text"` compared with the event property's text.
fn events(r: &mut Reader<'_>, ctx: &Context<'_>) -> Result<Expr, Invalid> {
    let name = r.text_arg("event")?.ok_or_else(|| {
        r.invalid(format!("`{}` needs the event: `{}(event: \"added_to_cart\")`", r.c.field, r.c.field))
    })?;
    let (from, to) = r.window(ctx)?;
    let mut q = Query::select()
        .column(Alias::new("customer_id"))
        .from(Alias::new("events"))
        .and_where(Expr::col(Alias::new("name")).eq(name))
        .to_owned();
    in_window(&mut q, "occurred_at", ctx, from, to);
    let props: Vec<(String, Value)> =
        r.c.args.iter().filter(|(k, _)| k.starts_with("props.")).map(|(k, v)| (k.clone(), v.clone())).collect();
    for (key, value) in &props {
        let Value::Text(text) = value else {
            return Err(r.invalid(format!("`{key}` is compared with text in double quotes, not {}", value.kind())));
        };
        let property = &key["props.".len()..];
        if property.contains('.') {
            return Err(r.invalid(format!("`{key}`: name a top-level property, such as `props.sku`")));
        }
        let extracted = match ctx.dialect {
            Dialect::Sqlite => custom(
                ctx.dialect,
                "CAST(json_extract($1, $2) AS TEXT)",
                [Expr::col(Alias::new("properties")), Expr::val(format!("$.\"{property}\""))],
            ),
            Dialect::Postgres => custom(
                ctx.dialect,
                "(CAST($1 AS JSONB) ->> $2)",
                [Expr::col(Alias::new("properties")), Expr::val(property.to_string())],
            ),
        };
        q.and_where(extracted.eq(text.clone()));
    }
    r.used.extend(r.c.args.keys().filter(|k| k.starts_with("props.")).map(String::as_str));
    any_or_count(r, ctx, q, r.c.field == "did")
}
