//! Group commit for `POST /api/v1/orders`: orders that arrive together are written in one
//! transaction, each inside its own savepoint (a bad order is rolled back alone), and every
//! request is answered after the commit that made it durable. One writer thread owns the
//! writes, so SQLite's single write lock is taken once per batch instead of once per order.

use crate::ApiError;
use enishi_ingest::intake::{self, OrderInput, RecordedOrder, Workspace};
use enishi_rewards::ProgramCache;
use enishi_store::{Store, StoreError};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use tokio::sync::oneshot;

/// Most orders committed together.
const MAX_BATCH: usize = 128;

type Reply = oneshot::Sender<Result<RecordedOrder, ApiError>>;

/// The queue in front of the order writer.
pub(crate) struct OrderBatcher {
    queue: Sender<(OrderInput, Reply)>,
}

impl OrderBatcher {
    /// Starts the writer thread; it ends when the batcher is dropped.
    pub(crate) fn start(store: Arc<Store>, ws: Workspace, programs: Arc<ProgramCache>) -> OrderBatcher {
        let (queue, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("order-writer".into())
            .spawn(move || write_loop(&store, ws, &programs, &rx))
            .expect("start the order writer thread");
        OrderBatcher { queue }
    }

    /// Records an order; answers once it is committed.
    pub(crate) async fn record(&self, input: OrderInput) -> Result<RecordedOrder, ApiError> {
        let (tx, rx) = oneshot::channel();
        self.queue.send((input, tx)).map_err(|_| ApiError::internal("the order writer stopped"))?;
        rx.await.map_err(|_| ApiError::internal("the order writer dropped a request"))?
    }
}

fn write_loop(store: &Store, ws: Workspace, programs: &ProgramCache, rx: &Receiver<(OrderInput, Reply)>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let written = store.write(|c| -> Result<Vec<Result<RecordedOrder, ApiError>>, StoreError> {
            let programs = programs.get(c, ws.clock)?;
            let mut out = Vec::with_capacity(jobs.len());
            for (input, _) in &jobs {
                c.execute_batch("SAVEPOINT one_order")?;
                match intake::record_order(c, input, ws, &programs) {
                    Ok(r) => {
                        c.execute_batch("RELEASE SAVEPOINT one_order")?;
                        out.push(Ok(r));
                    }
                    Err(e) => {
                        c.execute_batch("ROLLBACK TO SAVEPOINT one_order; RELEASE SAVEPOINT one_order")?;
                        out.push(Err(ApiError::from(e)));
                    }
                }
            }
            Ok(out)
        });
        match written {
            Ok(results) => {
                for ((_, reply), result) in jobs.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            Err(e) => {
                let err = ApiError::from(e);
                for (_, reply) in jobs {
                    let _ = reply.send(Err(err.clone()));
                }
            }
        }
    }
}
