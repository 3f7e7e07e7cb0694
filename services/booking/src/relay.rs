//! Booking's background work, on ticks, safe with several replicas:
//! - the hold sweeper ends holds whose TTL ran out (GA places, allowances and counts return);
//! - the seat-event relay publishes each performance's Redis event stream (held, released,
//!   expired) with stable ids, then an `AvailabilityChanged` snapshot when the inventory version
//!   moved, and `SoldOut` once nothing is left;
//! - the deadline sweep expires unpaid orders and frees their seats.

use std::time::Duration;

use chrono::{DateTime, Utc};
use floodgate_eventbus::{Event, stream_outbox};
use floodgate_proto::{EventPayload, booking::v1 as wire, types::v1::SeatRef};
use floodgate_telemetry::propagation::TraceHeaders;
use prost::Message as _;
use rdkafka::producer::FutureProducer;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    error::BookingError,
    orders::{Orders, PRODUCER},
    store::{HoldStore, StoreError, StreamEvent, View},
};

const BATCH: usize = 256;
/// Holds ended per performance per sweep.
const SWEEP_MAX: usize = 500;

#[derive(Clone)]
pub struct SeatEventRelay {
    pub store: HoldStore,
    pub producer: FutureProducer,
    pub topic: String,
    pub tick: Duration,
}

impl std::fmt::Debug for SeatEventRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeatEventRelay").field("topic", &self.topic).finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the broker did not acknowledge a seat event")]
    Publish(#[source] rdkafka::error::KafkaError),
}

impl SeatEventRelay {
    /// Sweeps and relays on every tick until `stop`.
    pub async fn run(self, stop: CancellationToken) -> Result<(), RelayError> {
        floodgate_runtime::ticker::every(self.tick, stop, "seat event relay", || self.round(Utc::now())).await;
        Ok(())
    }

    /// One round over every performance that is due; returns how many events were published. A
    /// performance whose visit found nothing waits a quiet second, or until its next hold runs
    /// out, unless a change made here wakes it.
    pub async fn round(&self, now: DateTime<Utc>) -> Result<usize, RelayError> {
        let mut sent = 0;
        let pace = self.store.pace();
        for performance in pace.due_among(self.store.performances().await?, std::time::Instant::now()) {
            let before = sent;
            let swept = self.store.sweep(performance, SWEEP_MAX).await?;
            loop {
                let pending = self.store.pending_events(performance, BATCH).await?;
                if pending.is_empty() {
                    break;
                }
                let events: Vec<Event> = pending.iter().filter_map(|e| to_event(performance, e)).collect();
                stream_outbox::publish(&self.producer, &self.topic, &events).await.map_err(RelayError::Publish)?;
                let ids: Vec<String> = pending.iter().map(|e| e.id.clone()).collect();
                self.store.relayed(performance, &ids).await?;
                sent += events.len();
                if pending.len() < BATCH {
                    break;
                }
            }
            sent += self.snapshot(performance, now).await?;
            if swept.ended > 0 || sent > before {
                pace.wake(&performance);
            } else {
                let visited = std::time::Instant::now();
                let due = swept.next_expiry.and_then(|at| (at - Utc::now()).to_std().ok()).map(|wait| visited + wait);
                pace.quiet(&performance, visited, due);
            }
        }
        Ok(sent)
    }

    /// Publishes counts when the inventory changed since the last snapshot (one replica per tick).
    async fn snapshot(&self, performance: Uuid, now: DateTime<Utc>) -> Result<usize, RelayError> {
        // One small read when nothing changed: most ticks of most performances end here.
        if self.store.snapshot_due(performance).await?.is_none() {
            return Ok(0);
        }
        let tick_ms = u64::try_from(self.tick.as_millis()).unwrap_or(1000).max(1);
        let slot = u64::try_from(now.timestamp_millis()).unwrap_or(0) / tick_ms;
        if !self.store.claim_snapshot(performance, slot, tick_ms * 4).await? {
            return Ok(0);
        }
        // Counts only: a snapshot never needs the (large) list of taken seats.
        let view = self.store.counts(performance).await?;
        let changed = availability(performance, &view);
        let mut events = vec![Event::new(PRODUCER, performance.to_string(), &changed, now)];
        if changed.available == 0 && changed.held == 0 && changed.capacity > 0 {
            let sold_out =
                wire::SoldOut { performance_id: performance.to_string(), at: Some(crate::convert::timestamp(now)) };
            events.push(Event::new(PRODUCER, performance.to_string(), &sold_out, now));
        }
        stream_outbox::publish(&self.producer, &self.topic, &events).await.map_err(RelayError::Publish)?;
        // Only once the bus has it: a failed publish is retried on the next tick.
        self.store.snapshot_published(performance, view.version).await?;
        Ok(events.len())
    }
}

/// Counts per section and in total: available + held + sold = capacity (I5).
pub fn availability(performance: Uuid, view: &View) -> wire::AvailabilityChanged {
    let mut sections: Vec<wire::SectionCounts> = view
        .counts
        .iter()
        .map(|(section, counts)| wire::SectionCounts {
            section_id: section.clone(),
            grade_code: String::new(),
            capacity: counts.capacity,
            available: counts.available(),
            held: counts.held.min(counts.capacity),
            sold: counts.sold.min(counts.capacity),
        })
        .collect();
    sections.sort_by(|a, b| a.section_id.cmp(&b.section_id));
    wire::AvailabilityChanged {
        performance_id: performance.to_string(),
        available: sections.iter().map(|s| s.available).sum(),
        held: sections.iter().map(|s| s.held).sum(),
        sold: sections.iter().map(|s| s.sold).sum(),
        capacity: sections.iter().map(|s| s.capacity).sum(),
        inventory_version: view.version,
        sections,
    }
}

/// The bus event for one stream entry (`None` for kinds only kept for the version, or unknown).
fn to_event(performance: Uuid, entry: &StreamEvent) -> Option<Event> {
    let millis = stream_outbox::stream_millis(&entry.id)?;
    let at = DateTime::<Utc>::from_timestamp_millis(millis)?;
    let field = |name: &str| entry.fields.get(name).cloned().unwrap_or_default();
    // Each seat with its section (a parallel list), so subscribers can follow single sections.
    let sections = field("sections");
    let mut sections = sections.split(',');
    let seats: Vec<SeatRef> = field("seats")
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| SeatRef {
            seat_id: s.to_owned(),
            section_id: sections.next().unwrap_or_default().to_owned(),
            ..SeatRef::default()
        })
        .collect();
    let general_admission: Vec<wire::GaRequest> = field("ga")
        .split(',')
        .filter_map(|pair| pair.rsplit_once(':'))
        .map(|(section, quantity)| wire::GaRequest {
            section_id: section.to_owned(),
            quantity: quantity.parse().unwrap_or(0),
        })
        .collect();
    let version = field("version").parse().unwrap_or(0);
    let (performance_id, hold_id) = (performance.to_string(), field("hold"));
    let (event_type, payload) = match field("type").as_str() {
        "held" => (
            wire::SeatsHeld::EVENT_TYPE,
            wire::SeatsHeld {
                performance_id,
                hold_id,
                seats,
                general_admission,
                expires_at: field("expires")
                    .parse()
                    .ok()
                    .and_then(DateTime::from_timestamp_millis)
                    .map(crate::convert::timestamp),
                inventory_version: version,
                buyer_key: field("buyer"),
            }
            .encode_to_vec(),
        ),
        "released" => (
            wire::SeatsReleased::EVENT_TYPE,
            wire::SeatsReleased {
                performance_id,
                hold_id,
                seats,
                general_admission,
                inventory_version: version,
                buyer_key: field("buyer"),
            }
            .encode_to_vec(),
        ),
        "expired" => (
            wire::HoldExpired::EVENT_TYPE,
            wire::HoldExpired {
                performance_id,
                hold_id,
                seats,
                general_admission,
                inventory_version: version,
                buyer_key: field("buyer"),
            }
            .encode_to_vec(),
        ),
        // Sales travel as OrderConfirmed through the outbox; the entry only moved the version.
        "sold" => return None,
        other => {
            tracing::warn!(kind = other, "unknown seat event kind; dropped");
            return None;
        }
    };
    Some(Event {
        id: stream_outbox::stable_id(&performance.to_string(), &entry.id, millis),
        event_type: event_type.to_owned(),
        occurred_at: at,
        key: performance.to_string(),
        trace: TraceHeaders::default(),
        producer: PRODUCER.to_owned(),
        payload,
    })
}

/// Expires unpaid orders every tick.
#[derive(Debug, Clone)]
pub struct DeadlineSweep {
    pub orders: Orders,
    pub tick: Duration,
}

impl DeadlineSweep {
    pub async fn run(self, stop: CancellationToken) -> Result<(), BookingError> {
        floodgate_runtime::ticker::every(self.tick, stop, "unpaid order sweep", || async {
            // Drain a backlog within the tick, batch by batch.
            loop {
                if self.orders.expire_unpaid(Utc::now()).await? == 0 {
                    return Ok::<(), BookingError>(());
                }
            }
        })
        .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lapsed_hold_names_its_buyer_for_the_waiting_room() {
        let fields = [("type", "expired"), ("hold", "h1"), ("seats", "A-1-1"), ("sections", "A"), ("buyer", "user:u1")];
        let entry = StreamEvent {
            id: "1700000000000-0".into(),
            fields: fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        };
        let event = to_event(Uuid::nil(), &entry).expect("an event");
        let expired: wire::HoldExpired = event.payload().expect("a HoldExpired");
        assert_eq!((expired.hold_id.as_str(), expired.buyer_key.as_str()), ("h1", "user:u1"));
        assert_eq!(expired.seats[0].section_id, "A");
    }
}
