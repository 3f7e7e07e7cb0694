//! Floodgate's event bus over the Kafka protocol.
//!
//! - [`Event`]: the envelope every event travels in (UUIDv7 id, type, time, key, trace context).
//! - [`outbox`]: producers write an event into the outbox *in the same transaction* as the state
//!   change; the [`OutboxRelay`] publishes committed rows with the idempotent producer and marks
//!   them sent. At-least-once, in order per key. Nothing is ever published inside a request.
//! - [`Consumer`]: stores offsets only after its handler's transaction committed, and records each
//!   event in an inbox table in that same transaction, so redeliveries change nothing.
//! - [`topics`]: topics are created explicitly at start-up (the local broker, tansu, does not
//!   auto-create them, and neither should production).
//!
//! Nothing here needs Kafka transactions or offsets-by-timestamp.

pub mod config;
mod consumer;
mod envelope;
pub mod outbox;
mod relay;
pub mod stream_outbox;
pub mod topics;
mod wiring;

use std::sync::LazyLock;

pub use config::{BusArgs, BusConfig};
pub use consumer::{Application, BoxError, Consumer, ConsumerError, EventHandler, HandlerError, Origin, PgInbox};
pub use envelope::{EnvelopeError, Event};
pub use relay::{OutboxRelay, RelayError, idempotent_producer};
pub use topics::Stream;
pub use wiring::{Participation, join};

static MIGRATOR: LazyLock<sqlx::migrate::Migrator> = LazyLock::new(|| {
    let mut migrator = sqlx::migrate!("./migrations");
    // The bus keeps its own migration history beside its tables, so a service's own migrator
    // (in `public`) and this one never see each other's versions.
    migrator.dangerous_set_table_name("eventbus._sqlx_migrations");
    migrator.create_schema("eventbus");
    migrator
});

/// Migrates a service database: first the `eventbus` schema (outbox, inbox, dead letters), then
/// the service's own migrations. Safe to run concurrently from several replicas: sqlx takes an
/// advisory lock.
pub async fn migrate(
    pool: &sqlx::PgPool,
    service: &sqlx::migrate::Migrator,
) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await?;
    service.run(pool).await
}

/// The bus migrator, for test kits that build template databases.
pub fn migrator() -> &'static sqlx::migrate::Migrator {
    &MIGRATOR
}
