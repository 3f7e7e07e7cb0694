//! gRPC channels to the other services. Channels connect lazily and reconnect by themselves, so
//! the gateway starts (and reports itself) even while an upstream is down; every call carries the
//! caller's trace context.

use std::time::Duration;

use floodgate_telemetry::propagation::TraceContextInterceptor;
use tonic::{
    service::interceptor::InterceptedService,
    transport::{Channel, Endpoint},
};
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

use crate::config;

#[derive(Debug, thiserror::Error)]
#[error("invalid upstream URL for {service}: {url}")]
pub struct UpstreamUrlError {
    service: &'static str,
    url: String,
    #[source]
    source: tonic::transport::Error,
}

/// One channel per upstream service.
#[derive(Debug, Clone)]
pub struct Upstreams {
    channels: Vec<(&'static str, Channel)>,
}

impl Upstreams {
    pub fn connect_lazy(config: &config::Upstreams) -> Result<Self, UpstreamUrlError> {
        let channels = config
            .all()
            .into_iter()
            .map(|(service, url)| {
                let endpoint = Endpoint::from_shared(url.to_string())
                    .map_err(|source| UpstreamUrlError { service, url: url.to_string(), source })?
                    .connect_timeout(Duration::from_secs(1))
                    .timeout(Duration::from_secs(2))
                    .tcp_nodelay(true);
                Ok((service, endpoint.connect_lazy()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { channels })
    }

    /// `grpc.health.v1.Health/Check` on every upstream, concurrently.
    pub async fn health(&self) -> Vec<(&'static str, Result<ServingStatus, tonic::Status>)> {
        futures::future::join_all(self.channels.iter().map(|(service, channel)| async move {
            let mut client = HealthClient::new(InterceptedService::new(channel.clone(), TraceContextInterceptor));
            let answer = client
                .check(HealthCheckRequest { service: String::new() })
                .await
                .map(|response| response.into_inner().status());
            (*service, answer)
        }))
        .await
    }
}
