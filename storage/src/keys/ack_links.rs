//! Signed acknowledgement links: `/ack/{key}.{user}.{expires}.{signature}`.
//!
//! `key` is the alert's random `ack_key` (links are written into messages
//! before the alert has an id), `user` who the link was made for, `expires`
//! Unix seconds. The signature is HMAC-SHA256 over the three with a key made
//! on first start and kept in `server_keys`, cut to 128 bits so the link fits
//! an SMS. A changed user, alert or expiry, or a made-up link, fails the
//! check; a link used again finds the alert already acknowledged and changes
//! nothing.

use crate::db::Db;
use base64::Engine;
use domain::UserId;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How long a link stays good. Each escalation step sends fresh links.
pub const LINK_TTL_MS: i64 = 3 * 24 * 3_600_000;

/// Signature bytes kept.
const SIG_BYTES: usize = 16;

#[derive(Clone)]
pub struct LinkKey(Vec<u8>);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(…)")
    }
}

/// What a valid link names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkClaim {
    pub ack_key: String,
    pub user_id: UserId,
    pub expires_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// Not a link this server made (or altered).
    Forged,
    Expired,
}

impl LinkKey {
    /// The key of `server_keys` row `ack_links`, made by whichever instance
    /// starts first; the others read the same one.
    pub async fn load_or_create(
        db: &Db,
        keys: &crate::secrets::Keyring,
        now: i64,
    ) -> Result<LinkKey, crate::Error> {
        let mut fresh = [0u8; 32];
        getrandom::fill(&mut fresh).map_err(|e| crate::error::internal("random key", &e))?;
        let bytes = crate::db::server_key(db, keys, "ack_links", &fresh, now).await?;
        Ok(LinkKey(bytes))
    }

    pub fn from_bytes(bytes: &[u8]) -> LinkKey {
        LinkKey(bytes.to_vec())
    }

    fn mac(&self, ack_key: &str, user_id: UserId, expires_s: i64) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("any key length");
        mac.update(format!("ack|{ack_key}|{user_id}|{expires_s}").as_bytes());
        mac
    }

    fn signature(&self, ack_key: &str, user_id: UserId, expires_s: i64) -> [u8; SIG_BYTES] {
        let full = self
            .mac(ack_key, user_id, expires_s)
            .finalize()
            .into_bytes();
        let mut out = [0u8; SIG_BYTES];
        out.copy_from_slice(&full[..SIG_BYTES]);
        out
    }

    /// The token for `user_id` to acknowledge the alert `ack_key`.
    pub fn sign(&self, ack_key: &str, user_id: UserId, now: i64) -> String {
        let expires_s = (now + LINK_TTL_MS) / 1000;
        let sig = self.signature(ack_key, user_id, expires_s);
        format!(
            "{ack_key}.{user_id}.{expires_s}.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig)
        )
    }

    /// The link's full address under `public_url`.
    pub fn link(&self, public_url: &str, ack_key: &str, user_id: UserId, now: i64) -> String {
        format!(
            "{}/ack/{}",
            public_url.trim_end_matches('/'),
            self.sign(ack_key, user_id, now)
        )
    }

    /// Checks a token: the signature first (in constant time), then the expiry.
    pub fn verify(&self, token: &str, now: i64) -> Result<LinkClaim, LinkError> {
        let mut parts = token.split('.');
        let (Some(key), Some(user), Some(exp), Some(sig), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(LinkError::Forged);
        };
        let (Ok(user_id), Ok(expires_s)) = (user.parse::<UserId>(), exp.parse::<i64>()) else {
            return Err(LinkError::Forged);
        };
        let Ok(given) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sig) else {
            return Err(LinkError::Forged);
        };
        // Compared in constant time (hmac's own check of a truncated tag).
        let same = given.len() == SIG_BYTES
            && self
                .mac(key, user_id, expires_s)
                .verify_truncated_left(&given)
                .is_ok();
        if !same {
            return Err(LinkError::Forged);
        }
        if expires_s.saturating_mul(1000) < now {
            return Err(LinkError::Expired);
        }
        Ok(LinkClaim {
            ack_key: key.to_owned(),
            user_id,
            expires_ms: expires_s * 1000,
        })
    }
}

/// A fresh random alert key (64 bits, hex): what links name.
pub fn new_ack_key() -> String {
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    hex::encode(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_link_verifies_until_it_expires() {
        let key = LinkKey::from_bytes(b"0123456789abcdef0123456789abcdef");
        let now = 1_800_000_000_000;
        let token = key.sign("a1b2c3d4e5f60718", UserId(7), now);
        let claim = key.verify(&token, now + 1000).expect("valid");
        assert_eq!(claim.ack_key, "a1b2c3d4e5f60718");
        assert_eq!(claim.user_id, UserId(7));
        assert_eq!(
            key.verify(&token, now + LINK_TTL_MS + 1000),
            Err(LinkError::Expired)
        );
        assert_eq!(
            key.link("https://notif.example/", "k", UserId(3), now),
            format!(
                "https://notif.example/ack/{}",
                key.sign("k", UserId(3), now)
            )
        );
    }

    #[test]
    fn altered_or_made_up_links_are_forged() {
        let key = LinkKey::from_bytes(b"secret-one");
        let now = 1_800_000_000_000;
        let token = key.sign("a1b2c3d4e5f60718", UserId(7), now);
        let parts: Vec<&str> = token.split('.').collect();
        // Another user, another alert, a later expiry: each breaks the signature.
        for altered in [
            format!("{}.8.{}.{}", parts[0], parts[2], parts[3]),
            format!("ffffffffffffffff.{}.{}.{}", parts[1], parts[2], parts[3]),
            format!(
                "{}.{}.{}.{}",
                parts[0],
                parts[1],
                parts[2].parse::<i64>().unwrap() + 86_400,
                parts[3]
            ),
            format!("{token}.x"),
            "garbage".to_owned(),
            format!("{}.{}.{}.", parts[0], parts[1], parts[2]),
        ] {
            assert_eq!(
                key.verify(&altered, now),
                Err(LinkError::Forged),
                "{altered}"
            );
        }
        // Another server's key.
        assert_eq!(
            LinkKey::from_bytes(b"secret-two").verify(&token, now),
            Err(LinkError::Forged)
        );
    }
}
