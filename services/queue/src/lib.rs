//! Queue: the virtual waiting room per sale — pre-queue, provably fair start, FIFO, outflow
//! control, positions and ETA, signed admission tokens (see ../../../shared/DESIGN.md). Its state
//! lives in Redis; it has no PostgreSQL database.
//!
//! This is the service's frame: configuration, the topics it writes (`queue.events`) and will
//! read (booking availability, catalog publications), health and shutdown.

pub mod config;

use floodgate_eventbus::{Stream, topics};
use floodgate_runtime::{ServiceApp, ServiceHost, StartError};
use floodgate_telemetry::Metrics;

pub use config::Config;

pub const SERVICE: &str = "queue";
pub const BINARY: &str = "floodgate-queue";
pub const ABOUT: &str = "Floodgate queue: the waiting room and admission tokens";

/// The streams the waiting room reads (sold out, availability, newly published sales).
pub const CONSUMES: &[Stream] = &[Stream::Booking, Stream::Catalog];

/// The queue has no database: nothing to migrate.
pub async fn migrate(_config: &Config) -> Result<(), StartError> {
    Ok(())
}

/// Builds the service: topics, listeners and readiness checks (Redis, broker).
pub async fn build(config: Config, metrics: Metrics) -> Result<ServiceApp, StartError> {
    let bus = floodgate_eventbus::BusConfig::from(&config.bus);
    topics::ensure_streams(&bus, &[&[Stream::Queue], CONSUMES].concat()).await.map_err(StartError::bus)?;
    let mut app = ServiceApp::new(ServiceHost::bind(SERVICE, &config.server, metrics).await?);
    app.host.readiness_mut().add_redis(config.redis.redis_url.clone()).add_kafka(bus.brokers.clone());
    Ok(app)
}
