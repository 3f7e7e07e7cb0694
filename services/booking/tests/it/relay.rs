//! Seat events reach the bus: held, released and expired holds from each performance's Redis
//! stream, then an availability snapshot with per-section counts — on the real broker.

use std::time::Duration;

use chrono::Utc;
use floodgate_booking::relay::SeatEventRelay;
use floodgate_eventbus::{BusConfig, Event, Stream, topics};
use floodgate_proto::booking::v1 as wire;
use floodgate_testkit::TestBroker;
use rdkafka::{
    Message as _,
    consumer::{Consumer as _, StreamConsumer},
};

use crate::support::{Booking, Rules, member, now};

#[tokio::test]
async fn holds_and_releases_are_published_with_an_availability_snapshot() -> anyhow::Result<()> {
    let b = Booking::new(Rules::default()).await?;
    let broker = TestBroker::new()?;
    let bus = BusConfig {
        brokers: broker.brokers.clone(),
        topic_prefix: broker.topic_prefix.clone(),
        partitions: 1,
        replication: 1,
    };
    topics::ensure_streams(&bus, &[Stream::Booking]).await?;
    let relay = SeatEventRelay {
        store: b.store.clone(),
        producer: floodgate_eventbus::idempotent_producer(&bus)?,
        topic: Stream::Booking.topic(&bus.topic_prefix),
        tick: Duration::from_millis(200),
    };
    let alice = member("alice");
    let kept =
        b.holds.hold(b.performance, &alice, b.wanted(&alice, &["A-1-1", "A-1-2"], &[("FLOOR", 3)]), now()).await?;
    let dropped = b.holds.hold(b.performance, &alice, b.wanted(&alice, &["B-2-2"], &[]), now()).await?;
    b.holds.release(b.performance, dropped.hold_id, &alice.key()).await?;

    assert_eq!(relay.round(Utc::now()).await?, 4, "held, held, released, and a snapshot");
    assert_eq!(relay.round(Utc::now()).await?, 0, "nothing twice: the stream is trimmed, the version unchanged");

    let consumer: StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &broker.brokers)
        .set("group.id", format!("{}reader", broker.topic_prefix))
        .set("auto.offset.reset", "earliest")
        .create()?;
    consumer.subscribe(&[relay.topic.as_str()])?;
    let mut events = Vec::new();
    while events.len() < 4 {
        let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv()).await??;
        events.push(Event::decode(message.payload().unwrap_or_default())?);
    }
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "floodgate.booking.v1.SeatsHeld",
            "floodgate.booking.v1.SeatsHeld",
            "floodgate.booking.v1.SeatsReleased",
            "floodgate.booking.v1.AvailabilityChanged"
        ]
    );
    let held = events[0].payload::<wire::SeatsHeld>()?;
    assert_eq!(held.hold_id, kept.hold_id.to_string());
    assert_eq!(held.seats.iter().map(|s| s.seat_id.as_str()).collect::<Vec<_>>(), ["A-1-1", "A-1-2"]);
    assert!(held.seats.iter().all(|s| s.section_id == "A"), "seats name their section for per-section feeds");
    assert_eq!(held.general_admission[0].quantity, 3);
    assert_eq!(held.buyer_key, alice.key(), "the waiting room keeps the slot of whoever shops");
    let released = events[2].payload::<wire::SeatsReleased>()?;
    assert!(released.inventory_version > held.inventory_version, "versions only grow");
    assert_eq!(released.buyer_key, alice.key(), "the waiting room frees the slot of whoever let go");
    let snapshot = events[3].payload::<wire::AvailabilityChanged>()?;
    assert_eq!((snapshot.capacity, snapshot.held, snapshot.sold), (30 + 11 + 50, 5, 0));
    assert_eq!(snapshot.available + snapshot.held + snapshot.sold, snapshot.capacity, "I5");
    assert_eq!(snapshot.inventory_version, released.inventory_version);
    let floor = snapshot.sections.iter().find(|s| s.section_id == "FLOOR").expect("floor counts");
    assert_eq!((floor.available, floor.held), (47, 3));
    Ok(())
}
