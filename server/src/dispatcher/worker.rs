//! Claim → send → record, concurrently, with results written in batches.

use super::fallback::{self, FallbackConfig};
use crate::providers::ratelimit::RateLimiter;
use crate::providers::{self, AccountCache};
use app::live::DeliveryChange;
use domain::{Channel, DeliveryStatus};
use std::sync::Arc;
use std::time::Duration;
use storage::db::Db;
use storage::feed::Feed;
use storage::now_ms;
use storage::outbox::{self as store, Attempted, Claimed};
use tokio::sync::{mpsc, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct DispatcherConfig {
    /// Claimed rows stay ours this long; past it the rescuer requeues them.
    pub lease_ms: i64,
    /// Rows claimed per query.
    pub batch: i64,
    /// Provider calls in flight at once.
    pub concurrency: usize,
    /// How often to look for due rows when nobody wakes us.
    pub poll: Duration,
    /// Results are written in one transaction per batch of up to this many.
    pub write_batch: usize,
    /// Where the app is reached from outside (`PUBLIC_URL`): emails link to
    /// its settings page.
    pub public_url: String,
    /// When WhatsApp falls back to SMS.
    pub sms_fallback: FallbackConfig,
    /// Web push may call plain-HTTP endpoints on this machine
    /// (`PUSH_ALLOW_LOOPBACK`: development and the tests' push fake only).
    pub push_loopback: bool,
    /// At shutdown, how long sends in flight may finish; the rest are
    /// abandoned (their rows keep their lease and are sent again later).
    pub shutdown_grace: Duration,
}

/// The address `cargo leptos watch` and `scripts/run.sh` serve on.
pub const DEFAULT_PUBLIC_URL: &str = "http://localhost:3000";

impl Default for DispatcherConfig {
    fn default() -> Self {
        DispatcherConfig {
            lease_ms: 60_000,
            batch: 256,
            concurrency: 512,
            poll: Duration::from_millis(500),
            write_batch: 512,
            public_url: DEFAULT_PUBLIC_URL.to_owned(),
            sms_fallback: FallbackConfig::default(),
            push_loopback: false,
            shutdown_grace: Duration::from_secs(20),
        }
    }
}

/// Handles shared by the dispatcher's tasks.
#[derive(Clone)]
pub struct Dispatcher {
    pub db: Db,
    /// Opens the accounts' credentials and the server's keys.
    pub keys: storage::secrets::Keyring,
    pub accounts: Arc<AccountCache>,
    pub http: reqwest::Client,
    /// For push services only (see `providers::webpush::client`).
    pub(super) push_http: reqwest::Client,
    pub limiter: Arc<RateLimiter>,
    /// SMTP connections kept open per account.
    pub(super) mailers: Arc<providers::email::Mailers>,
    /// Ingestion pings this after committing new deliveries.
    pub wake: Arc<Notify>,
    pub config: DispatcherConfig,
    pub worker_id: String,
    /// Staff emails' unsubscribe link, made once from `config.public_url`.
    pub(super) settings_url: String,
    /// Where Twilio reports an SMS's status (`…/{account id}` follows).
    pub(super) twilio_callbacks: String,
    /// Tells the browsers what changed.
    pub feed: Feed,
    /// Signs acknowledgement links in escalation messages (given by
    /// `with_keys`, else loaded on first use).
    link_key: Arc<tokio::sync::OnceCell<storage::keys::ack_links::LinkKey>>,
    /// Signs web pushes (given by `with_keys`, else loaded on first use).
    pub(super) vapid: Arc<tokio::sync::OnceCell<storage::keys::vapid::VapidKey>>,
    /// Where a push notification's click leads: the inbox.
    pub(super) inbox_url: String,
    /// When this dispatcher last claimed from the database or started
    /// sends (ms; 0: not yet): `/readyz` reports one whose beats stopped.
    pub heartbeat: Arc<std::sync::atomic::AtomicI64>,
    /// Rows this instance has claimed since it started (each one attempt).
    pub claimed: Arc<std::sync::atomic::AtomicU64>,
    /// One permit per provider call in flight.
    slots: Arc<Semaphore>,
    /// Rows claimed at insert by ingestion, with their permits (see
    /// [`Handoff`]); `run` takes the receiver.
    handed: Arc<std::sync::Mutex<Option<mpsc::UnboundedReceiver<Handed>>>>,
    hand: mpsc::UnboundedSender<Handed>,
}

/// Up to `wanted` of the free permits of `slots`, without waiting.
fn reserve(slots: &Arc<Semaphore>, wanted: usize) -> Vec<OwnedSemaphorePermit> {
    let mut permits = Vec::with_capacity(wanted.min(slots.available_permits()));
    while permits.len() < wanted {
        match slots.clone().try_acquire_owned() {
            Ok(p) => permits.push(p),
            Err(_) => break,
        }
    }
    permits
}

/// Deliveries claimed at insert, each with the worker slot reserved for it.
type Handed = Vec<(Claimed, OwnedSemaphorePermit)>;

/// How ingestion gives deliveries straight to this instance's dispatcher:
/// it reserves free worker slots, writes that many due deliveries as already
/// claimed (`storage::outbox::Lease`), and after the commit hands them over. A
/// delivery then costs one UPDATE (its outcome) instead of two, and starts
/// without waiting for the next claim. With no free slot, rows are queued
/// and claimed as before.
#[derive(Clone)]
pub struct Handoff {
    slots: Arc<Semaphore>,
    tx: mpsc::UnboundedSender<Handed>,
    worker: String,
    lease_ms: i64,
    claimed: Arc<std::sync::atomic::AtomicU64>,
}

impl Handoff {
    /// Up to `wanted` free worker slots (possibly none).
    pub fn reserve(&self, wanted: usize) -> Vec<OwnedSemaphorePermit> {
        reserve(&self.slots, wanted)
    }

    /// The lease to write reserved deliveries under.
    pub fn lease(&self, now: i64) -> storage::outbox::Lease {
        storage::outbox::Lease {
            worker: self.worker.clone(),
            until: now + self.lease_ms,
        }
    }

    /// Gives committed claimed rows to the dispatcher, each with a permit.
    /// Rows beyond the permits (none, unless a caller claimed more than it
    /// reserved) keep their lease and are rescued when it expires.
    pub fn hand_over(&self, rows: Vec<Claimed>, permits: &mut Vec<OwnedSemaphorePermit>) {
        let handed: Handed = rows.into_iter().zip(permits.drain(..)).collect();
        if handed.is_empty() {
            return;
        }
        self.claimed
            .fetch_add(handed.len() as u64, std::sync::atomic::Ordering::Relaxed);
        // A stopped dispatcher drops them: their leases expire and the rows
        // are requeued.
        let _ = self.tx.send(handed);
    }
}

impl Dispatcher {
    pub fn new(
        db: Db,
        keys: storage::secrets::Keyring,
        wake: Arc<Notify>,
        feed: Feed,
        config: DispatcherConfig,
    ) -> Self {
        let http = providers::client_builder()
            .pool_max_idle_per_host(config.concurrency)
            .build()
            .expect("HTTP client");
        let push_http = providers::webpush::client(config.push_loopback, config.concurrency);
        let mut id = [0u8; 6];
        let _ = getrandom::fill(&mut id);
        let (hand, handed) = mpsc::unbounded_channel();
        Dispatcher {
            slots: Arc::new(Semaphore::new(config.concurrency)),
            handed: Arc::new(std::sync::Mutex::new(Some(handed))),
            hand,
            accounts: Arc::new(AccountCache::new(
                db.clone(),
                keys.clone(),
                Duration::from_secs(5),
            )),
            keys,
            db,
            http,
            push_http,
            limiter: Arc::new(RateLimiter::default()),
            mailers: Arc::default(),
            wake,
            settings_url: domain::email::settings_url(&config.public_url),
            inbox_url: format!("{}/inbox", config.public_url.trim_end_matches('/')),
            twilio_callbacks: format!(
                "{}/webhooks/twilio",
                config.public_url.trim_end_matches('/')
            ),
            config,
            worker_id: format!("w-{}", hex::encode(id)),
            feed,
            link_key: Arc::default(),
            vapid: Arc::default(),
            claimed: Arc::default(),
            heartbeat: Arc::default(),
        }
    }

    /// Hands over the keys the server loaded at start, so they are not read
    /// again (a dispatcher without them reads each on first use).
    pub fn with_keys(
        self,
        link_key: storage::keys::ack_links::LinkKey,
        vapid: storage::keys::vapid::VapidKey,
    ) -> Self {
        let _ = self.link_key.set(link_key);
        let _ = self.vapid.set(vapid);
        self
    }

    /// How ingestion hands deliveries it wrote as claimed to this dispatcher.
    pub fn handoff(&self) -> Handoff {
        Handoff {
            slots: self.slots.clone(),
            tx: self.hand.clone(),
            worker: self.worker_id.clone(),
            lease_ms: self.config.lease_ms,
            claimed: self.claimed.clone(),
        }
    }

    /// Runs until `shutdown` is cancelled: the claim loop, the result writer
    /// and the lease rescuer.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut handed = self
            .handed
            .lock()
            .expect("handoff lock")
            .take()
            .expect("a dispatcher runs once");
        let (tx, rx) = mpsc::channel::<Attempted>(self.config.write_batch * 4);
        let writer = tokio::spawn(write_results(
            self.db.clone(),
            self.feed.clone(),
            rx,
            self.config.write_batch,
        ));
        let rescuer = tokio::spawn(self.clone().rescue_loop());
        let fallbacks = tokio::spawn(self.clone().fallback_loop());

        let slots = self.slots.clone();
        let mut tasks = JoinSet::new();
        // One task per row, each holding its slot until its outcome is queued.
        let start = |tasks: &mut JoinSet<()>, rows: Handed| {
            // Sends starting are a beat too: under load ingestion's
            // hand-over may take every slot, and nothing is claimed.
            self.heartbeat
                .store(now_ms(), std::sync::atomic::Ordering::Relaxed);
            for (d, permit) in rows {
                let me = self.clone();
                let tx = tx.clone();
                tasks.spawn(async move {
                    let attempted = me.attempt(&d).await;
                    count_attempt(&d, &attempted.outcome);
                    let _ = tx.send(attempted).await;
                    drop(permit);
                });
            }
        };
        while !shutdown.is_cancelled() {
            while tasks.try_join_next().is_some() {}
            while let Ok(rows) = handed.try_recv() {
                start(&mut tasks, rows);
            }
            // Slots first, then as many rows as slots: ingestion takes free
            // slots too, and rows must never wait for a slot that rows
            // waiting behind them hold.
            let permits = reserve(&slots, self.config.batch.max(1) as usize);
            if permits.is_empty() {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    // A slot came free (a send finished, or ingestion gave
                    // back what it reserved).
                    _ = slots.clone().acquire_owned() => continue,
                    Some(rows) = handed.recv() => {
                        start(&mut tasks, rows);
                        continue;
                    }
                }
            }
            let claimed = match store::claim(
                &self.db,
                &self.worker_id,
                now_ms(),
                self.config.lease_ms,
                permits.len() as i64,
            )
            .await
            {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!("claim failed: {e}");
                    drop(permits);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            self.claimed
                .fetch_add(claimed.len() as u64, std::sync::atomic::Ordering::Relaxed);
            self.heartbeat
                .store(now_ms(), std::sync::atomic::Ordering::Relaxed);
            if claimed.is_empty() {
                drop(permits);
                let until = tokio::time::Instant::now() + self.idle_sleep().await;
                // Rows handed over meanwhile start at once; they are no
                // reason to look for due rows again.
                loop {
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = self.wake.notified() => break,
                        _ = tokio::time::sleep_until(until) => break,
                        Some(rows) = handed.recv() => {
                            start(&mut tasks, rows);
                            while tasks.try_join_next().is_some() {}
                        }
                    }
                }
                continue;
            }
            start(&mut tasks, claimed.into_iter().zip(permits).collect());
        }
        // Rows handed over while stopping: started like the others.
        handed.close();
        while let Some(rows) = handed.recv().await {
            start(&mut tasks, rows);
        }
        // Sends in flight finish, within the grace; their results are
        // written. A send still running then is abandoned: its row stays
        // `sending` under its lease, and is requeued by the rescuer (or, on
        // SQLite, at the next start) and sent again.
        let drained = tokio::time::timeout(self.config.shutdown_grace, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                sends = tasks.len(),
                "shutdown: sends still in flight after the grace abandoned; they will be sent again"
            );
            tasks.shutdown().await;
        }
        drop(tx);
        let _ = writer.await;
        rescuer.abort();
        fallbacks.abort();
    }

    /// How often to look for WhatsApp messages that need an SMS, and for
    /// escalation steps that are due.
    const SWEEP_EVERY: Duration = Duration::from_secs(2);

    async fn fallback_loop(self) {
        loop {
            tokio::time::sleep(Self::SWEEP_EVERY).await;
            if let Err(e) = self.escalate(now_ms()).await {
                tracing::error!("escalation sweep failed: {e}");
            }
            if let Err(e) = self.sms_fallback(now_ms()).await {
                tracing::error!("SMS fallback sweep failed: {e}");
            }
        }
    }

    /// Takes the escalation steps due at `now` (see `escalation`).
    pub async fn escalate(&self, now: i64) -> Result<super::escalation::Swept, storage::Error> {
        let key = self
            .link_key
            .get_or_try_init(|| {
                storage::keys::ack_links::LinkKey::load_or_create(&self.db, &self.keys, now)
            })
            .await?;
        let links = super::escalation::StepLinks {
            public_url: self.config.public_url.trim_end_matches('/'),
            settings_url: &self.settings_url,
            key,
        };
        let swept = super::escalation::sweep(&self.db, now, &links).await?;
        if swept.messages > 0 {
            self.feed.inbox(swept.inbox_users.iter().copied());
            self.feed.added();
            self.wake.notify_one();
        }
        Ok(swept)
    }

    /// Queues the SMS fallbacks due at `now` (see `fallback`), if any SMS
    /// account is enabled; returns the new deliveries' ids.
    pub async fn sms_fallback(&self, now: i64) -> Result<Vec<domain::DeliveryId>, storage::Error> {
        if self.accounts.for_channel(Channel::Sms).await?.is_empty() {
            return Ok(Vec::new());
        }
        let added = fallback::sweep(&self.db, now, self.config.sms_fallback).await?;
        if !added.is_empty() {
            self.feed.deliveries(added.iter().map(|&id| DeliveryChange {
                id,
                status: DeliveryStatus::Queued,
            }));
            self.wake.notify_one();
        }
        Ok(added)
    }

    /// Sleeps until the next deferred row is due, bounded by the poll interval.
    async fn idle_sleep(&self) -> Duration {
        match store::next_due(&self.db).await {
            Ok(Some(due)) => {
                let wait = (due - now_ms()).max(1) as u64;
                Duration::from_millis(wait).min(self.config.poll)
            }
            _ => self.config.poll,
        }
    }

    async fn rescue_loop(self) {
        let every = Duration::from_millis((self.config.lease_ms / 2).max(1000) as u64);
        loop {
            tokio::time::sleep(every).await;
            match store::rescue_expired(&self.db, now_ms()).await {
                Ok(n) if n > 0 => {
                    tracing::warn!(rows = n, "requeued deliveries whose lease expired");
                    self.wake.notify_one();
                }
                Ok(_) => {}
                Err(e) => tracing::error!("rescue failed: {e}"),
            }
            if let Err(e) = store::expire_early(&self.db, now_ms() - 3_600_000).await {
                tracing::error!("expiring held status callbacks failed: {e}");
            }
        }
    }
}

/// An attempt's outcome in the metrics; a send, with how long its delivery
/// waited since it was written.
fn count_attempt(d: &Claimed, outcome: &store::Outcome) {
    use crate::metrics::{ATTEMPTS, POST_TO_PROVIDER_SECONDS};
    let label = match outcome {
        store::Outcome::Sent { .. } => "sent",
        store::Outcome::Retry { .. } => "retry",
        store::Outcome::Postpone { .. } => "postponed",
        store::Outcome::Failed { .. } => "failed",
    };
    let channel = d.channel.as_str();
    metrics::counter!(ATTEMPTS, "channel" => channel, "outcome" => label).increment(1);
    if label == "sent" {
        let waited = (now_ms() - d.created_at).max(0) as f64 / 1000.0;
        metrics::histogram!(POST_TO_PROVIDER_SECONDS, "channel" => channel).record(waited);
    }
}

/// Writes outcomes in batches: whatever has arrived, up to `max`, in one
/// transaction.
async fn write_results(db: Db, feed: Feed, mut rx: mpsc::Receiver<Attempted>, max: usize) {
    let mut buf = Vec::with_capacity(max);
    while rx.recv_many(&mut buf, max).await > 0 {
        let mut tries = 0;
        loop {
            match store::record(&db, &buf, now_ms()).await {
                Ok(changes) => {
                    feed.deliveries(changes);
                    match store::replay_early(&db, &store::sent_ids(&buf)).await {
                        Ok(changes) => feed.deliveries(changes),
                        Err(e) => tracing::error!("replaying early status callbacks failed: {e}"),
                    }
                    break;
                }
                Err(e) if tries < 5 => {
                    tries += 1;
                    tracing::error!("recording {} results failed (try {tries}): {e}", buf.len());
                    tokio::time::sleep(Duration::from_millis(200 * tries)).await;
                }
                Err(e) => {
                    // The rows stay `sending`; the rescuer requeues them.
                    tracing::error!("dropping {} results after retries: {e}", buf.len());
                    break;
                }
            }
        }
        buf.clear();
    }
}
