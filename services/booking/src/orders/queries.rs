//! Reading orders and tickets for their owners, guest look-up, and the scanner's check.

use chrono::{DateTime, Utc};
use floodgate_proto::booking::v1 as wire;
use sqlx::Row as _;
use uuid::Uuid;

use super::{Orders, record};
use crate::{
    convert,
    domain::{Buyer, ticket::PayloadError},
    error::BookingError,
    orders::OrderRecord,
};

/// Most orders or tickets in one page.
pub const MAX_PAGE: i64 = 100;
const DEFAULT_PAGE: i64 = 20;

/// What a scan found.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    pub outcome: wire::VerifyOutcome,
    pub ticket: Option<wire::Ticket>,
    pub first_admitted_at: Option<DateTime<Utc>>,
}

pub fn page_size(requested: u32) -> i64 {
    if requested == 0 { DEFAULT_PAGE } else { i64::from(requested).min(MAX_PAGE) }
}

impl Orders {
    /// The buyer's order; someone else's answers like a missing one.
    pub async fn get(&self, order_id: Uuid, buyer_key: &str) -> Result<OrderRecord, BookingError> {
        record::by_id(&mut *self.pool.acquire().await?, order_id)
            .await?
            .filter(|o| o.buyer.key() == buyer_key)
            .ok_or(BookingError::NotFound("order"))
    }

    /// A guest's order by its number and the phone it was placed with.
    pub async fn lookup_guest(&self, number: &str, phone: &str) -> Result<OrderRecord, BookingError> {
        record::by_number(&mut *self.pool.acquire().await?, number)
            .await?
            .filter(|o| matches!(&o.buyer, Buyer::Guest { phone: p, .. } if p == phone))
            .ok_or(BookingError::NotFound("order"))
    }

    pub async fn list(
        &self,
        buyer_key: &str,
        cursor: &str,
        page: u32,
    ) -> Result<(Vec<OrderRecord>, String), BookingError> {
        let limit = page_size(page);
        let after = parse_cursor(cursor)?;
        let orders = record::by_buyer(&mut *self.pool.acquire().await?, buyer_key, after, limit).await?;
        let next = match orders.last() {
            Some(last) if orders.len() as i64 == limit => format!("{}~{}", last.created_at.timestamp_micros(), last.id),
            _ => String::new(),
        };
        Ok((orders, next))
    }

    pub async fn tickets(
        &self,
        holder: &str,
        order_id: Option<Uuid>,
        cursor: &str,
        page: u32,
    ) -> Result<(Vec<wire::Ticket>, String), BookingError> {
        let limit = page_size(page);
        let (at, id) = parse_cursor(cursor)?.map_or((None, None), |(at, id)| (Some(at), Some(id)));
        let rows = sqlx::query(
            "SELECT t.*, l.row_label, l.seat_number, l.audience FROM tickets t JOIN order_lines l ON l.id = t.line_id
             WHERE t.holder = $1 AND ($2::uuid IS NULL OR t.order_id = $2)
               AND ($3::timestamptz IS NULL OR (t.issued_at, t.id) < ($3, $4))
             ORDER BY t.issued_at DESC, t.id DESC LIMIT $5",
        )
        .bind(holder)
        .bind(order_id)
        .bind(at)
        .bind(id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let tickets: Vec<wire::Ticket> = rows.iter().map(ticket).collect();
        let next = match rows.last() {
            Some(last) if rows.len() as i64 == limit => format!(
                "{}~{}",
                last.get::<DateTime<Utc>, _>("issued_at").timestamp_micros(),
                last.get::<Uuid, _>("id")
            ),
            _ => String::new(),
        };
        Ok((tickets, next))
    }

    pub async fn ticket(&self, ticket_id: Uuid, holder: &str) -> Result<wire::Ticket, BookingError> {
        let row = sqlx::query(
            "SELECT t.*, l.row_label, l.seat_number, l.audience FROM tickets t JOIN order_lines l ON l.id = t.line_id
             WHERE t.id = $1 AND t.holder = $2",
        )
        .bind(ticket_id)
        .bind(holder)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(BookingError::NotFound("ticket"))?;
        Ok(ticket(&row))
    }

    /// The scanner's check: a genuine payload for this performance, of the ticket's current
    /// version, admits once; a second scan says when it was first admitted.
    pub async fn verify_ticket(
        &self,
        payload: &str,
        performance_id: Uuid,
        scanner_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Scan, BookingError> {
        let refused = |outcome| Scan { outcome, ticket: None, first_admitted_at: None };
        let claims = match self.signer.verifier().verify(payload) {
            Ok(claims) => claims,
            Err(PayloadError::Malformed | PayloadError::UnknownKey | PayloadError::BadSignature) => {
                return Ok(refused(wire::VerifyOutcome::InvalidSignature));
            }
        };
        if claims.performance_id != performance_id.to_string() {
            return Ok(refused(wire::VerifyOutcome::WrongPerformance));
        }
        let ticket_id =
            Uuid::parse_str(&claims.ticket_id).map_err(|_| BookingError::Corrupt("signed ticket id".into()))?;
        let mut tx = self.pool.begin().await?;
        let Some(row) = sqlx::query(
            "SELECT t.*, l.row_label, l.seat_number, l.audience FROM tickets t JOIN order_lines l ON l.id = t.line_id
             WHERE t.id = $1 FOR UPDATE OF t",
        )
        .bind(ticket_id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(refused(wire::VerifyOutcome::InvalidSignature));
        };
        // A reissued ticket's old payload no longer admits.
        if row.get::<i32, _>("version") != i32::try_from(claims.version).unwrap_or(-1) {
            return Ok(refused(wire::VerifyOutcome::Cancelled));
        }
        let scan = match row.get::<&str, _>("status") {
            "CANCELLED" => {
                Scan { outcome: wire::VerifyOutcome::Cancelled, ticket: Some(ticket(&row)), first_admitted_at: None }
            }
            "ADMITTED" => Scan {
                outcome: wire::VerifyOutcome::AlreadyAdmitted,
                ticket: Some(ticket(&row)),
                first_admitted_at: row.get("admitted_at"),
            },
            _ => {
                let row = sqlx::query(
                    "WITH t AS (UPDATE tickets SET status = 'ADMITTED', admitted_at = $2, scanner_id = $3 WHERE id = $1
                                RETURNING *)
                     SELECT t.*, l.row_label, l.seat_number, l.audience FROM t JOIN order_lines l ON l.id = t.line_id",
                )
                .bind(ticket_id)
                .bind(now)
                .bind(scanner_id)
                .fetch_one(&mut *tx)
                .await?;
                Scan {
                    outcome: wire::VerifyOutcome::Admitted,
                    ticket: Some(ticket(&row)),
                    first_admitted_at: Some(now),
                }
            }
        };
        tx.commit().await?;
        Ok(scan)
    }
}

fn parse_cursor(cursor: &str) -> Result<Option<(DateTime<Utc>, Uuid)>, BookingError> {
    if cursor.is_empty() {
        return Ok(None);
    }
    let bad = || BookingError::invalid("page.cursor", "is not a cursor this service issued");
    let (micros, id) = cursor.split_once('~').ok_or_else(bad)?;
    let at = DateTime::from_timestamp_micros(micros.parse().map_err(|_| bad())?).ok_or_else(bad)?;
    Ok(Some((at, Uuid::parse_str(id).map_err(|_| bad())?)))
}

fn ticket(row: &sqlx::postgres::PgRow) -> wire::Ticket {
    let status = match row.get::<&str, _>("status") {
        "ADMITTED" => wire::TicketStatus::Admitted,
        "CANCELLED" => wire::TicketStatus::Cancelled,
        _ => wire::TicketStatus::Valid,
    };
    let audience = convert::audience_from_name(row.get("audience")).map(convert::audience_to_wire).unwrap_or_default();
    wire::Ticket {
        ticket_id: row.get::<Uuid, _>("id").to_string(),
        order_id: row.get::<Uuid, _>("order_id").to_string(),
        performance_id: row.get::<Uuid, _>("performance_id").to_string(),
        seat: Some(floodgate_proto::types::v1::SeatRef {
            seat_id: row.get::<Option<String>, _>("seat_id").unwrap_or_default(),
            section_id: row.get("section_id"),
            row: row.get("row_label"),
            number: row.get("seat_number"),
        }),
        audience: audience.into(),
        status: status.into(),
        // A cancelled ticket's code is withdrawn.
        qr_payload: if status == wire::TicketStatus::Cancelled { String::new() } else { row.get("qr_payload") },
        issued_at: Some(convert::timestamp(row.get("issued_at"))),
    }
}
