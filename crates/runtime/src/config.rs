//! Configuration pieces shared by every service, parsed by clap from flags or environment
//! variables. Each service flattens the pieces it needs into its own `Config`; clap reports one
//! clear message per bad value before anything binds. Names are the same in `./floodgate`,
//! docker-compose.yml and deploy/.

use std::{net::SocketAddr, time::Duration};

use floodgate_telemetry::{LogFormat, TelemetryConfig};
use secrecy::{ExposeSecret as _, SecretString};

/// Listeners, shutdown and telemetry.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// Address of the gRPC server (port 0 picks a free port).
    #[arg(long, env = "FLOODGATE_GRPC_ADDR", default_value = "127.0.0.1:0")]
    pub grpc_addr: SocketAddr,
    /// Address of the admin HTTP server: /healthz, /readyz, /metrics.
    #[arg(long, env = "FLOODGATE_ADMIN_ADDR", default_value = "127.0.0.1:0")]
    pub admin_addr: SocketAddr,
    /// How long in-flight requests and background tasks get to finish after SIGTERM.
    #[arg(long, env = "FLOODGATE_SHUTDOWN_GRACE", default_value = "10s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,
    /// auto (pretty on a terminal, JSON otherwise), pretty or json.
    #[arg(long, env = "FLOODGATE_LOG_FORMAT", default_value = "auto")]
    pub log_format: LogFormat,
    /// tracing filter directives, e.g. `info,floodgate_booking=debug`.
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub log_filter: String,
    /// OTLP/gRPC collector; traces are exported only when set.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
}

impl ServerArgs {
    pub fn telemetry(&self, service_name: &'static str) -> TelemetryConfig {
        TelemetryConfig {
            service_name,
            log_format: self.log_format,
            log_filter: self.log_filter.clone(),
            otlp_endpoint: self.otlp_endpoint.clone().filter(|s| !s.is_empty()),
        }
    }
}

/// The service's own PostgreSQL database.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// postgres://user:password@host:port/database — the service's own database.
    #[arg(long, env = "FLOODGATE_DATABASE_URL", value_parser = POSTGRES_URL)]
    pub database_url: SecretString,
    /// Upper bound on pooled connections.
    #[arg(long, env = "FLOODGATE_DATABASE_MAX_CONNECTIONS", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub database_max_connections: u32,
}

impl DatabaseArgs {
    /// A one-connection pool for migrations, connected eagerly: a refused or failed connection
    /// is reported as itself rather than as a pool timeout.
    pub async fn migration_pool(&self) -> Result<sqlx::PgPool, sqlx::Error> {
        use sqlx::Connection as _;
        let url = self.database_url.expose_secret();
        sqlx::PgConnection::connect(url).await?.close().await?;
        sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(url).await
    }

    /// A lazily connecting pool: start-up does not fail when the database is briefly away;
    /// `/readyz` reports it instead.
    pub fn pool(&self) -> Result<sqlx::PgPool, sqlx::Error> {
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(self.database_max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy(self.database_url.expose_secret())
    }
}

/// The Redis server and this service's key namespace in it.
#[derive(Debug, Clone, clap::Args)]
pub struct RedisArgs {
    /// redis://host:port/db
    #[arg(long, env = "FLOODGATE_REDIS_URL", value_parser = REDIS_URL)]
    pub redis_url: SecretString,
    /// Prefix of every key this service writes (tests use a random one per test).
    #[arg(long, env = "FLOODGATE_REDIS_PREFIX", default_value = "fg:")]
    pub redis_prefix: String,
}

impl RedisArgs {
    /// A self-reconnecting Redis connection.
    pub async fn connect(&self) -> redis::RedisResult<redis::aio::ConnectionManager> {
        let client = redis::Client::open(self.redis_url.expose_secret())?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)));
        redis::aio::ConnectionManager::new_with_config(client, config).await
    }
}

/// Parses `250ms`, `10s`, `5m`, `1h` (a bare number means seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number.parse().map_err(|_| format!("{s:?} is not a duration; write e.g. 500ms, 10s, 5m or 1h"))?;
    let duration = match unit {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        other => return Err(format!("unknown duration unit {other:?} in {s:?}; use ms, s, m or h")),
    };
    Ok(duration)
}

/// Parses a URL that may carry a password into a `SecretString`, checking only its scheme.
/// Unlike clap's own errors, a bad value is never echoed back.
#[derive(Debug, Clone, Copy)]
struct SecretUrl {
    schemes: &'static [&'static str],
}

impl clap::builder::TypedValueParser for SecretUrl {
    type Value = SecretString;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Self::Value, clap::Error> {
        let value = value.to_str().unwrap_or_default();
        if self.schemes.iter().any(|scheme| value.starts_with(scheme)) {
            return Ok(SecretString::from(value.to_owned()));
        }
        Err(secret_error(cmd, arg, &format!("must start with {}", self.schemes.join(" or "))))
    }
}

/// Parses a secret key given as hex (`bytes` long) into a `SecretString`, never echoing it.
#[derive(Debug, Clone, Copy)]
pub struct SecretHex {
    pub bytes: usize,
}

impl clap::builder::TypedValueParser for SecretHex {
    type Value = SecretString;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Self::Value, clap::Error> {
        let value = value.to_str().unwrap_or_default();
        if value.len() == self.bytes * 2 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(SecretString::from(value.to_owned()));
        }
        let reason =
            format!("must be {} hex digits; generate one with `openssl rand -hex {}`", self.bytes * 2, self.bytes);
        Err(secret_error(cmd, arg, &reason))
    }
}

/// One clear message naming the flag and its variable, without the value.
fn secret_error(cmd: &clap::Command, arg: Option<&clap::Arg>, reason: &str) -> clap::Error {
    let name = arg.map_or_else(
        || "value".to_owned(),
        |a| {
            let long = a.get_long().unwrap_or(a.get_id().as_str());
            match a.get_env() {
                Some(env) => format!("--{long} ({})", env.to_string_lossy()),
                None => format!("--{long}"),
            }
        },
    );
    clap::Error::raw(clap::error::ErrorKind::ValueValidation, format!("invalid value for {name}: {reason}\n"))
        .with_cmd(cmd)
}

const POSTGRES_URL: SecretUrl = SecretUrl { schemes: &["postgres://", "postgresql://"] };
const REDIS_URL: SecretUrl = SecretUrl { schemes: &["redis://", "rediss://", "redis+unix://"] };

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct TestConfig {
        #[command(flatten)]
        server: ServerArgs,
        #[command(flatten)]
        database: DatabaseArgs,
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("10 parsecs").expect_err("must be rejected").contains("parsecs"));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn flags_parse_and_defaults_apply() {
        let config = TestConfig::try_parse_from([
            "svc",
            "--grpc-addr",
            "127.0.0.1:7001",
            "--database-url",
            "postgres://u:secret@127.0.0.1/booking",
        ])
        .expect("valid flags");
        assert_eq!(config.server.grpc_addr.port(), 7001);
        assert_eq!(config.server.admin_addr.port(), 0);
        assert_eq!(config.server.shutdown_grace, Duration::from_secs(10));
        assert_eq!(config.database.database_max_connections, 16);
    }

    #[test]
    fn a_bad_value_gets_one_message_naming_the_flag() {
        let err = TestConfig::try_parse_from([
            "svc",
            "--grpc-addr",
            "not-an-address",
            "--database-url",
            "postgres://x@127.0.0.1/db",
        ])
        .expect_err("must be rejected")
        .to_string();
        assert!(err.contains("--grpc-addr"), "{err}");
        assert!(err.contains("not-an-address"), "{err}");
    }

    #[test]
    fn secrets_are_never_echoed() {
        let err = TestConfig::try_parse_from(["svc", "--database-url", "mysql://root:hunter2@db/x"])
            .expect_err("must be rejected")
            .to_string();
        assert!(err.contains("--database-url"), "{err}");
        assert!(!err.contains("hunter2"), "password leaked into the error: {err}");

        let config =
            TestConfig::try_parse_from(["svc", "--database-url", "postgres://root:hunter2@db/x"]).expect("valid");
        assert!(!format!("{config:?}").contains("hunter2"), "password leaked into Debug");
    }

    #[test]
    fn max_connections_are_bounded() {
        let err = TestConfig::try_parse_from([
            "svc",
            "--database-url",
            "postgres://x@127.0.0.1/db",
            "--database-max-connections",
            "0",
        ])
        .expect_err("must be rejected")
        .to_string();
        assert!(err.contains("--database-max-connections"), "{err}");
    }
}
