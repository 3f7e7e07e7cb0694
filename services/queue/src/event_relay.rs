//! Relays each room's Redis event stream to the bus (`<prefix>queue.events`, keyed by sale). A
//! room whose stream was empty is looked at again after a quiet second, unless this replica's
//! admission loop, API or event handlers wake it.
//!
//! Events are appended to the stream by the same script or transaction as the change they
//! announce — the waiting room's outbox — and deleted only after the broker acknowledged them.
//! An event's id is derived from its stream id, so a re-send after a crash carries the same id
//! and consumers' inboxes absorb it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use floodgate_eventbus::{Event, stream_outbox};
use floodgate_proto::EventPayload;
use floodgate_proto::queue::v1 as wire;
use floodgate_runtime::pace::Pace;
use floodgate_telemetry::propagation::TraceHeaders;
use prost::Message as _;
use rdkafka::producer::FutureProducer;
use tokio_util::sync::CancellationToken;

use crate::store::{RoomStore, StoreError, StreamEvent};

const BATCH: usize = 256;

#[derive(Clone)]
pub struct EventRelay {
    pub store: RoomStore,
    pub producer: FutureProducer,
    pub topic: String,
    pub tick: Duration,
    /// Rooms whose last visit found nothing wait a quiet second unless woken.
    pub pace: Pace,
}

impl std::fmt::Debug for EventRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventRelay").field("topic", &self.topic).finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EventRelayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the broker did not acknowledge a waiting-room event")]
    Publish(#[source] rdkafka::error::KafkaError),
}

impl EventRelay {
    /// Relays on every tick until `stop`; unsent events stay in the streams for the next tick.
    pub async fn run(self, stop: CancellationToken) -> Result<(), EventRelayError> {
        floodgate_runtime::ticker::every(self.tick, stop, "waiting-room event relay", || self.round()).await;
        Ok(())
    }

    /// Relays what every due room has pending; returns how many events were sent.
    pub async fn round(&self) -> Result<usize, EventRelayError> {
        let mut sent = 0;
        for sale in self.pace.due_among(self.store.rooms().await?, std::time::Instant::now()) {
            let before = sent;
            loop {
                let pending = self.store.pending_events(&sale, BATCH).await?;
                if pending.is_empty() {
                    break;
                }
                let events: Vec<Event> = pending.iter().filter_map(|e| to_event(&sale, e)).collect();
                stream_outbox::publish(&self.producer, &self.topic, &events).await.map_err(EventRelayError::Publish)?;
                let ids: Vec<String> = pending.iter().map(|e| e.id.clone()).collect();
                self.store.relayed(&sale, &ids).await?;
                sent += events.len();
                if pending.len() < BATCH {
                    break;
                }
            }
            if sent > before { self.pace.wake(&sale) } else { self.pace.quiet(&sale, std::time::Instant::now(), None) }
        }
        Ok(sent)
    }
}

/// The bus event for one stream entry (`None` for a kind this build does not know: dropped).
fn to_event(sale: &str, entry: &StreamEvent) -> Option<Event> {
    let millis = stream_outbox::stream_millis(&entry.id)?;
    let at = DateTime::<Utc>::from_timestamp_millis(millis)?;
    let field = |name: &str| entry.fields.get(name).cloned().unwrap_or_default();
    let timestamp = |t: DateTime<Utc>| Some(prost_types::Timestamp { seconds: t.timestamp(), nanos: 0 });
    let (event_type, payload) = match field("type").as_str() {
        "admitted" => (
            wire::BuyerAdmitted::EVENT_TYPE,
            wire::BuyerAdmitted {
                sale_id: sale.to_owned(),
                buyer_id: field("buyer"),
                token_id: field("entry"),
                expires_at: field("expires").parse().ok().and_then(DateTime::from_timestamp_millis).and_then(timestamp),
            }
            .encode_to_vec(),
        ),
        "state" => (
            wire::RoomStateChanged::EVENT_TYPE,
            wire::RoomStateChanged {
                sale_id: sale.to_owned(),
                state: room_state(&field("state")).into(),
                at: timestamp(at),
                reason: String::new(),
            }
            .encode_to_vec(),
        ),
        "committed" => (
            wire::SeedCommitted::EVENT_TYPE,
            wire::SeedCommitted { sale_id: sale.to_owned(), seed_commitment: field("commitment"), at: timestamp(at) }
                .encode_to_vec(),
        ),
        "revealed" => (
            wire::SeedRevealed::EVENT_TYPE,
            wire::SeedRevealed {
                sale_id: sale.to_owned(),
                seed: field("seed"),
                pre_queue_size: field("size").parse().unwrap_or(0),
                at: timestamp(at),
            }
            .encode_to_vec(),
        ),
        "stats" => {
            let count = |name: &str| field(name).parse().unwrap_or(0);
            (
                wire::RoomStatsSnapshot::EVENT_TYPE,
                wire::RoomStatsSnapshot {
                    stats: Some(wire::RoomStats {
                        sale_id: sale.to_owned(),
                        state: room_state(&field("state")).into(),
                        waiting: count("waiting"),
                        pre_queue: count("pre_queue"),
                        admitted_active: count("active"),
                        admitted_total: count("admitted"),
                        abandoned: count("abandoned"),
                        admission_rate: 0.0,
                        as_of: timestamp(at),
                    }),
                }
                .encode_to_vec(),
            )
        }
        other => {
            tracing::warn!(kind = other, "unknown waiting-room event kind; dropped");
            return None;
        }
    };
    Some(Event {
        id: stream_outbox::stable_id(sale, &entry.id, millis),
        event_type: event_type.to_owned(),
        occurred_at: at,
        key: sale.to_owned(),
        trace: TraceHeaders::default(),
        producer: "queue".to_owned(),
        payload,
    })
}

fn room_state(state: &str) -> wire::RoomState {
    match state {
        "scheduled" => wire::RoomState::Scheduled,
        "pre_queue" | "opening" => wire::RoomState::PreQueue,
        "open" => wire::RoomState::Open,
        "paused" => wire::RoomState::Paused,
        "sold_out" => wire::RoomState::SoldOut,
        "closed" => wire::RoomState::Closed,
        _ => wire::RoomState::Unspecified,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_entries_become_bus_events() {
        let entry = StreamEvent {
            id: "1790000000000-3".into(),
            fields: [("type", "admitted"), ("buyer", "alice"), ("entry", "e-1"), ("expires", "1790000600000")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        };
        let event = to_event("sale-1", &entry).expect("known kind");
        assert_eq!(event.key, "sale-1");
        let admitted = event.payload::<wire::BuyerAdmitted>().expect("payload");
        assert_eq!((admitted.buyer_id.as_str(), admitted.token_id.as_str()), ("alice", "e-1"));
        let unknown = StreamEvent { id: "1-0".into(), fields: [("type".to_owned(), "future".to_owned())].into() };
        assert!(to_event("sale-1", &unknown).is_none());
    }
}
