//! The catalog's PostgreSQL access: plain async functions over a connection or transaction.

use chrono::{DateTime, Duration, Utc};
use sqlx::{Connection as _, PgConnection, Row as _, postgres::PgRow};
use uuid::Uuid;

use floodgate_proto::catalog::v1 as wire;

use std::collections::BTreeMap;

use crate::{
    domain::{
        money::{Currency, Money},
        pricing::{CinemaPricing, HallType, PriceList, TierPricing},
        sale::SaleConfig,
        schedule::Slot,
        seat_map::SeatMap,
    },
    error::CatalogError,
    model::{self, Event, Hall, NewEvent, NewVenue, Performance, PerformanceStatus, Venue},
};

/// SQLSTATE of an exclusion-constraint violation.
const EXCLUSION_VIOLATION: &str = "23P01";
const UNIQUE_VIOLATION: &str = "23505";

pub async fn insert_venue(conn: &mut PgConnection, venue: &NewVenue) -> Result<Venue, CatalogError> {
    let id = Uuid::now_v7();
    let details = &venue.details;
    sqlx::query(
        "INSERT INTO venues (id, name, address, latitude, longitude, transit_notes, parking_notes,
                             contact_phone, contact_email, time_zone)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id)
    .bind(&details.name)
    .bind(sqlx::types::Json(&details.address))
    .bind(details.latitude)
    .bind(details.longitude)
    .bind(&details.transit_notes)
    .bind(&details.parking_notes)
    .bind(&details.contact_phone)
    .bind(&details.contact_email)
    .bind(venue.time_zone.name())
    .execute(conn)
    .await?;
    Ok(Venue { id, details: details.clone(), time_zone: venue.time_zone, version: 1 })
}

pub async fn venue(conn: &mut PgConnection, id: Uuid) -> Result<(Venue, Vec<Hall>), CatalogError> {
    let row = sqlx::query(
        "SELECT name, address, latitude, longitude, transit_notes, parking_notes, contact_phone, contact_email,
                time_zone, version
         FROM venues WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(CatalogError::NotFound { what: "venue", id })?;
    let zone: &str = row.get("time_zone");
    let address: sqlx::types::Json<model::Address> = row.get("address");
    let venue = Venue {
        id,
        details: model::VenueDetails {
            name: row.get("name"),
            address: address.0,
            latitude: row.get("latitude"),
            longitude: row.get("longitude"),
            transit_notes: row.get("transit_notes"),
            parking_notes: row.get("parking_notes"),
            contact_phone: row.get("contact_phone"),
            contact_email: row.get("contact_email"),
        },
        time_zone: zone.parse().map_err(|_| CatalogError::Corrupt(format!("unknown time zone {zone:?}")))?,
        version: row.get("version"),
    };
    let halls = sqlx::query("SELECT id, venue_id, name, hall_type FROM halls WHERE venue_id = $1 ORDER BY name")
        .bind(id)
        .fetch_all(conn)
        .await?
        .iter()
        .map(hall_from_row)
        .collect::<Result<_, _>>()?;
    Ok((venue, halls))
}

pub async fn hall(conn: &mut PgConnection, id: Uuid) -> Result<Hall, CatalogError> {
    let row = sqlx::query("SELECT id, venue_id, name, hall_type FROM halls WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(CatalogError::NotFound { what: "hall", id })?;
    hall_from_row(&row)
}

fn hall_from_row(row: &PgRow) -> Result<Hall, CatalogError> {
    let hall_type: &str = row.get("hall_type");
    Ok(Hall {
        id: row.get("id"),
        venue_id: row.get("venue_id"),
        name: row.get("name"),
        hall_type: model::parse_hall_type(hall_type)
            .ok_or_else(|| CatalogError::Corrupt(format!("unknown hall type {hall_type:?}")))?,
    })
}

pub async fn insert_hall(
    conn: &mut PgConnection,
    venue_id: Uuid,
    name: &str,
    hall_type: HallType,
) -> Result<Hall, CatalogError> {
    let id = Uuid::now_v7();
    let inserted = sqlx::query("INSERT INTO halls (id, venue_id, name, hall_type) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(venue_id)
        .bind(name)
        .bind(model::hall_type_name(hall_type))
        .execute(conn)
        .await;
    match inserted {
        Ok(_) => Ok(Hall { id, venue_id, name: name.to_owned(), hall_type }),
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some(UNIQUE_VIOLATION) => {
            Err(CatalogError::DuplicateHall { name: name.to_owned() })
        }
        Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
            Err(CatalogError::NotFound { what: "venue", id: venue_id })
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn insert_event(conn: &mut PgConnection, event: &NewEvent) -> Result<Event, CatalogError> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO events (id, title, description, category, genres, age_rating, runtime_minutes, poster_url,
                             performers, still_urls, trailer_url)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(id)
    .bind(&event.title)
    .bind(&event.description)
    .bind(&event.category)
    .bind(&event.genres)
    .bind(&event.age_rating)
    .bind(event.runtime_minutes)
    .bind(&event.poster_url)
    .bind(&event.performers)
    .bind(&event.still_urls)
    .bind(&event.trailer_url)
    .execute(conn)
    .await?;
    Ok(Event { id, details: event.clone(), version: 1 })
}

pub(crate) const EVENT_COLUMNS: &str = "e.id, e.title, e.description, e.category, e.genres, e.age_rating, e.runtime_minutes, e.poster_url, e.performers, e.still_urls, e.trailer_url, e.version";

pub(crate) fn event_from_row(row: &PgRow) -> Event {
    Event {
        id: row.get("id"),
        details: model::EventDetails {
            title: row.get("title"),
            description: row.get("description"),
            category: row.get("category"),
            genres: row.get("genres"),
            age_rating: row.get("age_rating"),
            runtime_minutes: row.get("runtime_minutes"),
            poster_url: row.get("poster_url"),
            still_urls: row.get("still_urls"),
            trailer_url: row.get("trailer_url"),
            performers: row.get("performers"),
        },
        version: row.get("version"),
    }
}

/// Schedules `event` in `hall` at `starts_at`, holding the hall for the event's runtime plus
/// `cleaning`. Refused, naming the performance in the way, if that overlaps another one — the
/// database's exclusion constraint decides, so concurrent creates cannot both win.
pub async fn insert_performance(
    conn: &mut PgConnection,
    event_id: Uuid,
    hall_id: Uuid,
    starts_at: DateTime<Utc>,
    cleaning: Duration,
) -> Result<Performance, CatalogError> {
    let runtime: Option<i32> = sqlx::query_scalar("SELECT runtime_minutes FROM events WHERE id = $1")
        .bind(event_id)
        .fetch_optional(&mut *conn)
        .await?;
    let runtime = runtime.ok_or(CatalogError::NotFound { what: "event", id: event_id })?;
    let slot = Slot::of(starts_at, Duration::minutes(i64::from(runtime)), cleaning)?;

    let id = Uuid::now_v7();
    // A savepoint (or a transaction, on a plain connection): when the constraint refuses the
    // insert, only the insert is undone, and the performance in the way can still be looked up.
    let mut attempt = conn.begin().await?;
    let inserted =
        sqlx::query("INSERT INTO performances (id, event_id, hall_id, starts_at, ends_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(event_id)
            .bind(hall_id)
            .bind(slot.start)
            .bind(slot.end)
            .execute(&mut *attempt)
            .await;
    match &inserted {
        Ok(_) => attempt.commit().await?,
        Err(_) => attempt.rollback().await?,
    }
    match inserted {
        Ok(_) => Ok(Performance {
            id,
            event_id,
            hall_id,
            starts_at: slot.start,
            ends_at: slot.end,
            status: PerformanceStatus::Draft,
            version: 1,
        }),
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some(EXCLUSION_VIOLATION) => {
            Err(overlapping(conn, hall_id, slot).await)
        }
        Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
            Err(CatalogError::NotFound { what: "hall", id: hall_id })
        }
        Err(e) => Err(e.into()),
    }
}

/// The performance a refused slot collides with, for the error message.
async fn overlapping(conn: &mut PgConnection, hall_id: Uuid, slot: Slot) -> CatalogError {
    let row = sqlx::query(
        "SELECT id, starts_at, ends_at FROM performances
         WHERE hall_id = $1 AND status <> 'cancelled' AND tstzrange(starts_at, ends_at, '[)') && tstzrange($2, $3, '[)')
         ORDER BY starts_at LIMIT 1",
    )
    .bind(hall_id)
    .bind(slot.start)
    .bind(slot.end)
    .fetch_optional(conn)
    .await;
    match row {
        Ok(Some(row)) => CatalogError::Overlap {
            performance_id: row.get("id"),
            starts_at: row.get("starts_at"),
            ends_at: row.get("ends_at"),
        },
        // Cancelled meanwhile, or the lookup failed: still an overlap, just unnamed.
        Ok(None) | Err(_) => {
            CatalogError::Overlap { performance_id: Uuid::nil(), starts_at: slot.start, ends_at: slot.end }
        }
    }
}

pub async fn performance(conn: &mut PgConnection, id: Uuid) -> Result<Performance, CatalogError> {
    let row = sqlx::query(
        "SELECT id, event_id, hall_id, starts_at, ends_at, status, version FROM performances WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(CatalogError::NotFound { what: "performance", id })?;
    performance_from_row(&row)
}

fn performance_from_row(row: &PgRow) -> Result<Performance, CatalogError> {
    let status: &str = row.get("status");
    Ok(Performance {
        id: row.get("id"),
        event_id: row.get("event_id"),
        hall_id: row.get("hall_id"),
        starts_at: row.get("starts_at"),
        ends_at: row.get("ends_at"),
        status: PerformanceStatus::parse(status)
            .ok_or_else(|| CatalogError::Corrupt(format!("unknown performance status {status:?}")))?,
        version: row.get("version"),
    })
}

/// Stores `map` as the hall's next seat-map version, if `expected_version` is still the latest
/// (0 for a hall without a map). Returns the new version. Versions are immutable once stored.
pub async fn put_seat_map(
    conn: &mut PgConnection,
    hall_id: Uuid,
    map: &SeatMap,
    expected_version: i32,
) -> Result<i32, CatalogError> {
    use prost::Message as _;
    map.validate(None)?;
    let mut tx = conn.begin().await?;
    // The hall row serialises concurrent writers of its map.
    let hall: Option<Uuid> = sqlx::query_scalar("SELECT id FROM halls WHERE id = $1 FOR UPDATE")
        .bind(hall_id)
        .fetch_optional(&mut *tx)
        .await?;
    hall.ok_or(CatalogError::NotFound { what: "hall", id: hall_id })?;
    let latest: i32 = sqlx::query_scalar("SELECT coalesce(max(version), 0) FROM seat_maps WHERE hall_id = $1")
        .bind(hall_id)
        .fetch_one(&mut *tx)
        .await?;
    if latest != expected_version {
        return Err(CatalogError::VersionConflict { expected: i64::from(expected_version), actual: i64::from(latest) });
    }
    let version = latest + 1;
    let places = i32::try_from(map.capacity().total).unwrap_or(i32::MAX);
    sqlx::query("INSERT INTO seat_maps (hall_id, version, encoded, places) VALUES ($1, $2, $3, $4)")
        .bind(hall_id)
        .bind(version)
        .bind(wire::SeatMap::from(map).encode_to_vec())
        .bind(places)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(version)
}

/// A stored seat map version (0 = the latest), with its version number.
pub async fn seat_map(conn: &mut PgConnection, hall_id: Uuid, version: i32) -> Result<(i32, SeatMap), CatalogError> {
    use prost::Message as _;
    let row = sqlx::query(
        "SELECT version, encoded FROM seat_maps WHERE hall_id = $1 AND ($2 = 0 OR version = $2)
         ORDER BY version DESC LIMIT 1",
    )
    .bind(hall_id)
    .bind(version)
    .fetch_optional(conn)
    .await?
    .ok_or(CatalogError::NotFound { what: "seat map of hall", id: hall_id })?;
    let encoded: &[u8] = row.get("encoded");
    let message = wire::SeatMap::decode(encoded).map_err(|e| CatalogError::Corrupt(format!("seat map: {e}")))?;
    let map = SeatMap::try_from(&message).map_err(|e| CatalogError::Corrupt(format!("seat map: {e}")))?;
    Ok((row.get("version"), map))
}

pub async fn event(conn: &mut PgConnection, id: Uuid) -> Result<(Event, Vec<Performance>), CatalogError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {EVENT_COLUMNS} FROM events e WHERE e.id = $1")))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(CatalogError::NotFound { what: "event", id })?;
    let event = event_from_row(&row);
    let performances = sqlx::query(
        "SELECT id, event_id, hall_id, starts_at, ends_at, status, version FROM performances
         WHERE event_id = $1 AND status <> 'cancelled' ORDER BY starts_at",
    )
    .bind(id)
    .fetch_all(conn)
    .await?
    .iter()
    .map(performance_from_row)
    .collect::<Result<_, _>>()?;
    Ok((event, performances))
}

/// A performance with what pricing and publishing need from its hall and venue.
#[derive(Debug, Clone)]
pub struct PerformanceContext {
    pub performance: Performance,
    pub hall_type: HallType,
    pub venue_id: Uuid,
    pub time_zone: chrono_tz::Tz,
    pub runtime_minutes: i32,
    /// The seat-map version it was published with (none while a draft: the hall's latest).
    pub seat_map_version: Option<i32>,
}

/// Loads a performance with its hall and venue; `lock` takes the performance row for update.
pub async fn performance_context(
    conn: &mut PgConnection,
    id: Uuid,
    lock: bool,
) -> Result<PerformanceContext, CatalogError> {
    let sql = format!(
        "SELECT p.id, p.event_id, p.hall_id, p.starts_at, p.ends_at, p.status, p.version,
                p.seat_map_version, h.hall_type, h.venue_id, v.time_zone, e.runtime_minutes
         FROM performances p JOIN halls h ON h.id = p.hall_id JOIN venues v ON v.id = h.venue_id
                             JOIN events e ON e.id = p.event_id
         WHERE p.id = $1 {}",
        if lock { "FOR UPDATE OF p" } else { "" }
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(CatalogError::NotFound { what: "performance", id })?;
    let hall_type: &str = row.get("hall_type");
    let zone: &str = row.get("time_zone");
    Ok(PerformanceContext {
        performance: performance_from_row(&row)?,
        hall_type: model::parse_hall_type(hall_type)
            .ok_or_else(|| CatalogError::Corrupt(format!("unknown hall type {hall_type:?}")))?,
        venue_id: row.get("venue_id"),
        time_zone: zone.parse().map_err(|_| CatalogError::Corrupt(format!("unknown time zone {zone:?}")))?,
        runtime_minutes: row.get("runtime_minutes"),
        seat_map_version: row.get("seat_map_version"),
    })
}

/// Replaces a performance's price tiers.
pub async fn set_price_tiers(
    conn: &mut PgConnection,
    performance_id: Uuid,
    tiers: &TierPricing,
    names: &BTreeMap<String, String>,
) -> Result<(), CatalogError> {
    sqlx::query("DELETE FROM price_tiers WHERE performance_id = $1").bind(performance_id).execute(&mut *conn).await?;
    for (grade, price) in &tiers.prices {
        sqlx::query(
            "INSERT INTO price_tiers (performance_id, grade_code, grade_name, price_minor, currency)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(performance_id)
        .bind(grade)
        .bind(names.get(grade).map_or("", String::as_str))
        .bind(price.minor)
        .bind(price.currency.code())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A performance's price tiers (empty when it has none) and their display names.
pub async fn price_tiers(
    conn: &mut PgConnection,
    performance_id: Uuid,
) -> Result<(TierPricing, BTreeMap<String, String>), CatalogError> {
    let rows = sqlx::query(
        "SELECT grade_code, grade_name, price_minor, currency FROM price_tiers WHERE performance_id = $1 ORDER BY grade_code",
    )
    .bind(performance_id)
    .fetch_all(conn)
    .await?;
    let mut tiers = TierPricing::default();
    let mut names = BTreeMap::new();
    for row in rows {
        let grade: String = row.get("grade_code");
        let currency: &str = row.get("currency");
        let currency =
            Currency::parse(currency).ok_or_else(|| CatalogError::Corrupt(format!("unknown currency {currency:?}")))?;
        names.insert(grade.clone(), row.get("grade_name"));
        tiers.prices.insert(grade, Money::new(row.get("price_minor"), currency));
    }
    Ok((tiers, names))
}

/// Stores a venue's cinema pricing rules (replacing earlier ones); returns their version.
pub async fn set_pricing_rules(
    conn: &mut PgConnection,
    venue_id: Uuid,
    rules: &CinemaPricing,
) -> Result<i64, CatalogError> {
    use prost::Message as _;
    let encoded = crate::convert::cinema_pricing_to_wire(rules).encode_to_vec();
    let version: Option<i64> = sqlx::query_scalar(
        "INSERT INTO pricing_rules (venue_id, encoded) SELECT id, $2 FROM venues WHERE id = $1
         ON CONFLICT (venue_id) DO UPDATE SET encoded = EXCLUDED.encoded, version = pricing_rules.version + 1
         RETURNING version",
    )
    .bind(venue_id)
    .bind(encoded)
    .fetch_optional(conn)
    .await?;
    version.ok_or(CatalogError::NotFound { what: "venue", id: venue_id })
}

/// A venue's cinema pricing rules, read in its time zone.
pub async fn pricing_rules(
    conn: &mut PgConnection,
    venue_id: Uuid,
    time_zone: chrono_tz::Tz,
) -> Result<Option<CinemaPricing>, CatalogError> {
    use prost::Message as _;
    let encoded: Option<Vec<u8>> = sqlx::query_scalar("SELECT encoded FROM pricing_rules WHERE venue_id = $1")
        .bind(venue_id)
        .fetch_optional(conn)
        .await?;
    let Some(encoded) = encoded else { return Ok(None) };
    let message = wire::PricingRules::decode(encoded.as_slice()).map_err(|e| CatalogError::Corrupt(e.to_string()))?;
    crate::convert::cinema_pricing_from_wire(&message, time_zone)
        .map(Some)
        .map_err(|e| CatalogError::Corrupt(format!("pricing rules: {e}")))
}

/// The price list a performance is sold with: its own tiers, else its venue's cinema rules.
pub async fn price_list(
    conn: &mut PgConnection,
    context: &PerformanceContext,
) -> Result<Option<PriceList>, CatalogError> {
    let (tiers, _) = price_tiers(&mut *conn, context.performance.id).await?;
    if !tiers.prices.is_empty() {
        return Ok(Some(PriceList::Tiers(tiers)));
    }
    Ok(pricing_rules(conn, context.venue_id, context.time_zone).await?.map(PriceList::Cinema))
}

pub async fn set_sale_config(
    conn: &mut PgConnection,
    performance_id: Uuid,
    config: &SaleConfig,
) -> Result<(), CatalogError> {
    use prost::Message as _;
    sqlx::query("UPDATE performances SET sale_config = $2, version = version + 1, updated_at = now() WHERE id = $1")
        .bind(performance_id)
        .bind(crate::convert::sale_config_to_wire(config).encode_to_vec())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn sale_config(conn: &mut PgConnection, performance_id: Uuid) -> Result<Option<SaleConfig>, CatalogError> {
    use prost::Message as _;
    let encoded: Option<Option<Vec<u8>>> = sqlx::query_scalar("SELECT sale_config FROM performances WHERE id = $1")
        .bind(performance_id)
        .fetch_optional(conn)
        .await?;
    let Some(Some(encoded)) = encoded else { return Ok(None) };
    let message = wire::SaleConfig::decode(encoded.as_slice()).map_err(|e| CatalogError::Corrupt(e.to_string()))?;
    crate::convert::sale_config_from_wire(&message)
        .map(Some)
        .map_err(|e| CatalogError::Corrupt(format!("sale config: {e}")))
}

/// Marks a performance published with the seat-map version it is sold with.
pub async fn mark_published(
    conn: &mut PgConnection,
    performance_id: Uuid,
    seat_map_version: i32,
) -> Result<Performance, CatalogError> {
    sqlx::query(
        "UPDATE performances SET status = 'published', seat_map_version = $2, version = version + 1, updated_at = now()
         WHERE id = $1",
    )
    .bind(performance_id)
    .bind(seat_map_version)
    .execute(&mut *conn)
    .await?;
    performance(conn, performance_id).await
}

/// Remaining places of a performance by section and grade, as of the newest snapshot.
pub async fn availability(
    conn: &mut PgConnection,
    performance_id: Uuid,
) -> Result<Vec<wire::SectionAvailability>, CatalogError> {
    let rows = sqlx::query(
        "SELECT section_id, grade_code, capacity, available, held, sold FROM availability
         WHERE performance_id = $1 ORDER BY section_id, grade_code",
    )
    .bind(performance_id)
    .fetch_all(conn)
    .await?;
    let count = |row: &PgRow, column: &str| u32::try_from(row.get::<i32, _>(column)).unwrap_or(0);
    Ok(rows
        .iter()
        .map(|row| wire::SectionAvailability {
            section_id: row.get("section_id"),
            grade_code: row.get("grade_code"),
            capacity: count(row, "capacity"),
            available: count(row, "available"),
            held: count(row, "held"),
            sold: count(row, "sold"),
        })
        .collect())
}

/// Events ranked by tickets sold (net of cancellations) on days in `[from, to)`.
pub async fn box_office(
    conn: &mut PgConnection,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    limit: i64,
) -> Result<Vec<wire::BoxOfficeEntry>, CatalogError> {
    let rows = sqlx::query(
        "SELECT e.id, e.title, sum(b.tickets)::bigint AS tickets, sum(b.revenue_minor)::bigint AS revenue, b.currency
         FROM box_office b JOIN performances p ON p.id = b.performance_id JOIN events e ON e.id = p.event_id
         WHERE b.day >= $1 AND b.day < $2
         GROUP BY e.id, e.title, b.currency
         ORDER BY tickets DESC, e.title
         LIMIT $3",
    )
    .bind(from)
    .bind(to)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .enumerate()
        .map(|(rank, row)| wire::BoxOfficeEntry {
            event_id: row.get::<Uuid, _>("id").to_string(),
            title: row.get("title"),
            tickets_sold: u64::try_from(row.get::<i64, _>("tickets")).unwrap_or(0),
            revenue: Some(floodgate_proto::types::v1::Money {
                minor: row.get("revenue"),
                currency: row.get("currency"),
            }),
            rank: u32::try_from(rank + 1).unwrap_or(u32::MAX),
        })
        .collect())
}

/// Replaces a venue's details if `expected_version` is still current; returns the new version.
pub async fn update_venue(
    conn: &mut PgConnection,
    id: Uuid,
    details: &model::VenueDetails,
    time_zone: chrono_tz::Tz,
    expected_version: i64,
) -> Result<i64, CatalogError> {
    let updated: Option<i64> = sqlx::query_scalar(
        "UPDATE venues SET name = $3, address = $4, latitude = $5, longitude = $6, transit_notes = $7,
                parking_notes = $8, contact_phone = $9, contact_email = $10, time_zone = $11,
                version = version + 1, updated_at = now()
         WHERE id = $1 AND version = $2 AND deleted_at IS NULL
         RETURNING version",
    )
    .bind(id)
    .bind(expected_version)
    .bind(&details.name)
    .bind(sqlx::types::Json(&details.address))
    .bind(details.latitude)
    .bind(details.longitude)
    .bind(&details.transit_notes)
    .bind(&details.parking_notes)
    .bind(&details.contact_phone)
    .bind(&details.contact_email)
    .bind(time_zone.name())
    .fetch_optional(&mut *conn)
    .await?;
    match updated {
        Some(version) => Ok(version),
        None => Err(version_or_missing(
            conn,
            "venue",
            "SELECT version FROM venues WHERE id = $1 AND deleted_at IS NULL",
            id,
            expected_version,
        )
        .await),
    }
}

/// Deletes a venue (softly) unless it has published performances.
pub async fn delete_venue(conn: &mut PgConnection, id: Uuid, expected_version: i64) -> Result<(), CatalogError> {
    let mut tx = conn.begin().await?;
    let version: Option<i64> =
        sqlx::query_scalar("SELECT version FROM venues WHERE id = $1 AND deleted_at IS NULL FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let version = version.ok_or(CatalogError::NotFound { what: "venue", id })?;
    if expected_version != 0 && version != expected_version {
        return Err(CatalogError::VersionConflict { expected: expected_version, actual: version });
    }
    let published: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM performances p JOIN halls h ON h.id = p.hall_id
         WHERE h.venue_id = $1 AND p.status = 'published'",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    if published > 0 {
        return Err(CatalogError::InUse { what: "venue", reason: format!("{published} published performance(s)") });
    }
    sqlx::query("UPDATE venues SET deleted_at = now(), version = version + 1 WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Replaces an event's details if `expected_version` is still current; returns the new version.
pub async fn update_event(
    conn: &mut PgConnection,
    id: Uuid,
    details: &model::EventDetails,
    expected_version: i64,
) -> Result<i64, CatalogError> {
    let updated: Option<i64> = sqlx::query_scalar(
        "UPDATE events SET title = $3, description = $4, category = $5, genres = $6, age_rating = $7,
                runtime_minutes = $8, poster_url = $9, performers = $10, still_urls = $11, trailer_url = $12,
                version = version + 1, updated_at = now()
         WHERE id = $1 AND version = $2
         RETURNING version",
    )
    .bind(id)
    .bind(expected_version)
    .bind(&details.title)
    .bind(&details.description)
    .bind(&details.category)
    .bind(&details.genres)
    .bind(&details.age_rating)
    .bind(details.runtime_minutes)
    .bind(&details.poster_url)
    .bind(&details.performers)
    .bind(&details.still_urls)
    .bind(&details.trailer_url)
    .fetch_optional(&mut *conn)
    .await?;
    match updated {
        Some(version) => Ok(version),
        None => {
            Err(version_or_missing(conn, "event", "SELECT version FROM events WHERE id = $1", id, expected_version)
                .await)
        }
    }
}

/// Why a versioned update matched no row: the row is gone, or its version moved on.
async fn version_or_missing(
    conn: &mut PgConnection,
    what: &'static str,
    sql: &'static str,
    id: Uuid,
    expected: i64,
) -> CatalogError {
    match sqlx::query_scalar::<_, i64>(sql).bind(id).fetch_optional(conn).await {
        Ok(Some(actual)) => CatalogError::VersionConflict { expected, actual },
        Ok(None) => CatalogError::NotFound { what, id },
        Err(e) => e.into(),
    }
}

/// Venues ordered by id (UUIDv7: creation order), after `after`.
pub async fn venues(conn: &mut PgConnection, after: Option<Uuid>, limit: i64) -> Result<Vec<Venue>, CatalogError> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM venues WHERE deleted_at IS NULL AND ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut venues = Vec::with_capacity(ids.len());
    for id in ids {
        venues.push(venue(&mut *conn, id).await?.0);
    }
    Ok(venues)
}

/// Cancels a performance: it frees its slot and is announced so sales stop.
pub async fn cancel_performance(conn: &mut PgConnection, id: Uuid) -> Result<Performance, CatalogError> {
    let updated = sqlx::query(
        "UPDATE performances SET status = 'cancelled', version = version + 1, updated_at = now()
         WHERE id = $1 AND status <> 'cancelled'",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let performance = performance(conn, id).await?;
    if updated == 0 {
        return Err(CatalogError::InUse { what: "performance", reason: "already cancelled".into() });
    }
    Ok(performance)
}
