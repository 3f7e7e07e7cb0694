//! Operators run a sale through the gateway: publish (only at venues they manage), watch the
//! dashboard fill from booking's events, pause, resume and retune the waiting room.

use std::time::Duration;

use chrono::Utc;
use floodgate_proto::{
    catalog::v1::{self as catalog, catalog_service_client::CatalogServiceClient},
    types::v1 as types,
};
use floodgate_testkit::eventually;
use serde_json::json;

use crate::{http::Client, platform::Platform};

fn at(t: chrono::DateTime<Utc>) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds: t.timestamp(), nanos: 0 })
}

/// A priced, configured draft performance at a new venue; returns (venue, performance).
async fn draft(client: &mut CatalogServiceClient<tonic::transport::Channel>) -> anyhow::Result<(String, String)> {
    let venue = client
        .create_venue(catalog::CreateVenueRequest {
            venue: Some(catalog::VenueFields {
                name: "Small Hall".into(),
                time_zone: "Asia/Seoul".into(),
                ..Default::default()
            }),
            idempotency_key: String::new(),
        })
        .await?
        .into_inner();
    let hall = client
        .create_hall(catalog::CreateHallRequest {
            venue_id: venue.venue_id.clone(),
            name: "Main".into(),
            hall_type: catalog::HallType::ConcertHall.into(),
        })
        .await?
        .into_inner();
    client
        .generate_seat_map(catalog::GenerateSeatMapRequest {
            hall_id: hall.hall_id.clone(),
            sections: vec![catalog::SectionLayout {
                section_id: "A".into(),
                name: "Block A".into(),
                grade_code: "R".into(),
                rows: 2,
                seats_per_row: 5,
                origin: Some(catalog::Point { x: 0.0, y: 5.0 }),
                seat_spacing: 0.5,
                row_spacing: 0.9,
                ..Default::default()
            }],
            focal_point: Some(catalog::Point { x: 0.0, y: 0.0 }),
            expected_version: 0,
        })
        .await?;
    let event = client
        .create_event(catalog::CreateEventRequest {
            event: Some(catalog::EventFields {
                title: "Operator Night".into(),
                category: catalog::EventCategory::Concert.into(),
                age_rating: "ALL".into(),
                running_time: Some(prost_types::Duration { seconds: 7200, nanos: 0 }),
                ..Default::default()
            }),
            idempotency_key: String::new(),
        })
        .await?
        .into_inner();
    let now = Utc::now();
    let performance = client
        .create_performance(catalog::CreatePerformanceRequest {
            event_id: event.event_id,
            hall_id: hall.hall_id,
            starts_at: at(now + chrono::Duration::days(10)),
            turnover: Some(prost_types::Duration { seconds: 1200, nanos: 0 }),
            idempotency_key: String::new(),
        })
        .await?
        .into_inner();
    let id = performance.performance_id;
    client
        .set_price_tiers(catalog::SetPriceTiersRequest {
            performance_id: id.clone(),
            tiers: vec![catalog::PriceTier {
                grade_code: "R".into(),
                grade_name: "R".into(),
                price: Some(types::Money { minor: 50_000, currency: "KRW".into() }),
            }],
        })
        .await?;
    client
        .set_sale_config(catalog::SetSaleConfigRequest {
            performance_id: id.clone(),
            sale_config: Some(catalog::SaleConfig {
                mode: catalog::SaleMode::Reserved.into(),
                waiting_room_opens_at: at(now - chrono::Duration::minutes(10)),
                sale_opens_at: at(now - chrono::Duration::minutes(1)),
                sale_closes_at: at(now + chrono::Duration::days(9)),
                per_buyer_limit: 4,
                hold_ttl: Some(prost_types::Duration { seconds: 420, nanos: 0 }),
                payment_deadline: Some(prost_types::Duration { seconds: 900, nanos: 0 }),
                admission_rate_per_second: 20,
                max_active_shoppers: 50,
                admission_ttl: Some(prost_types::Duration { seconds: 600, nanos: 0 }),
                ..Default::default()
            }),
            expected_version: 0,
        })
        .await?;
    Ok((venue.venue_id, id))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_publish_watch_and_steer_only_their_venues() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let base = platform.gateway_http.clone();
    let channel =
        tonic::transport::Endpoint::from_shared(format!("http://{}", platform.processes["catalog"].listening.grpc))?
            .connect()
            .await?;
    let (venue, performance) = draft(&mut CatalogServiceClient::new(channel)).await?;

    // Staff accounts: an operator of this venue, one of another venue.
    let ours = Client::sign_up(&base, "venue-op", "+821030000001").await?;
    let theirs = Client::sign_up(&base, "other-op", "+821030000002").await?;
    let gateway_db = &platform.databases["gateway"].pool;
    sqlx::query(
        "UPDATE accounts SET role = 'operator' WHERE email IN ('venue-op@example.com', 'other-op@example.com')",
    )
    .execute(gateway_db)
    .await?;
    sqlx::query("INSERT INTO operator_venues (account_id, venue_id) SELECT id, $1 FROM accounts WHERE email = 'venue-op@example.com'")
        .bind(uuid::Uuid::parse_str(&venue)?)
        .execute(gateway_db)
        .await?;
    sqlx::query("INSERT INTO operator_venues (account_id, venue_id) SELECT id, $1 FROM accounts WHERE email = 'other-op@example.com'")
        .bind(uuid::Uuid::now_v7())
        .execute(gateway_db)
        .await?;
    // Roles and venues come with the next token.
    let relogin = |client: Client, email: &'static str| async move {
        let (_, tokens) = client.post("/v1/sessions", json!({"email": email, "password": "Tickets!2026"})).await?;
        anyhow::Ok(Client { token: tokens["access_token"].as_str().map(str::to_owned), ..client })
    };
    let ours = relogin(ours, "venue-op@example.com").await?;
    let theirs = relogin(theirs, "other-op@example.com").await?;

    let publish = format!("/v1/operator/performances/{performance}/publish");
    let (status, refused) = theirs.post(&publish, json!({"expected_version": 0})).await?;
    assert_eq!((status, refused["code"].as_str()), (403, Some("NOT_YOUR_VENUE")));
    let (status, published) = ours.post(&publish, json!({"expected_version": 0})).await?;
    assert_eq!((status, published["status"].as_str()), (200, Some("PERFORMANCE_STATUS_PUBLISHED")), "{published}");

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
