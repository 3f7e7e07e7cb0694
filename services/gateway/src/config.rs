//! The gateway's configuration: flags or `FLOODGATE_*` environment variables.

use std::{net::SocketAddr, time::Duration};

use floodgate_eventbus::BusArgs;
use floodgate_runtime::config::{DatabaseArgs, RedisArgs, SecretHex, ServerArgs, parse_duration};
use secrecy::SecretString;

#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    #[command(flatten)]
    pub server: ServerArgs,
    /// The public HTTP API (REST, WebSocket, web UI).
    #[arg(long, env = "FLOODGATE_HTTP_ADDR", default_value = "127.0.0.1:0")]
    pub http_addr: SocketAddr,
    #[command(flatten)]
    pub upstreams: Upstreams,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub redis: RedisArgs,
    #[command(flatten)]
    pub bus: BusArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
    /// Requests per client address per 10 seconds (0 = no limit).
    #[arg(long, env = "FLOODGATE_IP_RATE_LIMIT", default_value_t = 500)]
    pub ip_rate_limit: u64,
    /// Requests handled at once; beyond it new ones are shed with 503 + Retry-After.
    #[arg(long, env = "FLOODGATE_MAX_IN_FLIGHT", default_value_t = 2048)]
    pub max_in_flight: usize,
    /// Where buyers reach the web app (links in emails).
    #[arg(long, env = "FLOODGATE_PUBLIC_URL", default_value = "http://localhost:8080")]
    pub public_url: String,
    /// Web origins allowed to call the API from a browser (comma-separated).
    #[arg(long, env = "FLOODGATE_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Load balancers in front of the gateway (comma-separated IP addresses): from these peers the
    /// client address is read from `X-Forwarded-For`, so per-address limits count buyers, not the
    /// balancer. Anyone else's `X-Forwarded-For` is ignored (it would let a client pick its address).
    #[arg(long, env = "FLOODGATE_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// Access tokens, refresh tokens, verification codes.
#[derive(Debug, Clone, clap::Args)]
pub struct AuthArgs {
    /// The Ed25519 key access tokens are signed with: 32 bytes as 64 hex digits.
    #[arg(long, env = "FLOODGATE_JWT_SIGNING_KEY", value_parser = SecretHex { bytes: 32 })]
    pub jwt_signing_key: SecretString,
    /// Its key id (`kid`), for rotation.
    #[arg(long, env = "FLOODGATE_JWT_KEY_ID", default_value = "g1")]
    pub jwt_key_id: String,
    #[arg(long, env = "FLOODGATE_JWT_ISSUER", default_value = "floodgate")]
    pub jwt_issuer: String,
    #[arg(long, env = "FLOODGATE_JWT_AUDIENCE", default_value = "floodgate-api")]
    pub jwt_audience: String,
    #[arg(long, env = "FLOODGATE_ACCESS_TOKEN_TTL", default_value = "15m", value_parser = parse_duration)]
    pub access_ttl: Duration,
    #[arg(long, env = "FLOODGATE_REFRESH_TOKEN_TTL", default_value = "720h", value_parser = parse_duration)]
    pub refresh_ttl: Duration,
    /// Keys verification-code digests and guest ids: 32 bytes as 64 hex digits.
    #[arg(long, env = "FLOODGATE_VERIFICATION_SECRET", value_parser = SecretHex { bytes: 32 })]
    pub verification_secret: SecretString,
    /// Where email goes: `smtps://user:pass@host:465`, `smtp://user:pass@host:587?tls=required`
    /// or `smtp://host:25`. Unset: emails go to the log (and, in development, `/v1/dev/messages`).
    #[arg(long, env = "FLOODGATE_SMTP_URL")]
    pub smtp_url: Option<SecretString>,
    /// The From of every email.
    #[arg(long, env = "FLOODGATE_MAIL_FROM", default_value = "Floodgate Tickets <tickets@floodgate.local>")]
    pub mail_from: String,
    /// Development mode: messages readable at `GET /v1/dev/messages`, cookies without `Secure`.
    #[arg(long, env = "FLOODGATE_DEV_MODE", default_value_t = false)]
    pub dev_mode: bool,
    /// The cost of new password hashes: `owasp` (argon2id, 19 MiB, 2 passes), or `minimal` for
    /// rehearsals that sign up tens of thousands of buyers — refused outside development mode.
    #[arg(long, env = "FLOODGATE_PASSWORD_COST", default_value = "owasp")]
    pub password_cost: crate::domain::password::Cost,
}

/// Where the other services' gRPC servers are.
#[derive(Debug, Clone, clap::Args)]
pub struct Upstreams {
    #[arg(long, env = "FLOODGATE_CATALOG_URL", default_value = "http://127.0.0.1:50051")]
    pub catalog_url: http::Uri,
    #[arg(long, env = "FLOODGATE_QUEUE_URL", default_value = "http://127.0.0.1:50052")]
    pub queue_url: http::Uri,
    #[arg(long, env = "FLOODGATE_BOOKING_URL", default_value = "http://127.0.0.1:50053")]
    pub booking_url: http::Uri,
    #[arg(long, env = "FLOODGATE_PAYMENT_URL", default_value = "http://127.0.0.1:50054")]
    pub payment_url: http::Uri,
}

impl Upstreams {
    pub fn all(&self) -> [(&'static str, &http::Uri); 4] {
        [
            ("catalog", &self.catalog_url),
            ("queue", &self.queue_url),
            ("booking", &self.booking_url),
            ("payment", &self.payment_url),
        ]
    }
}
