//! Signed ticket payloads for the QR code: a scanner checks them offline with the public key,
//! and `VerifyTicket` checks them again against the ticket's state (valid, admitted, cancelled,
//! reissued).
//!
//! Format: `t1.<key id>.<claims>.<signature>` (base64url, no padding), the claims being the
//! protobuf `TicketClaims`, the signature Ed25519 over `t1.<key id>.<claims>`. Nothing in the
//! payload picks the algorithm; a flipped byte anywhere fails.

use std::collections::HashMap;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use floodgate_proto::booking::v1::TicketClaims;
use prost::Message as _;

const VERSION: &str = "t1";
/// Payloads longer than this are refused before decoding (they are ~250 bytes).
pub const MAX_PAYLOAD_LEN: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub ticket_id: String,
    pub performance_id: String,
    pub seat_id: String,
    pub section_id: String,
    pub holder: String,
    pub version: u32,
    pub issued_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("the ticket payload is malformed or too long")]
    Malformed,
    #[error("the ticket was signed with an unknown key")]
    UnknownKey,
    #[error("the ticket's signature is not valid")]
    BadSignature,
}

/// Booking's ticket signing key; the secret never appears in `Debug`.
#[derive(Clone)]
pub struct TicketSigner {
    kid: String,
    key: SigningKey,
}

impl std::fmt::Debug for TicketSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TicketSigner").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl TicketSigner {
    pub fn new(kid: &str, secret: [u8; 32]) -> Self {
        Self { kid: kid.to_owned(), key: SigningKey::from_bytes(&secret) }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let wire = TicketClaims {
            ticket_id: claims.ticket_id.clone(),
            performance_id: claims.performance_id.clone(),
            seat_id: claims.seat_id.clone(),
            section_id: claims.section_id.clone(),
            holder: claims.holder.clone(),
            version: claims.version,
            issued_at: Some(prost_types::Timestamp {
                seconds: claims.issued_at.timestamp(),
                nanos: i32::try_from(claims.issued_at.timestamp_subsec_nanos()).unwrap_or(0),
            }),
        };
        let signed = format!("{VERSION}.{}.{}", self.kid, URL_SAFE_NO_PAD.encode(wire.encode_to_vec()));
        let signature = self.key.sign(signed.as_bytes());
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }

    /// A verifier for this key (scanners get the public key from `GetTicketKeys`).
    pub fn verifier(&self) -> TicketVerifier {
        TicketVerifier { keys: HashMap::from([(self.kid.clone(), self.key.verifying_key())]) }
    }
}

#[derive(Debug, Clone, Default)]
pub struct TicketVerifier {
    keys: HashMap<String, VerifyingKey>,
}

impl TicketVerifier {
    /// The claims of a genuine payload (state is checked by the caller).
    pub fn verify(&self, payload: &str) -> Result<Claims, PayloadError> {
        if payload.len() > MAX_PAYLOAD_LEN {
            return Err(PayloadError::Malformed);
        }
        let (signed, signature) = payload.rsplit_once('.').ok_or(PayloadError::Malformed)?;
        let mut parts = signed.split('.');
        let (Some(VERSION), Some(kid), Some(claims), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(PayloadError::Malformed);
        };
        let key = self.keys.get(kid).ok_or(PayloadError::UnknownKey)?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| PayloadError::Malformed)?;
        let signature = Signature::from_slice(&signature).map_err(|_| PayloadError::Malformed)?;
        key.verify_strict(signed.as_bytes(), &signature).map_err(|_| PayloadError::BadSignature)?;
        let bytes = URL_SAFE_NO_PAD.decode(claims).map_err(|_| PayloadError::Malformed)?;
        let wire = TicketClaims::decode(bytes.as_slice()).map_err(|_| PayloadError::Malformed)?;
        let issued = wire.issued_at.ok_or(PayloadError::Malformed)?;
        Ok(Claims {
            ticket_id: wire.ticket_id,
            performance_id: wire.performance_id,
            seat_id: wire.seat_id,
            section_id: wire.section_id,
            holder: wire.holder,
            version: wire.version,
            issued_at: DateTime::from_timestamp(issued.seconds, u32::try_from(issued.nanos).unwrap_or(0))
                .ok_or(PayloadError::Malformed)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn claims() -> Claims {
        Claims {
            ticket_id: "0193a0e0-0000-7000-8000-000000000001".into(),
            performance_id: "0193a0e0-0000-7000-8000-0000000000aa".into(),
            seat_id: "A-1-7".into(),
            section_id: "A".into(),
            holder: "user:42".into(),
            version: 1,
            issued_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        }
    }

    #[test]
    fn a_signed_ticket_verifies_and_another_key_does_not() {
        let signer = TicketSigner::new("t1", [3; 32]);
        let payload = signer.sign(&claims());
        assert_eq!(signer.verifier().verify(&payload), Ok(claims()));
        let other = TicketSigner::new("t1", [4; 32]);
        assert_eq!(other.verifier().verify(&payload), Err(PayloadError::BadSignature));
        assert_eq!(TicketSigner::new("t2", [3; 32]).verifier().verify(&payload), Err(PayloadError::UnknownKey));
    }

    proptest! {
        /// Any single flipped character is caught (C7).
        #[test]
        fn any_tampering_fails(index in 0usize..400, replacement in proptest::char::range('-', 'z')) {
            let signer = TicketSigner::new("t1", [3; 32]);
            let payload = signer.sign(&claims());
            let index = index % payload.len();
            let mut tampered: Vec<char> = payload.chars().collect();
            prop_assume!(tampered[index] != replacement);
            tampered[index] = replacement;
            let tampered: String = tampered.into_iter().collect();
            prop_assert!(signer.verifier().verify(&tampered).is_err());
        }
    }
}
