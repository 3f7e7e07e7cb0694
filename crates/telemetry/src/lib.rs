//! Logs, traces and metrics for every Floodgate service.
//!
//! One call, [`Telemetry::init`], installs: a `tracing` subscriber (pretty on a terminal, JSON
//! otherwise), an OpenTelemetry tracer exporting over OTLP when an endpoint is configured, the
//! W3C trace-context propagator, and a meter provider whose readings `/metrics` renders as
//! Prometheus text. Library code never reads the environment: the caller passes
//! [`TelemetryConfig`].

mod metrics;
pub mod propagation;

use std::io::IsTerminal;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::{Resource, propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

pub use metrics::Metrics;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Pretty when stderr is a terminal, JSON otherwise (files, journald, Kubernetes).
    #[default]
    Auto,
    Pretty,
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Self::Auto),
            "pretty" => Ok(Self::Pretty),
            "json" => Ok(Self::Json),
            other => Err(format!("unknown log format {other:?}; expected auto, pretty or json")),
        }
    }
}

/// What telemetry needs to know; built by each service's config from flags and environment.
#[derive(Debug, Clone)]
pub struct TelemetryConfig {
    /// `service.name` on traces and metrics, e.g. "booking".
    pub service_name: &'static str,
    pub log_format: LogFormat,
    /// An `EnvFilter` directive such as `info,floodgate_booking=debug`.
    pub log_filter: String,
    /// OTLP/gRPC collector endpoint; traces are exported only when set.
    pub otlp_endpoint: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("invalid log filter {filter:?}")]
    LogFilter {
        filter: String,
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    #[error("could not build the OTLP exporter for {endpoint}")]
    Otlp {
        endpoint: String,
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
    #[error("could not build the Prometheus exporter")]
    Prometheus(#[source] opentelemetry_sdk::error::OTelSdkError),
    #[error("a global tracing subscriber is already installed")]
    AlreadyInstalled(#[source] tracing_subscriber::util::TryInitError),
}

/// Installed telemetry. Keep it alive for the life of the process and call
/// [`Telemetry::shutdown`] last so buffered spans are flushed.
#[derive(Debug)]
pub struct Telemetry {
    tracer_provider: Option<SdkTracerProvider>,
    metrics: Metrics,
}

impl Telemetry {
    /// Installs the global subscriber, propagator and meter provider.
    pub fn init(config: &TelemetryConfig) -> Result<Self, TelemetryError> {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let resource = Resource::builder().with_service_name(config.service_name).build();

        let filter = EnvFilter::try_new(&config.log_filter)
            .map_err(|source| TelemetryError::LogFilter { filter: config.log_filter.clone(), source })?;
        let json = match config.log_format {
            LogFormat::Json => true,
            LogFormat::Pretty => false,
            LogFormat::Auto => !std::io::stderr().is_terminal(),
        };
        let fmt = if json {
            tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_writer(std::io::stderr)
                .boxed()
        } else {
            tracing_subscriber::fmt::layer().with_writer(std::io::stderr).boxed()
        };

        let tracer_provider = match &config.otlp_endpoint {
            Some(endpoint) => Some(otlp_tracer_provider(endpoint, resource.clone())?),
            None => None,
        };
        let otel = tracer_provider
            .as_ref()
            .map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer(config.service_name)));

        tracing_subscriber::registry()
            .with(filter)
            .with(fmt)
            .with(otel)
            .try_init()
            .map_err(TelemetryError::AlreadyInstalled)?;

        let metrics = Metrics::install(resource)?;
        Ok(Self { tracer_provider, metrics })
    }

    /// The Prometheus view of this process's metrics.
    pub fn metrics(&self) -> Metrics {
        self.metrics.clone()
    }

    /// Flushes and stops exporters. Errors are logged, not returned: at exit there is nobody
    /// left to handle them.
    pub fn shutdown(self) {
        if let Some(provider) = self.tracer_provider
            && let Err(error) = provider.shutdown()
        {
            tracing::warn!(%error, "trace exporter did not shut down cleanly");
        }
        self.metrics.shutdown();
    }
}

/// An error and every cause in its source chain, on one line (`error: cause: cause`) — for logs
/// and exit messages, where the chain would otherwise be lost.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Many errors already print their source in their own message; say it once.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn otlp_tracer_provider(endpoint: &str, resource: Resource) -> Result<SdkTracerProvider, TelemetryError> {
    use opentelemetry_otlp::WithExportConfig as _;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|source| TelemetryError::Otlp { endpoint: endpoint.to_owned(), source })?;
    Ok(SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_chain_keeps_every_cause() {
        #[derive(Debug, thiserror::Error)]
        #[error("outbox database error")]
        struct Outer(#[source] std::io::Error);
        let text = error_chain(&Outer(std::io::Error::other("connection reset")));
        assert_eq!(text, "outbox database error: connection reset");

        #[derive(Debug, thiserror::Error)]
        #[error("io error: {0}")]
        struct Repeats(#[source] std::io::Error);
        let text = error_chain(&Repeats(std::io::Error::other("refused")));
        assert_eq!(text, "io error: refused", "a cause the message already shows is not repeated");
    }

    #[test]
    fn log_format_parses_known_values_and_names_the_bad_one() {
        assert_eq!("json".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert_eq!("pretty".parse::<LogFormat>(), Ok(LogFormat::Pretty));
        let err = "yaml".parse::<LogFormat>().expect_err("must be rejected");
        assert!(err.contains("\"yaml\""), "{err}");
    }
}
