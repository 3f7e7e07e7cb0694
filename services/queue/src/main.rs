//! `floodgate-booking`: serve (default) or `migrate`. Everything else lives in the library.

use std::process::ExitCode;

use floodgate_queue::{ABOUT, BINARY, Config, SERVICE};
use floodgate_runtime::{ServiceCli, ServiceCommand};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = ServiceCli::<Config>::parse_for(BINARY, ABOUT);
    let server = cli.config.server.clone();
    match cli.command {
        Some(ServiceCommand::Migrate) => {
            floodgate_runtime::run_once(SERVICE, &server, floodgate_queue::migrate(&cli.config)).await
        }
        None => floodgate_runtime::serve(SERVICE, &server, |metrics| floodgate_queue::build(cli.config, metrics)).await,
    }
}
