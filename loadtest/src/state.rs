//! The platform's state after a run, for the checker: seat counts through booking's public
//! availability, orders and tickets from booking's database, payments from payment's, the
//! provider's own ledger (the simulator's schema), and the `OrderConfirmed` events on the topic.

use std::{collections::BTreeSet, time::Duration};

use floodgate_eventbus::{BusConfig, Event, Stream};
use floodgate_proto::booking::v1 as booking;
use rdkafka::{
    Message as _, Offset, TopicPartitionList,
    consumer::{BaseConsumer, Consumer as _},
};
use sqlx::PgPool;

use crate::{
    checker::{FinalState, LedgerEntry, Order, Payment, SectionCount, Ticket},
    client::{Gateway, Session},
};

/// Where the kit reads the final state.
#[derive(Debug, Clone)]
pub struct Sources {
    pub booking: PgPool,
    pub payment: PgPool,
    pub bus: BusConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the broker: {0}")]
    Bus(#[from] rdkafka::error::KafkaError),
    #[error("availability: {0}")]
    Availability(String),
}

/// Waits until no seat is held and no order awaits payment (holds expire, deadlines pass), at
/// most `patience`; then reads everything.
pub async fn settle_and_read(
    gateway: &Gateway,
    session: &Session,
    sources: &Sources,
    performance_id: &str,
    patience: Duration,
) -> Result<FinalState, StateError> {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        let sections = sections(gateway, session, sources, performance_id).await?;
        let pending: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM orders WHERE performance_id = $1::uuid AND status = 'PENDING_PAYMENT'",
        )
        .bind(performance_id)
        .fetch_one(&sources.booking)
        .await?;
        if (pending == 0 && sections.iter().all(|s| s.held == 0)) || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // Settled; what the relays still have in flight reaches the topic within a few polls.
    tokio::time::sleep(Duration::from_secs(3)).await;
    read(gateway, session, sources, performance_id).await
}

pub async fn read(
    gateway: &Gateway,
    session: &Session,
    sources: &Sources,
    performance_id: &str,
) -> Result<FinalState, StateError> {
    let sections = sections(gateway, session, sources, performance_id).await?;
    let tickets = sqlx::query_as::<_, (String, String, String, Option<String>, String)>(
        "SELECT id::text, order_id::text, section_id, seat_id, status FROM tickets WHERE performance_id = $1::uuid",
    )
    .bind(performance_id)
    .fetch_all(&sources.booking)
    .await?
    .into_iter()
    .map(|(ticket_id, order_id, section_id, seat_id, status)| Ticket {
        ticket_id,
        order_id,
        section_id,
        seat_id,
        live: status != "CANCELLED",
    })
    .collect();
    let orders: Vec<Order> = sqlx::query_as::<_, (String, String, i64)>(
        "SELECT id::text, lower(status), total_minor FROM orders WHERE performance_id = $1::uuid",
    )
    .bind(performance_id)
    .fetch_all(&sources.booking)
    .await?
    .into_iter()
    .map(|(order_id, status, total_minor)| Order { order_id, status, total_minor })
    .collect();
    let order_ids: Vec<String> = orders.iter().map(|o| o.order_id.clone()).collect();
    let payments = sqlx::query_as::<_, (String, String, i64, i64)>(
        "SELECT order_id::text, lower(status), captured_minor, refunded_minor FROM payments WHERE order_id::text = ANY($1)",
    )
    .bind(&order_ids)
    .fetch_all(&sources.payment)
    .await?
    .into_iter()
    .map(|(order_id, status, captured_minor, refunded_minor)| Payment { order_id, status, captured_minor, refunded_minor })
    .collect();
    // The provider's books per order (an order may have had several checkout attempts).
    let ledger = sqlx::query_as::<_, (String, i64, i64)>(
        "SELECT partner_order, sum(captured_minor)::bigint, sum(refunded_minor)::bigint FROM simulator.transactions
         WHERE partner_order = ANY($1) GROUP BY partner_order",
    )
    .bind(&order_ids)
    .fetch_all(&sources.payment)
    .await?
    .into_iter()
    .map(|(order_id, captured_minor, refunded_minor)| LedgerEntry { order_id, captured_minor, refunded_minor })
    .collect();
    let bus = sources.bus.clone();
    let performance = performance_id.to_owned();
    let confirmed_events = tokio::task::spawn_blocking(move || confirmed_on_topic(&bus, &performance))
        .await
        .map_err(|e| StateError::Availability(e.to_string()))??;
    Ok(FinalState { sections, tickets, orders, payments, ledger, confirmed_events })
}

/// Seat counts per section from the public availability; standing sold counts from booking's
/// table (availability shows standing places only as a count).
async fn sections(
    gateway: &Gateway,
    session: &Session,
    sources: &Sources,
    performance_id: &str,
) -> Result<Vec<SectionCount>, StateError> {
    let reply = gateway
        .get(session, &format!("/v1/performances/{performance_id}/availability"))
        .await
        .map_err(|e| StateError::Availability(e.to_string()))?;
    if !reply.ok() {
        return Err(StateError::Availability(format!("{} {}", reply.status, reply.body)));
    }
    let standing: Vec<(String, i32)> =
        sqlx::query_as("SELECT section_id, sold FROM ga_sections WHERE performance_id = $1::uuid")
            .bind(performance_id)
            .fetch_all(&sources.booking)
            .await?;
    let empty = Vec::new();
    Ok(reply.body["sections"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|s| {
            let section_id = s["section_id"].as_str().unwrap_or_default().to_owned();
            let capacity = s["capacity"].as_u64().unwrap_or(0);
            let available = s["available"].as_u64().unwrap_or(0);
            let states = s["unavailable"].as_array().unwrap_or(&empty);
            let count = |state: &str| states.iter().filter(|x| x["state"] == state).count() as u64;
            match standing.iter().find(|(id, _)| *id == section_id) {
                Some((_, sold)) => {
                    let sold = u64::try_from(*sold).unwrap_or(0);
                    let held = capacity.saturating_sub(available).saturating_sub(sold);
                    SectionCount { section_id, capacity, available, held, sold }
                }
                None => SectionCount { section_id, capacity, available, held: count("held"), sold: count("sold") },
            }
        })
        .collect())
}

/// The order ids of every `OrderConfirmed` for this performance on booking's topic, read from
/// the beginning of each partition to its end.
fn confirmed_on_topic(bus: &BusConfig, performance_id: &str) -> Result<BTreeSet<String>, rdkafka::error::KafkaError> {
    let topic = Stream::Booking.topic(&bus.topic_prefix);
    let mut config = bus.client();
    config.set("group.id", format!("rehearsal-{}", uuid::Uuid::new_v4())).set("enable.auto.commit", "false");
    let consumer: BaseConsumer = config.create()?;
    let timeout = Duration::from_secs(10);
    let metadata = consumer.fetch_metadata(Some(&topic), timeout)?;
    let mut ends = Vec::new();
    let mut assignment = TopicPartitionList::new();
    for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
        let (low, high) = consumer.fetch_watermarks(&topic, partition.id(), timeout)?;
        if high > low {
            assignment.add_partition_offset(&topic, partition.id(), Offset::Offset(low))?;
            ends.push((partition.id(), high));
        }
    }
    consumer.assign(&assignment)?;
    let mut confirmed = BTreeSet::new();
    let mut done = std::collections::HashSet::new();
    let started = std::time::Instant::now();
    while done.len() < ends.len() && started.elapsed() < Duration::from_secs(60) {
        let Some(message) = consumer.poll(Duration::from_millis(500)) else { continue };
        let message = message?;
        if ends.iter().any(|(p, high)| *p == message.partition() && message.offset() + 1 >= *high) {
            done.insert(message.partition());
        }
        let Some(event) = message.payload().and_then(|bytes| Event::decode(bytes).ok()) else { continue };
        if let Ok(order) = event.payload::<booking::OrderConfirmed>()
            && order.performance_id == performance_id
        {
            confirmed.insert(order.order_id);
        }
    }
    Ok(confirmed)
}
