//! The outbox relay: everything committed is published, at least once, in order per key — even
//! when the relay dies mid-way and runs as several replicas.

use std::time::Duration;

use floodgate_eventbus::{Consumer, OutboxRelay, Stream, outbox::Outbox};
use floodgate_testkit::eventually;
use tokio_util::sync::CancellationToken;

use crate::support::{self, Recorder};

const N: u32 = 300;
const KEYS: u32 = 7;
const BATCH: u16 = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_relay_restarts_and_every_event_arrives_once_in_key_order() -> anyhow::Result<()> {
    let config = support::bus().await?;
    let (producer_db, consumer_db) = support::databases().await?;
    let outbox = Outbox::new(&config, Stream::Catalog);
    support::enqueue(&producer_db, &outbox, N, KEYS).await?;

    // Lock one row two-thirds in. A first relay publishes every batch up to and including the
    // one holding it, then blocks marking that batch published: the crash window between
    // "acknowledged by the broker" and "marked", held open. Then it is killed.
    let blocked_id: i64 = sqlx::query_scalar("SELECT id FROM eventbus.outbox ORDER BY id OFFSET $1 LIMIT 1")
        .bind(i64::from(N) * 2 / 3)
        .fetch_one(&producer_db.pool)
        .await?;
    let mut blocker = producer_db.pool.begin().await?;
    sqlx::query("SELECT 1 FROM eventbus.outbox WHERE id = $1 FOR UPDATE")
        .bind(blocked_id)
        .execute(&mut *blocker)
        .await?;

    let relay = OutboxRelay::new(producer_db.pool.clone(), &config)?.with_batch_size(BATCH);
    let first = tokio::spawn(relay.clone().run(CancellationToken::new()));
    eventually(Duration::from_secs(30), "the relay to block on the locked row", || async {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&producer_db.pool)
        .await?;
        Ok((waiting > 0).then_some(()))
    })
    .await?;
    first.abort();
    let _ = first.await;
    blocker.rollback().await?;
    let after_kill = support::unpublished(&producer_db).await?;
    assert!(after_kill >= i64::from(N) / 3, "the relay was killed part-way ({after_kill} left)");

    // Restart as two replicas at once; the advisory lock lets one relay at a time.
    let stop = CancellationToken::new();
    let replicas = [
        tokio::spawn(relay.clone().run(stop.clone())),
        tokio::spawn(OutboxRelay::new(producer_db.pool.clone(), &config)?.with_batch_size(BATCH).run(stop.clone())),
    ];
    let recorder = Recorder::default();
    let consumer = Consumer::new(&config, "booking", &[Stream::Catalog], consumer_db.pool.clone(), recorder.clone())?;
    let consuming = tokio::spawn(consumer.run(stop.clone()));

    eventually(Duration::from_secs(60), "every event applied", || async {
        Ok((support::received_count(&consumer_db).await? >= i64::from(N)).then_some(()))
    })
    .await?;
    assert_eq!(support::unpublished(&producer_db).await?, 0, "the outbox drained");

    // Duplicates really reached the topic, and the inbox absorbed them.
    let topic = Stream::Catalog.topic(&config.topic_prefix);
    let (messages, distinct) = support::read_topic(&config, &topic, N as usize).await?;
    assert_eq!(distinct, N as usize, "every event is on the topic");
    // The blocked batch was delivered before the kill and again after it.
    assert!(
        messages >= (N + u32::from(BATCH)) as usize,
        "expected the blocked batch twice on the topic: {messages} messages for {N} events"
    );
    let applied = support::received_count(&consumer_db).await?;
    let distinct: i64 =
        sqlx::query_scalar("SELECT count(DISTINCT event_id) FROM received").fetch_one(&consumer_db.pool).await?;
    assert_eq!((applied, distinct), (i64::from(N), i64::from(N)), "each event applied exactly once");

    // Per key, events were applied in the order they were written.
    let out_of_order: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (
             SELECT n, lag(n) OVER (PARTITION BY key ORDER BY seq) AS previous FROM received
         ) t WHERE previous IS NOT NULL AND previous > n",
    )
    .fetch_one(&consumer_db.pool)
    .await?;
    assert_eq!(out_of_order, 0, "events of one key were applied out of order");

    stop.cancel();
    for replica in replicas {
        replica.await??;
    }
    consuming.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uncommitted_outbox_row_is_never_published() -> anyhow::Result<()> {
    let config = support::bus().await?;
    let (producer_db, _) = support::databases().await?;
    let outbox = Outbox::new(&config, Stream::Catalog);

    let mut rolled_back = producer_db.pool.begin().await?;
    outbox.enqueue(&mut rolled_back, &support::event(1, 1)).await?;
    rolled_back.rollback().await?;
    let mut pending = producer_db.pool.begin().await?;
    outbox.enqueue(&mut pending, &support::event(2, 1)).await?;

    let relay = OutboxRelay::new(producer_db.pool.clone(), &config)?;
    assert_eq!(relay.drain().await?, 0, "nothing committed, nothing published");
    pending.commit().await?;
    assert_eq!(relay.drain().await?, 1, "published once committed");
    assert_eq!(relay.drain().await?, 0, "and only once");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_deletes_only_rows_published_before_the_retention() -> anyhow::Result<()> {
    let config = support::bus().await?;
    let (producer_db, _) = support::databases().await?;
    support::enqueue(&producer_db, &Outbox::new(&config, Stream::Catalog), 3, 1).await?;
    let relay = OutboxRelay::new(producer_db.pool.clone(), &config)?.with_retention(Duration::from_secs(3600));
    assert_eq!(relay.drain().await?, 3);
    support::enqueue(&producer_db, &Outbox::new(&config, Stream::Catalog), 1, 1).await?;
    // One published row is old; one row is still unpublished.
    sqlx::query(
        "UPDATE eventbus.outbox SET published_at = now() - interval '2 hours'
         WHERE id = (SELECT min(id) FROM eventbus.outbox)",
    )
    .execute(&producer_db.pool)
    .await?;

    assert_eq!(relay.prune().await?, 1, "only the old published row goes");
    assert_eq!(support::unpublished(&producer_db).await?, 1, "unpublished rows are never pruned");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM eventbus.outbox").fetch_one(&producer_db.pool).await?;
    assert_eq!(left, 3);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_events_are_carried_and_impossible_ones_parked_without_blocking_the_rest() -> anyhow::Result<()> {
    use floodgate_proto::catalog::v1::PerformanceCancelled;
    let config = support::bus().await?;
    let (producer_db, _) = support::databases().await?;
    let outbox = Outbox::new(&config, Stream::Catalog);
    let sized = |name: &str, bytes: usize| {
        let payload =
            PerformanceCancelled { performance_id: name.into(), reason: "x".repeat(bytes), cancelled_at: None };
        floodgate_eventbus::Event::new("catalog", name, &payload, chrono::Utc::now())
    };
    // 3 MB: over Kafka's 1 MB default, within the bus's limit. 20 MB: over any limit.
    let mut tx = producer_db.pool.begin().await?;
    outbox.enqueue(&mut tx, &sized("big", 3 << 20)).await?;
    outbox.enqueue(&mut tx, &sized("impossible", 20 << 20)).await?;
    outbox.enqueue(&mut tx, &sized("after", 10)).await?;
    tx.commit().await?;

    let relay = OutboxRelay::new(producer_db.pool.clone(), &config)?;
    assert_eq!(relay.drain().await?, 3, "every row is dealt with");
    let rows: Vec<(String, bool, Option<String>)> =
        sqlx::query_as("SELECT message_key, published_at IS NOT NULL, failure FROM eventbus.outbox ORDER BY id")
            .fetch_all(&producer_db.pool)
            .await?;
    assert_eq!(rows[0], ("big".into(), true, None));
    assert_eq!((rows[1].0.as_str(), rows[1].1), ("impossible", false));
    assert!(rows[1].2.as_deref().is_some_and(|f| f.contains("too large")), "{:?}", rows[1].2);
    assert_eq!(rows[2], ("after".into(), true, None), "the row behind it was not blocked");

    let (messages, distinct) = support::read_topic(&config, &Stream::Catalog.topic(&config.topic_prefix), 2).await?;
    assert_eq!((messages, distinct), (2, 2));
    assert_eq!(relay.drain().await?, 0, "a parked row is not retried");
    Ok(())
}
