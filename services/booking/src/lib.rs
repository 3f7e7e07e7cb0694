//! Booking: inventory, seat holds (Redis, TTL, fencing tokens), orders and tickets — every seat
//! sold exactly once, with PostgreSQL as the final arbiter (see ../../../shared/DESIGN.md).
//!
//! This is the service's frame: configuration, its own database and migrations, the streams it
//! writes (`booking.events`, through the outbox) and reads (catalog and payment events, through
//! the inbox), health and shutdown. Holds, orders and tickets build on it.

pub mod config;
pub mod domain;
mod events;
pub mod store;

use floodgate_eventbus::{Participation, Stream};
use floodgate_runtime::{Service, ServiceApp, ServiceHost, StartError, config::ServerArgs};
use floodgate_telemetry::Metrics;

pub use config::Config;
pub use events::BookingEvents;

/// The streams booking reads.
pub const CONSUMES: &[Stream] = &[Stream::Catalog, Stream::Payment];

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The booking service.
#[derive(Debug, Clone, Copy)]
pub struct Booking;

impl Service for Booking {
    const NAME: &'static str = "booking";
    const BINARY: &'static str = "floodgate-booking";
    const ABOUT: &'static str = "Floodgate booking: seat holds, orders and tickets";
    type Config = Config;

    fn server(config: &Config) -> &ServerArgs {
        &config.server
    }

    /// The event-bus schema, then booking's own migrations.
    async fn migrate(config: &Config) -> Result<(), StartError> {
        Ok(floodgate_eventbus::migrate(&config.database.migration_pool().await?, &MIGRATOR).await?)
    }

    /// Migrations, listeners, readiness checks, and its part in the event bus.
    async fn build(config: Config, metrics: Metrics) -> Result<ServiceApp, StartError> {
        Self::migrate(&config).await?;
        let pool = config.database.pool()?;
        let mut app = ServiceApp::new(ServiceHost::bind(Self::NAME, &config.server, metrics).await?);
        app.host.readiness_mut().add_postgres(pool.clone()).add_redis(config.redis.redis_url.clone());
        let participation = Participation {
            service: Self::NAME,
            produces: Stream::Booking,
            consumes: CONSUMES,
            handler: BookingEvents,
        };
        floodgate_eventbus::join(&mut app, &(&config.bus).into(), &pool, participation).await?;
        Ok(app)
    }
}
