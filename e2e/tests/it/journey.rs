//! The buyer's whole journey through the gateway's public HTTP API, against all five services and
//! the broker: sign up with a verified phone, join the waiting room, get admitted, hold a seat,
//! check out, pay at the simulated provider, see the order confirmed, fetch the ticket (and its
//! QR), have it verified at the door — and another buyer sees none of it.

use std::time::Duration;

use chrono::Utc;
use floodgate_eventbus::{BusConfig, Event, Stream, outbox::Outbox};
use floodgate_proto::{catalog::v1 as catalog, types::v1 as types};
use floodgate_testkit::eventually;
use serde_json::{Value, json};

use floodgate_gateway::http_api::routes::Access;

use crate::{http::Client, platform::Platform};

/// The next JSON text message on a live connection (30 s at most).
async fn next_json<S>(socket: &mut S) -> anyhow::Result<Value>
where
    S: futures::Stream<Item = Result<tokio_tungstenite::tungstenite::Message, tokio_tungstenite::tungstenite::Error>>
        + Unpin,
{
    use futures::StreamExt as _;
    loop {
        let message = tokio::time::timeout(Duration::from_secs(30), socket.next()).await?;
        match message {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) => return Ok(serde_json::from_str(&text)?),
            Some(Ok(_)) => continue,
            other => anyhow::bail!("live connection ended: {other:?}"),
        }
    }
}

fn published(performance_id: &str) -> catalog::PerformancePublished {
    let now = Utc::now();
    let at = |t: chrono::DateTime<Utc>| Some(prost_types::Timestamp { seconds: t.timestamp(), nanos: 0 });
    let seats = (1..=6)
        .map(|n| catalog::Seat { seat_id: format!("F-1-{n}"), number: n.to_string(), ..Default::default() })
        .collect();
    catalog::PerformancePublished {
        performance: Some(catalog::Performance {
            performance_id: performance_id.to_owned(),
            starts_at: at(now + chrono::Duration::days(20)),
            sale_config: Some(catalog::SaleConfig {
                waiting_room_opens_at: at(now - chrono::Duration::minutes(10)),
                sale_opens_at: at(now - chrono::Duration::minutes(1)),
                per_buyer_limit: 4,
                admission_rate_per_second: 50,
                max_active_shoppers: 100,
                admission_ttl: Some(prost_types::Duration { seconds: 600, nanos: 0 }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        seat_map: Some(catalog::SeatMap {
            sections: vec![catalog::Section {
                section_id: "F".into(),
                kind: catalog::SectionKind::Reserved.into(),
                grade_code: "VIP".into(),
                rows: vec![catalog::Row { label: "1".into(), seats }],
                ..Default::default()
            }],
            ..Default::default()
        }),
        prices: vec![catalog::GradePrice {
            grade_code: "VIP".into(),
            audience: 0,
            price: Some(types::Money { minor: 198_000, currency: "KRW".into() }),
        }],
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_admitted_hold_checkout_pay_confirmed_ticket_verified() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let base = platform.gateway_http.clone();
    let performance = uuid::Uuid::now_v7().to_string();
    let bus = BusConfig {
        brokers: platform.broker.brokers.clone(),
        topic_prefix: platform.broker.topic_prefix.clone(),
        partitions: 3,
        replication: 1,
    };
    let mut tx = platform.databases["catalog"].pool.begin().await?;
    let event = Event::new("catalog", performance.clone(), &published(&performance), Utc::now());
    Outbox::new(&bus, Stream::Catalog).enqueue(&mut tx, &event).await?;
    tx.commit().await?;

    let alice = Client::sign_up(&base, "alice", "+821020000001").await?;
    let alice_email = "alice@example.com".to_owned();
    let availability = format!("/v1/performances/{performance}/availability");
    eventually(Duration::from_secs(60), "the performance to be on sale", || async {
        Ok((alice.get(&availability).await?.0 == 200).then_some(()))
    })
    .await?;

    // Without the waiting room's token, no hold.
    let (status, refused) =
        alice.post(&format!("/v1/performances/{performance}/holds"), json!({"seat_ids": ["F-1-3"]})).await?;
    assert_eq!((status, refused["code"].as_str()), (403, Some("ADMISSION_REQUIRED")), "{refused}");

    // The waiting room: join, then poll until admitted.
    let joined = eventually(Duration::from_secs(60), "the waiting room to exist", || async {
        let (status, body) = alice.post(&format!("/v1/performances/{performance}/queue"), json!({})).await?;
        Ok((status == 201).then_some(body))
    })
    .await?;
    let entry = joined["entry_id"].as_str().unwrap_or_default().to_owned();
    let admitted = eventually(Duration::from_secs(60), "admission", || async {
        let (_, position) = alice.get(&format!("/v1/performances/{performance}/queue/{entry}")).await?;
        Ok(position["admission_token"].as_str().map(str::to_owned))
    })
    .await?;

    // Waiting-room bypass attempts (C5): every token below is refused and holds nothing.
    let (_, me) = alice.get("/v1/me").await?;
    let alice_key = format!("user:{}", me["id"].as_str().unwrap_or_default());
    let queue_key = floodgate_admission::AdmissionKey::from_secret("k1", &[7; 32])?;
    let impostor_key = floodgate_admission::AdmissionKey::from_secret("k1", &[8; 32])?;
    let mint = |key: &floodgate_admission::AdmissionKey, sale: &str, buyer: &str, at: chrono::DateTime<Utc>| {
        key.issue(&floodgate_admission::Claims::admit(sale, buyer, at, chrono::Duration::minutes(10)))
    };
    let mut flipped = admitted.clone().into_bytes();
    if let Some(last) = flipped.last_mut() {
        *last = if *last == b'A' { b'B' } else { b'A' };
    }
    let bob = Client::sign_up(&base, "bob", "+821020000003").await?;
    let bypasses = [
        ("a flipped byte", &alice, String::from_utf8(flipped)?, "ADMISSION_REQUIRED"),
        (
            "signed by another key",
            &alice,
            mint(&impostor_key, &performance, &alice_key, Utc::now()),
            "ADMISSION_REQUIRED",
        ),
        (
            "another sale's",
            &alice,
            mint(&queue_key, &uuid::Uuid::now_v7().to_string(), &alice_key, Utc::now()),
            "ADMISSION_REQUIRED",
        ),
        (
            "expired",
            &alice,
            mint(&queue_key, &performance, &alice_key, Utc::now() - chrono::Duration::hours(1)),
            "ADMISSION_EXPIRED",
        ),
        ("another buyer's (alice's, used by bob)", &bob, admitted.clone(), "ADMISSION_REQUIRED"),
    ];
    for (what, buyer, token, code) in bypasses {
        let (status, refused) = buyer
            .post(
                &format!("/v1/performances/{performance}/holds"),
                json!({"seat_ids": ["F-1-3"], "admission_token": token}),
            )
            .await?;
        assert_eq!((status, refused["code"].as_str()), (403, Some(code)), "{what}: {refused}");
    }

    // Live seat changes for section F: a snapshot first, then deltas.
    let mut live = {
        use tokio_tungstenite::tungstenite::{client::IntoClientRequest as _, http::HeaderValue};
        let url = format!("{}/v1/performances/{performance}/live?sections=F", base.replace("http://", "ws://"));
        let mut request = url.into_client_request()?;
        let bearer = format!("Bearer {}", alice.token.clone().unwrap_or_default());
        request.headers_mut().insert("authorization", HeaderValue::from_str(&bearer)?);
        tokio_tungstenite::connect_async(request).await?.0
    };
    let snapshot = next_json(&mut live).await?;
    assert_eq!((snapshot["type"].as_str(), snapshot["sections"][0]["available"].as_u64()), (Some("snapshot"), Some(6)));

    let (status, hold) = alice
        .post(
            &format!("/v1/performances/{performance}/holds"),
            json!({"seat_ids": ["F-1-3"], "admission_token": admitted}),
        )
        .await?;
    assert_eq!(status, 201, "{hold}");
    let held = loop {
        let message = next_json(&mut live).await?;
        if message["type"] == "held" {
            break message;
        }
    };
    assert_eq!(held["seats"][0], json!({"seat_id": "F-1-3", "section_id": "F"}));
    assert!(held["version"].as_u64() > snapshot["version"].as_u64(), "deltas order after the snapshot");
    let hold_id = hold["hold_id"].as_str().unwrap_or_default().to_owned();
    let (status, order) = alice
        .post(&format!("/v1/performances/{performance}/holds/{hold_id}/checkout"), json!({"admission_token": admitted}))
        .await?;
    assert_eq!((status, order["total"]["minor"].as_i64()), (201, Some(198_000)), "{order}");
    let order_id = order["order_id"].as_str().unwrap_or_default().to_owned();

    // Payment: opened from OrderPlaced, prepared, approved at the provider's page.
    eventually(Duration::from_secs(60), "the payment to open", || async {
        Ok((alice.get(&format!("/v1/orders/{order_id}/payment")).await?.0 == 200).then_some(()))
    })
    .await?;
    let urls = json!({"approve_url": "https://app.example/paid", "cancel_url": "https://app.example/cancel", "fail_url": "https://app.example/fail"});
    let (status, prepared) = alice.post(&format!("/v1/orders/{order_id}/payment"), urls).await?;
    assert_eq!(status, 201, "{prepared}");
    let redirect = prepared["redirect_url"].as_str().unwrap_or_default().to_owned();
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let back = browser.post(format!("{redirect}/approve")).body("amount=198000").send().await?;
    let location = back.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let pg_token = location.split("pg_token=").nth(1).unwrap_or_default().to_owned();
    let approve =
        json!({"payment_id": prepared["payment_id"], "provider_tid": prepared["provider_tid"], "pg_token": pg_token});
    let (status, paid) = alice.post(&format!("/v1/orders/{order_id}/payment/approve"), approve).await?;
    assert_eq!((status, paid["status"].as_str()), (200, Some("approved")), "{paid}");

    eventually(Duration::from_secs(60), "the order to be confirmed", || async {
        let (_, order) = alice.get(&format!("/v1/orders/{order_id}")).await?;
        Ok((order["status"] == "confirmed").then_some(()))
    })
    .await?;
    // The confirmation email (read from the development outbox).
    let email = eventually(Duration::from_secs(60), "the confirmation email", || async {
        let (_, messages) = alice.get("/v1/dev/messages?to=alice%40example.com").await?;
        Ok(messages["messages"].as_array().into_iter().flatten().find(|m| m["channel"] == "email").cloned())
    })
    .await?;
    assert!(
        email["body"].as_str().is_some_and(|b| b.contains(order["order_number"].as_str().unwrap_or("?"))),
        "{email}"
    );
    let (_, tickets) = alice.get(&format!("/v1/tickets?order_id={order_id}")).await?;
    let ticket = tickets["tickets"][0].clone();
    let ticket_id = ticket["ticket_id"].as_str().unwrap_or_default().to_owned();
    let svg = alice
        .http
        .get(format!("{base}/v1/tickets/{ticket_id}/qr.svg"))
        .bearer_auth(alice.token.clone().unwrap_or_default())
        .send()
        .await?;
    assert_eq!(svg.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("image/svg+xml"));
    assert!(svg.text().await?.contains("<svg"));

    // Another buyer sees nothing of alice's: 404 everywhere.
    let mallory = Client::sign_up(&base, "mallory", "+821020000002").await?;
    for path in [
        format!("/v1/orders/{order_id}"),
        format!("/v1/orders/{order_id}/payment"),
        format!("/v1/tickets/{ticket_id}"),
        format!("/v1/tickets/{ticket_id}/qr.svg"),
        format!("/v1/performances/{performance}/holds/{hold_id}"),
    ] {
        let (status, body) = mallory.get(&path).await?;
        assert_eq!(status, 404, "{path}: {body}");
    }

    // Object-level authorization, walked from the route table: every id-bearing route a caller
    // can reach has a case here (a new route without one fails this test), and mallory gets
    // nothing of alice's.
    let payment_id = prepared["payment_id"].as_str().unwrap_or_default().to_owned();
    // A live hold of alice's, so the hold routes are tried on something that exists.
    let (status, live_hold) = alice
        .post(
            &format!("/v1/performances/{performance}/holds"),
            json!({"seat_ids": ["F-1-5"], "admission_token": admitted}),
        )
        .await?;
    assert_eq!(status, 201, "{live_hold}");
    let hold_id = live_hold["hold_id"].as_str().unwrap_or_default().to_owned();
    let ids = std::collections::HashMap::from([
        ("performance_id", performance.clone()),
        ("entry_id", entry.clone()),
        ("hold_id", hold_id.clone()),
        ("order_id", order_id.clone()),
        ("ticket_id", ticket_id.clone()),
        // Staff-only resources: a buyer is refused before anything is looked up.
        ("venue_id", uuid::Uuid::now_v7().to_string()),
        ("hall_id", uuid::Uuid::now_v7().to_string()),
        ("event_id", uuid::Uuid::now_v7().to_string()),
        ("account_id", uuid::Uuid::now_v7().to_string()),
    ]);
    let not_found = [404];
    let cases: std::collections::HashMap<(&str, &str), (&[u16], Value)> = std::collections::HashMap::from([
        // The performance is public; mallory joins or holds as herself (and has no admission).
        (("POST", "/v1/performances/{performance_id}/queue"), (&[201][..], json!({}))),
        (("POST", "/v1/performances/{performance_id}/holds"), (&[403][..], json!({"seat_ids": ["F-1-4"]}))),
        (("POST", "/v1/performances/{performance_id}/holds/best-available"), (&[403][..], json!({"quantity": 1}))),
        (("GET", "/v1/performances/{performance_id}/queue/{entry_id}"), (&not_found[..], Value::Null)),
        (("GET", "/v1/performances/{performance_id}/holds/{hold_id}"), (&not_found[..], Value::Null)),
        (("DELETE", "/v1/performances/{performance_id}/holds/{hold_id}"), (&not_found[..], Value::Null)),
        (("POST", "/v1/performances/{performance_id}/holds/{hold_id}/checkout"), (&[403, 404][..], json!({}))),
        (("GET", "/v1/orders/{order_id}"), (&not_found[..], Value::Null)),
        (("POST", "/v1/orders/{order_id}/cancel"), (&not_found[..], json!({}))),
        (("GET", "/v1/orders/{order_id}/payment"), (&not_found[..], Value::Null)),
        (
            ("POST", "/v1/orders/{order_id}/payment"),
            (
                &not_found[..],
                json!({"approve_url": "https://a.example/x", "cancel_url": "https://a.example/x", "fail_url": "https://a.example/x"}),
            ),
        ),
        (
            ("POST", "/v1/orders/{order_id}/payment/approve"),
            (&not_found[..], json!({"payment_id": payment_id, "provider_tid": "T", "pg_token": "x"})),
        ),
        (("GET", "/v1/tickets/{ticket_id}"), (&not_found[..], Value::Null)),
        (("GET", "/v1/tickets/{ticket_id}/qr.svg"), (&not_found[..], Value::Null)),
        // Operator routes: buyers are not staff.
        (("GET", "/v1/operator/performances/{performance_id}/dashboard"), (&[403][..], Value::Null)),
        (("POST", "/v1/operator/performances/{performance_id}/publish"), (&[403][..], json!({"expected_version": 1}))),
        (("POST", "/v1/operator/performances/{performance_id}/cancel"), (&[403][..], json!({}))),
        (("POST", "/v1/operator/performances/{performance_id}/waiting-room/pause"), (&[403][..], json!({}))),
        (("POST", "/v1/operator/performances/{performance_id}/waiting-room/resume"), (&[403][..], Value::Null)),
        (
            ("PATCH", "/v1/operator/performances/{performance_id}/waiting-room"),
            (&[403][..], json!({"admission_rate_per_second": 1, "max_active_shoppers": 1})),
        ),
        // Setting up sales: staff only; creating venues and granting roles: admins only.
        (("GET", "/v1/operator/venues/{venue_id}"), (&[403][..], Value::Null)),
        (
            ("PUT", "/v1/operator/venues/{venue_id}"),
            (&[403][..], json!({"expected_version": 1, "venue": {"name": "x", "time_zone": "UTC"}})),
        ),
        (("DELETE", "/v1/operator/venues/{venue_id}"), (&[400, 403][..], Value::Null)),
        (("POST", "/v1/operator/venues/{venue_id}/halls"), (&[403][..], json!({"name": "x", "hall_type": "standard"}))),
        (
            ("PUT", "/v1/operator/venues/{venue_id}/pricing-rules"),
            (&[403][..], json!({"expected_version": 0, "bands": [], "rules": []})),
        ),
        (("GET", "/v1/operator/halls/{hall_id}"), (&[403][..], Value::Null)),
        (("GET", "/v1/operator/halls/{hall_id}/seat-map"), (&[403][..], Value::Null)),
        (
            ("PUT", "/v1/operator/halls/{hall_id}/seat-map"),
            (&[403][..], json!({"expected_version": 0, "focal_point": {"x": 0, "y": 0}, "sections": []})),
        ),
        (
            ("POST", "/v1/operator/halls/{hall_id}/seat-map/generate"),
            (&[403][..], json!({"expected_version": 0, "focal_point": {"x": 0, "y": 0}, "sections": []})),
        ),
        (
            ("PUT", "/v1/operator/events/{event_id}"),
            (
                &[403][..],
                json!({"expected_version": 1, "event": {"title": "x", "category": "concert", "age_rating": "ALL", "running_time_minutes": 60}}),
            ),
        ),
        (("GET", "/v1/operator/performances/{performance_id}"), (&[403][..], Value::Null)),
        (("PUT", "/v1/operator/performances/{performance_id}/price-tiers"), (&[403][..], json!({"tiers": []}))),
        (
            ("PUT", "/v1/operator/performances/{performance_id}/sale-config"),
            (
                &[403][..],
                json!({
                    "expected_version": 0, "mode": "reserved", "waiting_room_opens_at": "2030-01-01T00:00:00Z",
                    "sale_opens_at": "2030-01-01T00:00:00Z", "sale_closes_at": "2030-01-02T00:00:00Z",
                    "per_buyer_limit": 4, "hold_ttl_seconds": 300, "payment_deadline_seconds": 600,
                    "admission_rate_per_second": 10, "max_active_shoppers": 10, "admission_ttl_seconds": 600,
                }),
            ),
        ),
        (("PUT", "/v1/admin/accounts/{account_id}/role"), (&[403][..], json!({"role": "admin"}))),
        // WebSockets: a plain request is refused before anything is read.
        (("GET", "/v1/performances/{performance_id}/live"), (&[400, 426][..], Value::Null)),
        (("GET", "/v1/performances/{performance_id}/queue/{entry_id}/live"), (&[400, 426][..], Value::Null)),
    ]);
    let api = floodgate_gateway::http_api::api();
    for doc in api.docs().iter().filter(|d| d.access != Access::Public && !d.parameters().is_empty()) {
        let (allowed, body) = cases
            .get(&(doc.method, doc.path))
            .unwrap_or_else(|| panic!("no authorization case for {} {}: add one", doc.method, doc.path));
        let mut path = doc.path.to_owned();
        for name in doc.parameters() {
            path = path.replace(&format!("{{{name}}}"), &ids[name]);
        }
        let method = reqwest::Method::from_bytes(doc.method.as_bytes())?;
        let body = (!body.is_null()).then(|| body.clone());
        let (status, answer) = mallory.call(method, &path, body).await?;
        assert!(allowed.contains(&status), "{} {path}: mallory got {status} {answer}", doc.method);
        assert!(!answer.to_string().contains(&alice_email), "{} {path} leaked alice's data", doc.method);
    }

    // At the door: staff verify the QR payload once.
    let (status, _) = mallory
        .post("/v1/scanner/verify", json!({"qr_payload": ticket["qr_payload"], "performance_id": performance}))
        .await?;
    assert_eq!(status, 403, "buyers are not scanner staff");
    sqlx::query("UPDATE accounts SET role = 'operator' WHERE email = 'mallory@example.com'")
        .execute(&platform.databases["gateway"].pool)
        .await?;
    let (_, tokens) =
        mallory.post("/v1/sessions", json!({"email": "mallory@example.com", "password": "Tickets!2026"})).await?;
    let staff = Client {
        base: base.clone(),
        http: reqwest::Client::new(),
        token: tokens["access_token"].as_str().map(str::to_owned),
    };
    let scan = json!({"qr_payload": ticket["qr_payload"], "performance_id": performance});
    let (_, first) = staff.post("/v1/scanner/verify", scan.clone()).await?;
    let (_, second) = staff.post("/v1/scanner/verify", scan).await?;
    assert_eq!((first["outcome"].as_str(), second["outcome"].as_str()), (Some("admitted"), Some("already_admitted")));
    Ok(())
}
