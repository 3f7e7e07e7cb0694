//! A booking wired to a fresh database and Redis prefix, with a published performance.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use floodgate_admission::{AdmissionKey, Claims, Verifier};
use floodgate_booking::{
    BookingEvents,
    domain::{Buyer, ticket::TicketSigner},
    holds::{Holds, SeatsWanted},
    inventory::Inventories,
    orders::Orders,
    store::HoldStore,
};
use floodgate_eventbus::{BusConfig, Event, EventHandler as _, Stream, outbox::Outbox};
use floodgate_proto::{catalog::v1 as catalog, payment::v1 as payment, types::v1 as types};
use floodgate_testkit::{TestDatabase, TestRedis};
use uuid::Uuid;

pub struct Booking {
    pub db: TestDatabase,
    pub redis: TestRedis,
    pub store: HoldStore,
    pub holds: Holds,
    pub orders: Orders,
    pub events: BookingEvents,
    pub key: AdmissionKey,
    pub performance: Uuid,
}

/// Rules of the performance a test publishes.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub hold_ttl: Duration,
    pub payment_window: Duration,
    pub per_buyer_limit: u32,
    /// The show starts this long after now.
    pub starts_in: chrono::Duration,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            hold_ttl: Duration::from_secs(600),
            payment_window: Duration::from_secs(900),
            per_buyer_limit: 0,
            starts_in: chrono::Duration::days(30),
        }
    }
}

fn proto_duration(d: Duration) -> prost_types::Duration {
    prost_types::Duration { seconds: d.as_secs() as i64, nanos: d.subsec_nanos() as i32 }
}

fn krw(minor: i64) -> Option<types::Money> {
    Some(types::Money { minor, currency: "KRW".into() })
}

/// Section A: rows A1–A3 of 10 "R" seats; section B: 2 rows of 6 "VIP" seats, B-1-1 blocked;
/// FLOOR: 50 standing places. The stage is in front of row 1.
pub fn published(performance: Uuid, rules: Rules) -> catalog::PerformancePublished {
    let seat = |section: &str, row: usize, n: usize, grade: &str, blocked: bool| catalog::Seat {
        seat_id: format!("{section}-{row}-{n}"),
        number: n.to_string(),
        position: Some(catalog::Point { x: n as f64, y: row as f64 }),
        grade_code: grade.into(),
        blocked,
        label: format!("{section}{row}-{n}"),
        ..Default::default()
    };
    let rows = |section: &str, rows: usize, seats: usize, grade: &str| -> Vec<catalog::Row> {
        (1..=rows)
            .map(|r| catalog::Row {
                label: format!("{section}{r}"),
                seats: (1..=seats).map(|n| seat(section, r, n, grade, section == "B" && r == 1 && n == 1)).collect(),
            })
            .collect()
    };
    let starts_at = Utc::now() + rules.starts_in;
    let ladder = vec![
        catalog::CancellationFeeStep { days_before: 10, fee_basis_points: 0, fixed_fee: krw(2_000) },
        catalog::CancellationFeeStep { days_before: 1, fee_basis_points: 3_000, fixed_fee: None },
    ];
    catalog::PerformancePublished {
        performance: Some(catalog::Performance {
            performance_id: performance.to_string(),
            starts_at: Some(prost_types::Timestamp { seconds: starts_at.timestamp(), nanos: 0 }),
            sale_config: Some(catalog::SaleConfig {
                per_buyer_limit: rules.per_buyer_limit,
                hold_ttl: Some(proto_duration(rules.hold_ttl)),
                payment_deadline: Some(proto_duration(rules.payment_window)),
                fee_ladder: ladder,
                ..Default::default()
            }),
            version: 1,
            ..Default::default()
        }),
        seat_map: Some(catalog::SeatMap {
            sections: vec![
                catalog::Section {
                    section_id: "A".into(),
                    kind: catalog::SectionKind::Reserved.into(),
                    rows: rows("A", 3, 10, "R"),
                    grade_code: "R".into(),
                    ..Default::default()
                },
                catalog::Section {
                    section_id: "B".into(),
                    kind: catalog::SectionKind::Reserved.into(),
                    rows: rows("B", 2, 6, "VIP"),
                    grade_code: "VIP".into(),
                    ..Default::default()
                },
                catalog::Section {
                    section_id: "FLOOR".into(),
                    kind: catalog::SectionKind::GeneralAdmission.into(),
                    capacity: 50,
                    grade_code: "GA".into(),
                    ..Default::default()
                },
            ],
            focal_point: Some(catalog::Point { x: 5.0, y: 0.0 }),
            ..Default::default()
        }),
        prices: vec![
            catalog::GradePrice { grade_code: "R".into(), audience: 0, price: krw(100_000) },
            catalog::GradePrice { grade_code: "R".into(), audience: types::Audience::Youth.into(), price: krw(70_000) },
            catalog::GradePrice { grade_code: "VIP".into(), audience: 0, price: krw(150_000) },
            catalog::GradePrice { grade_code: "GA".into(), audience: 0, price: krw(80_000) },
        ],
        ..Default::default()
    }
}

impl Booking {
    pub async fn new(rules: Rules) -> anyhow::Result<Self> {
        let db = TestDatabase::new(&[floodgate_eventbus::migrator(), &floodgate_booking::MIGRATOR]).await?;
        let redis = TestRedis::new()?;
        let connection = redis::Client::open(redis.url.as_str())?.get_connection_manager().await?;
        let store = HoldStore::new(connection, &redis.prefix);
        let key = AdmissionKey::from_secret("k1", &[9; 32])?;
        let inventories = Inventories::new(db.pool.clone(), store.clone());
        let holds = Holds::new(inventories, Arc::new(Verifier::new([key.public()])));
        let bus = BusConfig { brokers: String::new(), topic_prefix: "t.".into(), partitions: 1, replication: 1 };
        let signer = Arc::new(TicketSigner::new("t1", [5; 32]));
        let orders = Orders::new(db.pool.clone(), holds.clone(), Outbox::new(&bus, Stream::Booking), signer);
        let events = BookingEvents { orders: orders.clone() };
        let performance = Uuid::now_v7();
        let booking = Self { db, redis, store, holds, orders, events, key, performance };
        booking
            .deliver(&Event::new("catalog", performance.to_string(), &published(performance, rules), Utc::now()))
            .await?;
        Ok(booking)
    }

    /// Runs the event handler in its own transaction, as the inbox consumer does.
    pub async fn deliver(&self, event: &Event) -> anyhow::Result<()> {
        let mut tx = self.db.pool.begin().await?;
        self.events
            .handle(&mut tx, event)
            .await
            .map_err(|e| anyhow::anyhow!("{}", floodgate_telemetry::error_chain(&e)))?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn approve(&self, order_id: Uuid, minor: i64) -> anyhow::Result<()> {
        let approved = payment::PaymentApproved {
            payment_id: Uuid::now_v7().to_string(),
            order_id: order_id.to_string(),
            amount: krw(minor),
            provider_tid: "T1".into(),
            approved_at: None,
        };
        self.deliver(&Event::new("payment", order_id.to_string(), &approved, Utc::now())).await
    }

    pub fn token(&self, buyer: &Buyer) -> String {
        self.key.issue(&Claims::admit(
            &self.performance.to_string(),
            &buyer.key(),
            Utc::now(),
            chrono::Duration::minutes(10),
        ))
    }

    pub fn wanted(&self, buyer: &Buyer, seats: &[&str], ga: &[(&str, u32)]) -> SeatsWanted {
        SeatsWanted {
            seats: seats.iter().map(|s| (*s).to_owned()).collect(),
            general_admission: ga.iter().map(|(s, q)| ((*s).to_owned(), *q)).collect(),
            admission_token: self.token(buyer),
            idempotency_key: String::new(),
        }
    }

    /// Event types in the outbox, oldest first.
    pub async fn outbox(&self) -> anyhow::Result<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT event_type FROM eventbus.outbox ORDER BY id").fetch_all(&self.db.pool).await?)
    }

    /// Forgets everything this test stored in Redis, as a Redis restarted without persistence.
    pub async fn lose_redis(&self) -> anyhow::Result<()> {
        let mut conn = redis::Client::open(self.redis.url.as_str())?.get_multiplexed_async_connection().await?;
        let keys: Vec<String> =
            redis::cmd("KEYS").arg(format!("{}*", self.redis.prefix)).query_async(&mut conn).await?;
        if !keys.is_empty() {
            let _: () = redis::cmd("DEL").arg(keys).query_async(&mut conn).await?;
        }
        Ok(())
    }
}

pub fn member(id: &str) -> Buyer {
    Buyer::Member { user_id: id.to_owned() }
}

pub fn now() -> DateTime<Utc> {
    Utc::now()
}
