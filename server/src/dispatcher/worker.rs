//! Claim → send → record, concurrently, with results written in batches.

use super::backoff;
use super::fallback::{self, FallbackConfig};
use crate::providers::ratelimit::RateLimiter;
use crate::providers::{self, AccountCache, FailureClass, SendResult, To};
use app::live::DeliveryChange;
use app::time::now_ms;
use domain::{Channel, DeliveryStatus, PhoneE164};
use std::sync::Arc;
use std::time::{Duration, Instant};
use storage::db::Db;
use storage::feed::Feed;
use storage::outbox::{self as store, Claimed, Outcome};
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
        }
    }
}

/// Handles shared by the dispatcher's tasks.
#[derive(Clone)]
pub struct Dispatcher {
    pub db: Db,
    pub accounts: Arc<AccountCache>,
    pub http: reqwest::Client,
    pub limiter: Arc<RateLimiter>,
    /// SMTP connections kept open per account.
    mailers: Arc<providers::email::Mailers>,
    /// Ingestion pings this after committing new deliveries.
    pub wake: Arc<Notify>,
    pub config: DispatcherConfig,
    pub worker_id: String,
    /// Staff emails' unsubscribe link, made once from `config.public_url`.
    settings_url: String,
    /// Where Twilio reports an SMS's status (`…/{account id}` follows).
    twilio_callbacks: String,
    /// Tells the browsers what changed.
    pub feed: Feed,
    /// Signs acknowledgement links in escalation messages (given by
    /// `with_keys`, else loaded on first use).
    link_key: Arc<tokio::sync::OnceCell<app::alerts::token::LinkKey>>,
    /// Signs web pushes (given by `with_keys`, else loaded on first use).
    vapid: Arc<tokio::sync::OnceCell<app::push::vapid::VapidKey>>,
    /// Where a push notification's click leads: the inbox.
    inbox_url: String,
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
    pub fn new(db: Db, wake: Arc<Notify>, feed: Feed, config: DispatcherConfig) -> Self {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(config.concurrency)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .expect("HTTP client");
        let mut id = [0u8; 6];
        let _ = getrandom::fill(&mut id);
        let (hand, handed) = mpsc::unbounded_channel();
        Dispatcher {
            slots: Arc::new(Semaphore::new(config.concurrency)),
            handed: Arc::new(std::sync::Mutex::new(Some(handed))),
            hand,
            accounts: Arc::new(AccountCache::new(db.clone(), Duration::from_secs(5))),
            db,
            http,
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
        }
    }

    /// Hands over the keys the server loaded at start, so they are not read
    /// again (a dispatcher without them reads each on first use).
    pub fn with_keys(
        self,
        link_key: app::alerts::token::LinkKey,
        vapid: app::push::vapid::VapidKey,
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
        let (tx, rx) = mpsc::channel::<(i64, i64, Outcome)>(self.config.write_batch * 4);
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
            for (d, permit) in rows {
                let me = self.clone();
                let tx = tx.clone();
                tasks.spawn(async move {
                    let outcome = me.attempt(&d).await;
                    let _ = tx.send((d.id, d.attempts, outcome)).await;
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
        // Let in-flight sends finish and their results be written.
        while tasks.join_next().await.is_some() {}
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
    pub async fn escalate(
        &self,
        now: i64,
    ) -> Result<super::escalation::Swept, app::error::AppError> {
        let key = self
            .link_key
            .get_or_try_init(|| app::alerts::token::LinkKey::load_or_create(&self.db, now))
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
    pub async fn sms_fallback(&self, now: i64) -> Result<Vec<i64>, app::error::AppError> {
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

    /// Pushes one delivery to every device of its person through a web push
    /// account, and records what each device's push service said.
    async fn push(&self, d: &Claimed, account: &providers::Account) -> SendResult {
        let fail = |class, e: String| SendResult::failed(class, e, None);
        let Some(user) = d.user_id else {
            return fail(FailureClass::Recipient, "a push goes to a person".into());
        };
        let key = match self
            .vapid
            .get_or_try_init(|| app::push::vapid::VapidKey::load_or_create(&self.db, now_ms()))
            .await
        {
            Ok(k) => k,
            Err(e) => return fail(FailureClass::Transient, format!("VAPID key: {e}")),
        };
        let subs = match app::push::store::for_user(&self.db, user).await {
            // A follow-up goes to the devices that missed the first push.
            Ok(mut s) => {
                if let Some(ids) = app::push::store::named_devices(&d.recipient) {
                    s.retain(|sub| ids.contains(&sub.id));
                }
                s
            }
            Err(e) => {
                return fail(
                    FailureClass::Transient,
                    format!("loading subscriptions: {e}"),
                )
            }
        };
        let priority = domain::Priority::parse(&d.priority).unwrap_or(domain::Priority::Medium);
        let payload = domain::push::Payload::new(
            d.subject.as_deref().unwrap_or("Notifikasi"),
            &d.message,
            &self.inbox_url,
            d.id,
        );
        let payload = serde_json::to_string(&payload).expect("strings serialise");
        let options = providers::webpush::PushOptions {
            key,
            subject: account.credentials.subject.as_deref().unwrap_or_default(),
            ttl_seconds: domain::push::ttl_seconds(priority),
            urgency: domain::push::urgency(priority),
            timeout: Duration::from_millis(account.timeout_ms.max(1) as u64),
            now_s: now_ms() / 1000,
        };
        let pushed = providers::webpush::send(&self.http, &subs, &payload, &options).await;
        if let Err(e) = app::push::store::record(&self.db, &pushed.answers, now_ms()).await {
            tracing::error!(delivery = d.id, "recording push answers failed: {e}");
        }
        if matches!(pushed.result, SendResult::Accepted { .. }) && !pushed.try_again.is_empty() {
            let now = now_ms();
            let at = now + PUSH_FOLLOW_UP_MS;
            match app::push::store::follow_up(&self.db, d.id, &pushed.try_again, now, at).await {
                Ok(Some(id)) => self.feed.deliveries([DeliveryChange {
                    id,
                    status: DeliveryStatus::Queued,
                }]),
                Ok(None) => {}
                // The delivery still counts as sent: those devices miss it
                // (it is in the inbox).
                Err(e) => tracing::error!(delivery = d.id, "queueing a push follow-up failed: {e}"),
            }
        }
        match pushed.result {
            // The service worker reports receipts under this id.
            SendResult::Accepted {
                reference,
                response,
                ..
            } => SendResult::Accepted {
                message_id: Some(push_message_id(d.id)),
                reference,
                response,
            },
            failed => failed,
        }
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

    /// One attempt at one delivery: every eligible account in failover order,
    /// starting after the account the previous attempt used.
    pub async fn attempt(&self, d: &Claimed) -> Outcome {
        let now = now_ms();
        let Ok(channel) = Channel::parse(&d.channel) else {
            return failed(format!("unknown channel '{}'", d.channel));
        };
        if d.attempts > d.max_attempts {
            return failed("attempts exhausted (the last attempt's outcome was unknown)".into());
        }
        let all = match self.accounts.all().await {
            Ok(a) => a,
            Err(e) => {
                return retry_later(
                    d,
                    None,
                    None,
                    format!("cannot load provider accounts: {e}"),
                    None,
                    now,
                )
            }
        };
        // Borrowed from the cache: no copying of accounts per message.
        let senders: Vec<&providers::Account> = all
            .iter()
            .filter(|a| channel_is_implemented(channel, a))
            .collect();
        if senders.is_empty() {
            return failed(format!(
                "channel not configured: no enabled {} provider account",
                channel.as_str()
            ));
        }
        let phone;
        let to = match channel {
            Channel::Email => Via::Email,
            Channel::Push => Via::Push,
            Channel::WhatsappGroup => Via::Whatsapp(To::Group(&d.recipient)),
            _ => match PhoneE164::parse(&d.recipient) {
                Ok(p) => {
                    phone = p;
                    match channel {
                        Channel::Sms => Via::Sms(&phone),
                        Channel::Voice => Via::Voice(&phone),
                        _ => Via::Whatsapp(To::Phone(&phone)),
                    }
                }
                Err(e) => return failed(format!("invalid recipient number: {e}")),
            },
        };
        let html = matches!(to, Via::Email).then(|| domain::email::html_body(&d.message));
        let mail = providers::email::Email {
            to: &d.recipient,
            subject: d.subject.as_deref().unwrap_or("Notifikasi"),
            text: &d.message,
            html: html.as_deref().unwrap_or_default(),
            // Staff can turn email off there; a customer has no settings here.
            unsubscribe: d.user_id.map(|_| self.settings_url.as_str()),
        };
        // An SMS is billed per segment.
        let units = match to {
            Via::Sms(_) => i64::from(domain::sms::segments(&d.message).count),
            _ => 1,
        };

        // Failover order, rotated to start after the previously used account.
        let start = d
            .provider_account_id
            .and_then(|prev| {
                senders
                    .iter()
                    .position(|a| a.id == prev)
                    .map(|i| (i + 1) % senders.len())
            })
            .unwrap_or(0);
        let mut last_error: Option<(String, i64, String, Option<String>)> = None;
        let mut soonest_token: Option<u64> = None;
        let mut tried = 0;
        for i in 0..senders.len() {
            let account = senders[(start + i) % senders.len()];
            if let Err(wait) =
                self.limiter
                    .try_take(account.id, account.rate_limit_per_minute, Instant::now())
            {
                soonest_token = Some(soonest_token.map_or(wait, |s| s.min(wait)));
                continue;
            }
            tried += 1;
            let result = match to {
                Via::Push if account.kind == providers::ProviderKind::WebPush => {
                    self.push(d, account).await
                }
                Via::Push => {
                    providers::send(&self.http, account, To::Group(&d.recipient), &d.message).await
                }
                Via::Whatsapp(to) => providers::send(&self.http, account, to, &d.message).await,
                Via::Email => providers::email::send(&self.mailers, account, &mail).await,
                Via::Voice(phone) => {
                    let gather = format!("{}/{}/voice/gather", self.twilio_callbacks, account.id);
                    let status = format!("{}/{}/voice/status", self.twilio_callbacks, account.id);
                    let hooks = providers::voice::CallHooks {
                        gather: &gather,
                        status: &status,
                    };
                    let script = domain::escalation::voice_script(domain::Locale::Id, &d.message);
                    providers::voice::send(&self.http, account, phone, &script, &hooks).await
                }
                Via::Sms(phone) => {
                    let callback = (account.kind == providers::ProviderKind::Twilio)
                        .then(|| format!("{}/{}", self.twilio_callbacks, account.id));
                    providers::sms::send(
                        &self.http,
                        account,
                        phone,
                        &d.message,
                        callback.as_deref(),
                    )
                    .await
                }
            };
            match result {
                SendResult::Accepted {
                    message_id,
                    reference,
                    response,
                } => {
                    if account.kind == providers::ProviderKind::Sandbox {
                        if let Some(id) = &message_id {
                            simulate_receipts(self.db.clone(), self.feed.clone(), id.clone());
                        }
                    }
                    return Outcome::Sent {
                        provider: account.kind.as_str().to_owned(),
                        account_id: account.id,
                        message_id,
                        reference,
                        response,
                        cost_rupiah: account.price_rupiah * units,
                    };
                }
                SendResult::Failed {
                    class,
                    error,
                    response,
                } => {
                    tracing::info!(
                        delivery = d.id,
                        account = account.id,
                        ?class,
                        "send failed: {error}"
                    );
                    match class {
                        FailureClass::Recipient => {
                            return Outcome::Failed {
                                provider: Some(account.kind.as_str().to_owned()),
                                account_id: Some(account.id),
                                error,
                                response,
                            };
                        }
                        FailureClass::Unknown => {
                            // It may have gone out: no second account now.
                            return retry_later(
                                d,
                                Some(account.kind.as_str()),
                                Some(account.id),
                                error,
                                response,
                                now,
                            );
                        }
                        FailureClass::Account
                        | FailureClass::Transient
                        | FailureClass::RateLimited => {
                            last_error = Some((
                                account.kind.as_str().to_owned(),
                                account.id,
                                error,
                                response,
                            ));
                        }
                    }
                }
            }
        }
        match last_error {
            Some((provider, account_id, error, response)) => {
                retry_later(d, Some(&provider), Some(account_id), error, response, now)
            }
            None if tried == 0 => Outcome::Postpone {
                next_attempt_at: now + soonest_token.unwrap_or(1000) as i64,
            },
            None => retry_later(d, None, None, "no account could send".into(), None, now),
        }
    }
}

/// The provider message id of a push: the service worker knows only the
/// delivery, and reports receipts under this.
/// How long after a push that some device's service refused the follow-up
/// for those devices is due.
pub const PUSH_FOLLOW_UP_MS: i64 = 30_000;

pub fn push_message_id(delivery: i64) -> String {
    format!("push-{delivery}")
}

/// Channels whose senders exist in this version; the others are routed and
/// logged as "channel not configured".
fn channel_is_implemented(channel: Channel, account: &providers::Account) -> bool {
    match channel {
        Channel::Push => account.channel == Channel::Push,
        Channel::Whatsapp | Channel::WhatsappGroup => account.channel == Channel::Whatsapp,
        Channel::Email => {
            account.channel == Channel::Email && account.kind == providers::ProviderKind::Smtp
        }
        Channel::Sms => account.channel == Channel::Sms,
        Channel::Voice => account.channel == Channel::Voice,
        _ => false,
    }
}

/// How one delivery goes out.
#[derive(Clone, Copy)]
enum Via<'a> {
    Whatsapp(To<'a>),
    Sms(&'a PhoneE164),
    Voice(&'a PhoneE164),
    Email,
    /// To every device of `user_id`.
    Push,
}

fn failed(error: String) -> Outcome {
    Outcome::Failed {
        provider: None,
        account_id: None,
        error,
        response: None,
    }
}

fn retry_later(
    d: &Claimed,
    provider: Option<&str>,
    account_id: Option<i64>,
    error: String,
    response: Option<String>,
    now: i64,
) -> Outcome {
    if d.attempts >= d.max_attempts {
        return Outcome::Failed {
            provider: provider.map(str::to_owned),
            account_id,
            error: format!("gave up after {} attempts: {error}", d.attempts),
            response,
        };
    }
    Outcome::Retry {
        provider: provider.map(str::to_owned),
        account_id,
        next_attempt_at: now + backoff::delay_ms(d.attempts, fastrand::f64()),
        error,
        response,
    }
}

/// Writes outcomes in batches: whatever has arrived, up to `max`, in one
/// transaction.
async fn write_results(
    db: Db,
    feed: Feed,
    mut rx: mpsc::Receiver<(i64, i64, Outcome)>,
    max: usize,
) {
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

/// How long after the send the sandbox reports delivered, then read.
pub const SANDBOX_RECEIPTS_MS: [(u64, DeliveryStatus); 2] = [
    (300, DeliveryStatus::Delivered),
    (900, DeliveryStatus::Read),
];

/// The sandbox has no phone to deliver to, so it plays the receipts a real
/// gateway would call back with: a test send then shows a message's whole
/// life (sent, delivered, read) with no credentials. They take the webhooks'
/// path, so a receipt that beats the send's record is held and replayed.
fn simulate_receipts(db: Db, feed: Feed, message_id: String) {
    tokio::spawn(async move {
        let mut waited = 0;
        for (at, status) in SANDBOX_RECEIPTS_MS {
            tokio::time::sleep(Duration::from_millis(at - waited)).await;
            waited = at;
            let key = store::MessageKey::Id(&message_id);
            match store::apply_or_hold(&db, "sandbox", key, status, now_ms(), None, None).await {
                Ok(store::Applied::Moved(id, status)) => {
                    feed.deliveries([DeliveryChange { id, status }]);
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("sandbox receipt: {e}"),
            }
        }
    });
}
