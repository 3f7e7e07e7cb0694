//! Venues and halls.

use super::*;

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

pub(super) fn hall_from_row(row: &PgRow) -> Result<Hall, CatalogError> {
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
