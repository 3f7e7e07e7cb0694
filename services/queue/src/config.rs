//! The waiting room's configuration: flags or `FLOODGATE_*` environment variables.

use floodgate_eventbus::BusArgs;
use floodgate_runtime::config::{RedisArgs, SecretHex, ServerArgs, parse_duration};
use secrecy::SecretString;

#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub redis: RedisArgs,
    #[command(flatten)]
    pub bus: BusArgs,
    /// Key id of the admission signing key (verifiers pick the public key by it).
    #[arg(long, env = "FLOODGATE_ADMISSION_KEY_ID", default_value = "k1")]
    pub admission_key_id: String,
    /// The Ed25519 admission signing key: 32 bytes as 64 hex digits, the same on every replica.
    #[arg(long, env = "FLOODGATE_ADMISSION_KEY", value_parser = SecretHex { bytes: 32 })]
    pub admission_key: SecretString,
    /// How often the admission loop lets buyers through.
    #[arg(long, env = "FLOODGATE_ADMISSION_TICK", default_value = "100ms", value_parser = parse_duration)]
    pub admission_tick: std::time::Duration,
}
