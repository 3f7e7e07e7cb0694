//! Queue: the virtual waiting room per sale — pre-queue, provably fair start, FIFO, outflow
//! control, positions and ETA, signed admission tokens (see ../../../shared/DESIGN.md). Its state
//! lives in Redis; it has no PostgreSQL database.
//!
//! So far: the fair draw and its audit, rooms in Redis (join, positions, rate- and cap-limited
//! admission across replicas), the gRPC API, the admission loop that signs tokens, and rooms
//! created, retuned, closed and stopped from catalog and booking events. The queue's own events
//! and inventory-aware pacing come next.

pub mod admission_loop;
pub mod config;
pub mod domain;
pub mod event_relay;
pub mod events;
pub mod grpc;
pub mod store;

use std::sync::Arc;

use floodgate_admission::AdmissionKey;
use floodgate_eventbus::{Consumer, Stream, topics};
use floodgate_proto::queue::v1::queue_service_server::QueueServiceServer;
use floodgate_runtime::{Service, ServiceApp, ServiceHost, StartError, config::ServerArgs};
use floodgate_telemetry::Metrics;
use store::RoomStore;

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

    /// Topics, listeners, readiness checks (Redis, broker), the API and the admission loop.
    async fn build(config: Config, metrics: Metrics) -> Result<ServiceApp, StartError> {
        use secrecy::ExposeSecret as _;
        let secret = hex::decode(config.admission_key.expose_secret()).map_err(StartError::bus)?;
        let key = Arc::new(AdmissionKey::from_secret(&config.admission_key_id, &secret).map_err(StartError::bus)?);
        let bus = floodgate_eventbus::BusConfig::from(&config.bus);
        topics::ensure_streams(&bus, &[&[Stream::Queue], CONSUMES].concat()).await.map_err(StartError::bus)?;
        let redis = config.redis.connect().await?;
        let store = RoomStore::new(redis.clone(), &config.redis.redis_prefix);

        let mut app = ServiceApp::new(ServiceHost::bind(Self::NAME, &config.server, metrics).await?);
        app.host.readiness_mut().add_redis(config.redis.redis_url.clone()).add_kafka(bus.brokers.clone());
        let paces = admission_loop::Paces::default();
        let api = grpc::QueueApi::new(store.clone(), key.clone(), paces.clone());
        app.host.add_grpc_service(QueueServiceServer::new(api));
        let admissions_store = store.clone();
        let admissions =
            admission_loop::AdmissionLoop { store, key, tick: config.admission_tick, paces: paces.clone() };
        app.tasks.add("admission-loop", move |stop| admissions.run(stop));
        let events = events::QueueEvents {
            store: admissions_store,
            redis,
            dead_letters: format!("{}dead_letters", config.redis.redis_prefix),
            paces: paces.clone(),
        };
        let consumer =
            Consumer::with_application(&bus, Self::NAME, CONSUMES, events.clone()).map_err(StartError::bus)?;
        app.tasks.add("event-consumer", move |stop| consumer.run(stop));
        let relay = event_relay::EventRelay {
            store: events.store.clone(),
            producer: floodgate_eventbus::idempotent_producer(&bus).map_err(StartError::bus)?,
            topic: Stream::Queue.topic(&bus.topic_prefix),
            tick: config.admission_tick,
            pace: paces.relay,
        };
        app.tasks.add("event-relay", move |stop| relay.run(stop));
        Ok(app)
    }
}
