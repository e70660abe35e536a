//! Authentication: Supabase-style JWTs (HS256 with a shared secret) verified into
//! [`Claims`] or refused with an [`AuthError`]. Pure: tokens in, claims out; no HTTP
//! (the extractors that call it live in `http::auth`).
//!
//! The algorithm is pinned to HS256: a token whose header names another algorithm
//! (including `none`) is refused before its signature is looked at.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The audience of user tokens (Supabase's).
pub const AUDIENCE: &str = "authenticated";
/// The only database role a user token may ask for.
pub const USER_ROLE: &str = "authenticated";
/// Clock skew tolerated on `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 30;
/// The development secret used when `JWT_SECRET` is not set.
pub const DEV_SECRET: &str = "helpcenter-development-secret-do-not-use-in-production";

/// What a profile may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Sees and changes only their own tickets.
    Customer,
    /// Support staff: sees every ticket.
    Agent,
    /// Staff with the same ticket rights as agents.
    Admin,
}

impl Role {
    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "customer" => Some(Role::Customer),
            "agent" => Some(Role::Agent),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Agent => "agent",
            Role::Admin => "admin",
        }
    }

    /// Agents and admins.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Agent | Role::Admin)
    }
}

/// The verified claims of a user token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    /// The user's id (profile id).
    pub sub: Uuid,
    /// The database role to assume; always `authenticated` once verified.
    pub role: String,
    /// Audience; `authenticated`.
    pub aud: serde_json::Value,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Issued at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// The user's email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Every other claim (Supabase adds `app_metadata`, `session_id`, …), kept so that
    /// `auth.jwt()` in the database sees the whole verified token.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Claims {
    /// The JSON handed to PostgreSQL as `request.jwt.claims`.
    pub fn to_db_json(&self) -> String {
        // Serializing a struct of strings and numbers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Why a token was refused. The text is safe to show to the client.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization` header.
    #[error("missing bearer token")]
    Missing,
    /// The header is not `Bearer <token>`.
    #[error("the Authorization header must be `Bearer <token>`")]
    Malformed,
    /// Expired.
    #[error("the token has expired")]
    Expired,
    /// Signature, algorithm, audience, timing or claims are wrong.
    #[error("invalid token: {0}")]
    Invalid(String),
}

/// Signing and verification keys with the pinned validation rules.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(..)")
    }
}

impl JwtKeys {
    /// Keys for the shared HS256 `secret`.
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "sub", "aud"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Verifies `token` and returns its claims.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        use jsonwebtoken::errors::ErrorKind;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                ErrorKind::ImmatureSignature => AuthError::Invalid("not valid yet".into()),
                ErrorKind::InvalidAudience => AuthError::Invalid("wrong audience".into()),
                ErrorKind::InvalidSignature => AuthError::Invalid("bad signature".into()),
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    AuthError::Invalid("algorithm must be HS256".into())
                }
                ErrorKind::MissingRequiredClaim(c) => {
                    AuthError::Invalid(format!("missing claim `{c}`"))
                }
                ErrorKind::Json(_) => AuthError::Invalid("malformed claims".into()),
                _ => AuthError::Invalid("malformed token".into()),
            })?;
        let claims = data.claims;
        if claims.role != USER_ROLE {
            return Err(AuthError::Invalid(format!(
                "role must be `{USER_ROLE}`, got `{}`",
                claims.role
            )));
        }
        Ok(claims)
    }

    /// Mints a user token for `sub` valid for `ttl_secs`.
    pub fn mint(&self, sub: Uuid, email: Option<&str>, ttl_secs: u64) -> String {
        let now = now_secs();
        let claims = Claims {
            sub,
            role: USER_ROLE.into(),
            aud: serde_json::Value::String(AUDIENCE.into()),
            exp: now + ttl_secs,
            iat: Some(now),
            email: email.map(str::to_string),
            extra: serde_json::Map::new(),
        };
        self.sign(&claims)
    }

    /// Signs arbitrary claims with HS256 (tests and tools).
    pub fn sign<T: Serialize>(&self, claims: &T) -> String {
        // HMAC signing of serializable claims does not fail.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .unwrap_or_default()
    }
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Parses `1h`, `30m`, `45s`, `2d` or plain seconds.
pub fn parse_ttl(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("expected e.g. 1h, 30m or 3600, got {s:?}"))?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("unknown unit {unit:?}; use s, m, h or d")),
    };
    n.checked_mul(mult)
        .filter(|&v| v > 0)
        .ok_or_else(|| format!("ttl must be positive and reasonable, got {s:?}"))
}

/// The token of an `Authorization` header's value: `Bearer <token>` (either case of
/// the scheme), trimmed and not empty.
pub fn bearer_token(header_value: Option<&[u8]>) -> Result<&str, AuthError> {
    let value = header_value.ok_or(AuthError::Missing)?;
    let value = std::str::from_utf8(value).map_err(|_| AuthError::Malformed)?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(AuthError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_verify_and_others_do_not() {
        let keys = JwtKeys::new(b"secret");
        let sub = Uuid::new_v4();
        let token = keys.mint(sub, Some("a@example.com"), 60);
        let claims = keys.verify(&token).unwrap();
        assert_eq!(claims.sub, sub);
        assert!(JwtKeys::new(b"other").verify(&token).is_err());
        assert!(keys.verify("not.a.token").is_err());
    }

    #[test]
    fn unknown_claims_reach_the_database() {
        let keys = JwtKeys::new(b"secret");
        let sub = Uuid::new_v4();
        let token = keys.sign(&serde_json::json!({
            "sub": sub, "role": "authenticated", "aud": "authenticated",
            "exp": now_secs() + 60, "app_metadata": {"plan": "pro"}
        }));
        let claims = keys.verify(&token).unwrap();
        let db: serde_json::Value = serde_json::from_str(&claims.to_db_json()).unwrap();
        assert_eq!(db["app_metadata"]["plan"], "pro");
        assert_eq!(db["sub"], sub.to_string());
    }

    #[test]
    fn ttl_parses_units() {
        assert_eq!(parse_ttl("1h"), Ok(3600));
        assert_eq!(parse_ttl("90"), Ok(90));
        assert_eq!(parse_ttl("2d"), Ok(172_800));
        assert!(parse_ttl("0s").is_err());
        assert!(parse_ttl("1y").is_err());
    }
}
