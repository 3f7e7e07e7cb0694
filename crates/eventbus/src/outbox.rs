//! Writing events: the outbox.
//!
//! A producer never talks to the broker inside a request. It calls [`Outbox::enqueue`] inside the
//! same PostgreSQL transaction as the state change the event announces, so the event exists if
//! and only if the change committed. The [`crate::OutboxRelay`] publishes it afterwards.
//!
//! Per-key order: enqueue *after* writing (and so locking) the aggregate's row; then two
//! transactions about one aggregate get outbox ids in their commit order.

use sqlx::PgConnection;

use crate::{BusConfig, Event, Stream};

/// Where one service's events go.
#[derive(Debug, Clone)]
pub struct Outbox {
    topic: String,
}

impl Outbox {
    /// The outbox of the service that produces `stream`.
    pub fn new(config: &BusConfig, stream: Stream) -> Self {
        Self { topic: stream.topic(&config.topic_prefix) }
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Records `event` for publishing, in the caller's transaction.
    pub async fn enqueue(&self, tx: &mut PgConnection, event: &Event) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO eventbus.outbox (event_id, topic, message_key, event_type, envelope, traceparent, tracestate)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(event.id)
        .bind(&self.topic)
        .bind(&event.key)
        .bind(&event.event_type)
        .bind(event.encode())
        .bind(&event.trace.traceparent)
        .bind(&event.trace.tracestate)
        .execute(tx)
        .await
        .map(drop)
    }
}
