//! Metrics through OpenTelemetry, read out as Prometheus text for `/metrics`.
//!
//! Instruments are created from the global meter provider (`opentelemetry::global::meter`), so
//! any crate can record without threading a handle through; this module owns the one reader.

use std::sync::Arc;

use opentelemetry_sdk::{Resource, metrics::SdkMeterProvider};
use prometheus::{Encoder as _, TextEncoder};

use crate::TelemetryError;

/// A handle on the process's metrics; cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    registry: prometheus::Registry,
    provider: Arc<SdkMeterProvider>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    pub(crate) fn install(resource: Resource) -> Result<Self, TelemetryError> {
        let metrics = Self::new(resource)?;
        opentelemetry::global::set_meter_provider((*metrics.provider).clone());
        Ok(metrics)
    }

    /// A meter provider with its own registry, not installed globally (for tests).
    pub fn new(resource: Resource) -> Result<Self, TelemetryError> {
        let registry = prometheus::Registry::new();
        let exporter = opentelemetry_prometheus::exporter()
            .with_registry(registry.clone())
            .build()
            .map_err(TelemetryError::Prometheus)?;
        let provider = SdkMeterProvider::builder().with_reader(exporter).with_resource(resource).build();
        Ok(Self { registry, provider: Arc::new(provider) })
    }

    /// A meter provider of its own for `service`, not installed globally: for running a service
    /// in-process (tests) next to others.
    pub fn standalone(service: &'static str) -> Result<Self, TelemetryError> {
        Self::new(Resource::builder().with_service_name(service).build())
    }

    pub fn provider(&self) -> &SdkMeterProvider {
        &self.provider
    }

    /// Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(%error, "could not encode metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }

    pub(crate) fn shutdown(&self) {
        if let Err(error) = self.provider.shutdown() {
            tracing::debug!(%error, "meter provider shutdown");
        }
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::metrics::MeterProvider as _;

    use super::*;

    #[test]
    fn renders_recorded_counters_as_prometheus_text() {
        let metrics = Metrics::new(Resource::builder().with_service_name("test").build()).expect("metrics");
        let counter = metrics.provider().meter("test").u64_counter("floodgate.test.events").build();
        counter.add(3, &[opentelemetry::KeyValue::new("topic", "catalog")]);
        let text = metrics.render();
        assert!(text.contains("floodgate_test_events_total"), "{text}");
        assert!(text.contains("topic=\"catalog\""), "{text}");
        assert!(text.contains("} 3"), "{text}");
    }
}
