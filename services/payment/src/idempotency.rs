//! Idempotency keys, Stripe semantics: a key belongs to one caller and one operation; the first
//! request claims it (an `INSERT` on the primary key — two executions for one key are
//! impossible), its final outcome is stored and replayed to every retry, a concurrent duplicate
//! is told "in progress", and the same key with other parameters is refused. Transient failures
//! release the key so a retry runs again. Keys are pruned after [`RETENTION`].

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest as _, Sha256};
use sqlx::PgPool;

use crate::error::PaymentError;

/// How long a key is remembered.
pub const RETENTION: Duration = Duration::hours(24);
/// A claim older than this belongs to a request that died: the key may be claimed again.
const ABANDONED_AFTER: Duration = Duration::seconds(60);
const MAX_KEY_LEN: usize = 255;

/// A key's row: fingerprint, stored reply, stored failure (code, message), claim time.
type StoredKey = (Vec<u8>, Option<Vec<u8>>, Option<String>, Option<String>, Option<DateTime<Utc>>);

/// Who asked for what with which key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key<'a> {
    pub scope: &'a str,
    pub operation: &'static str,
    pub key: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Ours to execute.
    Fresh,
    /// Done before: the stored response.
    Replay(Vec<u8>),
    /// Failed before, for good: the stored failure (code, stable code, message).
    ReplayFailure { code: i32, stable: String, message: String },
}

/// The fingerprint of a request's parameters (without the key itself).
pub fn fingerprint(parameters: &[u8]) -> Vec<u8> {
    Sha256::digest(parameters).to_vec()
}

pub async fn claim(
    pool: &PgPool,
    key: &Key<'_>,
    fingerprint: &[u8],
    now: DateTime<Utc>,
) -> Result<Claim, PaymentError> {
    if key.key.is_empty() || key.key.len() > MAX_KEY_LEN || key.key.chars().any(char::is_control) {
        return Err(PaymentError::invalid("idempotency_key", "required: 1–255 printable characters"));
    }
    let mut tx = pool.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (scope, operation, key, fingerprint, locked_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT DO NOTHING",
    )
    .bind(key.scope)
    .bind(key.operation)
    .bind(key.key)
    .bind(fingerprint)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 1 {
        tx.commit().await?;
        return Ok(Claim::Fresh);
    }
    let (stored, response, error_code, error_message, locked_at): StoredKey = sqlx::query_as(
        "SELECT fingerprint, response, error_code, error_message, locked_at FROM idempotency_keys
         WHERE scope = $1 AND operation = $2 AND key = $3 FOR UPDATE",
    )
    .bind(key.scope)
    .bind(key.operation)
    .bind(key.key)
    .fetch_one(&mut *tx)
    .await?;
    if stored != fingerprint {
        return Err(PaymentError::KeyReused);
    }
    if let Some(response) = response {
        return Ok(Claim::Replay(response));
    }
    if let (Some(stable), Some(message)) = (error_code, error_message) {
        let (code, stable) =
            stable.split_once(' ').map_or((2, stable.clone()), |(c, s)| (c.parse().unwrap_or(2), s.to_owned()));
        return Ok(Claim::ReplayFailure { code, stable, message });
    }
    if locked_at.is_some_and(|at| now - at < ABANDONED_AFTER) {
        return Err(PaymentError::InProgress);
    }
    // The first request died mid-way: this one takes over.
    sqlx::query("UPDATE idempotency_keys SET locked_at = $4 WHERE scope = $1 AND operation = $2 AND key = $3")
        .bind(key.scope)
        .bind(key.operation)
        .bind(key.key)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Claim::Fresh)
}

/// Stores the outcome for replay (or releases the key after a transient failure).
pub async fn finish(pool: &PgPool, key: &Key<'_>, outcome: Result<&[u8], &PaymentError>) -> Result<(), PaymentError> {
    let (response, failure) = match outcome {
        Ok(response) => (Some(response.to_vec()), None),
        Err(error) if error.is_transient() => {
            sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND operation = $2 AND key = $3")
                .bind(key.scope)
                .bind(key.operation)
                .bind(key.key)
                .execute(pool)
                .await?;
            return Ok(());
        }
        Err(error) => {
            let (code, stable) = error.code();
            (None, Some((format!("{} {stable}", code as i32), error.to_string())))
        }
    };
    let (error_code, error_message) = failure.unzip();
    sqlx::query(
        "UPDATE idempotency_keys SET response = $4, error_code = $5, error_message = $6, locked_at = NULL
         WHERE scope = $1 AND operation = $2 AND key = $3",
    )
    .bind(key.scope)
    .bind(key.operation)
    .bind(key.key)
    .bind(response)
    .bind(error_code)
    .bind(error_message)
    .execute(pool)
    .await?;
    Ok(())
}

/// Forgets keys past their retention.
pub async fn prune(pool: &PgPool, now: DateTime<Utc>) -> Result<u64, PaymentError> {
    let pruned =
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1").bind(now - RETENTION).execute(pool).await?;
    Ok(pruned.rows_affected())
}
