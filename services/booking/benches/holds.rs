//! Load run of the hold path and of confirmations, on real Redis and PostgreSQL (not a unit
//! benchmark: it needs `./floodgate test`'s servers or your own, through the
//! `FLOODGATE_TEST_*` variables):
//!
//!     FLOODGATE_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:55433/postgres \
//!     FLOODGATE_TEST_REDIS_URL=redis://127.0.0.1:56380/0 cargo bench -p floodgate-booking --bench holds
//!
//! 1. Holds through booking's gRPC API (served in this process on 127.0.0.1, Redis on the same
//!    box), admission tokens verified on every call, for `FLOODGATE_LOAD_SECONDS` (default 5)
//!    per mix: *spread* (1–4 random seats of a 50,000-seat map, 2 s hold TTL so seats recycle)
//!    and *hot* (everyone after the same 8 seats). Prints holds/s and p50/p99/p99.9 latency.
//! 2. Confirmations: `FLOODGATE_LOAD_ORDERS` (default 3,000) checked-out orders approved through
//!    the inbox handler by 16 concurrent consumers. Prints orders/s.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::Utc;
use floodgate_admission::{AdmissionKey, Claims, Verifier};
use floodgate_booking::{
    BookingEvents,
    domain::{Buyer, ticket::TicketSigner},
    grpc::BookingApi,
    holds::{Holds, SeatsWanted},
    inventory::Inventories,
    orders::{Checkout, Orders},
    store::HoldStore,
};
use floodgate_eventbus::{BusConfig, Event, EventHandler as _, Stream, outbox::Outbox};
use floodgate_proto::{
    booking::v1::{
        HoldSeatsRequest, booking_service_client::BookingServiceClient, booking_service_server::BookingServiceServer,
    },
    catalog::v1 as catalog,
    payment::v1::PaymentApproved,
    types::v1 as types,
};
use floodgate_testkit::{TestDatabase, TestRedis};
use rand::Rng as _;
use tonic::transport::Channel;
use uuid::Uuid;

const SECTIONS: usize = 20;
const ROWS: usize = 50;
const SEATS: usize = 50;
const CLIENTS: usize = 64;
const CHANNELS: usize = 4;
const BUYERS: usize = 20_000;

struct Setup {
    db: TestDatabase,
    holds: Holds,
    orders: Orders,
    events: BookingEvents,
    key: AdmissionKey,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::var("FLOODGATE_TEST_DATABASE_URL").is_err() || std::env::var("FLOODGATE_TEST_REDIS_URL").is_err() {
        eprintln!("holds: set FLOODGATE_TEST_DATABASE_URL and FLOODGATE_TEST_REDIS_URL (skipped)");
        return Ok(());
    }
    let seconds = env_number("FLOODGATE_LOAD_SECONDS", 5);
    let setup = setup().await?;
    println!("machine: {} cores; booking gRPC + Redis + PostgreSQL on this box", cores());

    let spread = publish(&setup, Duration::from_secs(2)).await?;
    let hot = publish(&setup, Duration::from_secs(600)).await?;
    let url = serve(&setup).await?;
    let mut channels = Vec::new();
    for _ in 0..CHANNELS {
        channels
            .push(BookingServiceClient::new(tonic::transport::Endpoint::from_shared(url.clone())?.connect().await?));
    }
    for (name, performance, hot_seats) in [("spread", spread, false), ("hot", hot, true)] {
        let tokens = Arc::new(tokens(&setup.key, performance));
        let report = hold_run(&channels, performance, tokens, hot_seats, Duration::from_secs(seconds)).await;
        report.print(name);
    }

    let orders = env_number("FLOODGATE_LOAD_ORDERS", 3_000) as usize;
    confirm_run(&setup, orders).await?;
    Ok(())
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn cores() -> usize {
    std::thread::available_parallelism().map(usize::from).unwrap_or(1)
}

async fn setup() -> anyhow::Result<Setup> {
    let db = TestDatabase::new(&[floodgate_eventbus::migrator(), &floodgate_booking::MIGRATOR]).await?;
    let redis = TestRedis::new()?;
    let connection = redis::Client::open(redis.url.as_str())?.get_connection_manager().await?;
    let store = HoldStore::new(connection, &redis.prefix);
    let key = AdmissionKey::from_secret("k1", &[9; 32])?;
    let holds = Holds::new(Inventories::new(db.pool.clone(), store), Arc::new(Verifier::new([key.public()])));
    let bus = BusConfig { brokers: String::new(), topic_prefix: "load.".into(), partitions: 1, replication: 1 };
    let signer = Arc::new(TicketSigner::new("t1", [5; 32]));
    let orders = Orders::new(db.pool.clone(), holds.clone(), Outbox::new(&bus, Stream::Booking), signer);
    let events = BookingEvents { orders: orders.clone() };
    Ok(Setup { db, holds, orders, events, key })
}

/// A 50,000-seat performance, one price, no per-buyer limit.
async fn publish(setup: &Setup, hold_ttl: Duration) -> anyhow::Result<Uuid> {
    let performance = Uuid::now_v7();
    let sections = (0..SECTIONS)
        .map(|s| catalog::Section {
            section_id: format!("S{s}"),
            kind: catalog::SectionKind::Reserved.into(),
            grade_code: "R".into(),
            rows: (0..ROWS)
                .map(|r| catalog::Row {
                    label: r.to_string(),
                    seats: (0..SEATS)
                        .map(|n| catalog::Seat {
                            seat_id: format!("S{s}-{r}-{n}"),
                            number: n.to_string(),
                            position: Some(catalog::Point { x: (s * SEATS + n) as f64, y: r as f64 }),
                            ..Default::default()
                        })
                        .collect(),
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    let starts_at = Utc::now() + chrono::Duration::days(30);
    let published = catalog::PerformancePublished {
        performance: Some(catalog::Performance {
            performance_id: performance.to_string(),
            starts_at: Some(prost_types::Timestamp { seconds: starts_at.timestamp(), nanos: 0 }),
            sale_config: Some(catalog::SaleConfig {
                hold_ttl: Some(prost_types::Duration { seconds: hold_ttl.as_secs() as i64, nanos: 0 }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        seat_map: Some(catalog::SeatMap { sections, ..Default::default() }),
        prices: vec![catalog::GradePrice {
            grade_code: "R".into(),
            audience: 0,
            price: Some(types::Money { minor: 100_000, currency: "KRW".into() }),
        }],
        ..Default::default()
    };
    let mut tx = setup.db.pool.begin().await?;
    let event = Event::new("catalog", performance.to_string(), &published, Utc::now());
    setup.events.handle(&mut tx, &event).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    tx.commit().await?;
    Ok(performance)
}

async fn serve(setup: &Setup) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let api = BookingApi::new(setup.holds.clone(), setup.orders.clone());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(BookingServiceServer::new(api))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    Ok(url)
}

fn tokens(key: &AdmissionKey, performance: Uuid) -> Vec<(String, String)> {
    (0..BUYERS)
        .map(|i| {
            let buyer = format!("load-{i}");
            let claims = Claims::admit(
                &performance.to_string(),
                &format!("user:{buyer}"),
                Utc::now(),
                chrono::Duration::hours(1),
            );
            (buyer, key.issue(&claims))
        })
        .collect()
}

#[derive(Default)]
struct Report {
    latencies_us: Vec<u64>,
    held: u64,
    refused: u64,
    failed: u64,
    elapsed: Duration,
}

impl Report {
    fn print(mut self, name: &str) {
        self.latencies_us.sort_unstable();
        let at = |q: f64| {
            let i = ((self.latencies_us.len() as f64 - 1.0) * q).round() as usize;
            self.latencies_us.get(i).copied().unwrap_or(0) as f64 / 1000.0
        };
        let total = self.held + self.refused + self.failed;
        println!(
            "{name:>6}: {:>8.0} hold calls/s ({} held, {} taken/refused, {} errors) p50 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms",
            total as f64 / self.elapsed.as_secs_f64(),
            self.held,
            self.refused,
            self.failed,
            at(0.50),
            at(0.99),
            at(0.999)
        );
    }
}

async fn hold_run(
    channels: &[BookingServiceClient<Channel>],
    performance: Uuid,
    tokens: Arc<Vec<(String, String)>>,
    hot: bool,
    duration: Duration,
) -> Report {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let mut client = channels[c % channels.len()].clone();
        let tokens = tokens.clone();
        tasks.push(tokio::spawn(async move {
            let mut report = Report::default();
            let mut n = c;
            while started.elapsed() < duration {
                let (buyer, token) = &tokens[n % tokens.len()];
                n += CLIENTS;
                let seat_ids: Vec<String> = {
                    let mut rng = rand::rng();
                    if hot {
                        vec![format!("S0-0-{}", rng.random_range(0..8))]
                    } else {
                        let (s, r, first) =
                            (rng.random_range(0..SECTIONS), rng.random_range(0..ROWS), rng.random_range(0..SEATS - 4));
                        (0..rng.random_range(1..=4)).map(|k| format!("S{s}-{r}-{}", first + k)).collect()
                    }
                };
                let request = HoldSeatsRequest {
                    performance_id: performance.to_string(),
                    buyer: Some(types::Buyer { kind: Some(types::buyer::Kind::UserId(buyer.clone())) }),
                    seat_ids,
                    admission_token: token.clone(),
                    ..Default::default()
                };
                let sent = Instant::now();
                let result = client.hold_seats(request).await;
                report.latencies_us.push(sent.elapsed().as_micros() as u64);
                match result {
                    Ok(_) => report.held += 1,
                    Err(status) if status.code() == tonic::Code::FailedPrecondition => report.refused += 1,
                    Err(_) => report.failed += 1,
                }
            }
            report
        }));
    }
    let mut total = Report::default();
    for task in tasks {
        if let Ok(report) = task.await {
            total.latencies_us.extend(report.latencies_us);
            total.held += report.held;
            total.refused += report.refused;
            total.failed += report.failed;
        }
    }
    total.elapsed = started.elapsed();
    total
}

/// Checks out `count` orders (one seat each), then approves them all concurrently.
async fn confirm_run(setup: &Setup, count: usize) -> anyhow::Result<()> {
    let performance = publish(setup, Duration::from_secs(600)).await?;
    let mut orders = Vec::with_capacity(count);
    for i in 0..count {
        let buyer = Buyer::Member { user_id: format!("c{i}") };
        let token = setup.key.issue(&Claims::admit(
            &performance.to_string(),
            &buyer.key(),
            Utc::now(),
            chrono::Duration::hours(1),
        ));
        let seat = format!("S{}-{}-{}", i % SECTIONS, (i / SECTIONS) % ROWS, (i / SECTIONS / ROWS) % SEATS);
        let wanted = SeatsWanted {
            seats: vec![seat],
            general_admission: Vec::new(),
            admission_token: token.clone(),
            idempotency_key: String::new(),
        };
        let hold = setup.holds.hold(performance, &buyer, wanted, Utc::now()).await?;
        let checkout = Checkout {
            performance_id: performance,
            hold_id: hold.hold_id,
            buyer,
            tickets: Vec::new(),
            admission_token: token,
        };
        orders.push(setup.orders.checkout(checkout, Utc::now()).await?);
    }
    let events: Vec<Event> = orders
        .iter()
        .map(|o| {
            let approved = PaymentApproved {
                payment_id: Uuid::now_v7().to_string(),
                order_id: o.id.to_string(),
                amount: Some(types::Money { minor: o.total.minor, currency: "KRW".into() }),
                ..Default::default()
            };
            Event::new("payment", o.id.to_string(), &approved, Utc::now())
        })
        .collect();
    let events = Arc::new(events);
    let started = Instant::now();
    let mut tasks = Vec::new();
    const CONSUMERS: usize = 16;
    for c in 0..CONSUMERS {
        let (events, handler, pool) = (events.clone(), setup.events.clone(), setup.db.pool.clone());
        tasks.push(tokio::spawn(async move {
            for event in events.iter().skip(c).step_by(CONSUMERS) {
                let mut tx = pool.begin().await?;
                handler.handle(&mut tx, event).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                tx.commit().await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let elapsed = started.elapsed();
    let confirmed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM orders WHERE performance_id = $1 AND status = 'CONFIRMED'")
            .bind(performance)
            .fetch_one(&setup.db.pool)
            .await?;
    println!(
        "confirm: {:>8.0} orders/s ({confirmed} of {count} confirmed with tickets, {CONSUMERS} concurrent consumers)",
        count as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}
