//! gRPC channels to the other services. Channels connect lazily and reconnect by themselves, so
//! the gateway starts (and reports itself) even while an upstream is down; every call carries the
//! caller's trace context.

use std::time::Duration;

use floodgate_proto::{
    booking::v1::booking_service_client::BookingServiceClient,
    catalog::v1::catalog_service_client::CatalogServiceClient,
    payment::v1::payment_service_client::PaymentServiceClient, queue::v1::queue_service_client::QueueServiceClient,
};
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

/// A channel whose calls carry the caller's trace context.
pub type Traced = InterceptedService<Channel, TraceContextInterceptor>;

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

    fn channel(&self, service: &str) -> Traced {
        let channel = self.channels.iter().find(|(name, _)| *name == service).map(|(_, c)| c.clone());
        // Every upstream is configured (see `config::Upstreams::all`).
        InterceptedService::new(
            channel.unwrap_or_else(|| Endpoint::from_static("http://127.0.0.1:1").connect_lazy()),
            TraceContextInterceptor,
        )
    }

    pub fn catalog(&self) -> CatalogServiceClient<Traced> {
        CatalogServiceClient::new(self.channel("catalog"))
    }

    pub fn queue(&self) -> QueueServiceClient<Traced> {
        QueueServiceClient::new(self.channel("queue"))
    }

    pub fn booking(&self) -> BookingServiceClient<Traced> {
        BookingServiceClient::new(self.channel("booking"))
    }

    pub fn payment(&self) -> PaymentServiceClient<Traced> {
        PaymentServiceClient::new(self.channel("payment"))
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
