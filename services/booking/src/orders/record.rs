//! Orders and their lines as stored, and as sent on the wire.

use chrono::{DateTime, Utc};
use floodgate_proto::{booking::v1 as wire, types::v1 as types};
use rand::Rng as _;
use sqlx::{PgConnection, Row as _, postgres::PgRow};
use uuid::Uuid;

use crate::{
    convert,
    domain::{
        Buyer, Money,
        order::{OrderState, OrderStatus},
        pricing::Audience,
    },
    error::BookingError,
};

#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub id: Uuid,
    /// `None` for a general-admission place.
    pub seat_id: Option<String>,
    pub section_id: String,
    pub row: String,
    pub number: String,
    pub grade: String,
    pub audience: Audience,
    pub price: Money,
    pub cancelled: bool,
    pub fee: Money,
}

impl Line {
    pub fn seat_ref(&self) -> types::SeatRef {
        types::SeatRef {
            seat_id: self.seat_id.clone().unwrap_or_default(),
            section_id: self.section_id.clone(),
            row: self.row.clone(),
            number: self.number.clone(),
        }
    }

    pub fn to_wire(&self) -> wire::OrderLine {
        wire::OrderLine {
            line_id: self.id.to_string(),
            seat: Some(self.seat_ref()),
            grade_code: self.grade.clone(),
            audience: convert::audience_to_wire(self.audience).into(),
            price: Some(convert::money(self.price)),
            cancelled: self.cancelled,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderRecord {
    pub id: Uuid,
    pub number: String,
    pub performance_id: Uuid,
    pub buyer: Buyer,
    pub hold_id: Uuid,
    pub state: OrderState,
    pub lines: Vec<Line>,
    pub total: Money,
    pub refunded: Money,
    pub payment_deadline: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl OrderRecord {
    pub fn to_wire(&self) -> wire::Order {
        let status = match self.state.status {
            OrderStatus::PendingPayment => wire::OrderStatus::PendingPayment,
            OrderStatus::Confirmed => wire::OrderStatus::Confirmed,
            OrderStatus::Rejected => wire::OrderStatus::Rejected,
            OrderStatus::Expired => wire::OrderStatus::Expired,
            OrderStatus::Cancelled => wire::OrderStatus::Cancelled,
            OrderStatus::PartiallyCancelled => wire::OrderStatus::PartiallyCancelled,
        };
        wire::Order {
            order_id: self.id.to_string(),
            order_number: self.number.clone(),
            performance_id: self.performance_id.to_string(),
            buyer: Some(convert::buyer_to_wire(&self.buyer)),
            status: status.into(),
            lines: self.lines.iter().map(Line::to_wire).collect(),
            total: Some(convert::money(self.total)),
            created_at: Some(convert::timestamp(self.created_at)),
            payment_deadline: Some(convert::timestamp(self.payment_deadline)),
            updated_at: Some(convert::timestamp(self.updated_at)),
            refunded: Some(convert::money(self.refunded)),
        }
    }
}

/// A short number people can read out: "FG-" and 8 Crockford base-32 characters (40 bits).
pub fn order_number() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut rng = rand::rng();
    let chars: String = (0..8).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
    format!("FG-{}-{}", &chars[..4], &chars[4..])
}

/// Inserts the order and its lines; `false` if this hold already has an order.
pub async fn insert(tx: &mut PgConnection, order: &OrderRecord, fence: u64) -> Result<bool, BookingError> {
    let (user_id, guest_id, phone, email) = match &order.buyer {
        Buyer::Member { user_id } => (Some(user_id.as_str()), None, None, None),
        Buyer::Guest { guest_id, phone, email } => {
            (None, Some(guest_id.as_str()), Some(phone.as_str()), Some(email.as_str()))
        }
    };
    let inserted = sqlx::query(
        "INSERT INTO orders (id, order_number, performance_id, buyer_key, user_id, guest_id, guest_phone, guest_email,
                             hold_id, fence, status, currency, total_minor, payment_deadline, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)
         ON CONFLICT (hold_id) DO NOTHING",
    )
    .bind(order.id)
    .bind(&order.number)
    .bind(order.performance_id)
    .bind(order.buyer.key())
    .bind(user_id)
    .bind(guest_id)
    .bind(phone)
    .bind(email)
    .bind(order.hold_id)
    .bind(i64::try_from(fence).unwrap_or(i64::MAX))
    .bind(order.state.status.as_str())
    .bind(order.total.currency_code())
    .bind(order.total.minor)
    .bind(order.payment_deadline)
    .bind(order.created_at)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(false);
    }
    for (position, line) in order.lines.iter().enumerate() {
        sqlx::query(
            "INSERT INTO order_lines (id, order_id, position, seat_id, section_id, row_label, seat_number, grade,
                                      audience, price_minor)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(line.id)
        .bind(order.id)
        .bind(i32::try_from(position).unwrap_or(i32::MAX))
        .bind(&line.seat_id)
        .bind(&line.section_id)
        .bind(&line.row)
        .bind(&line.number)
        .bind(&line.grade)
        .bind(convert::audience_name(line.audience))
        .bind(line.price.minor)
        .execute(&mut *tx)
        .await?;
    }
    Ok(true)
}

const COLUMNS: &str = "id, order_number, performance_id, user_id, guest_id, guest_phone, guest_email, hold_id, status,
                       paid, currency, total_minor, refunded_minor, payment_deadline, created_at, updated_at";

/// The order, locked for the rest of the transaction.
pub async fn lock(tx: &mut PgConnection, id: Uuid) -> Result<Option<OrderRecord>, BookingError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM orders WHERE id = $1 FOR UPDATE")))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    with_lines(tx, row).await
}

pub async fn by_id(conn: &mut PgConnection, id: Uuid) -> Result<Option<OrderRecord>, BookingError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM orders WHERE id = $1")))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    with_lines(conn, row).await
}

pub async fn by_hold(conn: &mut PgConnection, hold_id: Uuid) -> Result<Option<OrderRecord>, BookingError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM orders WHERE hold_id = $1")))
        .bind(hold_id)
        .fetch_optional(&mut *conn)
        .await?;
    with_lines(conn, row).await
}

pub async fn by_number(conn: &mut PgConnection, number: &str) -> Result<Option<OrderRecord>, BookingError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM orders WHERE order_number = $1")))
        .bind(number)
        .fetch_optional(&mut *conn)
        .await?;
    with_lines(conn, row).await
}

/// A page of the buyer's orders, newest first, after the cursor `(created_at, id)`.
pub async fn by_buyer(
    conn: &mut PgConnection,
    buyer_key: &str,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<OrderRecord>, BookingError> {
    let (at, id) = after.map_or((None, None), |(at, id)| (Some(at), Some(id)));
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM orders WHERE buyer_key = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
         ORDER BY created_at DESC, id DESC LIMIT $4"
    )))
    .bind(buyer_key)
    .bind(at)
    .bind(id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut orders = Vec::with_capacity(rows.len());
    for row in rows {
        if let Some(order) = with_lines(conn, Some(row)).await? {
            orders.push(order);
        }
    }
    Ok(orders)
}

async fn with_lines(conn: &mut PgConnection, row: Option<PgRow>) -> Result<Option<OrderRecord>, BookingError> {
    let Some(row) = row else { return Ok(None) };
    let id: Uuid = row.get("id");
    let corrupt = |what: &str| BookingError::Corrupt(format!("order {id}: {what}"));
    let currency = Money::parse_currency(row.get("currency")).ok_or_else(|| corrupt("currency"))?;
    let buyer = match (row.get::<Option<String>, _>("user_id"), row.get::<Option<String>, _>("guest_id")) {
        (Some(user_id), _) => Buyer::Member { user_id },
        (None, Some(guest_id)) => Buyer::Guest {
            guest_id,
            phone: row.get::<Option<String>, _>("guest_phone").unwrap_or_default(),
            email: row.get::<Option<String>, _>("guest_email").unwrap_or_default(),
        },
        (None, None) => return Err(corrupt("buyer")),
    };
    let lines = sqlx::query(
        "SELECT id, seat_id, section_id, row_label, seat_number, grade, audience, price_minor, cancelled, fee_minor
         FROM order_lines WHERE order_id = $1 ORDER BY position",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|l| {
        Ok(Line {
            id: l.get("id"),
            seat_id: l.get("seat_id"),
            section_id: l.get("section_id"),
            row: l.get("row_label"),
            number: l.get("seat_number"),
            grade: l.get("grade"),
            audience: convert::audience_from_name(l.get("audience")).ok_or_else(|| corrupt("audience"))?,
            price: Money::new(l.get("price_minor"), currency),
            cancelled: l.get("cancelled"),
            fee: Money::new(l.get("fee_minor"), currency),
        })
    })
    .collect::<Result<Vec<_>, BookingError>>()?;
    Ok(Some(OrderRecord {
        id,
        number: row.get("order_number"),
        performance_id: row.get("performance_id"),
        buyer,
        hold_id: row.get("hold_id"),
        state: OrderState {
            status: OrderStatus::parse(row.get("status")).ok_or_else(|| corrupt("status"))?,
            paid: row.get("paid"),
        },
        lines,
        total: Money::new(row.get("total_minor"), currency),
        refunded: Money::new(row.get("refunded_minor"), currency),
        payment_deadline: row.get("payment_deadline"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }))
}
