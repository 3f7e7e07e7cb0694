//! Live updates for browsers: seat changes of a performance, fanned out per section.
//!
//! Every gateway process reads booking's events with a consumer group of its own (every replica
//! needs every event; nothing is committed — a live feed is best effort, and a client that missed
//! something resyncs from the availability snapshot, whose version orders everything). Events go
//! into one bounded broadcast channel per performance; a subscriber that falls behind is dropped
//! rather than allowed to grow memory.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use floodgate_eventbus::{BusConfig, Event, Stream};
use floodgate_proto::booking::v1 as booking;
use rdkafka::{
    Message as _,
    consumer::{Consumer as _, StreamConsumer},
};
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// Events buffered per performance for slow subscribers before they are dropped.
pub const BUFFER: usize = 256;

/// One change, already serialised, with the sections it touches (empty = every section).
#[derive(Debug, Clone, PartialEq)]
pub struct LiveEvent {
    pub sections: Vec<String>,
    pub json: String,
}

impl LiveEvent {
    pub fn concerns(&self, wanted: &[String]) -> bool {
        wanted.is_empty() || self.sections.is_empty() || self.sections.iter().any(|s| wanted.contains(s))
    }
}

/// Per-performance broadcast channels, created on first subscription.
#[derive(Debug, Clone, Default)]
pub struct LiveHub {
    channels: Arc<Mutex<HashMap<String, broadcast::Sender<Arc<LiveEvent>>>>>,
}

impl LiveHub {
    pub fn subscribe(&self, performance: &str) -> broadcast::Receiver<Arc<LiveEvent>> {
        let mut channels = self.channels.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        channels.entry(performance.to_owned()).or_insert_with(|| broadcast::channel(BUFFER).0).subscribe()
    }

    /// Delivers to the performance's subscribers, if any (and forgets channels nobody reads).
    pub fn publish(&self, performance: &str, event: LiveEvent) {
        let mut channels = self.channels.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(sender) = channels.get(performance) {
            if sender.receiver_count() == 0 {
                channels.remove(performance);
            } else {
                let _ = sender.send(Arc::new(event));
            }
        }
    }
}

/// The browser-facing form of a booking event, keyed by performance.
pub fn to_live(event: &Event) -> Option<(String, LiveEvent)> {
    let seats = |seats: &[floodgate_proto::types::v1::SeatRef]| -> (Vec<Value>, Vec<String>) {
        let mut sections: Vec<String> = seats.iter().map(|s| s.section_id.clone()).filter(|s| !s.is_empty()).collect();
        sections.sort();
        sections.dedup();
        (seats.iter().map(|s| json!({"seat_id": s.seat_id, "section_id": s.section_id})).collect(), sections)
    };
    let (performance, kind, body, sections) = if event.is::<booking::SeatsHeld>() {
        let e = event.payload::<booking::SeatsHeld>().ok()?;
        let (list, sections) = seats(&e.seats);
        (e.performance_id, "held", json!({"seats": list, "version": e.inventory_version}), sections)
    } else if event.is::<booking::SeatsReleased>() {
        let e = event.payload::<booking::SeatsReleased>().ok()?;
        let (list, sections) = seats(&e.seats);
        (e.performance_id, "released", json!({"seats": list, "version": e.inventory_version}), sections)
    } else if event.is::<booking::HoldExpired>() {
        let e = event.payload::<booking::HoldExpired>().ok()?;
        let (list, sections) = seats(&e.seats);
        (e.performance_id, "released", json!({"seats": list, "version": e.inventory_version}), sections)
    } else if event.is::<booking::OrderConfirmed>() {
        let e = event.payload::<booking::OrderConfirmed>().ok()?;
        let (list, sections) = seats(&e.seats);
        (e.performance_id, "sold", json!({"seats": list}), sections)
    } else if event.is::<booking::AvailabilityChanged>() {
        let e = event.payload::<booking::AvailabilityChanged>().ok()?;
        let counts: Vec<Value> = e
            .sections
            .iter()
            .map(|s| json!({"section_id": s.section_id, "capacity": s.capacity, "available": s.available, "held": s.held, "sold": s.sold}))
            .collect();
        (
            e.performance_id,
            "availability",
            json!({"available": e.available, "sections": counts, "version": e.inventory_version}),
            Vec::new(),
        )
    } else if event.is::<booking::SoldOut>() {
        let e = event.payload::<booking::SoldOut>().ok()?;
        (e.performance_id, "sold_out", json!({}), Vec::new())
    } else {
        return None;
    };
    let mut body = body;
    body["type"] = json!(kind);
    Some((performance, LiveEvent { sections, json: body.to_string() }))
}

/// Reads `booking.events` into the hub until stopped.
pub struct LiveFeed {
    consumer: StreamConsumer,
    hub: LiveHub,
}

impl std::fmt::Debug for LiveFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveFeed").finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the live feed could not subscribe to booking events")]
pub struct FeedError(#[source] rdkafka::error::KafkaError);

impl LiveFeed {
    pub fn new(bus: &BusConfig, hub: LiveHub) -> Result<Self, FeedError> {
        // A group of its own per process: every replica sees every event; starts at the end.
        let group = format!("{}gateway-live-{}", bus.topic_prefix, uuid::Uuid::new_v4().simple());
        let consumer: StreamConsumer = bus
            .client()
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "latest")
            .create()
            .map_err(FeedError)?;
        consumer.subscribe(&[Stream::Booking.topic(&bus.topic_prefix).as_str()]).map_err(FeedError)?;
        Ok(Self { consumer, hub })
    }

    pub async fn run(self, stop: CancellationToken) -> Result<(), FeedError> {
        loop {
            let message = tokio::select! {
                () = stop.cancelled() => return Ok(()),
                message = self.consumer.recv() => message,
            };
            match message {
                Ok(message) => {
                    let Some(event) = message.payload().and_then(|bytes| Event::decode(bytes).ok()) else { continue };
                    if let Some((performance, live)) = to_live(&event) {
                        self.hub.publish(&performance, live);
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "live feed receive failed; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use floodgate_proto::types::v1::SeatRef;

    use super::*;

    #[test]
    fn seat_events_become_per_section_messages() {
        let held = booking::SeatsHeld {
            performance_id: "p1".into(),
            hold_id: "h".into(),
            seats: vec![SeatRef { seat_id: "A-1".into(), section_id: "A".into(), ..Default::default() }],
            inventory_version: 7,
            ..Default::default()
        };
        let (performance, live) = to_live(&Event::new("booking", "p1", &held, Utc::now())).unwrap();
        assert_eq!(performance, "p1");
        assert_eq!(live.sections, ["A"]);
        assert!(live.concerns(&["A".into()]) && !live.concerns(&["B".into()]) && live.concerns(&[]));
        let body: Value = serde_json::from_str(&live.json).unwrap();
        assert_eq!((body["type"].as_str(), body["version"].as_u64()), (Some("held"), Some(7)));
    }

    #[test]
    fn a_hub_drops_what_nobody_reads_and_delivers_to_subscribers() {
        let hub = LiveHub::default();
        let event = LiveEvent { sections: vec![], json: "{}".into() };
        hub.publish("p1", event.clone()); // nobody listens: nothing kept
        let mut receiver = hub.subscribe("p1");
        hub.publish("p1", event.clone());
        assert_eq!(receiver.try_recv().unwrap().as_ref(), &event);
    }
}
