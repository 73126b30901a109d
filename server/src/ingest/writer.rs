//! Group commit for ingestion. Requests hand their event to one writer task,
//! which writes whatever has queued up (up to `MAX_BATCH` events) in a single
//! transaction and answers each request. Under load this turns hundreds of
//! small commits a second into a few large ones; with one request in flight it
//! is a plain single-event commit.

use crate::dispatcher::store::{self, Inserted, NewDelivery, NewEvent, NewInboxItem};
use app::db::Db;
use app::error::AppError;
use app::live::feed::Feed;
use app::time::now_ms;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Notify};

const MAX_BATCH: usize = 128;

struct Job {
    event: NewEvent,
    deliveries: Vec<NewDelivery>,
    inbox: Vec<NewInboxItem>,
    reply: oneshot::Sender<Result<Inserted, AppError>>,
}

#[derive(Clone)]
pub struct EventWriter {
    tx: mpsc::Sender<Job>,
}

impl EventWriter {
    /// Starts the writer task; after each commit it wakes the dispatcher and
    /// tells the live feed whose inbox grew.
    pub fn spawn(db: Db, wake: Arc<Notify>, feed: Feed) -> Self {
        let (tx, rx) = mpsc::channel(MAX_BATCH * 8);
        tokio::spawn(run(db, rx, wake, feed));
        EventWriter { tx }
    }

    pub async fn write(
        &self,
        event: NewEvent,
        deliveries: Vec<NewDelivery>,
        inbox: Vec<NewInboxItem>,
    ) -> Result<Inserted, AppError> {
        let (reply, answer) = oneshot::channel();
        let gone = || app::error::internal("event writer", &"the writer task has stopped");
        self.tx
            .send(Job {
                event,
                deliveries,
                inbox,
                reply,
            })
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

/// Tells the feed what a written job added (nothing for a duplicate).
fn announce(feed: &Feed, job: &Job, result: &Result<Inserted, AppError>) {
    if let Ok(Inserted::Created(_)) = result {
        feed.inbox(job.inbox.iter().map(|n| n.user_id));
        if !job.deliveries.is_empty() {
            feed.added();
        }
    }
}

async fn run(db: Db, mut rx: mpsc::Receiver<Job>, wake: Arc<Notify>, feed: Feed) {
    let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let rows: Vec<store::EventRows<'_>> = jobs
            .iter()
            .map(|j| (&j.event, &j.deliveries[..], &j.inbox[..]))
            .collect();
        match store::insert_events(&db, &rows, now_ms()).await {
            Ok(results) => {
                drop(rows);
                for (job, result) in jobs.drain(..).zip(results) {
                    let result = Ok(result);
                    announce(&feed, &job, &result);
                    let _ = job.reply.send(result);
                }
            }
            Err(_) => {
                // One bad event must not sink the others: write them one by one.
                drop(rows);
                for job in jobs.drain(..) {
                    let result =
                        store::insert_event(&db, &job.event, &job.deliveries, &job.inbox, now_ms())
                            .await;
                    announce(&feed, &job, &result);
                    let _ = job.reply.send(result);
                }
            }
        }
        wake.notify_one();
    }
}
