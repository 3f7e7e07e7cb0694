//! What catalog does with booking events. Runs inside the inbox transaction, so each event's
//! effects happen once.
//!
//! For now it validates the payloads its read models will use (a malformed one is dead-lettered)
//! and records receipt; availability counts and box-office rankings arrive with the catalog issue.

use floodgate_eventbus::{Event, EventHandler, HandlerError};
use floodgate_proto::booking::v1 as booking;
use sqlx::PgConnection;

#[derive(Debug, Clone, Copy, Default)]
pub struct CatalogEvents;

impl EventHandler for CatalogEvents {
    async fn handle(&self, _tx: &mut PgConnection, event: &Event) -> Result<(), HandlerError> {
        if event.is::<booking::AvailabilityChanged>() {
            let changed = event.payload::<booking::AvailabilityChanged>()?;
            tracing::debug!(performance_id = %changed.performance_id, available = changed.available, "availability changed");
        } else if event.is::<booking::OrderConfirmed>() {
            let confirmed = event.payload::<booking::OrderConfirmed>()?;
            tracing::info!(order_id = %confirmed.order_id, "order confirmed");
        } else {
            tracing::debug!(event_type = %event.event_type, "not handled by catalog");
        }
        Ok(())
    }
}
