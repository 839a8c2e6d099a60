//! Group commit for `POST /api/v1/orders`: orders that arrive together are written in one
//! transaction, each inside its own savepoint (a bad order is rolled back alone), and every
//! request is answered after the commit that made it durable. On SQLite one writer thread owns
//! the writes, so the single write lock is taken once per batch instead of once per order; on
//! PostgreSQL several writers run batches side by side, each batch taking its customers in one
//! order (so two batches cannot deadlock on them) and retried if the server still reports a
//! deadlock.

use crate::ApiError;
use enishi_ingest::intake::{self, OrderInput, RecordedOrder, Workspace};
use enishi_rewards::ProgramCache;
use enishi_store::{Store, StoreError};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Most orders committed together.
const MAX_BATCH: usize = 128;

/// Writer threads on PostgreSQL (SQLite has one writer at a time anyway).
const PG_WRITERS: usize = 4;

/// Times a batch is tried when PostgreSQL reports a deadlock.
const ATTEMPTS: usize = 3;

type Reply = oneshot::Sender<Result<RecordedOrder, ApiError>>;

/// Who sent an order, as far as the writer cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OrderFrom {
    /// A manager (or the console after a manager's confirmation): any amount.
    Manager,
    /// Staff, with the order's total (checked by the caller): above the staff order limit
    /// the order is refused (`confirmation_required`).
    Staff {
        /// The order's total.
        total: enishi_core::Amount,
    },
}

/// An order waiting for the writer.
type Job = (OrderInput, OrderFrom, Reply);

/// The queue in front of the order writer.
pub(crate) struct OrderBatcher {
    queue: Sender<Job>,
}

impl OrderBatcher {
    /// Starts the writer thread; it ends when the batcher is dropped.
    pub(crate) fn start(store: Arc<Store>, ws: Arc<crate::LiveWorkspace>, programs: Arc<ProgramCache>) -> OrderBatcher {
        let (queue, rx) = mpsc::channel();
        let rx = Arc::new(Mutex::new(rx));
        let writers = if store.backend() == enishi_store::Backend::Postgres { PG_WRITERS } else { 1 };
        for i in 0..writers {
            let (store, programs, rx, ws) = (store.clone(), programs.clone(), rx.clone(), ws.clone());
            std::thread::Builder::new()
                .name(format!("order-writer-{i}"))
                .spawn(move || write_loop(&store, &ws, &programs, &rx))
                .expect("start an order writer thread");
        }
        OrderBatcher { queue }
    }

    /// Records an order; answers once it is committed. A staff order above the staff order
    /// limit is refused; the limit is read in the batch's own transaction, once per batch.
    pub(crate) async fn record(&self, input: OrderInput, from: OrderFrom) -> Result<RecordedOrder, ApiError> {
        let (tx, rx) = oneshot::channel();
        self.queue.send((input, from, tx)).map_err(|_| ApiError::internal("the order writer stopped"))?;
        rx.await.map_err(|_| ApiError::internal("the order writer dropped a request"))?
    }
}

/// The next batch: waits for one order, then takes what else has queued.
fn next_batch(rx: &Mutex<Receiver<Job>>) -> Option<Vec<Job>> {
    let rx = rx.lock().unwrap_or_else(|p| p.into_inner());
    let mut jobs = vec![rx.recv().ok()?];
    while jobs.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(job) => jobs.push(job),
            Err(_) => break,
        }
    }
    Some(jobs)
}

fn is_deadlock(e: &StoreError) -> bool {
    matches!(e, StoreError::Database(m) if m.starts_with("40P01") || m.starts_with("40001"))
}

fn write_loop(store: &Store, live: &crate::LiveWorkspace, programs: &ProgramCache, rx: &Mutex<Receiver<Job>>) {
    while let Some(mut jobs) = next_batch(rx) {
        // Customers in one order in every batch, so concurrent batches lock them alike.
        jobs.sort_by(|a, b| a.0.customer.external_id.trim().cmp(b.0.customer.external_id.trim()));
        let ws = live.get();
        let mut written = write_batch(store, ws, programs, &jobs);
        for _ in 1..ATTEMPTS {
            match &written {
                Err(e) if is_deadlock(e) => written = write_batch(store, ws, programs, &jobs),
                _ => break,
            }
        }
        match written {
            Ok(results) => {
                for ((_, _, reply), result) in jobs.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            Err(e) => {
                let err = ApiError::from(e);
                for (_, _, reply) in jobs {
                    let _ = reply.send(Err(err.clone()));
                }
            }
        }
    }
}

/// Writes a batch in one transaction, each order in its own savepoint.
fn write_batch(
    store: &Store,
    ws: Workspace,
    programs: &ProgramCache,
    jobs: &[Job],
) -> Result<Vec<Result<RecordedOrder, ApiError>>, StoreError> {
    store.write(|c| -> Result<Vec<Result<RecordedOrder, ApiError>>, StoreError> {
        let programs = programs.get(c, ws.clock)?;
        let staff_limit = match jobs.iter().any(|j| matches!(j.1, OrderFrom::Staff { .. })) {
            true => Some(crate::access::staff_order_limit(c, ws.currency)?),
            false => None,
        };
        let mut out = Vec::with_capacity(jobs.len());
        for (input, from, _) in jobs {
            if let (OrderFrom::Staff { total }, Some(limit)) = (from, staff_limit) {
                if *total > limit {
                    out.push(Err(crate::access::needs_manager(*total, limit)));
                    continue;
                }
            }
            // A conflict can be a concurrent batch creating the same new customer: once that
            // batch has committed, a second try finds the customer.
            let mut result = record_one(c, input, ws, &programs)?;
            if matches!(&result, Err(intake::IntakeError::Store(StoreError::Conflict(_)))) {
                result = record_one(c, input, ws, &programs)?;
            }
            out.push(result.map_err(ApiError::from));
        }
        Ok(out)
    })
}

/// Records one order inside a savepoint: an order that fails is rolled back alone (its error is
/// the inner result); a deadlock fails the whole batch (the outer error), which is then retried.
fn record_one(
    c: &mut dyn enishi_store::Conn,
    input: &OrderInput,
    ws: Workspace,
    programs: &enishi_rewards::Programs,
) -> Result<Result<RecordedOrder, intake::IntakeError>, StoreError> {
    c.execute_batch("SAVEPOINT one_order")?;
    match intake::record_order(c, input, ws, programs) {
        Ok(r) => {
            c.execute_batch("RELEASE SAVEPOINT one_order")?;
            Ok(Ok(r))
        }
        Err(intake::IntakeError::Store(e)) if is_deadlock(&e) => Err(e),
        Err(e) => {
            c.execute_batch("ROLLBACK TO SAVEPOINT one_order; RELEASE SAVEPOINT one_order")?;
            Ok(Err(e))
        }
    }
}
