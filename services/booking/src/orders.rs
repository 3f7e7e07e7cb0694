//! Orders: checkout turns a live hold into a PENDING_PAYMENT order priced on the server; payment
//! approval confirms it and issues tickets — PostgreSQL decides, under the one-live-ticket-per-
//! seat index, the GA capacity check and the fencing-token claims — or rejects it so payment
//! refunds; unpaid orders expire at their deadline; buyers cancel under the fee ladder.
//!
//! Every change to an order writes its event to the outbox in the same transaction. Redis is
//! told afterwards (sell, release, unsell); if that fails the TTL and the sweeper converge it.

mod queries;
mod record;

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, Duration, Utc};
use floodgate_eventbus::{Event, outbox::Outbox};
use floodgate_proto::{booking::v1 as wire, payment::v1 as payment};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub use record::{Line, OrderRecord};

use crate::{
    convert,
    domain::{
        Buyer, Money, fees,
        order::{OrderEvent, OrderState, OrderStatus},
        pricing::Audience,
        ticket::{Claims, TicketSigner},
    },
    error::BookingError,
    holds::Holds,
    inventory::Inventories,
    store::StoreError,
};

pub const PRODUCER: &str = "booking";
/// Holds outlive the payment deadline a little, so the deadline sweep (not the TTL) ends them.
const HOLD_GRACE: Duration = Duration::seconds(60);
/// Unpaid orders expired per sweep transaction.
const EXPIRE_BATCH: i64 = 200;

#[derive(Debug, Clone)]
pub struct Orders {
    pool: PgPool,
    holds: Holds,
    outbox: Outbox,
    signer: Arc<TicketSigner>,
}

/// A checkout as received.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub performance_id: Uuid,
    pub hold_id: Uuid,
    pub buyer: Buyer,
    /// (seat id or GA section id, audience)
    pub tickets: Vec<(String, Audience)>,
    pub admission_token: String,
}

/// What changed in Redis once the transaction committed.
enum Afterwards {
    Release { performance: Uuid, hold: Uuid },
    Unsell { performance: Uuid, buyer: String, seats: Vec<String>, ga: Vec<(String, String)> },
}

impl Orders {
    pub fn new(pool: PgPool, holds: Holds, outbox: Outbox, signer: Arc<TicketSigner>) -> Self {
        Self { pool, holds, outbox, signer }
    }

    pub fn inventories(&self) -> &Inventories {
        self.holds.inventories()
    }

    pub fn signer(&self) -> &TicketSigner {
        &self.signer
    }

    /// Creates the order for a live hold, or returns the one this hold already made.
    pub async fn checkout(&self, checkout: Checkout, now: DateTime<Utc>) -> Result<OrderRecord, BookingError> {
        let buyer_key = checkout.buyer.key();
        self.holds.admit(&checkout.admission_token, checkout.performance_id, &checkout.buyer, now)?;
        let mut conn = self.pool.acquire().await?;
        if let Some(order) = record::by_hold(&mut conn, checkout.hold_id).await? {
            return if order.buyer.key() == buyer_key { Ok(order) } else { Err(BookingError::NotFound("hold")) };
        }
        drop(conn);
        let performance = self.inventories().get(checkout.performance_id).await?;
        let hold = self.holds.get(checkout.performance_id, checkout.hold_id, &buyer_key).await?;
        let lines = price_lines(&performance, &hold.seats, &hold.general_admission, &checkout.tickets)?;
        let currency =
            lines.first().map(|l| l.price.currency).ok_or_else(|| BookingError::invalid("hold", "is empty"))?;
        if lines.iter().any(|l| l.price.currency != currency) {
            return Err(BookingError::Corrupt("prices in several currencies".into()));
        }
        let total = Money::new(lines.iter().map(|l| l.price.minor).sum(), currency);
        let deadline = (now + Duration::milliseconds(i64::try_from(performance.payment_window_ms).unwrap_or(i64::MAX)))
            .min(performance.starts_at);
        let fence = self
            .inventories()
            .store()
            .extend(checkout.performance_id, checkout.hold_id, &buyer_key, deadline + HOLD_GRACE)
            .await
            .map_err(|e| match e {
                StoreError::NotYours => BookingError::NotFound("hold"),
                other => other.into(),
            })?;

        let order = OrderRecord {
            id: Uuid::now_v7(),
            number: record::order_number(),
            performance_id: checkout.performance_id,
            buyer: checkout.buyer,
            hold_id: checkout.hold_id,
            state: OrderState::new(),
            lines,
            total,
            refunded: Money::zero(currency),
            payment_deadline: deadline,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.pool.begin().await?;
        if !record::insert(&mut tx, &order, fence).await? {
            // A concurrent checkout of the same hold won; answer with its order.
            drop(tx);
            return record::by_hold(&mut *self.pool.acquire().await?, checkout.hold_id)
                .await?
                .ok_or(BookingError::NotFound("order"));
        }
        for line in &order.lines {
            let Some(seat) = &line.seat_id else { continue };
            // The newest hold owns the claim; an older token (a paused process) loses here.
            let claimed: Option<Uuid> = sqlx::query_scalar(
                "INSERT INTO seat_claims (performance_id, seat_id, fence, order_id) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (performance_id, seat_id) DO UPDATE SET fence = EXCLUDED.fence, order_id = EXCLUDED.order_id
                 WHERE seat_claims.fence < EXCLUDED.fence
                 RETURNING order_id",
            )
            .bind(order.performance_id)
            .bind(seat)
            .bind(i64::try_from(fence).unwrap_or(i64::MAX))
            .bind(order.id)
            .fetch_optional(&mut *tx)
            .await?;
            if claimed.is_none() {
                return Err(BookingError::StaleHold { seat: seat.clone() });
            }
        }
        let placed = wire::OrderPlaced {
            order_id: order.id.to_string(),
            order_number: order.number.clone(),
            performance_id: order.performance_id.to_string(),
            buyer: Some(convert::buyer_to_wire(&order.buyer)),
            total: Some(convert::money(order.total)),
            payment_deadline: Some(convert::timestamp(deadline)),
            lines: order.lines.iter().map(Line::to_wire).collect(),
        };
        self.outbox.enqueue(&mut tx, &Event::new(PRODUCER, order.id.to_string(), &placed, now)).await?;
        tx.commit().await?;
        Ok(order)
    }

    /// Payment settled: confirm and issue tickets, or reject so payment refunds. Runs in the
    /// inbox transaction; a duplicate or late approval changes nothing twice.
    pub async fn on_payment_approved(
        &self,
        tx: &mut PgConnection,
        approved: &payment::PaymentApproved,
        now: DateTime<Utc>,
    ) -> Result<(), BookingError> {
        let order_id =
            Uuid::parse_str(&approved.order_id).map_err(|_| BookingError::invalid("order_id", "not a UUID"))?;
        let Some(mut order) = record::lock(tx, order_id).await? else {
            return Err(BookingError::NotFound("order"));
        };
        if order.state.paid {
            tracing::info!(%order_id, "payment approval seen before; nothing to do");
            return Ok(());
        }
        let amount = convert::money_from_wire("amount", approved.amount.as_ref())?;
        let mut lost = Vec::new();
        let mut reason = String::new();
        let mut tickets = Vec::new();
        if amount != order.total {
            reason = format!("paid {} {} for an order of {}", amount.minor, amount.currency_code(), order.total.minor);
        } else if order.state.status == OrderStatus::PendingPayment {
            sqlx::query("SAVEPOINT issue").execute(&mut *tx).await?;
            match self.issue(tx, &order, now).await? {
                Ok(issued) => tickets = issued,
                Err(seats) => {
                    sqlx::query("ROLLBACK TO SAVEPOINT issue").execute(&mut *tx).await?;
                    reason = "a seat was sold to another order".into();
                    lost = seats;
                }
            }
        } else {
            reason = format!("the order was {} before payment arrived", order.state.status.as_str());
        }
        let seats_kept = !tickets.is_empty();
        order.state = order.state.next(OrderEvent::PaymentApproved { seats_kept })?;
        sqlx::query(
            "UPDATE orders SET status = $2, paid = true, payment_id = $3, reject_reason = NULLIF($4, ''), updated_at = $5
             WHERE id = $1",
        )
        .bind(order.id)
        .bind(order.state.status.as_str())
        .bind(&approved.payment_id)
        .bind(&reason)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let event = if seats_kept {
            let seats: Vec<_> = order.lines.iter().filter(|l| l.seat_id.is_some()).map(Line::seat_ref).collect();
            Event::new(
                PRODUCER,
                order.id.to_string(),
                &wire::OrderConfirmed {
                    order_id: order.id.to_string(),
                    performance_id: order.performance_id.to_string(),
                    ticket_ids: tickets.iter().map(Uuid::to_string).collect(),
                    total: Some(convert::money(order.total)),
                    confirmed_at: Some(convert::timestamp(now)),
                    seats,
                },
                now,
            )
        } else {
            tracing::warn!(%order_id, %reason, "paid order rejected; payment refunds it");
            Event::new(
                PRODUCER,
                order.id.to_string(),
                &wire::OrderRejected {
                    order_id: order.id.to_string(),
                    performance_id: order.performance_id.to_string(),
                    reason,
                    lost_seats: lost.iter().map(|s| wire_seat(&order, s)).collect(),
                },
                now,
            )
        };
        self.outbox.enqueue(tx, &event).await?;
        // PostgreSQL decided; bring the live view in line (before commit: a retry repeats it).
        let store = self.inventories().store();
        if seats_kept {
            let seats: Vec<String> = order.lines.iter().filter_map(|l| l.seat_id.clone()).collect();
            store
                .sell(order.performance_id, order.hold_id, &order.buyer.key(), &seats, &ga_counts(&order.lines))
                .await?;
        } else {
            store.release(order.performance_id, order.hold_id, None).await?;
        }
        Ok(())
    }

    /// Inserts the order's tickets; `Err(seats)` when a seat or GA place is no longer its to take.
    async fn issue(
        &self,
        tx: &mut PgConnection,
        order: &OrderRecord,
        now: DateTime<Utc>,
    ) -> Result<Result<Vec<Uuid>, Vec<String>>, BookingError> {
        let seats: Vec<String> = order.lines.iter().filter_map(|l| l.seat_id.clone()).collect();
        let claimed: Vec<String> = sqlx::query_scalar(
            "SELECT seat_id FROM seat_claims WHERE performance_id = $1 AND seat_id = ANY($2) AND order_id = $3",
        )
        .bind(order.performance_id)
        .bind(&seats)
        .bind(order.id)
        .fetch_all(&mut *tx)
        .await?;
        if claimed.len() != seats.len() {
            return Ok(Err(seats.into_iter().filter(|s| !claimed.contains(s)).collect()));
        }
        for (section, quantity) in ga_counts(&order.lines) {
            let fits = sqlx::query(
                "UPDATE ga_sections SET sold = sold + $3
                 WHERE performance_id = $1 AND section_id = $2 AND sold + $3 <= capacity",
            )
            .bind(order.performance_id)
            .bind(&section)
            .bind(i32::try_from(quantity).unwrap_or(i32::MAX))
            .execute(&mut *tx)
            .await?;
            if fits.rows_affected() == 0 {
                return Ok(Err(vec![section]));
            }
        }
        let holder = order.buyer.key();
        let mut ids = Vec::with_capacity(order.lines.len());
        for line in &order.lines {
            let id = Uuid::now_v7();
            let payload = self.signer.sign(&Claims {
                ticket_id: id.to_string(),
                performance_id: order.performance_id.to_string(),
                seat_id: line.seat_id.clone().unwrap_or_default(),
                section_id: line.section_id.clone(),
                holder: holder.clone(),
                version: 1,
                issued_at: now,
            });
            let inserted = sqlx::query(
                "INSERT INTO tickets (id, order_id, line_id, performance_id, seat_id, section_id, holder, status,
                                      qr_payload, issued_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'VALID', $8, $9)",
            )
            .bind(id)
            .bind(order.id)
            .bind(line.id)
            .bind(order.performance_id)
            .bind(&line.seat_id)
            .bind(&line.section_id)
            .bind(&holder)
            .bind(payload)
            .bind(now)
            .execute(&mut *tx)
            .await;
            match inserted {
                Ok(_) => ids.push(id),
                // I1: someone holds a live ticket for this seat. PostgreSQL said no.
                Err(sqlx::Error::Database(e)) if e.constraint() == Some("one_live_ticket_per_seat") => {
                    return Ok(Err(line.seat_id.clone().into_iter().collect()));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Ok(ids))
    }

    /// Expires unpaid orders past their deadline; safe with several replicas (SKIP LOCKED).
    pub async fn expire_unpaid(&self, now: DateTime<Utc>) -> Result<usize, BookingError> {
        let mut tx = self.pool.begin().await?;
        let due: Vec<(Uuid, Uuid, Uuid)> = sqlx::query_as(
            "SELECT id, performance_id, hold_id FROM orders
             WHERE status = 'PENDING_PAYMENT' AND payment_deadline <= $1
             ORDER BY payment_deadline LIMIT $2 FOR UPDATE SKIP LOCKED",
        )
        .bind(now)
        .bind(EXPIRE_BATCH)
        .fetch_all(&mut *tx)
        .await?;
        for (order_id, performance_id, _) in &due {
            let next = OrderState::new().next(OrderEvent::DeadlinePassed)?;
            sqlx::query("UPDATE orders SET status = $2, updated_at = $3 WHERE id = $1")
                .bind(order_id)
                .bind(next.status.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let expired = wire::OrderExpired {
                order_id: order_id.to_string(),
                performance_id: performance_id.to_string(),
                expired_at: Some(convert::timestamp(now)),
            };
            self.outbox.enqueue(&mut tx, &Event::new(PRODUCER, order_id.to_string(), &expired, now)).await?;
        }
        tx.commit().await?;
        for (_, performance, hold) in &due {
            self.after(Afterwards::Release { performance: *performance, hold: *hold }).await;
        }
        Ok(due.len())
    }

    /// Cancels the whole order (`line_ids` empty) or some tickets, under the fee ladder.
    pub async fn cancel(
        &self,
        order_id: Uuid,
        buyer_key: &str,
        line_ids: &[Uuid],
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<OrderRecord, BookingError> {
        let mut tx = self.pool.begin().await?;
        let mut order = record::lock(&mut tx, order_id)
            .await?
            .filter(|o| o.buyer.key() == buyer_key)
            .ok_or(BookingError::NotFound("order"))?;
        let afterwards;
        let event;
        if order.state.status == OrderStatus::PendingPayment {
            if !line_ids.is_empty() && line_ids.len() != order.lines.len() {
                return Err(BookingError::invalid("line_ids", "an unpaid order is cancelled whole"));
            }
            order.state = order.state.next(OrderEvent::Cancel { rest: true })?;
            let zero = Money::zero(order.total.currency);
            event = cancelled_event(&order, order.lines.iter().map(|l| l.id).collect(), zero, zero, true, reason);
            afterwards = Afterwards::Release { performance: order.performance_id, hold: order.hold_id };
        } else {
            let live: Vec<&Line> = order.lines.iter().filter(|l| !l.cancelled).collect();
            let chosen: Vec<Uuid> =
                if line_ids.is_empty() { live.iter().map(|l| l.id).collect() } else { line_ids.to_vec() };
            if chosen.is_empty() || chosen.iter().any(|id| !live.iter().any(|l| l.id == *id)) {
                return Err(BookingError::invalid("line_ids", "must name live lines of this order"));
            }
            let rest = chosen.len() == live.len();
            order.state = order.state.next(OrderEvent::Cancel { rest })?;
            let performance = self.inventories().get(order.performance_id).await?;
            let mut fee_total = 0;
            let mut refund = 0;
            let mut seats = Vec::new();
            let mut ga = Vec::new();
            for line in order.lines.iter_mut().filter(|l| chosen.contains(&l.id)) {
                let fee = fees::fee(&performance.fee_ladder, line.price, performance.starts_at, now)?;
                line.cancelled = true;
                line.fee = fee;
                fee_total += fee.minor;
                refund += line.price.minor - fee.minor;
                sqlx::query("UPDATE order_lines SET cancelled = true, fee_minor = $2 WHERE id = $1")
                    .bind(line.id)
                    .bind(fee.minor)
                    .execute(&mut *tx)
                    .await?;
                let ticket: Option<Uuid> =
                    sqlx::query_scalar("UPDATE tickets SET status = 'CANCELLED' WHERE line_id = $1 RETURNING id")
                        .bind(line.id)
                        .fetch_optional(&mut *tx)
                        .await?;
                match (&line.seat_id, ticket) {
                    (Some(seat), _) => seats.push(seat.clone()),
                    (None, Some(ticket)) => {
                        sqlx::query(
                            "UPDATE ga_sections SET sold = sold - 1 WHERE performance_id = $1 AND section_id = $2",
                        )
                        .bind(order.performance_id)
                        .bind(&line.section_id)
                        .execute(&mut *tx)
                        .await?;
                        ga.push((ticket.to_string(), line.section_id.clone()));
                    }
                    (None, None) => {}
                }
            }
            order.refunded.minor += refund;
            let currency = order.total.currency;
            event = cancelled_event(
                &order,
                chosen,
                Money::new(refund, currency),
                Money::new(fee_total, currency),
                rest,
                reason,
            );
            afterwards = Afterwards::Unsell { performance: order.performance_id, buyer: order.buyer.key(), seats, ga };
        }
        order.updated_at = now;
        sqlx::query("UPDATE orders SET status = $2, refunded_minor = $3, updated_at = $4 WHERE id = $1")
            .bind(order.id)
            .bind(order.state.status.as_str())
            .bind(order.refunded.minor)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        self.outbox.enqueue(&mut tx, &Event::new(PRODUCER, order.id.to_string(), &event, now)).await?;
        tx.commit().await?;
        self.after(afterwards).await;
        Ok(order)
    }

    /// Tells Redis what PostgreSQL committed. A failure here is logged, not returned: the hold's
    /// TTL frees the seats anyway, and the order's state is already right.
    async fn after(&self, afterwards: Afterwards) {
        let store = self.inventories().store();
        let result = match &afterwards {
            Afterwards::Release { performance, hold } => store.release(*performance, *hold, None).await.map(drop),
            Afterwards::Unsell { performance, buyer, seats, ga } => {
                store.unsell(*performance, buyer, seats, ga).await.map(drop)
            }
        };
        if let Err(error) = result {
            tracing::warn!(error = %floodgate_telemetry::error_chain(&error), "live seat view not updated; TTL will");
        }
    }
}

/// Lines priced on the server: one per held seat and GA place, with the buyer's audience choice.
fn price_lines(
    performance: &crate::inventory::Performance,
    seats: &[String],
    general_admission: &[(String, u32)],
    choices: &[(String, Audience)],
) -> Result<Vec<Line>, BookingError> {
    let mut audiences: HashMap<&str, Vec<Audience>> = HashMap::new();
    for (target, audience) in choices {
        audiences.entry(target.as_str()).or_default().push(*audience);
    }
    let mut take = |target: &str| audiences.get_mut(target).and_then(|a| a.pop()).unwrap_or(Audience::Adult);
    let mut lines = Vec::new();
    for seat_id in seats {
        let (section, seat) =
            performance.layout.seat(seat_id).ok_or_else(|| BookingError::Corrupt(format!("held seat {seat_id}")))?;
        let audience = take(seat_id);
        lines.push(Line {
            id: Uuid::now_v7(),
            seat_id: Some(seat_id.clone()),
            section_id: section.id.clone(),
            row: seat.row.clone(),
            number: seat.number.clone(),
            grade: seat.grade.clone(),
            audience,
            price: performance.prices.price(&seat.grade, audience)?,
            cancelled: false,
            fee: Money::zero(*b"XXX"),
        });
    }
    for (section_id, quantity) in general_admission {
        let section = performance
            .layout
            .section(section_id)
            .ok_or_else(|| BookingError::Corrupt(format!("held section {section_id}")))?;
        for _ in 0..*quantity {
            let audience = take(section_id);
            lines.push(Line {
                id: Uuid::now_v7(),
                seat_id: None,
                section_id: section_id.clone(),
                row: String::new(),
                number: String::new(),
                grade: section.grade.clone(),
                audience,
                price: performance.prices.price(&section.grade, audience)?,
                cancelled: false,
                fee: Money::zero(*b"XXX"),
            });
        }
    }
    if let Some((target, _)) = audiences.iter().find(|(_, left)| !left.is_empty()) {
        return Err(BookingError::CheckoutMismatch(format!("{target:?} is not in the hold (or chosen too often)")));
    }
    for line in &mut lines {
        line.fee = Money::zero(line.price.currency);
    }
    Ok(lines)
}

fn ga_counts(lines: &[Line]) -> Vec<(String, u32)> {
    let mut counts: Vec<(String, u32)> = Vec::new();
    for line in lines.iter().filter(|l| l.seat_id.is_none()) {
        match counts.iter_mut().find(|(s, _)| *s == line.section_id) {
            Some((_, n)) => *n += 1,
            None => counts.push((line.section_id.clone(), 1)),
        }
    }
    counts
}

fn wire_seat(order: &OrderRecord, seat_or_section: &str) -> floodgate_proto::types::v1::SeatRef {
    order.lines.iter().find(|l| l.seat_id.as_deref() == Some(seat_or_section)).map(Line::seat_ref).unwrap_or_else(
        || floodgate_proto::types::v1::SeatRef { section_id: seat_or_section.to_owned(), ..Default::default() },
    )
}

fn cancelled_event(
    order: &OrderRecord,
    line_ids: Vec<Uuid>,
    refund: Money,
    fee: Money,
    full: bool,
    reason: &str,
) -> wire::OrderCancelled {
    wire::OrderCancelled {
        order_id: order.id.to_string(),
        performance_id: order.performance_id.to_string(),
        line_ids: line_ids.iter().map(Uuid::to_string).collect(),
        refund: Some(convert::money(refund)),
        fee: Some(convert::money(fee)),
        full,
        reason: reason.to_owned(),
    }
}
