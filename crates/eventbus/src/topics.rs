//! Topic names and explicit creation at start-up.
//!
//! Each service publishes to one stream of its own, named `<prefix><service>.events`, keyed by
//! aggregate id so per-aggregate order holds. Services create the topics they produce to *and*
//! consume from, so start-up order never matters.

use rdkafka::{
    admin::{AdminClient, AdminOptions, NewTopic, TopicReplication},
    client::DefaultClientContext,
    error::{KafkaError, RDKafkaErrorCode},
};

use crate::BusConfig;

/// The event streams of the platform, one per producing service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Catalog,
    Queue,
    Booking,
    Payment,
}

impl Stream {
    pub const ALL: [Stream; 4] = [Stream::Catalog, Stream::Queue, Stream::Booking, Stream::Payment];

    pub fn service(self) -> &'static str {
        match self {
            Stream::Catalog => "catalog",
            Stream::Queue => "queue",
            Stream::Booking => "booking",
            Stream::Payment => "payment",
        }
    }

    /// The topic name under `prefix`.
    pub fn topic(self, prefix: &str) -> String {
        format!("{prefix}{}.events", self.service())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    #[error("could not create an admin client for {brokers}")]
    Client {
        brokers: String,
        #[source]
        source: KafkaError,
    },
    #[error("could not create topic {topic}: {code}")]
    Create { topic: String, code: RDKafkaErrorCode },
    #[error("the broker did not answer the topic request")]
    Request(#[source] KafkaError),
}

/// Creates the topics of `streams` under the configured prefix.
pub async fn ensure_streams(config: &BusConfig, streams: &[Stream]) -> Result<(), TopicError> {
    let topics: Vec<String> = streams.iter().map(|s| s.topic(&config.topic_prefix)).collect();
    ensure_topics(config, &topics).await
}

/// The largest event the bus carries (a published 100,000-seat map with imported seat ids fits).
pub const MAX_MESSAGE_BYTES: usize = 16 << 20;
const MAX_MESSAGE_BYTES_STR: &str = "16777216";

/// Creates the topics that do not exist yet. Existing topics are left untouched.
pub async fn ensure_topics(config: &BusConfig, topics: &[String]) -> Result<(), TopicError> {
    let admin: AdminClient<DefaultClientContext> =
        config.client().create().map_err(|source| TopicError::Client { brokers: config.brokers.clone(), source })?;
    let new_topics: Vec<_> = topics
        .iter()
        .map(|name| {
            NewTopic::new(name, config.partitions, TopicReplication::Fixed(config.replication))
                .set("max.message.bytes", MAX_MESSAGE_BYTES_STR)
        })
        .collect();
    // Bounded, so a missing broker stops start-up with a clear error in seconds, not minutes.
    let options = AdminOptions::new()
        .operation_timeout(Some(std::time::Duration::from_secs(10)))
        .request_timeout(Some(std::time::Duration::from_secs(10)));
    let results = admin.create_topics(&new_topics, &options).await.map_err(TopicError::Request)?;
    for result in results {
        match result {
            Ok(topic) => tracing::info!(%topic, "topic created"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => return Err(TopicError::Create { topic, code }),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_named_per_producing_service_under_the_prefix() {
        assert_eq!(Stream::Booking.topic("floodgate."), "floodgate.booking.events");
        assert_eq!(Stream::Catalog.topic("t42."), "t42.catalog.events");
        let names: std::collections::HashSet<_> = Stream::ALL.iter().map(|s| s.topic("p.")).collect();
        assert_eq!(names.len(), Stream::ALL.len(), "every stream has its own topic");
    }
}
