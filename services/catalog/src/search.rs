//! Browsing: event search with filters and stable cursor paging.
//!
//! Text matches titles by substring (case-insensitive, trigram-indexed); wildcards in the text
//! are taken literally. Results are ordered by (first upcoming performance, event id) — a total order — and the cursor
//! is the last row's key, so paging never skips or repeats an event even while operators add
//! performances. Events without performances sort last.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Row as _};
use uuid::Uuid;

use crate::{
    domain::{FieldError, Invalid},
    error::CatalogError,
    model::Event,
    repo,
};

pub const DEFAULT_PAGE: u32 = 20;
pub const MAX_PAGE: u32 = 100;

/// What a buyer searches for; every filter is optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    pub text: String,
    pub category: Option<String>,
    pub genre: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub venue_id: Option<Uuid>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub on_sale_only: bool,
}

/// One result: the event and what a listing shows about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub event: Event,
    pub first_performance_at: Option<DateTime<Utc>>,
    pub last_performance_at: Option<DateTime<Utc>>,
    pub lowest_price: Option<(i64, String)>,
    pub venue_names: Vec<String>,
}

/// Where a page starts: after this (sort time, event id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// `None` sorts after every time (events without performances).
    pub after_time: Option<DateTime<Utc>>,
    pub after_id: Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        let time = self.after_time.map_or_else(|| "inf".to_owned(), |t| t.timestamp_micros().to_string());
        hex(format!("{time}|{}", self.after_id).as_bytes())
    }

    pub fn decode(cursor: &str) -> Result<Self, Invalid> {
        let bad = || Invalid(vec![FieldError::new("page.cursor", "is not a cursor this service issued")]);
        let text = unhex(cursor).and_then(|b| String::from_utf8(b).ok()).ok_or_else(bad)?;
        let (time, id) = text.split_once('|').ok_or_else(bad)?;
        let after_time = match time {
            "inf" => None,
            micros => Some(micros.parse().ok().and_then(DateTime::from_timestamp_micros).ok_or_else(bad)?),
        };
        Ok(Self { after_time, after_id: Uuid::parse_str(id).map_err(|_| bad())? })
    }
}

/// A page of hits and the cursor of the next page (none at the end).
pub async fn search(
    conn: &mut PgConnection,
    query: &Query,
    cursor: Option<Cursor>,
    page_size: u32,
) -> Result<(Vec<Hit>, Option<Cursor>), CatalogError> {
    let limit = i64::from(page_size.clamp(1, MAX_PAGE));
    // Filters on performances narrow the set of events to those with a matching performance.
    let narrows = query.from.is_some() || query.to.is_some() || query.venue_id.is_some() || query.on_sale_only;
    let sql = format!(
        "WITH perf AS (
             SELECT p.event_id, min(p.starts_at) AS first_at, max(p.starts_at) AS last_at,
                    array_agg(DISTINCT v.name ORDER BY v.name) AS venues
             FROM performances p JOIN halls h ON h.id = p.hall_id JOIN venues v ON v.id = h.venue_id
             WHERE p.status <> 'cancelled'
               AND ($4::timestamptz IS NULL OR p.starts_at >= $4)
               AND ($5::timestamptz IS NULL OR p.starts_at < $5)
               AND ($6::uuid IS NULL OR h.venue_id = $6)
               AND (NOT $7 OR p.status = 'published')
             GROUP BY p.event_id
         ), price AS (
             SELECT p.event_id, min(t.price_minor) AS lowest, min(t.currency) AS currency
             FROM price_tiers t JOIN performances p ON p.id = t.performance_id
             WHERE p.status <> 'cancelled'
             GROUP BY p.event_id
         )
         SELECT {columns}, perf.first_at, perf.last_at, coalesce(perf.venues, '{{}}') AS venues,
                price.lowest, price.currency,
                coalesce(perf.first_at, 'infinity'::timestamptz) AS sort_at
         FROM events e
         LEFT JOIN perf ON perf.event_id = e.id
         LEFT JOIN price ON price.event_id = e.id
         WHERE ($1 = '' OR e.title ILIKE '%' || $1 || '%')
           AND ($2::text IS NULL OR e.category = $2)
           AND ($3::text IS NULL OR $3 = ANY (e.genres))
           AND (NOT $8 OR perf.event_id IS NOT NULL)
           AND ($9::bigint IS NULL OR price.lowest >= $9)
           AND ($10::bigint IS NULL OR price.lowest <= $10)
           AND (NOT $14 OR (coalesce(perf.first_at, 'infinity'::timestamptz), e.id)
                            > (coalesce($11::timestamptz, 'infinity'::timestamptz), $12::uuid))
         ORDER BY sort_at, e.id
         LIMIT $13",
        columns = repo::EVENT_COLUMNS,
    );
    let (after_time, after_id) = cursor.map_or((None, Uuid::nil()), |c| (c.after_time, c.after_id));
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(like_escaped(query.text.trim()))
        .bind(query.category.as_deref())
        .bind(query.genre.as_deref())
        .bind(query.from)
        .bind(query.to)
        .bind(query.venue_id)
        .bind(query.on_sale_only)
        .bind(narrows)
        .bind(query.min_price)
        .bind(query.max_price)
        .bind(after_time)
        .bind(after_id)
        .bind(limit + 1)
        .bind(cursor.is_some())
        .fetch_all(conn)
        .await?;
    let more = rows.len() as i64 > limit;
    let hits: Vec<Hit> = rows
        .iter()
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|row| Hit {
            event: repo::event_from_row(row),
            first_performance_at: row.get("first_at"),
            last_performance_at: row.get("last_at"),
            lowest_price: row
                .get::<Option<i64>, _>("lowest")
                .map(|minor| (minor, row.get::<Option<String>, _>("currency").unwrap_or_default())),
            venue_names: row.get("venues"),
        })
        .collect();
    let next = more
        .then(|| hits.last().map(|hit| Cursor { after_time: hit.first_performance_at, after_id: hit.event.id }))
        .flatten();
    Ok((hits, next))
}

/// The text as a literal inside an ILIKE pattern: `%`, `_` and `\` match only themselves.
fn like_escaped(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 512 {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_is_matched_literally() {
        assert_eq!(like_escaped("100% K_Pop\\"), "100\\% K\\_Pop\\\\");
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_a_field_error() {
        let id = Uuid::now_v7();
        for after_time in [None, DateTime::from_timestamp_micros(1_790_000_000_123_456)] {
            let cursor = Cursor { after_time, after_id: id };
            assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
        }
        for garbage in ["", "zz", "abc", &hex(b"soon|x"), &hex(b"12|not-a-uuid")] {
            let Invalid(errors) = Cursor::decode(garbage).expect_err("garbage");
            assert_eq!(errors[0].field, "page.cursor");
        }
    }
}
