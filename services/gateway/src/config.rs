//! The gateway's configuration: flags or `FLOODGATE_*` environment variables.

use std::net::SocketAddr;

use floodgate_eventbus::BusArgs;
use floodgate_runtime::config::{DatabaseArgs, RedisArgs, ServerArgs};

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
