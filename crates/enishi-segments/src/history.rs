//! Rules over purchase history alone — `orders`, `spend`, `average_order_value`,
//! `first_order`, `last_order`, `days_since_*`, `bought` and `returned`, joined by AND, OR and
//! NOT, and saved segments made of them — evaluated in memory for a few thousand customers, each
//! as of their own day. An import asks for the buyers of a batch of 2,000 orders that may span
//! hundreds of days: SQL would run one query per day, while this answers every day from their
//! history ([`Purchases`]), read once per import ([`enishi_store::repo::purchase_history`]) and
//! then kept current with what the import stores.
//!
//! A rule may also name conditions that read the same whatever the day (scores, tags, consent,
//! points: [`Constants`]); each is read once in SQL for all the customers asked about.
//!
//! Each condition here selects exactly the customers its SQL form ([`crate::compile`]) selects;
//! the tests compare the two on random histories and rules.

use crate::compile::{any_text, Invalid, Reader, TextTest, Window};
use crate::tree::{Node, Op};
use crate::{Error, Refs};
use enishi_core::BusinessClock;
use enishi_store::model::{NewOrder, NewReturn};
use enishi_store::repo::purchase_history::{self, PurchaseHistory};
use enishi_store::{Conn, StoreError};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::BTreeMap;

/// Saved segments nested deeper than this are left to SQL (which refuses a cycle).
const MOST_NESTED: usize = 16;

/// A rule that names nothing but purchase history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rule {
    /// Every child holds.
    All(Vec<Rule>),
    /// At least one child holds.
    Any(Vec<Rule>),
    /// The child does not hold.
    Not(Box<Rule>),
    /// `orders op n`: orders placed in the window.
    Orders(Window, Op, i64),
    /// `spend op n`: their totals less what was refunded by the as-of day (scaled amounts).
    Spend(Window, Op, i64),
    /// `average_order_value op n`: spend over orders, for customers with orders in the window.
    AverageOrderValue(Window, Op, i64),
    /// `first_order` / `last_order op day`, for customers with orders.
    OrderDay(Edge, Op, i64),
    /// `days_since_first_order` / `days_since_last_order op n`, for customers with orders.
    DaysSince(Edge, Op, i64),
    /// `bought(…)`: a line of the product in the window, not returned in full by the as-of day.
    Bought(Window, Product),
    /// `returned`: a return recorded in the window.
    Returned(Window),
    /// Any other condition that reads the same whatever the day (a score, a tag, …): the
    /// condition of this index among the rule's [`Constants`], evaluated once in SQL.
    Constant(usize),
}

/// The conditions of a rule besides purchase history that read the same whatever the day they
/// are evaluated as of (scores, tags, consent, …), and the check that tells them.
pub(crate) struct Constants<'a> {
    /// Whether a condition reads the same whatever the day, and no purchase.
    pub(crate) is_constant: &'a dyn Fn(&Node) -> bool,
    /// The conditions found, in the order [`Rule::Constant`] numbers them.
    pub(crate) nodes: Vec<Node>,
}

impl Constants<'_> {
    /// `node` as a [`Rule::Constant`], when it is one.
    fn rule(&mut self, node: &Node) -> Option<Rule> {
        (self.is_constant)(node).then(|| {
            self.nodes.push(node.clone());
            Rule::Constant(self.nodes.len() - 1)
        })
    }
}

/// The first or the last order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Edge {
    First,
    Last,
}

/// The product of `bought`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Product {
    Sku(String),
    Category(String),
}

impl Rule {
    /// `node` as a rule evaluated in memory, or `None` when it names anything besides purchase
    /// history and `constants` (it is then evaluated in SQL, day by day). `node` has been
    /// checked ([`crate::compile::validate`]).
    pub(crate) fn of(node: &Node, refs: &Refs, constants: &mut Constants<'_>) -> Result<Option<Rule>, Invalid> {
        Rule::nested(node, refs, constants, 0)
    }

    fn nested(node: &Node, refs: &Refs, constants: &mut Constants<'_>, depth: usize) -> Result<Option<Rule>, Invalid> {
        let mut all = |children: &[Node]| -> Result<Option<Vec<Rule>>, Invalid> {
            children.iter().map(|n| Rule::nested(n, refs, constants, depth)).collect()
        };
        Ok(match node {
            Node::And(children) => all(children)?.map(Rule::All),
            Node::Or(children) => all(children)?.map(Rule::Any),
            Node::Not(child) => Rule::nested(child, refs, constants, depth)?.map(|r| Rule::Not(Box::new(r))),
            Node::Condition(c) => {
                let mut r = Reader::new(c, "");
                let rule = match c.field.as_str() {
                    "orders" => {
                        let (op, n) = r.compare_int()?;
                        Rule::Orders(r.window_spec()?, op, n)
                    }
                    "spend" => {
                        let (op, n) = r.compare_money()?;
                        Rule::Spend(r.window_spec()?, op, n)
                    }
                    "average_order_value" => {
                        let (op, n) = r.compare_money()?;
                        Rule::AverageOrderValue(r.window_spec()?, op, n)
                    }
                    "first_order" | "last_order" => {
                        let (op, day) = r.compare_date()?;
                        Rule::OrderDay(edge(&c.field), op, day)
                    }
                    "days_since_first_order" | "days_since_last_order" => {
                        let (op, n) = r.compare_int()?;
                        Rule::DaysSince(edge(&c.field), op, n)
                    }
                    "bought" => {
                        let product = match (r.text_arg("sku")?, r.text_arg("category")?) {
                            (Some(sku), None) => Product::Sku(sku),
                            (None, Some(category)) => Product::Category(category),
                            _ => return Ok(constants.rule(node)),
                        };
                        r.flag()?;
                        Rule::Bought(r.window_spec()?, product)
                    }
                    "returned" => {
                        r.flag()?;
                        Rule::Returned(r.window_spec()?)
                    }
                    "segment" if depth < MOST_NESTED => {
                        let (names, negated) = match r.text_test(any_text)? {
                            TextTest::OneOf(names) => (names, false),
                            TextTest::NoneOf(names) => (names, true),
                            TextTest::Present => return Ok(constants.rule(node)),
                        };
                        let found = constants.nodes.len();
                        let mut any = Vec::with_capacity(names.len());
                        for name in &names {
                            let rule = match refs.segments.get(name) {
                                Some(rule) => Rule::nested(rule, refs, constants, depth + 1)?,
                                None => None,
                            };
                            let Some(rule) = rule else {
                                // The whole condition, then, if it reads the same every day.
                                constants.nodes.truncate(found);
                                return Ok(constants.rule(node));
                            };
                            any.push(rule);
                        }
                        let any = Rule::Any(any);
                        if negated {
                            Rule::Not(Box::new(any))
                        } else {
                            any
                        }
                    }
                    _ => return Ok(constants.rule(node)),
                };
                r.finish()?;
                Some(rule)
            }
        })
    }

    /// Whether any condition reads purchase lines.
    fn reads_lines(&self) -> bool {
        match self {
            Rule::All(children) | Rule::Any(children) => children.iter().any(Rule::reads_lines),
            Rule::Not(child) => child.reads_lines(),
            Rule::Bought(..) => true,
            _ => false,
        }
    }

    /// Whether customer `id`, whose history is `h`, holds as of `day`.
    fn holds(&self, id: i64, h: &CustomerHistory, day: &AsOf) -> bool {
        match self {
            Rule::All(children) => children.iter().all(|r| r.holds(id, h, day)),
            Rule::Any(children) => children.iter().any(|r| r.holds(id, h, day)),
            Rule::Not(child) => !child.holds(id, h, day),
            Rule::Constant(i) => day.constants[*i].contains(&id),
            Rule::Orders(window, op, n) => {
                let count = h.orders_in(window.days(day.day)).count();
                op.holds(i128::try_from(count).unwrap_or(i128::MAX), i128::from(*n))
            }
            Rule::Spend(window, op, n) => {
                let spend: i128 = h.orders_in(window.days(day.day)).map(|o| o.net(day)).sum();
                op.holds(spend, i128::from(*n))
            }
            Rule::AverageOrderValue(window, op, n) => {
                let (mut count, mut spend) = (0_i128, 0_i128);
                for o in h.orders_in(window.days(day.day)) {
                    count += 1;
                    spend += o.net(day);
                }
                count > 0 && op.holds(spend, i128::from(*n) * count)
            }
            Rule::OrderDay(edge, op, n) => h.edge(*edge, day.day).is_some_and(|d| op.holds(d, *n)),
            Rule::DaysSince(edge, op, n) => {
                h.edge(*edge, day.day).is_some_and(|d| op.holds(i128::from(day.day) - i128::from(d), i128::from(*n)))
            }
            Rule::Bought(window, product) => {
                let (by_sku, name) = match product {
                    Product::Sku(sku) => (true, sku),
                    Product::Category(category) => (false, category),
                };
                // A name no line has was not bought.
                let Some(&product) = day.names.0.get(name.as_str()) else { return false };
                h.orders_in(window.days(day.day)).any(|o| o.kept(by_sku, product, day))
            }
            Rule::Returned(window) => {
                let (from, to) = window.days(day.day);
                let end = day.calendar.start_of_day(to + 1).timestamp();
                let start = from.map(|f| day.calendar.start_of_day(f).timestamp());
                h.returns.iter().any(|&at| at < end && start.is_none_or(|s| at >= s))
            }
        }
    }
}

/// The order `first_order` or `days_since_first_order` (and their `last` kin) name.
fn edge(field: &str) -> Edge {
    if field.ends_with("first_order") {
        Edge::First
    } else {
        Edge::Last
    }
}

/// The as-of day a rule is evaluated at, with the instant it ends.
struct AsOf<'a> {
    day: i64,
    /// The start of the next business day (Unix seconds): returns before it count.
    end: i64,
    calendar: &'a BusinessClock,
    /// The members of each of the rule's constant conditions among the customers asked about.
    constants: &'a [FxHashSet<i64>],
    /// The numbers of the SKUs and categories of the lines held.
    names: &'a Names,
}

/// One customer's orders (by day) and the instants of their returns.
#[derive(Default)]
struct CustomerHistory {
    orders: Vec<OrderHistory>,
    returns: Vec<i64>,
}

impl CustomerHistory {
    fn orders_in(&self, (from, to): (Option<i64>, i64)) -> impl Iterator<Item = &OrderHistory> {
        self.orders.iter().filter(move |o| o.day <= to && from.is_none_or(|f| o.day >= f))
    }

    /// The day of the first or last order placed on or before `as_of_day`.
    fn edge(&self, edge: Edge, as_of_day: i64) -> Option<i64> {
        let days = self.orders.iter().map(|o| o.day).filter(|&d| d <= as_of_day);
        match edge {
            Edge::First => days.min(),
            Edge::Last => days.max(),
        }
    }
}

/// One order with its refunds and, when read, its lines and returned lines.
struct OrderHistory {
    day: i64,
    total: i64,
    /// (returned at, amount) of each return of the order.
    refunds: Vec<(i64, i64)>,
    /// (sku, category, quantity) of each line, the names by their [`Names`] numbers.
    lines: Vec<(usize, Option<usize>, i64)>,
    /// (returned at, sku, quantity) of each returned line.
    returned: Vec<(i64, usize, i64)>,
}

/// The SKUs and categories held, each by a number, so that a line holds numbers, not strings.
#[derive(Default)]
struct Names(FxHashMap<Box<str>, usize>);

impl Names {
    /// The number of `name`, given it now if it has none.
    fn number(&mut self, name: &str) -> usize {
        if let Some(&n) = self.0.get(name) {
            return n;
        }
        let n = self.0.len();
        self.0.insert(name.into(), n);
        n
    }
}

impl OrderHistory {
    /// The total less what was refunded by the end of the as-of day.
    fn net(&self, day: &AsOf) -> i128 {
        let refunded: i128 = self.refunds.iter().filter(|(at, _)| *at < day.end).map(|(_, a)| i128::from(*a)).sum();
        i128::from(self.total) - refunded
    }

    /// Whether some SKU of the product (`by_sku`, or its category, numbered `product`) was
    /// bought in this order in more units than were returned by the end of the as-of day.
    fn kept(&self, by_sku: bool, product: usize, day: &AsOf) -> bool {
        let mut bought: BTreeMap<usize, i128> = BTreeMap::new();
        for &(sku, category, quantity) in &self.lines {
            let matches = if by_sku { sku == product } else { category == Some(product) };
            if matches {
                *bought.entry(sku).or_default() += i128::from(quantity);
            }
        }
        bought.into_iter().any(|(sku, units)| {
            let returned: i128 = self
                .returned
                .iter()
                .filter(|&&(at, s, _)| at < day.end && s == sku)
                .map(|&(_, _, q)| i128::from(q))
                .sum();
            units > returned
        })
    }
}

/// The purchase history of the customers it holds, as stored: read from the store once per
/// customer ([`Purchases::load`]) and then kept current by its holder with every order and
/// return it stores for them ([`Purchases::add_order`], [`Purchases::add_return`]) — an import
/// keeps one for its whole run, so each batch reads only the customers it has not seen.
#[derive(Default)]
pub struct Purchases {
    customers: FxHashMap<i64, CustomerHistory>,
    /// Order id → its customer and place among the customer's orders.
    orders: FxHashMap<i64, (i64, usize)>,
    /// Return id → when it was made and the order it refunds.
    returns: FxHashMap<i64, (i64, Option<i64>)>,
    /// The SKUs and categories of the lines held.
    names: Names,
}

impl Purchases {
    /// Holds no customer yet.
    pub fn new() -> Purchases {
        Purchases::default()
    }

    /// How many orders are held.
    pub fn orders_held(&self) -> usize {
        self.orders.len()
    }

    /// Whether the history of `customer_id` is held.
    pub fn holds(&self, customer_id: i64) -> bool {
        self.customers.contains_key(&customer_id)
    }

    /// Holds customers just created, who have no orders or returns stored.
    pub fn add_new_customers(&mut self, ids: impl IntoIterator<Item = i64>) {
        for id in ids {
            self.customers.entry(id).or_default();
        }
    }

    /// Reads the whole stored history of the customers of `ids` not held yet (customers that
    /// do not exist stay unheld: members of nothing).
    pub fn load(&mut self, c: &mut dyn Conn, ids: impl IntoIterator<Item = i64>) -> Result<(), StoreError> {
        let missing: Vec<i64> = ids.into_iter().filter(|id| !self.holds(*id)).collect();
        if !missing.is_empty() {
            self.add(purchase_history::of_customers(c, &missing, i64::MAX, i64::MAX, true)?);
        }
        Ok(())
    }

    /// Adds what was read: the customers, then their orders, returns and lines.
    fn add(&mut self, read: PurchaseHistory) {
        self.add_new_customers(read.customers);
        for o in read.orders {
            self.add_order_row(o.id, o.customer_id, o.placed_day, o.total);
        }
        for r in read.returns {
            self.add_return_row(r.id, r.order_id, r.customer_id, r.returned_at, r.amount);
        }
        for l in read.lines {
            let line = (self.names.number(&l.sku), l.category.map(|c| self.names.number(&c)), l.quantity);
            if let Some(o) = self.order_mut(l.order_id) {
                o.lines.push(line);
            }
        }
        for l in read.return_lines {
            self.add_returned_line(l.return_id, &l.sku, l.quantity);
        }
    }

    /// Records order `id` of a held customer (others are read when first needed).
    pub fn add_order(&mut self, id: i64, order: &NewOrder) {
        if self.add_order_row(id, order.customer_id, order.placed_day, order.total.to_scaled()) {
            let names = &mut self.names;
            let lines: Vec<_> = order
                .lines
                .iter()
                .map(|l| (names.number(&l.sku), l.category.as_deref().map(|c| names.number(c)), l.quantity))
                .collect();
            if let Some(o) = self.order_mut(id) {
                o.lines = lines;
            }
        }
    }

    /// Records return `id` of a held customer.
    pub fn add_return(&mut self, id: i64, r: &NewReturn) {
        let at = r.returned_at.timestamp();
        self.add_return_row(id, r.order_id, r.customer_id, at, r.amount.to_scaled());
        for l in &r.lines {
            self.add_returned_line(id, &l.sku, l.quantity);
        }
    }

    fn add_order_row(&mut self, id: i64, customer_id: i64, day: i64, total: i64) -> bool {
        let Some(h) = self.customers.get_mut(&customer_id) else { return false };
        if self.orders.contains_key(&id) {
            return false;
        }
        self.orders.insert(id, (customer_id, h.orders.len()));
        h.orders.push(OrderHistory { day, total, refunds: Vec::new(), lines: Vec::new(), returned: Vec::new() });
        true
    }

    fn add_return_row(&mut self, id: i64, order_id: Option<i64>, customer_id: i64, at: i64, amount: i64) {
        let Some(h) = self.customers.get_mut(&customer_id) else { return };
        if self.returns.insert(id, (at, order_id)).is_some() {
            return;
        }
        h.returns.push(at);
        if let Some(o) = order_id.and_then(|id| self.order_mut(id)) {
            o.refunds.push((at, amount));
        }
    }

    fn add_returned_line(&mut self, return_id: i64, sku: &str, quantity: i64) {
        let Some(&(at, Some(order_id))) = self.returns.get(&return_id) else { return };
        let sku = self.names.number(sku);
        if let Some(o) = self.order_mut(order_id) {
            o.returned.push((at, sku, quantity));
        }
    }

    fn order_mut(&mut self, id: i64) -> Option<&mut OrderHistory> {
        let &(customer, i) = self.orders.get(&id)?;
        self.customers.get_mut(&customer).map(|h| &mut h.orders[i])
    }

    /// For each business day of `wanted`, which of its customers are members of `rule` as of
    /// that day, ascending. Customers not held are members of nothing: hold them first. The
    /// rule's constant conditions are read from the store, once for all of them.
    pub fn members_by_day(
        &self,
        c: &mut dyn Conn,
        rule: &PurchaseRule,
        calendar: &BusinessClock,
        wanted: &BTreeMap<i64, Vec<i64>>,
    ) -> Result<BTreeMap<i64, Vec<i64>>, Error> {
        let constants = constant_members(c, rule, calendar, wanted)?;
        Ok(wanted
            .iter()
            .map(|(&day, ids)| {
                let end = calendar.start_of_day(day + 1).timestamp();
                let as_of = AsOf { day, end, calendar, constants: &constants, names: &self.names };
                let mut members: Vec<i64> = ids
                    .iter()
                    .copied()
                    .filter(|&id| self.customers.get(&id).is_some_and(|h| rule.rule.holds(id, h, &as_of)))
                    .collect();
                members.sort_unstable();
                members.dedup();
                (day, members)
            })
            .collect())
    }
}

/// The members of each constant condition of `rule` among the customers of `wanted`, in one
/// query each (as of any of the days: they read the same).
fn constant_members(
    c: &mut dyn Conn,
    rule: &PurchaseRule,
    calendar: &BusinessClock,
    wanted: &BTreeMap<i64, Vec<i64>>,
) -> Result<Vec<FxHashSet<i64>>, Error> {
    let Some(&day) = wanted.keys().next() else { return Ok(Vec::new()) };
    let everyone = BTreeMap::from([(day, wanted.values().flatten().copied().collect::<Vec<i64>>())]);
    rule.constants
        .iter()
        .map(|node| {
            let refs = crate::saved::refs(c, node)?;
            let mut members = crate::members_among_by_day_in_sql(c, node, calendar, &refs, &everyone)?;
            Ok(members.remove(&day).unwrap_or_default().into_iter().collect())
        })
        .collect()
}

/// A rule over purchase history and conditions that read the same every day, to evaluate
/// with [`Purchases`]; see [`crate::purchase_rule`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseRule {
    pub(crate) rule: Rule,
    /// The conditions [`Rule::Constant`] numbers.
    pub(crate) constants: Vec<Node>,
}

/// For each business day of `wanted`, which of its customers are members of `rule` as of
/// that day, ascending, reading their history up to the last day.
pub(crate) fn members_by_day(
    c: &mut dyn Conn,
    rule: &PurchaseRule,
    calendar: &BusinessClock,
    wanted: &BTreeMap<i64, Vec<i64>>,
) -> Result<BTreeMap<i64, Vec<i64>>, Error> {
    let Some(&last) = wanted.keys().next_back() else { return Ok(BTreeMap::new()) };
    let ids: Vec<i64> = wanted.values().flatten().copied().collect();
    let returned_before = calendar.start_of_day(last + 1).timestamp();
    let mut purchases = Purchases::new();
    purchases.add(purchase_history::of_customers(c, &ids, last, returned_before, rule.rule.reads_lines())?);
    purchases.members_by_day(c, rule, calendar, wanted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::parse;

    fn in_memory(text: &str, refs: &Refs) -> Option<Rule> {
        let none = |_: &Node| false;
        Rule::of(&parse(text).unwrap(), refs, &mut Constants { is_constant: &none, nodes: Vec::new() }).unwrap()
    }

    #[test]
    fn rules_over_purchases_alone_are_evaluated_in_memory_and_others_in_sql() {
        let mut refs = Refs::default();
        refs.segments.insert("Regulars".into(), parse("orders >= 3 and bought(sku: \"A\")").unwrap());
        refs.segments.insert("VIP".into(), parse("tag = \"vip\"").unwrap());
        for text in [
            "orders >= 3 and bought(category: \"coffee\")",
            "not (spend(within: 90d) < 1000 or returned(within: 30d))",
            "average_order_value >= 3000 and days_since_last_order > 30",
            "first_order >= 2026-01-01 or last_order < 2025-01-01 or days_since_first_order <= 7",
            "segment = \"Regulars\" and not segment != \"Regulars\"",
        ] {
            assert!(in_memory(text, &refs).is_some(), "{text}");
        }
        for text in
            ["orders >= 3 and tag = \"vip\"", "loyal_class = \"loyal\"", "segment = \"VIP\"", "segment = \"Gone\""]
        {
            assert!(in_memory(text, &refs).is_none(), "{text}");
        }
        let days = Window { within: Some(30), since: None, until: None };
        assert_eq!(
            in_memory("bought(sku: \"A\", within: 30d) and orders > 1", &refs),
            Some(Rule::All(vec![
                Rule::Bought(days, Product::Sku("A".into())),
                Rule::Orders(Window::default(), Op::Gt, 1)
            ]))
        );
    }
}
