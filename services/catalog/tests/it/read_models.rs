//! Availability and box office follow booking's events through the real broker and the inbox:
//! duplicates count once, late snapshots never move numbers backwards.

use std::time::Duration;

use chrono::Utc;
use floodgate_eventbus::{Event, Stream};
use floodgate_proto::{booking::v1 as booking, catalog::v1 as wire, types::v1 as types};
use floodgate_testkit::eventually;
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::api;

fn krw(minor: i64) -> Option<types::Money> {
    Some(types::Money { minor, currency: "KRW".into() })
}

fn snapshot(performance_id: &str, version: u64, available: u32) -> Event {
    let payload = booking::AvailabilityChanged {
        performance_id: performance_id.into(),
        inventory_version: version,
        sections: vec![booking::SectionCounts {
            section_id: "r1".into(),
            grade_code: "R".into(),
            capacity: 100,
            available,
            held: 100 - available - 5,
            sold: 5,
        }],
        ..Default::default()
    };
    Event::new("booking", performance_id, &payload, Utc::now())
}

fn confirmed(performance_id: &str, tickets: usize, total: i64) -> Event {
    let payload = booking::OrderConfirmed {
        order_id: uuid::Uuid::now_v7().to_string(),
        performance_id: performance_id.into(),
        ticket_ids: (0..tickets).map(|_| uuid::Uuid::now_v7().to_string()).collect(),
        total: krw(total),
        confirmed_at: Some(prost_types::Timestamp { seconds: Utc::now().timestamp(), nanos: 0 }),
        seats: Vec::new(),
    };
    Event::new("booking", performance_id, &payload, Utc::now())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_booking_events_with_duplicates_count_once() -> anyhow::Result<()> {
    let running = api::start().await?;
    let mut client = running.client.clone();
    let performance_id = api::draft_performance(&mut client).await?;

    let sale = confirmed(&performance_id, 2, 330_000);
    let second_sale = confirmed(&performance_id, 1, 165_000);
    let cancel = Event::new(
        "booking",
        performance_id.clone(),
        &booking::OrderCancelled {
            order_id: uuid::Uuid::now_v7().to_string(),
            performance_id: performance_id.clone(),
            line_ids: vec!["line-1".into()],
            refund: krw(150_000),
            fee: krw(15_000),
            full: false,
            reason: "changed plans".into(),
        },
        Utc::now(),
    );
    let (v1, v2, v3) =
        (snapshot(&performance_id, 1, 95), snapshot(&performance_id, 2, 90), snapshot(&performance_id, 3, 85));
    // At-least-once delivery, as the relay can produce it: repeats, and a snapshot arriving late.
    let stream = [&v1, &v3, &sale, &sale, &v2, &v3, &second_sale, &second_sale, &cancel];

    let topic = Stream::Booking.topic(&api::topic_prefix(&running));
    let producer: FutureProducer = rdkafka::ClientConfig::new().set("bootstrap.servers", api::brokers()?).create()?;
    for event in stream {
        let bytes = event.encode();
        producer
            .send(FutureRecord::to(&topic).key(&event.key).payload(&bytes), Duration::from_secs(10))
            .await
            .map_err(|(e, _)| e)?;
    }

    let entry = eventually(Duration::from_secs(60), "the cancellation to be counted", || {
        let mut client = client.clone();
        async move {
            let board = client.get_box_office(wire::GetBoxOfficeRequest::default()).await?.into_inner();
            Ok(board.entries.into_iter().next().filter(|e| e.revenue.as_ref().is_some_and(|r| r.minor == 345_000)))
        }
    })
    .await?;
    assert_eq!(entry.tickets_sold, 2, "2 + 1 sold (each once), 1 cancelled");
    assert_eq!(entry.rank, 1);

    let summary = client
        .get_availability_summary(wire::GetAvailabilitySummaryRequest { performance_id: performance_id.clone() })
        .await?
        .into_inner();
    let r1 = &summary.sections[0];
    assert_eq!(
        (r1.section_id.as_str(), r1.grade_code.as_str(), r1.available, r1.sold),
        ("r1", "R", 85, 5),
        "the newest snapshot wins"
    );

    running.stop().await
}
