//! Payment's configuration: flags or `FLOODGATE_*` environment variables.

use std::{net::SocketAddr, time::Duration};

use floodgate_eventbus::BusArgs;
use floodgate_runtime::config::{DatabaseArgs, SecretHex, ServerArgs, parse_duration};
use secrecy::SecretString;

#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub bus: BusArgs,
    #[command(flatten)]
    pub simulator: SimulatorArgs,
    /// How often refunds are carried out and stuck approvals reconciled.
    #[arg(long, env = "FLOODGATE_RECONCILE_EVERY", default_value = "1s", value_parser = parse_duration)]
    pub reconcile_every: Duration,
}

/// The built-in simulated provider: its checkout pages, webhook secret and misbehaviour knobs.
#[derive(Debug, Clone, clap::Args)]
pub struct SimulatorArgs {
    /// Where the provider's checkout pages listen.
    #[arg(long, env = "FLOODGATE_PROVIDER_ADDR", default_value = "127.0.0.1:0")]
    pub provider_addr: SocketAddr,
    /// The checkout pages' address as buyers' browsers reach it (default: the listen address).
    #[arg(long, env = "FLOODGATE_PROVIDER_PUBLIC_URL")]
    pub provider_public_url: Option<String>,
    /// Secret the provider signs webhooks with: 32 bytes as 64 hex digits.
    #[arg(long, env = "FLOODGATE_WEBHOOK_SECRET", value_parser = SecretHex { bytes: 32 })]
    pub webhook_secret: SecretString,
    /// Share of approvals the provider declines (0–1).
    #[arg(long, env = "FLOODGATE_SIMULATOR_DECLINE_RATE", default_value = "0", value_parser = parse_rate)]
    pub decline_rate: f64,
    /// Delay added to every provider call.
    #[arg(long, env = "FLOODGATE_SIMULATOR_LATENCY", default_value = "0ms", value_parser = parse_duration)]
    pub latency: Duration,
    /// Share of captures whose reply is lost after the money moved (0–1).
    #[arg(long, env = "FLOODGATE_SIMULATOR_LOST_REPLY_RATE", default_value = "0", value_parser = parse_rate)]
    pub lost_reply_rate: f64,
    /// Share of webhooks delivered twice (0–1).
    #[arg(long, env = "FLOODGATE_SIMULATOR_WEBHOOK_DUPLICATE_RATE", default_value = "0", value_parser = parse_rate)]
    pub webhook_duplicate_rate: f64,
    /// Share of webhooks never delivered (0–1).
    #[arg(long, env = "FLOODGATE_SIMULATOR_WEBHOOK_DROP_RATE", default_value = "0", value_parser = parse_rate)]
    pub webhook_drop_rate: f64,
    /// Deliver webhooks out of order.
    #[arg(long, env = "FLOODGATE_SIMULATOR_WEBHOOK_REORDER", default_value_t = false)]
    pub webhook_reorder: bool,
    /// Delay before each webhook.
    #[arg(long, env = "FLOODGATE_SIMULATOR_WEBHOOK_DELAY", default_value = "0ms", value_parser = parse_duration)]
    pub webhook_delay: Duration,
}

fn parse_rate(value: &str) -> Result<f64, String> {
    match value.trim().parse::<f64>() {
        Ok(rate) if (0.0..=1.0).contains(&rate) => Ok(rate),
        _ => Err("a rate between 0 and 1".into()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rates_are_between_zero_and_one() {
        assert_eq!(super::parse_rate("0.05"), Ok(0.05));
        assert!(super::parse_rate("1.5").is_err());
        assert!(super::parse_rate("often").is_err());
    }
}
