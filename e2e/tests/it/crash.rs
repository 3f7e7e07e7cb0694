//! Crashes between "published" and "marked published": the producing service is killed with
//! SIGKILL after its relay delivered a batch but before it could mark it, then restarted. The
//! batch is sent again, and every event still takes effect in the consumer exactly once.

use std::time::Duration;

use chrono::Utc;
use floodgate_eventbus::{BusConfig, Event, Stream, outbox::Outbox};
use floodgate_proto::catalog::v1::PerformanceCancelled;
use floodgate_testkit::eventually;

use crate::platform::Infrastructure;

const EVENTS: i64 = 2_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_producer_killed_mid_relay_restarts_and_every_event_arrives_once() -> anyhow::Result<()> {
    let infrastructure = Infrastructure::new().await?;
    let bus = BusConfig {
        brokers: infrastructure.broker.brokers.clone(),
        topic_prefix: infrastructure.broker.topic_prefix.clone(),
        partitions: 3,
        replication: 1,
    };
    let booking = infrastructure.start("booking").await?;
    let catalog = infrastructure.start("catalog").await?;
    let catalog_db = &infrastructure.databases["catalog"];

    // A burst of committed events, as a busy catalog would write them.
    let outbox = Outbox::new(&bus, Stream::Catalog);
    let mut tx = catalog_db.pool.begin().await?;
    let performances: Vec<String> = (0..11).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    for n in 0..EVENTS {
        let payload = PerformanceCancelled {
            performance_id: performances[n as usize % performances.len()].clone(),
            reason: n.to_string(),
            cancelled_at: None,
        };
        outbox.enqueue(&mut tx, &Event::new("catalog", payload.performance_id.clone(), &payload, Utc::now())).await?;
    }
    tx.commit().await?;

    // Hold a row lock on one outbox row mid-way: the relay publishes the batch holding it, then
    // blocks marking it published — the crash window, made to last.
    let (blocked_id, blocked_event): (i64, uuid::Uuid) =
        sqlx::query_as("SELECT id, event_id FROM eventbus.outbox ORDER BY id OFFSET $1 LIMIT 1")
            .bind(EVENTS / 2)
            .fetch_one(&catalog_db.pool)
            .await?;
    // Locked by id: with OFFSET, FOR UPDATE would also lock every row it skipped.
    let mut blocker = catalog_db.pool.begin().await?;
    sqlx::query("SELECT 1 FROM eventbus.outbox WHERE id = $1 FOR UPDATE")
        .bind(blocked_id)
        .execute(&mut *blocker)
        .await?;
    let booking_db = &infrastructure.databases["booking"];
    eventually(Duration::from_secs(60), "booking to receive the blocked row's event", || async {
        Ok(sqlx::query_scalar::<_, i64>("SELECT 1::int8 FROM eventbus.inbox WHERE event_id = $1")
            .bind(blocked_event)
            .fetch_optional(&booking_db.pool)
            .await?)
    })
    .await?;

    // Published and delivered, not yet marked: kill catalog now.
    catalog.kill().await?;
    blocker.rollback().await?;
    let marked: Option<chrono::DateTime<Utc>> =
        sqlx::query_scalar("SELECT published_at FROM eventbus.outbox WHERE id = $1")
            .bind(blocked_id)
            .fetch_one(&catalog_db.pool)
            .await?;
    assert!(marked.is_none(), "the crash left a delivered row unmarked, so it will be sent again");

    // Restarted, it publishes the rest; booking applies every event once.
    let catalog = infrastructure.start("catalog").await?;
    let applied = eventually(Duration::from_secs(120), "booking to apply every event", || async {
        let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM eventbus.inbox WHERE event_type = $1")
            .bind("floodgate.catalog.v1.PerformanceCancelled")
            .fetch_one(&booking_db.pool)
            .await?;
        Ok((applied >= EVENTS).then_some(applied))
    })
    .await?;
    assert_eq!(applied, EVENTS, "the inbox holds each event once");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM eventbus.outbox WHERE published_at IS NULL")
        .fetch_one(&catalog_db.pool)
        .await?;
    assert_eq!(left, 0);

    for process in [catalog, booking] {
        assert!(process.terminate(Duration::from_secs(20)).await?.success());
    }
    Ok(())
}
