//! Secrets at rest. The values of provider credentials and the server's own
//! keys (`server_keys`: the VAPID key, the acknowledgement links' key) are
//! stored sealed with AES-256-GCM under a key that is not in the database
//! (the host reads it from `SECRET_KEY`, `SECRET_KEY_FILE` or a key file it
//! makes beside the data), so a copy of the database alone reveals none of
//! them.
//!
//! A sealed value is `sealed:1:{key id}:{nonce}:{ciphertext}` (hex), bound
//! to what it is (`credentials.token`, `server_keys.vapid`) so a value
//! cannot be moved to another field. Credential field names stay readable:
//! the pages show which fields are set, never a value.
//!
//! Rotation: the keyring holds the current key and any previous ones;
//! [`reseal`] rewrites every value not sealed with the current key (and any
//! value still in plain text, as older versions wrote them). A value sealed
//! with a key the ring does not hold is an error naming that key's id, so
//! an instance started with the wrong key says so instead of sending
//! garbage.

use crate::db::Db;
use crate::in_tx;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::sync::Arc;

const PREFIX: &str = "sealed:1:";

/// The keys secrets are sealed with: the current one, and the ones before
/// it (still opened, never used to seal). Cheap to clone.
#[derive(Clone)]
pub struct Keyring(Arc<Ring>);

struct Ring {
    current: Key,
    previous: Vec<Key>,
}

struct Key {
    id: String,
    cipher: Aes256Gcm,
}

impl Key {
    fn new(bytes: &[u8; 32]) -> Key {
        let mut h = Sha256::new();
        h.update(b"notifikasi secret key id\0");
        h.update(bytes);
        Key {
            id: hex::encode(&h.finalize()[..4]),
            cipher: Aes256Gcm::new(bytes.into()),
        }
    }
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keyring(current {}", self.0.current.id)?;
        for k in &self.0.previous {
            write!(f, ", previous {}", k.id)?;
        }
        f.write_str(")")
    }
}

/// Why a stored secret cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretError {
    /// Sealed with a key this keyring does not hold.
    UnknownKey(String),
    /// Not a sealed value, or altered, or moved from another field.
    Damaged,
}

impl std::fmt::Display for SecretError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretError::UnknownKey(id) => write!(
                f,
                "sealed with secret key {id}, which this instance does not hold (set SECRET_KEY or SECRET_KEY_FILE to that key, or list it in SECRET_KEY_PREVIOUS)"
            ),
            SecretError::Damaged => f.write_str("a sealed secret is damaged or was altered"),
        }
    }
}

impl std::error::Error for SecretError {}

/// A key as written in `SECRET_KEY` or its file: 64 hex digits (e.g.
/// `openssl rand -hex 32`), spaces and a final newline ignored.
pub fn parse_key(text: &str) -> Result<[u8; 32], String> {
    let text = text.trim();
    let bytes = hex::decode(text)
        .map_err(|_| "a secret key is 64 hex digits (openssl rand -hex 32)".to_owned())?;
    bytes
        .try_into()
        .map_err(|_| "a secret key is 64 hex digits (openssl rand -hex 32)".to_owned())
}

impl Keyring {
    pub fn new(current: &[u8; 32], previous: &[[u8; 32]]) -> Keyring {
        Keyring(Arc::new(Ring {
            current: Key::new(current),
            previous: previous.iter().map(Key::new).collect(),
        }))
    }

    /// A keyring with a fresh random key.
    pub fn random() -> Keyring {
        Keyring::new(&random_key(), &[])
    }

    /// The current key's id (what sealed values name; safe to log).
    pub fn current_id(&self) -> &str {
        &self.0.current.id
    }

    /// `plain` sealed with the current key, bound to `what`.
    pub fn seal(&self, what: &str, plain: &str) -> String {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).expect("the system's random source");
        let key = &self.0.current;
        let sealed = key
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: what.as_bytes(),
                },
            )
            .expect("AES-GCM seals any length this holds");
        format!(
            "{PREFIX}{}:{}:{}",
            key.id,
            hex::encode(nonce),
            hex::encode(sealed)
        )
    }

    /// The plain text of a stored value bound to `what`. A value that is not
    /// sealed (written before sealing, not yet [`reseal`]ed) is read as is.
    pub fn open(&self, what: &str, stored: &str) -> Result<String, SecretError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let mut parts = rest.splitn(3, ':');
        let (Some(id), Some(nonce), Some(sealed)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(SecretError::Damaged);
        };
        let key = std::iter::once(&self.0.current)
            .chain(&self.0.previous)
            .find(|k| k.id == id)
            .ok_or_else(|| SecretError::UnknownKey(id.to_owned()))?;
        let nonce = hex::decode(nonce)
            .ok()
            .filter(|n| n.len() == 12)
            .ok_or(SecretError::Damaged)?;
        let sealed = hex::decode(sealed).map_err(|_| SecretError::Damaged)?;
        let plain = key
            .cipher
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &sealed,
                    aad: what.as_bytes(),
                },
            )
            .map_err(|_| SecretError::Damaged)?;
        String::from_utf8(plain).map_err(|_| SecretError::Damaged)
    }

    /// Whether `stored` is sealed with the current key (nothing to reseal).
    fn is_current(&self, stored: &str) -> bool {
        stored
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split(':').next())
            .is_some_and(|id| id == self.0.current.id)
    }

    /// Credentials as stored: every text value sealed under its field's
    /// name, the names left readable. An empty value holds no secret and
    /// stays empty, so the pages still count the field as not set.
    pub fn seal_credentials(&self, plain: &Map<String, Value>) -> String {
        let sealed: Map<String, Value> = plain
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) if !s.is_empty() => Value::String(self.seal(&field(k), s)),
                    other => other.clone(),
                };
                (k.clone(), v)
            })
            .collect();
        Value::Object(sealed).to_string()
    }

    /// Stored credentials opened: the JSON object with plain values. Text
    /// that is not a JSON object opens as no fields.
    pub fn open_credentials(&self, stored: &str) -> Result<Map<String, Value>, SecretError> {
        let Ok(Value::Object(map)) = serde_json::from_str::<Value>(stored) else {
            return Ok(Map::new());
        };
        map.into_iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => Value::String(self.open(&field(&k), &s)?),
                    other => other,
                };
                Ok((k, v))
            })
            .collect()
    }

    /// Whether every value of stored credentials is sealed with the
    /// current key.
    fn credentials_current(&self, stored: &str) -> bool {
        match serde_json::from_str::<Value>(stored) {
            Ok(Value::Object(map)) => map.values().all(|v| {
                v.as_str()
                    .is_none_or(|s| s.is_empty() || self.is_current(s))
            }),
            _ => true,
        }
    }
}

fn field(name: &str) -> String {
    format!("credentials.{name}")
}

/// What a `server_keys` row's value is bound to.
pub fn server_key_label(name: &str) -> String {
    format!("server_keys.{name}")
}

/// 32 random bytes: a new secret key.
pub fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).expect("the system's random source");
    key
}

/// Rewrites every stored secret that is not sealed with the keyring's
/// current key: values in plain text (older versions) and values sealed
/// with a previous key (rotation). One transaction: all or nothing.
/// Answers how many rows changed; a value sealed with a key the ring does
/// not hold stops it with [`SecretError::UnknownKey`], changing nothing.
pub async fn reseal(db: &Db, keys: &Keyring) -> Result<usize, ResealError> {
    let changed = in_tx!(db, |tx| {
        let accounts: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, credentials FROM provider_accounts ORDER BY id")
                .fetch_all(&mut *tx)
                .await?;
        let server_keys: Vec<(String, String)> =
            sqlx::query_as("SELECT name, value FROM server_keys ORDER BY name")
                .fetch_all(&mut *tx)
                .await?;
        let mut changed = 0;
        for (id, stored) in accounts {
            if keys.credentials_current(&stored) {
                continue;
            }
            let plain = keys.open_credentials(&stored)?;
            sqlx::query("UPDATE provider_accounts SET credentials = $1 WHERE id = $2")
                .bind(keys.seal_credentials(&plain))
                .bind(id)
                .execute(&mut *tx)
                .await?;
            changed += 1;
        }
        for (name, stored) in server_keys {
            if keys.is_current(&stored) {
                continue;
            }
            let label = server_key_label(&name);
            let plain = keys.open(&label, &stored)?;
            sqlx::query("UPDATE server_keys SET value = $1 WHERE name = $2")
                .bind(keys.seal(&label, &plain))
                .bind(&name)
                .execute(&mut *tx)
                .await?;
            changed += 1;
        }
        changed
    });
    Ok(changed)
}

/// Why [`reseal`] stopped.
#[derive(Debug)]
pub enum ResealError {
    Secret(SecretError),
    Storage(crate::Error),
}

impl std::fmt::Display for ResealError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResealError::Secret(e) => e.fmt(f),
            ResealError::Storage(e) => e.fmt(f),
        }
    }
}

impl From<SecretError> for ResealError {
    fn from(e: SecretError) -> Self {
        ResealError::Secret(e)
    }
}

impl From<sqlx::Error> for ResealError {
    fn from(e: sqlx::Error) -> Self {
        ResealError::Storage(e.into())
    }
}

/// Stored credentials' field names with a value (never the values), for
/// the pages: no key needed, since names are not sealed.
pub fn credential_fields(stored: &str) -> Vec<String> {
    match serde_json::from_str::<Value>(stored) {
        Ok(Value::Object(map)) => fields_set(&map).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// The names of the credential fields that hold a value (neither `null`
/// nor empty), sealed or opened alike.
pub fn fields_set(credentials: &Map<String, Value>) -> impl Iterator<Item = &str> {
    credentials
        .iter()
        .filter(|(_, v)| !v.is_null() && v.as_str() != Some(""))
        .map(|(k, _)| k.as_str())
}

/// Whether a stored value is sealed (not plain text).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_its_field() {
        let keys = Keyring::new(&[1u8; 32], &[]);
        let sealed = keys.seal("credentials.token", "rahasia");
        assert!(is_sealed(&sealed) && !sealed.contains("rahasia"));
        assert_ne!(
            sealed,
            keys.seal("credentials.token", "rahasia"),
            "fresh nonce"
        );
        assert_eq!(keys.open("credentials.token", &sealed).unwrap(), "rahasia");
        // Moved to another field, altered, or under another key: refused.
        assert_eq!(
            keys.open("credentials.password", &sealed),
            Err(SecretError::Damaged)
        );
        let mut altered = sealed.clone();
        altered.replace_range(altered.len() - 2.., "00");
        assert_eq!(
            keys.open("credentials.token", &altered),
            Err(SecretError::Damaged)
        );
        let other = Keyring::new(&[2u8; 32], &[]);
        assert_eq!(
            other.open("credentials.token", &sealed),
            Err(SecretError::UnknownKey(keys.current_id().to_owned()))
        );
        // Rotation: the old key still opens, the new one seals.
        let rotated = Keyring::new(&[2u8; 32], &[[1u8; 32]]);
        assert_eq!(
            rotated.open("credentials.token", &sealed).unwrap(),
            "rahasia"
        );
        assert!(!rotated.is_current(&sealed));
        assert!(rotated.is_current(&rotated.seal("x", "y")));
        // Plain text (an older version's) reads as is.
        assert_eq!(keys.open("credentials.token", "lama").unwrap(), "lama");
        assert!(!format!("{keys:?}").contains("0101"));
    }

    #[test]
    fn credentials_keep_their_names_readable_and_their_values_sealed() {
        let keys = Keyring::new(&[3u8; 32], &[]);
        let plain: Map<String, Value> =
            serde_json::from_str(r#"{"token": "rahasia", "api_version": "v21.0", "secret": ""}"#)
                .unwrap();
        let stored = keys.seal_credentials(&plain);
        assert!(!stored.contains("rahasia") && !stored.contains("v21.0"));
        // An empty field is still not set once stored, and needs no reseal.
        assert_eq!(credential_fields(&stored), ["api_version", "token"]);
        assert_eq!(keys.open_credentials(&stored).unwrap(), plain);
        assert!(keys.credentials_current(&stored));
        assert!(!keys.credentials_current(r#"{"token": "plain"}"#));
    }

    #[test]
    fn keys_are_64_hex_digits() {
        assert_eq!(
            parse_key(&format!("{}\n", "ab".repeat(32))).unwrap(),
            [0xab; 32]
        );
        assert!(parse_key("ab").is_err());
        assert!(parse_key(&"zz".repeat(32)).is_err());
    }
}
