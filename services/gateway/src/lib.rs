//! Gateway: the only public entry — REST, WebSocket and the web UI; accounts, tokens, rate limits,
//! admission checks, error codes (see ../../../shared/DESIGN.md). It talks to the other services
//! over gRPC only.
//!
//! This is the service's frame: configuration, its accounts database, the public HTTP server with
//! its error envelope and limits, gRPC channels to every upstream, health and shutdown.

pub mod config;
mod error;
mod http_api;
mod upstream;

use floodgate_runtime::{ServiceApp, ServiceHost, StartError};
use floodgate_telemetry::Metrics;

pub use config::Config;
pub use error::ApiError;

pub const SERVICE: &str = "gateway";
pub const BINARY: &str = "floodgate-gateway";
pub const ABOUT: &str = "Floodgate gateway: the public API";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Applies the gateway's migrations (accounts).
pub async fn migrate(config: &Config) -> Result<(), StartError> {
    MIGRATOR.run(&config.database.pool()?).await?;
    Ok(())
}

/// Builds the service: migrations, listeners (gRPC health, admin, public HTTP), readiness checks
/// and upstream channels.
pub async fn build(config: Config, metrics: Metrics) -> Result<ServiceApp, StartError> {
    migrate(&config).await?;
    let pool = config.database.pool()?;
    let upstreams = upstream::Upstreams::connect_lazy(&config.upstreams).map_err(StartError::bus)?;

    let mut app = ServiceApp::new(ServiceHost::bind(SERVICE, &config.server, metrics).await?);
    app.host
        .readiness_mut()
        .add_postgres(pool)
        .add_redis(config.redis.redis_url.clone())
        .add_kafka(config.bus.kafka_brokers.clone());

    let listener = tokio::net::TcpListener::bind(config.http_addr).await.map_err(|source| {
        StartError::Host(floodgate_runtime::HostError::Bind { which: "public HTTP", addr: config.http_addr, source })
    })?;
    app.host.announce_listener("http", listener.local_addr().unwrap_or(config.http_addr));
    let router = http_api::router(http_api::ApiState { upstreams });
    app.tasks.add("public-http", move |stop| async move {
        axum::serve(listener, router).with_graceful_shutdown(stop.cancelled_owned()).await
    });
    Ok(app)
}
