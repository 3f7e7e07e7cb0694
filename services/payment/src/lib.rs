//! Payment: payments and refunds through a provider adapter, server-side amounts, idempotency,
//! webhooks and reconciliation (see ../../../shared/DESIGN.md).
//!
//! - `domain/`: the payment state machine and refund arithmetic; webhook signatures;
//! - `provider`: the provider trait and the built-in simulated provider (own ledger, checkout
//!   pages, webhook sender with chaos knobs);
//! - `payments`: the use cases (open from `OrderPlaced`, prepare, approve, settle, refunds,
//!   reconciliation); `webhooks`, `idempotency`, `events` (booking events), `reconcile` (ticks);
//! - `grpc` and `error`: the API and its one status table.

pub mod config;
pub mod domain;
pub mod error;
mod events;
pub mod grpc;
pub mod idempotency;
pub mod payments;
pub mod provider;
pub mod reconcile;
mod webhooks;

use std::sync::Arc;

use floodgate_eventbus::{Participation, Stream, outbox::Outbox};
use floodgate_proto::payment::v1::payment_service_server::PaymentServiceServer;
use floodgate_runtime::{HostError, Service, ServiceApp, ServiceHost, StartError, config::ServerArgs};
use floodgate_telemetry::Metrics;
use provider::{
    sender::{WebhookChaos, WebhookSender},
    simulated::{Knobs, Simulator},
};

pub use config::Config;
pub use events::PaymentEvents;

/// The streams payment reads.
pub const CONSUMES: &[Stream] = &[Stream::Booking];

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

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

    /// The event-bus schema, then payment's own migrations (and the simulator's ledger).
    async fn migrate(config: &Config) -> Result<(), StartError> {
        Ok(floodgate_eventbus::migrate(&config.database.migration_pool().await?, &MIGRATOR).await?)
    }

    /// Migrations, listeners (gRPC, admin, the provider's checkout pages), the event bus, the
    /// reconciler and the provider's webhook sender.
    async fn build(config: Config, metrics: Metrics) -> Result<ServiceApp, StartError> {
        Self::migrate(&config).await?;
        let pool = config.database.pool()?;
        let bus = floodgate_eventbus::BusConfig::from(&config.bus);
        let sim = &config.simulator;
        let listener = tokio::net::TcpListener::bind(sim.provider_addr).await.map_err(|source| HostError::Bind {
            which: "provider checkout",
            addr: sim.provider_addr,
            source,
        })?;
        let bound = listener.local_addr().unwrap_or(sim.provider_addr);
        let public_url = sim.provider_public_url.clone().unwrap_or_else(|| format!("http://{bound}"));
        let knobs =
            Knobs { decline_rate: sim.decline_rate, latency: sim.latency, lost_reply_rate: sim.lost_reply_rate };
        let simulator = Simulator::new(pool.clone(), &public_url, sim.webhook_secret.clone(), knobs);
        let payments =
            payments::Payments::new(pool.clone(), Arc::new(simulator.clone()), Outbox::new(&bus, Stream::Payment));

        let mut app = ServiceApp::new(ServiceHost::bind(Self::NAME, &config.server, metrics).await?);
        app.host.readiness_mut().add_postgres(pool.clone());
        app.host.announce_listener("provider", bound);
        app.host.add_grpc_service(PaymentServiceServer::new(grpc::PaymentApi::new(payments.clone())));
        let pages = provider::checkout::router(simulator.clone());
        app.tasks.add("provider-checkout", move |stop| async move {
            axum::serve(listener, pages).with_graceful_shutdown(stop.cancelled_owned()).await
        });
        let participation = Participation {
            service: Self::NAME,
            produces: Stream::Payment,
            consumes: CONSUMES,
            handler: PaymentEvents { payments: payments.clone() },
        };
        floodgate_eventbus::join(&mut app, &bus, &pool, participation).await?;
        let reconciler = reconcile::Reconciler { payments: payments.clone(), tick: config.reconcile_every };
        app.tasks.add("reconciler", move |stop| reconciler.run(stop));
        let sender = WebhookSender {
            simulator,
            sink: Arc::new(reconcile::LocalWebhooks(payments)),
            chaos: WebhookChaos {
                duplicate_rate: sim.webhook_duplicate_rate,
                drop_rate: sim.webhook_drop_rate,
                reorder: sim.webhook_reorder,
                delay: sim.webhook_delay,
            },
            tick: std::time::Duration::from_millis(200),
        };
        app.tasks.add("provider-webhooks", move |stop| sender.run(stop));
        Ok(app)
    }
}
