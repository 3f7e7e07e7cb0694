//! The skeleton works end to end: every service starts, answers its health endpoints and gRPC
//! health, the gateway reaches every upstream, an event travels from one service's outbox through
//! the broker into another service's inbox, and SIGTERM stops everything cleanly.

use std::time::Duration;

use chrono::Utc;
use floodgate_eventbus::{BusConfig, Event, Stream, outbox::Outbox};
use floodgate_proto::catalog::v1::{Performance, PerformancePublished, SeatMap, Section, SectionKind};
use floodgate_testkit::eventually;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

use crate::platform::{Platform, SERVICES};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_services_start_serve_health_pass_an_event_and_stop_cleanly() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let http = reqwest::Client::new();

    for service in SERVICES {
        let process = &platform.processes[service];
        let admin = format!("http://{}", process.listening.admin);

        let healthz = http.get(format!("{admin}/healthz")).send().await?;
        assert_eq!(healthz.status(), 200, "{service} /healthz");

        let readyz = http.get(format!("{admin}/readyz")).send().await?;
        assert_eq!(readyz.status(), 200, "{service} /readyz");
        let body: serde_json::Value = readyz.json().await?;
        assert_eq!(body["status"], "ready", "{service}: {body}");
        assert!(body["checks"].as_array().is_some_and(|c| !c.is_empty()), "{service} checks its dependencies");

        let metrics = http.get(format!("{admin}/metrics")).send().await?;
        assert_eq!(metrics.status(), 200, "{service} /metrics");
        let text = metrics.text().await?;
        assert!(text.contains(&format!("service_name=\"{service}\"")), "{service} metrics: {text}");

        let channel =
            tonic::transport::Endpoint::from_shared(format!("http://{}", process.listening.grpc))?.connect().await?;
        let mut health = HealthClient::new(channel);
        let status = health.check(HealthCheckRequest { service: String::new() }).await?.into_inner().status();
        assert_eq!(status, ServingStatus::Serving, "{service} gRPC health");
    }

    // The gateway reaches every upstream over gRPC.
    let status = http.get(format!("{}/v1/platform/status", platform.gateway_http)).send().await?;
    assert_eq!(status.status(), 200);
    let body: serde_json::Value = status.json().await?;
    let serving = body["services"].as_array().map_or(0, |s| s.iter().filter(|s| s["status"] == "SERVING").count());
    assert_eq!(serving, 4, "{body}");

    // Its errors use the standard envelope.
    let missing = http.get(format!("{}/v1/no-such-thing", platform.gateway_http)).send().await?;
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await?;
    assert_eq!(body["code"], "NOT_FOUND");
    let huge =
        http.post(format!("{}/v1/platform/status", platform.gateway_http)).body(vec![b'x'; 128 * 1024]).send().await?;
    assert_eq!(huge.status(), 413);
    assert_eq!(huge.json::<serde_json::Value>().await?["code"], "BODY_TOO_LARGE");
    let wrong_method = http.delete(format!("{}/v1/platform/status", platform.gateway_http)).send().await?;
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(wrong_method.json::<serde_json::Value>().await?["code"], "METHOD_NOT_ALLOWED");

    // Catalog commits an event to its outbox; booking's consumer applies it through its inbox.
    let bus = BusConfig {
        brokers: platform.broker.brokers.clone(),
        topic_prefix: platform.broker.topic_prefix.clone(),
        partitions: 3,
        replication: 1,
    };
    let performance_id = uuid::Uuid::now_v7().to_string();
    let starts_at = Utc::now() + chrono::Duration::days(7);
    let published = PerformancePublished {
        performance: Some(Performance {
            performance_id: performance_id.clone(),
            starts_at: Some(prost_types::Timestamp { seconds: starts_at.timestamp(), nanos: 0 }),
            ..Default::default()
        }),
        seat_map: Some(SeatMap {
            sections: vec![Section {
                section_id: "FLOOR".into(),
                kind: SectionKind::GeneralAdmission.into(),
                capacity: 100,
                grade_code: "GA".into(),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    let event = Event::new("catalog", performance_id, &published, Utc::now());
    let catalog_db = &platform.databases["catalog"];
    let mut tx = catalog_db.pool.begin().await?;
    Outbox::new(&bus, Stream::Catalog).enqueue(&mut tx, &event).await?;
    tx.commit().await?;

    let booking_db = &platform.databases["booking"];
    let consumer: String = eventually(Duration::from_secs(60), "booking to apply the catalog event", || async {
        Ok(sqlx::query_scalar("SELECT consumer FROM eventbus.inbox WHERE event_id = $1")
            .bind(event.id)
            .fetch_optional(&booking_db.pool)
            .await?)
    })
    .await?;
    assert_eq!(consumer, format!("{}booking", platform.broker.topic_prefix));
    let published_at: Option<chrono::DateTime<Utc>> =
        sqlx::query_scalar("SELECT published_at FROM eventbus.outbox WHERE event_id = $1")
            .bind(event.id)
            .fetch_one(&catalog_db.pool)
            .await?;
    assert!(published_at.is_some(), "catalog marked the row published");

    // SIGTERM: every service drains and exits successfully.
    for (service, process) in platform.processes {
        let status = process.terminate(Duration::from_secs(20)).await?;
        assert!(status.success(), "{service} exited with {status}");
    }
    Ok(())
}
