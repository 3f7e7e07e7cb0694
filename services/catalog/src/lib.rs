//! Catalog: venues, halls, seat maps, events, performances, pricing and sale configuration, and
//! the read models buyers browse (see ../../../shared/DESIGN.md).
//!
//! This is the service's frame: configuration, its own database and migrations, the streams it
//! writes (`catalog.events`, through the outbox) and reads (booking events, through the inbox,
//! for availability and box-office read models), health and shutdown.

pub mod config;
mod events;

use floodgate_eventbus::{Participation, Stream};
use floodgate_runtime::{ServiceApp, ServiceHost, StartError};
use floodgate_telemetry::Metrics;

pub use config::Config;
pub use events::CatalogEvents;

pub const SERVICE: &str = "catalog";
pub const BINARY: &str = "floodgate-catalog";
pub const ABOUT: &str = "Floodgate catalog: venues, seat maps, events, performances, pricing";

/// The streams catalog reads.
pub const CONSUMES: &[Stream] = &[Stream::Booking];

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Applies the event-bus schema and catalog's own migrations.
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
    app.host.readiness_mut().add_postgres(pool.clone());
    let participation =
        Participation { service: SERVICE, produces: Stream::Catalog, consumes: CONSUMES, handler: CatalogEvents };
    floodgate_eventbus::join(&mut app, &(&config.bus).into(), &pool, participation).await?;
    Ok(app)
}
