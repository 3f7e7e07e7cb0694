//! Catalog: venues, halls, seat maps, events, performances, pricing and sale configuration, and
//! the read models buyers browse (see ../../../shared/DESIGN.md).
//!
//! This is the service's frame: configuration, its own database and migrations, the streams it
//! writes (`catalog.events`, through the outbox) and reads (booking events, through the inbox,
//! for availability and box-office read models), health and shutdown.

pub mod config;
pub mod convert;
pub mod domain;
pub mod error;
mod events;
pub mod grpc;
pub mod model;
pub mod repo;
pub mod sales;
pub mod search;
pub mod seat_map_cache;
pub mod seed;

use floodgate_eventbus::{Participation, Stream};
use floodgate_proto::catalog::v1::catalog_service_server::CatalogServiceServer;
use floodgate_runtime::{Service, ServiceApp, ServiceHost, StartError, config::ServerArgs};
use floodgate_telemetry::Metrics;

pub use config::Config;
pub use events::CatalogEvents;

/// The streams catalog reads.
pub const CONSUMES: &[Stream] = &[Stream::Booking];

/// Catalog's own schema (the event bus adds its own beside it).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The catalog service.
#[derive(Debug, Clone, Copy)]
pub struct Catalog;

impl Service for Catalog {
    const NAME: &'static str = "catalog";
    const BINARY: &'static str = "floodgate-catalog";
    const ABOUT: &'static str = "Floodgate catalog: venues, seat maps, events, performances, pricing";
    type Config = Config;

    fn server(config: &Config) -> &ServerArgs {
        &config.server
    }

    /// The event-bus schema, then catalog's own migrations.
    async fn migrate(config: &Config) -> Result<(), StartError> {
        Ok(floodgate_eventbus::migrate(&config.database.migration_pool().await?, &MIGRATOR).await?)
    }

    /// Migrations, listeners, readiness checks, and its part in the event bus.
    async fn build(config: Config, metrics: Metrics) -> Result<ServiceApp, StartError> {
        Self::migrate(&config).await?;
        let pool = config.database.pool()?;
        let mut app = ServiceApp::new(ServiceHost::bind(Self::NAME, &config.server, metrics).await?);
        app.host.readiness_mut().add_postgres(pool.clone());
        let bus: floodgate_eventbus::BusConfig = (&config.bus).into();
        let outbox = floodgate_eventbus::outbox::Outbox::new(&bus, Stream::Catalog);
        app.host.add_grpc_service(CatalogServiceServer::new(grpc::CatalogApi::new(pool.clone(), outbox)));
        let participation = Participation {
            service: Self::NAME,
            produces: Stream::Catalog,
            consumes: CONSUMES,
            handler: CatalogEvents,
        };
        floodgate_eventbus::join(&mut app, &bus, &pool, participation).await?;
        Ok(app)
    }
}
