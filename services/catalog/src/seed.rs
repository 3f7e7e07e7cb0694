//! Demo data, created through the catalog's own gRPC API exactly as an operator would: a
//! 60,000-seat stadium, a 2,000-seat concert hall and a three-screen cinema with a week of
//! showtimes, plus one concert whose on-sale opens a few minutes after seeding — enough to try
//! every screen of the product. Seeding a catalog that already has venues does nothing.

use chrono::{DateTime, Datelike as _, Duration, NaiveTime, TimeZone as _, Utc};
use floodgate_proto::{
    catalog::v1::{self as wire, catalog_service_client::CatalogServiceClient},
    types::v1 as types,
};
use tonic::transport::Channel;

/// What a seeding run created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seeded {
    pub venues: usize,
    pub seats: u64,
    pub performances: usize,
    /// The concert whose sale opens shortly after seeding.
    pub on_sale_soon: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("the catalog refused {step}")]
    Refused {
        step: String,
        #[source]
        source: tonic::Status,
    },
}

const SEOUL: chrono_tz::Tz = chrono_tz::Asia::Seoul;

/// Seeds an empty catalog; returns `None` when it already has venues.
pub async fn seed(client: &mut CatalogServiceClient<Channel>, now: DateTime<Utc>) -> Result<Option<Seeded>, SeedError> {
    let existing = call("listing venues", client.list_venues(wire::ListVenuesRequest::default())).await?;
    if !existing.venues.is_empty() {
        return Ok(None);
    }
    let mut seeded = Seeded::default();
    seeded.on_sale_soon = Some(stadium(client, now, &mut seeded).await?);
    concert_hall(client, now, &mut seeded).await?;
    cinema(client, now, &mut seeded).await?;
    Ok(Some(seeded))
}

async fn call<T>(
    step: &str,
    request: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> Result<T, SeedError> {
    request
        .await
        .map(tonic::Response::into_inner)
        .map_err(|source| SeedError::Refused { step: step.to_owned(), source })
}

fn krw(minor: i64) -> Option<types::Money> {
    Some(types::Money { minor, currency: "KRW".into() })
}

fn timestamp(t: DateTime<Utc>) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds: t.timestamp(), nanos: 0 })
}

fn minutes(m: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration { seconds: m * 60, nanos: 0 })
}

/// 19:00 in Seoul, `days` from now.
fn evening(now: DateTime<Utc>, days: i64, hour: u32) -> DateTime<Utc> {
    let day = (now + Duration::days(days)).with_timezone(&SEOUL).date_naive();
    SEOUL
        .from_local_datetime(&day.and_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or_default()))
        .earliest()
        .map_or(now + Duration::days(days), |t| t.with_timezone(&Utc))
}

async fn venue(
    client: &mut CatalogServiceClient<Channel>,
    name: &str,
    lat: f64,
    lon: f64,
    transit: &str,
) -> Result<String, SeedError> {
    let venue = call(
        "creating a venue",
        client.create_venue(wire::CreateVenueRequest {
            venue: Some(wire::VenueFields {
                name: name.into(),
                time_zone: "Asia/Seoul".into(),
                latitude: lat,
                longitude: lon,
                transit_notes: transit.into(),
                address: Some(wire::Address { city: "Seoul".into(), country: "KR".into(), ..Default::default() }),
                ..Default::default()
            }),
            idempotency_key: String::new(),
        }),
    )
    .await?;
    Ok(venue.venue_id)
}

async fn hall(
    client: &mut CatalogServiceClient<Channel>,
    venue_id: &str,
    name: &str,
    hall_type: wire::HallType,
    sections: Vec<wire::SectionLayout>,
    seeded: &mut Seeded,
) -> Result<String, SeedError> {
    let hall = call(
        "creating a hall",
        client.create_hall(wire::CreateHallRequest {
            venue_id: venue_id.into(),
            name: name.into(),
            hall_type: hall_type.into(),
        }),
    )
    .await?;
    let map = call(
        "generating a seat map",
        client.generate_seat_map(wire::GenerateSeatMapRequest {
            hall_id: hall.hall_id.clone(),
            sections,
            focal_point: Some(wire::Point { x: 0.0, y: 0.0 }),
            expected_version: 0,
        }),
    )
    .await?;
    seeded.seats += map
        .sections
        .iter()
        .map(|s| if s.capacity > 0 { u64::from(s.capacity) } else { s.rows.iter().map(|r| r.seats.len() as u64).sum() })
        .sum::<u64>();
    Ok(hall.hall_id)
}

fn block(id: &str, grade: &str, rows: u32, seats: u32, x: f64, y: f64, curve: f64) -> wire::SectionLayout {
    wire::SectionLayout {
        section_id: id.into(),
        name: format!("Block {id}"),
        grade_code: grade.into(),
        rows,
        seats_per_row: seats,
        origin: Some(wire::Point { x, y }),
        seat_spacing: 0.5,
        row_spacing: 0.85,
        curve_degrees: curve,
        aisle_every: 10,
        accessible_first_row: true,
        ..Default::default()
    }
}

async fn event(
    client: &mut CatalogServiceClient<Channel>,
    title: &str,
    category: wire::EventCategory,
    genres: &[&str],
    runtime: i64,
    performers: &[&str],
) -> Result<String, SeedError> {
    let event = call(
        "creating an event",
        client.create_event(wire::CreateEventRequest {
            event: Some(wire::EventFields {
                title: title.into(),
                description: format!("{title} — demo data created by ./floodgate seed."),
                category: category.into(),
                genres: genres.iter().map(|g| (*g).to_owned()).collect(),
                age_rating: "ALL".into(),
                running_time: minutes(runtime),
                performers: performers.iter().map(|p| (*p).to_owned()).collect(),
                ..Default::default()
            }),
            idempotency_key: String::new(),
        }),
    )
    .await?;
    Ok(event.event_id)
}

/// Creates, prices, configures and publishes one performance.
#[allow(clippy::too_many_arguments)]
async fn on_sale(
    client: &mut CatalogServiceClient<Channel>,
    event_id: &str,
    hall_id: &str,
    starts_at: DateTime<Utc>,
    tiers: &[(&str, i64)],
    opens_at: DateTime<Utc>,
    limit: u32,
    seeded: &mut Seeded,
) -> Result<String, SeedError> {
    let performance = call(
        "creating a performance",
        client.create_performance(wire::CreatePerformanceRequest {
            event_id: event_id.into(),
            hall_id: hall_id.into(),
            starts_at: timestamp(starts_at),
            turnover: minutes(20),
            idempotency_key: String::new(),
        }),
    )
    .await?;
    let id = performance.performance_id;
    if !tiers.is_empty() {
        call(
            "pricing a performance",
            client.set_price_tiers(wire::SetPriceTiersRequest {
                performance_id: id.clone(),
                tiers: tiers
                    .iter()
                    .map(|(grade, price)| wire::PriceTier {
                        grade_code: (*grade).into(),
                        grade_name: (*grade).into(),
                        price: krw(*price),
                    })
                    .collect(),
            }),
        )
        .await?;
    }
    call(
        "configuring a sale",
        client.set_sale_config(wire::SetSaleConfigRequest {
            performance_id: id.clone(),
            sale_config: Some(wire::SaleConfig {
                mode: wire::SaleMode::Reserved.into(),
                // The waiting room opens half an hour before the sale.
                waiting_room_opens_at: timestamp(opens_at - Duration::minutes(30)),
                sale_opens_at: timestamp(opens_at),
                sale_closes_at: timestamp(starts_at - Duration::hours(1)),
                per_buyer_limit: limit,
                hold_ttl: minutes(7),
                payment_deadline: minutes(15),
                fee_ladder: vec![
                    wire::CancellationFeeStep { days_before: 10, fee_basis_points: 0, fixed_fee: None },
                    wire::CancellationFeeStep { days_before: 3, fee_basis_points: 1_000, fixed_fee: None },
                    wire::CancellationFeeStep { days_before: 1, fee_basis_points: 3_000, fixed_fee: None },
                ],
                admission_rate_per_second: 200,
                max_active_shoppers: 3_000,
                admission_ttl: minutes(10),
            }),
            expected_version: 0,
        }),
    )
    .await?;
    call(
        "publishing a performance",
        client.publish_performance(wire::PublishPerformanceRequest { performance_id: id.clone(), expected_version: 0 }),
    )
    .await?;
    seeded.performances += 1;
    Ok(id)
}

/// The stadium: 40 curved blocks of 30 rows × 50 seats; the headline concert goes on sale in
/// five minutes.
async fn stadium(
    client: &mut CatalogServiceClient<Channel>,
    now: DateTime<Utc>,
    seeded: &mut Seeded,
) -> Result<String, SeedError> {
    let venue_id =
        venue(client, "Jamsil Olympic Stadium", 37.5159, 127.0728, "Line 2 / Line 9, Sports Complex station, exit 6")
            .await?;
    seeded.venues += 1;
    let blocks = (0..40)
        .map(|b| {
            let angle = f64::from(b) * 9.0_f64.to_radians();
            let grade = match b % 10 {
                0 | 9 => "VIP",
                1 | 8 => "R",
                2 | 3 | 6 | 7 => "S",
                _ => "A",
            };
            block(&format!("{}", 101 + b), grade, 30, 50, 80.0 * angle.cos(), 80.0 * angle.sin(), 8.0)
        })
        .collect();
    let hall_id = hall(client, &venue_id, "Main Stadium", wire::HallType::Stadium, blocks, seeded).await?;
    let event_id = event(
        client,
        "Floodgate Summer Festival",
        wire::EventCategory::Concert,
        &["k-pop", "festival"],
        180,
        &["NewJeans Tribute Band", "The Waiting Room"],
    )
    .await?;
    let tiers = [("VIP", 198_000), ("R", 165_000), ("S", 132_000), ("A", 99_000)];
    on_sale(client, &event_id, &hall_id, evening(now, 21, 19), &tiers, now + Duration::minutes(5), 4, seeded).await
}

/// A 2,000-seat concert hall: orchestra 25 × 40, two balconies of 10 × 50; on sale already.
async fn concert_hall(
    client: &mut CatalogServiceClient<Channel>,
    now: DateTime<Utc>,
    seeded: &mut Seeded,
) -> Result<(), SeedError> {
    let venue_id =
        venue(client, "Seoul Arts Center", 37.4786, 127.0110, "Line 3, Nambu Bus Terminal station, exit 5").await?;
    seeded.venues += 1;
    let sections = vec![
        block("ORC", "R", 25, 40, 0.0, 12.0, 30.0),
        block("BAL1", "S", 10, 50, 0.0, 40.0, 35.0),
        block("BAL2", "A", 10, 50, 0.0, 52.0, 35.0),
    ];
    let hall_id = hall(client, &venue_id, "Concert Hall", wire::HallType::ConcertHall, sections, seeded).await?;
    let event_id = event(
        client,
        "Chamber Night: Brahms & Bartók",
        wire::EventCategory::Concert,
        &["classical"],
        120,
        &["Floodgate String Quartet"],
    )
    .await?;
    for day in [10, 11] {
        on_sale(
            client,
            &event_id,
            &hall_id,
            evening(now, day, 19),
            &[("R", 120_000), ("S", 90_000), ("A", 60_000)],
            now,
            6,
            seeded,
        )
        .await?;
    }
    Ok(())
}

/// Three screens (IMAX, 2D, 4DX) with cinema pricing rules and a week of showtimes.
async fn cinema(
    client: &mut CatalogServiceClient<Channel>,
    now: DateTime<Utc>,
    seeded: &mut Seeded,
) -> Result<(), SeedError> {
    let venue_id =
        venue(client, "Floodgate Cinema Gangnam", 37.4979, 127.0276, "Line 2, Gangnam station, exit 11").await?;
    seeded.venues += 1;
    let screen = |rows, seats, curve| vec![block("main", "STD", rows, seats, 0.0, 8.0, curve)];
    let screens = [
        ("IMAX", wire::HallType::Imax, screen(20, 30, 25.0), 6_000),
        ("Screen 2", wire::HallType::Standard, screen(12, 20, 0.0), 0),
        ("4DX", wire::HallType::HallType4dx, screen(10, 16, 0.0), 8_000),
    ];
    let mut rules = Vec::new();
    let bands =
        [(wire::TimeBand::Morning, 11_000), (wire::TimeBand::Normal, 15_000), (wire::TimeBand::LateNight, 13_000)];
    let audiences = [
        (types::Audience::Adult, 0),
        (types::Audience::Youth, -3_000),
        (types::Audience::Senior, -5_000),
        (types::Audience::Disabled, -5_000),
    ];
    let mut halls = Vec::new();
    for (name, hall_type, sections, premium) in screens {
        halls.push((hall(client, &venue_id, name, hall_type, sections, seeded).await?, hall_type));
        for (band, base) in bands {
            for (audience, discount) in audiences {
                rules.push(wire::PricingRule {
                    hall_type: hall_type.into(),
                    band: band.into(),
                    audience: audience.into(),
                    price: krw(base + premium + discount),
                });
            }
        }
    }
    call(
        "setting cinema pricing rules",
        client.set_pricing_rules(wire::SetPricingRulesRequest {
            rules: Some(wire::PricingRules {
                venue_id: venue_id.clone(),
                bands: vec![
                    wire::TimeBandBoundary { band: wire::TimeBand::Morning.into(), starts_at_minute: 6 * 60 },
                    wire::TimeBandBoundary { band: wire::TimeBand::Normal.into(), starts_at_minute: 10 * 60 },
                    wire::TimeBandBoundary { band: wire::TimeBand::LateNight.into(), starts_at_minute: 22 * 60 },
                ],
                rules,
                ..Default::default()
            }),
        }),
    )
    .await?;

    let films = [
        event(
            client,
            "The Last Queue",
            wire::EventCategory::Movie,
            &["thriller"],
            118,
            &["Kim Ji-won", "Lee Byung-hun"],
        )
        .await?,
        event(client, "Ticket to Ride", wire::EventCategory::Movie, &["comedy", "romance"], 104, &["Park Seo-joon"])
            .await?,
        event(client, "Seat 42", wire::EventCategory::Movie, &["animation", "family"], 96, &["Studio Floodgate"])
            .await?,
    ];
    // Tomorrow on, seven days; each screen plays one film all day, five shows from 09:30.
    for day in 1..=7 {
        let date = (now + Duration::days(day)).with_timezone(&SEOUL).date_naive();
        for (screen, (hall_id, _)) in halls.iter().enumerate() {
            let film = &films[(screen + date.day0() as usize) % films.len()];
            for show in 0..5 {
                let local = date.and_time(NaiveTime::from_hms_opt(9, 30, 0).unwrap_or_default())
                    + Duration::minutes(150 * show);
                let Some(starts_at) = SEOUL.from_local_datetime(&local).earliest() else { continue };
                on_sale(client, film, hall_id, starts_at.with_timezone(&Utc), &[], now, 8, seeded).await?;
            }
        }
    }
    Ok(())
}
