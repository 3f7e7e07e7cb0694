//! What booking does with the events it reads. Runs inside the inbox transaction, so each event's
//! effects happen once.
//!
//! For now it validates the payloads it will act on (a malformed one is dead-lettered, not
//! silently skipped) and records receipt; building inventory from `PerformancePublished` and
//! confirming orders on `PaymentApproved` arrive with the booking issue.

use floodgate_eventbus::{Event, EventHandler, HandlerError};
use floodgate_proto::{catalog::v1 as catalog, payment::v1 as payment};
use sqlx::PgConnection;

#[derive(Debug, Clone, Copy, Default)]
pub struct BookingEvents;

impl EventHandler for BookingEvents {
    async fn handle(&self, _tx: &mut PgConnection, event: &Event) -> Result<(), HandlerError> {
        if event.is::<catalog::PerformancePublished>() {
            let published = event.payload::<catalog::PerformancePublished>()?;
            let performance_id = published.performance.map(|p| p.performance_id).unwrap_or_default();
            tracing::info!(%performance_id, "performance published");
        } else if event.is::<payment::PaymentApproved>() {
            let approved = event.payload::<payment::PaymentApproved>()?;
            tracing::info!(order_id = %approved.order_id, "payment approved");
        } else {
            // Streams carry more event types than any one consumer needs; newer producers may add
            // types this build does not know. Neither is an error.
            tracing::debug!(event_type = %event.event_type, "not handled by booking");
        }
        Ok(())
    }
}
