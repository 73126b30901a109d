//! One attempt at one delivery, in three stages: **route** (what the row
//! asks for: its channel, the accounts that can send it, its recipient
//! parsed, the email it becomes), **fail over** (the accounts in order,
//! starting after the one the previous attempt used, each within its pace),
//! **send** (one account's protocol). The outcome is recorded by the
//! dispatcher's writer, fenced on the attempt.

use super::backoff;
use super::worker::Dispatcher;
use crate::providers::ratelimit::DEFAULT_PAUSE_MS;
use crate::providers::{self, Answer, FailureClass, SendResult, To};
use app::live::DeliveryChange;
use domain::meta_template::{MetaTemplate, Param};
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

    /// What `d` becomes on a Meta account: free text inside the person's
    /// 24-hour window (with a "Konfirmasi" button for an alert that fits
    /// one), else [`Self::meta_template`].
    async fn meta_message(
        &self,
        d: &Claimed,
        account: &providers::Account,
        phone: &PhoneE164,
    ) -> Result<MetaMessage, MetaBlocked> {
        let open = storage::window::is_open(&self.db, account.id, phone.as_str(), now_ms())
            .await
            .map_err(|e| unreadable("the 24-hour window", &e))?;
        if !open {
            return self.meta_template(d, account).await;
        }
        let fits = d.message.chars().count() <= providers::meta::INTERACTIVE_MAX_CHARS;
        let ack = fits
            && storage::meta_templates::open_alert(&self.db, d.id.0)
                .await
                .map_err(|e| unreadable("the delivery's alert", &e))?;
        Ok(MetaMessage::Text { ack })
    }

    /// The type's approved template for `d` on a Meta account, filled from
    /// its event (with the acknowledgement button for an open alert), or
    /// why there is none.
    async fn meta_template(
        &self,
        d: &Claimed,
        account: &providers::Account,
    ) -> Result<MetaMessage, MetaBlocked> {
        let facts = storage::meta_templates::facts(&self.db, d.id.0)
            .await
            .map_err(|e| unreadable("the delivery's event", &e))?
            .ok_or_else(|| {
                MetaBlocked::Closed("its event is gone, so no template can be filled".into())
            })?;
        let found = storage::meta_templates::for_type(
            &self.db,
            account.id,
            &facts.notification_type,
            &facts.locale,
        )
        .await
        .map_err(|e| unreadable("Meta's templates", &e))?;
        let Some((template, mapping)) = found else {
            return Err(MetaBlocked::Closed(format!(
                "no approved Meta template for \"{}\" in language \"{}\"",
                facts.notification_type, facts.locale
            )));
        };
        let params = template.fill(&mapping, &facts.values).map_err(|missing| {
            MetaBlocked::Closed(format!(
                "Meta template \"{}\" ({}) has no value for {}",
                template.name,
                template.language,
                missing.join(", ")
            ))
        })?;
        let ack = if facts.alert {
            template.quick_reply
        } else {
            None
        };
        Ok(MetaMessage::Template {
            template,
            params,
            ack,
        })
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

    /// Pushes one delivery to every device of its person through a web push
    /// account, and records what each device's push service said.
    async fn push(&self, d: &Claimed, account: &providers::Account) -> SendResult {
        let fail = |class, e: String| SendResult::failed(class, e, None);
        let Some(user) = d.user_id else {
            return fail(FailureClass::Recipient, "a push goes to a person".into());
        };
        let key = match self
            .vapid
            .get_or_try_init(|| {
                storage::keys::vapid::VapidKey::load_or_create(&self.db, &self.keys, now_ms())
            })
            .await
        {
            Ok(k) => k,
            Err(e) => return fail(FailureClass::Transient, format!("VAPID key: {e}")),
        };
        let subs = match storage::push::for_user(&self.db, user).await {
            // A follow-up goes to the devices that missed the first push.
            Ok(mut s) => {
                if let Some(ids) = storage::push::named_devices(&d.recipient) {
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
        let priority = d.priority;
        let payload = domain::push::Payload::new(
            d.subject.as_deref().unwrap_or("Notifikasi"),
            &d.message,
            &self.inbox_url,
            d.id.0,
        );
        let payload = serde_json::to_string(&payload).expect("strings serialise");
        let options = providers::webpush::PushOptions {
            key,
            subject: account.credentials.subject.as_deref().unwrap_or_default(),
            ttl_seconds: domain::push::ttl_seconds(priority),
            urgency: domain::push::urgency(priority),
            timeout: Duration::from_millis(account.timeout_ms.max(1) as u64),
            now_s: now_ms() / 1000,
            loopback_allowed: self.config.push_loopback,
        };
        let pushed = providers::webpush::send(&self.push_http, &subs, &payload, &options).await;
        if let Err(e) = storage::push::record(&self.db, &pushed.answers, now_ms()).await {
            tracing::error!(delivery = d.id.0, "recording push answers failed: {e}");
        }
        if matches!(pushed.result, SendResult::Accepted { .. }) && !pushed.try_again.is_empty() {
            let now = now_ms();
            let at = now + PUSH_FOLLOW_UP_MS;
            match storage::push::follow_up(&self.db, d.id, &pushed.try_again, now, at).await {
                Ok(Some(id)) => self.feed.deliveries([DeliveryChange {
                    id,
                    status: DeliveryStatus::Queued,
                }]),
                Ok(None) => {}
                // The delivery still counts as sent: those devices miss it
                // (it is in the inbox).
                Err(e) => {
                    tracing::error!(delivery = d.id.0, "queueing a push follow-up failed: {e}")
                }
            }
        }
        match pushed.result {
            // The service worker reports receipts under this id.
            SendResult::Accepted {
                reference,
                response,
                ..
            } => SendResult::Accepted {
                message_id: Some(push_message_id(d.id.0)),
                reference,
                response,
            },
            failed => failed,
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

/// How long after a push that some device's service refused the follow-up
/// for those devices is due.
pub const PUSH_FOLLOW_UP_MS: i64 = 30_000;

/// The provider message id of a push: the service worker knows only the
/// delivery, and reports receipts under this.
pub fn push_message_id(delivery: i64) -> String {
    format!("push-{delivery}")
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

/// Why a message only Meta could carry was not sent (followed by why no
/// template could go instead).
pub const WINDOW_CLOSED: &str = "Meta: outside the 24-hour customer service window \
     (the person has not written to the business number in the last 24 hours), \
     no WhatsApp gateway account to send it instead";

/// What a delivery goes out as through a Meta account.
enum MetaMessage {
    /// Inside the window; `ack`: with the acknowledgement button.
    Text { ack: bool },
    Template {
        template: MetaTemplate,
        params: Vec<Param>,
        ack: Option<u32>,
    },
}

impl MetaMessage {
    /// What Meta bills for it: the template's category, `service` for
    /// free text.
    fn cost(&self, account: &providers::Account) -> i64 {
        let category = match self {
            MetaMessage::Template { template, .. } => template.category.as_str(),
            MetaMessage::Text { .. } => "service",
        };
        domain::meta_template::price(&account.template_prices, category, account.price_rupiah)
    }

    fn body<'a>(&'a self, text: &'a str) -> providers::meta::Body<'a> {
        use providers::meta::Body;
        match self {
            MetaMessage::Text { ack: false } => Body::Text(text),
            MetaMessage::Text { ack: true } => Body::TextWithAck(text),
            MetaMessage::Template {
                template,
                params,
                ack,
            } => Body::Template {
                template,
                params,
                ack: *ack,
            },
        }
    }
}

/// Why a Meta account is passed over for a delivery.
enum MetaBlocked {
    /// Outside the window with no template to send: the reason.
    Closed(String),
    /// The database could not say (another account may still send it).
    Unreadable(String),
}

fn unreadable(what: &str, e: &dyn std::fmt::Display) -> MetaBlocked {
    MetaBlocked::Unreadable(format!("cannot read {what}: {e}"))
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
    Try {
        account_id: account.id,
        provider: account.kind.as_str().to_owned(),
        started_at,
        finished_at: now_ms(),
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
