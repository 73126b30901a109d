//! The server's VAPID key (RFC 8292): a P-256 key pair made on first start and
//! kept in `server_keys` (row `vapid`), so every instance signs with the same
//! key and subscriptions outlive restarts. Browsers subscribe with its public
//! half; each push carries a short-lived ES256 token signed with the private
//! half, which never leaves the server.

use crate::db::Db;
use crate::error::internal;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};

#[derive(Clone)]
pub struct VapidKey {
    signing: SigningKey,
    /// The uncompressed public point, base64url: the browsers'
    /// `applicationServerKey` and the `k=` of every push.
    public: String,
}

impl std::fmt::Debug for VapidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VapidKey({})", self.public)
    }
}

impl VapidKey {
    /// The key in `server_keys`, made by whichever instance asks first.
    pub async fn load_or_create(
        db: &Db,
        keys: &crate::secrets::Keyring,
        now: i64,
    ) -> Result<VapidKey, crate::Error> {
        let fresh = loop {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).map_err(|e| internal("random key", &e))?;
            // Almost every 32-byte string is a valid scalar; retry the rest.
            if SigningKey::from_slice(&bytes).is_ok() {
                break bytes;
            }
        };
        let bytes = crate::db::server_key(db, keys, "vapid", &fresh, now).await?;
        let signing =
            SigningKey::from_slice(&bytes).map_err(|e| internal("server_keys.vapid", &e))?;
        Ok(Self::from_signing(signing))
    }

    fn from_signing(signing: SigningKey) -> VapidKey {
        let point = signing.verifying_key().to_encoded_point(false);
        VapidKey {
            public: URL_SAFE_NO_PAD.encode(point.as_bytes()),
            signing,
        }
    }

    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// The `Authorization` header of a push to a push service at `audience`
    /// (the endpoint's origin, port included), valid until `expires_s`
    /// (Unix seconds; RFC 8292 allows at most 24 hours ahead).
    pub fn authorization(&self, audience: &str, subject: &str, expires_s: i64) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({ "aud": audience, "exp": expires_s, "sub": subject });
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signed = format!("{header}.{claims}");
        let signature: Signature = self.signing.sign(signed.as_bytes());
        let token = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()));
        format!("vapid t={token}, k={}", self.public)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::VerifyingKey;

    #[test]
    fn the_token_is_an_es256_jwt_that_the_public_key_verifies() {
        let key = VapidKey::from_signing(SigningKey::from_slice(&[7u8; 32]).unwrap());
        let header = key.authorization(
            "https://push.example",
            "mailto:noc@isp.example",
            1_900_000_000,
        );
        let rest = header.strip_prefix("vapid t=").unwrap();
        let (token, k) = rest.split_once(", k=").unwrap();
        assert_eq!(k, key.public_key());
        let public = URL_SAFE_NO_PAD.decode(k).unwrap();
        assert_eq!(public.len(), 65, "an uncompressed P-256 point");
        let (signed, sig) = token.rsplit_once('.').unwrap();
        let (_, claims) = signed.split_once('.').unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
        assert_eq!(claims["aud"], "https://push.example");
        assert_eq!(claims["sub"], "mailto:noc@isp.example");
        assert_eq!(claims["exp"], 1_900_000_000);
        let verifying = VerifyingKey::from_sec1_bytes(&public).unwrap();
        let sig = Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap()).unwrap();
        assert!(verifying.verify(signed.as_bytes(), &sig).is_ok());
        assert!(verifying.verify(b"something else", &sig).is_err());
    }
}
