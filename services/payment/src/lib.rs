//! Payment: payments and refunds through a provider adapter, server-side amounts, idempotency,
//! webhooks and reconciliation (see ../../../shared/DESIGN.md).
//!
//! This is the service's frame: configuration, its own database and migrations, the streams it
//! writes (`payment.events`, through the outbox) and reads (booking events, through the inbox:
//! an order placed opens a payment, a rejection refunds it), health and shutdown.

pub mod config;
mod events;

use floodgate_eventbus::{Participation, Stream};
use floodgate_runtime::{Service, ServiceApp, ServiceHost, StartError, config::ServerArgs};
use floodgate_telemetry::Metrics;

pub use config::Config;
pub use events::PaymentEvents;

/// The streams payment reads.
pub const CONSUMES: &[Stream] = &[Stream::Booking];

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The payment service.
#[derive(Debug, Clone, Copy)]
pub struct Payment;

impl Service for Payment {
    const NAME: &'static str = "payment";
    const BINARY: &'static str = "floodgate-payment";
    const ABOUT: &'static str = "Floodgate payment: payments, refunds, webhooks, reconciliation";
    type Config = Config;

    fn server(config: &Config) -> &ServerArgs {
        &config.server
    }

    /// The event-bus schema, then payment's own migrations.
    async fn migrate(config: &Config) -> Result<(), StartError> {
        Ok(floodgate_eventbus::migrate(&config.database.migration_pool().await?, &MIGRATOR).await?)
    }

    /// Migrations, listeners, readiness checks, and its part in the event bus.
    async fn build(config: Config, metrics: Metrics) -> Result<ServiceApp, StartError> {
        Self::migrate(&config).await?;
        let pool = config.database.pool()?;
        let mut app = ServiceApp::new(ServiceHost::bind(Self::NAME, &config.server, metrics).await?);
        app.host.readiness_mut().add_postgres(pool.clone());
        let participation = Participation {
            service: Self::NAME,
            produces: Stream::Payment,
            consumes: CONSUMES,
            handler: PaymentEvents,
        };
        floodgate_eventbus::join(&mut app, &(&config.bus).into(), &pool, participation).await?;
        Ok(app)
    }
}
