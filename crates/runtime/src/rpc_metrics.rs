//! Request metrics for the gRPC server: a count and a latency histogram per method and status,
//! following OpenTelemetry's RPC conventions (`rpc.server.duration`, seconds).
//!
//! Handler errors are trailers-only responses, so their `grpc-status` is already in the response
//! headers; a response without one is a success whose status follows in the trailers.

use std::{
    task::{Context, Poll},
    time::Instant,
};

use futures::future::BoxFuture;
use opentelemetry::{KeyValue, metrics::Histogram};

#[derive(Clone)]
pub(crate) struct RpcMetricsLayer {
    duration: Histogram<f64>,
}

impl RpcMetricsLayer {
    pub(crate) fn new(metrics: &floodgate_telemetry::Metrics) -> Self {
        use opentelemetry::metrics::MeterProvider as _;
        let duration = metrics
            .provider()
            .meter("floodgate-runtime")
            .f64_histogram("rpc.server.duration")
            .with_unit("s")
            .with_description("gRPC server call latency until response headers")
            .with_boundaries(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
            .build();
        Self { duration }
    }
}

impl<S> tower::Layer<S> for RpcMetricsLayer {
    type Service = RpcMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcMetrics { inner, duration: self.duration.clone() }
    }
}

#[derive(Clone)]
pub(crate) struct RpcMetrics<S> {
    inner: S,
    duration: Histogram<f64>,
}

impl<S, B, R> tower::Service<http::Request<B>> for RpcMetrics<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>> + Send,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = request.uri().path().to_owned();
        let started = Instant::now();
        let duration = self.duration.clone();
        let call = self.inner.call(request);
        Box::pin(async move {
            let response = call.await;
            let status = match &response {
                Ok(response) => grpc_status(response.headers()),
                Err(_) => "transport_error".to_owned(),
            };
            duration.record(
                started.elapsed().as_secs_f64(),
                &[KeyValue::new("rpc.method", method), KeyValue::new("rpc.grpc.status_code", status)],
            );
            response
        })
    }
}

fn grpc_status(headers: &http::HeaderMap) -> String {
    headers.get("grpc-status").and_then(|v| v.to_str().ok()).unwrap_or("0").to_owned()
}
