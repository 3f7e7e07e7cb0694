//! Provider webhook signatures: HMAC-SHA256 over `<timestamp>.<raw body>`, hex-encoded, checked in
//! constant time, and refused when the timestamp is more than five minutes from now (a captured
//! webhook cannot be replayed later; a replay inside the window is absorbed by event-id dedup).

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;

/// How far a webhook's timestamp may be from our clock.
pub const TOLERANCE_SECONDS: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the webhook timestamp is missing or not a number")]
    BadTimestamp,
    #[error("the webhook timestamp is more than {TOLERANCE_SECONDS} s from now")]
    Stale,
    #[error("the webhook signature does not match")]
    BadSignature,
}

/// The signature a provider sends with `body` at `timestamp` (unix seconds).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = mac(secret);
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks a webhook as received: the raw body bytes exactly, the timestamp and signature headers.
pub fn verify(
    secret: &[u8],
    timestamp: &str,
    body: &[u8],
    signature: &str,
    now: DateTime<Utc>,
) -> Result<(), WebhookError> {
    let at: i64 = timestamp.trim().parse().map_err(|_| WebhookError::BadTimestamp)?;
    if (now.timestamp() - at).abs() > TOLERANCE_SECONDS {
        return Err(WebhookError::Stale);
    }
    let expected = hex::decode(signature.trim()).map_err(|_| WebhookError::BadSignature)?;
    let mut mac = mac(secret);
    mac.update(format!("{at}.").as_bytes());
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&expected).map_err(|_| WebhookError::BadSignature)
}

fn mac(secret: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256>>::new_from_slice(secret).expect("HMAC takes keys of any length")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test";

    #[test]
    fn only_the_exact_body_at_a_recent_time_verifies() {
        let now = DateTime::from_timestamp(1_900_000_000, 0).unwrap();
        let body = br#"{"id":"ev1","type":"payment.captured","amount":1000}"#;
        let signature = sign(SECRET, now.timestamp(), body);
        assert_eq!(verify(SECRET, &now.timestamp().to_string(), body, &signature, now), Ok(()));
        // Re-serialized (same JSON, other bytes), other secret, stale or future timestamp.
        let reserialized = br#"{"id": "ev1", "type": "payment.captured", "amount": 1000}"#;
        assert_eq!(
            verify(SECRET, &now.timestamp().to_string(), reserialized, &signature, now),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify(b"other", &now.timestamp().to_string(), body, &signature, now),
            Err(WebhookError::BadSignature)
        );
        let later = now + chrono::Duration::seconds(301);
        assert_eq!(verify(SECRET, &now.timestamp().to_string(), body, &signature, later), Err(WebhookError::Stale));
        assert_eq!(verify(SECRET, "soon", body, &signature, now), Err(WebhookError::BadTimestamp));
        assert_eq!(verify(SECRET, &now.timestamp().to_string(), body, "zz", now), Err(WebhookError::BadSignature));
        // The timestamp is signed too: moving it forward breaks the signature.
        let moved = (now.timestamp() + 10).to_string();
        assert_eq!(verify(SECRET, &moved, body, &signature, now), Err(WebhookError::BadSignature));
    }
}
