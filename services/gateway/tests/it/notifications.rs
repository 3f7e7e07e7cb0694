//! The confirmation email: booking's OrderPlaced says who, OrderConfirmed says when; the buyer
//! (member or guest) gets one readable message.

use chrono::Utc;
use floodgate_eventbus::{Event, EventHandler as _};
use floodgate_gateway::notifications::Confirmations;
use floodgate_proto::{booking::v1 as booking, types::v1 as types};
use serde_json::json;

use crate::support::Gateway;

async fn deliver<P: floodgate_proto::EventPayload>(
    gw: &Gateway,
    handler: &Confirmations,
    payload: &P,
) -> anyhow::Result<()> {
    let mut tx = gw.db_pool.begin().await?;
    handler
        .handle(&mut tx, &Event::new("booking", "k", payload, Utc::now()))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    tx.commit().await?;
    Ok(())
}

#[tokio::test]
async fn a_confirmed_order_emails_its_member_once() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let (email, password) = gw.account("hana", "+821031310000").await?;
    let (_, me) = {
        let token = gw.login(&email, &password).await?["access_token"].as_str().unwrap_or_default().to_owned();
        gw.get("/v1/me", Some(&token)).await?
    };
    let handler = Confirmations { sender: gw.sender.clone(), public_url: "https://tickets.example".into() };
    let order_id = uuid::Uuid::now_v7().to_string();
    let placed = booking::OrderPlaced {
        order_id: order_id.clone(),
        order_number: "FG-7K3M-9Q2D".into(),
        performance_id: uuid::Uuid::now_v7().to_string(),
        buyer: Some(types::Buyer {
            kind: Some(types::buyer::Kind::UserId(me["id"].as_str().unwrap_or_default().into())),
        }),
        total: Some(types::Money { minor: 396_000, currency: "KRW".into() }),
        ..Default::default()
    };
    deliver(&gw, &handler, &placed).await?;
    let confirmed = booking::OrderConfirmed {
        order_id: order_id.clone(),
        ticket_ids: vec!["t1".into(), "t2".into()],
        seats: vec![types::SeatRef {
            seat_id: "A-1-1".into(),
            section_id: "A".into(),
            row: "1".into(),
            number: "1".into(),
        }],
        ..Default::default()
    };
    deliver(&gw, &handler, &confirmed).await?;
    deliver(&gw, &handler, &confirmed).await?; // redelivered: not sent twice
    let (_, messages) = gw.get("/v1/dev/messages?to=hana%40example.com", None).await?;
    let emails: Vec<&serde_json::Value> =
        messages["messages"].as_array().into_iter().flatten().filter(|m| m["channel"] == "email").collect();
    assert_eq!(emails.len(), 1);
    let body = emails[0]["body"].as_str().unwrap_or_default();
    assert!(
        body.contains("FG-7K3M-9Q2D") && body.contains("396000 KRW") && body.contains("section A row 1 seat 1"),
        "{body}"
    );
    assert!(body.contains(&format!("https://tickets.example/tickets?order_id={order_id}")));
    assert_eq!(emails[0]["subject"], json!("Your Floodgate tickets — order FG-7K3M-9Q2D"));
    Ok(())
}

#[tokio::test]
async fn a_guest_gets_the_email_they_gave() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let handler = Confirmations { sender: gw.sender.clone(), public_url: "https://tickets.example".into() };
    let order_id = uuid::Uuid::now_v7().to_string();
    let guest = types::GuestIdentity {
        phone: "+821012345678".into(),
        email: "guest@example.com".into(),
        guest_id: "g1".into(),
    };
    let placed = booking::OrderPlaced {
        order_id: order_id.clone(),
        order_number: "FG-GUES-T001".into(),
        buyer: Some(types::Buyer { kind: Some(types::buyer::Kind::Guest(guest)) }),
        total: Some(types::Money { minor: 1_500, currency: "USD".into() }),
        ..Default::default()
    };
    deliver(&gw, &handler, &placed).await?;
    deliver(&gw, &handler, &booking::OrderConfirmed { order_id, ticket_ids: vec!["t".into()], ..Default::default() })
        .await?;
    let (_, messages) = gw.get("/v1/dev/messages?to=guest%40example.com", None).await?;
    let body = messages["messages"][0]["body"].as_str().unwrap_or_default();
    assert!(body.contains("FG-GUES-T001") && body.contains("15.00 USD"), "{body}");
    Ok(())
}
