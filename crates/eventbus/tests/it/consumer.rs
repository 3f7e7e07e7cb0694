//! The consumer: offsets move only after the handler's transaction committed; retries keep the
//! message; poison messages are parked, not lost, and do not block the partition.

use std::{sync::atomic::Ordering, time::Duration};

use floodgate_eventbus::{Consumer, Event, EventHandler, HandlerError, OutboxRelay, Stream, outbox::Outbox};
use floodgate_proto::{
    EventPayload as _,
    catalog::v1::{PerformanceCancelled, SaleConfigChanged},
};
use floodgate_testkit::eventually;
use rdkafka::producer::{FutureProducer, FutureRecord};
use sqlx::PgConnection;
use tokio_util::sync::CancellationToken;

use crate::support::{self, Recorder};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_handler_is_retried_and_its_event_applied_once() -> anyhow::Result<()> {
    let config = support::bus().await?;
    let (producer_db, consumer_db) = support::databases().await?;
    support::enqueue(&producer_db, &Outbox::new(&config, Stream::Catalog), 3, 1).await?;
    OutboxRelay::new(producer_db.pool.clone(), &config)?.drain().await?;

    let recorder = Recorder::default();
    recorder.failures.store(4, Ordering::SeqCst);
    let stop = CancellationToken::new();
    let consumer = Consumer::new(&config, "booking", &[Stream::Catalog], consumer_db.pool.clone(), recorder.clone())?;
    let running = tokio::spawn(consumer.run(stop.clone()));

    eventually(Duration::from_secs(60), "three events applied", || async {
        Ok((support::received_count(&consumer_db).await? == 3).then_some(()))
    })
    .await?;
    assert_eq!(recorder.calls.load(Ordering::SeqCst), 3 + 4, "four failed attempts, then one each");
    let order: Vec<i32> =
        sqlx::query_scalar("SELECT n FROM received ORDER BY seq").fetch_all(&consumer_db.pool).await?;
    assert_eq!(order, vec![0, 1, 2], "retries kept the order");
    stop.cancel();
    running.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_are_not_committed_past_an_event_that_was_not_handled() -> anyhow::Result<()> {
    let config = support::bus().await?;
    let (producer_db, consumer_db) = support::databases().await?;
    support::enqueue(&producer_db, &Outbox::new(&config, Stream::Catalog), 1, 1).await?;
    OutboxRelay::new(producer_db.pool.clone(), &config)?.drain().await?;

    // The first member of the group can never handle the event, and is stopped.
    let failing = Recorder::default();
    failing.failures.store(u32::MAX, Ordering::SeqCst);
    let stop_first = CancellationToken::new();
    let first = Consumer::new(&config, "booking", &[Stream::Catalog], consumer_db.pool.clone(), failing.clone())?;
    let first = tokio::spawn(first.run(stop_first.clone()));
    eventually(Duration::from_secs(60), "the first member to try the event", || async {
        Ok((failing.calls.load(Ordering::SeqCst) > 0).then_some(()))
    })
    .await?;
    stop_first.cancel();
    first.await??;
    assert_eq!(support::received_count(&consumer_db).await?, 0);

    // A new member of the same group gets the same event again.
    let working = Recorder::default();
    let stop = CancellationToken::new();
    let second = Consumer::new(&config, "booking", &[Stream::Catalog], consumer_db.pool.clone(), working)?;
    let second = tokio::spawn(second.run(stop.clone()));
    eventually(Duration::from_secs(60), "the event applied by the next member", || async {
        Ok((support::received_count(&consumer_db).await? == 1).then_some(()))
    })
    .await?;
    stop.cancel();
    second.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_is_dead_lettered_and_the_next_event_still_applied() -> anyhow::Result<()> {
    let config = support::bus().await?;
    let (producer_db, consumer_db) = support::databases().await?;
    let topic = Stream::Catalog.topic(&config.topic_prefix);

    // Garbage and then a good event, on the same key (so the same partition, in that order).
    let producer: FutureProducer = rdkafka::ClientConfig::new().set("bootstrap.servers", &config.brokers).create()?;
    producer
        .send(FutureRecord::to(&topic).key("perf-0").payload(&b"\xff\xfenot an envelope"[..]), Duration::from_secs(10))
        .await
        .map_err(|(e, _)| e)?;
    support::enqueue(&producer_db, &Outbox::new(&config, Stream::Catalog), 1, 1).await?;
    OutboxRelay::new(producer_db.pool.clone(), &config)?.drain().await?;

    let stop = CancellationToken::new();
    let consumer =
        Consumer::new(&config, "booking", &[Stream::Catalog], consumer_db.pool.clone(), Recorder::default())?;
    let running = tokio::spawn(consumer.run(stop.clone()));
    eventually(Duration::from_secs(60), "the good event applied", || async {
        Ok((support::received_count(&consumer_db).await? == 1).then_some(()))
    })
    .await?;
    let (error, message): (String, Vec<u8>) =
        sqlx::query_as("SELECT error, message FROM eventbus.dead_letter").fetch_one(&consumer_db.pool).await?;
    assert!(error.contains("not a protobuf envelope"), "{error}");
    assert_eq!(message, b"\xff\xfenot an envelope", "the bytes are kept for replay");
    stop.cancel();
    running.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_forgets_only_this_groups_entries_past_retention() -> anyhow::Result<()> {
    let config = support::bus().await?;
    let (_, consumer_db) = support::databases().await?;
    let insert =
        "INSERT INTO eventbus.inbox (consumer, event_id, event_type, topic, partition, kafka_offset, handled_at)
                  VALUES ($1, $2, 't', 't', 0, 0, now() - make_interval(days => $3))";
    let group = format!("{}booking", config.topic_prefix);
    for (consumer, days) in [(group.as_str(), 40), (group.as_str(), 1), ("someone-else", 40)] {
        sqlx::query(insert).bind(consumer).bind(uuid::Uuid::now_v7()).bind(days).execute(&consumer_db.pool).await?;
    }
    let consumer =
        Consumer::new(&config, "booking", &[Stream::Catalog], consumer_db.pool.clone(), Recorder::default())?
            .with_inbox_retention(Duration::from_secs(30 * 24 * 3600));
    assert_eq!(consumer.prune_inbox().await.map_err(|e| anyhow::anyhow!(e))?, 1);
    let left: Vec<String> = sqlx::query_scalar("SELECT consumer FROM eventbus.inbox ORDER BY consumer")
        .fetch_all(&consumer_db.pool)
        .await?;
    assert_eq!(left, vec!["someone-else".to_owned(), group]);
    Ok(())
}

/// Handles what [`Recorder`] handles, and wants nothing else.
#[derive(Clone, Default)]
struct Picky(Recorder);

impl EventHandler for Picky {
    fn wants(&self, event_type: &str) -> bool {
        event_type == PerformanceCancelled::EVENT_TYPE
    }

    async fn handle(&self, tx: &mut PgConnection, event: &Event) -> Result<(), HandlerError> {
        self.0.handle(tx, event).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_a_service_does_not_want_are_passed_over_without_an_inbox_row() -> anyhow::Result<()> {
    let config = support::bus().await?;
    let (producer_db, consumer_db) = support::databases().await?;
    let outbox = Outbox::new(&config, Stream::Catalog);
    // A wanted event, one of a type the handler does nothing with, a wanted one — same key, so
    // the same partition, in that order.
    let unwanted = Event::new("catalog", "perf-0", &SaleConfigChanged::default(), chrono::Utc::now());
    let mut tx = producer_db.pool.begin().await?;
    outbox.enqueue(&mut tx, &support::event(0, 1)).await?;
    outbox.enqueue(&mut tx, &unwanted).await?;
    outbox.enqueue(&mut tx, &support::event(1, 1)).await?;
    tx.commit().await?;
    OutboxRelay::new(producer_db.pool.clone(), &config)?.drain().await?;

    let picky = Picky::default();
    let stop = CancellationToken::new();
    let consumer = Consumer::new(&config, "payment", &[Stream::Catalog], consumer_db.pool.clone(), picky.clone())?;
    let running = tokio::spawn(consumer.run(stop.clone()));
    eventually(Duration::from_secs(60), "both wanted events applied", || async {
        Ok((support::received_count(&consumer_db).await? == 2).then_some(()))
    })
    .await?;
    stop.cancel();
    running.await??;
    // The unwanted one never reached the handler (which would have refused it into the dead
    // letters) and left no inbox row.
    assert_eq!(picky.0.calls.load(Ordering::SeqCst), 2);
    let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).fetch_one(&consumer_db.pool);
    assert_eq!(count("SELECT count(*) FROM eventbus.inbox").await?, 2);
    assert_eq!(count("SELECT count(*) FROM eventbus.dead_letter").await?, 0);
    Ok(())
}
