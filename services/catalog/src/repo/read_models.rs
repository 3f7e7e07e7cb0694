//! The read models kept from booking events: availability and box office.

use super::*;

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
