//! Idempotency keys: one execution per key, identical replies, "in progress" for a concurrent
//! duplicate, and a refused key reuse.

use floodgate_payment::provider::simulated::Knobs;
use futures::future::join_all;

use crate::support::{Pay, code};

#[tokio::test]
async fn ten_concurrent_approvals_with_one_key_capture_once_with_identical_replies() -> anyhow::Result<()> {
    let pay = Pay::new(Knobs { latency: std::time::Duration::from_millis(50), ..Knobs::default() }).await?;
    let order = pay.order("alice", 99_000).await?;
    let prepared = pay.prepare(order, "alice", "p").await?;
    let token = pay.buyer_approves(&prepared.redirect_url, None).await?;
    let replies = join_all((0..10).map(|_| pay.approve(&prepared, &token, "alice", "same-key"))).await;
    let mut done = Vec::new();
    for reply in replies {
        match reply {
            Ok(payment) => done.push(payment),
            // A duplicate that arrived while the first was running is told so, clearly.
            Err(status) => assert_eq!(code(&status), "IDEMPOTENCY_IN_PROGRESS", "{status:?}"),
        }
    }
    assert!(!done.is_empty());
    // Retrying now replays the first outcome, byte for byte.
    for _ in 0..3 {
        done.push(pay.approve(&prepared, &token, "alice", "same-key").await?);
    }
    assert!(done.windows(2).all(|w| w[0] == w[1]), "identical replies");
    let captures: i64 = sqlx::query_scalar("SELECT count(*) FROM simulator.transactions WHERE status = 'CAPTURED'")
        .fetch_one(&pay.db.pool)
        .await?;
    assert_eq!(captures, 1);
    assert_eq!(pay.outbox().await?, ["PaymentApproved"]);
    pay.ledger_agrees().await
}

#[tokio::test]
async fn the_same_key_with_other_parameters_is_refused() -> anyhow::Result<()> {
    let pay = Pay::new(Knobs::default()).await?;
    let order = pay.order("alice", 10_000).await?;
    let other = pay.order("alice", 20_000).await?;
    pay.prepare(order, "alice", "mine").await?;
    let reused = pay.prepare(other, "alice", "mine").await.unwrap_err();
    assert_eq!(code(&reused), "IDEMPOTENCY_KEY_REUSED");
    // Keys are per caller: bob's "mine" is not alice's.
    let bobs = pay.order("bob", 5_000).await?;
    pay.prepare(bobs, "bob", "mine").await?;
    // A failure for good is stored and replayed as well.
    let unknown = uuid::Uuid::now_v7();
    assert_eq!(code(&pay.prepare(unknown, "alice", "nope").await.unwrap_err()), "NOT_FOUND");
    assert_eq!(code(&pay.prepare(unknown, "alice", "nope").await.unwrap_err()), "NOT_FOUND");
    let stored: Option<String> = sqlx::query_scalar("SELECT error_code FROM idempotency_keys WHERE key = 'nope'")
        .fetch_one(&pay.db.pool)
        .await?;
    assert!(stored.is_some_and(|c| c.ends_with("NOT_FOUND")));
    pay.ledger_agrees().await
}
