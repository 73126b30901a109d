//! Meta's message templates as last synced per account, the state of each
//! account's sync, and the admins' choice of template per notification type
//! and language (`meta_templates`, `meta_template_syncs`,
//! `meta_template_mappings`).

use crate::error::{internal, Error};
use crate::{in_tx, on_db, on_db_write, Db};
use domain::meta_template::{serves, MetaTemplate};
use std::collections::BTreeMap;

/// A mapping's parameters: template parameter → variable.
pub type Params = BTreeMap<String, String>;

/// An account's templates become `templates`, all at once (a template
/// deleted in Meta's manager goes), and its sync is noted as done.
pub async fn replace(
    db: &Db,
    account: domain::AccountId,
    templates: &[MetaTemplate],
    now: i64,
) -> Result<(), Error> {
    let account = account.0;
    in_tx!(db, |tx| {
        sqlx::query("DELETE FROM meta_templates WHERE account_id = $1")
            .bind(account)
            .execute(&mut *tx)
            .await?;
        for t in templates {
            let params = serde_json::to_string(&t.params)
                .map_err(|e| internal("meta template params", &e))?;
            sqlx::query(
                "INSERT INTO meta_templates (account_id, name, language, status, category, named,
                     body, params, quick_reply)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (account_id, name, language) DO NOTHING",
            )
            .bind(account)
            .bind(&t.name)
            .bind(&t.language)
            .bind(&t.status)
            .bind(&t.category)
            .bind(t.named)
            .bind(&t.body)
            .bind(params)
            .bind(t.quick_reply.map(i64::from))
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO meta_template_syncs (account_id, attempted_at, synced_at, templates, error)
             VALUES ($1, $2, $2, $3, NULL)
             ON CONFLICT (account_id) DO UPDATE SET attempted_at = excluded.attempted_at,
                 synced_at = excluded.synced_at, templates = excluded.templates, error = NULL",
        )
        .bind(account)
        .bind(now)
        .bind(templates.len() as i64)
        .execute(&mut *tx)
        .await?;
    });
    Ok(())
}

/// Notes that Meta refused a sync, and why; the templates stay as they were.
pub async fn refused(
    db: &Db,
    account: domain::AccountId,
    error: &str,
    now: i64,
) -> Result<(), Error> {
    let account = account.0;
    on_db_write!(db, |pool| {
        sqlx::query(
            "INSERT INTO meta_template_syncs (account_id, attempted_at, error) VALUES ($1, $2, $3)
             ON CONFLICT (account_id) DO UPDATE SET attempted_at = excluded.attempted_at,
                 error = excluded.error",
        )
        .bind(account)
        .bind(now)
        .bind(error)
        .execute(pool)
        .await
        .map(drop)?
    });
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Row {
    account_id: i64,
    name: String,
    language: String,
    status: String,
    category: String,
    named: bool,
    body: String,
    params: String,
    quick_reply: Option<i64>,
}

impl Row {
    fn template(self) -> (i64, MetaTemplate) {
        let params = serde_json::from_str(&self.params).unwrap_or_default();
        (
            self.account_id,
            MetaTemplate {
                name: self.name,
                language: self.language,
                status: self.status,
                category: self.category,
                named: self.named,
                body: self.body,
                params,
                quick_reply: self.quick_reply.and_then(|i| u32::try_from(i).ok()),
            },
        )
    }
}

/// A Meta account as the templates' page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaAccount {
    pub id: i64,
    pub name: String,
    /// It names its WhatsApp Business Account (no sync without one).
    pub has_waba_id: bool,
}

/// Every Meta account, enabled or not, in failover order.
pub async fn accounts(db: &Db) -> Result<Vec<MetaAccount>, Error> {
    let rows: Vec<(i64, String, String)> = on_db!(db, |pool| {
        sqlx::query_as(
            "SELECT id, name, credentials FROM provider_accounts WHERE kind = 'meta'
             ORDER BY failover_order, id",
        )
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(|(id, name, credentials)| MetaAccount {
            id,
            name,
            has_waba_id: serde_json::from_str::<domain::providers::Credentials>(&credentials)
                .ok()
                .and_then(|c| c.waba_id)
                .is_some_and(|w| !w.is_empty()),
        })
        .collect())
}

/// Every synced template with its account, by account, name and language.
pub async fn list(db: &Db) -> Result<Vec<(i64, MetaTemplate)>, Error> {
    let rows: Vec<Row> = on_db!(db, |pool| {
        sqlx::query_as(
            "SELECT account_id, name, language, status, category, named, body, params, quick_reply
             FROM meta_templates ORDER BY account_id, name, language",
        )
        .fetch_all(pool)
        .await?
    });
    Ok(rows.into_iter().map(Row::template).collect())
}

/// One account's last sync.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Sync {
    pub account_id: i64,
    pub attempted_at: i64,
    pub synced_at: Option<i64>,
    pub templates: i64,
    /// Meta's reason, when the last attempt was refused.
    pub error: Option<String>,
}

pub async fn syncs(db: &Db) -> Result<Vec<Sync>, Error> {
    Ok(on_db!(db, |pool| {
        sqlx::query_as(
            "SELECT account_id, attempted_at, synced_at, templates, error
             FROM meta_template_syncs ORDER BY account_id",
        )
        .fetch_all(pool)
        .await?
    }))
}

/// An admin's mapping of a type and language to a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub notification_type: String,
    pub language: String,
    pub template_name: String,
    pub params: Params,
}

pub async fn mappings(db: &Db) -> Result<Vec<Mapping>, Error> {
    let rows: Vec<(String, String, String, String)> = on_db!(db, |pool| {
        sqlx::query_as(
            "SELECT notification_type, language, template_name, params
             FROM meta_template_mappings ORDER BY notification_type, language",
        )
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(
            |(notification_type, language, template_name, params)| Mapping {
                notification_type,
                language,
                template_name,
                params: serde_json::from_str(&params).unwrap_or_default(),
            },
        )
        .collect())
}

/// Stores a mapping (checked by the caller), replacing the type and
/// language's previous one.
pub async fn save_mapping(db: &Db, m: &Mapping, now: i64) -> Result<(), Error> {
    let params = serde_json::to_string(&m.params).map_err(|e| internal("mapping params", &e))?;
    on_db_write!(db, |pool| {
        sqlx::query(
            "INSERT INTO meta_template_mappings (notification_type, language, template_name, params,
                 updated_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (notification_type, language) DO UPDATE SET
                 template_name = excluded.template_name, params = excluded.params,
                 updated_at = excluded.updated_at",
        )
        .bind(&m.notification_type)
        .bind(&m.language)
        .bind(&m.template_name)
        .bind(params)
        .bind(now)
        .execute(pool)
        .await
        .map(drop)?
    });
    Ok(())
}

/// Goes back to the default (the template named like the type).
pub async fn delete_mapping(db: &Db, notification_type: &str, language: &str) -> Result<(), Error> {
    on_db_write!(db, |pool| {
        sqlx::query(
            "DELETE FROM meta_template_mappings WHERE notification_type = $1 AND language = $2",
        )
        .bind(notification_type)
        .bind(language)
        .execute(pool)
        .await
        .map(drop)?
    });
    Ok(())
}

/// The approved template `account` sends `notification_type` with to a
/// person reading `locale`, and which variable fills each parameter: the
/// admin's mapping, else the template named like the type. `None`: there
/// is none (not synced, not approved, not in that language).
pub async fn for_type(
    db: &Db,
    account: domain::AccountId,
    notification_type: &str,
    locale: &str,
) -> Result<Option<(MetaTemplate, Params)>, Error> {
    let account = account.0;
    let mapping: Option<(String, String)> = on_db!(db, |pool| {
        sqlx::query_as(
            "SELECT template_name, params FROM meta_template_mappings
             WHERE notification_type = $1 AND language = $2",
        )
        .bind(notification_type)
        .bind(locale)
        .fetch_optional(pool)
        .await?
    });
    let (name, params) = match mapping {
        Some((name, params)) => (name, serde_json::from_str(&params).unwrap_or_default()),
        None => (notification_type.to_owned(), Params::new()),
    };
    let rows: Vec<Row> = on_db!(db, |pool| {
        sqlx::query_as(
            "SELECT account_id, name, language, status, category, named, body, params, quick_reply
             FROM meta_templates
             WHERE account_id = $1 AND name = $2 AND status = 'APPROVED' ORDER BY language",
        )
        .bind(account)
        .bind(&name)
        .fetch_all(pool)
        .await?
    });
    // The exact code first (`en` before `en_US`).
    let mut found: Vec<MetaTemplate> = rows
        .into_iter()
        .map(|r| r.template().1)
        .filter(|t| serves(&t.language, locale))
        .collect();
    found.sort_by_key(|t| t.language != locale);
    Ok(found.into_iter().next().map(|t| (t, params)))
}

/// What filling a delivery's template needs beyond the template: its
/// event's data and the variables the system fills, as at ingestion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub notification_type: String,
    /// The recipient's language (`id` for customers, like their text).
    pub locale: String,
    pub values: BTreeMap<String, String>,
    /// Its event's alert is open (escalation): the message may carry the
    /// one-tap acknowledgement button.
    pub alert: bool,
}

/// Whether the delivery's event has an open alert (its message may carry
/// the acknowledgement button).
pub async fn open_alert(db: &Db, delivery: i64) -> Result<bool, Error> {
    Ok(on_db!(db, |pool| {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM deliveries d JOIN alerts a ON a.event_id = d.event_id
                            WHERE d.id = $1 AND a.status = 'open')",
        )
        .bind(delivery)
        .fetch_one(pool)
        .await?
    }))
}

/// `None`: the delivery, or the event it came from, is gone.
pub async fn facts(db: &Db, delivery: i64) -> Result<Option<Facts>, Error> {
    type R = (
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        bool,
    );
    let row: Option<R> = on_db!(db, |pool| {
        sqlx::query_as(
            "SELECT d.notification_type, e.priority, COALESCE(z.name, e.work_zone), e.data,
                    e.recipients, u.name, u.locale,
                    EXISTS (SELECT 1 FROM alerts a WHERE a.event_id = d.event_id AND a.status = 'open')
             FROM deliveries d
             LEFT JOIN events e ON e.id = d.event_id
             LEFT JOIN users u ON u.id = d.user_id
             LEFT JOIN work_zones z ON z.code = e.work_zone
             WHERE d.id = $1",
        )
        .bind(delivery)
        .fetch_optional(pool)
        .await?
    });
    let Some((kind, priority, zone, data, recipients, user_name, locale, alert)) = row else {
        return Ok(None);
    };
    let (Ok(kind_word), Some(Ok(priority)), Some(data)) = (
        domain::NotificationType::parse(&kind),
        priority.as_deref().map(domain::Priority::parse),
        data,
    ) else {
        return Ok(None);
    };
    let data: BTreeMap<String, String> = serde_json::from_str(&data).unwrap_or_default();
    // A customer is named in the event's recipients, or in its data.
    let name = user_name
        .or_else(|| {
            let r: serde_json::Value = serde_json::from_str(recipients.as_deref()?).ok()?;
            r.pointer("/customer/name")?.as_str().map(str::to_owned)
        })
        .or_else(|| data.get("customer_name").cloned())
        .unwrap_or_default();
    let locale =
        domain::Locale::parse(locale.as_deref().unwrap_or("id")).unwrap_or(domain::Locale::Id);
    let values = domain::template::message_values(
        &data,
        kind_word,
        priority,
        zone.as_deref(),
        &name,
        locale,
    );
    Ok(Some(Facts {
        notification_type: kind,
        locale: locale.as_str().to_owned(),
        values,
        alert,
    }))
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;
    use crate::store_test;

    fn template(name: &str, language: &str, status: &str) -> MetaTemplate {
        MetaTemplate {
            name: name.into(),
            language: language.into(),
            status: status.into(),
            category: "UTILITY".into(),
            named: true,
            body: "Tiket {{ticket_id}}".into(),
            params: vec!["ticket_id".into()],
            quick_reply: Some(0),
        }
    }

    store_test!(
        a_sync_replaces_an_accounts_templates_and_a_refusal_keeps_them,
        |db| {
            let meta = crate::db::testing::provider_account(db, "meta").await;
            let first = [
                template("ticket_assigned", "id", "APPROVED"),
                template("ticket_assigned", "en_US", "APPROVED"),
                template("sla_warning", "id", "PENDING"),
            ];
            replace(db, domain::AccountId(meta), &first, 1000)
                .await
                .unwrap();
            assert_eq!(list(db).await.unwrap().len(), 3);
            // Listed, and whether it names a WABA (the test account did not).
            let waba = |db: &Db| {
                let db = db.clone();
                async move {
                    let listed = accounts(&db).await.unwrap();
                    listed
                        .iter()
                        .map(|a| (a.id, a.has_waba_id))
                        .collect::<Vec<_>>()
                }
            };
            assert_eq!(waba(db).await, [(meta, false)]);
            on_db_write!(db, |pool| {
                sqlx::query("UPDATE provider_accounts SET credentials = $1 WHERE id = $2")
                    .bind(r#"{"access_token": "t", "waba_id": "1022"}"#)
                    .bind(meta)
                    .execute(pool)
                    .await
                    .map(drop)
                    .unwrap()
            });
            assert_eq!(waba(db).await, [(meta, true)]);
            let found = for_type(db, domain::AccountId(meta), "ticket_assigned", "en")
                .await
                .unwrap();
            assert_eq!(found.map(|(t, _)| t.language), Some("en_US".to_owned()));
            assert_eq!(
                found_language(db, meta, "ticket_assigned", "id").await,
                Some("id".into())
            );
            // Not approved: not sendable.
            assert!(for_type(db, domain::AccountId(meta), "sla_warning", "id")
                .await
                .unwrap()
                .is_none());

            // A refusal keeps what was synced and says why.
            refused(
                db,
                domain::AccountId(meta),
                "Meta error 190: token expired",
                2000,
            )
            .await
            .unwrap();
            assert_eq!(list(db).await.unwrap().len(), 3);
            let s = &syncs(db).await.unwrap()[0];
            assert_eq!(
                (s.synced_at, s.attempted_at, s.templates),
                (Some(1000), 2000, 3)
            );
            assert_eq!(s.error.as_deref(), Some("Meta error 190: token expired"));

            // The next sync replaces them all and clears the reason.
            replace(
                db,
                domain::AccountId(meta),
                &[template("sla_warning", "id", "APPROVED")],
                3000,
            )
            .await
            .unwrap();
            assert_eq!(list(db).await.unwrap().len(), 1);
            assert!(
                for_type(db, domain::AccountId(meta), "ticket_assigned", "id")
                    .await
                    .unwrap()
                    .is_none()
            );
            let s = &syncs(db).await.unwrap()[0];
            assert_eq!((s.synced_at, s.error.as_deref()), (Some(3000), None));
        }
    );

    async fn found_language(db: &Db, account: i64, kind: &str, locale: &str) -> Option<String> {
        for_type(db, domain::AccountId(account), kind, locale)
            .await
            .unwrap()
            .map(|(t, _)| t.language)
    }

    store_test!(an_admins_mapping_picks_another_template, |db| {
        let meta = crate::db::testing::provider_account(db, "meta").await;
        replace(
            db,
            domain::AccountId(meta),
            &[
                template("ticket_assigned", "id", "APPROVED"),
                template("tugas_teknisi", "id", "APPROVED"),
            ],
            1,
        )
        .await
        .unwrap();
        let mapping = Mapping {
            notification_type: "ticket_assigned".into(),
            language: "id".into(),
            template_name: "tugas_teknisi".into(),
            params: [("ticket_id".to_owned(), "invoice_id".to_owned())].into(),
        };
        save_mapping(db, &mapping, 2).await.unwrap();
        let (t, params) = for_type(db, domain::AccountId(meta), "ticket_assigned", "id")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(t.name, "tugas_teknisi");
        assert_eq!(
            params.get("ticket_id").map(String::as_str),
            Some("invoice_id")
        );
        assert_eq!(mappings(db).await.unwrap(), vec![mapping]);
        delete_mapping(db, "ticket_assigned", "id").await.unwrap();
        let (t, params) = for_type(db, domain::AccountId(meta), "ticket_assigned", "id")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((t.name.as_str(), params.len()), ("ticket_assigned", 0));
    });
}
