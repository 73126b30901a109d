//! SQL of alerts: acknowledging, and reading an alert's state.

use crate::db::Db;
use crate::Error;
use crate::{in_tx, on_db};
use domain::escalation::AckChannel;
use domain::escalation::StepTarget;
use domain::live::{AckOutcome, AlertView};
use domain::{GroupId, UserId};

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    event_id: i64,
    status: String,
    next_step: i64,
    next_step_at: Option<i64>,
    acknowledged_by: Option<String>,
    acknowledged_at: Option<i64>,
    ack_channel: Option<String>,
}

impl From<Row> for AlertView {
    fn from(r: Row) -> Self {
        AlertView {
            id: r.id,
            open: r.status == "open",
            steps_taken: r.next_step,
            next_step_at: r.next_step_at,
            acknowledged_by: r.acknowledged_by,
            acknowledged_at: r.acknowledged_at,
            ack_channel: r.ack_channel.as_deref().and_then(AckChannel::parse),
        }
    }
}

/// An alert's state with the name of who acknowledged it (`WHERE` follows).
const VIEW: &str = "SELECT a.id, a.event_id, a.status, a.next_step, a.next_step_at,
        u.name AS acknowledged_by, a.acknowledged_at, a.ack_channel, a.message
     FROM alerts a LEFT JOIN users u ON u.id = a.acknowledged_by";

pub async fn view(db: &Db, alert_id: i64) -> Result<Option<AlertView>, Error> {
    let sql = format!("{VIEW} WHERE a.id = $1");
    let row: Option<Row> = on_db!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(alert_id)
        .fetch_optional(pool)
        .await?);
    Ok(row.map(Into::into))
}

/// The alert of an event, if it is under a policy.
pub async fn for_event(db: &Db, event_id: i64) -> Result<Option<AlertView>, Error> {
    Ok(for_events(db, &[event_id]).await?.remove(&event_id))
}

/// The alerts of these events (an event has at most one), by event id.
pub async fn for_events(
    db: &Db,
    event_ids: &[i64],
) -> Result<std::collections::HashMap<i64, AlertView>, Error> {
    if event_ids.is_empty() {
        return Ok(Default::default());
    }
    let sql = format!(
        "{VIEW} WHERE a.event_id IN {}",
        crate::db::value_rows(1, event_ids.len())
    );
    let rows: Vec<Row> = on_db!(db, |pool| {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
        for id in event_ids {
            q = q.bind(*id);
        }
        q.fetch_all(pool).await?
    });
    Ok(rows.into_iter().map(|r| (r.event_id, r.into())).collect())
}

/// The alert a link names, with the message it is about.
pub async fn by_ack_key(db: &Db, ack_key: &str) -> Result<Option<(AlertView, String)>, Error> {
    #[derive(sqlx::FromRow)]
    struct WithMessage {
        #[sqlx(flatten)]
        row: Row,
        message: String,
    }
    let sql = format!("{VIEW} WHERE a.ack_key = $1");
    let found: Option<WithMessage> = on_db!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(ack_key)
        .fetch_optional(pool)
        .await?);
    Ok(found.map(|f| (f.row.into(), f.message)))
}

/// Closes the alert for `user_id` through `channel`, if it is open and the
/// user was asked. Only the first acknowledgement counts: the update is
/// fenced on the alert still being open.
pub async fn acknowledge(
    db: &Db,
    alert_id: i64,
    user_id: UserId,
    channel: AckChannel,
    now: i64,
) -> Result<AckOutcome, Error> {
    let (closed, exists, asked): (u64, bool, bool) = in_tx!(db, |tx| {
        let closed = sqlx::query(
            "UPDATE alerts SET status = 'acknowledged', acknowledged_by = $2, acknowledged_at = $3,
                 ack_channel = $4, next_step_at = NULL, updated_at = $3
             WHERE id = $1 AND status = 'open'
               AND EXISTS (SELECT 1 FROM alert_recipients r WHERE r.alert_id = $1 AND r.user_id = $2)",
        )
        .bind(alert_id)
        .bind(user_id)
        .bind(now)
        .bind(channel.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM alerts WHERE id = $1")
            .bind(alert_id)
            .fetch_optional(&mut *tx)
            .await?;
        let asked: Option<i64> = sqlx::query_scalar(
            "SELECT user_id FROM alert_recipients WHERE alert_id = $1 AND user_id = $2",
        )
        .bind(alert_id)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        (closed, exists.is_some(), asked.is_some())
    });
    if closed > 0 {
        return Ok(AckOutcome::Acknowledged);
    }
    if !exists {
        return Ok(AckOutcome::NotFound);
    }
    if !asked {
        return Ok(AckOutcome::NotRecipient);
    }
    match view(db, alert_id).await? {
        Some(v) => Ok(AckOutcome::Already(v)),
        None => Ok(AckOutcome::NotFound),
    }
}

/// Everyone asked about an alert (their inboxes show its state).
pub async fn recipients(db: &Db, alert_id: i64) -> Result<Vec<UserId>, Error> {
    let ids: Vec<UserId> = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT user_id FROM alert_recipients WHERE alert_id = $1 ORDER BY user_id"
    )
    .bind(alert_id)
    .fetch_all(pool)
    .await?);
    Ok(ids)
}

/// [`acknowledge`], then, when this closed the alert, tells the pages: the
/// inboxes of everyone it reached (the button gives way to who took it) and
/// the delivery log. Every way of acknowledging goes through here.
pub async fn acknowledge_and_announce(
    db: &Db,
    feed: &crate::feed::Feed,
    alert_id: i64,
    user_id: UserId,
    channel: AckChannel,
    now: i64,
) -> Result<AckOutcome, Error> {
    let outcome = acknowledge(db, alert_id, user_id, channel, now).await?;
    if outcome == AckOutcome::Acknowledged {
        tracing::info!(
            alert = alert_id,
            user = %user_id,
            via = channel.as_str(),
            "alert acknowledged"
        );
        match recipients(db, alert_id).await {
            Ok(users) => feed.inbox(users),
            Err(e) => tracing::warn!(alert = alert_id, "announcing an acknowledgement: {e}"),
        }
        feed.added();
    }
    Ok(outcome)
}

/// The alert a WhatsApp reply from `phone` (E.164) is about: the newest open
/// alert the number's owner was asked about. `None` with the reason when the
/// sender is unknown or has nothing open.
pub async fn open_for_phone(
    db: &Db,
    phone: &str,
    written_at: Option<i64>,
) -> Result<Result<(i64, UserId), &'static str>, Error> {
    let users: Vec<i64> = on_db!(db, |pool| {
        sqlx::query_scalar(
        "SELECT id FROM users WHERE phone = $1 AND phone_verified_at IS NOT NULL AND active = TRUE"
    )
    .bind(phone)
    .fetch_all(pool)
    .await?
    });
    if users.is_empty() {
        return Ok(Err("unknown sender"));
    }
    let found: Option<(i64, UserId)> = on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT a.id, r.user_id FROM alerts a
         JOIN alert_recipients r ON r.alert_id = a.id
         JOIN users u ON u.id = r.user_id
         WHERE u.phone = $1 AND u.phone_verified_at IS NOT NULL AND u.active = TRUE AND a.status = 'open'
           AND a.created_at <= $2
         ORDER BY a.created_at DESC, a.id DESC LIMIT 1"
    )
    .bind(phone)
    // A reply written before an alert opened is not about it (a late
    // webhook, a message typed offline); the provider's time when it
    // gives one.
    .bind(written_at.unwrap_or(i64::MAX))
    .fetch_optional(pool)
    .await?
    });
    Ok(found.ok_or("no open alert for this sender"))
}

/// The alert a call was about and the person called (the delivery the
/// call's sid belongs to).
pub async fn alert_for_call(
    db: &Db,
    provider: &str,
    call_sid: &str,
) -> Result<Option<(i64, UserId)>, Error> {
    let found: Option<(i64, UserId)> = on_db!(db, |pool| sqlx::query_as(
        "SELECT a.id, d.user_id FROM deliveries d
         JOIN alerts a ON a.event_id = d.event_id
         WHERE d.provider = $1 AND d.provider_message_id = $2 AND d.user_id IS NOT NULL
         LIMIT 1"
    )
    .bind(provider)
    .bind(call_sid)
    .fetch_optional(pool)
    .await?);
    Ok(found)
}

/// The alert of the event a provider message belongs to, if it is open and
/// `phone`'s owner was asked (a reply that quotes the message).
pub async fn open_for_message(
    db: &Db,
    provider: &str,
    message_id: &str,
    phone: &str,
) -> Result<Option<(i64, UserId)>, Error> {
    let found: Option<(i64, UserId)> = on_db!(db, |pool| sqlx::query_as(
        "SELECT a.id, r.user_id FROM deliveries d
         JOIN alerts a ON a.event_id = d.event_id
         JOIN alert_recipients r ON r.alert_id = a.id
         JOIN users u ON u.id = r.user_id
         WHERE d.provider = $1 AND d.provider_message_id = $2 AND a.status = 'open'
           AND u.phone = $3 AND u.phone_verified_at IS NOT NULL AND u.active = TRUE
         LIMIT 1"
    )
    .bind(provider)
    .bind(message_id)
    .bind(phone)
    .fetch_optional(pool)
    .await?);
    Ok(found)
}

/// One escalation step's writes.
pub struct StepWrite<'a> {
    pub alert_id: i64,
    pub event_id: i64,
    pub kind: &'a str,
    pub priority: &'a str,
    /// The step taken (`alerts.next_step` before it): the update is fenced
    /// on it, so only one instance takes each step.
    pub step: i64,
    /// When the step after it is due (`None`: it was the last).
    pub next_step_at: Option<i64>,
    pub deliveries: &'a [crate::outbox::NewDelivery],
    pub inbox: &'a [crate::outbox::NewInboxItem],
    /// Users asked at this step (they may acknowledge from now on).
    pub recipients: &'a [UserId],
}

/// Takes a step: moves the alert's timer on and writes the step's messages in
/// one transaction. Returns `false`, writing nothing, when the alert moved
/// meanwhile (another instance took the step, or someone acknowledged).
pub async fn take_step(db: &Db, w: &StepWrite<'_>, now: i64) -> Result<bool, Error> {
    let taken = in_tx!(db, |tx| {
        let moved = sqlx::query(
            "UPDATE alerts SET next_step = next_step + 1, next_step_at = $3, updated_at = $4
             WHERE id = $1 AND next_step = $2 AND status = 'open'",
        )
        .bind(w.alert_id)
        .bind(w.step)
        .bind(w.next_step_at)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 1 {
            let step_no = w.step + 1;
            use crate::outbox::Routed;
            let deliveries: Vec<_> =
                Routed::all(w.event_id, w.kind, w.priority, w.deliveries).collect();
            crate::outbox::write_deliveries(&mut *tx, &deliveries, now, Some(step_no), None)
                .await?;
            let inbox: Vec<_> = Routed::all(w.event_id, w.kind, w.priority, w.inbox).collect();
            crate::outbox::write_inbox(&mut *tx, &inbox, now).await?;
            for user in w.recipients {
                sqlx::query(
                    "INSERT INTO alert_recipients (alert_id, user_id, step, added_at)
                     VALUES ($1, $2, $3, $4) ON CONFLICT (alert_id, user_id) DO NOTHING",
                )
                .bind(w.alert_id)
                .bind(user)
                .bind(step_no)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
        moved == 1
    });
    Ok(taken)
}

/// Stops an alert's timer when its policy has no step left to take (the
/// policy was shortened or deleted); fenced like [`take_step`].
pub async fn stop_timer(db: &Db, alert_id: i64, step: i64, now: i64) -> Result<(), Error> {
    crate::on_db_write!(db, |pool| {
        sqlx::query(
        "UPDATE alerts SET next_step_at = NULL, updated_at = $3 WHERE id = $1 AND next_step = $2 AND status = 'open'"
    )
    .bind(alert_id)
    .bind(step)
    .bind(now)
    .execute(pool)
    .await
    .map(|_| ())?
    });
    Ok(())
}

/// An open alert whose next step is due.
#[derive(sqlx::FromRow)]
pub struct DueAlert {
    pub id: i64,
    pub event_id: i64,
    pub policy_id: Option<i64>,
    pub ack_key: String,
    pub message: String,
    pub next_step: i64,
    pub created_at: i64,
    pub notification_type: String,
    pub priority: String,
    pub work_zone: Option<String>,
}

/// Up to `limit` open alerts whose next step is due at `now`, longest
/// waiting first.
pub async fn due_steps(db: &Db, now: i64, limit: i64) -> Result<Vec<DueAlert>, Error> {
    Ok(on_db!(db, |pool| sqlx::query_as(
        "SELECT a.id, a.event_id, a.policy_id, a.ack_key, a.message, a.next_step, a.created_at,
                e.notification_type, e.priority, e.work_zone
         FROM alerts a JOIN events e ON e.id = a.event_id
         WHERE a.status = 'open' AND a.next_step_at <= $1
         ORDER BY a.next_step_at LIMIT $2"
    )
    .bind(now)
    .bind(limit)
    .fetch_all(pool)
    .await?))
}

/// A WhatsApp group's chat id and whether it is active.
pub async fn group_chat(db: &Db, group: GroupId) -> Result<Option<(String, bool)>, Error> {
    Ok(on_db!(db, |pool| sqlx::query_as(
        "SELECT chat_id, active FROM whatsapp_groups WHERE id = $1"
    )
    .bind(group)
    .fetch_optional(pool)
    .await?))
}

/// A person an escalation step reaches (active users only).
#[derive(sqlx::FromRow)]
pub struct StepPerson {
    pub id: UserId,
    pub email: String,
    pub phone: Option<String>,
    pub phone_verified_at: Option<i64>,
    pub locale: String,
}

const STEP_PERSON: &str =
    "SELECT id, email, phone, phone_verified_at, locale FROM users WHERE active = TRUE";

/// The people a step's target names: a user, a role (in `alert_zone`
/// unless the step names one), or a group's members.
pub async fn step_people(
    db: &Db,
    alert: &DueAlert,
    target: &StepTarget,
) -> Result<Vec<StepPerson>, Error> {
    Ok(match target {
        StepTarget::User { user_id } => on_db!(db, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            format!("{STEP_PERSON} AND id = $1")
        ))
        .bind(user_id)
        .fetch_all(pool)
        .await?),
        StepTarget::Role { role, zone } => {
            let zone = zone.clone().or_else(|| alert.work_zone.clone());
            on_db!(db, |pool| {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{STEP_PERSON} AND role = $1 AND ($2 IS NULL OR work_zone = $2 OR work_zone IS NULL) ORDER BY id"
            )))
            .bind(role.as_str())
            .bind(zone)
            .fetch_all(pool)
            .await?
            })
        }
        StepTarget::Group { group_id } => on_db!(db, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{STEP_PERSON} AND id IN (SELECT user_id FROM whatsapp_group_members WHERE group_id = $1)"
            )))
            .bind(group_id)
            .fetch_all(pool)
            .await?
        }),
    })
}
