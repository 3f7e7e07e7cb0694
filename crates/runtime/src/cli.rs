//! The command line every service binary shares: `floodgate-<svc> [migrate]` plus the service's
//! own flags (each also readable from the environment).

use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};

/// `floodgate-<svc>`: serve by default, or run a one-off command.
#[derive(Debug, Parser)]
pub struct ServiceCli<C: clap::Args> {
    #[command(subcommand)]
    pub command: Option<ServiceCommand>,
    #[command(flatten)]
    pub config: C,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum ServiceCommand {
    /// Apply the service's database migrations and exit.
    Migrate,
}

impl<C: clap::Args> ServiceCli<C> {
    /// Parses the process arguments of `binary` (e.g. `floodgate-booking`); on a bad value prints one clear message and exits 2.
    pub fn parse_for(binary: &'static str, about: &'static str) -> Self {
        Self::try_parse_for(binary, about, std::env::args_os()).unwrap_or_else(|error| error.exit())
    }

    pub fn try_parse_for<I, T>(binary: &'static str, about: &'static str, args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let command = Self::command().name(binary).about(about).version(env!("CARGO_PKG_VERSION"));
        let mut matches = command.try_get_matches_from(args)?;
        Self::from_arg_matches_mut(&mut matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServerArgs;

    #[derive(Debug, clap::Args)]
    struct Config {
        #[command(flatten)]
        server: ServerArgs,
    }

    #[test]
    fn serves_by_default_and_migrates_on_request() {
        let cli =
            ServiceCli::<Config>::try_parse_for("floodgate-booking", "test", ["floodgate-booking"]).expect("parses");
        assert_eq!(cli.command, None);
        let cli = ServiceCli::<Config>::try_parse_for("floodgate-booking", "test", ["floodgate-booking", "migrate"])
            .expect("parses");
        assert_eq!(cli.command, Some(ServiceCommand::Migrate));
        let err = ServiceCli::<Config>::try_parse_for("floodgate-booking", "test", ["floodgate-booking", "launch"])
            .expect_err("must be rejected");
        assert!(err.to_string().contains("launch"), "{err}");
    }
}
