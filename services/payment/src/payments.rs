//! Payment's use cases. Amounts come only from booking's `OrderPlaced`; the provider is asked to
//! capture, and what it captured is checked against that amount before anything is recorded.
//! Every change writes its event (`PaymentApproved`, `PaymentFailed`, `PaymentRefunded`) to the
//! outbox in the same transaction. Provider calls that move money are repeatable (approve reports
//! an earlier capture, refunds carry our refund id), so a crash anywhere is settled by asking
//! again — the reconciler does, for payments left `approving`.

pub mod record;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use floodgate_eventbus::{Event, outbox::Outbox};
use floodgate_proto::{booking::v1 as booking, payment::v1 as wire, types::v1 as types};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{
    domain::payment::{self, IllegalTransition, PaymentEvent, PaymentStatus},
    error::PaymentError,
    provider::{Capture, PaymentProvider, ProviderError, ReadyRequest, TransactionState},
};
pub use record::{By, PaymentRecord};

pub const PRODUCER: &str = "payment";
/// A payment approving for longer than this without an answer is asked about by the reconciler.
pub const STUCK_AFTER: Duration = Duration::seconds(15);
const REFUND_BATCH: i64 = 100;

#[derive(Debug, Clone)]
pub struct Payments {
    pool: PgPool,
    provider: Arc<dyn PaymentProvider>,
    outbox: Outbox,
}

/// The buyer's return addresses for the provider flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnUrls {
    pub approve: String,
    pub cancel: String,
    pub fail: String,
}

/// What the provider did with a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Captured { amount_minor: i64 },
    Declined { code: String },
}

impl Payments {
    pub fn new(pool: PgPool, provider: Arc<dyn PaymentProvider>, outbox: Outbox) -> Self {
        Self { pool, provider, outbox }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn provider(&self) -> &dyn PaymentProvider {
        self.provider.as_ref()
    }

    /// The payment, for its buyer (`None` = an operator).
    pub async fn get(&self, by: By<'_>, buyer_key: Option<&str>) -> Result<PaymentRecord, PaymentError> {
        record::find(&mut *self.pool.acquire().await?, by, false)
            .await?
            .filter(|p| buyer_key.is_none_or(|b| b == p.buyer_key))
            .ok_or(PaymentError::NotFound("payment"))
    }

    async fn locked(
        &self,
        conn: &mut PgConnection,
        id: Uuid,
        buyer_key: Option<&str>,
    ) -> Result<PaymentRecord, PaymentError> {
        record::find(conn, By::Id(id), true)
            .await?
            .filter(|p| buyer_key.is_none_or(|b| b == p.buyer_key))
            .ok_or(PaymentError::NotFound("payment"))
    }

    /// `OrderPlaced`: the payment, with booking's amount. Redelivery changes nothing.
    pub async fn open(
        &self,
        tx: &mut PgConnection,
        placed: &booking::OrderPlaced,
        now: DateTime<Utc>,
    ) -> Result<(), PaymentError> {
        let order_id = parse_id("order_id", &placed.order_id)?;
        let total = placed.total.as_ref().ok_or_else(|| PaymentError::invalid("total", "is required"))?;
        if total.minor < 0 || total.currency.len() != 3 {
            return Err(PaymentError::invalid("total", "a non-negative amount with an ISO currency"));
        }
        let buyer_key = placed
            .buyer
            .as_ref()
            .and_then(types::Buyer::key)
            .ok_or_else(|| PaymentError::invalid("buyer", "is required"))?;
        let deadline = placed.payment_deadline.as_ref().and_then(|t| DateTime::from_timestamp(t.seconds, 0));
        sqlx::query(
            "INSERT INTO payments (id, order_id, order_number, performance_id, buyer_key, status, currency, amount_minor,
                                   provider, payment_deadline, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, 'CREATED', $6, $7, $8, $9, $10, $10)
             ON CONFLICT (order_id) DO NOTHING",
        )
        .bind(Uuid::now_v7())
        .bind(order_id)
        .bind(&placed.order_number)
        .bind(Uuid::parse_str(&placed.performance_id).ok())
        .bind(buyer_key)
        .bind(&total.currency)
        .bind(total.minor)
        .bind(self.provider.name())
        .bind(deadline)
        .bind(now)
        .execute(tx)
        .await?;
        Ok(())
    }

    /// Starts (or restarts, after a failure) the provider flow; returns where to send the buyer.
    ///
    /// Checked, then asked, then recorded: no transaction, row lock or pooled connection is held
    /// across the provider's round trip. In an on-sale that call is the slow part; holding a
    /// connection through it drained payment's pool in a stadium rehearsal (2 s waits for a
    /// connection, approvals failing behind prepares). A payment that changed meanwhile (another
    /// prepare of the same order won) is not overwritten: [`PaymentError::Changed`].
    pub async fn prepare(
        &self,
        order_id: Uuid,
        buyer_key: &str,
        urls: &ReturnUrls,
        now: DateTime<Utc>,
    ) -> Result<(PaymentRecord, String), PaymentError> {
        let before = self.get(By::Order(order_id), Some(buyer_key)).await?;
        if before.order_closed {
            return Err(PaymentError::OrderClosed);
        }
        before.status.next(PaymentEvent::Prepare)?;
        let ready = self
            .provider
            .ready(&ReadyRequest {
                partner_order: order_id.to_string(),
                amount_minor: before.amount_minor,
                currency: before.currency.clone(),
                approve_url: urls.approve.clone(),
                cancel_url: urls.cancel.clone(),
                fail_url: urls.fail.clone(),
            })
            .await?;
        let mut tx = self.pool.begin().await?;
        let mut payment = self.locked(&mut tx, before.id, Some(buyer_key)).await?;
        if payment.order_closed {
            return Err(PaymentError::OrderClosed);
        }
        if payment.updated_at != before.updated_at {
            return Err(PaymentError::Changed);
        }
        payment.status = payment.status.next(PaymentEvent::Prepare)?;
        payment.tid = Some(ready.tid);
        payment.failure_code = None;
        record::save(&mut tx, &payment, now).await?;
        tx.commit().await?;
        payment.updated_at = now;
        Ok((payment, ready.redirect_url))
    }

    /// Captures after the buyer approved at the provider. Concurrent or repeated approvals
    /// capture once: the provider reports an earlier capture, and `settle` records it once.
    pub async fn approve(
        &self,
        payment_id: Uuid,
        tid: &str,
        approval_token: &str,
        buyer_key: &str,
        now: DateTime<Utc>,
    ) -> Result<PaymentRecord, PaymentError> {
        let mut tx = self.pool.begin().await?;
        let mut payment = self.locked(&mut tx, payment_id, Some(buyer_key)).await?;
        if payment.status.is_captured() {
            return Ok(payment);
        }
        if payment.status != PaymentStatus::Ready {
            return Err(IllegalTransition { from: payment.status, event: PaymentEvent::Captured }.into());
        }
        if payment.tid.as_deref() != Some(tid) {
            return Err(PaymentError::invalid("provider_tid", "is not this payment's transaction"));
        }
        // Marked before asking: if we die before recording the answer, the reconciler asks again.
        payment.approving_since.get_or_insert(now);
        record::save(&mut tx, &payment, now).await?;
        tx.commit().await?;

        let outcome = match self.provider.approve(tid, approval_token).await? {
            Capture::Captured { amount_minor } => Outcome::Captured { amount_minor },
            Capture::Declined { code } => Outcome::Declined { code },
        };
        let mut tx = self.pool.begin().await?;
        let mut payment = self.locked(&mut tx, payment_id, None).await?;
        self.settle(&mut tx, &mut payment, &outcome, now).await?;
        tx.commit().await?;
        match (&outcome, payment.failure_code.as_deref()) {
            (Outcome::Captured { amount_minor }, Some("AMOUNT_MISMATCH")) => {
                Err(PaymentError::AmountMismatch { expected: payment.amount_minor, captured: *amount_minor })
            }
            (Outcome::Declined { code }, _) => Err(PaymentError::Declined { code: code.clone() }),
            _ => Ok(payment),
        }
    }

    /// Records the provider's answer (from `approve`, a webhook or the reconciler), once.
    pub async fn settle(
        &self,
        tx: &mut PgConnection,
        payment: &mut PaymentRecord,
        outcome: &Outcome,
        now: DateTime<Utc>,
    ) -> Result<(), PaymentError> {
        if payment.status.is_captured() {
            return Ok(()); // Settled before: state only moves forward.
        }
        let tid =
            payment.tid.clone().ok_or_else(|| PaymentError::Corrupt(format!("payment {} has no tid", payment.id)))?;
        payment.approving_since = None;
        let event = match outcome {
            Outcome::Captured { amount_minor } if payment.status != PaymentStatus::Ready => {
                // Money moved for a payment we had already given up on: give it back at once.
                tracing::error!(payment_id = %payment.id, status = ?payment.status, "capture for a closed payment; refunding");
                self.provider.refund(&tid, &format!("orphan-{}", payment.id), *amount_minor).await?;
                payment.flagged = Some(format!(
                    "captured {amount_minor} while {}; refunded at the provider",
                    payment.status.as_str()
                ));
                record::save(tx, payment, now).await?;
                return Ok(());
            }
            Outcome::Captured { amount_minor } if *amount_minor != payment.amount_minor => {
                // The buyer's page (or anything else) changed the amount: never keep it.
                self.provider.refund(&tid, &format!("mismatch-{}", payment.id), *amount_minor).await?;
                payment.status = payment.status.next(PaymentEvent::Declined)?;
                payment.failure_code = Some("AMOUNT_MISMATCH".into());
                failed(
                    payment,
                    "AMOUNT_MISMATCH",
                    &format!("captured {amount_minor}, expected {}", payment.amount_minor),
                    now,
                )
            }
            Outcome::Captured { amount_minor } => {
                payment.status = payment.status.next(PaymentEvent::Captured)?;
                payment.captured_minor = *amount_minor;
                if payment.order_closed {
                    payment.flagged = Some("captured after the order closed; refunded in full".into());
                    self.reserve_refund(
                        tx,
                        payment,
                        None,
                        "order closed before payment",
                        &format!("late:{}", payment.id),
                    )
                    .await?;
                }
                Event::new(
                    PRODUCER,
                    payment.order_id.to_string(),
                    &wire::PaymentApproved {
                        payment_id: payment.id.to_string(),
                        order_id: payment.order_id.to_string(),
                        amount: Some(types::Money { minor: *amount_minor, currency: payment.currency.clone() }),
                        provider_tid: tid,
                        approved_at: Some(timestamp(now)),
                    },
                    now,
                )
            }
            Outcome::Declined { code } => {
                payment.status = payment.status.next(PaymentEvent::Declined)?;
                payment.failure_code = Some(code.clone());
                failed(payment, code, "declined by the provider", now)
            }
        };
        record::save(tx, payment, now).await?;
        self.outbox.enqueue(tx, &event).await?;
        Ok(())
    }

    /// The buyer gave up at the provider: the payment fails (the order stays open for a retry).
    pub async fn cancel_by_buyer(
        &self,
        payment_id: Uuid,
        buyer_key: &str,
        now: DateTime<Utc>,
    ) -> Result<PaymentRecord, PaymentError> {
        let mut tx = self.pool.begin().await?;
        let mut payment = self.locked(&mut tx, payment_id, Some(buyer_key)).await?;
        if payment.status == PaymentStatus::Failed {
            return Ok(payment);
        }
        if payment.status != PaymentStatus::Ready || payment.approving_since.is_some() {
            return Err(PaymentStatus::next(payment.status, PaymentEvent::Declined)
                .err()
                .map_or(PaymentError::InProgress, Into::into));
        }
        if let Some(tid) = &payment.tid {
            self.provider.cancel(tid).await?;
        }
        payment.status = payment.status.next(PaymentEvent::Declined)?;
        payment.failure_code = Some("CANCELLED_BY_BUYER".into());
        let event = failed(&payment, "CANCELLED_BY_BUYER", "the buyer cancelled at the provider", now);
        record::save(&mut tx, &payment, now).await?;
        self.outbox.enqueue(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(payment)
    }

    /// The order can no longer take money (expired, cancelled, rejected). An open payment is
    /// cancelled at the provider; a captured one is refunded in full when `refund_captured`
    /// (a cancellation with fees refunds through `refund_order` instead).
    pub async fn close_order(
        &self,
        tx: &mut PgConnection,
        order_id: Uuid,
        reason: &str,
        refund_captured: bool,
        now: DateTime<Utc>,
    ) -> Result<(), PaymentError> {
        let Some(mut payment) = record::find(tx, By::Order(order_id), true).await? else {
            return Ok(()); // Closed before its payment was ever opened.
        };
        payment.order_closed = true;
        if payment.status.is_captured() {
            if refund_captured {
                self.reserve_refund(tx, &payment, None, reason, &format!("closed:{order_id}")).await?;
            }
        } else if matches!(payment.status, PaymentStatus::Created | PaymentStatus::Ready | PaymentStatus::Failed)
            && payment.approving_since.is_none()
        {
            if let (Some(tid), PaymentStatus::Ready) = (&payment.tid, payment.status) {
                match self.provider.cancel(tid).await {
                    Ok(()) => {}
                    // Captured at the provider in the meantime: record it (and refund, order closed).
                    Err(ProviderError::Refused(_)) => {
                        if let TransactionState::Captured { amount_minor } = self.provider.status(tid).await? {
                            record::save(tx, &payment, now).await?;
                            return self.settle(tx, &mut payment, &Outcome::Captured { amount_minor }, now).await;
                        }
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            payment.status = payment.status.next(PaymentEvent::Cancel)?;
        }
        record::save(tx, &payment, now).await?;
        Ok(())
    }

    /// A refund for the order's payment (booking's cancellation refund, or in full when
    /// `amount` is `None`), processed by [`Self::process_refunds`].
    pub async fn refund_order(
        &self,
        tx: &mut PgConnection,
        order_id: Uuid,
        amount: Option<i64>,
        reason: &str,
        source: &str,
    ) -> Result<(), PaymentError> {
        let payment = record::find(tx, By::Order(order_id), true).await?.ok_or(PaymentError::NotFound("payment"))?;
        if !payment.status.is_captured() {
            // Nothing was captured, so nothing to give back.
            return Ok(());
        }
        self.reserve_refund(tx, &payment, amount, reason, source).await
    }

    /// Books a refund within what is left of the capture (pending refunds count). A full refund
    /// takes what is left; asking again with the same `source` does nothing.
    async fn reserve_refund(
        &self,
        tx: &mut PgConnection,
        payment: &PaymentRecord,
        amount: Option<i64>,
        reason: &str,
        source: &str,
    ) -> Result<(), PaymentError> {
        let known: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM refunds WHERE source = $1)")
            .bind(source)
            .fetch_one(&mut *tx)
            .await?;
        if known {
            return Ok(()); // Asked before (a redelivered event, a retried request).
        }
        let reserved: i64 =
            sqlx::query_scalar("SELECT coalesce(sum(amount_minor), 0)::bigint FROM refunds WHERE payment_id = $1")
                .bind(payment.id)
                .fetch_one(&mut *tx)
                .await?;
        let left = payment.captured_minor - reserved;
        let amount = match amount {
            None if left <= 0 => return Ok(()),
            None => left,
            Some(wanted) => payment::refundable(payment.captured_minor, reserved, wanted, false)?,
        };
        sqlx::query(
            "INSERT INTO refunds (id, payment_id, amount_minor, reason, source, status) VALUES ($1, $2, $3, $4, $5, 'PENDING')
             ON CONFLICT (source) DO NOTHING",
        )
        .bind(Uuid::now_v7())
        .bind(payment.id)
        .bind(amount)
        .bind(reason)
        .bind(source)
        .execute(tx)
        .await?;
        Ok(())
    }

    /// An operator's refund: booked and carried out now.
    pub async fn refund(
        &self,
        payment_id: Uuid,
        amount: i64,
        reason: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<PaymentRecord, PaymentError> {
        let mut tx = self.pool.begin().await?;
        let payment = self.locked(&mut tx, payment_id, None).await?;
        if !payment.status.is_captured() {
            return Err(IllegalTransition { from: payment.status, event: PaymentEvent::Refund { rest: false } }.into());
        }
        self.reserve_refund(&mut tx, &payment, Some(amount), reason, source).await?;
        tx.commit().await?;
        self.process_refunds(now).await?;
        self.get(By::Id(payment_id), None).await
    }

    /// Carries out pending refunds at the provider; safe with several replicas (SKIP LOCKED) and
    /// after a crash (the provider knows each refund by our id).
    pub async fn process_refunds(&self, now: DateTime<Utc>) -> Result<usize, PaymentError> {
        let mut tx = self.pool.begin().await?;
        let pending: Vec<(Uuid, Uuid, i64, String)> = sqlx::query_as(
            "SELECT id, payment_id, amount_minor, reason FROM refunds WHERE status = 'PENDING'
             ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED",
        )
        .bind(REFUND_BATCH)
        .fetch_all(&mut *tx)
        .await?;
        for (refund_id, payment_id, amount, reason) in &pending {
            let mut payment = self.locked(&mut tx, *payment_id, None).await?;
            let tid =
                payment.tid.clone().ok_or_else(|| PaymentError::Corrupt(format!("payment {payment_id} has no tid")))?;
            self.provider.refund(&tid, &refund_id.to_string(), *amount).await?;
            payment.refunded_minor += amount;
            let rest = payment.refunded_minor >= payment.captured_minor;
            payment.status = payment.status.next(PaymentEvent::Refund { rest })?;
            record::save(&mut tx, &payment, now).await?;
            sqlx::query("UPDATE refunds SET status = 'SUCCEEDED', refunded_at = $2 WHERE id = $1")
                .bind(refund_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let refunded = wire::PaymentRefunded {
                payment_id: payment.id.to_string(),
                order_id: payment.order_id.to_string(),
                refund_id: refund_id.to_string(),
                amount: Some(types::Money { minor: *amount, currency: payment.currency.clone() }),
                total_refunded: Some(types::Money {
                    minor: payment.refunded_minor,
                    currency: payment.currency.clone(),
                }),
                full: rest,
                reason: reason.clone(),
                refunded_at: Some(timestamp(now)),
            };
            self.outbox.enqueue(&mut tx, &Event::new(PRODUCER, payment.order_id.to_string(), &refunded, now)).await?;
        }
        tx.commit().await?;
        Ok(pending.len())
    }

    /// Asks the provider about payments left approving (no answer, or a crash between the
    /// provider's capture and our commit) and records what it says.
    pub async fn reconcile_stuck(&self, now: DateTime<Utc>) -> Result<usize, PaymentError> {
        let stuck: Vec<Uuid> =
            sqlx::query_scalar("SELECT id FROM payments WHERE approving_since < $1 ORDER BY approving_since LIMIT 100")
                .bind(now - STUCK_AFTER)
                .fetch_all(&self.pool)
                .await?;
        let mut settled = 0;
        for id in stuck {
            let mut tx = self.pool.begin().await?;
            let mut payment = self.locked(&mut tx, id, None).await?;
            let Some(tid) = payment.tid.clone().filter(|_| payment.approving_since.is_some()) else { continue };
            let outcome = match self.provider.status(&tid).await? {
                TransactionState::Captured { amount_minor } => Some(Outcome::Captured { amount_minor }),
                TransactionState::Declined | TransactionState::Cancelled => {
                    Some(Outcome::Declined { code: "DECLINED".into() })
                }
                // The capture never reached the provider: the buyer may approve again.
                TransactionState::Open => None,
            };
            match outcome {
                Some(outcome) => self.settle(&mut tx, &mut payment, &outcome, now).await?,
                None => {
                    payment.approving_since = None;
                    record::save(&mut tx, &payment, now).await?;
                }
            }
            tx.commit().await?;
            settled += 1;
        }
        Ok(settled)
    }
}

fn failed(payment: &PaymentRecord, code: &str, message: &str, now: DateTime<Utc>) -> Event {
    Event::new(
        PRODUCER,
        payment.order_id.to_string(),
        &wire::PaymentFailed {
            payment_id: payment.id.to_string(),
            order_id: payment.order_id.to_string(),
            failure_code: code.to_owned(),
            message: message.to_owned(),
            failed_at: Some(timestamp(now)),
        },
        now,
    )
}

pub fn parse_id(field: &'static str, value: &str) -> Result<Uuid, PaymentError> {
    Uuid::parse_str(value).map_err(|_| PaymentError::invalid(field, "must be a UUID"))
}

fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: t.timestamp(), nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0) }
}
