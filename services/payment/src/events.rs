//! What payment does with booking events. Runs inside the inbox transaction, so each event's
//! effects happen once.
//!
//! For now it validates the payloads it will act on (a malformed one is dead-lettered) and
//! records receipt; creating payments on `OrderPlaced` and refunding on `OrderRejected` /
//! `OrderCancelled` arrive with the payment issue.

use floodgate_eventbus::{Event, EventHandler, HandlerError};
use floodgate_proto::booking::v1 as booking;
use sqlx::PgConnection;

#[derive(Debug, Clone, Copy, Default)]
pub struct PaymentEvents;

impl EventHandler for PaymentEvents {
    async fn handle(&self, _tx: &mut PgConnection, event: &Event) -> Result<(), HandlerError> {
        if event.is::<booking::OrderPlaced>() {
            let placed = event.payload::<booking::OrderPlaced>()?;
            tracing::info!(order_id = %placed.order_id, "order placed");
        } else if event.is::<booking::OrderRejected>() {
            let rejected = event.payload::<booking::OrderRejected>()?;
            tracing::info!(order_id = %rejected.order_id, "order rejected");
        } else {
            tracing::debug!(event_type = %event.event_type, "not handled by payment");
        }
        Ok(())
    }
}
