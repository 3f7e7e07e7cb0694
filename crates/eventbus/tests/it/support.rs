//! Shared set-up: a bus config on a unique prefix, events to publish, a recording handler.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use chrono::Utc;
use floodgate_eventbus::{BusConfig, Event, EventHandler, HandlerError, Stream, outbox::Outbox, topics};
use floodgate_proto::catalog::v1::PerformanceCancelled;
use floodgate_testkit::{TestBroker, TestDatabase};
use sqlx::PgConnection;

pub async fn bus() -> anyhow::Result<BusConfig> {
    let broker = TestBroker::new()?;
    let config =
        BusConfig { brokers: broker.brokers, topic_prefix: broker.topic_prefix, partitions: 3, replication: 1 };
    topics::ensure_topics(&config, &[Stream::Catalog.topic(&config.topic_prefix)]).await?;
    Ok(config)
}

/// A producing service's database and a consuming service's database (with a table the handler
/// writes its side effects to).
pub async fn databases() -> anyhow::Result<(TestDatabase, TestDatabase)> {
    let producer = TestDatabase::new(&[floodgate_eventbus::migrator()]).await?;
    let consumer = TestDatabase::new(&[floodgate_eventbus::migrator()]).await?;
    sqlx::query(
        "CREATE TABLE received (seq bigint GENERATED ALWAYS AS IDENTITY, event_id uuid NOT NULL, key text NOT NULL, n integer NOT NULL)",
    )
    .execute(&consumer.pool)
    .await?;
    Ok((producer, consumer))
}

/// Event number `n` about performance `perf-(n % keys)`; `n` travels in the payload.
pub fn event(n: u32, keys: u32) -> Event {
    let key = format!("perf-{}", n % keys);
    let payload = PerformanceCancelled { performance_id: key.clone(), reason: n.to_string(), cancelled_at: None };
    Event::new("catalog", key, &payload, Utc::now())
}

/// Writes `count` events to the outbox, one transaction each, as a service would.
pub async fn enqueue(db: &TestDatabase, outbox: &Outbox, count: u32, keys: u32) -> anyhow::Result<Vec<Event>> {
    let mut events = Vec::new();
    for n in 0..count {
        let event = event(n, keys);
        let mut tx = db.pool.begin().await?;
        outbox.enqueue(&mut tx, &event).await?;
        tx.commit().await?;
        events.push(event);
    }
    Ok(events)
}

/// Records every applied event in `received`; fails the first `failures` calls with a
/// retryable error.
#[derive(Clone, Default)]
pub struct Recorder {
    pub failures: Arc<AtomicU32>,
    pub calls: Arc<AtomicU32>,
}

impl EventHandler for Recorder {
    async fn handle(&self, tx: &mut PgConnection, event: &Event) -> Result<(), HandlerError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.failures.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1)).is_ok() {
            return Err(HandlerError::Retry("injected failure".into()));
        }
        let payload = event.payload::<PerformanceCancelled>()?;
        let n: i32 = payload.reason.parse().map_err(|e| HandlerError::Reject(Box::new(e)))?;
        sqlx::query("INSERT INTO received (event_id, key, n) VALUES ($1, $2, $3)")
            .bind(event.id)
            .bind(&event.key)
            .bind(n)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }
}

pub async fn received_count(db: &TestDatabase) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM received").fetch_one(&db.pool).await?)
}

pub async fn unpublished(db: &TestDatabase) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM eventbus.outbox WHERE published_at IS NULL")
        .fetch_one(&db.pool)
        .await?)
}

/// Reads the whole topic from the beginning until it has seen `expected` distinct events and
/// then a second of silence; returns (messages, distinct event ids).
pub async fn read_topic(config: &BusConfig, topic: &str, expected: usize) -> anyhow::Result<(usize, usize)> {
    use rdkafka::{
        Message as _, Offset, TopicPartitionList,
        consumer::{BaseConsumer, Consumer as _},
    };
    let brokers = config.brokers.clone();
    let topic = topic.to_owned();
    let partitions = config.partitions;
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .set("group.id", format!("{topic}.reader"))
            .set("enable.auto.commit", "false")
            .create()?;
        let mut assignment = TopicPartitionList::new();
        for partition in 0..partitions {
            assignment.add_partition_offset(&topic, partition, Offset::Beginning)?;
        }
        consumer.assign(&assignment)?;
        let (mut messages, mut ids) = (0, std::collections::HashSet::new());
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            match consumer.poll(Duration::from_secs(1)) {
                Some(message) => {
                    let message = message?;
                    ids.insert(Event::decode(message.payload().unwrap_or_default())?.id);
                    messages += 1;
                }
                None if ids.len() >= expected => break,
                None => {}
            }
        }
        Ok((messages, ids.len()))
    })
    .await?
}
