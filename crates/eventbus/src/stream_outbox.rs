//! Events recorded outside PostgreSQL: services whose hot path lives in Redis (the waiting room,
//! seat holds) append events to a Redis stream in the same script as the change — their outbox —
//! and a relay publishes them. These are the relay's shared parts: an event id derived from the
//! stream entry (so a re-send after a crash carries the same id and inboxes absorb it), and
//! publishing a batch with the idempotent producer.

use std::time::Duration;

use futures::future::join_all;
use rdkafka::producer::{FutureProducer, FutureRecord};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::Event;

/// A UUIDv7 with the stream entry's time and bits derived from `scope` (the stream's owner) and
/// the entry id: the same entry always becomes the same event id.
pub fn stable_id(scope: &str, stream_id: &str, millis: i64) -> Uuid {
    let digest = Sha256::digest(format!("{scope}/{stream_id}").as_bytes());
    let mut random = [0u8; 10];
    random.copy_from_slice(&digest[..10]);
    uuid::Builder::from_unix_timestamp_millis(u64::try_from(millis).unwrap_or(0), &random).into_uuid()
}

/// The milliseconds part of a Redis stream id (`<ms>-<seq>`).
pub fn stream_millis(stream_id: &str) -> Option<i64> {
    stream_id.split('-').next()?.parse().ok()
}

/// Publishes every event (keyed by its key) and waits until the broker acknowledged all of them.
pub async fn publish(
    producer: &FutureProducer,
    topic: &str,
    events: &[Event],
) -> Result<(), rdkafka::error::KafkaError> {
    let deliveries = events.iter().map(|event| {
        let bytes = event.encode();
        async move {
            producer
                .send(FutureRecord::to(topic).key(&event.key).payload(&bytes), Duration::from_secs(30))
                .await
                .map(drop)
                .map_err(|(e, _)| e)
        }
    });
    join_all(deliveries).await.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_stream_entry_always_gets_the_same_time_ordered_id() {
        let a = stable_id("sale-1", "1790000000000-0", 1_790_000_000_000);
        assert_eq!(a, stable_id("sale-1", "1790000000000-0", 1_790_000_000_000));
        assert_ne!(a, stable_id("sale-1", "1790000000000-1", 1_790_000_000_000));
        assert_ne!(a, stable_id("sale-2", "1790000000000-0", 1_790_000_000_000));
        assert_eq!(a.get_version_num(), 7);
        assert!(a < stable_id("sale-1", "1790000000001-0", 1_790_000_000_001));
        assert_eq!(stream_millis("1790000000000-4"), Some(1_790_000_000_000));
    }
}
