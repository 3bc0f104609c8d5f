//! Access tokens: HS256 JWTs naming the user (`sub`) and the session (`sid`).

use bson::oid::ObjectId;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum JwtError {
    Expired,
    Invalid,
}

#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub ttl_secs: i64,
}

/// The identity an access token carries, once its signature and expiry are checked.
#[derive(Debug, Clone, Copy)]
pub struct TokenIdentity {
    pub user_id: ObjectId,
    pub session_id: ObjectId,
}

impl JwtKeys {
    pub fn new(secret: &[u8], ttl_secs: i64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_secs,
        }
    }

    pub fn issue(&self, user_id: ObjectId, session_id: ObjectId) -> Result<String, String> {
        let now = chrono::Utc::now().timestamp();
        self.issue_for(user_id, session_id, now, now + self.ttl_secs)
    }

    /// A token issued at `iat` and valid until `exp` (Unix seconds) rather than for
    /// `ttl_secs` from now: a RealWorld token carries its session's start and expiry.
    pub fn issue_for(
        &self,
        user_id: ObjectId,
        session_id: ObjectId,
        iat: i64,
        exp: i64,
    ) -> Result<String, String> {
        let claims = Claims {
            sub: user_id.to_hex(),
            sid: session_id.to_hex(),
            iat,
            exp,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| e.to_string())
    }

    /// Checks signature, algorithm (so `alg: none` is refused), expiry and shape. A token
    /// issued in the future (clock games) is invalid too.
    pub fn verify(&self, token: &str) -> Result<TokenIdentity, JwtError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => JwtError::Expired,
                _ => JwtError::Invalid,
            })?;
        let claims = data.claims;
        if claims.iat > chrono::Utc::now().timestamp() + 60 {
            return Err(JwtError::Invalid);
        }
        let user_id = ObjectId::parse_str(&claims.sub).map_err(|_| JwtError::Invalid)?;
        let session_id = ObjectId::parse_str(&claims.sid).map_err(|_| JwtError::Invalid)?;
        Ok(TokenIdentity {
            user_id,
            session_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(ttl: i64) -> JwtKeys {
        JwtKeys::new(b"a-test-secret-of-at-least-32-bytes!!", ttl)
    }

    #[test]
    fn an_issued_token_verifies() {
        let (user, session) = (ObjectId::new(), ObjectId::new());
        let token = keys(60).issue(user, session).unwrap();
        let identity = keys(60).verify(&token).unwrap();
        assert_eq!(identity.user_id, user);
        assert_eq!(identity.session_id, session);
    }

    #[test]
    fn an_expired_token_is_reported_as_expired() {
        let token = keys(-10).issue(ObjectId::new(), ObjectId::new()).unwrap();
        assert_eq!(keys(60).verify(&token).unwrap_err(), JwtError::Expired);
    }

    #[test]
    fn a_token_signed_with_another_key_is_invalid() {
        let other = JwtKeys::new(b"another-secret-of-at-least-32-bytes!", 60);
        let token = other.issue(ObjectId::new(), ObjectId::new()).unwrap();
        assert_eq!(keys(60).verify(&token).unwrap_err(), JwtError::Invalid);
    }

    #[test]
    fn an_unsigned_token_is_invalid() {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let now = chrono::Utc::now().timestamp();
        let header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = b64.encode(
            format!(
                r#"{{"sub":"{}","sid":"{}","iat":{now},"exp":{}}}"#,
                ObjectId::new(),
                ObjectId::new(),
                now + 60
            )
            .as_bytes(),
        );
        let token = format!("{header}.{payload}.");
        assert_eq!(keys(60).verify(&token).unwrap_err(), JwtError::Invalid);
    }

    #[test]
    fn garbage_is_invalid() {
        assert_eq!(keys(60).verify("not.a.jwt").unwrap_err(), JwtError::Invalid);
        assert_eq!(keys(60).verify("").unwrap_err(), JwtError::Invalid);
    }
}
