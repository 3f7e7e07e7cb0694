//! Publishing the outbox: [`OutboxRelay`].
//!
//! The relay takes committed, unpublished rows in id order, sends them with the idempotent
//! producer, waits until the broker acknowledged every one, and only then marks them published —
//! all inside one transaction that also holds a per-database advisory lock, so with several
//! replicas exactly one relays at a time and per-key order is kept. If it dies between "sent" and
//! "marked", the rows are sent again: delivery is at-least-once and consumers dedupe by event id.

use std::time::Duration;

use floodgate_telemetry::error_chain;
use futures::future::join_all;
use opentelemetry::metrics::Counter;
use rdkafka::{
    ClientConfig,
    error::KafkaError,
    message::{Header, OwnedHeaders},
    producer::{FutureProducer, FutureRecord, Producer as _},
};
use sqlx::{PgPool, Row as _, postgres::PgListener};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::BusConfig;

/// Arbitrary but fixed: the advisory lock that makes one relay per database the active one.
const RELAY_LOCK: i64 = 0x0f10_0d6a_7e00_0001;
const NOTIFY_CHANNEL: &str = "eventbus_outbox";
/// How often published rows past their retention are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("could not create the Kafka producer")]
    Producer(#[source] KafkaError),
    #[error("outbox database error")]
    Database(#[from] sqlx::Error),
    #[error("the broker did not acknowledge outbox row {outbox_id} for {topic}")]
    Publish {
        outbox_id: i64,
        topic: String,
        #[source]
        source: KafkaError,
    },
}

/// Publishes one database's outbox.
#[derive(Clone)]
pub struct OutboxRelay {
    pool: PgPool,
    producer: FutureProducer,
    producer_config: ClientConfig,
    batch_size: i64,
    poll_interval: Duration,
    retention: Duration,
    published: Counter<u64>,
    parked: Counter<u64>,
}

impl std::fmt::Debug for OutboxRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxRelay")
            .field("batch_size", &self.batch_size)
            .field("poll_interval", &self.poll_interval)
            .finish_non_exhaustive()
    }
}

impl OutboxRelay {
    pub fn new(pool: PgPool, config: &BusConfig) -> Result<Self, RelayError> {
        let producer_config = producer_config(config);
        let producer = producer_config.create().map_err(RelayError::Producer)?;
        let published = opentelemetry::global::meter("floodgate-eventbus")
            .u64_counter("floodgate.outbox.published")
            .with_description("Outbox rows acknowledged by the broker")
            .build();
        Ok(Self {
            pool,
            producer,
            producer_config,
            batch_size: 256,
            poll_interval: Duration::from_secs(1),
            retention: Duration::from_secs(7 * 24 * 3600),
            published,
            parked: opentelemetry::global::meter("floodgate-eventbus")
                .u64_counter("floodgate.outbox.parked")
                .with_description("Outbox rows the broker refused for good (too large, malformed); alert on any")
                .build(),
        })
    }

    /// Rows per transaction.
    pub fn with_batch_size(mut self, batch_size: u16) -> Self {
        self.batch_size = i64::from(batch_size.max(1));
        self
    }

    /// How often to look for rows when no NOTIFY arrived (NOTIFY can be lost on reconnect).
    pub fn with_poll_interval(mut self, poll_interval: Duration) -> Self {
        self.poll_interval = poll_interval;
        self
    }

    /// How long published rows are kept (for audit and replays) before they are deleted.
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Relays until `shutdown`; returns after the current batch. Database and broker errors are
    /// retried with backoff — the relay itself never gives up while the service runs.
    pub async fn run(mut self, shutdown: CancellationToken) -> Result<(), RelayError> {
        let mut listener = None;
        let mut backoff = Backoff::default();
        let mut last_prune: Option<tokio::time::Instant> = None;
        while !shutdown.is_cancelled() {
            if listener.is_none() {
                listener = self.listen().await;
            }
            if last_prune.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                match self.prune().await {
                    Ok(deleted) => tracing::debug!(deleted, "pruned published outbox rows"),
                    Err(error) => tracing::warn!(error = %error_chain(&error), "could not prune the outbox"),
                }
                last_prune = Some(tokio::time::Instant::now());
            }
            match self.drain().await {
                Ok(_) => backoff.reset(),
                Err(error) => {
                    tracing::warn!(error = %error_chain(&error), "outbox relay failed; retrying");
                    self.replace_producer_after_fatal_error();
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(backoff.next()) => continue,
                    }
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(self.poll_interval) => {}
                notified = recv(&mut listener) => {
                    if let Err(error) = notified {
                        tracing::debug!(%error, "outbox listener lost; polling until it reconnects");
                        listener = None;
                    }
                }
            }
        }
        // Outstanding sends were awaited batch by batch; nothing is left in the producer queue.
        Ok(())
    }

    /// Deletes rows published longer ago than the retention; unpublished rows are never touched.
    pub async fn prune(&self) -> Result<u64, RelayError> {
        let deleted = sqlx::query(
            "DELETE FROM eventbus.outbox WHERE published_at < now() - make_interval(secs => $1::double precision)",
        )
        .bind(self.retention.as_secs_f64())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(deleted)
    }

    /// Publishes until the outbox is empty; returns how many rows were published.
    pub async fn drain(&self) -> Result<usize, RelayError> {
        let mut total = 0;
        loop {
            let published = self.publish_batch().await?;
            total += published;
            if (published as i64) < self.batch_size {
                return Ok(total);
            }
        }
    }

    /// Publishes one batch; 0 when the outbox is empty or another replica holds the relay lock.
    pub async fn publish_batch(&self) -> Result<usize, RelayError> {
        let mut tx = self.pool.begin().await?;
        let leader: bool =
            sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)").bind(RELAY_LOCK).fetch_one(&mut *tx).await?;
        if !leader {
            return Ok(0);
        }
        let rows = sqlx::query(
            "SELECT id, topic, message_key, envelope, traceparent, tracestate, event_type, event_id::text AS event_id
             FROM eventbus.outbox WHERE published_at IS NULL AND failed_at IS NULL ORDER BY id LIMIT $1",
        )
        .bind(self.batch_size)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }

        let span = tracing::debug_span!("outbox.publish", rows = rows.len());
        async {
            // Send every row, then wait for every acknowledgement: one round trip per batch, and
            // the idempotent producer keeps them in order per partition.
            let mut outcomes = Vec::with_capacity(rows.len());
            for row in &rows {
                let id: i64 = row.get("id");
                let topic: &str = row.get("topic");
                let headers = OwnedHeaders::new()
                    .insert(Header { key: "event-id", value: Some(row.get::<&str, _>("event_id")) })
                    .insert(Header { key: "event-type", value: Some(row.get::<&str, _>("event_type")) })
                    .insert(Header { key: "traceparent", value: Some(row.get::<&str, _>("traceparent")) })
                    .insert(Header { key: "tracestate", value: Some(row.get::<&str, _>("tracestate")) });
                let record = FutureRecord::to(topic)
                    .key(row.get::<&str, _>("message_key"))
                    .payload(row.get::<&[u8], _>("envelope"))
                    .headers(headers);
                let sent = self.producer.send_result(record).map_err(|(source, _)| source);
                outcomes.push((id, topic.to_owned(), sent));
            }
            let results = join_all(outcomes.into_iter().map(|(id, topic, sent)| async move {
                let result = match sent {
                    Ok(delivery) => match delivery.await {
                        Ok(Ok(_)) => Ok(()),
                        Ok(Err((source, _))) => Err(source),
                        Err(_) => Err(KafkaError::Canceled),
                    },
                    Err(source) => Err(source),
                };
                (id, topic, result)
            }))
            .await;

            let mut published = Vec::with_capacity(results.len());
            let mut rejected = Vec::new();
            for (id, topic, result) in results {
                match result {
                    Ok(()) => published.push(id),
                    // The broker will never take this row: park it instead of blocking every row
                    // behind it forever.
                    Err(source) if never_publishable(&source) => {
                        tracing::error!(outbox_id = id, %topic, error = %source, "outbox row can never be published; parked");
                        rejected.push((id, source.to_string()));
                    }
                    // Anything else may pass on a retry: roll back (dropping `tx`) so the whole
                    // batch is sent again later.
                    Err(source) => return Err(RelayError::Publish { outbox_id: id, topic, source }),
                }
            }

            sqlx::query("UPDATE eventbus.outbox SET published_at = now() WHERE id = ANY($1)")
                .bind(&published)
                .execute(&mut *tx)
                .await?;
            for (id, failure) in &rejected {
                sqlx::query("UPDATE eventbus.outbox SET failed_at = now(), failure = $2 WHERE id = $1")
                    .bind(id)
                    .bind(failure)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            self.published.add(published.len() as u64, &[]);
            self.parked.add(rejected.len() as u64, &[]);
            Ok(published.len() + rejected.len())
        }
        .instrument(span)
        .await
    }

    /// An idempotent producer that hit a fatal error (e.g. a sequence gap the broker refused)
    /// never recovers; the rows it failed to send are still unpublished, so a fresh producer
    /// simply sends them again.
    fn replace_producer_after_fatal_error(&mut self) {
        let Some((code, reason)) = self.producer.client().fatal_error() else { return };
        tracing::error!(?code, %reason, "producer failed fatally; creating a new one");
        match self.producer_config.create() {
            Ok(producer) => self.producer = producer,
            Err(error) => tracing::error!(%error, "could not create a new producer; retrying later"),
        }
    }

    async fn listen(&self) -> Option<PgListener> {
        let mut listener = PgListener::connect_with(&self.pool).await.ok()?;
        listener.listen(NOTIFY_CHANNEL).await.ok()?;
        Some(listener)
    }
}

/// The bus's idempotent producer, for relays other than the PostgreSQL outbox (the waiting
/// room relays its Redis event streams with it).
pub fn idempotent_producer(config: &BusConfig) -> Result<FutureProducer, KafkaError> {
    producer_config(config).create()
}

fn producer_config(config: &BusConfig) -> ClientConfig {
    let mut producer = config.client();
    producer
        // Idempotence: broker-side dedup of producer retries and strict per-partition order.
        .set("enable.idempotence", "true")
        .set("acks", "all")
        // Same key → same partition as Java clients would choose.
        .set("partitioner", "murmur2_random")
        .set("linger.ms", "5")
        .set("message.timeout.ms", "30000")
        .set("message.max.bytes", crate::topics::MAX_MESSAGE_BYTES.to_string());
    producer
}

/// Errors that no retry can fix: the record itself is unacceptable to the broker.
fn never_publishable(error: &KafkaError) -> bool {
    use rdkafka::types::RDKafkaErrorCode as Code;
    matches!(
        error.rdkafka_error_code(),
        Some(Code::MessageSizeTooLarge | Code::InvalidMessageSize | Code::InvalidMessage | Code::InvalidRecord)
    )
}

/// Waits for a NOTIFY; never resolves without a listener (the poll interval covers that case).
async fn recv(listener: &mut Option<PgListener>) -> Result<(), sqlx::Error> {
    match listener {
        Some(listener) => listener.recv().await.map(drop),
        None => futures::future::pending().await,
    }
}

/// Capped exponential backoff for retrying a dependency that is down.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    attempt: u32,
}

impl Backoff {
    const BASE: Duration = Duration::from_millis(100);
    const CAP: Duration = Duration::from_secs(5);

    pub(crate) fn next(&mut self) -> Duration {
        let delay = Self::BASE.saturating_mul(1 << self.attempt.min(16)).min(Self::CAP);
        self.attempt = self.attempt.saturating_add(1);
        delay
    }

    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_cap_and_resets() {
        let mut backoff = Backoff::default();
        let delays: Vec<_> = (0..8).map(|_| backoff.next()).collect();
        assert_eq!(delays[0], Duration::from_millis(100));
        assert_eq!(delays[1], Duration::from_millis(200));
        assert_eq!(delays[5], Duration::from_millis(3200));
        assert_eq!(delays[6], Duration::from_secs(5));
        assert!(delays.windows(2).all(|w| w[0] <= w[1]));
        backoff.reset();
        assert_eq!(backoff.next(), Duration::from_millis(100));
    }
}
