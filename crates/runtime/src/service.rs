//! The life of a service process, shared by every `main`: telemetry, the shutdown signal,
//! building the app, running it, and turning failures into one clear message and an exit code.

use std::process::ExitCode;

use floodgate_telemetry::{Metrics, Telemetry, error_chain};
use tokio_util::sync::CancellationToken;

use crate::{
    BackgroundTasks, HostError, ServiceCli, ServiceCommand, ServiceHost, config::ServerArgs, shutdown_on_signal,
};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("could not reach the service database")]
    Database(#[from] sqlx::Error),
    #[error("database migrations failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("could not connect to Redis")]
    Redis(#[from] redis::RedisError),
    #[error("could not set up the event bus")]
    Bus(#[source] BoxError),
    #[error("the service host failed")]
    Host(#[from] HostError),
    #[error("could not install the signal handlers")]
    Signal(#[source] std::io::Error),
    #[error("the configuration is not usable")]
    Config(#[source] BoxError),
}

impl StartError {
    pub fn bus(error: impl Into<BoxError>) -> Self {
        Self::Bus(error.into())
    }

    pub fn config(error: impl Into<BoxError>) -> Self {
        Self::Config(error.into())
    }
}

/// A built service: its listeners and its background tasks, ready to run.
#[derive(Debug)]
pub struct ServiceApp {
    pub host: ServiceHost,
    pub tasks: BackgroundTasks,
}

impl ServiceApp {
    pub fn new(host: ServiceHost) -> Self {
        Self { host, tasks: BackgroundTasks::new() }
    }

    /// Serves until `shutdown` is cancelled, then drains (see [`ServiceHost::run`]).
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), HostError> {
        self.host.run(self.tasks, shutdown).await
    }
}

/// What a Floodgate service binary is: its names, its configuration, how to migrate its database
/// and how to build it. `main` is then `floodgate_runtime::main::<TheService>()`.
pub trait Service {
    /// Short name: logs, metrics, consumer groups ("booking").
    const NAME: &'static str;
    /// The binary ("floodgate-booking").
    const BINARY: &'static str;
    /// One line for `--help`.
    const ABOUT: &'static str;
    type Config: clap::Args + Send + 'static;

    fn server(config: &Self::Config) -> &ServerArgs;
    /// Applies the service's migrations (a no-op for services without a database).
    fn migrate(config: &Self::Config) -> impl Future<Output = Result<(), StartError>> + Send;
    /// Binds listeners and prepares background tasks; the host runs them.
    fn build(config: Self::Config, metrics: Metrics) -> impl Future<Output = Result<ServiceApp, StartError>> + Send;
}

/// The whole life of a service process: parse the command line (serve, or `migrate`), install
/// telemetry and the SIGTERM/SIGINT handler, build, run, and exit with one clear message.
pub async fn main<S: Service>() -> ExitCode {
    let cli = ServiceCli::<S::Config>::parse_for(S::BINARY, S::ABOUT);
    let server = S::server(&cli.config).clone();
    let config = cli.config;
    run_with_telemetry(S::NAME, &server, |metrics| async move {
        match cli.command {
            Some(ServiceCommand::Migrate) => S::migrate(&config).await,
            None => {
                let shutdown = shutdown_on_signal().map_err(StartError::Signal)?;
                let app = S::build(config, metrics).await?;
                app.run(shutdown).await?;
                Ok(())
            }
        }
    })
    .await
}

async fn run_with_telemetry<F, Fut>(service: &'static str, server: &ServerArgs, body: F) -> ExitCode
where
    F: FnOnce(Metrics) -> Fut,
    Fut: Future<Output = Result<(), StartError>>,
{
    let telemetry = match Telemetry::init(&server.telemetry(service)) {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("floodgate-{service}: {}", error_chain(&error));
            return ExitCode::from(2);
        }
    };
    let result = body(telemetry.metrics()).await;
    let code = match &result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %error_chain(error), "floodgate-{service} failed");
            eprintln!("floodgate-{service}: {}", error_chain(error));
            ExitCode::FAILURE
        }
    };
    telemetry.shutdown();
    code
}
