//! Gateway: the only public entry — REST, WebSocket and the web UI; accounts, tokens, rate limits,
//! admission checks, error codes (see ../../../shared/DESIGN.md). It talks to the other services
//! over gRPC only.
//!
//! This is the service's frame: configuration, its accounts database, the public HTTP server with
//! its error envelope and limits, gRPC channels to every upstream, health and shutdown.

pub mod config;
pub mod domain;
mod error;
mod http_api;
mod upstream;

use floodgate_runtime::{HostError, Service, ServiceApp, ServiceHost, StartError, config::ServerArgs};
use floodgate_telemetry::Metrics;

pub use config::Config;
pub use error::ApiError;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The gateway service.
#[derive(Debug, Clone, Copy)]
pub struct Gateway;

impl Service for Gateway {
    const NAME: &'static str = "gateway";
    const BINARY: &'static str = "floodgate-gateway";
    const ABOUT: &'static str = "Floodgate gateway: the public API";
    type Config = Config;

    fn server(config: &Config) -> &ServerArgs {
        &config.server
    }

    /// The gateway's own migrations (accounts).
    async fn migrate(config: &Config) -> Result<(), StartError> {
        MIGRATOR.run(&config.database.migration_pool().await?).await?;
        Ok(())
    }

    /// Migrations, listeners (gRPC health, admin, public HTTP), readiness checks and upstream
    /// channels.
    async fn build(config: Config, metrics: Metrics) -> Result<ServiceApp, StartError> {
        Self::migrate(&config).await?;
        let pool = config.database.pool()?;
        let upstreams = upstream::Upstreams::connect_lazy(&config.upstreams).map_err(StartError::bus)?;

        let mut app = ServiceApp::new(ServiceHost::bind(Self::NAME, &config.server, metrics).await?);
        app.host
            .readiness_mut()
            .add_postgres(pool)
            .add_redis(config.redis.redis_url.clone())
            .add_kafka(config.bus.kafka_brokers.clone());

        let addr = config.http_addr;
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| HostError::Bind {
            which: "public HTTP",
            addr,
            source,
        })?;
        app.host.announce_listener("http", listener.local_addr().unwrap_or(addr));
        let router = http_api::router(http_api::ApiState { upstreams });
        app.tasks.add("public-http", move |stop| async move {
            axum::serve(listener, router).with_graceful_shutdown(stop.cancelled_owned()).await
        });
        Ok(app)
    }
}
