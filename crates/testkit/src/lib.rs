//! The Floodgate test kit (dev-dependency only). Integration tests run against the real
//! PostgreSQL, Redis and broker that `./floodgate test` starts, each test isolated:
//!
//! - [`TestDatabase`]: a fresh database per test, copied from a template that has the migrations
//!   applied (migrating once per schema version, not once per test);
//! - [`TestRedis`]: a random key prefix per test (never `FLUSHALL`);
//! - [`TestBroker`]: a unique topic prefix per test, so topics and consumer groups never collide;
//! - [`ServiceProcess`]: a service binary started as a real process, which announces its bound
//!   ports on stdout — no sleeping until a port opens.
//!
//! Where to find the servers comes from `FLOODGATE_TEST_*` variables set by `./floodgate test`.

mod database;
mod process;

use std::time::Duration;

pub use database::TestDatabase;
pub use process::{Listening, ServiceProcess};

/// Reads a `FLOODGATE_TEST_*` variable, explaining how to get it when it is missing.
pub fn test_env(name: &str) -> anyhow::Result<String> {
    std::env::var(name).map_err(|_| {
        anyhow::anyhow!(
            "{name} is not set: integration tests need the test servers. Run them with `./floodgate test` \
             (add `-- <filter>` to pick tests)."
        )
    })
}

/// A random, per-test Redis key prefix on the test Redis server.
#[derive(Debug, Clone)]
pub struct TestRedis {
    pub url: String,
    pub prefix: String,
}

impl TestRedis {
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            url: test_env("FLOODGATE_TEST_REDIS_URL")?,
            prefix: format!("test:{}:", uuid::Uuid::new_v4().simple()),
        })
    }
}

/// The test broker with a unique topic (and consumer group) prefix for this test.
#[derive(Debug, Clone)]
pub struct TestBroker {
    pub brokers: String,
    pub topic_prefix: String,
}

impl TestBroker {
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            brokers: test_env("FLOODGATE_TEST_KAFKA_BROKERS")?,
            topic_prefix: format!("t{}.", uuid::Uuid::new_v4().simple()),
        })
    }
}

/// Polls `check` until it returns `Some`, or fails after `deadline`. For waiting on an effect
/// that happens asynchronously elsewhere (an event arriving), never for a server to start.
pub async fn eventually<T, F, Fut>(deadline: Duration, what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let give_up = tokio::time::Instant::now() + deadline;
    let mut interval = Duration::from_millis(20);
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        if tokio::time::Instant::now() >= give_up {
            anyhow::bail!("timed out after {deadline:?} waiting for {what}");
        }
        tokio::time::sleep(interval).await;
        interval = (interval * 2).min(Duration::from_millis(250));
    }
}
