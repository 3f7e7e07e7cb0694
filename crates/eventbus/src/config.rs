//! How a service reaches the broker and names its topics.

use clap::Args;
use rdkafka::ClientConfig;

/// Broker settings, shared by every service (same names in `./floodgate`, compose and deploy/).
#[derive(Debug, Clone, Args)]
pub struct BusArgs {
    /// Comma-separated bootstrap servers. Use 127.0.0.1, not localhost (IPv6 first tries time out).
    #[arg(long, env = "FLOODGATE_KAFKA_BROKERS", default_value = "127.0.0.1:9092")]
    pub kafka_brokers: String,
    /// Prefix of every topic name; tests use a unique one per test.
    #[arg(long, env = "FLOODGATE_TOPIC_PREFIX", default_value = "floodgate.")]
    pub topic_prefix: String,
    /// Partitions of topics this service creates (existing topics are left as they are).
    #[arg(long, env = "FLOODGATE_TOPIC_PARTITIONS", default_value_t = 6, value_parser = clap::value_parser!(i32).range(1..=1024))]
    pub topic_partitions: i32,
    /// Replication factor of topics this service creates.
    #[arg(long, env = "FLOODGATE_TOPIC_REPLICATION", default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..=16))]
    pub topic_replication: i32,
}

/// Validated broker settings.
#[derive(Debug, Clone)]
pub struct BusConfig {
    pub brokers: String,
    pub topic_prefix: String,
    pub partitions: i32,
    pub replication: i32,
}

impl From<&BusArgs> for BusConfig {
    fn from(args: &BusArgs) -> Self {
        Self {
            brokers: args.kafka_brokers.clone(),
            topic_prefix: args.topic_prefix.clone(),
            partitions: args.topic_partitions,
            replication: args.topic_replication,
        }
    }
}

impl BusConfig {
    /// Settings every client shares (also for services' own special-purpose clients).
    pub fn client(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            // Fail fast on a dead broker address family instead of trying IPv6 first.
            .set("broker.address.family", "v4")
            .set("socket.keepalive.enable", "true");
        config
    }
}
