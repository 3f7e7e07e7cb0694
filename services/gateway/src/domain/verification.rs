//! Phone verification codes: 6 digits, stored only as an HMAC (keyed by a server secret, bound to
//! the phone and purpose), valid for 5 minutes, 5 attempts. Sending a new code replaces the old
//! one, so only the latest code works.

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, KeyInit as _, Mac as _};
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

pub const LIFETIME: Duration = Duration::minutes(5);
pub const MAX_ATTEMPTS: u32 = 5;

/// What a code proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Signup,
    Guest,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Signup => "signup",
            Purpose::Guest => "guest",
        }
    }
}

/// An outstanding code, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    pub digest: String,
    pub expires_at: i64,
    pub attempts: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("no code was sent to this number, or it was already used")]
    NoCode,
    #[error("the code has expired; ask for a new one")]
    Expired,
    #[error("too many wrong codes; ask for a new one")]
    TooManyAttempts,
    #[error("the code is not right ({left} attempt(s) left)")]
    Wrong { left: u32 },
}

/// A fresh code and its challenge.
pub fn issue(secret: &[u8], phone: &str, purpose: Purpose, now: DateTime<Utc>) -> (String, Challenge) {
    let code = format!("{:06}", rand::rng().random_range(0..1_000_000));
    let challenge = Challenge {
        digest: digest(secret, phone, purpose, &code),
        expires_at: (now + LIFETIME).timestamp(),
        attempts: 0,
    };
    (code, challenge)
}

/// Checks `code`; on a wrong code the returned challenge counts the attempt.
pub fn check(
    secret: &[u8],
    phone: &str,
    purpose: Purpose,
    challenge: &Challenge,
    code: &str,
    now: DateTime<Utc>,
) -> Result<(), (CodeError, Option<Challenge>)> {
    if now.timestamp() > challenge.expires_at {
        return Err((CodeError::Expired, None));
    }
    if challenge.attempts >= MAX_ATTEMPTS {
        return Err((CodeError::TooManyAttempts, None));
    }
    let expected = hex::decode(&challenge.digest).unwrap_or_default();
    let mut mac = mac(secret, phone, purpose);
    mac.update(code.trim().as_bytes());
    if mac.verify_slice(&expected).is_ok() {
        return Ok(());
    }
    let counted = Challenge { attempts: challenge.attempts + 1, ..challenge.clone() };
    let left = MAX_ATTEMPTS - counted.attempts;
    Err((if left == 0 { CodeError::TooManyAttempts } else { CodeError::Wrong { left } }, Some(counted)))
}

fn mac(secret: &[u8], phone: &str, purpose: Purpose) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256>>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(format!("{}|{phone}|", purpose.as_str()).as_bytes());
    mac
}

fn digest(secret: &[u8], phone: &str, purpose: Purpose, code: &str) -> String {
    let mut mac = mac(secret, phone, purpose);
    mac.update(code.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"pepper";
    const PHONE: &str = "+821012345678";

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_900_000_000, 0).unwrap()
    }

    #[test]
    fn the_code_works_for_five_minutes_on_its_phone_and_purpose() {
        let (code, challenge) = issue(SECRET, PHONE, Purpose::Signup, now());
        assert_eq!(code.len(), 6);
        assert!(!challenge.digest.contains(&code), "stored hashed");
        assert_eq!(check(SECRET, PHONE, Purpose::Signup, &challenge, &code, now() + Duration::minutes(4)), Ok(()));
        assert_eq!(
            check(SECRET, PHONE, Purpose::Signup, &challenge, &code, now() + Duration::minutes(6)).unwrap_err().0,
            CodeError::Expired
        );
        assert!(check(SECRET, "+821099999999", Purpose::Signup, &challenge, &code, now()).is_err());
        assert!(check(SECRET, PHONE, Purpose::Guest, &challenge, &code, now()).is_err());
    }

    #[test]
    fn five_wrong_codes_lock_it() {
        let (code, mut challenge) = issue(SECRET, PHONE, Purpose::Guest, now());
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for left in (1..MAX_ATTEMPTS).rev() {
            let (error, counted) = check(SECRET, PHONE, Purpose::Guest, &challenge, wrong, now()).unwrap_err();
            assert_eq!(error, CodeError::Wrong { left });
            challenge = counted.unwrap();
        }
        let (error, counted) = check(SECRET, PHONE, Purpose::Guest, &challenge, wrong, now()).unwrap_err();
        assert_eq!(error, CodeError::TooManyAttempts);
        let locked = counted.unwrap();
        assert_eq!(
            check(SECRET, PHONE, Purpose::Guest, &locked, &code, now()).unwrap_err().0,
            CodeError::TooManyAttempts
        );
    }
}
