//! Prices, sale configuration and publishing through the gRPC API: publishing refuses what is
//! incomplete, naming every gap, and a published performance is announced through the outbox
//! with everything booking needs.

use chrono::{Duration, Utc};
use floodgate_eventbus::Event;
use floodgate_proto::{
    catalog::v1::{self as wire, catalog_service_client::CatalogServiceClient},
    types::v1 as types,
};
use tonic::{Code, transport::Channel};

use crate::api::{self, stable_code};

pub fn krw(minor: i64) -> Option<types::Money> {
    Some(types::Money { minor, currency: "KRW".into() })
}

pub fn timestamp(t: chrono::DateTime<Utc>) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds: t.timestamp(), nanos: 0 })
}

pub fn minutes(m: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration { seconds: m * 60, nanos: 0 })
}

/// A venue (Seoul), a hall of `hall_type` with `sections`, an event and one performance at `starts_at`.
pub async fn performance(
    client: &mut CatalogServiceClient<Channel>,
    hall_type: wire::HallType,
    sections: Vec<wire::SectionLayout>,
    starts_at: chrono::DateTime<Utc>,
) -> anyhow::Result<(wire::Venue, wire::Performance)> {
    let (venue, hall) = crate::support::venue_with_hall(client, "KSPO Dome", hall_type).await?;
    client
        .generate_seat_map(wire::GenerateSeatMapRequest {
            hall_id: hall.hall_id.clone(),
            sections,
            focal_point: None,
            expected_version: 0,
        })
        .await?;
    let event = client
        .create_event(wire::CreateEventRequest {
            event: Some(wire::EventFields {
                title: "Floodgate Live".into(),
                category: wire::EventCategory::Concert.into(),
                running_time: minutes(150),
                ..Default::default()
            }),
            idempotency_key: String::new(),
        })
        .await?
        .into_inner();
    let performance = client
        .create_performance(wire::CreatePerformanceRequest {
            event_id: event.event_id,
            hall_id: hall.hall_id,
            starts_at: timestamp(starts_at),
            turnover: None,
            idempotency_key: String::new(),
        })
        .await?
        .into_inner();
    Ok((venue, performance))
}

pub fn concert_sections() -> Vec<wire::SectionLayout> {
    vec![
        wire::SectionLayout {
            section_id: "vip".into(),
            name: "VIP standing".into(),
            grade_code: "VIP".into(),
            standing_capacity: 500,
            ..Default::default()
        },
        wire::SectionLayout {
            section_id: "r1".into(),
            name: "R1".into(),
            grade_code: "R".into(),
            rows: 5,
            seats_per_row: 10,
            ..Default::default()
        },
    ]
}

pub fn sale_config(starts_at: chrono::DateTime<Utc>) -> wire::SaleConfig {
    let now = Utc::now();
    wire::SaleConfig {
        mode: wire::SaleMode::Reserved.into(),
        waiting_room_opens_at: timestamp(now + Duration::hours(1)),
        sale_opens_at: timestamp(now + Duration::hours(2)),
        sale_closes_at: timestamp(starts_at - Duration::hours(1)),
        per_buyer_limit: 4,
        hold_ttl: minutes(7),
        payment_deadline: minutes(15),
        fee_ladder: vec![wire::CancellationFeeStep { days_before: 7, fee_basis_points: 1_000, fixed_fee: None }],
        admission_rate_per_second: 200,
        max_active_shoppers: 3_000,
        admission_ttl: minutes(10),
    }
}

pub async fn outbox(db: &floodgate_testkit::TestDatabase) -> anyhow::Result<Vec<Event>> {
    let rows: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT envelope FROM eventbus.outbox ORDER BY id").fetch_all(&db.pool).await?;
    rows.iter().map(|bytes| Event::decode(bytes).map_err(Into::into)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_names_every_gap_then_announces_what_booking_needs() -> anyhow::Result<()> {
    let running = api::start().await?;
    let mut client = running.client.clone();
    let starts_at = Utc::now() + Duration::days(30);
    let (_, draft) = performance(&mut client, wire::HallType::Arena, concert_sections(), starts_at).await?;

    let refused = client
        .publish_performance(wire::PublishPerformanceRequest {
            performance_id: draft.performance_id.clone(),
            expected_version: 0,
        })
        .await
        .expect_err("nothing priced or configured");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(stable_code(&refused), "INVALID_FIELDS");
    assert!(refused.message().contains("sale_config: is required"), "{}", refused.message());
    assert!(refused.message().contains("prices: no price tiers"), "{}", refused.message());

    // Only VIP priced: the R seats are named as unpriced.
    client
        .set_price_tiers(wire::SetPriceTiersRequest {
            performance_id: draft.performance_id.clone(),
            tiers: vec![wire::PriceTier { grade_code: "VIP".into(), grade_name: "VIP".into(), price: krw(198_000) }],
        })
        .await?;
    let configured = client
        .set_sale_config(wire::SetSaleConfigRequest {
            performance_id: draft.performance_id.clone(),
            sale_config: Some(sale_config(starts_at)),
            // Setting prices made a new version: optimistic concurrency wants the current one.
            expected_version: draft.version + 1,
        })
        .await?;
    assert_eq!(configured.into_inner().per_buyer_limit, 4);
    let refused = client
        .publish_performance(wire::PublishPerformanceRequest {
            performance_id: draft.performance_id.clone(),
            expected_version: 0,
        })
        .await
        .expect_err("R unpriced");
    assert!(refused.message().contains(r#"seats of grade "R" have no price"#), "{}", refused.message());

    client
        .set_price_tiers(wire::SetPriceTiersRequest {
            performance_id: draft.performance_id.clone(),
            tiers: vec![
                wire::PriceTier { grade_code: "VIP".into(), grade_name: "VIP".into(), price: krw(198_000) },
                wire::PriceTier { grade_code: "R".into(), grade_name: "R석".into(), price: krw(165_000) },
            ],
        })
        .await?;
    // A stale version is refused; the current one publishes.
    let stale = client
        .publish_performance(wire::PublishPerformanceRequest {
            performance_id: draft.performance_id.clone(),
            expected_version: draft.version,
        })
        .await
        .expect_err("the sale config bumped the version");
    assert_eq!(stale.code(), Code::Aborted);
    let current = client
        .get_performance(wire::GetPerformanceRequest { performance_id: draft.performance_id.clone() })
        .await?
        .into_inner();
    let published = client
        .publish_performance(wire::PublishPerformanceRequest {
            performance_id: draft.performance_id.clone(),
            expected_version: current.version,
        })
        .await?
        .into_inner();
    assert_eq!(published.status(), wire::PerformanceStatus::Published);

    let events = outbox(&running.db).await?;
    assert_eq!(events.len(), 1, "one event: the publication");
    let announced = events[0].payload::<wire::PerformancePublished>()?;
    assert_eq!(events[0].key, draft.performance_id);
    let seat_map = announced.seat_map.expect("seat map");
    assert_eq!(seat_map.version, 1);
    assert_eq!(seat_map.sections.len(), 2);
    assert_eq!(seat_map.sections[1].rows.iter().map(|r| r.seats.len()).sum::<usize>(), 50);
    let prices: Vec<_> =
        announced.tiers.iter().map(|t| (t.grade_code.as_str(), t.price.as_ref().map(|p| p.minor))).collect();
    assert_eq!(prices, [("R", Some(165_000)), ("VIP", Some(198_000))]);
    // What booking charges, resolved: tiers price every audience alike.
    let resolved: Vec<_> = announced
        .prices
        .iter()
        .map(|p| (p.grade_code.as_str(), p.audience(), p.price.as_ref().map(|m| m.minor)))
        .collect();
    let any = floodgate_proto::types::v1::Audience::Unspecified;
    assert_eq!(resolved, [("R", any, Some(165_000)), ("VIP", any, Some(198_000))]);
    let performance = announced.performance.expect("performance");
    assert_eq!(performance.sale_config.expect("sale config").per_buyer_limit, 4);
    assert_eq!(performance.seat_map_version, 1);
    assert_eq!(announced.venue_time_zone, "Asia/Seoul");

    // Publishing twice is refused; changing a published sale announces the change.
    let again = client
        .publish_performance(wire::PublishPerformanceRequest {
            performance_id: draft.performance_id.clone(),
            expected_version: 0,
        })
        .await
        .expect_err("already published");
    assert!(again.message().contains("only a draft"), "{}", again.message());
    let mut changed = sale_config(starts_at);
    changed.per_buyer_limit = 2;
    client
        .set_sale_config(wire::SetSaleConfigRequest {
            performance_id: draft.performance_id.clone(),
            sale_config: Some(changed),
            expected_version: 0,
        })
        .await?;
    let events = outbox(&running.db).await?;
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].payload::<wire::SaleConfigChanged>()?.sale_config.map(|c| c.per_buyer_limit), Some(2));

    running.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cinema_quotes_follow_the_seoul_clock_hall_type_and_audience() -> anyhow::Result<()> {
    let running = api::start().await?;
    let mut client = running.client.clone();
    let screen = vec![wire::SectionLayout {
        section_id: "main".into(),
        name: "Main".into(),
        grade_code: "STD".into(),
        rows: 3,
        seats_per_row: 8,
        ..Default::default()
    }];
    // 00:30 UTC = 09:30 in Seoul: a morning show.
    let morning = chrono::TimeZone::with_ymd_and_hms(&Utc, 2027, 1, 10, 0, 30, 0).single().expect("time");
    let (venue, show) = performance(&mut client, wire::HallType::Imax, screen, morning).await?;

    let rule = |band: wire::TimeBand, audience: types::Audience, minor| wire::PricingRule {
        hall_type: wire::HallType::Imax.into(),
        band: band.into(),
        audience: audience.into(),
        price: krw(minor),
    };
    client
        .set_pricing_rules(wire::SetPricingRulesRequest {
            rules: Some(wire::PricingRules {
                venue_id: venue.venue_id.clone(),
                bands: vec![
                    wire::TimeBandBoundary { band: wire::TimeBand::Morning.into(), starts_at_minute: 6 * 60 },
                    wire::TimeBandBoundary { band: wire::TimeBand::Normal.into(), starts_at_minute: 10 * 60 },
                    wire::TimeBandBoundary { band: wire::TimeBand::LateNight.into(), starts_at_minute: 22 * 60 },
                ],
                rules: vec![
                    rule(wire::TimeBand::Morning, types::Audience::Adult, 15_000),
                    rule(wire::TimeBand::Morning, types::Audience::Youth, 12_000),
                    rule(wire::TimeBand::Normal, types::Audience::Adult, 21_000),
                    rule(wire::TimeBand::LateNight, types::Audience::Adult, 18_000),
                ],
                ..Default::default()
            }),
        })
        .await?;

    let quote = |audience: types::Audience| wire::QuotePriceRequest {
        performance_id: show.performance_id.clone(),
        seat_id: "main-B-4".into(),
        audience: audience.into(),
        section_id: String::new(),
    };
    let adult = client.quote_price(quote(types::Audience::Adult)).await?.into_inner();
    assert_eq!((adult.price.as_ref().map(|p| p.minor), adult.band()), (Some(15_000), wire::TimeBand::Morning));
    let youth = client.quote_price(quote(types::Audience::Youth)).await?.into_inner();
    assert_eq!(youth.price.map(|p| p.minor), Some(12_000));
    let senior = client.quote_price(quote(types::Audience::Senior)).await.expect_err("no senior price");
    assert_eq!(senior.code(), Code::InvalidArgument);
    let nowhere = client
        .quote_price(wire::QuotePriceRequest { seat_id: "main-Z-99".into(), ..quote(types::Audience::Adult) })
        .await
        .expect_err("no such seat");
    assert!(nowhere.message().contains("seat_id"), "{}", nowhere.message());

    running.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buyers_get_a_compact_cached_seat_map_that_follows_price_changes() -> anyhow::Result<()> {
    use prost::Message as _;
    let running = api::start().await?;
    let mut client = running.client.clone();
    let starts_at = Utc::now() + Duration::days(30);
    let (_, show) = performance(&mut client, wire::HallType::Arena, concert_sections(), starts_at).await?;
    let tiers = |vip| wire::SetPriceTiersRequest {
        performance_id: show.performance_id.clone(),
        tiers: vec![
            wire::PriceTier { grade_code: "VIP".into(), grade_name: "VIP".into(), price: krw(vip) },
            wire::PriceTier { grade_code: "R".into(), grade_name: "R".into(), price: krw(165_000) },
        ],
    };
    client.set_price_tiers(tiers(198_000)).await?;

    let request = |if_none_match: &str, full| wire::GetPerformanceSeatMapRequest {
        performance_id: show.performance_id.clone(),
        full,
        if_none_match: if_none_match.into(),
    };
    let first = client.get_performance_seat_map(request("", false)).await?.into_inner();
    assert!(first.seat_map.is_none(), "the full map only on request");
    let compact = wire::CompactSeatMap::decode(first.compact_seat_map.clone())?;
    let map = floodgate_catalog::convert::compact::expand(&compact).map_err(|e| anyhow::anyhow!("{e}"))?;
    assert_eq!(map.capacity().total, 500 + 50);
    assert_eq!(first.tiers.len(), 2);

    let again = client.get_performance_seat_map(request(&first.etag, false)).await?.into_inner();
    assert!(again.not_modified && again.compact_seat_map.is_empty(), "unchanged: nothing resent");

    client.set_price_tiers(tiers(220_000)).await?;
    let repriced = client.get_performance_seat_map(request(&first.etag, false)).await?.into_inner();
    assert!(!repriced.not_modified);
    assert_ne!(repriced.etag, first.etag, "a price change is a new etag");
    let vip = repriced.tiers.iter().find(|t| t.grade_code == "VIP").and_then(|t| t.price.as_ref()).map(|p| p.minor);
    assert_eq!(vip, Some(220_000));

    let full = client.get_performance_seat_map(request("", true)).await?.into_inner();
    assert_eq!(full.seat_map.map(|m| m.sections.len()), Some(2));
    let unchanged = client.get_performance_seat_map(request(&full.etag, true)).await?.into_inner();
    assert!(unchanged.not_modified && unchanged.seat_map.is_none(), "the full form revalidates too");

    running.stop().await
}
