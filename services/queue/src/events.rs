//! What the waiting room does with the events it reads: a published performance gets a room on
//! its sale's timeline, configuration changes retune and reschedule it, cancellation closes it,
//! sold out stops it. Every effect is idempotent in itself (create-if-absent, set-state), so no
//! inbox is needed; messages that can never apply are kept in a Redis list for operators.

use chrono::{DateTime, Utc};
use floodgate_eventbus::{Application, BoxError, Event, HandlerError, Origin};
use floodgate_proto::{EventPayload as _, booking::v1 as booking, catalog::v1 as catalog};
use redis::AsyncCommands as _;

use crate::{
    admission_loop::Paces,
    store::{Inventory, Outflow, RoomState, RoomStore, Schedule, StoreError},
};

/// Tickets an admitted buyer takes on average, for pacing and odds (until measured per sale).
pub const TICKETS_PER_BUYER: f64 = 2.0;

/// A buyer who has not heartbeaten for this long loses their turn. Ten of the gateway's slowest
/// polls (60 s far back in line): an overloaded gateway sheds polls, and the buyers it turned
/// away must not lose their place for it. At 180 s, a stadium rehearsal whose gateway shed more
/// than half the waiting room's polls marked 78,000 of 93,000 buyers absent as the line reached
/// them. Someone truly gone costs little when reached: an admitted buyer who does not shop gives
/// the slot back within [`crate::store::FIRST_HOLD_WITHIN`].
const HEARTBEAT_GRACE: std::time::Duration = std::time::Duration::from_secs(600);

#[derive(Debug, Clone)]
pub struct QueueEvents {
    pub store: RoomStore,
    pub redis: redis::aio::ConnectionManager,
    pub dead_letters: String,
    /// What changes a room here wakes its admissions (a freed slot, new times or inventory) or
    /// its events (a new state).
    pub paces: Paces,
}

impl QueueEvents {
    /// Frees the shopping slot of `buyer` (a buyer key) in the sale's room, if they have one.
    async fn finish_buyer(&self, sale: &str, buyer: &str) -> Result<(), HandlerError> {
        if buyer.is_empty() {
            return Ok(());
        }
        if let Some(entry) = self.store.entry_of(sale, buyer).await.map_err(retry)? {
            self.store.finish(sale, &entry).await.map_err(retry)?;
            self.paces.admission.wake(sale);
        }
        Ok(())
    }
}

impl Application for QueueEvents {
    fn wants(&self, event_type: &str) -> bool {
        [
            catalog::PerformancePublished::EVENT_TYPE,
            catalog::SaleConfigChanged::EVENT_TYPE,
            catalog::PerformanceCancelled::EVENT_TYPE,
            booking::AvailabilityChanged::EVENT_TYPE,
            booking::OrderPlaced::EVENT_TYPE,
            booking::HoldExpired::EVENT_TYPE,
            booking::SeatsReleased::EVENT_TYPE,
            booking::SeatsHeld::EVENT_TYPE,
            booking::SoldOut::EVENT_TYPE,
        ]
        .contains(&event_type)
    }

    async fn apply(&self, _group: &str, event: &Event, _origin: &Origin) -> Result<bool, HandlerError> {
        if event.is::<catalog::PerformancePublished>() {
            let published: catalog::PerformancePublished = event.payload()?;
            let performance =
                published.performance.ok_or_else(|| reject("PerformancePublished without a performance"))?;
            let config = performance.sale_config.ok_or_else(|| reject("PerformancePublished without a sale config"))?;
            let created = self
                .store
                .schedule_room(&performance.performance_id, schedule(&config)?, outflow(&config))
                .await
                .map_err(retry)?;
            tracing::info!(sale = %performance.performance_id, created, "waiting room scheduled");
        } else if event.is::<catalog::SaleConfigChanged>() {
            let changed: catalog::SaleConfigChanged = event.payload()?;
            if let Some(config) = changed.sale_config {
                ignore_unknown(self.store.set_outflow(&changed.performance_id, outflow(&config)).await)?;
                ignore_unknown(self.store.set_schedule(&changed.performance_id, schedule(&config)?).await)?;
                self.paces.admission.wake(&changed.performance_id);
            }
        } else if event.is::<catalog::PerformanceCancelled>() {
            let cancelled: catalog::PerformanceCancelled = event.payload()?;
            ignore_unknown(self.store.set_state(&cancelled.performance_id, RoomState::Closed).await)?;
            self.paces.relay.wake(&cancelled.performance_id);
        } else if event.is::<booking::AvailabilityChanged>() {
            let changed: booking::AvailabilityChanged = event.payload()?;
            let inventory = Inventory { available: changed.available.into(), held: changed.held.into() };
            ignore_unknown(self.store.set_inventory(&changed.performance_id, inventory, TICKETS_PER_BUYER).await)?;
            self.paces.admission.wake(&changed.performance_id);
        } else if event.is::<booking::OrderPlaced>() {
            // The shopper is done: free the slot at once instead of at the admission's expiry.
            let placed: booking::OrderPlaced = event.payload()?;
            // Buyers join the room under their buyer key (what their admission token names).
            let buyer = placed.buyer.and_then(|b| b.key()).unwrap_or_default();
            self.finish_buyer(&placed.performance_id, &buyer).await?;
        } else if event.is::<booking::HoldExpired>() {
            // The buyer let their hold lapse: most have left. Their slot goes to the next in line;
            // if they are still there, their admission still lets them hold again.
            let expired: booking::HoldExpired = event.payload()?;
            self.finish_buyer(&expired.performance_id, &expired.buyer_key).await?;
        } else if event.is::<booking::SeatsHeld>() {
            // The buyer shops: their slot lasts their admission, not just until a first hold was due.
            let held: booking::SeatsHeld = event.payload()?;
            if !held.buyer_key.is_empty()
                && let Some(entry) = self.store.entry_of(&held.performance_id, &held.buyer_key).await.map_err(retry)?
            {
                self.store.shopping(&held.performance_id, &entry).await.map_err(retry)?;
            }
        } else if event.is::<booking::SeatsReleased>() {
            // The buyer gave the seats back (changed their mind, or gave up): as for a lapsed
            // hold. Those who only went back to the seat map hold again on the same admission.
            // (Without this, a buyer who let go kept a slot for the rest of their admission —
            // ten minutes in the stadium rehearsal — while the room held the line back.)
            let released: booking::SeatsReleased = event.payload()?;
            self.finish_buyer(&released.performance_id, &released.buyer_key).await?;
        } else if event.is::<booking::SoldOut>() {
            let sold_out: booking::SoldOut = event.payload()?;
            ignore_unknown(self.store.set_state(&sold_out.performance_id, RoomState::SoldOut).await)?;
            self.paces.relay.wake(&sold_out.performance_id);
        }
        Ok(true)
    }

    async fn park(
        &self,
        group: &str,
        origin: &Origin,
        event_id: Option<uuid::Uuid>,
        error: &str,
        bytes: &[u8],
    ) -> Result<(), BoxError> {
        let letter = serde_json::json!({
            "consumer": group,
            "topic": origin.topic,
            "partition": origin.partition,
            "offset": origin.offset,
            "event_id": event_id.map(|id| id.to_string()),
            "error": error,
            "message_hex": hex::encode(bytes),
        });
        let mut redis = self.redis.clone();
        let _: () = redis.rpush(&self.dead_letters, letter.to_string()).await?;
        Ok(())
    }

    async fn prune(&self, _group: &str) -> Result<u64, BoxError> {
        Ok(0)
    }
}

fn outflow(config: &catalog::SaleConfig) -> Outflow {
    let seconds = |d: &Option<prost_types::Duration>| {
        d.as_ref()
            .map_or(std::time::Duration::from_secs(600), |d| std::time::Duration::from_secs(d.seconds.max(0) as u64))
    };
    Outflow {
        rate_per_second: config.admission_rate_per_second.max(1),
        max_active: config.max_active_shoppers.max(1),
        admission_ttl: seconds(&config.admission_ttl),
        heartbeat_grace: HEARTBEAT_GRACE,
    }
}

fn schedule(config: &catalog::SaleConfig) -> Result<Schedule, HandlerError> {
    Ok(Schedule {
        pre_queue_opens_at: time(config.waiting_room_opens_at.as_ref())?,
        sale_opens_at: time(config.sale_opens_at.as_ref())?,
        sale_closes_at: config.sale_closes_at.as_ref().and_then(|t| DateTime::from_timestamp(t.seconds, 0)),
    })
}

fn time(t: Option<&prost_types::Timestamp>) -> Result<DateTime<Utc>, HandlerError> {
    t.and_then(|t| DateTime::from_timestamp(t.seconds, 0)).ok_or_else(|| reject("a sale time is missing"))
}

/// A room that does not exist (never published here) or is closed for good has nothing to change.
fn ignore_unknown(result: Result<(), StoreError>) -> Result<(), HandlerError> {
    match result {
        Ok(()) | Err(StoreError::UnknownSale(_) | StoreError::Closed { .. }) => Ok(()),
        Err(error) => Err(retry(error)),
    }
}

fn retry(error: StoreError) -> HandlerError {
    HandlerError::Retry(Box::new(error))
}

fn reject(reason: &str) -> HandlerError {
    HandlerError::Reject(reason.into())
}
