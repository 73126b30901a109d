//! One attempt at one delivery, in three stages: **route** (what the row
//! asks for: its channel, the accounts that can send it, its recipient
//! parsed, the email it becomes), **fail over** (the accounts in order,
//! starting after the one the previous attempt used, each within its pace),
//! **send** (one account's protocol). The outcome is recorded by the
//! dispatcher's writer, fenced on the attempt.
//!
//! - [`meta`]: what a delivery becomes on a Meta account (the 24-hour
//!   window, templates);
//! - [`push`]: web push to every device of a person.

mod meta;
mod push;

pub use meta::WINDOW_CLOSED;
use meta::{MetaBlocked, MetaMessage};
pub use push::{push_message_id, PUSH_FOLLOW_UP_MS};

use super::backoff;
use super::worker::Dispatcher;
use crate::providers::ratelimit::DEFAULT_PAUSE_MS;
use crate::providers::{self, Answer, FailureClass, SendResult, To};
use app::live::DeliveryChange;
use domain::{AccountId, Channel, DeliveryStatus, PhoneE164, TryOutcome};
use std::time::Duration;
use storage::db::Db;
use storage::feed::Feed;
use storage::now_ms;
use storage::outbox::{self as store, Attempted, Claimed, Outcome, Try};

/// What a row asks for, checked once per attempt.
struct Route<'d> {
    /// The enabled accounts that can send its channel, in failover order.
    senders: Vec<&'d providers::Account>,
    address: Address,
    /// The email (plain text and HTML) an email delivery becomes.
    html: Option<String>,
    /// What one send is billed in (SMS: per segment).
    units: i64,
}

/// Where a row goes, its number parsed for the channels that take one.
enum Address {
    Whatsapp(PhoneE164),
    /// A WhatsApp group: the row's recipient is its chat id.
    Group,
    Sms(PhoneE164),
    Voice(PhoneE164),
    Email,
    Push,
}

impl Route<'_> {
    fn via<'a>(&'a self, d: &'a Claimed) -> Via<'a> {
        match &self.address {
            Address::Whatsapp(p) => Via::Whatsapp(To::Phone(p)),
            Address::Group => Via::Whatsapp(To::Group(&d.recipient)),
            Address::Sms(p) => Via::Sms(p),
            Address::Voice(p) => Via::Voice(p),
            Address::Email => Via::Email,
            Address::Push => Via::Push,
        }
    }
}

/// The last account failure of an attempt that went through every account.
struct LastError {
    provider: String,
    account_id: AccountId,
    error: String,
    response: Option<String>,
}

/// Why an account did not take the message in this attempt.
enum Pass {
    /// At its pace, or paused by its gateway: free again in this many ms.
    Wait(u64),
    /// A Meta account outside the person's 24-hour window, with no
    /// approved template for the type; why.
    WindowClosed(String),
    /// It could not even be tried (its template mapping is unreadable).
    Failed(String),
}

/// What one account's answer means for the attempt.
enum Judged {
    Done(Outcome),
    /// It failed for its own reasons: the next account may send.
    Next(LastError),
}

/// The accounts an attempt went through without sending.
#[derive(Default)]
struct PassedOver<'a> {
    last: Option<LastError>,
    soonest_token: Option<u64>,
    tried: usize,
    /// A Meta account passed over: the person has not written within 24
    /// hours, Meta delivers no free text then (131047), and the type has no
    /// approved template to send instead; and why.
    window_closed: Option<(&'a providers::Account, String)>,
}

impl<'a> PassedOver<'a> {
    fn note(&mut self, account: &'a providers::Account, why: Pass) {
        match why {
            Pass::Wait(wait) => {
                self.soonest_token = Some(self.soonest_token.map_or(wait, |s| s.min(wait)));
            }
            Pass::WindowClosed(reason) => self.window_closed = Some((account, reason)),
            Pass::Failed(error) => {
                self.last = Some(LastError {
                    provider: account.kind.as_str().to_owned(),
                    account_id: account.id,
                    error,
                    response: None,
                });
            }
        }
    }

    /// The attempt's outcome when no account sent it.
    fn outcome(self, d: &Claimed, end: i64) -> Outcome {
        match (self.last, self.window_closed) {
            (Some(e), _) => retry_later(
                d,
                Some(&e.provider),
                Some(e.account_id),
                e.error,
                e.response,
                end,
                false,
            ),
            // Only Meta could send it, and its window is closed: no later
            // attempt changes that until the person writes.
            (None, Some((meta, reason))) if self.tried == 0 && self.soonest_token.is_none() => {
                Outcome::Failed {
                    provider: Some(meta.kind.as_str().to_owned()),
                    account_id: Some(meta.id),
                    error: format!("{WINDOW_CLOSED}: {reason}"),
                    response: None,
                }
            }
            (None, _) if self.tried == 0 => Outcome::Postpone {
                next_attempt_at: end + self.soonest_token.unwrap_or(1000) as i64,
            },
            (None, _) => retry_later(
                d,
                None,
                None,
                "no account could send".into(),
                None,
                end,
                false,
            ),
        }
    }
}

impl Dispatcher {
    /// One attempt at one delivery: every eligible account in failover order,
    /// starting after the account the previous attempt used; its outcome and
    /// each account's try.
    pub async fn attempt(&self, d: &Claimed) -> Attempted {
        let mut tries = Vec::new();
        let outcome = self.outcome(d, &mut tries).await;
        Attempted {
            id: d.id,
            attempt: d.attempts,
            outcome,
            tries,
        }
    }

    async fn outcome(&self, d: &Claimed, tries: &mut Vec<Try>) -> Outcome {
        let now = now_ms();
        let all = match self.accounts.all().await {
            Ok(a) => a,
            Err(e) => {
                let error = format!("cannot load provider accounts: {e}");
                return retry_later(d, None, None, error, None, now, false);
            }
        };
        match route(d, &all) {
            Ok(route) => self.fail_over(d, &route, tries).await,
            Err(outcome) => outcome,
        }
    }

    /// Tries the route's accounts in turn until one takes the message, one
    /// says the recipient cannot get it, or one may have sent it (a timeout:
    /// no second account now, and the next attempt goes to it alone). An
    /// account a gateway paused is passed over like one at its rate. A
    /// retry's backoff counts from the attempt's end.
    async fn fail_over(&self, d: &Claimed, route: &Route<'_>, tries: &mut Vec<Try>) -> Outcome {
        let senders = &route.senders;
        let start = d
            .provider_account_id
            .and_then(|prev| senders.iter().position(|a| a.id == prev))
            .map_or(0, |i| (i + 1) % senders.len());
        let mut passed = PassedOver::default();
        for i in 0..senders.len() {
            let account = senders[(start + i) % senders.len()];
            let meta_message = match self.clear_to_send(d, route, account).await {
                Ok(m) => m,
                Err(why) => {
                    passed.note(account, why);
                    continue;
                }
            };
            passed.tried += 1;
            let (answer, meta_message) =
                self.send_once(d, route, account, meta_message, tries).await;
            match self.judge(d, route, account, meta_message, answer).await {
                Judged::Done(outcome) => return outcome,
                Judged::Next(e) => passed.last = Some(e),
            }
        }
        passed.outcome(d, now_ms())
    }

    /// Whether `account` may take `d` now, and what it sends on Meta; or
    /// why it is passed over.
    async fn clear_to_send(
        &self,
        d: &Claimed,
        route: &Route<'_>,
        account: &providers::Account,
    ) -> Result<Option<MetaMessage>, Pass> {
        let mut meta_message = None;
        if let (providers::ProviderKind::Meta, Address::Whatsapp(phone)) =
            (account.kind, &route.address)
        {
            match self.meta_message(d, account, phone).await {
                Ok(m) => meta_message = Some(m),
                Err(MetaBlocked::Closed(reason)) => return Err(Pass::WindowClosed(reason)),
                Err(MetaBlocked::Unreadable(error)) => return Err(Pass::Failed(error)),
            }
        }
        if let Some(wait) = self
            .limiter
            .paused_for(account.id, account.paused_until, now_ms())
        {
            return Err(Pass::Wait(wait));
        }
        self.limiter
            .take(&self.db, account.id, account.rate_limit_per_minute)
            .await
            .map_err(Pass::Wait)?;
        Ok(meta_message)
    }

    /// One account's send, its try recorded. Meta counts the window closed
    /// though our record said open: the window is forgotten and the type's
    /// template sent instead, once.
    async fn send_once(
        &self,
        d: &Claimed,
        route: &Route<'_>,
        account: &providers::Account,
        mut meta_message: Option<MetaMessage>,
        tries: &mut Vec<Try>,
    ) -> (Answer, Option<MetaMessage>) {
        let mut started_at = now_ms();
        let mut answer = match (&meta_message, route.via(d)) {
            (Some(m), Via::Whatsapp(to)) => {
                providers::meta::send(&self.http, account, to, m.body(&d.message)).await
            }
            _ => self.send(d, route, account).await,
        };
        let sent_text = matches!(meta_message, Some(MetaMessage::Text { .. }));
        if let (true, Address::Whatsapp(phone)) = (sent_text, &route.address) {
            if providers::meta::outside_window(&answer.result) {
                tries.push(try_of(account, started_at, &answer));
                if let Err(e) = storage::window::forget(&self.db, account.id, phone.as_str()).await
                {
                    tracing::warn!(account = account.id.0, "window not forgotten: {e}");
                }
                if let Ok(template) = self.meta_template(d, account).await {
                    let to = To::Phone(phone);
                    let body = template.body(&d.message);
                    started_at = now_ms();
                    answer = providers::meta::send(&self.http, account, to, body).await;
                    meta_message = Some(template);
                }
            }
        }
        tries.push(try_of(account, started_at, &answer));
        (answer, meta_message)
    }

    /// What one account's answer means for the attempt: done (sent, the
    /// recipient refused, or it may have gone out), or on to the next account.
    async fn judge(
        &self,
        d: &Claimed,
        route: &Route<'_>,
        account: &providers::Account,
        meta_message: Option<MetaMessage>,
        answer: Answer,
    ) -> Judged {
        let provider = account.kind.as_str();
        match answer.result {
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
                Judged::Done(Outcome::Sent {
                    provider: provider.to_owned(),
                    account_id: account.id,
                    message_id,
                    reference,
                    response,
                    cost_rupiah: match &meta_message {
                        Some(m) => m.cost(account),
                        None => account.price_rupiah * route.units,
                    },
                })
            }
            SendResult::Failed {
                class,
                error,
                response,
                retry_after,
                ..
            } => {
                tracing::info!(
                    delivery = d.id.0,
                    account = account.id.0,
                    ?class,
                    "send failed: {error}"
                );
                match class {
                    FailureClass::Recipient => Judged::Done(Outcome::Failed {
                        provider: Some(provider.to_owned()),
                        account_id: Some(account.id),
                        error,
                        response,
                    }),
                    // It may have gone out: no second account now.
                    FailureClass::Unknown => {
                        let id = Some(account.id);
                        let end = now_ms();
                        Judged::Done(retry_later(
                            d,
                            Some(provider),
                            id,
                            error,
                            response,
                            end,
                            true,
                        ))
                    }
                    FailureClass::Account | FailureClass::Transient | FailureClass::RateLimited => {
                        // One push service's 429 is about one device's
                        // service, not the whole web push account.
                        if class == FailureClass::RateLimited
                            && account.kind != providers::ProviderKind::WebPush
                        {
                            self.pause(account, retry_after).await;
                        }
                        Judged::Next(LastError {
                            provider: provider.to_owned(),
                            account_id: account.id,
                            error,
                            response,
                        })
                    }
                }
            }
        }
    }

    /// Holds an account a gateway said is sending too much: for its
    /// `Retry-After`, or [`DEFAULT_PAUSE_MS`] when it named no wait; here at
    /// once, and in the database for the other instances.
    async fn pause(&self, account: &providers::Account, retry_after: Option<Duration>) {
        let wait = retry_after.map_or(DEFAULT_PAUSE_MS, |w| w.as_millis() as i64);
        let until = now_ms() + wait;
        self.limiter.pause(account.id, until);
        tracing::info!(
            account = account.id.0,
            wait_ms = wait,
            "provider account paused"
        );
        if let Err(e) = storage::providers::pause(&self.db, account.id, until).await {
            tracing::warn!(account = account.id.0, "pause not stored: {e}");
        }
    }

    /// One account's try, in its protocol.
    async fn send(&self, d: &Claimed, route: &Route<'_>, account: &providers::Account) -> Answer {
        match route.via(d) {
            Via::Push if account.kind == providers::ProviderKind::WebPush => {
                self.push(d, account).await.into()
            }
            Via::Push => {
                providers::send(&self.http, account, To::Group(&d.recipient), &d.message).await
            }
            Via::Whatsapp(to) => providers::send(&self.http, account, to, &d.message).await,
            Via::Email => {
                let mail = providers::email::Email {
                    to: &d.recipient,
                    subject: d.subject.as_deref().unwrap_or("Notifikasi"),
                    text: &d.message,
                    html: route.html.as_deref().unwrap_or_default(),
                    // Staff can turn email off there; a customer has no settings here.
                    unsubscribe: d.user_id.map(|_| self.settings_url.as_str()),
                };
                providers::email::send(&self.mailers, account, &mail)
                    .await
                    .into()
            }
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
                providers::sms::send(&self.http, account, phone, &d.message, callback.as_deref())
                    .await
            }
        }
    }
}

/// What `d` asks for, or the outcome when it cannot be attempted at all.
fn route<'d>(d: &Claimed, all: &'d [providers::Account]) -> Result<Route<'d>, Outcome> {
    let channel = d.channel;
    if d.attempts > d.max_attempts {
        return Err(failed(
            "attempts exhausted (the last attempt's outcome was unknown)".into(),
        ));
    }
    // Borrowed from the cache: no copying of accounts per message.
    let mut senders: Vec<&providers::Account> = all
        .iter()
        .filter(|a| a.enabled && channel_is_implemented(channel, a))
        .collect();
    // The last try timed out there and may have gone out: a second account
    // would send a second copy. (If that account is gone, any may.)
    if let Some(unconfirmed) = d.unconfirmed_account_id {
        if senders.iter().any(|a| a.id == unconfirmed) {
            senders.retain(|a| a.id == unconfirmed);
        }
    }
    if senders.is_empty() {
        let whatsapp = all
            .iter()
            .any(|a| a.enabled && a.channel == Channel::Whatsapp);
        return Err(failed(if channel == Channel::WhatsappGroup && whatsapp {
            "channel not configured: no enabled WhatsApp account can post to groups \
             (Meta's Cloud API cannot; add a Fonnte, Wablas or Woowa account)"
                .into()
        } else {
            format!(
                "channel not configured: no enabled {} provider account",
                channel.as_str()
            )
        }));
    }
    let phone = || {
        PhoneE164::parse(&d.recipient).map_err(|e| failed(format!("invalid recipient number: {e}")))
    };
    let address = match channel {
        Channel::Email => Address::Email,
        Channel::Push => Address::Push,
        Channel::WhatsappGroup => Address::Group,
        Channel::Sms => Address::Sms(phone()?),
        Channel::Voice => Address::Voice(phone()?),
        _ => Address::Whatsapp(phone()?),
    };
    let html = (channel == Channel::Email).then(|| domain::email::html_body(&d.message));
    let units = match channel {
        Channel::Sms => i64::from(domain::sms::segments(&d.message).count),
        _ => 1,
    };
    Ok(Route {
        senders,
        address,
        html,
        units,
    })
}

/// Channels whose senders exist in this version; the others are routed and
/// logged as "channel not configured".
fn channel_is_implemented(channel: Channel, account: &providers::Account) -> bool {
    match channel {
        Channel::Push => account.channel == Channel::Push,
        Channel::Whatsapp => account.channel == Channel::Whatsapp,
        // Only some kinds can post to a group chat: the others are passed
        // over, so failover reaches one that can.
        Channel::WhatsappGroup => {
            account.channel == Channel::Whatsapp && account.kind.reaches_gateway_groups()
        }
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
pub(super) enum Via<'a> {
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

/// What one account's try is kept as (`delivery_tries`).
fn try_of(account: &providers::Account, started_at: i64, answer: &Answer) -> Try {
    let (outcome, error, response) = match &answer.result {
        SendResult::Accepted { response, .. } => (TryOutcome::Accepted, None, Some(response)),
        SendResult::Failed {
            class,
            error,
            response,
            ..
        } => {
            let outcome = match class {
                FailureClass::Recipient => TryOutcome::Refused,
                FailureClass::Unknown => TryOutcome::TimedOut,
                FailureClass::RateLimited => TryOutcome::RateLimited,
                FailureClass::Account => TryOutcome::AccountError,
                FailureClass::Transient => TryOutcome::Transient,
            };
            (outcome, Some(error.clone()), response.as_ref())
        }
    };
    let finished_at = now_ms();
    let provider = account.kind.as_str();
    metrics::counter!(
        crate::metrics::SENDS,
        "provider" => provider,
        "account" => account.id.0.to_string(),
        "outcome" => outcome.as_str(),
    )
    .increment(1);
    metrics::histogram!(crate::metrics::SEND_SECONDS, "provider" => provider)
        .record((finished_at - started_at).max(0) as f64 / 1000.0);
    Try {
        account_id: account.id,
        provider: provider.to_owned(),
        started_at,
        finished_at,
        http_status: answer.http_status,
        outcome,
        error,
        // The delivery row keeps the last answer whole; a try, its start.
        response: response.map(|r| providers::clip_to(r, TRY_RESPONSE_MAX)),
    }
}

/// How much of a provider's answer a try keeps.
const TRY_RESPONSE_MAX: usize = 500;

/// The outcome of an attempt that may pass later; `unconfirmed`: it timed
/// out on `account_id` and may have gone out.
fn retry_later(
    d: &Claimed,
    provider: Option<&str>,
    account_id: Option<AccountId>,
    error: String,
    response: Option<String>,
    now: i64,
    unconfirmed: bool,
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
        unconfirmed,
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
