//! Outstanding phone verification codes in Redis: one per (purpose, phone), expiring with the
//! code; a new code replaces the old one, and codes are sent at most every 30 seconds per phone.

use std::time::Duration;

use chrono::{DateTime, Utc};
use redis::{AsyncCommands as _, aio::ConnectionManager};

use crate::domain::verification::{self, Challenge, CodeError, Purpose};

/// The shortest time between two codes to one phone.
pub const RESEND_AFTER: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum VerificationError {
    #[error("a code was sent moments ago; try again in {0} s")]
    TooSoon(u64),
    #[error(transparent)]
    Code(#[from] CodeError),
    #[error("verification storage failed")]
    Redis(#[from] redis::RedisError),
}

#[derive(Clone)]
pub struct Verifications {
    redis: ConnectionManager,
    prefix: String,
    secret: Vec<u8>,
}

impl std::fmt::Debug for Verifications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifications").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl Verifications {
    pub fn new(redis: ConnectionManager, prefix: &str, secret: Vec<u8>) -> Self {
        Self { redis, prefix: format!("{prefix}gateway:"), secret }
    }

    fn key(&self, purpose: Purpose, phone: &str) -> String {
        format!("{}verify:{}:{phone}", self.prefix, purpose.as_str())
    }

    /// A new code for `phone` (replacing any earlier one); the caller sends it.
    pub async fn issue(&self, purpose: Purpose, phone: &str, now: DateTime<Utc>) -> Result<String, VerificationError> {
        let mut redis = self.redis.clone();
        let throttle = format!("{}verify-sent:{}:{phone}", self.prefix, purpose.as_str());
        let first: Option<String> = redis::cmd("SET")
            .arg(&throttle)
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(RESEND_AFTER.as_millis() as u64)
            .query_async(&mut redis)
            .await?;
        if first.is_none() {
            let left: i64 = redis.pttl(&throttle).await?;
            return Err(VerificationError::TooSoon(u64::try_from(left.max(1000) / 1000).unwrap_or(30)));
        }
        let (code, challenge) = verification::issue(&self.secret, phone, purpose, now);
        let ttl = verification::LIFETIME.num_milliseconds().max(1) as u64;
        let json = serde_json::to_string(&challenge).unwrap_or_default();
        let _: () = redis.pset_ex(self.key(purpose, phone), json, ttl).await?;
        Ok(code)
    }

    /// Checks (and on success consumes) the code.
    pub async fn confirm(
        &self,
        purpose: Purpose,
        phone: &str,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<(), VerificationError> {
        let mut redis = self.redis.clone();
        let key = self.key(purpose, phone);
        let stored: Option<String> = redis.get(&key).await?;
        let challenge: Challenge = stored.and_then(|s| serde_json::from_str(&s).ok()).ok_or(CodeError::NoCode)?;
        match verification::check(&self.secret, phone, purpose, &challenge, code, now) {
            Ok(()) => {
                let _: () = redis.del(&key).await?;
                Ok(())
            }
            Err((error, counted)) => {
                if let Some(counted) = counted {
                    let json = serde_json::to_string(&counted).unwrap_or_default();
                    let _: () = redis::cmd("SET").arg(&key).arg(json).arg("KEEPTTL").query_async(&mut redis).await?;
                }
                Err(error.into())
            }
        }
    }
}
