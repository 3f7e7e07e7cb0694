//! Inventory per performance: recorded in PostgreSQL from `PerformancePublished` (idempotently,
//! in the inbox transaction), opened in Redis, and opened again from PostgreSQL whenever Redis
//! has lost it — sold seats stay sold, and fencing tokens restart from the clock.
//!
//! Each process keeps decoded performances (layout, prices, rules) for a few seconds: the hot
//! path never decodes a seat map, and a changed sale config reaches every replica quickly.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use floodgate_proto::catalog::v1 as catalog;
use prost::Message as _;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool, Row as _};
use uuid::Uuid;

use crate::{
    convert,
    domain::{
        Money,
        fees::FeeStep,
        layout::{Layout, SectionKind},
        pricing::PriceTable,
    },
    error::BookingError,
    store::{HoldStore, Seed},
};

/// How long a process trusts its decoded copy of a performance.
const FRESH_FOR: Duration = Duration::from_secs(5);

/// Defaults when the sale configuration leaves a rule out.
const DEFAULT_HOLD_TTL_MS: u64 = 10 * 60 * 1000;
const DEFAULT_PAYMENT_WINDOW_MS: u64 = 15 * 60 * 1000;

/// Everything booking needs about one performance.
#[derive(Debug, Clone)]
pub struct Performance {
    pub id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub layout: Layout,
    pub prices: PriceTable,
    pub per_buyer_limit: u32,
    pub hold_ttl_ms: u64,
    pub payment_window_ms: u64,
    pub fee_ladder: Vec<FeeStep>,
    pub sale_opens_at: Option<DateTime<Utc>>,
    pub sale_closes_at: Option<DateTime<Utc>>,
    pub cancelled: bool,
    /// What changes when the catalog changes the performance: (catalog version, cancelled).
    pub revision: (i64, bool),
}

impl Performance {
    pub fn on_sale(&self, now: DateTime<Utc>) -> bool {
        !self.cancelled
            && self.sale_opens_at.is_none_or(|at| now >= at)
            && self.sale_closes_at.is_none_or(|at| now < at)
            && now < self.starts_at
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredPrice {
    grade: String,
    audience: Option<String>,
    minor: i64,
    currency: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredFeeStep {
    days_before: u32,
    basis_points: u32,
    fixed_minor: i64,
}

/// A decoded performance and when it was loaded or last found current.
type Cached = (Instant, Arc<Performance>);

#[derive(Debug, Clone)]
pub struct Inventories {
    pool: PgPool,
    store: HoldStore,
    cache: Arc<Mutex<HashMap<Uuid, Cached>>>,
    /// One load or revision check at a time.
    reload: Arc<tokio::sync::Mutex<()>>,
}

impl Inventories {
    pub fn new(pool: PgPool, store: HoldStore) -> Self {
        Self { pool, store, cache: Arc::default(), reload: Arc::default() }
    }

    pub fn store(&self) -> &HoldStore {
        &self.store
    }

    /// The performance, from this process's copy. A stale copy is checked against its stored
    /// revision by one caller while the others keep using it; a missing one is loaded once, not
    /// by every request that arrives at the same moment (a stadium map takes a while to decode).
    pub async fn get(&self, id: Uuid) -> Result<Arc<Performance>, BookingError> {
        let cached = self.cache.lock().map_err(poisoned)?.get(&id).cloned();
        let _gate = match cached {
            Some((at, performance)) if at.elapsed() < FRESH_FOR => return Ok(performance),
            Some((_, performance)) => {
                let Ok(gate) = self.reload.try_lock() else { return Ok(performance) };
                if revision(&self.pool, id).await? == performance.revision {
                    self.cache.lock().map_err(poisoned)?.insert(id, (Instant::now(), performance.clone()));
                    return Ok(performance);
                }
                gate
            }
            None => {
                let gate = self.reload.lock().await;
                if let Some((_, performance)) = self.cache.lock().map_err(poisoned)?.get(&id) {
                    return Ok(performance.clone());
                }
                gate
            }
        };
        let performance = Arc::new(load(&mut *self.pool.acquire().await?, id).await?);
        self.cache.lock().map_err(poisoned)?.insert(id, (Instant::now(), performance.clone()));
        Ok(performance)
    }

    /// This process's copy, however old (for display only).
    pub fn cached_layout(&self, id: Uuid) -> Option<Arc<Performance>> {
        self.cache.lock().ok()?.get(&id).map(|(_, p)| p.clone())
    }

    /// Forgets this process's copy (after a change it made itself).
    pub fn forget(&self, id: Uuid) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(&id);
        }
    }

    /// Opens the performance in Redis from PostgreSQL, if Redis does not have it (first use, or
    /// Redis restarted empty). Seats with a live ticket are marked sold.
    pub async fn ensure_open(&self, id: Uuid) -> Result<(), BookingError> {
        if self.store.is_ready(id).await? {
            return Ok(());
        }
        let performance = self.get(id).await?;
        let mut conn = self.pool.acquire().await?;
        let sold_seats: Vec<String> = sqlx::query_scalar(
            "SELECT seat_id FROM tickets WHERE performance_id = $1 AND seat_id IS NOT NULL AND status <> 'CANCELLED'",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        let ga_sold: HashMap<String, i32> =
            sqlx::query_as("SELECT section_id, sold FROM ga_sections WHERE performance_id = $1")
                .bind(id)
                .fetch_all(&mut *conn)
                .await?
                .into_iter()
                .collect();
        let seed = seed(&performance, sold_seats, &ga_sold);
        if self.store.seed(id, &seed).await? {
            tracing::info!(performance_id = %id, sold = seed.sold_seats.len(), "inventory opened in redis");
        }
        Ok(())
    }
}

fn poisoned<T>(_: T) -> BookingError {
    BookingError::Corrupt("performance cache lock poisoned".into())
}

/// What Redis needs to open a performance.
pub fn seed(performance: &Performance, sold_seats: Vec<String>, ga_sold: &HashMap<String, i32>) -> Seed {
    let mut seed =
        Seed { per_buyer_limit: performance.per_buyer_limit, hold_ttl_ms: performance.hold_ttl_ms, ..Seed::default() };
    let sold: std::collections::HashSet<&str> = sold_seats.iter().map(String::as_str).collect();
    for section in performance.layout.sections() {
        match &section.kind {
            SectionKind::Reserved { rows } => {
                let sellable = rows.iter().flatten().filter(|s| !s.blocked);
                let mut sold_here = 0;
                for seat in sellable {
                    seed.seats.push((seat.id.clone(), section.id.clone()));
                    sold_here += u32::from(sold.contains(seat.id.as_str()));
                }
                seed.sections.push((section.id.clone(), section.capacity(), sold_here, false));
            }
            SectionKind::GeneralAdmission { capacity } => {
                let sold_here = ga_sold.get(&section.id).copied().unwrap_or(0);
                seed.sections.push((section.id.clone(), *capacity, u32::try_from(sold_here).unwrap_or(0), true));
            }
        }
    }
    seed.sold_seats = sold_seats;
    seed
}

/// The seed of a performance recorded in this (uncommitted) transaction: nothing sold yet.
pub async fn seed_for_new(tx: &mut PgConnection, id: Uuid) -> Result<Seed, BookingError> {
    Ok(seed(&load(tx, id).await?, Vec::new(), &HashMap::new()))
}

/// Records a published performance; `false` if it was recorded before (a redelivery).
pub async fn record(tx: &mut PgConnection, published: &catalog::PerformancePublished) -> Result<bool, BookingError> {
    let wire = published.performance.as_ref().ok_or_else(|| BookingError::invalid("performance", "is required"))?;
    let id =
        Uuid::parse_str(&wire.performance_id).map_err(|_| BookingError::invalid("performance_id", "not a UUID"))?;
    let map = published.seat_map.as_ref().ok_or_else(|| BookingError::invalid("seat_map", "is required"))?;
    let layout = convert::layout(map)?;
    let starts_at = convert::from_timestamp(wire.starts_at.as_ref())
        .ok_or_else(|| BookingError::invalid("performance.starts_at", "is required"))?;
    let prices = stored_prices(&published.prices)?;
    let sale = wire.sale_config.clone().unwrap_or_default();
    let insert = sqlx::query(
        "INSERT INTO performances (id, starts_at, seat_map, prices, per_buyer_limit, hold_ttl_ms, payment_window_ms,
                                   fee_ladder, sale_opens_at, sale_closes_at, catalog_version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(starts_at)
    .bind(map.encode_to_vec())
    .bind(sqlx::types::Json(&prices));
    let inserted =
        SaleRules::from_wire(&sale).bind(insert).bind(wire.version).execute(&mut *tx).await?.rows_affected() == 1;
    if inserted {
        for section in layout.sections() {
            if let SectionKind::GeneralAdmission { capacity } = section.kind {
                sqlx::query("INSERT INTO ga_sections (performance_id, section_id, capacity) VALUES ($1, $2, $3)")
                    .bind(id)
                    .bind(&section.id)
                    .bind(i32::try_from(capacity).unwrap_or(i32::MAX))
                    .execute(&mut *tx)
                    .await?;
            }
        }
    }
    Ok(inserted)
}

/// Applies a changed sale configuration (newer catalog versions only).
pub async fn change_sale(
    tx: &mut PgConnection,
    id: Uuid,
    sale: &catalog::SaleConfig,
    version: i64,
) -> Result<bool, BookingError> {
    let update = sqlx::query(
        "UPDATE performances SET per_buyer_limit = $2, hold_ttl_ms = $3, payment_window_ms = $4, fee_ladder = $5,
                sale_opens_at = $6, sale_closes_at = $7, catalog_version = $8
         WHERE id = $1 AND catalog_version < $8",
    )
    .bind(id);
    let changed = SaleRules::from_wire(sale).bind(update).bind(version).execute(tx).await?;
    Ok(changed.rows_affected() == 1)
}

/// New prices for future orders (newer catalog versions only; existing orders keep theirs).
pub async fn change_prices(
    tx: &mut PgConnection,
    id: Uuid,
    prices: &[catalog::GradePrice],
    version: i64,
) -> Result<bool, BookingError> {
    if prices.is_empty() {
        return Ok(false);
    }
    let changed =
        sqlx::query("UPDATE performances SET prices = $2, catalog_version = $3 WHERE id = $1 AND catalog_version < $3")
            .bind(id)
            .bind(sqlx::types::Json(stored_prices(prices)?))
            .bind(version)
            .execute(tx)
            .await?;
    Ok(changed.rows_affected() == 1)
}

/// Stops the sale; `false` for a performance booking never had (nothing to stop).
pub async fn cancel(tx: &mut PgConnection, id: Uuid, at: DateTime<Utc>) -> Result<bool, BookingError> {
    let cancelled = sqlx::query("UPDATE performances SET cancelled_at = $2 WHERE id = $1 AND cancelled_at IS NULL")
        .bind(id)
        .bind(at)
        .execute(tx)
        .await?;
    Ok(cancelled.rows_affected() == 1)
}

/// A sale configuration's rules as booking stores them (defaults filled in).
#[derive(Debug)]
pub struct SaleRules {
    pub per_buyer_limit: u32,
    pub hold_ttl_ms: u64,
    pub payment_window_ms: u64,
    fee_ladder: Vec<StoredFeeStep>,
    opens_at: Option<DateTime<Utc>>,
    closes_at: Option<DateTime<Utc>>,
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

impl SaleRules {
    pub fn from_wire(sale: &catalog::SaleConfig) -> Self {
        Self {
            per_buyer_limit: sale.per_buyer_limit,
            hold_ttl_ms: convert::duration_ms(sale.hold_ttl.as_ref()).unwrap_or(DEFAULT_HOLD_TTL_MS),
            payment_window_ms: convert::duration_ms(sale.payment_deadline.as_ref())
                .unwrap_or(DEFAULT_PAYMENT_WINDOW_MS),
            fee_ladder: fee_ladder(&sale.fee_ladder),
            opens_at: convert::from_timestamp(sale.sale_opens_at.as_ref()),
            closes_at: convert::from_timestamp(sale.sale_closes_at.as_ref()),
        }
    }

    /// Binds the six rule columns, in table order, as the query's next parameters.
    fn bind(self, query: PgQuery<'_>) -> PgQuery<'_> {
        let ms = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
        query
            .bind(i32::try_from(self.per_buyer_limit).unwrap_or(i32::MAX))
            .bind(ms(self.hold_ttl_ms))
            .bind(ms(self.payment_window_ms))
            .bind(sqlx::types::Json(self.fee_ladder))
            .bind(self.opens_at)
            .bind(self.closes_at)
    }
}

fn fee_ladder(steps: &[catalog::CancellationFeeStep]) -> Vec<StoredFeeStep> {
    steps
        .iter()
        .map(|s| StoredFeeStep {
            days_before: s.days_before,
            basis_points: s.fee_basis_points,
            fixed_minor: s.fixed_fee.as_ref().map_or(0, |m| m.minor),
        })
        .collect()
}

fn stored_prices(prices: &[catalog::GradePrice]) -> Result<Vec<StoredPrice>, BookingError> {
    prices
        .iter()
        .map(|p| {
            let money = convert::money_from_wire("prices.price", p.price.as_ref())?;
            Ok(StoredPrice {
                grade: p.grade_code.clone(),
                audience: convert::audience(p.audience()).map(|a| convert::audience_name(a).to_owned()),
                minor: money.minor,
                currency: money.currency_code().to_owned(),
            })
        })
        .collect()
}

async fn revision(pool: &PgPool, id: Uuid) -> Result<(i64, bool), BookingError> {
    let (version, cancelled): (i64, bool) =
        sqlx::query_as("SELECT catalog_version, cancelled_at IS NOT NULL FROM performances WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?
            .ok_or(BookingError::NotFound("performance"))?;
    Ok((version, cancelled))
}

async fn load(conn: &mut PgConnection, id: Uuid) -> Result<Performance, BookingError> {
    let row = sqlx::query(
        "SELECT starts_at, seat_map, prices, per_buyer_limit, hold_ttl_ms, payment_window_ms, fee_ladder,
                sale_opens_at, sale_closes_at, cancelled_at, catalog_version
         FROM performances WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(BookingError::NotFound("performance"))?;
    let corrupt = |what: &str| BookingError::Corrupt(format!("performance {id}: {what}"));
    let map =
        catalog::SeatMap::decode(row.get::<Vec<u8>, _>("seat_map").as_slice()).map_err(|_| corrupt("seat map"))?;
    let prices: sqlx::types::Json<Vec<StoredPrice>> = row.get("prices");
    let prices = prices
        .0
        .into_iter()
        .map(|p| {
            let currency = Money::parse_currency(&p.currency).ok_or_else(|| corrupt("currency"))?;
            let audience =
                p.audience.as_deref().map(|a| convert::audience_from_name(a).ok_or_else(|| corrupt("audience")));
            Ok((p.grade, audience.transpose()?, Money::new(p.minor, currency)))
        })
        .collect::<Result<Vec<_>, BookingError>>()?;
    let ladder: sqlx::types::Json<Vec<StoredFeeStep>> = row.get("fee_ladder");
    Ok(Performance {
        id,
        starts_at: row.get("starts_at"),
        layout: convert::layout(&map).map_err(|_| corrupt("layout"))?,
        prices: PriceTable::new(prices),
        per_buyer_limit: u32::try_from(row.get::<i32, _>("per_buyer_limit")).unwrap_or(0),
        hold_ttl_ms: u64::try_from(row.get::<i64, _>("hold_ttl_ms")).unwrap_or(DEFAULT_HOLD_TTL_MS),
        payment_window_ms: u64::try_from(row.get::<i64, _>("payment_window_ms")).unwrap_or(DEFAULT_PAYMENT_WINDOW_MS),
        fee_ladder: ladder
            .0
            .into_iter()
            .map(|s| FeeStep { days_before: s.days_before, basis_points: s.basis_points, fixed_minor: s.fixed_minor })
            .collect(),
        sale_opens_at: row.get("sale_opens_at"),
        sale_closes_at: row.get("sale_closes_at"),
        cancelled: row.get::<Option<DateTime<Utc>>, _>("cancelled_at").is_some(),
        revision: (row.get("catalog_version"), row.get::<Option<DateTime<Utc>>, _>("cancelled_at").is_some()),
    })
}
