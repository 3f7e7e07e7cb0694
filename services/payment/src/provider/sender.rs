//! Delivers the simulated provider's webhooks to the merchant, like a real provider would: at
//! least once, and — when told to — duplicated, reordered, delayed or dropped, so payment's
//! webhook handling is exercised against every way real providers misbehave.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use rand::{Rng as _, seq::SliceRandom as _};
use tokio_util::sync::CancellationToken;

use super::{ProviderError, simulated::Simulator};

/// Webhook misbehaviour (all off by default).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct WebhookChaos {
    pub duplicate_rate: f64,
    pub drop_rate: f64,
    pub reorder: bool,
    pub delay: Duration,
}

/// Where webhooks go: payment's own handler in this process, or (later) an HTTP endpoint.
#[tonic::async_trait]
pub trait WebhookSink: Send + Sync + 'static {
    async fn deliver(&self, raw_body: Vec<u8>, signature: String, timestamp: String) -> Result<(), String>;
}

#[derive(Clone)]
pub struct WebhookSender {
    pub simulator: Simulator,
    pub sink: Arc<dyn WebhookSink>,
    pub chaos: WebhookChaos,
    pub tick: Duration,
}

impl std::fmt::Debug for WebhookSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSender").field("chaos", &self.chaos).finish_non_exhaustive()
    }
}

impl WebhookSender {
    pub async fn run(self, stop: CancellationToken) -> Result<(), ProviderError> {
        floodgate_runtime::ticker::every(self.tick, stop, "simulated webhook delivery", || self.round()).await;
        Ok(())
    }

    /// Delivers what is pending; returns how many webhooks were sent (duplicates counted).
    pub async fn round(&self) -> Result<usize, ProviderError> {
        let mut pending: Vec<(String, Vec<u8>)> =
            sqlx::query_as("SELECT id, body FROM simulator.webhooks WHERE delivered_at IS NULL ORDER BY seq LIMIT 100")
                .fetch_all(self.simulator.pool())
                .await?;
        if self.chaos.reorder {
            pending.shuffle(&mut rand::rng());
        }
        let mut sent = 0;
        for (id, body) in pending {
            let (dropped, copies) = {
                let mut rng = rand::rng();
                let dropped = rng.random_bool(self.chaos.drop_rate.clamp(0.0, 1.0));
                (dropped, if rng.random_bool(self.chaos.duplicate_rate.clamp(0.0, 1.0)) { 2 } else { 1 })
            };
            if !dropped {
                if !self.chaos.delay.is_zero() {
                    tokio::time::sleep(self.chaos.delay).await;
                }
                for _ in 0..copies {
                    let (timestamp, signature) = self.simulator.sign(&body, Utc::now());
                    if let Err(error) = self.sink.deliver(body.clone(), signature, timestamp).await {
                        // Not delivered: the next round tries again.
                        tracing::warn!(webhook = %id, %error, "webhook delivery failed");
                        return Ok(sent);
                    }
                    sent += 1;
                }
            }
            sqlx::query("UPDATE simulator.webhooks SET delivered_at = now() WHERE id = $1")
                .bind(&id)
                .execute(self.simulator.pool())
                .await?;
        }
        Ok(sent)
    }
}
