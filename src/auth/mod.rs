//! Authentication: Supabase-style JWTs verified into [`Claims`] or refused with an
//! [`AuthError`], by the issuer's asymmetric keys (`jwks.rs`: ES256, RS256, EdDSA from
//! a JWKS URL or file, cached) and/or the legacy shared HS256 secret. Pure: tokens in,
//! claims out; no HTTP server (the extractors that call it live in `http::auth`).
//!
//! The algorithm is the key's: HS256 for the shared secret, the JWK's own for a public
//! key. A token whose header names another (including `none`) is refused.

pub mod jwks;
pub mod keys;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};

use self::jwks::JwksCache;
use self::keys::{KeyLookup, KeySet, Signer};
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
    /// The keys to verify with are not at hand (the issuer's key set was never fetched,
    /// or too long ago): the token may well be good; 503, not 401.
    #[error("cannot verify tokens now: {0}")]
    Unavailable(String),
}

/// How tokens are verified (and, for tools and tests, signed): the legacy shared HS256
/// secret, an issuer's JWKS, or both during a migration.
///
/// A token's header decides only which path is tried: `HS*` goes to the shared secret
/// (refused when none is configured), anything else to the key its `kid` names in the
/// JWKS, verified with that key's own algorithm (refused if the header names another).
pub struct JwtKeys {
    hs256: Option<DecodingKey>,
    jwks: Option<Arc<JwksCache>>,
    issuer: Option<String>,
    signer: Option<Signer>,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(..)")
    }
}

/// The validation rules every token passes: audience, `exp`/`sub`/`aud` required,
/// `exp` and `nbf` with the leeway, the issuer when one is configured.
fn validation(alg: Algorithm, issuer: Option<&str>) -> Validation {
    let mut validation = Validation::new(alg);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "sub", "aud"]);
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.leeway = LEEWAY_SECS;
    if let Some(iss) = issuer {
        validation.set_issuer(&[iss]);
    }
    validation
}

impl JwtKeys {
    /// The shared HS256 `secret` alone (signs and verifies).
    pub fn new(secret: &[u8]) -> Self {
        JwtKeys {
            hs256: Some(DecodingKey::from_secret(secret)),
            jwks: None,
            issuer: None,
            signer: Some(Signer::hs256(secret)),
        }
    }

    /// Verification by an issuer's key set, with the legacy secret too when given
    /// (without it, HS256 tokens are refused); `iss` must be `issuer` when given.
    pub fn with_jwks(jwks: Arc<JwksCache>, secret: Option<&[u8]>, issuer: Option<String>) -> Self {
        JwtKeys {
            hs256: secret.map(DecodingKey::from_secret),
            jwks: Some(jwks),
            issuer,
            signer: secret.map(Signer::hs256),
        }
    }

    /// Signs minted tokens with `signer` instead (an asymmetric key: tools and tests).
    pub fn signing_with(mut self, signer: Signer) -> Self {
        self.signer = Some(signer);
        self
    }

    /// The key set, when tokens are verified by one.
    pub fn jwks(&self) -> Option<&Arc<JwksCache>> {
        self.jwks.as_ref()
    }

    /// Whether HS256 tokens (the shared secret) are accepted.
    pub fn accepts_hs256(&self) -> bool {
        self.hs256.is_some()
    }

    /// The `iss` tokens must carry, if checked.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// Verifies `token` with the keys at hand, without fetching the key set (an unknown
    /// `kid` is refused).
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        match self.route(token)? {
            Route::SharedSecret => self.verify_hs256(token),
            Route::KeySet(jwks, kid) => {
                let keys = jwks.current().ok_or_else(unavailable)?;
                self.verify_with(&keys, kid.as_deref(), token)
            }
        }
    }

    /// Verifies `token`, fetching the key set again first when its `kid` is new (at
    /// most once every 30 s). What request extractors call.
    pub async fn verify_fetching(&self, token: &str) -> Result<Claims, AuthError> {
        match self.route(token)? {
            Route::SharedSecret => self.verify_hs256(token),
            Route::KeySet(jwks, kid) => {
                let keys = jwks
                    .keys_for(kid.as_deref())
                    .await
                    .ok_or_else(unavailable)?;
                self.verify_with(&keys, kid.as_deref(), token)
            }
        }
    }

    /// Which keys a token goes to, by its header: the shared secret for `HS*`, the key
    /// set (and the `kid`) for anything else.
    fn route(&self, token: &str) -> Result<Route<'_>, AuthError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| AuthError::Invalid("malformed token".into()))?;
        if is_hmac(header.alg) {
            return Ok(Route::SharedSecret);
        }
        let jwks = self
            .jwks
            .as_ref()
            .ok_or_else(|| AuthError::Invalid("algorithm must be HS256".into()))?;
        Ok(Route::KeySet(jwks, header.kid))
    }

    fn verify_hs256(&self, token: &str) -> Result<Claims, AuthError> {
        let key = self.hs256.as_ref().ok_or_else(|| {
            AuthError::Invalid(
                "HS256 tokens are not accepted: tokens are verified with the issuer's public keys"
                    .into(),
            )
        })?;
        decode(
            token,
            key,
            &validation(Algorithm::HS256, self.issuer.as_deref()),
        )
    }

    fn verify_with(
        &self,
        keys: &KeySet,
        kid: Option<&str>,
        token: &str,
    ) -> Result<Claims, AuthError> {
        let key = keys.find(kid).map_err(|e| {
            AuthError::Invalid(match e {
                KeyLookup::UnknownKid => "the token's key (kid) is not in the key set".into(),
                KeyLookup::NoKid => "the token names no key (kid) and there are several".into(),
            })
        })?;
        decode(
            token,
            &key.key,
            &validation(key.alg, self.issuer.as_deref()),
        )
    }

    /// Mints a user token for `sub` valid for `ttl_secs`.
    pub fn mint(&self, sub: Uuid, email: Option<&str>, ttl_secs: u64) -> String {
        self.mint_with_segments(sub, email, ttl_secs, &[])
    }

    /// [`Self::mint`] with `app_metadata.segments` (the knowledge base's audiences a
    /// customer belongs to), as a Supabase server would write them.
    pub fn mint_with_segments(
        &self,
        sub: Uuid,
        email: Option<&str>,
        ttl_secs: u64,
        segments: &[String],
    ) -> String {
        let now = now_secs();
        let claims = Claims {
            sub,
            role: USER_ROLE.into(),
            aud: serde_json::Value::String(AUDIENCE.into()),
            exp: now + ttl_secs,
            iat: Some(now),
            email: email.map(str::to_string),
            extra: self
                .issuer
                .as_ref()
                .map(|iss| {
                    let mut m = serde_json::Map::new();
                    m.insert("iss".into(), iss.clone().into());
                    m
                })
                .unwrap_or_default(),
        };
        let mut claims = claims;
        if !segments.is_empty() {
            claims.extra.insert(
                "app_metadata".into(),
                serde_json::json!({ "segments": segments }),
            );
        }
        self.sign(&claims)
    }

    /// Signs arbitrary claims with the signer (tests and tools); empty without one.
    pub fn sign<T: Serialize>(&self, claims: &T) -> String {
        let Some(signer) = &self.signer else {
            return String::new();
        };
        let mut header = Header::new(signer.alg);
        header.kid = signer.kid.clone();
        jsonwebtoken::encode(&header, claims, &signer.key).unwrap_or_default()
    }
}

/// Where a token is verified (see [`JwtKeys::route`]).
enum Route<'a> {
    SharedSecret,
    KeySet(&'a Arc<JwksCache>, Option<String>),
}

fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

fn unavailable() -> AuthError {
    AuthError::Unavailable("the token issuer's keys have not been fetched yet".into())
}

fn decode(token: &str, key: &DecodingKey, validation: &Validation) -> Result<Claims, AuthError> {
    use jsonwebtoken::errors::ErrorKind;
    let data =
        jsonwebtoken::decode::<Claims>(token, key, validation).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => AuthError::Expired,
            ErrorKind::ImmatureSignature => AuthError::Invalid("not valid yet".into()),
            ErrorKind::InvalidAudience => AuthError::Invalid("wrong audience".into()),
            ErrorKind::InvalidIssuer => AuthError::Invalid("wrong issuer".into()),
            ErrorKind::InvalidSignature => AuthError::Invalid("bad signature".into()),
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                AuthError::Invalid(format!(
                    "algorithm must be {:?} for this key",
                    validation.algorithms[0]
                ))
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
