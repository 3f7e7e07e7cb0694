//! Changing and retiring what operators set up: optimistic concurrency on updates, no deleting a
//! venue that is selling, cancellation announced.

use chrono::{Duration, Utc};
use floodgate_proto::{catalog::v1 as wire, types::v1 as types};
use tonic::Code;

use crate::{
    api::{self, stable_code},
    publishing::{concert_sections, krw, outbox, performance, sale_config},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_need_the_current_version_and_a_selling_venue_cannot_be_deleted() -> anyhow::Result<()> {
    let running = api::start().await?;
    let mut client = running.client.clone();
    let starts_at = Utc::now() + Duration::days(20);
    let (venue, show) = performance(&mut client, wire::HallType::Arena, concert_sections(), starts_at).await?;
    assert_eq!(venue.version, 1);

    let fields =
        |name: &str| wire::VenueFields { name: name.into(), time_zone: "Asia/Seoul".into(), ..Default::default() };
    let renamed = client
        .update_venue(wire::UpdateVenueRequest {
            venue_id: venue.venue_id.clone(),
            venue: Some(fields("KSPO Dome (Olympic Park)")),
            expected_version: 1,
        })
        .await?
        .into_inner();
    assert_eq!((renamed.name.as_str(), renamed.version), ("KSPO Dome (Olympic Park)", 2));
    let stale = client
        .update_venue(wire::UpdateVenueRequest {
            venue_id: venue.venue_id.clone(),
            venue: Some(fields("Lost update")),
            expected_version: 1,
        })
        .await
        .expect_err("someone else changed it");
    assert_eq!((stale.code(), stable_code(&stale)), (Code::Aborted, "VERSION_CONFLICT"));

    // Publish, then try to delete the venue.
    client
        .set_price_tiers(wire::SetPriceTiersRequest {
            performance_id: show.performance_id.clone(),
            tiers: ["VIP", "R"]
                .iter()
                .map(|g| wire::PriceTier { grade_code: (*g).into(), grade_name: (*g).into(), price: krw(100_000) })
                .collect(),
        })
        .await?;
    client
        .set_sale_config(wire::SetSaleConfigRequest {
            performance_id: show.performance_id.clone(),
            sale_config: Some(sale_config(starts_at)),
            expected_version: 0,
        })
        .await?;
    client
        .publish_performance(wire::PublishPerformanceRequest {
            performance_id: show.performance_id.clone(),
            expected_version: 0,
        })
        .await?;
    let refused = client
        .delete_venue(wire::DeleteVenueRequest { venue_id: venue.venue_id.clone(), expected_version: 0 })
        .await
        .expect_err("it is selling");
    assert_eq!((refused.code(), stable_code(&refused)), (Code::FailedPrecondition, "IN_USE"));

    // Cancelling announces it; then the venue can go.
    let cancelled = client
        .cancel_performance(wire::CancelPerformanceRequest {
            performance_id: show.performance_id.clone(),
            reason: "artist illness".into(),
        })
        .await?
        .into_inner();
    assert_eq!(cancelled.status(), wire::PerformanceStatus::Cancelled);
    let last = outbox(&running.db).await?.pop().expect("events");
    assert_eq!(last.payload::<wire::PerformanceCancelled>()?.reason, "artist illness");
    client.delete_venue(wire::DeleteVenueRequest { venue_id: venue.venue_id.clone(), expected_version: 0 }).await?;
    let gone = client.get_venue(wire::GetVenueRequest { venue_id: venue.venue_id.clone() }).await.expect_err("deleted");
    assert_eq!(gone.code(), Code::NotFound);

    running.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn venues_page_by_cursor() -> anyhow::Result<()> {
    let running = api::start().await?;
    let mut client = running.client.clone();
    for i in 0..5 {
        client
            .create_venue(wire::CreateVenueRequest {
                venue: Some(wire::VenueFields {
                    name: format!("Venue {i}"),
                    time_zone: "Europe/London".into(),
                    ..Default::default()
                }),
                idempotency_key: String::new(),
            })
            .await?;
    }
    let mut names = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = client
            .list_venues(wire::ListVenuesRequest {
                page: Some(types::PageRequest { page_size: 2, cursor: cursor.clone() }),
            })
            .await?
            .into_inner();
        names.extend(page.venues.into_iter().map(|v| v.name));
        cursor = page.page.unwrap_or_default().next_cursor;
        if cursor.is_empty() {
            break;
        }
    }
    assert_eq!(names, ["Venue 0", "Venue 1", "Venue 2", "Venue 3", "Venue 4"]);
    running.stop().await
}
