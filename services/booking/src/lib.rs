//! Booking: inventory, seat holds (Redis, TTL, fencing tokens), orders and tickets — every seat
//! sold exactly once, with PostgreSQL as the final arbiter (see ../../../shared/DESIGN.md).
//!
//! - `domain/`: pure decisions (best available, hold and order state machines, fees, prices,
//!   signed ticket payloads);
//! - `store`: holds in Redis, one Lua script per change;
//! - `inventory`, `holds`, `orders`: the use cases over PostgreSQL and the store;
//! - `grpc`: the API; `events`: what booking does with catalog and payment events;
//! - `relay`: the hold sweeper, seat events to the bus, the unpaid-order deadline.

pub mod config;
pub mod convert;
pub mod domain;
pub mod error;
mod events;
pub mod grpc;
pub mod holds;
pub mod inventory;
pub mod orders;
pub mod relay;
pub mod store;

use std::sync::Arc;

use floodgate_admission::Verifier;
use floodgate_eventbus::{Participation, Stream, outbox::Outbox};
use floodgate_proto::booking::v1::booking_service_server::BookingServiceServer;
use floodgate_runtime::{Service, ServiceApp, ServiceHost, StartError, config::ServerArgs};
use floodgate_telemetry::Metrics;
use secrecy::ExposeSecret as _;

pub use config::Config;
pub use events::BookingEvents;

/// The streams booking reads.
pub const CONSUMES: &[Stream] = &[Stream::Catalog, Stream::Payment];

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

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

    /// Migrations, listeners, readiness checks, the API, its part in the event bus, and the
    /// sweeper, seat-event relay and deadline sweep.
    async fn build(config: Config, metrics: Metrics) -> Result<ServiceApp, StartError> {
        Self::migrate(&config).await?;
        let pool = config.database.pool()?;
        let bus = floodgate_eventbus::BusConfig::from(&config.bus);
        let redis = config.redis.connect().await?;
        let store = store::HoldStore::new(redis, &config.redis.redis_prefix);
        let inventories = inventory::Inventories::new(pool.clone(), store.clone());
        let holds = holds::Holds::new(inventories, Arc::new(Verifier::new(config.admission_public_keys.0.clone())));
        let secret: [u8; 32] = hex::decode(config.ticket_signing_key.expose_secret())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| StartError::config("the ticket signing key is not 32 bytes of hex"))?;
        let signer = Arc::new(domain::ticket::TicketSigner::new(&config.ticket_key_id, secret));
        let orders = orders::Orders::new(pool.clone(), holds.clone(), Outbox::new(&bus, Stream::Booking), signer);

        let mut app = ServiceApp::new(ServiceHost::bind(Self::NAME, &config.server, metrics).await?);
        app.host.readiness_mut().add_postgres(pool.clone()).add_redis(config.redis.redis_url.clone());
        app.host.add_grpc_service(BookingServiceServer::new(grpc::BookingApi::new(holds, orders.clone())));
        let participation = Participation {
            service: Self::NAME,
            produces: Stream::Booking,
            consumes: CONSUMES,
            handler: BookingEvents { orders: orders.clone() },
        };
        floodgate_eventbus::join(&mut app, &bus, &pool, participation).await?;
        let relay = relay::SeatEventRelay {
            store,
            producer: floodgate_eventbus::idempotent_producer(&bus).map_err(StartError::bus)?,
            topic: Stream::Booking.topic(&bus.topic_prefix),
            tick: config.tick,
        };
        app.tasks.add("seat-event-relay", move |stop| relay.run(stop));
        let deadline = relay::DeadlineSweep { orders, tick: config.deadline_sweep };
        app.tasks.add("deadline-sweep", move |stop| deadline.run(stop));
        Ok(app)
    }
}
