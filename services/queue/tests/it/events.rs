//! What the room does with booking's events: a shopper who is done — an order placed, a hold
//! let lapse — gives their slot to the next in line at once, not when their admission expires.

use std::time::Duration;

use chrono::Utc;
use floodgate_eventbus::{Application as _, Event, Origin};
use floodgate_proto::{booking::v1 as booking, types::v1 as types};
use floodgate_queue::{
    events::QueueEvents,
    store::{Outflow, RoomState, RoomStore},
};
use floodgate_testkit::TestRedis;

async fn room(sale: &str, max_active: u32) -> anyhow::Result<(QueueEvents, TestRedis)> {
    let redis = TestRedis::new()?;
    let connection = redis::aio::ConnectionManager::new(redis::Client::open(redis.url.as_str())?).await?;
    let store = RoomStore::new(connection.clone(), &redis.prefix);
    let outflow = Outflow {
        rate_per_second: 1_000,
        max_active,
        admission_ttl: Duration::from_secs(600),
        heartbeat_grace: Duration::from_secs(60),
    };
    store.create_room(sale, RoomState::Open, outflow).await?;
    let dead_letters = format!("{}dead", redis.prefix);
    Ok((QueueEvents { store, redis: connection, dead_letters, paces: Default::default() }, redis))
}

async fn deliver<P: floodgate_proto::EventPayload>(events: &QueueEvents, payload: &P) -> anyhow::Result<()> {
    let event = Event::new("booking", "sale", payload, Utc::now());
    // As the consumer does: a type the service does not declare is passed over unapplied.
    anyhow::ensure!(events.wants(&event.event_type), "the queue would pass over {}", event.event_type);
    let origin = Origin { topic: "booking".into(), partition: 0, offset: 0 };
    events.apply("queue", &event, &origin).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok(())
}

/// Who the room lets in now: the token bucket fills from its first use, so ask twice.
async fn admit(store: &RoomStore, sale: &str) -> anyhow::Result<Vec<String>> {
    let mut admitted = Vec::new();
    for _ in 0..2 {
        admitted.extend(store.admit(sale, 10).await?.into_iter().map(|a| a.buyer_id));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(admitted)
}

fn expired(sale: &str, buyer_key: &str) -> booking::HoldExpired {
    booking::HoldExpired { performance_id: sale.into(), buyer_key: buyer_key.into(), ..Default::default() }
}

#[tokio::test]
async fn a_lapsed_hold_a_released_one_or_a_placed_order_frees_the_shoppers_slot() -> anyhow::Result<()> {
    let (events, _redis) = room("s1", 2).await?;
    for buyer in ["user:a", "user:b", "user:c", "user:d"] {
        events.store.join("s1", buyer).await?;
    }
    assert_eq!(admit(&events.store, "s1").await?, ["user:a", "user:b"], "two slots");
    assert!(admit(&events.store, "s1").await?.is_empty(), "full until someone is done");

    // Events about nobody in the room (or from before holds named their buyer) change nothing.
    deliver(&events, &expired("s1", "user:stranger")).await?;
    deliver(&events, &expired("s1", "")).await?;
    assert_eq!(events.store.stats("s1").await?.active, 2);

    deliver(&events, &expired("s1", "user:a")).await?;
    assert_eq!(events.store.stats("s1").await?.active, 1);
    assert_eq!(admit(&events.store, "s1").await?, ["user:c"]);

    let placed = booking::OrderPlaced {
        performance_id: "s1".into(),
        buyer: Some(types::Buyer { kind: Some(types::buyer::Kind::UserId("b".into())) }),
        ..Default::default()
    };
    deliver(&events, &placed).await?;
    assert_eq!(events.store.stats("s1").await?.active, 1, "b's slot is free; c shops");

    let released =
        booking::SeatsReleased { performance_id: "s1".into(), buyer_key: "user:c".into(), ..Default::default() };
    deliver(&events, &released).await?;
    assert_eq!(events.store.stats("s1").await?.active, 0, "c gave the seats back");
    assert_eq!(admit(&events.store, "s1").await?, ["user:d"]);
    let held = booking::SeatsHeld { performance_id: "s1".into(), buyer_key: "user:d".into(), ..Default::default() };
    deliver(&events, &held).await?;
    assert_eq!(events.store.stats("s1").await?.active, 1, "d shops on");
    Ok(())
}
