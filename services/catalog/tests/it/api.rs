//! The catalog's gRPC API end to end: the service built and run in-process on real PostgreSQL
//! and the broker, called through its generated client.

use floodgate_catalog::Catalog;
use floodgate_proto::catalog::v1::{self as wire, catalog_service_client::CatalogServiceClient};
use floodgate_runtime::{Service as _, ServiceCli};
use floodgate_telemetry::Metrics;
use floodgate_testkit::TestBroker;
use tokio_util::sync::CancellationToken;
use tonic::{Code, transport::Channel};

pub struct Running {
    pub client: CatalogServiceClient<Channel>,
    pub db: floodgate_testkit::TestDatabase,
    pub broker: TestBroker,
    pub stop: CancellationToken,
    pub task: tokio::task::JoinHandle<Result<(), floodgate_runtime::HostError>>,
}

impl Running {
    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop.cancel();
        self.task.await??;
        Ok(())
    }
}

pub async fn start() -> anyhow::Result<Running> {
    // An empty database: the service migrates it at start-up, as in production.
    let db = floodgate_testkit::TestDatabase::new(&[]).await?;
    let broker = TestBroker::new()?;
    let cli = ServiceCli::<floodgate_catalog::Config>::try_parse_for(
        "floodgate-catalog",
        "test",
        [
            "floodgate-catalog",
            "--database-url",
            &db.url,
            "--kafka-brokers",
            &broker.brokers,
            "--topic-prefix",
            &broker.topic_prefix,
            "--topic-partitions",
            "3",
        ],
    )?;
    let app = Catalog::build(cli.config, Metrics::standalone("catalog")?).await?;
    let channel = Channel::from_shared(format!("http://{}", app.host.grpc_addr()))?.connect_lazy();
    let stop = CancellationToken::new();
    let task = tokio::spawn(app.run(stop.clone()));
    Ok(Running { client: CatalogServiceClient::new(channel), db, broker, stop, task })
}

pub fn topic_prefix(running: &Running) -> String {
    running.broker.topic_prefix.clone()
}

pub fn brokers() -> anyhow::Result<String> {
    floodgate_testkit::test_env("FLOODGATE_TEST_KAFKA_BROKERS")
}

/// A venue, an arena, an event and a draft performance; returns the performance id.
pub async fn draft_performance(client: &mut CatalogServiceClient<Channel>) -> anyhow::Result<String> {
    let (_, hall) = crate::support::venue_with_hall(client, "Gocheok Sky Dome", wire::HallType::Stadium).await?;
    let event = client
        .create_event(wire::CreateEventRequest {
            event: Some(wire::EventFields {
                title: "Floodgate World Tour".into(),
                category: wire::EventCategory::Concert.into(),
                running_time: Some(prost_types::Duration { seconds: 9_000, nanos: 0 }),
                ..Default::default()
            }),
            idempotency_key: String::new(),
        })
        .await?
        .into_inner();
    let starts_at =
        prost_types::Timestamp { seconds: (chrono::Utc::now() + chrono::Duration::days(60)).timestamp(), nanos: 0 };
    let performance = client
        .create_performance(wire::CreatePerformanceRequest {
            event_id: event.event_id,
            hall_id: hall.hall_id,
            starts_at: Some(starts_at),
            turnover: None,
            idempotency_key: String::new(),
        })
        .await?
        .into_inner();
    Ok(performance.performance_id)
}

pub fn stable_code(status: &tonic::Status) -> &str {
    status.metadata().get(floodgate_catalog::grpc::ERROR_CODE).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

fn at(hour: i64) -> prost_types::Timestamp {
    // 2026-12-24T00:00:00Z plus `hour` hours.
    prost_types::Timestamp { seconds: 1_798_070_400 + hour * 3600, nanos: 0 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_sets_up_a_screen_and_cannot_double_book_it() -> anyhow::Result<()> {
    let Running { mut client, stop, task, .. } = start().await?;

    let venue = client
        .create_venue(wire::CreateVenueRequest {
            venue: Some(wire::VenueFields {
                name: "Floodgate Cinema Gangnam".into(),
                time_zone: "Asia/Seoul".into(),
                latitude: 37.4979,
                longitude: 127.0276,
                ..Default::default()
            }),
            idempotency_key: String::new(),
        })
        .await?
        .into_inner();
    assert_eq!(venue.time_zone, "Asia/Seoul");

    let hall = client
        .create_hall(wire::CreateHallRequest {
            venue_id: venue.venue_id.clone(),
            name: "IMAX".into(),
            hall_type: wire::HallType::Imax.into(),
        })
        .await?
        .into_inner();

    let map = client
        .generate_seat_map(wire::GenerateSeatMapRequest {
            hall_id: hall.hall_id.clone(),
            sections: vec![wire::SectionLayout {
                section_id: "main".into(),
                name: "Main".into(),
                grade_code: "STD".into(),
                rows: 15,
                seats_per_row: 24,
                aisle_every: 12,
                curve_degrees: 20.0,
                origin: Some(wire::Point { x: 0.0, y: 10.0 }),
                ..Default::default()
            }],
            focal_point: Some(wire::Point { x: 0.0, y: 0.0 }),
            expected_version: 0,
        })
        .await?
        .into_inner();
    assert_eq!(map.version, 1);
    let seats: usize = map.sections.iter().flat_map(|s| &s.rows).map(|r| r.seats.len()).sum();
    assert_eq!(seats, 15 * 24);

    let read_back = client.get_seat_map(wire::GetSeatMapRequest { hall_id: hall.hall_id.clone(), version: 0 }).await?;
    assert_eq!(read_back.into_inner().sections, map.sections);

    let film = client
        .create_event(wire::CreateEventRequest {
            event: Some(wire::EventFields {
                title: "Ticket to Ride".into(),
                category: wire::EventCategory::Movie.into(),
                running_time: Some(prost_types::Duration { seconds: 7_200, nanos: 0 }),
                still_urls: vec!["https://img.example/ttr-1.jpg".into()],
                trailer_url: "https://video.example/ttr".into(),
                ..Default::default()
            }),
            idempotency_key: String::new(),
        })
        .await?
        .into_inner();

    let showtime = |hour| wire::CreatePerformanceRequest {
        event_id: film.event_id.clone(),
        hall_id: hall.hall_id.clone(),
        starts_at: Some(at(hour)),
        turnover: Some(prost_types::Duration { seconds: 1_200, nanos: 0 }),
        idempotency_key: String::new(),
    };
    let first = client.create_performance(showtime(10)).await?.into_inner();
    assert_eq!(first.status(), wire::PerformanceStatus::Draft);

    let clash = client.create_performance(showtime(12)).await.expect_err("12:00 is inside 10:00–12:20");
    assert_eq!(clash.code(), Code::FailedPrecondition);
    assert_eq!(stable_code(&clash), "SLOT_TAKEN");
    assert!(clash.message().contains(&first.performance_id), "{}", clash.message());

    let detail = client.get_event(wire::GetEventRequest { event_id: film.event_id.clone() }).await?.into_inner();
    assert_eq!(detail.performances.len(), 1);
    let stored = detail.event.expect("event");
    assert_eq!((stored.still_urls.len(), stored.trailer_url.as_str()), (1, "https://video.example/ttr"));

    stop.cancel();
    task.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_field_errors_not_server_errors() -> anyhow::Result<()> {
    let Running { mut client, stop, task, .. } = start().await?;

    let bad_venue = client
        .create_venue(wire::CreateVenueRequest {
            venue: Some(wire::VenueFields {
                name: " ".into(),
                time_zone: "Mars/Olympus".into(),
                latitude: 91.0,
                ..Default::default()
            }),
            idempotency_key: String::new(),
        })
        .await
        .expect_err("invalid");
    assert_eq!(bad_venue.code(), Code::InvalidArgument);
    assert_eq!(stable_code(&bad_venue), "INVALID_FIELDS");
    for field in ["venue.name", "venue.time_zone", "venue.latitude"] {
        assert!(bad_venue.message().contains(field), "{field} in {}", bad_venue.message());
    }

    let missing = client.get_venue(wire::GetVenueRequest { venue_id: uuid::Uuid::now_v7().to_string() }).await;
    assert_eq!(missing.expect_err("no such venue").code(), Code::NotFound);
    let garbage = client.get_hall(wire::GetHallRequest { hall_id: "../etc/passwd".into() }).await;
    assert_eq!(garbage.expect_err("not a UUID").code(), Code::InvalidArgument);

    let no_kind = client
        .put_seat_map(wire::PutSeatMapRequest {
            hall_id: uuid::Uuid::now_v7().to_string(),
            seat_map: Some(wire::SeatMap { sections: vec![wire::Section::default()], ..Default::default() }),
            expected_version: 0,
        })
        .await
        .expect_err("invalid");
    assert_eq!(no_kind.code(), Code::InvalidArgument);
    assert!(no_kind.message().contains("sections[0].kind"), "{}", no_kind.message());

    // PostgreSQL text cannot hold NUL: the caller's mistake, named as such.
    let nul = client
        .create_event(wire::CreateEventRequest {
            event: Some(wire::EventFields {
                title: "Night".into(),
                category: wire::EventCategory::Concert.into(),
                age_rating: "ALL".into(),
                running_time: Some(prost_types::Duration { seconds: 3600, nanos: 0 }),
                still_urls: vec!["\0x".into()],
                ..Default::default()
            }),
            idempotency_key: String::new(),
        })
        .await
        .expect_err("NUL refused");
    assert_eq!((nul.code(), stable_code(&nul)), (Code::InvalidArgument, "INVALID_TEXT"));

    stop.cancel();
    task.await??;
    Ok(())
}
