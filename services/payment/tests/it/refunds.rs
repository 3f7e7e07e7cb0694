//! Refunds: partial ones capped by the capture, booking's cancellation refunds (fees kept), and
//! the automatic full refund when booking rejects a paid order.

use floodgate_payment::{payments::By, provider::simulated::Knobs};
use floodgate_proto::{
    booking::v1 as booking,
    payment::v1::{self as wire, payment_service_server::PaymentService as _},
};
use tonic::Request;

use crate::support::{Pay, code, krw};

fn refund(payment: &wire::Payment, minor: i64, key: &str) -> Request<wire::RefundRequest> {
    Request::new(wire::RefundRequest {
        payment_id: payment.payment_id.clone(),
        amount: krw(minor),
        reason: "goodwill".into(),
        idempotency_key: key.into(),
    })
}

#[tokio::test]
async fn partial_refunds_never_exceed_the_capture() -> anyhow::Result<()> {
    let pay = Pay::new(Knobs::default()).await?;
    let (_, payment) = pay.paid("alice", 100_000).await?;
    let partly = pay.api.refund(refund(&payment, 30_000, "r1")).await?.into_inner();
    assert_eq!(
        (partly.status(), partly.refunded.as_ref().map(|m| m.minor)),
        (wire::PaymentStatus::PartiallyRefunded, Some(30_000))
    );
    let too_much = pay.api.refund(refund(&payment, 80_000, "r2")).await.unwrap_err();
    assert_eq!(code(&too_much), "REFUND_EXCEEDS_CAPTURE");
    // The same key again replays, it does not refund twice.
    assert_eq!(pay.api.refund(refund(&payment, 30_000, "r1")).await?.into_inner(), partly);
    let rest = pay.api.refund(refund(&payment, 70_000, "r3")).await?.into_inner();
    assert_eq!(rest.status(), wire::PaymentStatus::Refunded);
    assert_eq!(rest.refunds.len(), 2);
    assert_eq!(pay.outbox().await?, ["PaymentApproved", "PaymentRefunded", "PaymentRefunded"]);
    pay.ledger_agrees().await
}

#[tokio::test]
async fn booking_cancellations_refund_what_booking_computed_and_rejections_everything() -> anyhow::Result<()> {
    let pay = Pay::new(Knobs::default()).await?;
    let (cancelled_order, _) = pay.paid("alice", 100_000).await?;
    let cancelled = booking::OrderCancelled {
        order_id: cancelled_order.to_string(),
        performance_id: String::new(),
        line_ids: vec!["l1".into(), "l2".into()],
        refund: krw(70_000),
        fee: krw(30_000),
        full: true,
        reason: "plans changed".into(),
    };
    pay.deliver(cancelled_order, &cancelled).await?;
    pay.deliver(cancelled_order, &cancelled).await?; // redelivered with a new event id
    pay.settle_refunds().await?;
    let kept_fee = pay.payments.get(By::Order(cancelled_order), None).await?;
    assert_eq!((kept_fee.status.as_str(), kept_fee.refunded_minor), ("PARTIALLY_REFUNDED", 70_000));

    let (rejected_order, _) = pay.paid("bob", 55_000).await?;
    let rejected = booking::OrderRejected {
        order_id: rejected_order.to_string(),
        performance_id: String::new(),
        reason: "seat lost".into(),
        lost_seats: Vec::new(),
    };
    pay.deliver(rejected_order, &rejected).await?;
    pay.settle_refunds().await?;
    let back = pay.payments.get(By::Order(rejected_order), None).await?;
    assert_eq!((back.status.as_str(), back.refunded_minor), ("REFUNDED", 55_000), "never paid but no ticket");
    pay.ledger_agrees().await
}
