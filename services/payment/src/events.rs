//! What payment does with booking's events, inside the inbox transaction (effects once): an
//! order placed opens its payment with booking's amount; an order rejected (seat lost after
//! payment) is refunded in full; an order cancelled is refunded what booking computed (price
//! minus fees); an order that expired or was cancelled unpaid closes its payment.

use chrono::Utc;
use floodgate_eventbus::{Event, EventHandler, HandlerError};
use floodgate_proto::{EventPayload as _, booking::v1 as booking};
use sqlx::PgConnection;

use crate::{
    error::PaymentError,
    payments::{Payments, parse_id},
};

#[derive(Debug, Clone)]
pub struct PaymentEvents {
    pub payments: Payments,
}

impl EventHandler for PaymentEvents {
    /// Order events only: the same topic carries every hold and release of an on-sale.
    fn wants(&self, event_type: &str) -> bool {
        [
            booking::OrderPlaced::EVENT_TYPE,
            booking::OrderRejected::EVENT_TYPE,
            booking::OrderExpired::EVENT_TYPE,
            booking::OrderCancelled::EVENT_TYPE,
        ]
        .contains(&event_type)
    }

    async fn handle(&self, tx: &mut PgConnection, event: &Event) -> Result<(), HandlerError> {
        let now = Utc::now();
        let p = &self.payments;
        if event.is::<booking::OrderPlaced>() {
            p.open(tx, &event.payload::<booking::OrderPlaced>()?, now).await?;
        } else if event.is::<booking::OrderRejected>() {
            let rejected = event.payload::<booking::OrderRejected>()?;
            let order = parse_id("order_id", &rejected.order_id)?;
            // The seat was lost after payment: everything back, and the order takes no more.
            p.close_order(tx, order, &format!("order rejected: {}", rejected.reason), true, now).await?;
        } else if event.is::<booking::OrderExpired>() {
            let expired = event.payload::<booking::OrderExpired>()?;
            p.close_order(tx, parse_id("order_id", &expired.order_id)?, "order expired", true, now).await?;
        } else if event.is::<booking::OrderCancelled>() {
            let cancelled = event.payload::<booking::OrderCancelled>()?;
            let order = parse_id("order_id", &cancelled.order_id)?;
            let refund = cancelled.refund.as_ref().map_or(0, |m| m.minor);
            if refund > 0 {
                let mut lines = cancelled.line_ids.clone();
                lines.sort();
                let source = format!("cancelled:{order}:{}", lines.join(","));
                p.refund_order(tx, order, Some(refund), &cancelled.reason, &source).await?;
            }
            if cancelled.full {
                // The fee is kept: only booking's refund (above) goes back.
                p.close_order(tx, order, "order cancelled", false, now).await?;
            }
        } else {
            tracing::debug!(event_type = %event.event_type, "not handled by payment");
        }
        Ok(())
    }
}

/// Contract violations are parked; anything about infrastructure is retried.
impl From<PaymentError> for HandlerError {
    fn from(error: PaymentError) -> Self {
        match error {
            PaymentError::Invalid { .. }
            | PaymentError::NotFound(_)
            | PaymentError::Corrupt(_)
            | PaymentError::Refund(_) => HandlerError::Reject(Box::new(error)),
            other => HandlerError::Retry(Box::new(other)),
        }
    }
}
