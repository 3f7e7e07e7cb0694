//! Queue: the virtual waiting room per sale — pre-queue, provably fair start, FIFO, outflow
//! control, positions and ETA, signed admission tokens (see ../../../shared/DESIGN.md). Its state
//! lives in Redis; it has no PostgreSQL database.
//!
//! This is the service's frame: configuration, the topics it writes (`queue.events`) and will
//! read (booking availability, catalog publications), health and shutdown.

pub mod config;
pub mod domain;
pub mod store;

use floodgate_eventbus::{Stream, topics};
use floodgate_runtime::{Service, ServiceApp, ServiceHost, StartError, config::ServerArgs};
use floodgate_telemetry::Metrics;

pub use config::Config;

/// The streams the waiting room reads (sold out, availability, newly published sales).
pub const CONSUMES: &[Stream] = &[Stream::Booking, Stream::Catalog];

/// The waiting-room service.
#[derive(Debug, Clone, Copy)]
pub struct Queue;

impl Service for Queue {
    const NAME: &'static str = "queue";
    const BINARY: &'static str = "floodgate-queue";
    const ABOUT: &'static str = "Floodgate queue: the waiting room and admission tokens";
    type Config = Config;

    fn server(config: &Config) -> &ServerArgs {
        &config.server
    }

    /// The queue has no database: nothing to migrate.
    async fn migrate(_config: &Config) -> Result<(), StartError> {
        Ok(())
    }

    /// Topics, listeners and readiness checks (Redis, broker).
    async fn build(config: Config, metrics: Metrics) -> Result<ServiceApp, StartError> {
        let bus = floodgate_eventbus::BusConfig::from(&config.bus);
        topics::ensure_streams(&bus, &[&[Stream::Queue], CONSUMES].concat()).await.map_err(StartError::bus)?;
        let mut app = ServiceApp::new(ServiceHost::bind(Self::NAME, &config.server, metrics).await?);
        app.host.readiness_mut().add_redis(config.redis.redis_url.clone()).add_kafka(bus.brokers.clone());
        Ok(app)
    }
}
