//! Booking: inventory, seat holds (Redis, TTL, fencing tokens), orders and tickets — every seat
//! sold exactly once, with PostgreSQL as the final arbiter (see ../../../shared/DESIGN.md).
//!
//! This is the service's frame: configuration, its own database and migrations, the streams it
//! writes (`booking.events`, through the outbox) and reads (catalog and payment events, through
//! the inbox), health and shutdown. Holds, orders and tickets build on it.

pub mod config;
mod events;

use floodgate_eventbus::{Participation, Stream};
use floodgate_runtime::{ServiceApp, ServiceHost, StartError};
use floodgate_telemetry::Metrics;

pub use config::Config;
pub use events::BookingEvents;

pub const SERVICE: &str = "booking";
pub const BINARY: &str = "floodgate-booking";
pub const ABOUT: &str = "Floodgate booking: seat holds, orders and tickets";

/// The streams booking reads.
pub const CONSUMES: &[Stream] = &[Stream::Catalog, Stream::Payment];

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Applies the event-bus schema and booking's own migrations.
pub async fn migrate(config: &Config) -> Result<(), StartError> {
    let pool = config.database.pool()?;
    floodgate_eventbus::migrate(&pool).await?;
    MIGRATOR.run(&pool).await?;
    Ok(())
}

/// Builds the service: migrations, listeners, readiness checks, and its part in the event bus.
pub async fn build(config: Config, metrics: Metrics) -> Result<ServiceApp, StartError> {
    migrate(&config).await?;
    let pool = config.database.pool()?;
    let mut app = ServiceApp::new(ServiceHost::bind(SERVICE, &config.server, metrics).await?);
    app.host.readiness_mut().add_postgres(pool.clone()).add_redis(config.redis.redis_url.clone());
    let participation =
        Participation { service: SERVICE, produces: Stream::Booking, consumes: CONSUMES, handler: BookingEvents };
    floodgate_eventbus::join(&mut app, &(&config.bus).into(), &pool, participation).await?;
    Ok(app)
}
