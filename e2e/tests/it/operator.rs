//! Operators set up and run a sale through the gateway: an admin creates the venue and grants
//! it to an operator; the operator adds a hall, generates its seat map, creates the event,
//! schedules and prices a performance, configures the sale and publishes it (only at venues
//! they manage); the public then finds it; the dashboard fills from booking's events; the
//! waiting room is paused, resumed and retuned.

use std::time::Duration;

use chrono::Utc;
use floodgate_proto::catalog::v1 as catalog;
use floodgate_testkit::eventually;
use serde_json::{Value, json};

use crate::{http::Client, platform::Platform};

/// Runs `call` and insists on `expected`, returning the body.
async fn expect(
    expected: u16,
    what: &str,
    call: impl std::future::Future<Output = anyhow::Result<(u16, Value)>>,
) -> anyhow::Result<Value> {
    let (status, body) = call.await?;
    anyhow::ensure!(status == expected, "{what}: {status} {body}");
    Ok(body)
}

fn id(body: &Value, field: &str) -> String {
    body[field].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_set_up_publish_watch_and_steer_only_their_venues() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let base = platform.gateway_http.clone();
    let anonymous = Client { base: base.clone(), http: reqwest::Client::new(), token: None };

    // The first admin is made in the database (bootstrap); admins make everyone else.
    let boss = Client::sign_up(&base, "boss", "+821030000009").await?;
    sqlx::query("UPDATE accounts SET role = 'admin' WHERE email = 'boss@example.com'")
        .execute(&platform.databases["gateway"].pool)
        .await?;
    let boss = boss.relogin("boss@example.com").await?;
    let ours = Client::sign_up(&base, "venue-op", "+821030000001").await?;
    let theirs = Client::sign_up(&base, "other-op", "+821030000002").await?;

    let venue_body =
        json!({"name": "Small Hall", "time_zone": "Asia/Seoul", "address": {"city": "Seoul", "country": "KR"}});
    let (status, refused) = ours.post("/v1/operator/venues", venue_body.clone()).await?;
    assert_eq!((status, refused["code"].as_str()), (403, Some("ADMIN_ONLY")), "{refused}");
    let venue = id(&expect(201, "create venue", boss.post("/v1/operator/venues", venue_body)).await?, "venue_id");
    let other_venue = id(
        &expect(
            201,
            "another venue",
            boss.post("/v1/operator/venues", json!({"name": "Elsewhere", "time_zone": "UTC"})),
        )
        .await?,
        "venue_id",
    );
    for (client, venue) in [(&ours, &venue), (&theirs, &other_venue)] {
        let account = id(&expect(200, "me", client.get("/v1/me")).await?, "id");
        let grant = json!({"role": "operator", "venues": [venue]});
        expect(200, "grant", boss.put(&format!("/v1/admin/accounts/{account}/role"), grant)).await?;
    }
    let ours = ours.relogin("venue-op@example.com").await?;
    let theirs = theirs.relogin("other-op@example.com").await?;
    let (_, listed) = ours.get("/v1/operator/venues").await?;
    assert_eq!(
        listed["venues"].as_array().map(|v| v.iter().map(|v| id(v, "venue_id")).collect::<Vec<_>>()),
        Some(vec![venue.clone()])
    );

    // A hall and its seat map: two rows of five.
    let hall_body = json!({"name": "Main", "hall_type": "concert_hall"});
    let (status, _) = theirs.post(&format!("/v1/operator/venues/{venue}/halls"), hall_body.clone()).await?;
    assert_eq!(status, 403, "another venue's operator");
    let hall =
        id(&expect(201, "hall", ours.post(&format!("/v1/operator/venues/{venue}/halls"), hall_body)).await?, "hall_id");
    let layout = json!({
        "expected_version": 0,
        "focal_point": {"x": 0.0, "y": 0.0},
        "sections": [{"section_id": "A", "name": "Block A", "grade_code": "R", "rows": 2, "seats_per_row": 5,
                      "origin": {"x": 0.0, "y": 5.0}, "seat_spacing": 0.5, "row_spacing": 0.9}],
    });
    let generated =
        expect(201, "seat map", ours.post(&format!("/v1/operator/halls/{hall}/seat-map/generate"), layout)).await?;
    let seats = generated["sections"][0]["rows"]
        .as_array()
        .map(|rows| rows.iter().map(|r| r["seats"].as_array().map_or(0, Vec::len)).sum::<usize>());
    assert_eq!(seats, Some(10), "{generated}");
    let (status, _) = theirs.get(&format!("/v1/operator/halls/{hall}/seat-map")).await?;
    assert_eq!(status, 403);

    // The event belongs to its creator.
    let event_body =
        json!({"title": "Operator Night", "category": "concert", "age_rating": "ALL", "running_time_minutes": 120});
    let event = expect(201, "event", ours.post("/v1/operator/events", event_body.clone())).await?;
    let event_id = id(&event, "event_id");
    let update = json!({"expected_version": event["version"], "event": {"title": "Operator Night II", "category": "concert", "age_rating": "ALL", "running_time_minutes": 120}});
    let (status, refused) = theirs.put(&format!("/v1/operator/events/{event_id}"), update.clone()).await?;
    assert_eq!((status, refused["code"].as_str()), (403, Some("NOT_YOUR_EVENT")), "{refused}");
    let renamed = expect(200, "rename", ours.put(&format!("/v1/operator/events/{event_id}"), update.clone())).await?;
    assert_eq!(renamed["title"], "Operator Night II");
    let (status, stale) = ours.put(&format!("/v1/operator/events/{event_id}"), update).await?;
    assert_eq!(status, 409, "a stale version: {stale}");

    // A performance in ten days; another overlapping it in the same hall is refused.
    let now = Utc::now();
    let starts = now + chrono::Duration::days(10);
    let schedule = |at: chrono::DateTime<Utc>| json!({"event_id": event_id, "hall_id": hall, "starts_at": at.to_rfc3339(), "turnover_minutes": 20});
    let (status, _) = theirs.post("/v1/operator/performances", schedule(starts)).await?;
    assert_eq!(status, 403, "not their hall");
    let performance = id(
        &expect(201, "performance", ours.post("/v1/operator/performances", schedule(starts))).await?,
        "performance_id",
    );
    let (status, overlap) =
        ours.post("/v1/operator/performances", schedule(starts + chrono::Duration::minutes(30))).await?;
    assert_eq!(status, 409, "{overlap}");
    let tiers =
        json!({"tiers": [{"grade_code": "R", "grade_name": "R seat", "price": {"minor": 50000, "currency": "KRW"}}]});
    expect(200, "tiers", ours.put(&format!("/v1/operator/performances/{performance}/price-tiers"), tiers)).await?;
    let sale = json!({
        "expected_version": 0, "mode": "reserved",
        "waiting_room_opens_at": (now - chrono::Duration::minutes(10)).to_rfc3339(),
        "sale_opens_at": (now - chrono::Duration::minutes(1)).to_rfc3339(),
        "sale_closes_at": (now + chrono::Duration::days(9)).to_rfc3339(),
        "per_buyer_limit": 4, "hold_ttl_seconds": 420, "payment_deadline_seconds": 900,
        "admission_rate_per_second": 20, "max_active_shoppers": 50, "admission_ttl_seconds": 600,
        "fee_ladder": [{"days_before": 7, "fee_basis_points": 0}, {"days_before": 1, "fee_basis_points": 1000}],
    });
    let configured =
        expect(200, "sale config", ours.put(&format!("/v1/operator/performances/{performance}/sale-config"), sale))
            .await?;
    assert_eq!(configured["sale_config"]["per_buyer_limit"], 4, "{configured}");

    // Drafts are invisible to the public.
    let (status, _) = anonymous.get(&format!("/v1/performances/{performance}")).await?;
    assert_eq!(status, 404, "a draft performance");
    let (status, _) = anonymous.get(&format!("/v1/events/{event_id}")).await?;
    assert_eq!(status, 404, "an event with only drafts");

    let draft = expect(200, "the draft", ours.get(&format!("/v1/operator/performances/{performance}"))).await?;
    let publish = format!("/v1/operator/performances/{performance}/publish");
    let (status, refused) = theirs.post(&publish, json!({"expected_version": draft["version"]})).await?;
    assert_eq!((status, refused["code"].as_str()), (403, Some("NOT_YOUR_VENUE")));
    let (status, published) = ours.post(&publish, json!({"expected_version": draft["version"]})).await?;
    assert_eq!((status, published["status"].as_str()), (200, Some("PERFORMANCE_STATUS_PUBLISHED")), "{published}");

    // Now the public finds it, and the seat map revalidates by ETag.
    let shown = expect(200, "the event", anonymous.get(&format!("/v1/events/{event_id}"))).await?;
    assert_eq!(shown["performances"][0]["performance_id"], performance.as_str(), "{shown}");
    let found = expect(200, "search", anonymous.get("/v1/events?q=Operator%20Night")).await?;
    assert!(
        found["events"].as_array().is_some_and(|e| e.iter().any(|e| e["event_id"] == event_id.as_str())),
        "{found}"
    );
    let map = anonymous.http.get(format!("{base}/v1/performances/{performance}/seat-map")).send().await?;
    assert_eq!(map.status(), 200);
    let etag = map.headers().get("etag").cloned().ok_or_else(|| anyhow::anyhow!("no ETag"))?;
    let body: Value = map.json().await?;
    assert_eq!(body["tiers"][0]["price"]["minor"], 50000, "{body}");
    let again = anonymous
        .http
        .get(format!("{base}/v1/performances/{performance}/seat-map"))
        .header("if-none-match", etag)
        .send()
        .await?;
    assert_eq!(again.status(), 304);
    // The compact form, as the web app reads it; asked again at once it comes from the gateway's
    // one-second memory of it, with the same ETag and the same revalidation.
    let compact = || {
        let request = anonymous.http.get(format!("{base}/v1/performances/{performance}/seat-map"));
        request.header("accept", "application/x-protobuf")
    };
    for _ in 0..2 {
        let map = compact().send().await?;
        assert_eq!(map.status(), 200);
        let etag = map.headers().get("etag").cloned().ok_or_else(|| anyhow::anyhow!("no ETag"))?;
        let decoded = <catalog::CompactSeatMap as prost::Message>::decode(map.bytes().await?)?;
        let seats: u32 = decoded.sections.iter().flat_map(|s| &s.row_seat_counts).sum();
        assert_eq!(seats, 10, "{decoded:?}");
        assert_eq!(compact().header("if-none-match", etag).send().await?.status(), 304);
    }

    // Booking builds the inventory; its snapshots reach the catalog's read model.
    let dashboard = format!("/v1/operator/performances/{performance}/dashboard");
    let board = eventually(Duration::from_secs(60), "the dashboard to show the seats", || async {
        let (status, board) = ours.get(&dashboard).await?;
        Ok((status == 200 && board["seats"]["capacity"] == 10).then_some(board))
    })
    .await?;
    assert_eq!(board["seats"]["available"], 10);
    assert!(board["waiting_room"]["state"].is_string(), "{board}");

    let room = format!("/v1/operator/performances/{performance}/waiting-room");
    let (status, paused) = ours.post(&format!("{room}/pause"), json!({"reason": "stage check"})).await?;
    assert_eq!((status, paused["state"].as_str()), (200, Some("paused")), "{paused}");
    let (status, resumed) = ours.post(&format!("{room}/resume"), json!({})).await?;
    assert_eq!(status, 200, "{resumed}");
    assert_ne!(resumed["state"], "paused");
    let (status, tuned) = ours
        .call(reqwest::Method::PATCH, &room, Some(json!({"admission_rate_per_second": 5, "max_active_shoppers": 20})))
        .await?;
    assert_eq!((status, tuned["admission_rate_per_second"].as_u64()), (200, Some(5)), "{tuned}");
    Ok(())
}
