//! Access tokens: compact JWTs signed with Ed25519, checked strictly.
//!
//! One algorithm, fixed: a header must say `"alg":"EdDSA"` and `"typ":"at+jwt"` (RFC 9068), name
//! a known key id, and carry a valid strict Ed25519 signature before any claim is read. Then
//! issuer, audience, expiry and not-before are checked. `alg: none`, HS256 with the public key as
//! a secret (algorithm confusion), a refresh token or an admission token presented as an access
//! token, an unknown `kid`, oversized input — each fails with its own [`JwtError`].

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

/// Longer tokens are refused before decoding.
pub const MAX_TOKEN_LEN: usize = 4096;
const ALGORITHM: &str = "EdDSA";
const TYPE: &str = "at+jwt";
/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY: i64 = 30;
/// Tokens whose signature is remembered; past this the memory starts over.
const MAX_REMEMBERED: usize = 65_536;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Buyer,
    Guest,
    Operator,
    Admin,
}

/// What an access token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The account id, or the guest id for guests.
    pub sub: String,
    pub role: Role,
    /// Venues an operator manages (empty for everyone else).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub venues: Vec<String>,
    /// A guest's verified phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// A guest's email, for the confirmation (not verified; members' emails live in the account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    alg: String,
    typ: String,
    kid: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the token is longer than {MAX_TOKEN_LEN} bytes")]
    TooLong,
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's algorithm is not accepted")]
    Algorithm,
    #[error("the token is not an access token")]
    WrongType,
    #[error("the token was signed with an unknown key")]
    UnknownKey,
    #[error("the token's signature is not valid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued by someone else")]
    WrongIssuer,
    #[error("the token is meant for someone else")]
    WrongAudience,
}

/// Signs access tokens with the current key and verifies with every known one (rotation).
#[derive(Clone)]
pub struct TokenKeys {
    kid: String,
    signing: SigningKey,
    verifying: HashMap<String, VerifyingKey>,
    /// Claims whose signature was already checked, by the exact token text. A buyer's token comes
    /// back with every request of an on-sale, and checking its Ed25519 signature each time was a
    /// sixth of the gateway's CPU under the rehearsal's holds. Only what the signature vouches
    /// for is remembered: issuer, audience, expiry and not-before are checked on every call.
    verified: Arc<Mutex<HashMap<String, AccessClaims>>>,
    pub issuer: String,
    pub audience: String,
    pub ttl: Duration,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys").field("kid", &self.kid).field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

impl TokenKeys {
    pub fn new(kid: &str, secret: [u8; 32], issuer: &str, audience: &str, ttl: Duration) -> Self {
        let signing = SigningKey::from_bytes(&secret);
        let verifying = HashMap::from([(kid.to_owned(), signing.verifying_key())]);
        Self {
            kid: kid.to_owned(),
            signing,
            verifying,
            verified: Arc::default(),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl,
        }
    }

    /// Also accepts tokens signed by an older key (during a rotation).
    pub fn also_accept(mut self, kid: &str, key: VerifyingKey) -> Self {
        self.verifying.insert(kid.to_owned(), key);
        self.verified = Arc::default();
        self
    }

    /// Claims for `sub` valid from `now` for the configured lifetime.
    pub fn claims(&self, sub: &str, role: Role, now: DateTime<Utc>) -> AccessClaims {
        AccessClaims {
            sub: sub.to_owned(),
            role,
            venues: Vec::new(),
            phone: None,
            email: None,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: (now + self.ttl).timestamp(),
            jti: uuid::Uuid::now_v7().to_string(),
        }
    }

    pub fn issue(&self, claims: &AccessClaims) -> String {
        let header = Header { alg: ALGORITHM.into(), typ: TYPE.into(), kid: self.kid.clone() };
        let signed = format!("{}.{}", encode(&header), encode(claims));
        let signature = self.signing.sign(signed.as_bytes());
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }

    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<AccessClaims, JwtError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(JwtError::TooLong);
        }
        let remembered = self.verified.lock().unwrap_or_else(PoisonError::into_inner).get(token).cloned();
        let claims = match remembered {
            Some(claims) => claims,
            None => {
                let claims = self.signed_claims(token)?;
                let mut verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
                if verified.len() >= MAX_REMEMBERED {
                    verified.clear();
                }
                verified.insert(token.to_owned(), claims.clone());
                claims
            }
        };
        self.check(claims, now)
    }

    /// The claims of a well-formed token carrying a valid signature by one of our keys.
    fn signed_claims(&self, token: &str) -> Result<AccessClaims, JwtError> {
        let mut parts = token.split('.');
        let (Some(header_part), Some(claims_part), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed);
        };
        let header: Header = decode(header_part)?;
        if header.alg != ALGORITHM {
            return Err(JwtError::Algorithm);
        }
        if header.typ != TYPE {
            return Err(JwtError::WrongType);
        }
        let key = self.verifying.get(&header.kid).ok_or(JwtError::UnknownKey)?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| JwtError::Malformed)?;
        let signature = Signature::from_slice(&signature).map_err(|_| JwtError::Malformed)?;
        let signed = format!("{header_part}.{claims_part}");
        key.verify_strict(signed.as_bytes(), &signature).map_err(|_| JwtError::BadSignature)?;
        // Only now, signed by us, are the claims read.
        decode(claims_part)
    }

    fn check(&self, claims: AccessClaims, now: DateTime<Utc>) -> Result<AccessClaims, JwtError> {
        let now = now.timestamp();
        if claims.iss != self.issuer {
            return Err(JwtError::WrongIssuer);
        }
        if claims.aud != self.audience {
            return Err(JwtError::WrongAudience);
        }
        if now > claims.exp + LEEWAY {
            return Err(JwtError::Expired);
        }
        if now + LEEWAY < claims.nbf {
            return Err(JwtError::NotYetValid);
        }
        Ok(claims)
    }
}

fn decode<T: for<'de> Deserialize<'de>>(part: &str) -> Result<T, JwtError> {
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| JwtError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)
}

fn encode<T: Serialize>(value: &T) -> String {
    // Serialising these plain structs cannot fail.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use hmac::{Hmac, KeyInit as _, Mac as _};
    use proptest::prelude::*;
    use sha2::Sha256;

    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_900_000_000, 0).unwrap()
    }

    fn keys() -> TokenKeys {
        TokenKeys::new("a1", [1; 32], "https://floodgate.example", "floodgate-api", Duration::minutes(15))
    }

    fn part(json: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(json.to_string())
    }

    #[test]
    fn a_fresh_token_verifies_and_carries_its_claims() {
        let keys = keys();
        let claims = keys.claims("user-1", Role::Buyer, now());
        let token = keys.issue(&claims);
        assert_eq!(keys.verify(&token, now() + Duration::minutes(10)), Ok(claims));
        assert_eq!(keys.verify(&token, now() + Duration::minutes(16)), Err(JwtError::Expired));
    }

    #[test]
    fn a_remembered_signature_still_answers_to_the_clock_and_to_nothing_else() {
        let keys = keys();
        let claims = keys.claims("user-1", Role::Buyer, now());
        let token = keys.issue(&claims);
        assert_eq!(keys.verify(&token, now()), Ok(claims.clone()));
        assert!(keys.verified.lock().unwrap().contains_key(&token), "a verified token is remembered");
        // From memory: expiry and not-before are still checked.
        assert_eq!(keys.verify(&token, now() + Duration::minutes(16)), Err(JwtError::Expired));
        assert_eq!(keys.verify(&token, now() - Duration::minutes(5)), Err(JwtError::NotYetValid));
        // The same claims under a forged signature are not found in memory.
        let (signed, _) = token.rsplit_once('.').unwrap();
        let forged = format!("{signed}.{}", URL_SAFE_NO_PAD.encode([7u8; 64]));
        assert_eq!(keys.verify(&forged, now()), Err(JwtError::BadSignature));
        // A key added for a rotation starts a fresh memory.
        let rotated = keys.also_accept("a0", SigningKey::from_bytes(&[3; 32]).verifying_key());
        assert!(rotated.verified.lock().unwrap().is_empty());
        assert_eq!(rotated.verify(&token, now()), Ok(claims));
    }

    /// RELIABILITY.md C4: each attack fails, precisely.
    #[test]
    fn the_classic_attacks_fail() {
        let keys = keys();
        let claims = keys.claims("user-1", Role::Admin, now());
        let token = keys.issue(&claims);
        let (_, body) = token.split_once('.').unwrap();
        let body = body.split('.').next().unwrap();

        // alg: none, with and without a signature.
        let none = part(&serde_json::json!({"alg": "none", "typ": "at+jwt", "kid": "a1"}));
        assert_eq!(keys.verify(&format!("{none}.{body}."), now()), Err(JwtError::Algorithm));
        assert_eq!(keys.verify(&format!("{none}.{body}"), now()), Err(JwtError::Malformed));
        // Algorithm confusion: HS256 keyed with the public key.
        let hs = part(&serde_json::json!({"alg": "HS256", "typ": "at+jwt", "kid": "a1"}));
        let mut mac = <Hmac<Sha256>>::new_from_slice(&keys.signing.verifying_key().to_bytes()).unwrap();
        mac.update(format!("{hs}.{body}").as_bytes());
        let forged = format!("{hs}.{body}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()));
        assert_eq!(keys.verify(&forged, now()), Err(JwtError::Algorithm));
        // Another key, an unknown kid, another issuer or audience.
        let other = TokenKeys::new("a1", [2; 32], "https://floodgate.example", "floodgate-api", Duration::minutes(15));
        assert_eq!(keys.verify(&other.issue(&claims), now()), Err(JwtError::BadSignature));
        let stranger =
            TokenKeys::new("zz", [1; 32], "https://floodgate.example", "floodgate-api", Duration::minutes(15));
        assert_eq!(keys.verify(&stranger.issue(&claims), now()), Err(JwtError::UnknownKey));
        let elsewhere = AccessClaims { iss: "https://evil.example".into(), ..claims.clone() };
        assert_eq!(keys.verify(&keys.issue(&elsewhere), now()), Err(JwtError::WrongIssuer));
        let wrong_aud = AccessClaims { aud: "floodgate-admin".into(), ..claims.clone() };
        assert_eq!(keys.verify(&keys.issue(&wrong_aud), now()), Err(JwtError::WrongAudience));
        // A token of another type (a refresh token or an ID token dressed as a JWT).
        let refresh = part(&serde_json::json!({"alg": "EdDSA", "typ": "refresh+jwt", "kid": "a1"}));
        assert_eq!(keys.verify(&format!("{refresh}.{body}.x"), now()), Err(JwtError::WrongType));
        // An admission token, a random string, something huge.
        assert_eq!(keys.verify("v1.k1.Y2xhaW1z.c2ln", now()), Err(JwtError::Malformed));
        assert_eq!(keys.verify(&"a".repeat(5000), now()), Err(JwtError::TooLong));
        assert_eq!(keys.verify(&keys.issue(&claims), now() - Duration::minutes(5)), Err(JwtError::NotYetValid));
    }

    proptest! {
        /// Any flipped character fails (and never panics).
        #[test]
        fn tampering_fails(index in 0usize..600, replacement in proptest::char::range('-', 'z')) {
            let keys = keys();
            let token = keys.issue(&keys.claims("user-1", Role::Buyer, now()));
            let index = index % token.len();
            let mut chars: Vec<char> = token.chars().collect();
            prop_assume!(chars[index] != replacement);
            chars[index] = replacement;
            let tampered: String = chars.into_iter().collect();
            prop_assert!(keys.verify(&tampered, now()).is_err());
        }
    }
}
