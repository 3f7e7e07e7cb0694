//! Admission tokens: proof that a buyer came through the waiting room of a sale.
//!
//! The waiting room signs a token when it admits a buyer; the gateway and booking verify it on
//! every hold and checkout with the public key alone — no Redis round-trip. A token is
//! `v1.<key id>.<claims>.<signature>` (base64url, no padding): the claims are the protobuf
//! `floodgate.queue.v1.AdmissionClaims` (token id, sale, buyer, issued/expiry times) and the
//! signature is Ed25519 over `v1.<key id>.<claims>`. One algorithm, fixed: nothing in the token
//! can choose how it is verified. Key ids allow rotation (verify with old and new keys).
//!
//! Verification rejects anything forged, expired, for another sale or another buyer, signed with
//! an unknown key, or oversized, each with its own [`TokenError`].

use std::collections::HashMap;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use floodgate_proto::queue::v1::AdmissionClaims;
use prost::Message as _;
use uuid::Uuid;

const VERSION: &str = "v1";
/// Tokens longer than this are refused before any decoding (they are ~200 bytes).
pub const MAX_TOKEN_LEN: usize = 1024;
const MAX_KID_LEN: usize = 32;

/// What a token grants: `buyer_id` may shop `sale_id` until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub token_id: Uuid,
    pub sale_id: String,
    pub buyer_id: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl Claims {
    /// Claims for a buyer admitted at `now`, valid for `ttl`.
    pub fn admit(sale_id: &str, buyer_id: &str, now: DateTime<Utc>, ttl: Duration) -> Self {
        Self {
            token_id: Uuid::now_v7(),
            sale_id: sale_id.to_owned(),
            buyer_id: buyer_id.to_owned(),
            issued_at: now,
            expires_at: now + ttl,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the admission token is longer than {MAX_TOKEN_LEN} bytes")]
    TooLong,
    #[error("the admission token is malformed")]
    Malformed,
    #[error("the admission token was signed with an unknown key {kid:?}")]
    UnknownKey { kid: String },
    #[error("the admission token's signature is not valid")]
    BadSignature,
    #[error("the admission token expired at {expired_at}")]
    Expired { expired_at: DateTime<Utc> },
    #[error("the admission token is not valid yet")]
    NotYetValid,
    #[error("the admission token is for another sale")]
    WrongSale,
    #[error("the admission token is for another buyer")]
    WrongBuyer,
}

/// The waiting room's signing key. Its secret never appears in `Debug`.
#[derive(Clone)]
pub struct AdmissionKey {
    kid: String,
    signing: SigningKey,
}

impl std::fmt::Debug for AdmissionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdmissionKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("a key id must be 1–{MAX_KID_LEN} characters of A–Z, a–z, 0–9, '-' or '_'")]
    BadKeyId,
    #[error("a key is 32 bytes, got {0}")]
    BadLength(usize),
    #[error("not a valid Ed25519 public key")]
    BadPublicKey,
}

impl AdmissionKey {
    /// A fresh random key.
    pub fn generate(kid: &str) -> Result<Self, KeyError> {
        Self::from_secret(kid, &rand::random::<[u8; 32]>())
    }

    /// A key from its 32-byte secret (from configuration).
    pub fn from_secret(kid: &str, secret: &[u8]) -> Result<Self, KeyError> {
        check_kid(kid)?;
        let secret: [u8; 32] = secret.try_into().map_err(|_| KeyError::BadLength(secret.len()))?;
        Ok(Self { kid: kid.to_owned(), signing: SigningKey::from_bytes(&secret) })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half, for verifiers.
    pub fn public(&self) -> PublicKey {
        PublicKey { kid: self.kid.clone(), key: self.signing.verifying_key() }
    }

    /// Signs `claims` into a token.
    pub fn issue(&self, claims: &Claims) -> String {
        let wire = AdmissionClaims {
            token_id: claims.token_id.to_string(),
            sale_id: claims.sale_id.clone(),
            buyer_id: claims.buyer_id.clone(),
            issued_at: Some(timestamp(claims.issued_at)),
            expires_at: Some(timestamp(claims.expires_at)),
        };
        let signed = format!("{VERSION}.{}.{}", self.kid, URL_SAFE_NO_PAD.encode(wire.encode_to_vec()));
        let signature = self.signing.sign(signed.as_bytes());
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }
}

/// A verifier's view of a signing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub kid: String,
    pub key: VerifyingKey,
}

impl PublicKey {
    pub fn from_bytes(kid: &str, bytes: &[u8]) -> Result<Self, KeyError> {
        check_kid(kid)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| KeyError::BadLength(bytes.len()))?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::BadPublicKey)?;
        Ok(Self { kid: kid.to_owned(), key })
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }
}

/// Checks tokens against a set of public keys (old and new during a rotation).
#[derive(Debug, Clone, Default)]
pub struct Verifier {
    keys: HashMap<String, VerifyingKey>,
    /// Clock skew tolerated between the waiting room and the verifier.
    leeway: Duration,
}

impl Verifier {
    pub fn new(keys: impl IntoIterator<Item = PublicKey>) -> Self {
        Self { keys: keys.into_iter().map(|k| (k.kid, k.key)).collect(), leeway: Duration::seconds(5) }
    }

    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The claims of `token` if it is genuine, current, and for this sale and buyer.
    pub fn verify(&self, token: &str, sale_id: &str, buyer_id: &str, now: DateTime<Utc>) -> Result<Claims, TokenError> {
        let claims = self.verify_signature(token)?;
        self.check(&claims, sale_id, buyer_id, now)?;
        Ok(claims)
    }

    /// Whether genuine `claims` (from [`Self::verify_signature`], perhaps remembered) are current
    /// and for this sale and buyer.
    pub fn check(&self, claims: &Claims, sale_id: &str, buyer_id: &str, now: DateTime<Utc>) -> Result<(), TokenError> {
        if now > claims.expires_at + self.leeway {
            return Err(TokenError::Expired { expired_at: claims.expires_at });
        }
        if now + self.leeway < claims.issued_at {
            return Err(TokenError::NotYetValid);
        }
        if claims.sale_id != sale_id {
            return Err(TokenError::WrongSale);
        }
        if claims.buyer_id != buyer_id {
            return Err(TokenError::WrongBuyer);
        }
        Ok(())
    }

    /// The claims of a genuine token, without checking time, sale or buyer.
    pub fn verify_signature(&self, token: &str) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::TooLong);
        }
        let (signed, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let mut parts = signed.split('.');
        let (Some(VERSION), Some(kid), Some(claims), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let key = self.keys.get(kid).ok_or_else(|| TokenError::UnknownKey { kid: kid.to_owned() })?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| TokenError::Malformed)?;
        let signature = Signature::from_slice(&signature).map_err(|_| TokenError::Malformed)?;
        // Strict verification: no malleable signatures, no small-order keys.
        key.verify_strict(signed.as_bytes(), &signature).map_err(|_| TokenError::BadSignature)?;

        // Only now, signed by us, is the payload decoded.
        let bytes = URL_SAFE_NO_PAD.decode(claims).map_err(|_| TokenError::Malformed)?;
        let wire = AdmissionClaims::decode(bytes.as_slice()).map_err(|_| TokenError::Malformed)?;
        Ok(Claims {
            token_id: Uuid::parse_str(&wire.token_id).map_err(|_| TokenError::Malformed)?,
            sale_id: wire.sale_id,
            buyer_id: wire.buyer_id,
            issued_at: wire.issued_at.as_ref().and_then(from_timestamp).ok_or(TokenError::Malformed)?,
            expires_at: wire.expires_at.as_ref().and_then(from_timestamp).ok_or(TokenError::Malformed)?,
        })
    }
}

fn check_kid(kid: &str) -> Result<(), KeyError> {
    let ok = !kid.is_empty()
        && kid.len() <= MAX_KID_LEN
        && kid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok { Ok(()) } else { Err(KeyError::BadKeyId) }
}

fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: t.timestamp(), nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0) }
}

fn from_timestamp(t: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).expect("time")
    }

    fn setup() -> (AdmissionKey, Verifier, Claims) {
        let key = AdmissionKey::from_secret("2026-11", &[7; 32]).expect("key");
        let verifier = Verifier::new([key.public()]);
        let claims = Claims::admit("sale-1", "buyer-1", now(), Duration::minutes(10));
        (key, verifier, claims)
    }

    #[test]
    fn a_genuine_token_verifies_for_its_sale_and_buyer() {
        let (key, verifier, claims) = setup();
        let token = key.issue(&claims);
        assert!(token.len() < 300, "compact: {} bytes", token.len());
        assert_eq!(verifier.verify(&token, "sale-1", "buyer-1", now() + Duration::minutes(9)), Ok(claims));
    }

    #[test]
    fn every_way_of_misusing_a_token_is_refused_precisely() {
        let (key, verifier, claims) = setup();
        let token = key.issue(&claims);
        let at = now() + Duration::minutes(1);
        assert_eq!(verifier.verify(&token, "sale-2", "buyer-1", at), Err(TokenError::WrongSale));
        assert_eq!(verifier.verify(&token, "sale-1", "buyer-2", at), Err(TokenError::WrongBuyer));
        assert_eq!(
            verifier.verify(&token, "sale-1", "buyer-1", now() + Duration::minutes(11)),
            Err(TokenError::Expired { expired_at: claims.expires_at })
        );
        assert_eq!(
            verifier.verify(&token, "sale-1", "buyer-1", now() - Duration::minutes(1)),
            Err(TokenError::NotYetValid)
        );

        // Signed by a different key under the same key id: a forgery.
        let forger = AdmissionKey::from_secret("2026-11", &[8; 32]).expect("key");
        assert_eq!(verifier.verify(&forger.issue(&claims), "sale-1", "buyer-1", at), Err(TokenError::BadSignature));
        // Signed by a key the verifier does not know.
        let stranger = AdmissionKey::from_secret("other", &[9; 32]).expect("key");
        assert_eq!(
            verifier.verify(&stranger.issue(&claims), "sale-1", "buyer-1", at),
            Err(TokenError::UnknownKey { kid: "other".into() })
        );
        // Claims swapped from another token keep the first token's signature: refused.
        let other = key.issue(&Claims::admit("sale-1", "buyer-2", now(), Duration::minutes(10)));
        let (head, _) = token.rsplit_once('.').expect("signature");
        let (_, other_signature) = other.rsplit_once('.').expect("signature");
        assert_eq!(
            verifier.verify(&format!("{head}.{other_signature}"), "sale-1", "buyer-1", at),
            Err(TokenError::BadSignature)
        );

        assert_eq!(verifier.verify(&"a".repeat(MAX_TOKEN_LEN + 1), "sale-1", "buyer-1", at), Err(TokenError::TooLong));
        for garbage in ["", "v1", "v1.2026-11.x", "v2.2026-11.AAAA.AAAA", "v1.2026-11.!!!.@@@", "v1.a.b.c.d"] {
            assert!(verifier.verify(garbage, "sale-1", "buyer-1", at).is_err(), "{garbage:?}");
        }
    }

    #[test]
    fn rotation_verifies_tokens_of_the_old_and_the_new_key() {
        let old = AdmissionKey::from_secret("old", &[1; 32]).expect("key");
        let new = AdmissionKey::from_secret("new", &[2; 32]).expect("key");
        let verifier = Verifier::new([old.public(), new.public()]);
        let claims = Claims::admit("s", "b", now(), Duration::minutes(5));
        for key in [&old, &new] {
            assert!(verifier.verify(&key.issue(&claims), "s", "b", now()).is_ok());
        }
        let public = PublicKey::from_bytes("new", &new.public().to_bytes()).expect("round trip");
        assert_eq!(public, new.public());
    }

    #[test]
    fn secrets_stay_out_of_debug_and_key_ids_are_checked() {
        let key = AdmissionKey::from_secret("k1", &[3; 32]).expect("key");
        assert!(!format!("{key:?}").contains("3, 3"));
        assert_eq!(AdmissionKey::from_secret("k 1", &[3; 32]).err(), Some(KeyError::BadKeyId));
        assert_eq!(AdmissionKey::from_secret("k1", &[3; 31]).err(), Some(KeyError::BadLength(31)));
    }

    proptest! {
        #[test]
        fn changing_any_character_of_a_token_makes_it_invalid(index in 0usize..400, replacement in "[A-Za-z0-9_.-]") {
            let (key, verifier, claims) = setup();
            let token = key.issue(&claims);
            let index = index % token.len();
            let mut tampered = token.clone();
            tampered.replace_range(index..=index, &replacement);
            prop_assume!(tampered != token);
            prop_assert!(verifier.verify(&tampered, "sale-1", "buyer-1", now()).is_err());
        }

        #[test]
        fn arbitrary_input_never_panics(input in ".{0,1100}") {
            let (_, verifier, _) = setup();
            let _ = verifier.verify(&input, "sale-1", "buyer-1", now());
        }
    }
}
