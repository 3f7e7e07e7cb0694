//! Versioned seat maps, stored in their wire encoding.

use super::*;

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
