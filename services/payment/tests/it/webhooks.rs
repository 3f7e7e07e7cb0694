//! Webhooks: forgeries refused, replays absorbed, and duplicated / reordered deliveries leave
//! the right final state.

use std::sync::Arc;

use chrono::Utc;
use floodgate_payment::{
    domain::webhook,
    payments::By,
    provider::{
        sender::{WebhookChaos, WebhookSender},
        simulated::Knobs,
    },
    reconcile::LocalWebhooks,
};

use crate::support::{Pay, code};

async fn handle(pay: &Pay, body: &[u8], signature: &str, timestamp: &str) -> Result<bool, tonic::Status> {
    use floodgate_proto::payment::v1::{HandleWebhookRequest, payment_service_server::PaymentService as _};
    let request = HandleWebhookRequest {
        provider: "simulated".into(),
        raw_body: body.to_vec(),
        signature: signature.into(),
        timestamp: timestamp.into(),
    };
    Ok(pay.api.handle_webhook(tonic::Request::new(request)).await?.into_inner().duplicate)
}

#[tokio::test]
async fn forged_stale_or_reserialized_webhooks_are_refused_and_replays_absorbed() -> anyhow::Result<()> {
    let pay = Pay::new(Knobs::default()).await?;
    let (order, payment) = pay.paid("alice", 10_000).await?;
    let body = format!(r#"{{"id":"evt_1","type":"payment.cancelled","tid":"{}"}}"#, payment.provider_tid);
    let body = body.as_bytes();
    let (timestamp, signature) = pay.simulator.sign(body, Utc::now());

    let forged = webhook::sign(b"not the secret", timestamp.parse()?, body);
    assert_eq!(code(&handle(&pay, body, &forged, &timestamp).await.unwrap_err()), "WEBHOOK_REJECTED");
    let reserialized = format!(r#"{{"id": "evt_1", "type": "payment.cancelled", "tid": "{}"}}"#, payment.provider_tid);
    assert_eq!(
        code(&handle(&pay, reserialized.as_bytes(), &signature, &timestamp).await.unwrap_err()),
        "WEBHOOK_REJECTED"
    );
    let (old, old_signature) = pay.simulator.sign(body, Utc::now() - chrono::Duration::seconds(301));
    assert_eq!(code(&handle(&pay, body, &old_signature, &old).await.unwrap_err()), "WEBHOOK_REJECTED");

    assert!(!handle(&pay, body, &signature, &timestamp).await?, "first delivery");
    assert!(handle(&pay, body, &signature, &timestamp).await?, "a replay is a no-op");
    // A late "cancelled" never walks a captured payment back.
    assert_eq!(pay.payments.get(By::Order(order), None).await?.status.as_str(), "APPROVED");
    pay.ledger_agrees().await
}

#[tokio::test]
async fn duplicated_and_reordered_webhooks_settle_a_capture_we_never_heard_about() -> anyhow::Result<()> {
    let pay = Pay::new(Knobs { lost_reply_rate: 1.0, ..Knobs::default() }).await?;
    let sender = WebhookSender {
        simulator: pay.simulator.clone(),
        sink: Arc::new(LocalWebhooks(pay.payments.clone())),
        chaos: WebhookChaos { duplicate_rate: 1.0, reorder: true, ..WebhookChaos::default() },
        tick: std::time::Duration::from_millis(50),
    };
    let mut orders = Vec::new();
    for buyer in ["a", "b", "c"] {
        let order = pay.order(buyer, 30_000).await?;
        let prepared = pay.prepare(order, buyer, "p").await?;
        let token = pay.buyer_approves(&prepared.redirect_url, None).await?;
        pay.approve(&prepared, &token, buyer, "a").await.unwrap_err(); // the reply is lost
        orders.push(order);
    }
    // Every webhook twice, shuffled.
    assert_eq!(sender.round().await?, 6);
    for order in &orders {
        let payment = pay.payments.get(By::Order(*order), None).await?;
        assert_eq!((payment.status.as_str(), payment.captured_minor), ("APPROVED", 30_000));
    }
    assert_eq!(pay.outbox().await?, ["PaymentApproved"; 3], "one event per payment");
    assert_eq!(sender.round().await?, 0, "delivered ones are not sent again");
    pay.ledger_agrees().await
}
