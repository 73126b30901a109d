//! Meta's message templates, for admins: each Meta account's synced
//! templates with their status and the last sync (Meta's reason when it
//! refused), a sync on demand, and which template each notification type
//! goes out with per language (checked: only known variables fill its
//! parameters).

pub mod page;

use crate::error::{AppError, FieldError};
use domain::meta_template::{check_mapping, MetaTemplate};
use domain::{Locale, NotificationType, Words};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One Meta account's templates and its last sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountTemplates {
    pub account_id: i64,
    pub account_name: String,
    /// Whether the account names its WhatsApp Business Account (no sync
    /// without it).
    pub has_waba_id: bool,
    pub attempted_at: Option<i64>,
    pub synced_at: Option<i64>,
    /// Meta's reason, when the last sync was refused.
    pub error: Option<String>,
    pub templates: Vec<MetaTemplate>,
}

/// An admin's choice for a type and language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingView {
    pub notification_type: String,
    pub language: String,
    pub template_name: String,
    /// Template parameter → variable.
    pub params: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaTemplatesView {
    pub accounts: Vec<AccountTemplates>,
    pub mappings: Vec<MappingView>,
}

/// Runs one account's sync on the server (the host provides it: it holds
/// the HTTP client); answers how many templates Meta listed, or Meta's
/// reason.
#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct SyncHook(pub std::sync::Arc<SyncFn>);

#[cfg(feature = "ssr")]
pub type SyncFn =
    dyn Fn(i64) -> futures_util::future::BoxFuture<'static, Result<usize, String>> + Send + Sync;

#[cfg(feature = "ssr")]
impl std::fmt::Debug for SyncHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SyncHook")
    }
}

impl MappingView {
    /// Checked in the browser and again on the server: a known type, `id`
    /// or `en`, a template name as Meta writes them, and only variables the
    /// product has.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if NotificationType::parse(&self.notification_type).is_err() {
            errors.push(FieldError::new(
                "notification_type",
                Words::new("Pilih jenis notifikasi.", "Choose a notification type."),
            ));
        }
        if Locale::parse(&self.language).is_err() {
            errors.push(FieldError::new(
                "language",
                Words::new("Pilih bahasa.", "Choose a language."),
            ));
        }
        let name_ok = !self.template_name.is_empty()
            && self.template_name.len() <= 512
            && self
                .template_name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !name_ok {
            errors.push(FieldError::new(
                "template_name",
                Words::new(
                    "Nama templat Meta: huruf kecil, angka dan garis bawah, mis. tugas_teknisi.",
                    "A Meta template name: lower-case letters, digits and underscores, e.g. technician_task.",
                ),
            ));
        }
        if let Err(unknown) = check_mapping(&self.params) {
            let names = unknown.join(", ");
            errors.push(FieldError::new(
                "params",
                Words::fill(
                    "Variabel tidak dikenal: {}.",
                    "Unknown variables: {}.",
                    &[&names],
                ),
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

#[server(endpoint = "meta-templates/list")]
pub async fn list_meta_templates() -> Result<MetaTemplatesView, AppError> {
    let (_, state) = crate::state::guard(crate::auth::Area::Providers)?;
    server::list(&state.db).await
}

/// Syncs one Meta account's templates now; answers how many Meta listed.
/// A refusal is Meta's reason as a field error, and changes nothing.
#[server(endpoint = "meta-templates/sync", input = leptos::server_fn::codec::Json)]
pub async fn sync_meta_templates(account_id: i64) -> Result<usize, AppError> {
    let (_, state) = crate::state::guard(crate::auth::Area::Providers)?;
    let Some(sync) = state.meta_sync.clone() else {
        return Err(crate::error::internal("meta sync", &"no sync hook"));
    };
    // Plain words here; Meta's own answer is kept with the account's last
    // sync and shown under them.
    (sync.0)(account_id).await.map_err(|reason| {
        AppError::Validation(vec![FieldError::new(
            "sync",
            domain::meta_template::sync_refusal(&reason),
        )])
    })
}

/// Saves the template a type goes out with in a language; an empty
/// template name goes back to the default (the template named like the
/// type).
#[server(endpoint = "meta-templates/map", input = leptos::server_fn::codec::Json)]
pub async fn save_meta_mapping(mapping: MappingView) -> Result<(), AppError> {
    let (_, state) = crate::state::guard(crate::auth::Area::Providers)?;
    if mapping.template_name.trim().is_empty() {
        storage::meta_templates::delete_mapping(
            &state.db,
            &mapping.notification_type,
            &mapping.language,
        )
        .await?;
        return Ok(());
    }
    mapping.validate().map_err(AppError::Validation)?;
    let m = storage::meta_templates::Mapping {
        notification_type: mapping.notification_type,
        language: mapping.language,
        template_name: mapping.template_name,
        params: mapping.params,
    };
    storage::meta_templates::save_mapping(&state.db, &m, crate::time::now_ms()).await?;
    Ok(())
}

#[cfg(feature = "ssr")]
mod server {
    use super::*;
    use storage::Db;

    pub async fn list(db: &Db) -> Result<MetaTemplatesView, AppError> {
        let accounts = storage::meta_templates::accounts(db).await?;
        let syncs = storage::meta_templates::syncs(db).await?;
        let mut templates = storage::meta_templates::list(db).await?;
        let accounts = accounts
            .into_iter()
            .map(|account| {
                let id = account.id;
                let sync = syncs.iter().find(|s| s.account_id == id);
                let (mine, rest): (Vec<_>, Vec<_>) =
                    templates.drain(..).partition(|(a, _)| *a == id);
                templates = rest;
                AccountTemplates {
                    account_id: id,
                    account_name: account.name,
                    has_waba_id: account.has_waba_id,
                    attempted_at: sync.map(|s| s.attempted_at),
                    synced_at: sync.and_then(|s| s.synced_at),
                    error: sync.and_then(|s| s.error.clone()),
                    templates: mine.into_iter().map(|(_, t)| t).collect(),
                }
            })
            .collect();
        let mappings = storage::meta_templates::mappings(db)
            .await?
            .into_iter()
            .map(|m| MappingView {
                notification_type: m.notification_type,
                language: m.language,
                template_name: m.template_name,
                params: m.params,
            })
            .collect();
        Ok(MetaTemplatesView { accounts, mappings })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapping_naming_an_unknown_variable_is_refused() {
        let m = MappingView {
            notification_type: "ticket_assigned".into(),
            language: "id".into(),
            template_name: "tugas_teknisi".into(),
            params: [("1".to_owned(), "ticket_id".to_owned())].into(),
        };
        assert!(m.validate().is_ok());
        let bad = MappingView {
            params: [("1".to_owned(), "nomor_tiket".to_owned())].into(),
            template_name: "Tugas Teknisi".into(),
            language: "jv".into(),
            ..m
        };
        let errors = bad.validate().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["language", "template_name", "params"]);
        assert!(errors[2].message.get(Locale::Id).contains("nomor_tiket"));
    }
}
