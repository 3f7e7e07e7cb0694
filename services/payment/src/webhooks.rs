//! Provider webhooks: verified on the exact raw body (HMAC, timestamp tolerance — see
//! `domain::webhook`), deduplicated by the provider's event id in the same transaction as their
//! effect, and applied only forward: a late "captured" after we settled, or a "cancelled" that
//! overtook a capture, changes nothing it should not.

use chrono::{DateTime, Utc};

use crate::{
    domain::payment::PaymentStatus,
    error::PaymentError,
    payments::{By, Outcome, Payments, record},
    provider::NoticeKind,
};

impl Payments {
    /// Applies a webhook; `Ok(true)` when it was a replay of one already applied.
    pub async fn handle_webhook(
        &self,
        provider: &str,
        raw_body: &[u8],
        signature: &str,
        timestamp: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, PaymentError> {
        if provider != self.provider().name() {
            return Err(PaymentError::invalid("provider", format!("unknown provider {provider:?}")));
        }
        let notice = self.provider().verify_webhook(raw_body, signature, timestamp, now)?;
        let mut tx = self.pool().begin().await?;
        let first =
            sqlx::query("INSERT INTO webhook_events (provider, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(provider)
                .bind(&notice.event_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
        if !first {
            return Ok(true);
        }
        let Some(mut payment) = record::find(&mut tx, By::Tid(&notice.tid), true).await? else {
            // Not ours (or not recorded yet): acknowledged so the provider stops; reconciliation
            // covers anything real.
            tracing::warn!(tid = %notice.tid, "webhook for an unknown transaction");
            tx.commit().await?;
            return Ok(false);
        };
        match notice.kind {
            NoticeKind::Captured { amount_minor } => {
                self.settle(&mut tx, &mut payment, &Outcome::Captured { amount_minor }, now).await?;
            }
            // The buyer cancelled at the provider's page; only an open, idle payment fails.
            NoticeKind::Cancelled if payment.status == PaymentStatus::Ready && payment.approving_since.is_none() => {
                self.settle(&mut tx, &mut payment, &Outcome::Declined { code: "CANCELLED_AT_PROVIDER".into() }, now)
                    .await?;
            }
            // Our refunds are recorded when we make them; the provider's echo confirms one.
            NoticeKind::Cancelled | NoticeKind::Refunded { .. } => {}
        }
        tx.commit().await?;
        Ok(false)
    }
}
