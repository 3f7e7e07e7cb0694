//! W3C trace context across process boundaries: gRPC metadata and Kafka headers.
//!
//! The outgoing side captures the current span's context as `traceparent`/`tracestate`
//! strings; the incoming side turns them back into a parent for the handler's span. Both use
//! the global propagator installed by [`crate::Telemetry::init`] (W3C TraceContext).

use std::collections::HashMap;

use opentelemetry::{
    Context,
    propagation::{Extractor, Injector},
};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The two W3C headers, as strings, of a span's context. Empty when there is no active trace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceHeaders {
    pub traceparent: String,
    pub tracestate: String,
}

impl TraceHeaders {
    /// The context of the current `tracing` span.
    pub fn current() -> Self {
        Self::of(&tracing::Span::current().context())
    }

    pub fn of(cx: &Context) -> Self {
        let mut map = HashMap::new();
        opentelemetry::global::get_text_map_propagator(|p| p.inject_context(cx, &mut map));
        Self {
            traceparent: map.remove("traceparent").unwrap_or_default(),
            tracestate: map.remove("tracestate").unwrap_or_default(),
        }
    }

    /// The remote parent these headers describe (an empty context when they are empty or bad).
    pub fn context(&self) -> Context {
        let mut map = HashMap::new();
        if !self.traceparent.is_empty() {
            map.insert("traceparent".to_owned(), self.traceparent.clone());
        }
        if !self.tracestate.is_empty() {
            map.insert("tracestate".to_owned(), self.tracestate.clone());
        }
        opentelemetry::global::get_text_map_propagator(|p| p.extract(&map))
    }

    /// Makes `span` a child of the remote operation these headers describe.
    pub fn adopt(&self, span: &tracing::Span) {
        if !self.traceparent.is_empty() {
            // Fails only when the span is disabled; then there is nothing to parent.
            let _ = span.set_parent(self.context());
        }
    }
}

/// Reads trace context from HTTP/gRPC request headers.
#[derive(Debug)]
pub struct HeaderExtractor<'a>(pub &'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct MetadataInjector<'a>(&'a mut tonic::metadata::MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (
            tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
            tonic::metadata::MetadataValue::try_from(value.as_str()),
        ) {
            self.0.insert(key, value);
        }
    }
}

/// A span for an incoming gRPC request, parented on the caller's trace context. Plug into
/// `tonic::transport::Server::builder().trace_fn(grpc_server_span)`.
pub fn grpc_server_span(request: &http::Request<()>) -> tracing::Span {
    let span = tracing::info_span!("grpc.request", rpc = %request.uri().path(), otel.kind = "server");
    let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(request.headers())));
    let _ = span.set_parent(parent);
    span
}

/// A tonic client interceptor that sends the current span's trace context to the server.
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceContextInterceptor;

impl tonic::service::Interceptor for TraceContextInterceptor {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let cx = tracing::Span::current().context();
        opentelemetry::global::get_text_map_propagator(|p| {
            p.inject_context(&cx, &mut MetadataInjector(request.metadata_mut()));
        });
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState};
    use opentelemetry_sdk::propagation::TraceContextPropagator;

    use super::*;

    #[test]
    fn trace_headers_round_trip_a_remote_span_context() {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let span_context = SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").expect("trace id"),
            SpanId::from_hex("00f067aa0ba902b7").expect("span id"),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        let cx = Context::new().with_remote_span_context(span_context.clone());

        let headers = TraceHeaders::of(&cx);
        assert_eq!(headers.traceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");

        let back = headers.context();
        assert_eq!(back.span().span_context().trace_id(), span_context.trace_id());
        assert_eq!(back.span().span_context().span_id(), span_context.span_id());
    }

    /// Runs `body` under a subscriber that records spans into OpenTelemetry, like production.
    fn with_otel_subscriber<T>(body: impl FnOnce() -> T) -> T {
        use opentelemetry::trace::TracerProvider as _;
        use tracing_subscriber::layer::SubscriberExt as _;
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let subscriber =
            tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, body)
    }

    const REMOTE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn an_adopted_remote_parent_is_what_the_next_hop_receives() {
        let outgoing = with_otel_subscriber(|| {
            let span = tracing::info_span!("handle");
            TraceHeaders { traceparent: REMOTE.into(), tracestate: String::new() }.adopt(&span);
            let _entered = span.enter();
            TraceHeaders::current()
        });
        // Same trace, new span id: this process's span is the child.
        assert!(outgoing.traceparent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"), "{outgoing:?}");
        assert!(!outgoing.traceparent.contains("00f067aa0ba902b7"), "{outgoing:?}");
    }

    #[test]
    fn grpc_calls_carry_the_current_trace_in_metadata() {
        use tonic::service::Interceptor as _;
        let request = with_otel_subscriber(|| {
            let span = tracing::info_span!("client");
            TraceHeaders { traceparent: REMOTE.into(), tracestate: String::new() }.adopt(&span);
            let _entered = span.enter();
            TraceContextInterceptor.call(tonic::Request::new(())).expect("interceptor never fails")
        });
        let sent = request.metadata().get("traceparent").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(sent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"), "{sent:?}");

        // And the server side turns it back into the parent of its span.
        let mut http_request = http::Request::new(());
        *http_request.headers_mut() = request.metadata().clone().into_headers();
        let server_trace = with_otel_subscriber(|| {
            let span = grpc_server_span(&http_request);
            let _entered = span.enter();
            TraceHeaders::current()
        });
        assert!(server_trace.traceparent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"), "{server_trace:?}");
    }

    #[test]
    fn empty_or_malformed_headers_give_no_parent() {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let bad = TraceHeaders { traceparent: "00-zz-yy-01".into(), tracestate: String::new() };
        assert!(!bad.context().span().span_context().is_valid());
        assert!(!TraceHeaders::default().context().span().span_context().is_valid());
    }
}
