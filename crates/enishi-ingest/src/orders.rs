//! The order import pipeline, shared by every order format.
//!
//! Lines stream in from a [`formats`](crate::formats) reader, are grouped into orders (the
//! lines of one order are consecutive), checked, and written in batches inside one
//! transaction: customers first seen are created, orders already stored are skipped, and the
//! running stats of every touched customer are recomputed at the end. A group whose lines all
//! have negative quantities is a return. Under a loyalty programme, each batch's new orders earn
//! in one set of books ([`OrderBatch`]), and then its returns take back in another
//! ([`ReturnBatch`]), as if sent one by one. With `skip_bad_rows` off, the
//! first bad row stops all writing (the parse goes on, to report every bad row) and the
//! transaction is rolled back.

use crate::export::REFUND_SKU;
use crate::formats::{self, Detected, OrderFormat, SourceLine};
use crate::intake::within_returnable;
use crate::mapping::CsvOptions;
use crate::reader::Hashing;
use crate::{ImportError, Progress, Rejection, MAX_REPORTED};
use chrono::{DateTime, Utc};
use enishi_core::{Amount, BusinessClock, Channel, Currency};
use enishi_rewards::{EvaluatedOrders, OrderBatch, Programs, Purchase, ReturnBatch, ReturnFacts, EVALUATED_PART};
use enishi_segments::Purchases;
use enishi_store::repo::{customers, imports, orders, privacy, products, purchase_summary};
use enishi_store::{
    Conn, CustomerStats, ImportRecord, NewOrder, NewReturn, OrderLine, Product, ReturnLine, Store, StoreError,
};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::io::Read;
use std::time::Instant;

/// How to import.
#[derive(Debug, Clone)]
pub struct OrderImportOptions {
    /// The file's format.
    pub format: OrderFormat,
    /// Import the good rows and report the bad ones, instead of all-or-nothing.
    pub skip_bad_rows: bool,
    /// Currency of rows that do not say.
    pub currency: Currency,
    /// Business time zone, for local times and days.
    pub clock: BusinessClock,
    /// Orders written per batch.
    pub batch_size: usize,
    /// Most orders whose purchase history the import keeps in memory for segment promotions
    /// (at most about 300 bytes each with their lines); past it, what is held is let go at the next
    /// batch and read again from the store as buyers come back.
    pub held_orders_most: usize,
    /// How a CSV file is read: its encoding and the mapping of its headers.
    pub csv: CsvOptions,
}

impl OrderImportOptions {
    /// Defaults for `format`: all-or-nothing, USD, UTC, batches of 2,000 orders, the history
    /// of up to 1,000,000 orders held.
    pub fn new(format: OrderFormat) -> Self {
        OrderImportOptions {
            format,
            skip_bad_rows: false,
            currency: Currency::USD,
            clock: BusinessClock::default(),
            batch_size: 2000,
            held_orders_most: 1_000_000,
            csv: CsvOptions::default(),
        }
    }
}

/// What an order import did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OrderImportSummary {
    /// File name.
    pub file: String,
    /// Format.
    pub format: String,
    /// The encoding the file was read in (`utf-8` or `shift_jis`; absent for formats that
    /// are not CSV).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub encoding: String,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Data rows read (order lines).
    pub rows_read: u64,
    /// Customers created (first seen in this file).
    pub customers_created: u64,
    /// Orders created.
    pub orders_created: u64,
    /// Order lines created.
    pub lines_created: u64,
    /// Returns created.
    pub returns_created: u64,
    /// Return lines created.
    pub return_lines_created: u64,
    /// Returns whose original order could not be found (stored without a link).
    pub unlinked_returns: u64,
    /// Products added to the catalogue.
    pub products_created: u64,
    /// Orders and returns skipped because they were already stored.
    pub duplicates_skipped: u64,
    /// Rows rejected.
    pub rows_rejected: u64,
    /// Rows without a customer id (reported, not imported).
    pub rows_without_customer: u64,
    /// Rows of customers erased on request (skipped: an old file does not bring them back).
    pub rows_of_erased_customers: u64,
    /// Orders created whose total is zero.
    pub zero_value_orders: u64,
    /// Lines created with a zero unit price (free items).
    pub free_lines: u64,
    /// When a file with the same content was imported before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previously_imported_at: Option<DateTime<Utc>>,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Rows read per second.
    pub rows_per_second: f64,
}

/// The result of an import that went through.
#[derive(Debug, Clone)]
pub struct OrderImport {
    /// Counts.
    pub summary: OrderImportSummary,
    /// Rows rejected (with `skip_bad_rows`), and rows without a customer.
    pub report: Vec<Rejection>,
}

/// Imports orders from `input` (named `file_name` in messages and the import record).
pub fn import_orders(
    store: &Store,
    input: impl Read + Send,
    file_name: &str,
    opts: &OrderImportOptions,
    progress: Progress,
) -> Result<OrderImport, ImportError> {
    let started = Instant::now();
    let started_at = store.now();
    let (reader, hash) = Hashing::new(input, progress);
    store.bulk_write(|c| {
        let erased = privacy::erased_hashes(c)?;
        std::thread::scope(|scope| {
            // One core reads, parses and groups lines into orders while the other writes: the
            // orders cross in chunks.
            let (chunks, grouped) = std::sync::mpsc::sync_channel::<Vec<Ready>>(GROUPED_CHUNKS);
            let parser = scope.spawn(move || -> Result<(Grouper, Detected), ImportError> {
                let mut g = Grouper::new(opts, erased);
                let (lines, detected) = formats::open(opts.format, reader, opts.clock, &opts.csv)?;
                for item in lines {
                    g.take(item);
                    if g.ready.len() >= GROUPED_CHUNK && chunks.send(std::mem::take(&mut g.ready)).is_err() {
                        // The writer stopped (it failed): nothing more to read.
                        return Ok((g, detected));
                    }
                }
                g.finish_group();
                let _ = chunks.send(std::mem::take(&mut g.ready));
                Ok((g, detected))
            });
            let programs = Programs::load(c, opts.clock)?;
            let into_empty = !customers::any(c)?;
            // Into an empty database, the indexes that grow at random places are built once at
            // the end.
            let indexes_deferred = into_empty && imports::defer_import_indexes(c)?;
            let mut p = Pipeline::new(c, opts, &programs, into_empty, indexes_deferred);
            for chunk in grouped {
                for group in chunk {
                    p.take(group)?;
                }
            }
            let (read, detected) = parser
                .join()
                .map_err(|_| ImportError::File(Rejection::line(0, "the parser stopped unexpectedly")))??;
            p.flush()?;
            p.restore_indexes()?;
            p.summary.rows_read = read.rows_read;
            p.summary.rows_without_customer = read.rows_without_customer;
            p.summary.rows_of_erased_customers = read.rows_of_erased;
            p.rejected.merge(read.rejected);
            p.summary.rows_rejected = p.rejected.count;
            p.without_customer = read.without_customer;
            if p.summary.rows_read == 0
                && p.summary.rows_rejected == 0
                && p.summary.rows_without_customer == 0
                && p.summary.rows_of_erased_customers == 0
            {
                return Err(ImportError::File(Rejection::line(1, "the file has no rows")));
            }
            if p.rejected.failed {
                return Err(ImportError::BadRows { rejections: p.rejected.kept, total: p.rejected.count });
            }
            // Customers created by this import have stats computed on the way; the others are
            // recomputed from everything stored.
            let touched: Vec<i64> = p.touched.iter().copied().filter(|id| !p.new_stats.contains_key(id)).collect();
            customers::refresh_stats(p.c, &touched)?;
            let mut computed: Vec<(i64, CustomerStats)> =
                std::mem::take(&mut p.new_stats).into_iter().map(|(id, acc)| (id, acc.finish())).collect();
            // In key order, each row goes at the end of the table's B-tree instead of anywhere.
            computed.sort_unstable_by_key(|(id, _)| *id);
            customers::insert_stats(p.c, &computed)?;
            // The purchase summary: the import's customers refreshed, or marked for a rebuild.
            let mut written: Vec<i64> = p.touched.iter().copied().collect();
            written.sort_unstable();
            purchase_summary::advance_horizon(p.c, p.latest_day, p.latest_return_at)?;
            purchase_summary::after_import(p.c, &written)?;
            let mut summary = p.summary;
            summary.file = file_name.to_string();
            summary.format = opts.format.name().to_string();
            if opts.format.is_csv() {
                summary.encoding = detected.encoding().name().to_string();
            }
            summary.sha256 = hash.get();
            summary.previously_imported_at =
                imports::find_by_hash(p.c, &summary.sha256)?.first().map(|r| r.finished_at);
            summary.seconds = started.elapsed().as_secs_f64();
            summary.rows_per_second = summary.rows_read as f64 / summary.seconds.max(1e-9);
            imports::record(
                p.c,
                &ImportRecord {
                    id: 0,
                    kind: "orders".into(),
                    format: summary.format.clone(),
                    file_name: file_name.to_string(),
                    sha256: summary.sha256.clone(),
                    started_at,
                    finished_at: store.now(),
                    summary: serde_json::to_value(&summary).unwrap_or_default(),
                },
            )?;
            let mut report = p.rejected.kept;
            report.extend(p.without_customer);
            report.sort_by_key(|r| r.line);
            Ok(OrderImport { summary, report })
        })
    })
}

/// Orders and returns per message from the reading thread to the writing one.
const GROUPED_CHUNK: usize = 1024;
/// Messages the reader may run ahead of the writer.
const GROUPED_CHUNKS: usize = 8;

/// An order or return, as the reading thread hands it over.
enum Ready {
    /// An order, built on the reading thread; its `customer_id` is set by the writer once
    /// `customer` (the shop's id) is resolved.
    Order { customer: String, order: NewOrder },
    /// A return, as its lines were read.
    Return(Group),
}

/// An order or return assembled from consecutive lines.
struct Group {
    order_ref: String,
    customer: String,
    lines: Vec<SourceLine>,
}

/// The reading side: turns parsed lines into orders and returns, and rejects the rows that
/// cannot form one. It runs on the reading thread and hands them over in `ready`.
struct Grouper {
    clock: BusinessClock,
    currency: Currency,
    rows_read: u64,
    rows_without_customer: u64,
    /// Rows skipped because their customer was erased on request.
    rows_of_erased: u64,
    /// The erasure list (hashes of shop ids); usually empty, and then never consulted.
    erased: HashSet<String>,
    /// Once a row is rejected without `skip_bad_rows`, nothing more is handed over.
    rejected: Rejections,
    without_customer: Vec<Rejection>,
    group: Option<Group>,
    poisoned: Option<String>,
    seen_orders: HashSet<u64>,
    hasher: std::collections::hash_map::RandomState,
    /// Complete orders and returns not yet handed over.
    ready: Vec<Ready>,
}

/// The writing side: stores the groups in batches.
struct Pipeline<'c, 'o> {
    c: &'c mut dyn Conn,
    opts: &'o OrderImportOptions,
    /// The loyalty programmes imported orders earn under.
    programs: &'o Programs,
    summary: OrderImportSummary,
    rejected: Rejections,
    without_customer: Vec<Rejection>,
    // The writer's maps hash with Fx: the keys are the shop's own ids, and SipHash was 4% of
    // the writer's instructions.
    customer_ids: FxHashMap<String, i64>,
    known_skus: FxHashSet<String>,
    /// Orders waiting for the batch: (the shop's customer id, order).
    pending_orders: Vec<(String, NewOrder)>,
    pending_returns: Vec<Group>,
    touched: FxHashSet<i64>,
    /// The latest business day of an order written, and the latest instant of a return
    /// written, for the purchase summary's horizon.
    latest_day: Option<i64>,
    latest_return_at: Option<i64>,
    /// Running stats of the customers this import created.
    new_stats: FxHashMap<i64, StatsAcc>,
    /// The customers the batch being written created (they have no loyalty state yet).
    created_in_batch: Vec<i64>,
    /// Whether the database held no customer (so no order) when the import began: then every
    /// customer and order this import has not written itself is new, and is not looked up.
    into_empty: bool,
    /// Batches written so far.
    flushes: u64,
    /// Indexes were dropped, to be built at the end (see [`imports::defer_import_indexes`]).
    indexes_deferred: bool,
    /// The purchase history of the customers a segment promotion has asked about, kept
    /// current with every order and return this import stores: each customer's stored history
    /// is read once per import, not once per batch.
    purchases: Purchases,
}

/// Running stats of a customer created by the import, kept as its orders and returns go in.
#[derive(Default)]
struct StatsAcc {
    first: i64,
    last: i64,
    orders: i64,
    days: Vec<i64>,
    spend: i64,
    returned: i64,
}

impl StatsAcc {
    fn order(&mut self, placed_at: i64, day: i64, total: Amount) -> Result<(), StoreError> {
        if self.orders == 0 || placed_at < self.first {
            self.first = placed_at;
        }
        if self.orders == 0 || placed_at > self.last {
            self.last = placed_at;
        }
        self.orders += 1;
        self.days.push(day);
        self.spend = self.spend.checked_add(total.to_scaled()).ok_or_else(|| {
            StoreError::OutOfRange("a customer's total spend in this file exceeds what Enishi stores".into())
        })?;
        Ok(())
    }

    fn finish(mut self) -> CustomerStats {
        self.days.sort_unstable();
        self.days.dedup();
        let has = self.orders > 0;
        CustomerStats {
            first_order_at: has.then(|| enishi_store::instant(self.first)),
            last_order_at: has.then(|| enishi_store::instant(self.last)),
            order_count: self.orders,
            purchase_days: self.days.len() as i64,
            total_spend: Amount::from_scaled(self.spend),
            returned_amount: Amount::from_scaled(self.returned),
        }
    }
}

/// Rejected rows: every one counted, the first [`MAX_REPORTED`] kept for the report (all of
/// them under `skip_bad_rows`). The reading and the writing side each keep their own.
struct Rejections {
    skip_bad_rows: bool,
    count: u64,
    /// A row was rejected without `skip_bad_rows`: nothing will be written.
    failed: bool,
    kept: Vec<Rejection>,
}

impl Rejections {
    fn new(skip_bad_rows: bool) -> Self {
        Rejections { skip_bad_rows, count: 0, failed: false, kept: Vec::new() }
    }

    fn add(&mut self, r: Rejection) {
        self.count += 1;
        self.failed |= !self.skip_bad_rows;
        if self.kept.len() < MAX_REPORTED || self.skip_bad_rows {
            self.kept.push(r);
        }
    }

    /// Rejects every line of a group.
    fn group(&mut self, g: &Group, reason: &str) {
        for l in &g.lines {
            self.add(Rejection::line(l.line, reason).in_order(Some(&g.order_ref)));
        }
    }

    /// Takes in the other side's rejections, in line order.
    fn merge(&mut self, other: Rejections) {
        self.count += other.count;
        self.failed |= other.failed;
        self.kept.extend(other.kept);
        self.kept.sort_by_key(|r| r.line);
        if !self.skip_bad_rows {
            self.kept.truncate(MAX_REPORTED);
        }
    }
}

impl Grouper {
    fn new(opts: &OrderImportOptions, erased: HashSet<String>) -> Self {
        Grouper {
            clock: opts.clock,
            currency: opts.currency,
            rows_read: 0,
            rows_without_customer: 0,
            rows_of_erased: 0,
            erased,
            rejected: Rejections::new(opts.skip_bad_rows),
            without_customer: Vec::new(),
            group: None,
            poisoned: None,
            seen_orders: HashSet::new(),
            hasher: Default::default(),
            ready: Vec::new(),
        }
    }

    fn take(&mut self, item: Result<SourceLine, Rejection>) {
        let line = match item {
            Ok(l) => l,
            Err(r) => {
                // A bad row spoils its whole order: no order is imported with a line missing.
                if let Some(order) = r.order_id.clone() {
                    if self.group.as_ref().is_some_and(|g| g.order_ref == order) {
                        let g = self.group.take().expect("checked");
                        self.rejected
                            .group(&g, &format!("another line of order {order} was rejected (line {})", r.line));
                    }
                    self.poisoned = Some(order);
                }
                self.rows_read += 1;
                self.rejected.add(r);
                return;
            }
        };
        if !self.erased.is_empty()
            && line.customer.as_deref().is_some_and(|c| self.erased.contains(&privacy::external_id_hash(c)))
        {
            self.rows_of_erased += 1;
            return;
        }
        if line.customer.is_none() {
            self.rows_without_customer += 1;
            self.without_customer
                .push(Rejection::line(line.line, "no customer id: row not imported").in_order(Some(&line.order_ref)));
            return;
        }
        if self.poisoned.as_deref() == Some(line.order_ref.as_str()) {
            let r = Rejection::line(line.line, format!("another line of order {} was rejected", line.order_ref))
                .in_order(Some(&line.order_ref));
            self.rows_read += 1;
            self.rejected.add(r);
            return;
        }
        self.rows_read += 1;
        if self.group.as_ref().is_some_and(|g| g.order_ref != line.order_ref) {
            self.finish_group();
        }
        match &mut self.group {
            Some(g) => g.lines.push(line),
            None => {
                let customer = line.customer.clone().unwrap_or_default();
                self.group = Some(Group { order_ref: line.order_ref.clone(), customer, lines: vec![line] });
            }
        }
    }

    fn finish_group(&mut self) {
        let Some(g) = self.group.take() else { return };
        self.poisoned = None;
        if !self.seen_orders.insert(self.hasher.hash_one(&g.order_ref)) {
            let reason = format!(
                "order {} appeared earlier in the file: the lines of one order must be consecutive",
                g.order_ref
            );
            self.rejected.group(&g, &reason);
            return;
        }
        if let Some(problem) = inconsistency(&g) {
            self.rejected.group(&g, &problem);
            return;
        }
        // After a rejection without `skip_bad_rows` nothing will be written: keep reading only
        // to report every bad row.
        if self.rejected.failed {
            return;
        }
        if g.lines[0].quantity < 0 {
            self.ready.push(Ready::Return(g));
            return;
        }
        let first = &g.lines[0];
        let order = NewOrder {
            customer_id: 0,
            placed_at: first.placed_at,
            placed_day: self.clock.day_number(first.placed_at),
            channel: first.channel.unwrap_or(Channel::Other),
            currency: first.currency.unwrap_or(self.currency).to_string(),
            total: first.order_total.unwrap_or_else(|| g.lines.iter().map(|l| l.amount).sum()),
            status: first.status.clone().unwrap_or_else(|| "completed".into()),
            order_ref: g.order_ref,
            lines: g.lines.into_iter().map(order_line).collect(),
        };
        self.ready.push(Ready::Order { customer: g.customer, order });
    }
}

impl<'c, 'o> Pipeline<'c, 'o> {
    fn new(
        c: &'c mut dyn Conn,
        opts: &'o OrderImportOptions,
        programs: &'o Programs,
        into_empty: bool,
        indexes_deferred: bool,
    ) -> Self {
        Pipeline {
            c,
            opts,
            programs,
            summary: OrderImportSummary::default(),
            rejected: Rejections::new(opts.skip_bad_rows),
            without_customer: Vec::new(),
            customer_ids: FxHashMap::default(),
            known_skus: FxHashSet::default(),
            pending_orders: Vec::new(),
            pending_returns: Vec::new(),
            touched: FxHashSet::default(),
            latest_day: None,
            latest_return_at: None,
            new_stats: FxHashMap::default(),
            created_in_batch: Vec::new(),
            into_empty,
            flushes: 0,
            indexes_deferred,
            purchases: Purchases::new(),
        }
    }

    /// Takes a complete order or return, and writes a batch when one is full.
    fn take(&mut self, ready: Ready) -> Result<(), ImportError> {
        match ready {
            Ready::Order { customer, order } => self.pending_orders.push((customer, order)),
            Ready::Return(g) => self.pending_returns.push(g),
        }
        if self.pending_orders.len() + self.pending_returns.len() >= self.opts.batch_size {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ImportError> {
        if self.rejected.failed {
            self.pending_orders.clear();
            self.pending_returns.clear();
            return Ok(());
        }
        self.resolve_customers()?;
        self.write_orders()?;
        self.write_returns()?;
        self.flushes += 1;
        if self.flushes.is_power_of_two() {
            // Each time the import has doubled, so that lookups stay lookups as tables grow.
            imports::refresh_statistics(self.c)?;
        }
        Ok(())
    }

    fn resolve_customers(&mut self) -> Result<(), ImportError> {
        self.created_in_batch.clear();
        let mut wanted: FxHashMap<&str, i64> = FxHashMap::default();
        let orders = self.pending_orders.iter().map(|(customer, o)| (customer, o.placed_at));
        let returns = self.pending_returns.iter().map(|g| (&g.customer, g.lines[0].placed_at));
        for (customer, placed_at) in orders.chain(returns) {
            if !self.customer_ids.contains_key(customer) {
                let t = placed_at.timestamp();
                let e = wanted.entry(customer.as_str()).or_insert(t);
                *e = (*e).min(t);
            }
        }
        if wanted.is_empty() {
            return Ok(());
        }
        let list: Vec<(String, i64)> = wanted.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let (ids, created) = if self.into_empty {
            customers::create_new(self.c, list.iter().collect())?
        } else {
            customers::resolve_or_create(self.c, &list)?
        };
        self.summary.customers_created += created.len() as u64;
        self.created_in_batch.clone_from(&created);
        self.new_stats.extend(created.into_iter().map(|id| (id, StatsAcc::default())));
        self.customer_ids.extend(ids);
        Ok(())
    }

    fn write_orders(&mut self) -> Result<(), ImportError> {
        let groups = std::mem::take(&mut self.pending_orders);
        if groups.is_empty() {
            return Ok(());
        }
        let batch: Vec<NewOrder> = groups
            .into_iter()
            .map(|(customer, mut order)| {
                order.customer_id = self.customer_ids[&customer];
                order
            })
            .collect();
        // Repeats within the file were rejected on the way in (`seen_orders`); into an empty
        // database, nothing is stored already.
        let stored = if self.into_empty {
            HashMap::new()
        } else {
            orders::stored_ids(self.c, &batch.iter().map(|o| o.order_ref.as_str()).collect::<Vec<_>>())?
        };
        let fresh: Vec<&NewOrder> = batch.iter().filter(|o| !stored.contains_key(&o.order_ref)).collect();
        self.summary.duplicates_skipped += (batch.len() - fresh.len()) as u64;
        let ids = orders::reserve_ids(self.c, fresh.len())?;
        if self.programs.latest().is_none() {
            orders::insert_with_ids(self.c, &fresh, &ids)?;
            self.purchases_stored(&fresh, &ids);
            return self.count_new(&fresh);
        }
        // The batch's new orders earn in one set of books. They touch no database: the orders
        // are evaluated on another core while this one stores them, and then stores what they
        // earned, part by part as it comes.
        let customers: Vec<i64> = fresh
            .iter()
            .filter(|o| self.programs.at(o.placed_at.timestamp()).is_some())
            .map(|o| o.customer_id)
            .collect();
        let mut books = OrderBatch::open(self.c, &customers, &self.created_in_batch)?;
        let programs = self.programs;
        // A promotion limited to a segment reads its members as of the day before each order:
        // from the purchase history held in memory when the segment's other conditions read the
        // same every day (scores, tags, …), or else from the orders stored, this batch's first.
        let buyers = || fresh.iter().map(|o| (o.customer_id, o.placed_at));
        let segments = OrderBatch::segment_rules(self.c, programs, buyers())?;
        let stored_first = !segments.is_empty() && !segments.in_memory();
        if stored_first {
            orders::insert_with_ids(self.c, &fresh, &ids)?;
            self.count_new(&fresh)?;
            self.purchases_stored(&fresh, &ids);
            // Segment conditions look orders up by customer.
            self.restore_indexes()?;
            books.read_segments(self.c, programs, buyers(), &segments, None)?;
        } else if !segments.is_empty() {
            // Segments of purchase history (and conditions read once): answered in memory, from
            // what was stored before and this batch, which is stored meanwhile.
            if self.purchases.orders_held() > self.opts.held_orders_most {
                // Everything held is stored: what is needed again is read again.
                self.purchases = Purchases::new();
            }
            self.purchases.add_new_customers(self.created_in_batch.iter().copied());
            let unread: Vec<i64> =
                fresh.iter().map(|o| o.customer_id).filter(|&id| !self.purchases.holds(id)).collect();
            if !unread.is_empty() {
                // Their history is looked up by customer.
                self.restore_indexes()?;
                self.purchases.load(self.c, unread)?;
            }
            self.purchases_stored(&fresh, &ids);
            books.read_segments(self.c, programs, buyers(), &segments, Some(&self.purchases))?;
        }
        let (fresh, ids) = (&fresh, &ids);
        std::thread::scope(|scope| -> Result<(), ImportError> {
            let (parts, evaluated) = std::sync::mpsc::channel::<EvaluatedOrders>();
            let evaluating = scope.spawn(move || -> Result<OrderBatch, StoreError> {
                for (orders, ids) in fresh.chunks(EVALUATED_PART).zip(ids.chunks(EVALUATED_PART)) {
                    for (o, &id) in orders.iter().zip(ids) {
                        enishi_rewards::on_new_order(&mut books, programs, &Purchase::stored(id, o))?;
                    }
                    if parts.send(books.take_entries()).is_err() {
                        break; // the writer failed
                    }
                }
                Ok(books)
            });
            if !stored_first {
                orders::insert_with_ids(self.c, fresh, ids)?;
                self.count_new(fresh)?;
                self.purchases_stored(fresh, ids);
            }
            // Until the evaluating thread ends (and drops its end of the channel).
            for part in evaluated {
                part.write(self.c)?;
            }
            let books = evaluating.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            Ok(books.write(self.c)?)
        })
    }

    /// Keeps the purchase history held for segment promotions current with orders stored
    /// (`ids` are theirs).
    fn purchases_stored(&mut self, fresh: &[&NewOrder], ids: &[i64]) {
        for (o, &id) in fresh.iter().zip(ids) {
            self.purchases.add_order(id, o);
        }
    }

    /// Counts a batch's new orders, keeps their new customers' stats, and stores the products
    /// they name for the first time.
    fn count_new(&mut self, fresh: &[&NewOrder]) -> Result<(), ImportError> {
        let mut new_products = Vec::new();
        for o in fresh {
            self.summary.orders_created += 1;
            self.summary.lines_created += o.lines.len() as u64;
            self.summary.free_lines += o.lines.iter().filter(|l| l.unit_price.is_zero()).count() as u64;
            self.summary.zero_value_orders += u64::from(o.total.is_zero());
            self.touched.insert(o.customer_id);
            self.latest_day = self.latest_day.max(Some(o.placed_day));
            if let Some(acc) = self.new_stats.get_mut(&o.customer_id) {
                acc.order(o.placed_at.timestamp(), o.placed_day, o.total)?;
            }
            for l in &o.lines {
                if !self.known_skus.contains(&l.sku) {
                    self.known_skus.insert(l.sku.clone());
                    new_products.push(Product {
                        sku: l.sku.clone(),
                        name: l.product_name.clone(),
                        category: l.category.clone(),
                        price: Some(l.unit_price),
                        currency: Some(o.currency.clone()),
                    });
                }
            }
        }
        self.summary.products_created += products::insert_missing(self.c, &new_products)?;
        Ok(())
    }

    fn write_returns(&mut self) -> Result<(), ImportError> {
        let groups = std::mem::take(&mut self.pending_returns);
        if groups.is_empty() {
            return Ok(());
        }
        let named: Vec<&str> = groups.iter().filter_map(|g| g.lines[0].return_of.as_deref()).collect();
        let originals = orders::ids_by_ref(self.c, &named)?;
        let refs: Vec<&str> = groups.iter().map(|g| g.order_ref.as_str()).collect();
        let stored = orders::existing_return_refs(self.c, &refs)?;
        // Units left to return of each original, kept current as the batch's returns go in.
        let ids: Vec<i64> = originals.values().map(|o| o.id).collect();
        let mut returnable = orders::returnable_quantities_of(self.c, &ids)?;
        let with_loyalty = self.programs.latest().is_some();
        let mut accepted: Vec<NewReturn> = Vec::new();
        for g in groups {
            if stored.contains(&g.order_ref) {
                self.summary.duplicates_skipped += 1;
                continue;
            }
            let customer_id = self.customer_ids[&g.customer];
            let first = &g.lines[0];
            // Lines with the refund SKU carry money without goods.
            let lines: Vec<ReturnLine> = g
                .lines
                .iter()
                .filter(|l| l.sku != REFUND_SKU)
                .map(|l| ReturnLine {
                    sku: l.sku.clone(),
                    quantity: -l.quantity,
                    unit_price: l.unit_price,
                    amount: Amount::ZERO - l.amount,
                })
                .collect();
            let amount = first.order_total.unwrap_or_else(|| g.lines.iter().map(|l| Amount::ZERO - l.amount).sum());
            let order_id = match first.return_of.as_deref() {
                Some(r) => match originals.get(r) {
                    Some(o) if o.customer_id != customer_id => {
                        let why = format!("return_of: order {r} belongs to another customer");
                        self.rejected.group(&g, &why);
                        continue;
                    }
                    Some(o) if o.placed_at > first.placed_at.timestamp() => {
                        let why = format!("return_of: the return is dated before order {r} was placed");
                        self.rejected.group(&g, &why);
                        continue;
                    }
                    Some(o) => {
                        let left = returnable.entry(o.id).or_default();
                        if let Err(why) = within_returnable(left, r, &lines) {
                            self.rejected.group(&g, &why);
                            continue;
                        }
                        for l in &lines {
                            *left.entry(l.sku.clone()).or_default() -= l.quantity;
                        }
                        Some(o.id)
                    }
                    None => {
                        let why = format!("return_of: no order '{r}' (the original order must be imported first)");
                        self.rejected.group(&g, &why);
                        continue;
                    }
                },
                None => self.link_by_sku(customer_id, &g)?,
            };
            let r = NewReturn {
                return_ref: g.order_ref.clone(),
                order_id,
                customer_id,
                returned_at: first.placed_at,
                amount,
                reason: first.status.clone(),
                lines,
            };
            accepted.push(r);
        }
        // Repeats within the file were rejected on the way in, and returns stored before are
        // skipped above: what is left is new.
        let outcomes = orders::insert_returns(self.c, &accepted)?;
        let mut earned_back = Vec::new();
        for (r, outcome) in accepted.into_iter().zip(outcomes) {
            if let orders::Inserted::Duplicate(_) = outcome {
                self.summary.duplicates_skipped += 1;
                continue;
            }
            if let orders::Inserted::Created(id) = outcome {
                self.purchases.add_return(id, &r);
            }
            self.summary.returns_created += 1;
            self.summary.return_lines_created += r.lines.len() as u64;
            self.summary.unlinked_returns += u64::from(r.order_id.is_none());
            self.touched.insert(r.customer_id);
            self.latest_return_at = self.latest_return_at.max(Some(r.returned_at.timestamp()));
            if let Some(acc) = self.new_stats.get_mut(&r.customer_id) {
                acc.returned += r.amount.to_scaled();
            }
            if with_loyalty && r.order_id.is_some() {
                earned_back.push(r);
            }
        }
        // Each return takes back points in proportion to what was refunded up to and
        // including it, in file order, as if each were taken back when stored.
        if !earned_back.is_empty() {
            let facts: Vec<ReturnFacts<'_>> = earned_back
                .iter()
                .filter_map(|r| {
                    Some(ReturnFacts {
                        order_id: r.order_id?,
                        return_ref: &r.return_ref,
                        returned_at: r.returned_at,
                        reason: r.reason.as_deref(),
                        amount: r.amount,
                        by: None,
                    })
                })
                .collect();
            let mut books = ReturnBatch::open(self.c, &facts)?;
            for f in &facts {
                books.take_back(f)?;
            }
            books.write()?;
        }
        Ok(())
    }

    /// Builds the deferred indexes, if they were.
    fn restore_indexes(&mut self) -> Result<(), ImportError> {
        if std::mem::take(&mut self.indexes_deferred) {
            imports::restore_import_indexes(self.c)?;
        }
        Ok(())
    }

    /// The customer's latest earlier order that has one of the returned SKUs.
    fn link_by_sku(&mut self, customer_id: i64, g: &Group) -> Result<Option<i64>, ImportError> {
        self.restore_indexes()?;
        let before = g.lines[0].placed_at.timestamp();
        for l in &g.lines {
            if let Some(id) = orders::latest_with_sku(self.c, customer_id, &l.sku, before)? {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }
}

fn order_line(l: SourceLine) -> OrderLine {
    OrderLine {
        sku: l.sku,
        product_name: l.product_name,
        category: l.category,
        quantity: l.quantity,
        unit_price: l.unit_price,
        amount: l.amount,
    }
}

/// Why the lines of a group cannot form one order, if they cannot.
fn inconsistency(g: &Group) -> Option<String> {
    let first = &g.lines[0];
    for l in &g.lines[1..] {
        let differs = if l.customer != first.customer {
            Some("customer_id")
        } else if l.placed_at != first.placed_at {
            Some("placed_at")
        } else if l.currency != first.currency {
            Some("currency")
        } else if l.channel != first.channel {
            Some("channel")
        } else if l.status != first.status {
            Some("status")
        } else if l.return_of != first.return_of {
            Some("return_of")
        } else if l.order_total != first.order_total {
            Some("order_total")
        } else {
            None
        };
        if let Some(col) = differs {
            return Some(format!(
                "order {}: line {} has a different {col} than line {}",
                g.order_ref, l.line, first.line
            ));
        }
    }
    let negative = g.lines.iter().filter(|l| l.quantity < 0).count();
    if negative > 0 && negative < g.lines.len() {
        return Some(format!(
            "order {} mixes sales and returns (negative quantities); send the return under its own id with return_of",
            g.order_ref
        ));
    }
    if negative == 0 && first.return_of.is_some() {
        return Some(format!("order {}: return_of is set but the quantities are not negative", g.order_ref));
    }
    if Amount::checked_sum(g.lines.iter().map(|l| l.amount)).is_none() {
        return Some(format!(
            "order {}: its lines add up to more than the largest amount ({} either way)",
            g.order_ref,
            Amount::LIMIT
        ));
    }
    None
}
