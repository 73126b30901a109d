//! Group commit for ingestion. Requests hand their event to one writer task,
//! which writes whatever has queued up (up to `MAX_BATCH` events) in a single
//! transaction and answers each request. Under load this turns hundreds of
//! small commits a second into a few large ones; with one request in flight it
//! is a plain single-event commit.

use crate::dispatcher::worker::Handoff;
use domain::DeliveryStatus;
use std::sync::Arc;
use storage::db::Db;
use storage::feed::Feed;
use storage::now_ms;
use storage::outbox::{self as store, EventParts, Inserted, NewDelivery, NewEvent, NewInboxItem};
use storage::Error;
use tokio::sync::{mpsc, oneshot, Notify};

const MAX_BATCH: usize = 128;

struct Job {
    parts: EventParts,
    reply: oneshot::Sender<Result<Inserted, Error>>,
}

#[derive(Clone)]
pub struct EventWriter {
    tx: mpsc::Sender<Job>,
}

impl EventWriter {
    /// Starts the writer task; after each commit it hands the deliveries it
    /// claimed to this instance's dispatcher (`handoff`, if there is one),
    /// wakes it for the rest and tells the live feed whose inbox grew.
    pub fn spawn(db: Db, wake: Arc<Notify>, feed: Feed, handoff: Option<Handoff>) -> Self {
        let (tx, rx) = mpsc::channel(MAX_BATCH * 8);
        tokio::spawn(run(db, rx, wake, feed, handoff));
        EventWriter { tx }
    }

    pub async fn write(
        &self,
        event: NewEvent,
        deliveries: Vec<NewDelivery>,
        inbox: Vec<NewInboxItem>,
    ) -> Result<Inserted, Error> {
        let (reply, answer) = oneshot::channel();
        let gone = || storage::error::internal("event writer", &"the writer task has stopped");
        self.tx
            .send(Job {
                parts: EventParts {
                    event,
                    deliveries,
                    inbox,
                },
                reply,
            })
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

/// Tells the feed what a written event added (nothing for a duplicate).
fn announce(feed: &Feed, parts: &EventParts, result: &Result<Inserted, Error>) {
    if let Ok(Inserted::Created(_)) = result {
        feed.inbox(parts.inbox.iter().map(|n| n.user_id));
        if !parts.deliveries.is_empty() {
            feed.added();
        }
    }
}

/// Whether a delivery is due at `now` (quiet hours defer others).
fn due(d: &NewDelivery, now: i64) -> bool {
    d.status == DeliveryStatus::Queued && d.next_attempt_at.is_some_and(|at| at <= now)
}

/// Marks up to `free` of the jobs' due deliveries as claimed at insert
/// (`sending`).
fn claim_due(jobs: &mut [Job], free: usize, now: i64) {
    let due_rows = jobs
        .iter_mut()
        .flat_map(|j| j.parts.deliveries.iter_mut())
        .filter(|d| due(d, now));
    for d in due_rows.take(free) {
        d.status = DeliveryStatus::Sending;
    }
}

/// Undoes [`claim_due`]: the rows go in queued, for the dispatcher's claim.
fn unclaim(batch: &mut [EventParts]) {
    for d in batch.iter_mut().flat_map(|p| p.deliveries.iter_mut()) {
        if d.status == DeliveryStatus::Sending {
            d.status = DeliveryStatus::Queued;
        }
    }
}

async fn run(
    db: Db,
    mut rx: mpsc::Receiver<Job>,
    wake: Arc<Notify>,
    feed: Feed,
    handoff: Option<Handoff>,
) {
    let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let now = now_ms();
        // Worker slots for as many due deliveries as are free.
        let mut permits = match &handoff {
            Some(h) => {
                let due = jobs
                    .iter()
                    .flat_map(|j| &j.parts.deliveries)
                    .filter(|d| due(d, now))
                    .count();
                h.reserve(due)
            }
            None => Vec::new(),
        };
        claim_due(&mut jobs, permits.len(), now);
        let lease = handoff.as_ref().map(|h| h.lease(now));
        // Rows the dispatcher must find itself: queued beyond the free
        // slots, or deferred (it may be sleeping past their time).
        let mut unclaimed = jobs
            .iter()
            .flat_map(|j| &j.parts.deliveries)
            .any(|d| matches!(d.status, DeliveryStatus::Queued | DeliveryStatus::Deferred));
        let (parts, replies): (Vec<EventParts>, Vec<_>) =
            jobs.drain(..).map(|j| (j.parts, j.reply)).unzip();
        let batch = Arc::new(parts);
        match store::insert_events(&db, batch.clone(), now, lease.as_ref()).await {
            Ok((results, claimed)) => {
                if let Some(h) = &handoff {
                    h.hand_over(claimed, &mut permits);
                }
                for ((parts, reply), result) in batch.iter().zip(replies).zip(results) {
                    let result = Ok(result);
                    announce(&feed, parts, &result);
                    let _ = reply.send(result);
                }
            }
            Err(e) => {
                // One bad event must not sink the others: write them one by
                // one, queued for the dispatcher's claim. (The writer has
                // dropped its share of the batch before answering.)
                drop(permits);
                unclaimed = true;
                match Arc::try_unwrap(batch) {
                    Ok(mut batch) => {
                        unclaim(&mut batch);
                        for (parts, reply) in batch.iter().zip(replies) {
                            let result = store::insert_event(
                                &db,
                                &parts.event,
                                &parts.deliveries,
                                &parts.inbox,
                                now_ms(),
                            )
                            .await;
                            announce(&feed, parts, &result);
                            let _ = reply.send(result);
                        }
                    }
                    Err(_) => {
                        for reply in replies {
                            let _ = reply.send(Err(e.clone()));
                        }
                    }
                }
            }
        }
        if unclaimed {
            wake.notify_one();
        }
    }
}
