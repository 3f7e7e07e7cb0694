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

/// What a minimal SMTP server (below) was given: envelope recipients and message text.
type Received = std::sync::Arc<tokio::sync::Mutex<Vec<(Vec<String>, String)>>>;

/// A tiny SMTP server standing in for the mail relay: it speaks the protocol lettre speaks
/// (EHLO, MAIL, RCPT, DATA, QUIT) over a real socket and keeps what it was sent.
async fn smtp_sink() -> anyhow::Result<(String, Received)> {
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("smtp://{}", listener.local_addr()?);
    let received = Received::default();
    let sink = received.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let sink = sink.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 sink ESMTP\r\n").await;
                let mut recipients = Vec::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line.split_whitespace().next().unwrap_or_default().to_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
                        "RCPT" => {
                            recipients.push(line.trim_start_matches("RCPT TO:").trim_matches(['<', '>']).to_owned());
                            b"250 ok\r\n"
                        }
                        "DATA" => {
                            let _ = write.write_all(b"354 go on\r\n").await;
                            let mut text = String::new();
                            while let Ok(Some(data)) = lines.next_line().await {
                                if data == "." {
                                    break;
                                }
                                text.push_str(&data);
                                text.push('\n');
                            }
                            sink.lock().await.push((std::mem::take(&mut recipients), text));
                            b"250 queued\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    if write.write_all(reply).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    Ok((url, received))
}

#[tokio::test]
async fn with_an_smtp_url_emails_go_over_smtp_and_codes_stay_on_their_channel() -> anyhow::Result<()> {
    let (url, received) = smtp_sink().await?;
    let gw =
        Gateway::start_with(&[&format!("--smtp-url={url}"), "--mail-from=Tickets <tickets@venue.example>"]).await?;
    // The SMS code still reaches the development outbox: signing up works.
    let (email, password) = gw.account("mina", "+821031320000").await?;
    let token = gw.login(&email, &password).await?["access_token"].as_str().unwrap_or_default().to_owned();
    let (_, me) = gw.get("/v1/me", Some(&token)).await?;
    let handler = Confirmations { sender: gw.sender.clone(), public_url: "https://tickets.example".into() };
    let order_id = uuid::Uuid::now_v7().to_string();
    let placed = booking::OrderPlaced {
        order_id: order_id.clone(),
        order_number: "FG-SMTP-0001".into(),
        buyer: Some(types::Buyer {
            kind: Some(types::buyer::Kind::UserId(me["id"].as_str().unwrap_or_default().into())),
        }),
        total: Some(types::Money { minor: 55_000, currency: "KRW".into() }),
        ..Default::default()
    };
    deliver(&gw, &handler, &placed).await?;
    deliver(&gw, &handler, &booking::OrderConfirmed { order_id, ticket_ids: vec!["t".into()], ..Default::default() })
        .await?;
    let mails = received.lock().await.clone();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let (recipients, text) = &mails[0];
    assert_eq!(recipients, &vec!["mina@example.com".to_owned()]);
    assert!(text.contains("From: Tickets <tickets@venue.example>"), "{text}");
    assert!(text.contains("FG-SMTP-0001"), "{text}");
    let (_, outbox) = gw.get("/v1/dev/messages?to=mina%40example.com", None).await?;
    assert_eq!(outbox["messages"].as_array().map(Vec::len), Some(0), "email did not also go to the outbox");
    Ok(())
}
