//! Public keys from a JSON Web Key Set, each with the one algorithm it verifies, and the
//! private keys `helpcenter keys generate` writes and `helpcenter token` signs with.
//!
//! The algorithm of a key comes from the key itself (`kty`, `crv`, and `alg` when
//! present, which must agree), never from a token's header: a token whose header names
//! another algorithm than its key's is refused by the verifier.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

/// One public key of the set.
pub struct VerifyingKey {
    /// Its `kid`, if it has one.
    pub kid: Option<String>,
    /// The one algorithm it verifies.
    pub alg: Algorithm,
    pub(super) key: DecodingKey,
}

/// The public keys of a JWKS that can verify signatures.
#[derive(Default)]
pub struct KeySet {
    keys: Vec<VerifyingKey>,
    /// Keys left out (symmetric, encryption-only, unknown curves), with why.
    pub skipped: Vec<String>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.keys.iter().map(|k| (&k.kid, k.alg)))
            .finish()
    }
}

/// The algorithm a key verifies, from its type and curve; `alg`, when the key states
/// one, must be that algorithm (or, for RSA, one of its family's).
fn algorithm_of(jwk: &Jwk) -> Result<Algorithm, String> {
    let stated = jwk.common.key_algorithm;
    let from_key = match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Algorithm::ES256,
            EllipticCurve::P384 => Algorithm::ES384,
            ref other => return Err(format!("unsupported curve {other:?}")),
        },
        AlgorithmParameters::RSA(_) => match stated {
            Some(KeyAlgorithm::RS384) => Algorithm::RS384,
            Some(KeyAlgorithm::RS512) => Algorithm::RS512,
            Some(KeyAlgorithm::PS256) => Algorithm::PS256,
            Some(KeyAlgorithm::PS384) => Algorithm::PS384,
            Some(KeyAlgorithm::PS512) => Algorithm::PS512,
            _ => Algorithm::RS256,
        },
        AlgorithmParameters::OctetKeyPair(okp) => match okp.curve {
            EllipticCurve::Ed25519 => Algorithm::EdDSA,
            ref other => return Err(format!("unsupported curve {other:?}")),
        },
        AlgorithmParameters::OctetKey(_) => {
            return Err("a symmetric key (kty oct) is never taken from a key set".into())
        }
        _ => return Err("unknown key type".into()),
    };
    if let Some(stated) = stated {
        let agrees = format!("{stated:?}") == format!("{from_key:?}");
        if !agrees {
            return Err(format!(
                "alg {stated:?} does not match the key ({from_key:?})"
            ));
        }
    }
    Ok(from_key)
}

impl KeySet {
    /// Parses a JWKS document (`{"keys": [...]}`). Keys that cannot verify signatures
    /// here are skipped and listed; a document that is not a key set is an error.
    pub fn from_json(bytes: &[u8]) -> Result<KeySet, String> {
        let set: JwkSet =
            serde_json::from_slice(bytes).map_err(|e| format!("not a JSON Web Key Set: {e}"))?;
        let mut out = KeySet::default();
        for jwk in &set.keys {
            let kid = jwk.common.key_id.clone();
            let name = kid.clone().unwrap_or_else(|| "(no kid)".into());
            if matches!(
                jwk.common.public_key_use,
                Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
            ) {
                out.skipped.push(format!("{name}: an encryption key"));
                continue;
            }
            let alg = match algorithm_of(jwk) {
                Ok(alg) => alg,
                Err(why) => {
                    out.skipped.push(format!("{name}: {why}"));
                    continue;
                }
            };
            match DecodingKey::from_jwk(jwk) {
                Ok(key) => out.keys.push(VerifyingKey { kid, alg, key }),
                Err(e) => out.skipped.push(format!("{name}: {e}")),
            }
        }
        Ok(out)
    }

    /// The key a token's `kid` names; without a `kid`, the only key (several keys and
    /// no `kid` is refused: which one was meant cannot be known).
    pub fn find(&self, kid: Option<&str>) -> Result<&VerifyingKey, KeyLookup> {
        match kid {
            Some(kid) => self
                .keys
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid))
                .ok_or(KeyLookup::UnknownKid),
            None if self.keys.len() == 1 => Ok(&self.keys[0]),
            None => Err(KeyLookup::NoKid),
        }
    }

    /// Whether a key has this `kid`.
    pub fn has(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// `(kid, algorithm)` of each key, for the status endpoint.
    pub fn summary(&self) -> Vec<(Option<String>, Algorithm)> {
        self.keys.iter().map(|k| (k.kid.clone(), k.alg)).collect()
    }

    /// How many keys can verify.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key can verify.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Why no key was found for a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyLookup {
    /// The `kid` is not in the set (maybe a new key: the set may be fetched again).
    UnknownKid,
    /// The token has no `kid` and the set has several keys.
    NoKid,
}

/// A PEM parser for one algorithm's private keys.
type ParsePem = (
    Algorithm,
    fn(&[u8]) -> jsonwebtoken::errors::Result<EncodingKey>,
);

/// A private key that signs tokens (`helpcenter token --key`, tests).
pub struct Signer {
    /// The algorithm it signs with.
    pub alg: Algorithm,
    /// The `kid` put in the tokens' header.
    pub kid: Option<String>,
    pub(super) key: EncodingKey,
}

impl Signer {
    /// A signer from a PEM private key (PKCS#8 EC P-256, RSA, or Ed25519), with the
    /// algorithm its type implies.
    pub fn from_pem(pem: &[u8], kid: Option<String>) -> Result<Signer, String> {
        let text = String::from_utf8_lossy(pem);
        let parsers: [ParsePem; 3] = [
            (Algorithm::ES256, EncodingKey::from_ec_pem),
            (Algorithm::RS256, EncodingKey::from_rsa_pem),
            (Algorithm::EdDSA, EncodingKey::from_ed_pem),
        ];
        // A PKCS#1 RSA key says so; anything else is tried as EC first.
        let first = usize::from(text.contains("RSA PRIVATE KEY"));
        for i in (first..parsers.len()).chain(0..first) {
            let (alg, parse) = parsers[i];
            if let Ok(key) = parse(pem) {
                return Ok(Signer { alg, kid, key });
            }
        }
        Err("not a PEM private key of EC P-256, RSA or Ed25519".into())
    }

    /// An HS256 signer for a shared secret.
    pub fn hs256(secret: &[u8]) -> Signer {
        Signer {
            alg: Algorithm::HS256,
            kid: None,
            key: EncodingKey::from_secret(secret),
        }
    }
}

/// A new ES256 key pair: the private key as PKCS#8 PEM, and the public key as a JWK
/// (with `kid`, `alg` and `use`).
pub fn generate_es256(kid: &str) -> Result<(String, serde_json::Value), String> {
    use p256::pkcs8::{EncodePrivateKey, LineEnding};
    let secret = p256::SecretKey::random(&mut rand_core::OsRng);
    let pem = secret
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| format!("cannot encode the private key: {e}"))?
        .to_string();
    let public = secret.public_key().to_jwk_string();
    let mut jwk: serde_json::Value =
        serde_json::from_str(&public).map_err(|e| format!("cannot encode the public key: {e}"))?;
    jwk["kid"] = kid.into();
    jwk["alg"] = "ES256".into();
    jwk["use"] = "sig".into();
    Ok((pem, jwk))
}
