//! Payment's background work, every tick, safe with several replicas: carry out pending refunds,
//! settle payments stuck approving by asking the provider, forget old idempotency keys and
//! webhook ids. Also the in-process webhook sink the simulated provider delivers to.

use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::{error::PaymentError, idempotency, payments::Payments, provider::sender::WebhookSink};

#[derive(Debug, Clone)]
pub struct Reconciler {
    pub payments: Payments,
    pub tick: Duration,
}

impl Reconciler {
    pub async fn run(self, stop: CancellationToken) -> Result<(), PaymentError> {
        floodgate_runtime::ticker::every(self.tick, stop, "payment reconciliation", || self.round()).await;
        Ok(())
    }

    /// One pass; returns how many refunds and stuck payments it settled.
    pub async fn round(&self) -> Result<usize, PaymentError> {
        let now = Utc::now();
        let refunds = self.payments.process_refunds(now).await?;
        let stuck = self.payments.reconcile_stuck(now).await?;
        idempotency::prune(self.payments.pool(), now).await?;
        sqlx::query("DELETE FROM webhook_events WHERE received_at < $1")
            .bind(now - chrono::Duration::days(30))
            .execute(self.payments.pool())
            .await?;
        Ok(refunds + stuck)
    }
}

/// Webhooks from the built-in provider, handled by this process exactly as if they had come
/// through the gateway: the same bytes, signature and timestamp checks.
#[derive(Debug, Clone)]
pub struct LocalWebhooks(pub Payments);

#[tonic::async_trait]
impl WebhookSink for LocalWebhooks {
    async fn deliver(&self, raw_body: Vec<u8>, signature: String, timestamp: String) -> Result<(), String> {
        let name = self.0.provider().name();
        match self.0.handle_webhook(name, &raw_body, &signature, &timestamp, Utc::now()).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_transient() => Err(floodgate_telemetry::error_chain(&error).to_string()),
            // A webhook we refuse for good is not retried (a real provider would give up too).
            Err(error) => {
                tracing::warn!(error = %floodgate_telemetry::error_chain(&error), "webhook refused");
                Ok(())
            }
        }
    }
}
