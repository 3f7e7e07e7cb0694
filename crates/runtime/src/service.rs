//! The life of a service process, shared by every `main`: telemetry, the shutdown signal,
//! building the app, running it, and turning failures into one clear message and an exit code.

use std::process::ExitCode;

use floodgate_telemetry::{Metrics, Telemetry};
use tokio_util::sync::CancellationToken;

use crate::{BackgroundTasks, HostError, ServiceHost, config::ServerArgs, shutdown_on_signal};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("could not set up the database pool")]
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
}

impl StartError {
    pub fn bus(error: impl Into<BoxError>) -> Self {
        Self::Bus(error.into())
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

/// Runs a service until SIGTERM/SIGINT. `build` gets the metrics handle `/metrics` renders.
pub async fn serve<F, Fut>(service: &'static str, server: &ServerArgs, build: F) -> ExitCode
where
    F: FnOnce(Metrics) -> Fut,
    Fut: Future<Output = Result<ServiceApp, StartError>>,
{
    run_with_telemetry(service, server, |metrics| async move {
        let shutdown = shutdown_on_signal().map_err(StartError::Signal)?;
        let app = build(metrics).await?;
        app.run(shutdown).await?;
        Ok(())
    })
    .await
}

/// Runs a one-off command (e.g. `migrate`) with telemetry, reporting failure the same way.
pub async fn run_once<Fut>(service: &'static str, server: &ServerArgs, command: Fut) -> ExitCode
where
    Fut: Future<Output = Result<(), StartError>>,
{
    run_with_telemetry(service, server, |_| command).await
}

async fn run_with_telemetry<F, Fut>(service: &'static str, server: &ServerArgs, body: F) -> ExitCode
where
    F: FnOnce(Metrics) -> Fut,
    Fut: Future<Output = Result<(), StartError>>,
{
    let telemetry = match Telemetry::init(&server.telemetry(service)) {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("floodgate-{service}: {}", chain(&error));
            return ExitCode::from(2);
        }
    };
    let result = body(telemetry.metrics()).await;
    let code = match &result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %chain(error), "floodgate-{service} failed");
            eprintln!("floodgate-{service}: {}", chain(error));
            ExitCode::FAILURE
        }
    };
    telemetry.shutdown();
    code
}

/// `error: cause: cause`.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
