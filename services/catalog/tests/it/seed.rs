//! `floodgate-seed`'s demo data, created through the API on an empty catalog, once.

use chrono::Utc;
use floodgate_catalog::seed;
use floodgate_proto::catalog::v1 as wire;

use crate::api;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_catalog_gets_the_demo_venues_once() -> anyhow::Result<()> {
    let running = api::start().await?;
    let mut client = running.client.clone().max_decoding_message_size(64 * 1024 * 1024);
    let now = Utc::now();

    let seeded = seed::seed(&mut client, now).await?.expect("an empty catalog is seeded");
    assert_eq!(seeded.venues, 3);
    // 60,000 stadium + 2,000 concert hall + 600 + 240 + 160 cinema seats.
    assert_eq!(seeded.seats, 60_000 + 2_000 + 600 + 240 + 160);
    assert_eq!(seeded.performances, 1 + 2 + 7 * 3 * 5, "the festival, two chamber nights, a week of showtimes");

    // The headline concert is published and goes on sale within minutes.
    let festival = seeded.on_sale_soon.expect("one sale opens soon");
    let performance =
        client.get_performance(wire::GetPerformanceRequest { performance_id: festival.clone() }).await?.into_inner();
    assert_eq!(performance.status(), wire::PerformanceStatus::Published);
    let map = client
        .get_performance_seat_map(wire::GetPerformanceSeatMapRequest {
            performance_id: festival,
            full: false,
            if_none_match: String::new(),
        })
        .await?
        .into_inner();
    assert_eq!(map.tiers.len(), 4);

    assert_eq!(seed::seed(&mut client, now).await?, None, "a second run changes nothing");
    running.stop().await
}
