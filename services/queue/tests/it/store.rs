//! The waiting room in real Redis: idempotent joins, the fair draw, FIFO after open, outflow
//! limits across two replicas, abandonment, pause/resume, sold-out, and the timeline to the close.

use std::{collections::HashSet, time::Duration};

use floodgate_queue::{
    domain::fairness::Seed,
    store::{Inventory, Outflow, RoomState, RoomStore, Schedule, Step, StoreError},
};
use floodgate_testkit::TestRedis;

async fn store() -> anyhow::Result<RoomStore> {
    let redis = TestRedis::new()?;
    let client = redis::Client::open(redis.url.as_str())?;
    Ok(RoomStore::new(redis::aio::ConnectionManager::new(client).await?, &redis.prefix))
}

fn outflow(rate_per_second: u32, max_active: u32) -> Outflow {
    Outflow {
        rate_per_second,
        max_active,
        admission_ttl: Duration::from_secs(600),
        heartbeat_grace: Duration::from_secs(60),
    }
}

/// The buyers a room lets in, asking until at least `count` came through: the token bucket
/// fills from its first use, as the service's admission loop finds.
async fn admit_at_least(store: &RoomStore, sale: &str, count: usize) -> anyhow::Result<Vec<String>> {
    let mut admitted = Vec::new();
    for _ in 0..20 {
        admitted.extend(store.admit(sale, 10).await?.into_iter().map(|a| a.buyer_id));
        if admitted.len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(admitted)
}

#[tokio::test]
async fn joining_twice_keeps_one_place_and_closed_rooms_say_why() -> anyhow::Result<()> {
    let store = store().await?;
    assert!(matches!(store.join("nope", "b1").await, Err(StoreError::UnknownSale(_))));
    store.create_room("s1", RoomState::Scheduled, outflow(10, 10)).await?;
    assert!(matches!(store.join("s1", "b1").await, Err(StoreError::NotOpen(_))));
    store.set_state("s1", RoomState::Open).await?;

    let first = store.join("s1", "b1").await?;
    let again = store.join("s1", "b1").await?;
    assert!(first.new && !again.new);
    assert_eq!(first.entry_id, again.entry_id, "another device gets the same place");
    assert!(!store.create_room("s1", RoomState::Scheduled, outflow(1, 1)).await?, "creating twice changes nothing");
    let round = store.admit_next("s1", 0).await?;
    assert_eq!((round.admissions.len(), round.waiting), (0, 1), "b1 waits: the loop comes back next tick");

    store.set_state("s1", RoomState::SoldOut).await?;
    assert!(matches!(store.join("s1", "b2").await, Err(StoreError::Closed { state, .. }) if state == "sold_out"));
    assert_eq!(store.admit_next("s1", 100).await?, Default::default(), "a sold-out room admits nobody: quiet");
    Ok(())
}

#[tokio::test]
async fn the_pre_queue_is_drawn_fairly_then_first_come_first_served() -> anyhow::Result<()> {
    let store = store().await?;
    store.create_room("s2", RoomState::Scheduled, outflow(1_000, 10_000)).await?;
    let seed = Seed::generate();
    let commitment = store.open_pre_queue("s2", &seed).await?;
    assert_eq!(commitment, seed.commitment());
    assert!(store.audit("s2").await?.seed.is_empty(), "the seed stays secret until the sale opens");

    let mut early = Vec::new();
    for i in 0..200 {
        early.push(store.join("s2", &format!("early-{i}")).await?.entry_id);
    }
    let audit = store.open_sale("s2").await?;
    audit.verify()?;
    assert_eq!(store.audit("s2").await?, audit, "the published audit is the one the draw used");
    assert_eq!(audit.ordered_entry_ids, seed.order(early.iter().map(String::as_str)), "reproducible from the seed");

    let mut late = Vec::new();
    for i in 0..20 {
        late.push(store.join("s2", &format!("late-{i}")).await?.entry_id);
    }
    // Positions: the drawn pre-queue first, then late joiners in arrival order.
    let third = store.place("s2", &audit.ordered_entry_ids[2]).await?;
    assert_eq!((third.status.as_str(), third.ahead), ("waiting", 2));
    let last = store.place("s2", &late[19]).await?;
    assert_eq!(last.ahead, 219);

    let mut served = Vec::new();
    for _ in 0..50 {
        served.extend(store.admit("s2", 1_000).await?.into_iter().map(|a| a.entry_id));
        if served.len() == 220 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut expected = audit.ordered_entry_ids.clone();
    expected.extend(late);
    assert_eq!(served, expected, "served in exactly the published order");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_never_exceed_the_rate_or_the_cap_or_admit_twice() -> anyhow::Result<()> {
    let redis = TestRedis::new()?;
    let client = redis::Client::open(redis.url.as_str())?;
    let one = RoomStore::new(redis::aio::ConnectionManager::new(client.clone()).await?, &redis.prefix);
    let two = RoomStore::new(redis::aio::ConnectionManager::new(client).await?, &redis.prefix);
    one.create_room("s3", RoomState::Open, outflow(100, 10_000)).await?;
    for i in 0..1_000 {
        one.join("s3", &format!("b{i}")).await?;
    }

    // Both replicas run their admission loop as fast as they like for about two seconds.
    let started = std::time::Instant::now();
    let run = |store: RoomStore| async move {
        let mut admitted = Vec::new();
        while started.elapsed() < Duration::from_secs(2) {
            admitted.extend(store.admit("s3", 50).await?.into_iter().map(|a| a.entry_id));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        anyhow::Ok(admitted)
    };
    let (a, b) = tokio::join!(tokio::spawn(run(one.clone())), tokio::spawn(run(two)));
    let (a, b) = (a??, b??);
    let elapsed = started.elapsed().as_secs_f64();
    let all: Vec<_> = a.iter().chain(&b).cloned().collect();
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "nobody admitted twice");
    assert!(!a.is_empty() && !b.is_empty(), "both replicas took part");
    // The bucket starts empty and holds at most one second's worth: ≤ rate × elapsed.
    let ceiling = 100.0 * elapsed + 1.0;
    assert!((all.len() as f64) <= ceiling, "{} admitted in {elapsed:.2}s at 100/s", all.len());
    // And the room keeps flowing (loose: the test machine may be busy with other tests).
    assert!((all.len() as f64) >= 100.0 * (elapsed - 0.2) * 0.5, "{} admitted in {elapsed:.2}s at 100/s", all.len());

    // The cap: 1,000/s allowed, but only 25 may shop at once.
    one.create_room("s3-cap", RoomState::Open, outflow(1_000, 25)).await?;
    for i in 0..100 {
        one.join("s3-cap", &format!("b{i}")).await?;
    }
    let mut admitted = 0;
    for _ in 0..30 {
        admitted += one.admit("s3-cap", 1_000).await?.len();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(admitted, 25, "exactly the cap, however often the loop asks");
    assert_eq!(one.stats("s3-cap").await?.active, 25);
    Ok(())
}

#[tokio::test]
async fn an_admitted_buyer_who_never_shops_frees_the_slot_and_one_who_holds_keeps_it() -> anyhow::Result<()> {
    let store = store().await?.with_first_hold_within(Duration::from_millis(300));
    store.create_room("s-shop", RoomState::Open, outflow(1_000, 2)).await?;
    let mut entries = std::collections::HashMap::new();
    for buyer in ["shopper", "gone", "next"] {
        entries.insert(buyer, store.join("s-shop", buyer).await?.entry_id);
    }
    assert_eq!(admit_at_least(&store, "s-shop", 2).await?, ["shopper", "gone"], "two slots");
    store.shopping("s-shop", &entries["shopper"]).await?;

    tokio::time::sleep(Duration::from_millis(400)).await;
    let next = store.admit("s-shop", 10).await?;
    assert_eq!(next.iter().map(|a| a.buyer_id.as_str()).collect::<Vec<_>>(), ["next"], "gone's slot moved on");
    assert_eq!(store.stats("s-shop").await?.active, 2, "the shopper still counts, with next");
    // A late first hold on a slot already given away brings nothing back.
    store.shopping("s-shop", &entries["gone"]).await?;
    assert_eq!(store.stats("s-shop").await?.active, 2);
    Ok(())
}

#[tokio::test]
async fn a_look_by_its_buyer_keeps_the_turn_and_nobody_else_s_does() -> anyhow::Result<()> {
    let store = store().await?;
    let grace = Duration::from_millis(300);
    store
        .create_room("s4-look", RoomState::Paused, Outflow { heartbeat_grace: grace, ..outflow(1_000, 1_000) })
        .await?;
    let mine = store.join("s4-look", "alice").await?.entry_id;
    let peeked = store.join("s4-look", "bob").await?.entry_id;
    let stolen = store.join("s4-look", "carol").await?.entry_id;
    tokio::time::sleep(Duration::from_millis(450)).await;
    // Alice asks for her place; Bob's is only read; Mallory asks with Carol's entry id.
    assert_eq!(store.view("s4-look", &mine, Some("alice")).await?.owner, "alice");
    store.view("s4-look", &peeked, None).await?;
    store.view("s4-look", &stolen, Some("mallory")).await?;

    store.set_state("s4-look", RoomState::Open).await?;
    assert_eq!(admit_at_least(&store, "s4-look", 1).await?, ["alice"]);
    assert_eq!(store.place("s4-look", &peeked).await?.status, "abandoned");
    assert_eq!(store.place("s4-look", &stolen).await?.status, "abandoned");
    Ok(())
}

#[tokio::test]
async fn buyers_who_stop_heartbeating_lose_their_turn_and_pause_holds_the_line() -> anyhow::Result<()> {
    let store = store().await?;
    store
        .create_room(
            "s4",
            RoomState::Open,
            Outflow { heartbeat_grace: Duration::from_millis(200), ..outflow(1_000, 1_000) },
        )
        .await?;
    let gone = store.join("s4", "gone").await?.entry_id;
    let here = store.join("s4", "here").await?.entry_id;
    store.set_state("s4", RoomState::Paused).await?;
    tokio::time::sleep(Duration::from_millis(400)).await;
    store.heartbeat("s4", &here).await?;
    assert!(store.admit("s4", 10).await?.is_empty(), "a paused room admits nobody");

    store.set_state("s4", RoomState::Open).await?;
    assert_eq!(admit_at_least(&store, "s4", 1).await?, ["here"]);
    assert_eq!(store.place("s4", &gone).await?.status, "abandoned");
    let stats = store.stats("s4").await?;
    assert_eq!((stats.admitted, stats.abandoned, stats.active), (1, 1, 1));

    store.finish("s4", &here).await?;
    assert_eq!(store.stats("s4").await?.active, 0, "finishing frees the slot at once");
    Ok(())
}

#[tokio::test]
async fn admission_stops_while_those_inside_could_buy_everything_left() -> anyhow::Result<()> {
    let store = store().await?;
    store.create_room("s5", RoomState::Open, outflow(1_000, 1_000)).await?;
    for i in 0..50 {
        store.join("s5", &format!("b{i}")).await?;
    }
    let admit_all = async |admitted: &mut usize| -> anyhow::Result<()> {
        for _ in 0..20 {
            *admitted += store.admit("s5", 1_000).await?.len();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    };
    let mut admitted = 0;
    // 10 seats left, 2 tickets a buyer: 5 shoppers inside can take them all.
    store.set_inventory("s5", Inventory { available: 10, held: 0 }, 2.0).await?;
    admit_all(&mut admitted).await?;
    assert_eq!(admitted, 5);
    // Those five held them: nothing left for anyone else.
    store.set_inventory("s5", Inventory { available: 0, held: 10 }, 2.0).await?;
    admit_all(&mut admitted).await?;
    assert_eq!(admitted, 5);
    // Ten more seats came back (another sale channel returned them): the holders are served, so
    // five more shoppers may come in for those ten.
    store.set_inventory("s5", Inventory { available: 10, held: 10 }, 2.0).await?;
    admit_all(&mut admitted).await?;
    assert_eq!(admitted, 10);
    let nowhere = Inventory { available: 1, held: 0 };
    assert!(matches!(store.set_inventory("nope", nowhere, 2.0).await, Err(StoreError::UnknownSale(_))));
    Ok(())
}

/// The room measures how fast its line really moves, for honest ETAs: a room admitting far below
/// its rate (its shoppers' cap reached) must not tell everyone they are next.
#[tokio::test]
async fn the_line_speed_is_measured_between_snapshots() -> anyhow::Result<()> {
    let store = store().await?;
    store.create_room("s-speed", RoomState::Open, outflow(1_000, 2)).await?;
    let mut entries = Vec::new();
    for i in 0..5 {
        entries.push(store.join("s-speed", &format!("b{i}")).await?.entry_id);
    }
    let start = chrono::Utc::now();
    let window = Duration::from_secs(10);
    assert!(store.snapshot_stats("s-speed", start, window).await?);
    assert_eq!(store.view("s-speed", &entries[4], None).await?.line_per_minute, None, "one snapshot measures nothing");
    let mut admitted = 0;
    for _ in 0..20 {
        admitted += store.admit("s-speed", 10).await?.len();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(admitted, 2, "the cap of two shoppers holds the line");
    // A minute later (by the snapshot clock) the line had moved by two.
    assert!(store.snapshot_stats("s-speed", start + chrono::Duration::seconds(60), window).await?);
    assert_eq!(store.view("s-speed", &entries[4], None).await?.line_per_minute, Some(2));
    Ok(())
}

/// The timeline, step by step at chosen times: each step says when the next one is due (the
/// admission loop sleeps a quiet room until then), and a closed room leaves the loop only once
/// every event it wrote was relayed.
#[tokio::test]
async fn a_room_walks_its_timeline_saying_when_the_next_step_is_due() -> anyhow::Result<()> {
    let store = store().await?;
    let at = |s: i64| chrono::DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap_or_default();
    let schedule = Schedule { pre_queue_opens_at: at(0), sale_opens_at: at(60), sale_closes_at: Some(at(600)) };
    store.schedule_room("s-time", schedule, outflow(10, 10)).await?;
    assert_eq!(store.advance("s-time", at(-5)).await?, Step::Stayed { next: Some(at(0)) });
    assert_eq!(store.advance("s-time", at(0)).await?, Step::Moved(RoomState::PreQueue));
    assert_eq!(store.advance("s-time", at(1)).await?, Step::Stayed { next: Some(at(60)) });
    assert_eq!(store.advance("s-time", at(60)).await?, Step::Moved(RoomState::Open));
    assert_eq!(store.advance("s-time", at(61)).await?, Step::Stayed { next: Some(at(600)) });
    assert_eq!(store.advance("s-time", at(600)).await?, Step::Moved(RoomState::Closed));
    assert_eq!(store.advance("s-time", at(601)).await?, Step::Stayed { next: None }, "events still to relay");
    assert!(store.rooms().await?.contains(&"s-time".to_owned()));
    let pending = store.pending_events("s-time", 100).await?;
    let kinds: Vec<&str> = pending.iter().map(|e| e.fields["type"].as_str()).collect();
    assert_eq!(kinds, ["committed", "revealed", "state"]);
    store.relayed("s-time", &pending.iter().map(|e| e.id.clone()).collect::<Vec<_>>()).await?;
    assert_eq!(store.advance("s-time", at(602)).await?, Step::Retired);
    assert!(!store.rooms().await?.contains(&"s-time".to_owned()), "left the loop");
    assert_eq!(store.state("s-time").await?, RoomState::Closed, "still answers for its buyers");
    Ok(())
}
