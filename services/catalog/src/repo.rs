//! The catalog's PostgreSQL access: plain async functions over a connection or transaction.

use chrono::{DateTime, Duration, Utc};
use sqlx::{Connection as _, PgConnection, Row as _, postgres::PgRow};
use uuid::Uuid;

use floodgate_proto::catalog::v1 as wire;

use crate::{
    domain::{pricing::HallType, schedule::Slot, seat_map::SeatMap},
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
         FROM venues WHERE id = $1",
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
    sqlx::query("INSERT INTO events (id, title, category, runtime_minutes) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(&event.title)
        .bind(&event.category)
        .bind(event.runtime_minutes)
        .execute(conn)
        .await?;
    Ok(Event {
        id,
        title: event.title.clone(),
        category: event.category.clone(),
        runtime_minutes: event.runtime_minutes,
        version: 1,
    })
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
    let row = sqlx::query("SELECT id, title, category, runtime_minutes, version FROM events WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(CatalogError::NotFound { what: "event", id })?;
    let event = Event {
        id,
        title: row.get("title"),
        category: row.get("category"),
        runtime_minutes: row.get("runtime_minutes"),
        version: row.get("version"),
    };
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
