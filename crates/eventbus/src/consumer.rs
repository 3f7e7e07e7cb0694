//! Reading events: [`Consumer`] with an inbox.
//!
//! For each message: decode the envelope, pass over event types the service does nothing with
//! (no transaction, no inbox row), open a transaction, record `(consumer, event id)` in
//! the inbox, run the handler in that same transaction only if the event is new, commit, and
//! only then store the message's offset. Offsets are committed periodically from what was
//! stored (and synchronously at shutdown), never ahead of a committed side effect. A crash
//! anywhere replays the message, and the inbox turns the replay into a no-op.
//!
//! Transient handler errors are retried with backoff on the same message (order is kept);
//! messages that can never be handled go to `eventbus.dead_letter` with their bytes.

mod inbox;

use std::time::Duration;

use floodgate_telemetry::error_chain;
use opentelemetry::{KeyValue, metrics::Counter};
use rdkafka::{
    Message as _,
    consumer::{CommitMode, Consumer as _, StreamConsumer},
    error::{KafkaError, RDKafkaErrorCode},
    message::BorrowedMessage,
};
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::{BusConfig, Event, Stream, relay::Backoff};

/// How often inbox entries past their retention are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

pub use inbox::PgInbox;

/// The error a boxed source carries.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a handler did not apply an event.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Try the same event again later (database down, lock timeout, dependency busy).
    #[error("retryable failure")]
    Retry(#[source] BoxError),
    /// This event can never be applied (e.g. its payload violates the contract). It is parked in
    /// the dead-letter table and the consumer moves on.
    #[error("event rejected")]
    Reject(#[source] BoxError),
}

impl From<sqlx::Error> for HandlerError {
    fn from(error: sqlx::Error) -> Self {
        Self::Retry(Box::new(error))
    }
}

impl From<crate::EnvelopeError> for HandlerError {
    fn from(error: crate::EnvelopeError) -> Self {
        Self::Reject(Box::new(error))
    }
}

/// A service's reaction to events. Runs inside the inbox transaction: write side effects through
/// `tx` (including outbox rows) and they commit atomically with the dedup record.
pub trait EventHandler: Send + Sync + 'static {
    fn handle(&self, tx: &mut PgConnection, event: &Event) -> impl Future<Output = Result<(), HandlerError>> + Send;

    /// Whether [`handle`](Self::handle) does anything with events of `event_type`; the others are
    /// passed over without a transaction or an inbox row. A consumer that wants a tenth of a busy
    /// topic must not spend a commit on each of the rest: in a stadium rehearsal payment spent
    /// one on every hold and release, fell minutes behind, and buyers found no payment to start.
    fn wants(&self, event_type: &str) -> bool {
        let _ = event_type;
        true
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConsumerError {
    #[error("could not create the Kafka consumer for group {group}")]
    Create {
        group: String,
        #[source]
        source: KafkaError,
    },
    #[error("could not subscribe group {group} to {topics:?}")]
    Subscribe {
        group: String,
        topics: Vec<String>,
        #[source]
        source: Box<KafkaError>,
    },
}

/// Where consumed events take effect, exactly once per event.
///
/// [`PgInbox`] is the usual one: an inbox row and the handler's side effects in one PostgreSQL
/// transaction. Services without PostgreSQL implement it with effects that are idempotent by
/// themselves, and park dead letters in their own store.
pub trait Application: Send + Sync + 'static {
    /// Applies `event`; `Ok(false)` when it had already been applied (a redelivery).
    fn apply(
        &self,
        group: &str,
        event: &Event,
        origin: &Origin,
    ) -> impl Future<Output = Result<bool, HandlerError>> + Send;

    /// Whether events of `event_type` have any effect here (see [`EventHandler::wants`]).
    fn wants(&self, event_type: &str) -> bool {
        let _ = event_type;
        true
    }

    /// Keeps a message that can never be applied, with the reason and its bytes.
    fn park(
        &self,
        group: &str,
        origin: &Origin,
        event_id: Option<uuid::Uuid>,
        error: &str,
        bytes: &[u8],
    ) -> impl Future<Output = Result<(), BoxError>> + Send;

    /// Periodic housekeeping (forgetting old dedup records); returns how many were removed.
    fn prune(&self, group: &str) -> impl Future<Output = Result<u64, BoxError>> + Send;
}

/// A consumer group member that applies events through an [`Application`].
pub struct Consumer<A> {
    group: String,
    consumer: StreamConsumer,
    app: A,
    metrics: ConsumerMetrics,
}

impl<A> std::fmt::Debug for Consumer<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer").field("group", &self.group).finish_non_exhaustive()
    }
}

/// Where a message came from, for the inbox and dead letters.
#[derive(Debug, Clone)]
pub struct Origin {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// What became of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Applied,
    Duplicate,
    /// An event type the service does nothing with.
    Skipped,
    DeadLettered,
}

impl<H: EventHandler> Consumer<PgInbox<H>> {
    /// Joins consumer group `<prefix><name>` on the topics of `streams`, applying events through
    /// `handler` in PostgreSQL inbox transactions.
    pub fn new(
        config: &BusConfig,
        name: &str,
        streams: &[Stream],
        pool: PgPool,
        handler: H,
    ) -> Result<Self, ConsumerError> {
        Self::with_application(config, name, streams, PgInbox::new(pool, handler))
    }

    /// How long handled event ids are remembered. Must exceed the retention of the topics read.
    pub fn with_inbox_retention(mut self, retention: Duration) -> Self {
        self.app.retention = retention;
        self
    }

    /// Forgets this group's inbox entries older than the retention.
    pub async fn prune_inbox(&self) -> Result<u64, BoxError> {
        self.app.prune(&self.group).await
    }
}

impl<A: Application> Consumer<A> {
    /// Joins consumer group `<prefix><name>` on the topics of `streams`.
    pub fn with_application(config: &BusConfig, name: &str, streams: &[Stream], app: A) -> Result<Self, ConsumerError> {
        let group = format!("{}{name}", config.topic_prefix);
        let consumer: StreamConsumer = config
            .client()
            .set("group.id", &group)
            .set("client.id", name)
            // Commit periodically, but only offsets we stored after a handler committed.
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "1000")
            .set("enable.auto.offset.store", "false")
            // A new group starts from the beginning: an event produced before the group first
            // joined must still be handled.
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "10000")
            .create()
            .map_err(|source| ConsumerError::Create { group: group.clone(), source })?;
        let topics: Vec<String> = streams.iter().map(|s| s.topic(&config.topic_prefix)).collect();
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer.subscribe(&names).map_err(|source| ConsumerError::Subscribe {
            group: group.clone(),
            topics: topics.clone(),
            source: Box::new(source),
        })?;
        let metrics = ConsumerMetrics::new(&group);
        Ok(Self { group, consumer, app, metrics })
    }

    pub fn group(&self) -> &str {
        &self.group
    }

    /// Consumes until `shutdown`, then commits what was handled.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), ConsumerError> {
        let mut receive_backoff = Backoff::default();
        let mut prune = tokio::time::interval(PRUNE_EVERY);
        loop {
            let message = tokio::select! {
                () = shutdown.cancelled() => break,
                _ = prune.tick() => {
                    match self.app.prune(&self.group).await {
                        Ok(deleted) => tracing::debug!(deleted, "pruned the inbox"),
                        Err(error) => tracing::warn!(error = %error_chain(&*error), "could not prune the inbox"),
                    }
                    continue;
                }
                received = self.consumer.recv() => received,
            };
            let message = match message {
                Ok(message) => {
                    receive_backoff.reset();
                    message
                }
                Err(error) => {
                    // Broker away or rebalancing: librdkafka reconnects by itself.
                    tracing::warn!(%error, group = %self.group, "receive failed");
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(receive_backoff.next()) => continue,
                    }
                }
            };
            let Some(outcome) = self.process(&message, &shutdown).await else {
                // Shutdown while retrying: the offset stays unstored, the message comes again.
                break;
            };
            self.metrics.record(outcome, message.topic());
            if let Err(error) = self.consumer.store_offset_from_message(&message) {
                // The partition was revoked meanwhile; its new owner replays the message and the
                // inbox absorbs it.
                tracing::debug!(%error, "could not store offset");
            }
        }
        self.commit();
        Ok(())
    }

    /// Applies one message; `None` only when shutdown interrupted a retry.
    async fn process(&self, message: &BorrowedMessage<'_>, shutdown: &CancellationToken) -> Option<Outcome> {
        let origin =
            Origin { topic: message.topic().to_owned(), partition: message.partition(), offset: message.offset() };
        let bytes = message.payload().unwrap_or_default();
        let event = match Event::decode(bytes) {
            Ok(event) => event,
            Err(error) => {
                tracing::error!(%error, ?origin, "undecodable message");
                return self.dead_letter(&origin, None, &error, bytes, shutdown).await;
            }
        };
        if !self.app.wants(&event.event_type) {
            return Some(Outcome::Skipped);
        }

        let span = tracing::info_span!(
            "event.handle",
            consumer = %self.group,
            event_type = %event.event_type,
            event_id = %event.id,
            otel.kind = "consumer",
        );
        event.trace.adopt(&span);

        let mut backoff = Backoff::default();
        loop {
            match self.app.apply(&self.group, &event, &origin).instrument(span.clone()).await {
                Ok(true) => return Some(Outcome::Applied),
                Ok(false) => {
                    tracing::debug!(parent: &span, "duplicate delivery absorbed");
                    return Some(Outcome::Duplicate);
                }
                Err(HandlerError::Reject(error)) => {
                    tracing::error!(parent: &span, error = %error_chain(&*error), "handler rejected the event");
                    return self.dead_letter(&origin, Some(&event), &*error, bytes, shutdown).await;
                }
                Err(HandlerError::Retry(error)) => {
                    let delay = backoff.next();
                    tracing::warn!(parent: &span, error = %error_chain(&*error), ?delay, "handler failed; retrying");
                    tokio::select! {
                        () = shutdown.cancelled() => return None,
                        () = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
    }

    /// Parks a message that can never be handled; retried until the store takes it, so the
    /// offset never moves past a message that is neither handled nor parked.
    async fn dead_letter(
        &self,
        origin: &Origin,
        event: Option<&Event>,
        error: &(dyn std::error::Error + Send + Sync + 'static),
        bytes: &[u8],
        shutdown: &CancellationToken,
    ) -> Option<Outcome> {
        let mut backoff = Backoff::default();
        let reason = error_chain(error);
        loop {
            match self.app.park(&self.group, origin, event.map(|e| e.id), &reason, bytes).await {
                Ok(()) => return Some(Outcome::DeadLettered),
                Err(error) => {
                    tracing::warn!(error = %error_chain(&*error), "could not store a dead letter; retrying");
                    tokio::select! {
                        () = shutdown.cancelled() => return None,
                        () = tokio::time::sleep(backoff.next()) => {}
                    }
                }
            }
        }
    }

    fn commit(&self) {
        match self.consumer.commit_consumer_state(CommitMode::Sync) {
            Ok(()) => tracing::info!(group = %self.group, "offsets committed"),
            // Nothing handled since the last commit.
            Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(error) => {
                tracing::warn!(%error, group = %self.group, "final offset commit failed; the last events will be redelivered")
            }
        }
    }
}

#[derive(Clone)]
struct ConsumerMetrics {
    events: Counter<u64>,
    group: String,
}

impl ConsumerMetrics {
    fn new(group: &str) -> Self {
        let events = opentelemetry::global::meter("floodgate-eventbus")
            .u64_counter("floodgate.consumer.events")
            .with_description("Events consumed, by outcome (applied, duplicate, skipped, dead_lettered)")
            .build();
        Self { events, group: group.to_owned() }
    }

    fn record(&self, outcome: Outcome, topic: &str) {
        let outcome = match outcome {
            Outcome::Applied => "applied",
            Outcome::Duplicate => "duplicate",
            Outcome::Skipped => "skipped",
            Outcome::DeadLettered => "dead_lettered",
        };
        self.events.add(
            1,
            &[
                KeyValue::new("group", self.group.clone()),
                KeyValue::new("topic", topic.to_owned()),
                KeyValue::new("outcome", outcome),
            ],
        );
    }
}
