//! Readiness: named checks of the dependencies a service cannot serve without (its database,
//! Redis, the broker). `/readyz` runs them concurrently, each under a deadline, and reports every
//! result, so an operator sees which dependency is down rather than a bare 503.

use std::{sync::Arc, time::Duration};

use futures::future::{BoxFuture, join_all};
use secrecy::ExposeSecret as _;

/// Why a dependency is not ready, in words for an operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CheckError(pub String);

type Check = Arc<dyn Fn() -> BoxFuture<'static, Result<(), CheckError>> + Send + Sync>;

/// The set of checks behind `/readyz`.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<(&'static str, Check)>,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.checks.iter().map(|(name, _)| name)).finish()
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    pub name: &'static str,
    pub result: Result<(), CheckError>,
}

const CHECK_DEADLINE: Duration = Duration::from_secs(2);

impl Readiness {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a check; `check` is called on every `/readyz`.
    pub fn add<F, Fut>(&mut self, name: &'static str, check: F) -> &mut Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), CheckError>> + Send + 'static,
    {
        self.checks.push((name, Arc::new(move || Box::pin(check()))));
        self
    }

    /// `SELECT 1` on the pool.
    pub fn add_postgres(&mut self, pool: sqlx::PgPool) -> &mut Self {
        self.add("postgres", move || {
            let pool = pool.clone();
            async move { sqlx::query("SELECT 1").execute(&pool).await.map(drop).map_err(|e| CheckError(e.to_string())) }
        })
    }

    /// `PING` on a fresh connection, so a dead server is seen at once.
    pub fn add_redis(&mut self, url: secrecy::SecretString) -> &mut Self {
        self.add("redis", move || {
            let url = url.clone();
            async move {
                let client = redis::Client::open(url.expose_secret()).map_err(|e| CheckError(e.to_string()))?;
                let mut conn =
                    client.get_multiplexed_async_connection().await.map_err(|e| CheckError(e.to_string()))?;
                redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .map(drop)
                    .map_err(|e| CheckError(e.to_string()))
            }
        })
    }

    /// A metadata request to the brokers (a fresh client each time, so a dead broker shows).
    pub fn add_kafka(&mut self, brokers: String) -> &mut Self {
        self.add("broker", move || {
            let brokers = brokers.clone();
            async move {
                use rdkafka::consumer::{BaseConsumer, Consumer as _};
                // librdkafka's metadata call blocks; keep it off the async workers.
                let answered = tokio::task::spawn_blocking(move || {
                    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
                        .set("bootstrap.servers", &brokers)
                        .set("broker.address.family", "v4")
                        .create()?;
                    consumer.fetch_metadata(None, Duration::from_millis(1500)).map(drop)
                })
                .await;
                match answered {
                    Ok(result) => result.map_err(|e| CheckError(e.to_string())),
                    Err(e) => Err(CheckError(e.to_string())),
                }
            }
        })
    }

    /// Runs every check concurrently, each bounded by a deadline.
    pub async fn run(&self) -> Vec<CheckResult> {
        join_all(self.checks.iter().map(|(name, check)| async move {
            let result = match tokio::time::timeout(CHECK_DEADLINE, check()).await {
                Ok(result) => result,
                Err(_) => Err(CheckError(format!("no answer within {CHECK_DEADLINE:?}"))),
            };
            CheckResult { name, result }
        }))
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reports_every_check_by_name() {
        let mut readiness = Readiness::new();
        readiness.add("ok", || async { Ok(()) }).add("down", || async { Err(CheckError("connection refused".into())) });
        let results = readiness.run().await;
        assert_eq!(results.len(), 2);
        assert_eq!(results[0], CheckResult { name: "ok", result: Ok(()) });
        assert_eq!(results[1].result, Err(CheckError("connection refused".into())));
    }

    #[tokio::test(start_paused = true)]
    async fn a_hung_dependency_fails_its_check_at_the_deadline() {
        let mut readiness = Readiness::new();
        readiness.add("hung", futures::future::pending);
        let results = readiness.run().await;
        assert!(results[0].result.is_err());
    }
}
