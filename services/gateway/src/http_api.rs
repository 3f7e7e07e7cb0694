//! The public HTTP API. Every route is under `/v1`; unknown routes and oversized bodies get the
//! standard error envelope; every request is bounded in size and time.

use std::{sync::Arc, time::Duration};

use axum::{
    Json, Router,
    extract::{Request, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::json;
use tower_http::{
    classify::ServerErrorsFailureClass,
    limit::RequestBodyLimitLayer,
    timeout::TimeoutLayer,
    trace::{DefaultMakeSpan, TraceLayer},
};

use crate::{ApiError, accounts::AccountsApi, upstream::Upstreams};

mod accounts;
mod browse;
mod live;
mod onsale;
mod operator;
mod paging;
pub mod protection;
pub mod recent_maps;
pub mod routes;
mod scope;
mod setup;
pub mod views;

/// Larger bodies are refused with 413 before a handler runs.
pub const BODY_LIMIT: usize = 64 * 1024;
/// An oversized body up to this size is read and thrown away before answering 413, so the
/// client reads the answer instead of a connection reset; larger ones just get the connection
/// closed.
const DRAIN_LIMIT: usize = 1024 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What every handler reads, behind one `Arc`: axum clones the state for each middleware and
/// extractor of every request, and cloning the parts themselves (gRPC channels, Redis handles,
/// keys and strings) was the largest CPU cost of the gateway in a stadium burst.
#[derive(Debug, Clone)]
pub struct ApiState(Arc<ApiParts>);

#[derive(Debug)]
pub struct ApiParts {
    pub upstreams: Upstreams,
    pub accounts: AccountsApi,
    pub protection: protection::Protection,
    pub live: crate::live::LiveHub,
    /// Compact seat maps served in the last second.
    pub recent_maps: recent_maps::RecentMaps,
}

impl From<ApiParts> for ApiState {
    fn from(parts: ApiParts) -> Self {
        Self(Arc::new(parts))
    }
}

impl std::ops::Deref for ApiState {
    type Target = ApiParts;

    fn deref(&self) -> &ApiParts {
        &self.0
    }
}

/// Every public route, documented (the router and `/openapi.json` are built from this).
pub fn api() -> routes::Api {
    let api = routes::Api::default()
        .get(
            "/v1/platform/status",
            "Whether every upstream service is serving",
            routes::Access::Public,
            platform_status,
        )
        .get("/openapi.json", "This document", routes::Access::Public, openapi_json)
        .get("/docs", "Swagger UI for this API", routes::Access::Public, docs);
    let api = browse::register(onsale::register(accounts::register(api)));
    setup::register(operator::register(live::register(api)))
}

async fn openapi_json() -> Response {
    let (_, docs) = api().into_parts();
    Json(routes::openapi(&docs)).into_response()
}

/// Swagger UI (its assets come from the unpkg CDN; the document is ours).
async fn docs() -> Response {
    axum::response::Html(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Floodgate API</title>\
         <link rel=\"stylesheet\" href=\"https://unpkg.com/swagger-ui-dist@5/swagger-ui.css\"></head>\
         <body><div id=\"ui\"></div><script src=\"https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js\"></script>\
         <script>SwaggerUIBundle({url: '/openapi.json', dom_id: '#ui'});</script></body></html>",
    )
    .into_response()
}

pub fn router(state: ApiState) -> Router {
    let (routes, _) = api().into_parts();
    routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Innermost first: rate limits and shedding, CORS, then the size and time limits, the
        // envelope over whatever they answered, and the request id around everything.
        .layer(axum::middleware::from_fn_with_state(state.clone(), protection::guard))
        .layer(axum::middleware::from_fn_with_state(state.clone(), protection::cors))
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, REQUEST_TIMEOUT))
        .layer(axum::middleware::map_response(envelope_for_layer_errors))
        .layer(axum::middleware::from_fn(refuse_declared_oversized))
        // INFO, so request spans exist (and are exported) at the default log level.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(tracing::Level::INFO))
                .on_failure(log_failure),
        )
        .layer(axum::middleware::from_fn(protection::request_id))
}

/// Server errors in the request log. A 503 is an overload answer (shed, timed out, an upstream
/// away): expected in a burst, counted by the shedder, so it logs at DEBUG. At ERROR, a line per
/// shed request made overload worse: gigabytes of log in minutes, workers queued on stderr.
fn log_failure(failure: ServerErrorsFailureClass, latency: Duration, _span: &tracing::Span) {
    let latency_ms = latency.as_millis();
    match failure {
        ServerErrorsFailureClass::StatusCode(StatusCode::SERVICE_UNAVAILABLE) => {
            tracing::debug!(latency_ms, "service unavailable");
        }
        failure => tracing::error!(%failure, latency_ms, "response failed"),
    }
}

/// Whether every upstream service answers gRPC health with SERVING.
async fn platform_status(State(state): State<ApiState>) -> Response {
    let results = state.upstreams.health().await;
    let all_serving =
        results.iter().all(|(_, r)| matches!(r, Ok(tonic_health::pb::health_check_response::ServingStatus::Serving)));
    let services: Vec<_> = results
        .iter()
        .map(|(name, result)| match result {
            Ok(status) => json!({ "service": name, "status": status.as_str_name() }),
            Err(error) => json!({ "service": name, "status": "UNREACHABLE", "error": error.message() }),
        })
        .collect();
    let status = if all_serving { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(json!({ "services": services }))).into_response()
}

/// A body declared larger than the limit gets a clean 413 (see [`DRAIN_LIMIT`]).
async fn refuse_declared_oversized(request: Request, next: axum::middleware::Next) -> Response {
    let declared = request
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    match declared {
        Some(length) if length > BODY_LIMIT => {
            if length <= DRAIN_LIMIT {
                // Closing with unread data in the socket makes the kernel send a reset, which
                // the client may see before our answer.
                let _ = axum::body::to_bytes(request.into_body(), DRAIN_LIMIT).await;
            }
            ApiError::BodyTooLarge { limit: BODY_LIMIT }.into_response()
        }
        _ => next.run(request).await,
    }
}

async fn not_found(request: Request) -> ApiError {
    ApiError::NotFound { method: request.method().to_string(), path: request.uri().path().to_owned() }
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::MethodNotAllowed { method: request.method().to_string(), path: request.uri().path().to_owned() }
}

/// tower-http answers an oversized body (413) or a timeout (503) with a bare status; give those
/// the standard envelope.
async fn envelope_for_layer_errors(response: Response) -> Response {
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json(&response) {
        return ApiError::BodyTooLarge { limit: BODY_LIMIT }.into_response();
    }
    if response.status() == StatusCode::SERVICE_UNAVAILABLE && !is_json(&response) {
        return ApiError::Timeout.into_response();
    }
    response
}

fn is_json(response: &Response) -> bool {
    response.headers().get(http::header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
}
