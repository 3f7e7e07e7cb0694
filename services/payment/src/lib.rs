//! Payment: payments and refunds through a provider adapter, server-side amounts, idempotency,
//! webhooks and reconciliation (see ../../../shared/DESIGN.md).
//!
//! This is the service's frame: configuration, its own database and migrations, the streams it
//! writes (`payment.events`, through the outbox) and reads (booking events, through the inbox:
//! an order placed opens a payment, a rejection refunds it), health and shutdown.

pub mod config;
mod events;

use floodgate_eventbus::{Participation, Stream};
use floodgate_runtime::{ServiceApp, ServiceHost, StartError};
use floodgate_telemetry::Metrics;

pub use config::Config;
pub use events::PaymentEvents;

pub const SERVICE: &str = "payment";
pub const BINARY: &str = "floodgate-payment";
pub const ABOUT: &str = "Floodgate payment: payments, refunds, webhooks, reconciliation";

/// The streams payment reads.
pub const CONSUMES: &[Stream] = &[Stream::Booking];

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Applies the event-bus schema and payment's own migrations.
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
        Participation { service: SERVICE, produces: Stream::Payment, consumes: CONSUMES, handler: PaymentEvents };
    floodgate_eventbus::join(&mut app, &(&config.bus).into(), &pool, participation).await?;
    Ok(app)
}
