//! The provider flow end to end, amount tampering, declines, and crashes between the provider's
//! capture and our commit.

use chrono::Utc;
use floodgate_payment::provider::simulated::Knobs;
use floodgate_proto::{booking::v1 as booking, payment::v1 as wire};

use crate::support::{LATER, Pay, code};

#[tokio::test]
async fn ready_redirect_approve_captures_and_announces() -> anyhow::Result<()> {
    let pay = Pay::new(Knobs::default()).await?;
    let order = pay.order("alice", 150_000).await?;
    let prepared = pay.prepare(order, "alice", "k1").await?;
    assert!(prepared.redirect_url.contains("/checkout/T"), "{}", prepared.redirect_url);
    assert_eq!(prepared.payment.as_ref().map(|p| p.status()), Some(wire::PaymentStatus::Ready));
    let token = pay.buyer_approves(&prepared.redirect_url, None).await?;
    let payment = pay.approve(&prepared, &token, "alice", "k2").await?;
    assert_eq!(payment.status(), wire::PaymentStatus::Approved);
    assert_eq!(payment.captured.as_ref().map(|m| m.minor), Some(150_000));
    assert_eq!(pay.outbox().await?, ["PaymentApproved"]);
    // Someone else cannot prepare, approve or read it.
    assert_eq!(pay.prepare(order, "mallory", "k3").await.unwrap_err().code(), tonic::Code::NotFound);
    assert_eq!(pay.approve(&prepared, &token, "mallory", "k4").await.unwrap_err().code(), tonic::Code::NotFound);
    pay.ledger_agrees().await
}

#[tokio::test]
async fn a_tampered_amount_is_refused_and_given_back() -> anyhow::Result<()> {
    let pay = Pay::new(Knobs::default()).await?;
    let order = pay.order("alice", 150_000).await?;
    let prepared = pay.prepare(order, "alice", "p1").await?;
    let token = pay.buyer_approves(&prepared.redirect_url, Some(1_000)).await?;
    let refused = pay.approve(&prepared, &token, "alice", "a1").await.unwrap_err();
    assert_eq!(code(&refused), "AMOUNT_MISMATCH");
    let payment = pay.payments.get(floodgate_payment::payments::By::Order(order), None).await?;
    assert_eq!((payment.status.as_str(), payment.captured_minor), ("FAILED", 0));
    let refunded: i64 = sqlx::query_scalar("SELECT refunded_minor FROM simulator.transactions WHERE tid = $1")
        .bind(&prepared.provider_tid)
        .fetch_one(&pay.db.pool)
        .await?;
    assert_eq!(refunded, 1_000, "the wrong capture went back to the buyer");
    // The buyer can try again, honestly this time.
    let again = pay.prepare(order, "alice", "p2").await?;
    let token = pay.buyer_approves(&again.redirect_url, None).await?;
    assert_eq!(pay.approve(&again, &token, "alice", "a2").await?.status(), wire::PaymentStatus::Approved);
    assert_eq!(pay.outbox().await?, ["PaymentFailed", "PaymentApproved"]);
    pay.ledger_agrees().await
}

#[tokio::test]
async fn a_declined_payment_fails_with_a_code() -> anyhow::Result<()> {
    let pay = Pay::new(Knobs { decline_rate: 1.0, ..Knobs::default() }).await?;
    let order = pay.order("bob", 10_000).await?;
    let prepared = pay.prepare(order, "bob", "p").await?;
    // The provider's page sends the buyer to the fail URL.
    let reply = pay.http.post(format!("{}/approve", prepared.redirect_url)).body("amount=10000").send().await?;
    let location = reply.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(location.starts_with("https://shop.example/pay/fail?tid="), "{location}");
    let refused = pay.approve(&prepared, "pg_guess", "bob", "a").await.unwrap_err();
    assert_eq!(code(&refused), "PAYMENT_DECLINED");
    assert_eq!(pay.outbox().await?, ["PaymentFailed"]);
    pay.ledger_agrees().await
}

#[tokio::test]
async fn a_capture_whose_reply_was_lost_is_settled_by_the_reconciler() -> anyhow::Result<()> {
    // The provider captures, then the reply is lost — as if we crashed between its capture and
    // our commit. The payment stays "approving"; the reconciler asks and records the capture.
    let pay = Pay::new(Knobs { lost_reply_rate: 1.0, ..Knobs::default() }).await?;
    let order = pay.order("carol", 50_000).await?;
    let prepared = pay.prepare(order, "carol", "p").await?;
    let token = pay.buyer_approves(&prepared.redirect_url, None).await?;
    let lost = pay.approve(&prepared, &token, "carol", "a").await.unwrap_err();
    assert_eq!(code(&lost), "PROVIDER_UNAVAILABLE");
    assert!(pay.outbox().await?.is_empty(), "nothing recorded yet");
    assert_eq!(pay.payments.reconcile_stuck(Utc::now()).await?, 0, "not stuck long enough yet");
    assert_eq!(pay.payments.reconcile_stuck(Utc::now() + LATER).await?, 1);
    let payment = pay.payments.get(floodgate_payment::payments::By::Order(order), None).await?;
    assert_eq!((payment.status.as_str(), payment.captured_minor), ("APPROVED", 50_000));
    assert_eq!(pay.outbox().await?, ["PaymentApproved"]);
    // The buyer's retry (same key was released: the failure was transient) reports the capture.
    assert_eq!(pay.approve(&prepared, &token, "carol", "a").await?.status(), wire::PaymentStatus::Approved);
    assert_eq!(pay.outbox().await?, ["PaymentApproved"], "announced once");
    pay.ledger_agrees().await
}

#[tokio::test]
async fn a_capture_after_the_order_expired_is_refunded_and_flagged() -> anyhow::Result<()> {
    let pay = Pay::new(Knobs { lost_reply_rate: 1.0, ..Knobs::default() }).await?;
    let order = pay.order("dave", 70_000).await?;
    let prepared = pay.prepare(order, "dave", "p").await?;
    let token = pay.buyer_approves(&prepared.redirect_url, None).await?;
    pay.approve(&prepared, &token, "dave", "a").await.unwrap_err();
    let expired =
        booking::OrderExpired { order_id: order.to_string(), performance_id: String::new(), expired_at: None };
    pay.deliver(order, &expired).await?;
    pay.payments.reconcile_stuck(Utc::now() + LATER).await?;
    pay.settle_refunds().await?;
    let payment = pay.payments.get(floodgate_payment::payments::By::Order(order), None).await?;
    assert_eq!((payment.status.as_str(), payment.refunded_minor), ("REFUNDED", 70_000));
    assert!(payment.flagged.is_some(), "operators see it");
    assert_eq!(pay.outbox().await?, ["PaymentApproved", "PaymentRefunded"]);
    pay.ledger_agrees().await
}

#[tokio::test]
async fn an_order_that_expires_unpaid_cancels_its_payment() -> anyhow::Result<()> {
    let pay = Pay::new(Knobs::default()).await?;
    let order = pay.order("erin", 20_000).await?;
    let prepared = pay.prepare(order, "erin", "p").await?;
    let expired =
        booking::OrderExpired { order_id: order.to_string(), performance_id: String::new(), expired_at: None };
    pay.deliver(order, &expired).await?;
    let payment = pay.payments.get(floodgate_payment::payments::By::Order(order), None).await?;
    assert_eq!(payment.status.as_str(), "CANCELLED");
    // The buyer's page no longer approves, and a new attempt is refused.
    let reply = pay.http.post(format!("{}/approve", prepared.redirect_url)).body("amount=20000").send().await?;
    assert_eq!(reply.status(), 409);
    assert_eq!(code(&pay.prepare(order, "erin", "p2").await.unwrap_err()), "ORDER_CLOSED");
    pay.ledger_agrees().await
}

/// Found by the stadium rehearsal: a prepare held its row lock and pooled connection through the
/// provider's round trip, and under load drained the pool.
#[tokio::test]
async fn starting_a_payment_holds_nothing_while_the_provider_answers() -> anyhow::Result<()> {
    let slow = Knobs { latency: std::time::Duration::from_millis(400), ..Knobs::default() };
    let pay = Pay::new(slow).await?;
    let order = pay.order("alice", 150_000).await?;
    // Two tabs start paying the same order at once: both reach the provider; the first answer
    // recorded wins and the other is told the payment changed — never a silent second tid.
    let (first, second) = tokio::join!(pay.prepare(order, "alice", "tab-1"), async {
        // Meanwhile the payment row is free to lock (nobody holds it across the provider call).
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        let mut tx = pay.db.pool.begin().await?;
        sqlx::query("SELECT 1 FROM payments WHERE order_id = $1 FOR UPDATE NOWAIT")
            .bind(order)
            .execute(&mut *tx)
            .await?;
        tx.rollback().await?;
        anyhow::Ok(pay.prepare(order, "alice", "tab-2").await)
    });
    let second = second?;
    let (won, lost) = match (first, second) {
        (Ok(won), Err(lost)) | (Err(lost), Ok(won)) => (won, lost),
        (first, second) => anyhow::bail!("one start should win: {first:?} / {second:?}"),
    };
    assert_eq!(code(&lost), "PAYMENT_CHANGED");
    let payment = pay.payments.get(floodgate_payment::payments::By::Order(order), None).await?;
    assert_eq!(payment.tid.as_deref(), Some(won.provider_tid.as_str()), "the winner's transaction is the one kept");
    let token = pay.buyer_approves(&won.redirect_url, None).await?;
    assert_eq!(pay.approve(&won, &token, "alice", "a1").await?.status(), wire::PaymentStatus::Approved);
    pay.ledger_agrees().await
}
