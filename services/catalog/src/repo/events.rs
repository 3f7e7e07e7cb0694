//! Events and performances, and the performance context pricing and publishing read.

use super::*;

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
    let mut attempts = 0;
    let inserted = loop {
        // A savepoint (or a transaction, on a plain connection): when the constraint refuses the
        // insert, only the insert is undone, and the performance in the way can still be looked up.
        let mut attempt = conn.begin().await?;
        // Inserts into one hall take turns: concurrent conflicting inserts into an exclusion
        // constraint otherwise wait on each other and end in deadlocks instead of a clear
        // "slot taken". Held until the (outer) transaction ends; the constraint still decides.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(hall_id.to_string())
            .execute(&mut *attempt)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO performances (id, event_id, hall_id, starts_at, ends_at) VALUES ($1, $2, $3, $4, $5)",
        )
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
        attempts += 1;
        match &inserted {
            // Should a deadlock still happen (e.g. with another writer of the table), trying again
            // sees the winner and reports it.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some(DEADLOCK_DETECTED) && attempts < 5 => continue,
            _ => break inserted,
        }
    };
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

pub(super) fn performance_from_row(row: &PgRow) -> Result<Performance, CatalogError> {
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
pub(super) async fn version_or_missing(
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
