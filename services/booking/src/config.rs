//! Booking's configuration: flags or `FLOODGATE_*` environment variables.

use std::time::Duration;

use floodgate_admission::PublicKey;
use floodgate_eventbus::BusArgs;
use floodgate_runtime::config::{DatabaseArgs, RedisArgs, SecretHex, ServerArgs, parse_duration};
use secrecy::SecretString;

#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub redis: RedisArgs,
    #[command(flatten)]
    pub bus: BusArgs,
    /// The waiting room's public keys, `kid:hex` (64 hex digits), comma-separated: every hold and
    /// checkout must carry an admission token signed by one of them.
    #[arg(long, env = "FLOODGATE_ADMISSION_PUBLIC_KEYS", value_parser = parse_public_keys)]
    pub admission_public_keys: AdmissionKeys,
    /// Key id printed into ticket payloads (scanners pick the public key by it).
    #[arg(long, env = "FLOODGATE_TICKET_KEY_ID", default_value = "t1")]
    pub ticket_key_id: String,
    /// The Ed25519 ticket signing key: 32 bytes as 64 hex digits, the same on every replica.
    #[arg(long, env = "FLOODGATE_TICKET_SIGNING_KEY", value_parser = SecretHex { bytes: 32 })]
    pub ticket_signing_key: SecretString,
    /// How often expired holds are swept and seat events relayed.
    #[arg(long, env = "FLOODGATE_BOOKING_TICK", default_value = "200ms", value_parser = parse_duration)]
    pub tick: Duration,
    /// How often unpaid orders past their deadline are expired.
    #[arg(long, env = "FLOODGATE_DEADLINE_SWEEP", default_value = "1s", value_parser = parse_duration)]
    pub deadline_sweep: Duration,
}

/// The admission verification keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionKeys(pub Vec<PublicKey>);

fn parse_public_keys(value: &str) -> Result<AdmissionKeys, String> {
    let mut keys = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (kid, hex) = entry.split_once(':').ok_or("each key is kid:hex")?;
        let bytes = hex::decode(hex).map_err(|_| format!("key {kid:?} is not hex"))?;
        keys.push(PublicKey::from_bytes(kid, &bytes).map_err(|e| format!("key {kid:?}: {e}"))?);
    }
    if keys.is_empty() {
        return Err("at least one key is required".into());
    }
    Ok(AdmissionKeys(keys))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_keys_parse_and_bad_ones_are_named() {
        let key = floodgate_admission::AdmissionKey::from_secret("k1", &[7; 32]).unwrap().public();
        let parsed = parse_public_keys(&format!("k1:{}", hex::encode(key.to_bytes()))).unwrap();
        assert_eq!(parsed.0, vec![key]);
        assert!(parse_public_keys("").is_err());
        assert!(parse_public_keys("k1:zz").unwrap_err().contains("k1"));
    }
}
