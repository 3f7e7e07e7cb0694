//! The built-in simulated provider, KakaoPay-like. `ready` opens a transaction and returns its
//! checkout page (served by [`super::checkout`]); the buyer approves there and is sent back with
//! an approval token; `approve(tid, token)` captures what the buyer's page authorised. Its ledger
//! (`simulator.*` tables) is separate from payment's own and is what the money checks compare
//! against. Knobs make it decline, lag, or capture and then lose the reply.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng as _;
use secrecy::{ExposeSecret as _, SecretString};
use sqlx::PgPool;

use super::{Capture, Notice, NoticeKind, PaymentProvider, ProviderError, Ready, ReadyRequest, TransactionState};
use crate::domain::webhook;

/// Misbehaviour for tests and rehearsals.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Knobs {
    /// Share of buyer approvals the provider declines (0.0–1.0).
    pub decline_rate: f64,
    /// Added to every provider call.
    pub latency: Duration,
    /// Share of captures whose reply is lost after the money moved (the merchant sees a timeout).
    pub lost_reply_rate: f64,
}

#[derive(Debug, Clone)]
pub struct Simulator {
    pool: PgPool,
    /// Where the checkout page is reachable by buyers' browsers.
    public_url: String,
    webhook_secret: SecretString,
    knobs: Knobs,
}

/// What the buyer did at the checkout page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuyerChoice {
    /// Approve; `amount_minor` is what the page submitted (a tampered page can change it).
    Approve {
        amount_minor: Option<i64>,
    },
    Cancel,
}

/// Where the checkout page sends the browser next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect(pub String);

/// A transaction as its checkout page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutView {
    pub tid: String,
    pub partner_order: String,
    pub amount_minor: i64,
    pub currency: String,
    pub status: String,
}

impl Simulator {
    pub fn new(pool: PgPool, public_url: &str, webhook_secret: SecretString, knobs: Knobs) -> Self {
        Self { pool, public_url: public_url.trim_end_matches('/').to_owned(), webhook_secret, knobs }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn webhook_secret(&self) -> &[u8] {
        self.webhook_secret.expose_secret().as_bytes()
    }

    async fn lag(&self) {
        if !self.knobs.latency.is_zero() {
            tokio::time::sleep(self.knobs.latency).await;
        }
    }

    pub async fn view(&self, tid: &str) -> Result<CheckoutView, ProviderError> {
        let row: Option<(String, i64, String, String)> = sqlx::query_as(
            "SELECT partner_order, amount_minor, currency, status FROM simulator.transactions WHERE tid = $1",
        )
        .bind(tid)
        .fetch_optional(&self.pool)
        .await?;
        let (partner_order, amount_minor, currency, status) =
            row.ok_or_else(|| ProviderError::UnknownTransaction(tid.to_owned()))?;
        Ok(CheckoutView { tid: tid.to_owned(), partner_order, amount_minor, currency, status })
    }

    /// The buyer's click at the checkout page.
    pub async fn choose(&self, tid: &str, choice: BuyerChoice) -> Result<Redirect, ProviderError> {
        let mut tx = self.pool.begin().await?;
        let row: Option<(String, i64, String, String, String)> = sqlx::query_as(
            "SELECT status, amount_minor, approve_url, cancel_url, fail_url FROM simulator.transactions
             WHERE tid = $1 FOR UPDATE",
        )
        .bind(tid)
        .fetch_optional(&mut *tx)
        .await?;
        let (status, amount, approve_url, cancel_url, fail_url) =
            row.ok_or_else(|| ProviderError::UnknownTransaction(tid.to_owned()))?;
        if status != "READY" {
            return Err(ProviderError::Refused(format!("transaction is {status}")));
        }
        let redirect = match choice {
            BuyerChoice::Cancel => {
                self.set_status(&mut tx, tid, "CANCELLED").await?;
                self.queue_webhook(&mut tx, tid, "payment.cancelled", None, None).await?;
                with_query(&cancel_url, &[("tid", tid)])
            }
            BuyerChoice::Approve { .. } if rand::rng().random_bool(self.knobs.decline_rate.clamp(0.0, 1.0)) => {
                self.set_status(&mut tx, tid, "DECLINED").await?;
                with_query(&fail_url, &[("tid", tid), ("code", "DECLINED")])
            }
            BuyerChoice::Approve { amount_minor } => {
                let token = format!("pg_{}", uuid::Uuid::new_v4().simple());
                sqlx::query(
                    "UPDATE simulator.transactions SET status = 'AUTHORIZED', approval_token = $2, authorized_minor = $3
                     WHERE tid = $1",
                )
                .bind(tid)
                .bind(&token)
                .bind(amount_minor.unwrap_or(amount))
                .execute(&mut *tx)
                .await?;
                with_query(&approve_url, &[("tid", tid), ("pg_token", &token)])
            }
        };
        tx.commit().await?;
        Ok(Redirect(redirect))
    }

    async fn set_status(&self, tx: &mut sqlx::PgConnection, tid: &str, status: &str) -> Result<(), ProviderError> {
        sqlx::query("UPDATE simulator.transactions SET status = $2 WHERE tid = $1")
            .bind(tid)
            .bind(status)
            .execute(tx)
            .await?;
        Ok(())
    }

    /// Records a webhook the sender will deliver.
    async fn queue_webhook(
        &self,
        tx: &mut sqlx::PgConnection,
        tid: &str,
        kind: &str,
        amount_minor: Option<i64>,
        refund_id: Option<&str>,
    ) -> Result<(), ProviderError> {
        let id = format!("evt_{}", uuid::Uuid::now_v7().simple());
        let body = serde_json::json!({
            "id": id,
            "type": kind,
            "tid": tid,
            "amount_minor": amount_minor,
            "refund_id": refund_id,
        });
        sqlx::query("INSERT INTO simulator.webhooks (id, tid, body) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(tid)
            .bind(body.to_string().into_bytes())
            .execute(tx)
            .await?;
        Ok(())
    }

    /// The signature headers for a webhook body sent at `now`.
    pub fn sign(&self, body: &[u8], now: DateTime<Utc>) -> (String, String) {
        (now.timestamp().to_string(), webhook::sign(self.webhook_secret(), now.timestamp(), body))
    }
}

/// Appends query parameters to a merchant URL that may already have some.
fn with_query(url: &str, params: &[(&str, &str)]) -> String {
    let mut out = url.to_owned();
    for (i, (k, v)) in params.iter().enumerate() {
        let sep = if i == 0 && !url.contains('?') { '?' } else { '&' };
        out.push(sep);
        out.push_str(k);
        out.push('=');
        out.push_str(&encode(v));
    }
    out
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tonic::async_trait]
impl PaymentProvider for Simulator {
    fn name(&self) -> &'static str {
        "simulated"
    }

    async fn ready(&self, request: &ReadyRequest) -> Result<Ready, ProviderError> {
        self.lag().await;
        let tid = format!("T{}", uuid::Uuid::now_v7().simple());
        sqlx::query(
            "INSERT INTO simulator.transactions (tid, partner_order, currency, amount_minor, status, approve_url,
                                                 cancel_url, fail_url)
             VALUES ($1, $2, $3, $4, 'READY', $5, $6, $7)",
        )
        .bind(&tid)
        .bind(&request.partner_order)
        .bind(&request.currency)
        .bind(request.amount_minor)
        .bind(&request.approve_url)
        .bind(&request.cancel_url)
        .bind(&request.fail_url)
        .execute(&self.pool)
        .await?;
        Ok(Ready { redirect_url: format!("{}/checkout/{tid}", self.public_url), tid })
    }

    async fn approve(&self, tid: &str, approval_token: &str) -> Result<Capture, ProviderError> {
        self.lag().await;
        let mut tx = self.pool.begin().await?;
        let row: Option<(String, Option<String>, Option<i64>, i64)> = sqlx::query_as(
            "SELECT status, approval_token, authorized_minor, captured_minor FROM simulator.transactions
             WHERE tid = $1 FOR UPDATE",
        )
        .bind(tid)
        .fetch_optional(&mut *tx)
        .await?;
        let (status, token, authorized, captured) =
            row.ok_or_else(|| ProviderError::UnknownTransaction(tid.to_owned()))?;
        // Approving a captured transaction again reports the capture: approve is idempotent.
        if status == "CAPTURED" && token.as_deref() == Some(approval_token) {
            return Ok(Capture::Captured { amount_minor: captured });
        }
        if status != "AUTHORIZED" || token.as_deref() != Some(approval_token) {
            return Ok(Capture::Declined {
                code: if status == "DECLINED" { "DECLINED" } else { "INVALID_TOKEN" }.into(),
            });
        }
        let amount = authorized.unwrap_or(0);
        sqlx::query(
            "UPDATE simulator.transactions SET status = 'CAPTURED', captured_minor = $2, captured_at = now() WHERE tid = $1",
        )
        .bind(tid)
        .bind(amount)
        .execute(&mut *tx)
        .await?;
        self.queue_webhook(&mut tx, tid, "payment.captured", Some(amount), None).await?;
        tx.commit().await?;
        if rand::rng().random_bool(self.knobs.lost_reply_rate.clamp(0.0, 1.0)) {
            // The money moved; the merchant never hears it.
            return Err(ProviderError::Timeout);
        }
        Ok(Capture::Captured { amount_minor: amount })
    }

    async fn cancel(&self, tid: &str) -> Result<(), ProviderError> {
        self.lag().await;
        let mut tx = self.pool.begin().await?;
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM simulator.transactions WHERE tid = $1 FOR UPDATE")
                .bind(tid)
                .fetch_optional(&mut *tx)
                .await?;
        match status.as_deref() {
            None => return Err(ProviderError::UnknownTransaction(tid.to_owned())),
            Some("READY" | "AUTHORIZED") => {
                self.set_status(&mut tx, tid, "CANCELLED").await?;
                self.queue_webhook(&mut tx, tid, "payment.cancelled", None, None).await?;
            }
            Some("CAPTURED") => return Err(ProviderError::Refused("captured: refund instead".into())),
            Some(_) => {}
        }
        tx.commit().await?;
        Ok(())
    }

    async fn refund(&self, tid: &str, refund_id: &str, amount_minor: i64) -> Result<(), ProviderError> {
        self.lag().await;
        let mut tx = self.pool.begin().await?;
        let row: Option<(String, i64, i64)> = sqlx::query_as(
            "SELECT status, captured_minor, refunded_minor FROM simulator.transactions WHERE tid = $1 FOR UPDATE",
        )
        .bind(tid)
        .fetch_optional(&mut *tx)
        .await?;
        let (status, captured, refunded) = row.ok_or_else(|| ProviderError::UnknownTransaction(tid.to_owned()))?;
        let inserted = sqlx::query(
            "INSERT INTO simulator.refunds (refund_id, tid, amount_minor) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(refund_id)
        .bind(tid)
        .bind(amount_minor)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Ok(()); // The same refund again: already done.
        }
        if status != "CAPTURED" || refunded + amount_minor > captured || amount_minor <= 0 {
            return Err(ProviderError::Refused(format!(
                "cannot refund {amount_minor} of {captured} ({refunded} refunded)"
            )));
        }
        sqlx::query("UPDATE simulator.transactions SET refunded_minor = refunded_minor + $2 WHERE tid = $1")
            .bind(tid)
            .bind(amount_minor)
            .execute(&mut *tx)
            .await?;
        self.queue_webhook(&mut tx, tid, "refund.succeeded", Some(amount_minor), Some(refund_id)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn status(&self, tid: &str) -> Result<TransactionState, ProviderError> {
        self.lag().await;
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT status, captured_minor FROM simulator.transactions WHERE tid = $1")
                .bind(tid)
                .fetch_optional(&self.pool)
                .await?;
        let (status, captured) = row.ok_or_else(|| ProviderError::UnknownTransaction(tid.to_owned()))?;
        Ok(match status.as_str() {
            "CAPTURED" => TransactionState::Captured { amount_minor: captured },
            "CANCELLED" => TransactionState::Cancelled,
            "DECLINED" => TransactionState::Declined,
            _ => TransactionState::Open,
        })
    }

    fn verify_webhook(
        &self,
        raw_body: &[u8],
        signature: &str,
        timestamp: &str,
        now: DateTime<Utc>,
    ) -> Result<Notice, ProviderError> {
        webhook::verify(self.webhook_secret(), timestamp, raw_body, signature, now)?;
        let body: serde_json::Value = serde_json::from_slice(raw_body).map_err(|_| ProviderError::MalformedWebhook)?;
        let text = |name: &str| body.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        let amount = body.get("amount_minor").and_then(serde_json::Value::as_i64);
        let kind = match (text("type").as_deref(), amount) {
            (Some("payment.captured"), Some(amount_minor)) => NoticeKind::Captured { amount_minor },
            (Some("payment.cancelled"), _) => NoticeKind::Cancelled,
            (Some("refund.succeeded"), Some(amount_minor)) => {
                NoticeKind::Refunded { refund_id: text("refund_id").unwrap_or_default(), amount_minor }
            }
            _ => return Err(ProviderError::MalformedWebhook),
        };
        Ok(Notice {
            event_id: text("id").ok_or(ProviderError::MalformedWebhook)?,
            tid: text("tid").ok_or(ProviderError::MalformedWebhook)?,
            kind,
        })
    }
}
