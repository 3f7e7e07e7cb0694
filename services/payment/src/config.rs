//! Payment's configuration: flags or `FLOODGATE_*` environment variables.

use floodgate_eventbus::BusArgs;
use floodgate_runtime::config::{DatabaseArgs, ServerArgs};

#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub bus: BusArgs,
}
