//! Plugging the bus into a service built on `floodgate-runtime`.

use floodgate_runtime::{ServiceApp, StartError};
use sqlx::PgPool;

use crate::{BusConfig, Consumer, EventHandler, OutboxRelay, Stream, topics};

/// How a PostgreSQL-backed service takes part in the bus.
#[derive(Debug)]
pub struct Participation<H> {
    /// Names the consumer group (`<prefix><service>`).
    pub service: &'static str,
    /// The stream its outbox publishes to.
    pub produces: Stream,
    /// The streams its handler reads.
    pub consumes: &'static [Stream],
    pub handler: H,
}

/// Creates the topics the service touches, checks the broker in `/readyz`, and runs the outbox
/// relay and the inbox consumer as the app's background tasks.
pub async fn join<H: EventHandler>(
    app: &mut ServiceApp,
    bus: &BusConfig,
    pool: &PgPool,
    participation: Participation<H>,
) -> Result<(), StartError> {
    let Participation { service, produces, consumes, handler } = participation;
    let streams: Vec<Stream> = std::iter::once(produces).chain(consumes.iter().copied()).collect();
    topics::ensure_streams(bus, &streams).await.map_err(StartError::bus)?;
    app.host.readiness_mut().add_kafka(bus.brokers.clone());

    let relay = OutboxRelay::new(pool.clone(), bus).map_err(StartError::bus)?;
    app.tasks.add("outbox-relay", move |stop| relay.run(stop));
    if !consumes.is_empty() {
        let consumer = Consumer::new(bus, service, consumes, pool.clone(), handler).map_err(StartError::bus)?;
        app.tasks.add("event-consumer", move |stop| consumer.run(stop));
    }
    Ok(())
}
