//! Accounts and sessions: the account table (PostgreSQL), refresh-token families and
//! verification codes (Redis), the message sender, and rate limits.

pub mod limits;
pub mod messages;
pub mod repo;
pub mod sessions;
pub mod verifications;

use std::{sync::Arc, time::Duration};

use sqlx::PgPool;

use crate::domain::{jwt::TokenKeys, password};

/// Everything the account routes need.
#[derive(Debug, Clone)]
pub struct AccountsApi {
    pub pool: PgPool,
    pub tokens: Arc<TokenKeys>,
    pub sessions: sessions::Sessions,
    pub verifications: verifications::Verifications,
    pub limits: limits::Limits,
    pub sender: Arc<dyn messages::MessageSender>,
    /// Set only in development mode: `GET /v1/dev/messages` reads it.
    pub dev_outbox: Option<messages::DevOutbox>,
    /// Cookies carry `Secure` (off only for plain-HTTP development).
    pub secure_cookies: bool,
    pub refresh_ttl: Duration,
    /// Keys guest ids: the same phone is the same guest.
    pub guest_secret: Vec<u8>,
    pub password_cost: password::Cost,
}

impl AccountsApi {
    /// Hashes a new password on the blocking pool: at the OWASP cost a hash is tens of
    /// milliseconds of CPU, which would stall every request sharing the async worker.
    pub async fn hash_password(&self, password: &str) -> Result<String, crate::ApiError> {
        let (password, cost) = (password.to_owned(), self.password_cost);
        tokio::task::spawn_blocking(move || password::hash(&password, cost))
            .await
            .map_err(|e| crate::ApiError::internal(&e))?
            .map_err(|e| crate::ApiError::internal(&e))
    }
}
