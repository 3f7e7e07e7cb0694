//! Rate limits in Redis, shared by every gateway replica: a fixed window per (rule, key) — one
//! `INCR` and, for the window's first hit, one `PEXPIRE`, in one small script. Over the limit
//! answers when to retry.

use std::time::Duration;

use chrono::{DateTime, Utc};
use redis::{Script, aio::ConnectionManager};

/// Counts a hit; the window's first hit starts the counter's expiry. (Sent as `INCR` + `PEXPIRE`
/// on every hit, the per-address limit — every request of an on-sale — wrote two commands to the
/// append-only file per request; a dev Redis under rehearsals rewrote that file 24 times an hour.)
/// KEYS: counter   ARGV: window_ms
const HIT: &str = "local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n";

/// A limit: at most `max` hits per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub name: &'static str,
    pub max: u64,
    pub window: Duration,
}

/// Login attempts per account and per client address; signups and codes per address.
pub const LOGIN_PER_ACCOUNT: Rule = Rule { name: "login-account", max: 5, window: Duration::from_secs(60) };
pub const LOGIN_PER_IP: Rule = Rule { name: "login-ip", max: 30, window: Duration::from_secs(60) };
pub const CODES_PER_IP: Rule = Rule { name: "codes-ip", max: 20, window: Duration::from_secs(600) };

#[derive(Clone)]
pub struct Limits {
    redis: ConnectionManager,
    prefix: String,
    hit: Script,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl Limits {
    pub fn new(redis: ConnectionManager, prefix: &str) -> Self {
        Self { redis, prefix: format!("{prefix}gateway:rl:"), hit: Script::new(HIT) }
    }

    /// Counts a hit and refuses it with 429 + `Retry-After` when over the limit. A limiter that
    /// cannot count (Redis away) lets the request through rather than lock everyone out.
    pub async fn enforce(&self, rule: Rule, key: &str) -> Result<(), crate::ApiError> {
        match self.hit(rule, key, Utc::now()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(retry)) => Err(crate::ApiError::TooManyRequests { retry_after_seconds: retry.as_secs().max(1) }),
            Err(error) => {
                tracing::warn!(%error, rule = rule.name, "rate limiter unavailable");
                Ok(())
            }
        }
    }

    /// Counts a hit; `Err(retry_after)` when over the limit.
    pub async fn hit(
        &self,
        rule: Rule,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Duration>, redis::RedisError> {
        let window_ms = u64::try_from(rule.window.as_millis()).unwrap_or(u64::MAX).max(1);
        let now_ms = u64::try_from(now.timestamp_millis()).unwrap_or(0);
        let slot = now_ms / window_ms;
        let counter = format!("{}{}:{key}:{slot}", self.prefix, rule.name);
        let count: u64 = self.hit.key(&counter).arg(window_ms).invoke_async(&mut self.redis.clone()).await?;
        if count > rule.max {
            let retry_ms = (slot + 1) * window_ms - now_ms;
            return Ok(Err(Duration::from_millis(retry_ms.max(1000))));
        }
        Ok(Ok(()))
    }
}
