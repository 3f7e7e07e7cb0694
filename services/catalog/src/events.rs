//! What catalog does with booking's events: keeps the availability and box-office read models.
//! Runs inside the inbox transaction, so each event counts exactly once; availability snapshots
//! carry a growing version, so late or repeated ones never move the numbers backwards.

use chrono::{DateTime, NaiveDate, Utc};
use floodgate_eventbus::{Event, EventHandler, HandlerError};
use floodgate_proto::{EventPayload as _, booking::v1 as booking};
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, Default)]
pub struct CatalogEvents;

impl EventHandler for CatalogEvents {
    /// Availability for listings, and sales for the box office; not the holds around them.
    fn wants(&self, event_type: &str) -> bool {
        [
            booking::AvailabilityChanged::EVENT_TYPE,
            booking::OrderConfirmed::EVENT_TYPE,
            booking::OrderCancelled::EVENT_TYPE,
        ]
        .contains(&event_type)
    }

    async fn handle(&self, tx: &mut PgConnection, event: &Event) -> Result<(), HandlerError> {
        if event.is::<booking::AvailabilityChanged>() {
            availability_changed(tx, &event.payload()?).await
        } else if event.is::<booking::OrderConfirmed>() {
            let confirmed: booking::OrderConfirmed = event.payload()?;
            let day = confirmed.confirmed_at.as_ref().and_then(day_of).unwrap_or(event.occurred_at.date_naive());
            let total = confirmed.total.unwrap_or_default();
            let tickets = i64::try_from(confirmed.ticket_ids.len()).unwrap_or(i64::MAX);
            box_office(tx, performance(&confirmed.performance_id)?, day, &total.currency, tickets, total.minor).await
        } else if event.is::<booking::OrderCancelled>() {
            let cancelled: booking::OrderCancelled = event.payload()?;
            let refund = cancelled.refund.unwrap_or_default();
            let tickets = i64::try_from(cancelled.line_ids.len()).unwrap_or(i64::MAX);
            let day = event.occurred_at.date_naive();
            box_office(tx, performance(&cancelled.performance_id)?, day, &refund.currency, -tickets, -refund.minor)
                .await
        } else {
            // Holds and order lifecycle events matter to other consumers; the read models here
            // follow availability snapshots and confirmed sales only.
            tracing::trace!(event_type = %event.event_type, "not used by catalog");
            Ok(())
        }
    }
}

async fn availability_changed(
    tx: &mut PgConnection,
    changed: &booking::AvailabilityChanged,
) -> Result<(), HandlerError> {
    let performance_id = performance(&changed.performance_id)?;
    let version = i64::try_from(changed.inventory_version).map_err(reject)?;
    for section in &changed.sections {
        sqlx::query(
            "INSERT INTO availability
                 (performance_id, section_id, grade_code, capacity, available, held, sold, inventory_version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (performance_id, section_id, grade_code) DO UPDATE SET
                 capacity = EXCLUDED.capacity, available = EXCLUDED.available, held = EXCLUDED.held,
                 sold = EXCLUDED.sold, inventory_version = EXCLUDED.inventory_version, updated_at = now()
             WHERE availability.inventory_version < EXCLUDED.inventory_version",
        )
        .bind(performance_id)
        .bind(&section.section_id)
        .bind(&section.grade_code)
        .bind(count(section.capacity)?)
        .bind(count(section.available)?)
        .bind(count(section.held)?)
        .bind(count(section.sold)?)
        .bind(version)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

async fn box_office(
    tx: &mut PgConnection,
    performance_id: Uuid,
    day: NaiveDate,
    currency: &str,
    tickets: i64,
    revenue_minor: i64,
) -> Result<(), HandlerError> {
    sqlx::query(
        "INSERT INTO box_office (performance_id, day, currency, tickets, revenue_minor) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (performance_id, day, currency) DO UPDATE SET
             tickets = box_office.tickets + EXCLUDED.tickets,
             revenue_minor = box_office.revenue_minor + EXCLUDED.revenue_minor",
    )
    .bind(performance_id)
    .bind(day)
    .bind(currency)
    .bind(tickets)
    .bind(revenue_minor)
    .execute(tx)
    .await?;
    Ok(())
}

fn performance(id: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(id).map_err(reject)
}

fn count(n: u32) -> Result<i32, HandlerError> {
    i32::try_from(n).map_err(reject)
}

fn day_of(t: &prost_types::Timestamp) -> Option<NaiveDate> {
    DateTime::<Utc>::from_timestamp(t.seconds, 0).map(|t| t.date_naive())
}

/// A payload that breaks the contract can never be applied: park it.
fn reject(error: impl std::error::Error + Send + Sync + 'static) -> HandlerError {
    HandlerError::Reject(Box::new(error))
}
