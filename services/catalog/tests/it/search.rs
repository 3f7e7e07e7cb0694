//! Searching events: filters, and cursor paging that neither skips nor repeats while the catalog
//! changes underneath.

use std::collections::HashSet;

use chrono::{Duration, Utc};
use floodgate_proto::{
    catalog::v1::{self as wire, catalog_service_client::CatalogServiceClient},
    types::v1 as types,
};
use tonic::{Code, transport::Channel};

use crate::api;

async fn hall(client: &mut CatalogServiceClient<Channel>, venue: &str) -> anyhow::Result<(String, String)> {
    let (venue, hall) = crate::support::venue_with_hall(client, venue, wire::HallType::ConcertHall).await?;
    Ok((venue.venue_id, hall.hall_id))
}

async fn event(
    client: &mut CatalogServiceClient<Channel>,
    title: &str,
    category: wire::EventCategory,
    showtime: Option<(&str, chrono::DateTime<Utc>)>,
) -> anyhow::Result<String> {
    let event = client
        .create_event(wire::CreateEventRequest {
            event: Some(wire::EventFields {
                title: title.into(),
                category: category.into(),
                running_time: Some(prost_types::Duration { seconds: 5_400, nanos: 0 }),
                genres: vec!["K-Pop".into()],
                ..Default::default()
            }),
            idempotency_key: String::new(),
        })
        .await?
        .into_inner();
    if let Some((hall_id, at)) = showtime {
        client
            .create_performance(wire::CreatePerformanceRequest {
                event_id: event.event_id.clone(),
                hall_id: hall_id.into(),
                starts_at: Some(prost_types::Timestamp { seconds: at.timestamp(), nanos: 0 }),
                turnover: None,
                idempotency_key: String::new(),
            })
            .await?;
    }
    Ok(event.event_id)
}

async fn page(
    client: &mut CatalogServiceClient<Channel>,
    request: wire::SearchEventsRequest,
    cursor: String,
    size: u32,
) -> anyhow::Result<(Vec<wire::EventSummary>, String)> {
    let response = client
        .search_events(wire::SearchEventsRequest {
            page: Some(types::PageRequest { page_size: size, cursor }),
            ..request
        })
        .await?
        .into_inner();
    Ok((response.events, response.page.unwrap_or_default().next_cursor))
}

fn ids(events: &[wire::EventSummary]) -> Vec<String> {
    events.iter().filter_map(|e| e.event.as_ref().map(|e| e.event_id.clone())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_is_stable_and_filters_narrow() -> anyhow::Result<()> {
    let running = api::start().await?;
    let mut client = running.client.clone();
    let (_, hall_a) = hall(&mut client, "Olympic Hall").await?;
    let (venue_b, hall_b) = hall(&mut client, "Blue Square").await?;
    let base = Utc::now() + Duration::days(10);

    let mut scheduled = Vec::new();
    for i in 0..23 {
        let category = if i % 2 == 0 { wire::EventCategory::Concert } else { wire::EventCategory::Movie };
        let hall = if i % 3 == 0 { &hall_b } else { &hall_a };
        scheduled
            .push(event(&mut client, &format!("Show {i:02}"), category, Some((hall, base + Duration::days(i)))).await?);
    }
    let unscheduled = [
        event(&mut client, "Unscheduled A", wire::EventCategory::Musical, None).await?,
        event(&mut client, "Unscheduled B", wire::EventCategory::Musical, None).await?,
    ];

    // Page through everything, 10 at a time; add an event that sorts before the cursor mid-way.
    let all = wire::SearchEventsRequest::default();
    let (first, cursor) = page(&mut client, all.clone(), String::new(), 10).await?;
    assert_eq!(ids(&first), scheduled[..10]);
    event(&mut client, "Late addition", wire::EventCategory::Concert, Some((&hall_a, base - Duration::days(1))))
        .await?;
    let (second, cursor) = page(&mut client, all.clone(), cursor, 10).await?;
    assert_eq!(ids(&second), scheduled[10..20], "nothing skipped or repeated");
    let (third, cursor) = page(&mut client, all.clone(), cursor, 10).await?;
    let mut expected_tail = scheduled[20..].to_vec();
    expected_tail.extend(unscheduled.iter().cloned());
    assert_eq!(ids(&third), expected_tail, "events without performances come last");
    assert!(cursor.is_empty(), "no page after the last");

    // Filters.
    let text = wire::SearchEventsRequest { text: "Show 1".into(), ..Default::default() };
    let (hits, _) = page(&mut client, text, String::new(), 100).await?;
    assert_eq!(hits.len(), 10, "Show 10 to Show 19 (titles are zero-padded: Show 01)");
    let movies = wire::SearchEventsRequest { category: wire::EventCategory::Movie.into(), ..Default::default() };
    let (hits, _) = page(&mut client, movies, String::new(), 100).await?;
    assert_eq!(hits.len(), 11);
    let at_b = wire::SearchEventsRequest { venue_id: venue_b.clone(), ..Default::default() };
    let (hits, _) = page(&mut client, at_b, String::new(), 100).await?;
    assert_eq!(hits.len(), 8, "every third show is at Blue Square");
    assert!(hits.iter().all(|h| h.venue_names == ["Blue Square"]));
    let window = wire::SearchEventsRequest {
        from: Some(prost_types::Timestamp { seconds: (base + Duration::days(5)).timestamp(), nanos: 0 }),
        to: Some(prost_types::Timestamp { seconds: (base + Duration::days(8)).timestamp(), nanos: 0 }),
        ..Default::default()
    };
    let (hits, _) = page(&mut client, window, String::new(), 100).await?;
    assert_eq!(ids(&hits), scheduled[5..8]);
    let genre = wire::SearchEventsRequest { genre: "k-pop".into(), ..Default::default() };
    let (hits, _) = page(&mut client, genre, String::new(), 100).await?;
    assert_eq!(hits.len(), 26, "genres are matched case-insensitively");

    // Garbage cursors and oversized pages.
    let bad = client
        .search_events(wire::SearchEventsRequest {
            page: Some(types::PageRequest { page_size: 10, cursor: "not-a-cursor".into() }),
            ..Default::default()
        })
        .await
        .expect_err("bad cursor");
    assert_eq!(bad.code(), Code::InvalidArgument);
    let (huge, _) = page(&mut client, wire::SearchEventsRequest::default(), String::new(), 100_000).await?;
    assert_eq!(huge.len(), 26, "page size is clamped, not refused");
    let unique: HashSet<_> = ids(&huge).into_iter().collect();
    assert_eq!(unique.len(), 26);

    running.stop().await
}
