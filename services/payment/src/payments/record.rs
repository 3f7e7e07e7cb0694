//! Payments and refunds as stored, and as sent on the wire.

use chrono::{DateTime, Utc};
use floodgate_proto::{payment::v1 as wire, types::v1 as types};
use sqlx::{PgConnection, Row as _, postgres::PgRow};
use uuid::Uuid;

use crate::{domain::payment::PaymentStatus, error::PaymentError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRecord {
    pub id: Uuid,
    pub amount_minor: i64,
    pub reason: String,
    pub succeeded_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRecord {
    pub id: Uuid,
    pub order_id: Uuid,
    pub buyer_key: String,
    pub status: PaymentStatus,
    pub currency: String,
    pub amount_minor: i64,
    pub captured_minor: i64,
    pub refunded_minor: i64,
    pub provider: String,
    pub tid: Option<String>,
    pub approving_since: Option<DateTime<Utc>>,
    pub order_closed: bool,
    pub failure_code: Option<String>,
    pub flagged: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub refunds: Vec<RefundRecord>,
}

impl PaymentRecord {
    fn money(&self, minor: i64) -> Option<types::Money> {
        Some(types::Money { minor, currency: self.currency.clone() })
    }

    pub fn to_wire(&self) -> wire::Payment {
        let status = match self.status {
            PaymentStatus::Created => wire::PaymentStatus::Created,
            PaymentStatus::Ready => wire::PaymentStatus::Ready,
            PaymentStatus::Approved => wire::PaymentStatus::Approved,
            PaymentStatus::Failed => wire::PaymentStatus::Failed,
            PaymentStatus::Cancelled => wire::PaymentStatus::Cancelled,
            PaymentStatus::PartiallyRefunded => wire::PaymentStatus::PartiallyRefunded,
            PaymentStatus::Refunded => wire::PaymentStatus::Refunded,
        };
        let timestamp = |t: DateTime<Utc>| {
            Some(prost_types::Timestamp {
                seconds: t.timestamp(),
                nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
            })
        };
        wire::Payment {
            payment_id: self.id.to_string(),
            order_id: self.order_id.to_string(),
            status: status.into(),
            amount: self.money(self.amount_minor),
            captured: self.money(self.captured_minor),
            refunded: self.money(self.refunded_minor),
            provider: self.provider.clone(),
            provider_tid: self.tid.clone().unwrap_or_default(),
            created_at: timestamp(self.created_at),
            updated_at: timestamp(self.updated_at),
            failure_code: self.failure_code.clone().unwrap_or_default(),
            refunds: self
                .refunds
                .iter()
                .filter(|r| r.succeeded_at.is_some())
                .map(|r| wire::Refund {
                    refund_id: r.id.to_string(),
                    amount: self.money(r.amount_minor),
                    reason: r.reason.clone(),
                    refunded_at: r.succeeded_at.and_then(timestamp),
                })
                .collect(),
        }
    }
}

const COLUMNS: &str =
    "id, order_id, buyer_key, status, currency, amount_minor, captured_minor, refunded_minor, provider,
                       provider_tid, approving_since, order_closed, failure_code, flagged, created_at, updated_at";

/// Which payment to read.
#[derive(Debug, Clone, Copy)]
pub enum By<'a> {
    Id(Uuid),
    Order(Uuid),
    Tid(&'a str),
}

/// The payment; `lock` holds its row for the rest of the transaction.
pub async fn find(conn: &mut PgConnection, by: By<'_>, lock: bool) -> Result<Option<PaymentRecord>, PaymentError> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let query = match by {
        By::Id(id) => {
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM payments WHERE id = $1{lock}"))).bind(id)
        }
        By::Order(id) => {
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM payments WHERE order_id = $1{lock}")))
                .bind(id)
        }
        By::Tid(tid) => {
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM payments WHERE provider_tid = $1{lock}")))
                .bind(tid.to_owned())
        }
    };
    let Some(row) = query.fetch_optional(&mut *conn).await? else { return Ok(None) };
    let mut payment = from_row(&row)?;
    payment.refunds = sqlx::query_as::<_, (Uuid, i64, String, Option<DateTime<Utc>>)>(
        "SELECT id, amount_minor, reason, refunded_at FROM refunds WHERE payment_id = $1 ORDER BY created_at",
    )
    .bind(payment.id)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|(id, amount_minor, reason, succeeded_at)| RefundRecord { id, amount_minor, reason, succeeded_at })
    .collect();
    Ok(Some(payment))
}

fn from_row(row: &PgRow) -> Result<PaymentRecord, PaymentError> {
    let id: Uuid = row.get("id");
    Ok(PaymentRecord {
        id,
        order_id: row.get("order_id"),
        buyer_key: row.get("buyer_key"),
        status: PaymentStatus::parse(row.get("status"))
            .ok_or_else(|| PaymentError::Corrupt(format!("payment {id} status")))?,
        currency: row.get("currency"),
        amount_minor: row.get("amount_minor"),
        captured_minor: row.get("captured_minor"),
        refunded_minor: row.get("refunded_minor"),
        provider: row.get("provider"),
        tid: row.get("provider_tid"),
        approving_since: row.get("approving_since"),
        order_closed: row.get("order_closed"),
        failure_code: row.get("failure_code"),
        flagged: row.get("flagged"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
        refunds: Vec::new(),
    })
}

/// Writes the mutable columns back.
pub async fn save(conn: &mut PgConnection, payment: &PaymentRecord, now: DateTime<Utc>) -> Result<(), PaymentError> {
    sqlx::query(
        "UPDATE payments SET status = $2, captured_minor = $3, refunded_minor = $4, provider_tid = $5,
                approving_since = $6, order_closed = $7, failure_code = $8, flagged = $9, updated_at = $10
         WHERE id = $1",
    )
    .bind(payment.id)
    .bind(payment.status.as_str())
    .bind(payment.captured_minor)
    .bind(payment.refunded_minor)
    .bind(&payment.tid)
    .bind(payment.approving_since)
    .bind(payment.order_closed)
    .bind(&payment.failure_code)
    .bind(&payment.flagged)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}
