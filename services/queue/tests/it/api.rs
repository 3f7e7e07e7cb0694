//! The waiting room's gRPC API end to end: the service built in-process on real Redis, a room,
//! buyers joining, the admission loop letting them through with tokens the verification library
//! accepts, and buyers seeing only their own place.

use std::time::Duration;

use chrono::Utc;
use floodgate_admission::{PublicKey, TokenError, Verifier};
use floodgate_proto::queue::v1::{self as wire, queue_service_client::QueueServiceClient};
use floodgate_queue::{
    Queue,
    store::{Inventory, Outflow, RoomState, RoomStore, Schedule},
};
use floodgate_runtime::{Service as _, ServiceCli};
use floodgate_telemetry::Metrics;
use floodgate_testkit::{TestBroker, TestRedis};
use futures::StreamExt as _;
use tokio_util::sync::CancellationToken;
use tonic::{Code, transport::Channel};

struct Running {
    client: QueueServiceClient<Channel>,
    store: RoomStore,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), floodgate_runtime::HostError>>,
}

async fn start() -> anyhow::Result<(Running, TestBroker)> {
    let redis = TestRedis::new()?;
    let broker = TestBroker::new()?;
    let key = "07".repeat(32);
    let cli = ServiceCli::<floodgate_queue::Config>::try_parse_for(
        "floodgate-queue",
        "test",
        [
            "floodgate-queue",
            "--redis-url",
            &redis.url,
            "--redis-prefix",
            &redis.prefix,
            "--kafka-brokers",
            &broker.brokers,
            "--topic-prefix",
            &broker.topic_prefix,
            "--admission-key",
            &key,
            "--admission-tick",
            "20ms",
        ],
    )?;
    let app = Queue::build(cli.config, Metrics::standalone("queue")?).await?;
    let channel = Channel::from_shared(format!("http://{}", app.host.grpc_addr()))?.connect_lazy();
    let stop = CancellationToken::new();
    let task = tokio::spawn(app.run(stop.clone()));
    let client = redis::Client::open(redis.url.as_str())?;
    let store = RoomStore::new(redis::aio::ConnectionManager::new(client).await?, &redis.prefix);
    Ok((Running { client: QueueServiceClient::new(channel), store, stop, task }, broker))
}

fn outflow() -> Outflow {
    Outflow {
        rate_per_second: 50,
        max_active: 1_000,
        admission_ttl: Duration::from_secs(600),
        heartbeat_grace: Duration::from_secs(60),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buyers_join_watch_and_leave_with_tokens_that_verify() -> anyhow::Result<()> {
    let (Running { mut client, store, stop, task }, broker) = start().await?;
    let now = Utc::now();
    // The room opens its pre-queue now and its sale in a moment.
    store
        .schedule_room(
            "sale-1",
            Schedule {
                pre_queue_opens_at: now,
                sale_opens_at: now + chrono::Duration::milliseconds(500),
                sale_closes_at: None,
            },
            outflow(),
        )
        .await?;

    let join =
        |buyer: &str| wire::JoinRequest { sale_id: "sale-1".into(), buyer_id: buyer.into(), device_id: "phone".into() };
    // Joining before the pre-queue opened is refused clearly, then it opens.
    let mut joined = None;
    for _ in 0..50 {
        match client.join(join("alice")).await {
            Ok(response) => {
                joined = Some(response.into_inner());
                break;
            }
            Err(status) => {
                assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    let alice = joined.expect("the pre-queue opened");
    assert_eq!(alice.position.as_ref().map(|p| p.status()), Some(wire::EntryStatus::PreQueue));
    // The pre-queue is told when places are drawn: when to ask again.
    let opens_at = alice.position.as_ref().and_then(|p| p.sale_opens_at).map(|t| t.seconds);
    assert_eq!(opens_at, Some((now + chrono::Duration::milliseconds(500)).timestamp()));
    let again = client.join(join("alice")).await?.into_inner();
    assert_eq!(again.entry_id, alice.entry_id, "joining again keeps the place");

    // Another buyer cannot see Alice's place.
    let snooping = client
        .get_position(wire::GetPositionRequest {
            sale_id: "sale-1".into(),
            entry_id: alice.entry_id.clone(),
            buyer_id: "mallory".into(),
        })
        .await
        .expect_err("not hers");
    assert_eq!(snooping.code(), Code::NotFound);

    // Watching: updates until admitted, ending with a token.
    let mut updates = client
        .watch_position(wire::WatchPositionRequest {
            sale_id: "sale-1".into(),
            entry_id: alice.entry_id.clone(),
            buyer_id: "alice".into(),
        })
        .await?
        .into_inner();
    let mut last = None;
    while let Some(update) = tokio::time::timeout(Duration::from_secs(10), updates.next()).await? {
        last = Some(update?);
    }
    let last = last.expect("updates");
    assert_eq!(last.status(), wire::EntryStatus::Admitted);
    assert_eq!(last.sale_opens_at, None, "past the pre-queue");
    let token = last.admission.expect("a token").token;

    // The verification library, with the published key, accepts it only for Alice and this sale.
    let keys = client.get_admission_keys(wire::GetAdmissionKeysRequest {}).await?.into_inner();
    let verifier = Verifier::new(
        keys.keys.iter().map(|k| PublicKey::from_bytes(&k.key_id, &k.public_key)).collect::<Result<Vec<_>, _>>()?,
    );
    let claims = verifier.verify(&token, "sale-1", "alice", Utc::now())?;
    assert_eq!(claims.buyer_id, "alice");
    assert_eq!(verifier.verify(&token, "sale-2", "alice", Utc::now()), Err(TokenError::WrongSale));
    assert_eq!(verifier.verify(&token, "sale-1", "mallory", Utc::now()), Err(TokenError::WrongBuyer));

    // The draw is published and checks out.
    let audit =
        client.get_fairness_audit(wire::GetFairnessAuditRequest { sale_id: "sale-1".into() }).await?.into_inner();
    let audit = floodgate_queue::domain::fairness::Audit {
        sale_id: audit.sale_id,
        seed_commitment: audit.seed_commitment,
        seed: audit.seed,
        ordered_entry_ids: audit.ordered_entry_ids,
    };
    assert_eq!(audit.position_of(&alice.entry_id), Ok(1));

    // Pausing holds the line; stats tell the operator.
    client
        .pause_room(wire::PauseRoomRequest { sale_id: "sale-1".into(), reason: "payment provider slow".into() })
        .await?;
    let bob = client.join(join("bob")).await?.into_inner();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let position = client
        .get_position(wire::GetPositionRequest {
            sale_id: "sale-1".into(),
            entry_id: bob.entry_id.clone(),
            buyer_id: "bob".into(),
        })
        .await?
        .into_inner();
    assert_eq!((position.status(), position.position), (wire::EntryStatus::Waiting, 0));
    assert!(position.eta.is_none(), "no ETA while paused");
    assert_eq!(position.odds, None, "no odds before booking reports what is left");
    store.set_inventory("sale-1", Inventory { available: 100, held: 0 }, 2.0).await?;
    let position = client
        .get_position(wire::GetPositionRequest {
            sale_id: "sale-1".into(),
            entry_id: bob.entry_id.clone(),
            buyer_id: "bob".into(),
        })
        .await?
        .into_inner();
    assert_eq!(position.odds, Some(1.0), "first in line with 100 seats left");
    let stats = client.get_room_stats(wire::GetRoomStatsRequest { sale_id: "sale-1".into() }).await?.into_inner();
    assert_eq!((stats.state(), stats.waiting, stats.admitted_total), (wire::RoomState::Paused, 1, 1));

    client
        .leave(wire::LeaveRequest { sale_id: "sale-1".into(), entry_id: bob.entry_id.clone(), buyer_id: "bob".into() })
        .await?;
    assert_eq!(store.stats("sale-1").await?.waiting, 0);
    assert_eq!(store.state("sale-1").await?, RoomState::Paused);

    // The room told the bus: commitment, reveal, Alice's admission (with her token's id), pause.
    let (events, snapshots) = queue_events(&broker, 4).await?;
    assert!(!snapshots.is_empty(), "periodic stats are published too");
    let types: Vec<&str> = events.iter().map(|e| e.event_type.rsplit('.').next().unwrap_or_default()).collect();
    assert_eq!(types, ["SeedCommitted", "SeedRevealed", "BuyerAdmitted", "RoomStateChanged"]);
    let admitted = events[2].payload::<wire::BuyerAdmitted>()?;
    assert_eq!((admitted.buyer_id.as_str(), admitted.token_id.clone()), ("alice", claims.token_id.to_string()));
    assert_eq!(events[1].payload::<wire::SeedRevealed>()?.seed, audit.seed);
    assert!(events.iter().all(|e| e.key == "sale-1"));

    stop.cancel();
    task.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_performance_gets_a_room_and_a_cancelled_one_closes_it() -> anyhow::Result<()> {
    use floodgate_eventbus::{Event, Stream};
    use floodgate_proto::catalog::v1 as catalog;
    use rdkafka::producer::{FutureProducer, FutureRecord};

    let (running, broker) = start().await?;
    let Running { mut client, stop, task, .. } = running;
    let now = Utc::now();
    let at = |t: chrono::DateTime<Utc>| Some(prost_types::Timestamp { seconds: t.timestamp(), nanos: 0 });
    let published = catalog::PerformancePublished {
        performance: Some(catalog::Performance {
            performance_id: "perf-7".into(),
            sale_config: Some(catalog::SaleConfig {
                waiting_room_opens_at: at(now + chrono::Duration::hours(1)),
                sale_opens_at: at(now + chrono::Duration::hours(2)),
                admission_rate_per_second: 300,
                max_active_shoppers: 4_000,
                admission_ttl: Some(prost_types::Duration { seconds: 600, nanos: 0 }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let cancelled =
        catalog::PerformanceCancelled { performance_id: "perf-7".into(), reason: "storm".into(), cancelled_at: None };
    let producer: FutureProducer = rdkafka::ClientConfig::new().set("bootstrap.servers", &broker.brokers).create()?;
    let topic = Stream::Catalog.topic(&broker.topic_prefix);
    let send = |event: Event| {
        let producer = producer.clone();
        let topic = topic.clone();
        async move {
            let bytes = event.encode();
            producer
                .send(FutureRecord::to(&topic).key("perf-7").payload(&bytes), Duration::from_secs(10))
                .await
                .map_err(|(e, _)| e)
        }
    };
    let publication = Event::new("catalog", "perf-7", &published, now);
    send(publication.clone()).await?;
    send(publication).await?; // a redelivery changes nothing

    let room = floodgate_testkit::eventually(Duration::from_secs(60), "the room to be created", || {
        let mut client = client.clone();
        async move {
            Ok(client.get_room(wire::GetRoomRequest { sale_id: "perf-7".into() }).await.ok().map(|r| r.into_inner()))
        }
    })
    .await?;
    assert_eq!(
        (room.state(), room.admission_rate_per_second, room.max_active_shoppers),
        (wire::RoomState::Scheduled, 300, 4_000)
    );

    send(Event::new("catalog", "perf-7", &cancelled, now)).await?;
    floodgate_testkit::eventually(Duration::from_secs(60), "the room to close", || {
        let mut client = client.clone();
        async move {
            let room = client.get_room(wire::GetRoomRequest { sale_id: "perf-7".into() }).await?.into_inner();
            Ok((room.state() == wire::RoomState::Closed).then_some(()))
        }
    })
    .await?;
    let refused = client
        .join(wire::JoinRequest { sale_id: "perf-7".into(), buyer_id: "late".into(), device_id: String::new() })
        .await
        .expect_err("closed");
    assert_eq!(refused.code(), Code::FailedPrecondition);

    stop.cancel();
    task.await??;
    Ok(())
}

/// Every room ever made was visited on every tick, forever: 26 rooms of past rehearsals kept an
/// idle queue at 3,000 Redis commands a second. A room closes when its sale ends, says so on the
/// bus, and leaves the admission loop; nothing reopens it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_closes_when_its_sale_ends_and_leaves_the_loop() -> anyhow::Result<()> {
    let (Running { mut client, store, stop, task }, broker) = start().await?;
    let now = Utc::now();
    let closes = now + chrono::Duration::milliseconds(1500);
    let schedule = Schedule { pre_queue_opens_at: now, sale_opens_at: now, sale_closes_at: Some(closes) };
    // One shopper at a time: Alice gets in, Carol waits behind her.
    store.schedule_room("sale-end", schedule, Outflow { max_active: 1, ..outflow() }).await?;
    let join = |buyer: &str| wire::JoinRequest {
        sale_id: "sale-end".into(),
        buyer_id: buyer.into(),
        device_id: String::new(),
    };
    let alice = floodgate_testkit::eventually(Duration::from_secs(10), "the room to open", || {
        let mut client = client.clone();
        async move { Ok(client.join(join("alice")).await.ok().map(|r| r.into_inner().entry_id)) }
    })
    .await?;
    let carol = client.join(join("carol")).await?.into_inner().entry_id;

    floodgate_testkit::eventually(Duration::from_secs(10), "the room to leave the loop", || {
        let store = store.clone();
        async move { Ok((!store.rooms().await?.contains(&"sale-end".to_owned())).then_some(())) }
    })
    .await?;
    assert!(Utc::now() >= closes, "not before the sale ended");
    assert_eq!(store.state("sale-end").await?, RoomState::Closed);
    let status = |entry_id: String, buyer: &str| {
        let (mut client, buyer_id) = (client.clone(), buyer.to_owned());
        async move {
            let ask = wire::GetPositionRequest { sale_id: "sale-end".into(), entry_id, buyer_id };
            anyhow::Ok(client.get_position(ask).await?.into_inner().status())
        }
    };
    assert_eq!(status(carol, "carol").await?, wire::EntryStatus::Closed, "still waiting when it ended");
    assert_eq!(status(alice, "alice").await?, wire::EntryStatus::Admitted, "let in before it ended");
    let refused = client.join(join("bob")).await.expect_err("the sale ended");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    let reopened =
        client.resume_room(wire::ResumeRoomRequest { sale_id: "sale-end".into() }).await.expect_err("closed for good");
    assert_eq!(reopened.code(), Code::FailedPrecondition);
    assert_eq!(store.state("sale-end").await?, RoomState::Closed);

    // The bus heard it, after the opening and Alice's admission.
    let (events, _) = queue_events(&broker, 3).await?;
    let closed = events[2].payload::<wire::RoomStateChanged>()?;
    assert_eq!((closed.sale_id.as_str(), closed.state()), ("sale-end", wire::RoomState::Closed));
    assert!(events[1].is::<wire::BuyerAdmitted>(), "{:?}", events[1].event_type);
    stop.cancel();
    task.await??;
    Ok(())
}

/// The first `count` events on the queue's topic, and the stats snapshots between them.
async fn queue_events(
    broker: &TestBroker,
    count: usize,
) -> anyhow::Result<(Vec<floodgate_eventbus::Event>, Vec<floodgate_eventbus::Event>)> {
    use rdkafka::{
        Message as _,
        consumer::{Consumer as _, StreamConsumer},
    };
    let consumer: StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &broker.brokers)
        .set("group.id", format!("{}reader", broker.topic_prefix))
        .set("auto.offset.reset", "earliest")
        .create()?;
    consumer.subscribe(&[floodgate_eventbus::Stream::Queue.topic(&broker.topic_prefix).as_str()])?;
    let (mut events, mut snapshots) = (Vec::new(), Vec::new());
    while events.len() < count {
        let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv()).await??;
        let event = floodgate_eventbus::Event::decode(message.payload().unwrap_or_default())?;
        if event.is::<wire::RoomStatsSnapshot>() { snapshots.push(event) } else { events.push(event) }
    }
    Ok((events, snapshots))
}

/// Found by the rehearsal kit: a buyer who waited longer than the heartbeat grace lost their turn
/// at the front however closely they watched. Asking for the place keeps it; going silent loses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buyers_who_ask_for_their_place_keep_their_turn() -> anyhow::Result<()> {
    let (Running { mut client, store, stop, task }, _broker) = start().await?;
    let now = Utc::now();
    let outflow = Outflow { heartbeat_grace: Duration::from_millis(800), ..outflow() };
    let opens = now + chrono::Duration::milliseconds(2500);
    store
        .schedule_room(
            "sale-hb",
            Schedule { pre_queue_opens_at: now, sale_opens_at: opens, sale_closes_at: None },
            outflow,
        )
        .await?;
    let join =
        |buyer: &str| wire::JoinRequest { sale_id: "sale-hb".into(), buyer_id: buyer.into(), device_id: String::new() };
    // The pre-queue opens on the admission loop's next tick.
    let mut opened = client.join(join("watcher")).await;
    for _ in 0..50 {
        if opened.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        opened = client.join(join("watcher")).await;
    }
    let watcher = opened?.into_inner().entry_id;
    let silent = client.join(join("silent")).await?.into_inner().entry_id;
    let ask = |entry: &str, buyer: &str| wire::GetPositionRequest {
        sale_id: "sale-hb".into(),
        entry_id: entry.to_owned(),
        buyer_id: buyer.to_owned(),
    };
    // Well past the grace, the watcher keeps asking until admitted.
    let mut admitted = false;
    for _ in 0..100 {
        let place = client.get_position(ask(&watcher, "watcher")).await?.into_inner();
        if place.admission.is_some() {
            admitted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(admitted, "the buyer who kept asking was admitted");
    let gone = client.get_position(ask(&silent, "silent")).await?.into_inner();
    assert!(gone.admission.is_none(), "the silent buyer lost the turn: {gone:?}");
    stop.cancel();
    task.await??;
    Ok(())
}
