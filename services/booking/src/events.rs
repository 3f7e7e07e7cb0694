//! What booking does with the events it reads. Runs inside the inbox transaction, so each
//! event's effects happen once: inventory from `PerformancePublished` (then opened in Redis),
//! rule and price changes, cancellation, and orders confirmed or rejected on `PaymentApproved`.

use chrono::Utc;
use floodgate_eventbus::{Event, EventHandler, HandlerError};
use floodgate_proto::{EventPayload as _, catalog::v1 as catalog, payment::v1 as payment};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{error::BookingError, inventory, orders::Orders};

#[derive(Debug, Clone)]
pub struct BookingEvents {
    pub orders: Orders,
}

impl EventHandler for BookingEvents {
    fn wants(&self, event_type: &str) -> bool {
        [
            catalog::PerformancePublished::EVENT_TYPE,
            catalog::SaleConfigChanged::EVENT_TYPE,
            catalog::PricesChanged::EVENT_TYPE,
            catalog::PerformanceCancelled::EVENT_TYPE,
            payment::PaymentApproved::EVENT_TYPE,
        ]
        .contains(&event_type)
    }

    async fn handle(&self, tx: &mut PgConnection, event: &Event) -> Result<(), HandlerError> {
        let now = Utc::now();
        let inventories = self.orders.inventories();
        let result = if event.is::<catalog::PerformancePublished>() {
            let published = event.payload::<catalog::PerformancePublished>()?;
            match inventory::record(tx, &published).await {
                Ok(true) => {
                    let id = performance_id(published.performance.as_ref().map(|p| p.performance_id.as_str()))?;
                    tracing::info!(performance_id = %id, "inventory recorded");
                    // Opened after commit would race the first hold; opening twice is a no-op.
                    Ok(Some(id))
                }
                Ok(false) => Ok(None),
                Err(e) => Err(e),
            }
        } else if event.is::<catalog::SaleConfigChanged>() {
            let changed = event.payload::<catalog::SaleConfigChanged>()?;
            let id = performance_id(Some(&changed.performance_id))?;
            let sale = changed.sale_config.unwrap_or_default();
            if inventory::change_sale(tx, id, &sale, changed.version).await? {
                let rules = inventory::SaleRules::from_wire(&sale);
                inventories.store().set_rules(id, rules.per_buyer_limit, rules.hold_ttl_ms).await.map_err(retry)?;
                inventories.forget(id);
            }
            Ok(None)
        } else if event.is::<catalog::PricesChanged>() {
            let changed = event.payload::<catalog::PricesChanged>()?;
            let id = performance_id(Some(&changed.performance_id))?;
            inventory::change_prices(tx, id, &changed.prices, changed.version).await?;
            inventories.forget(id);
            Ok(None)
        } else if event.is::<catalog::PerformanceCancelled>() {
            let cancelled = event.payload::<catalog::PerformanceCancelled>()?;
            let id = performance_id(Some(&cancelled.performance_id))?;
            if inventory::cancel(tx, id, now).await? {
                inventories.store().close(id).await.map_err(retry)?;
            }
            inventories.forget(id);
            Ok(None)
        } else if event.is::<payment::PaymentApproved>() {
            let approved = event.payload::<payment::PaymentApproved>()?;
            self.orders.on_payment_approved(tx, &approved, now).await.map(|()| None)
        } else {
            // Streams carry more event types than any one consumer needs; newer producers may add
            // types this build does not know. Neither is an error.
            tracing::debug!(event_type = %event.event_type, "not handled by booking");
            Ok(None)
        };
        match result {
            Ok(Some(opened)) => {
                let seed = inventory::seed_for_new(tx, opened).await?;
                inventories.store().seed(opened, &seed).await.map_err(retry)?;
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }
}

fn performance_id(id: Option<&str>) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(id.unwrap_or_default()).map_err(|e| HandlerError::Reject(Box::new(e)))
}

fn retry(error: impl std::error::Error + Send + Sync + 'static) -> HandlerError {
    HandlerError::Retry(Box::new(error))
}

/// Contract violations are parked; anything about infrastructure is retried.
impl From<BookingError> for HandlerError {
    fn from(error: BookingError) -> Self {
        match error {
            BookingError::Invalid { .. } | BookingError::NotFound(_) | BookingError::Corrupt(_) => {
                HandlerError::Reject(Box::new(error))
            }
            other => HandlerError::Retry(Box::new(other)),
        }
    }
}
