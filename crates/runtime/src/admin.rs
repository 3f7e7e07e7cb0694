//! The admin HTTP server: `/healthz` (the process is alive), `/readyz` (its dependencies answer
//! and it is not draining) and `/metrics` (Prometheus text). It stays up until the very end of
//! shutdown so orchestrators can watch the drain.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use floodgate_telemetry::Metrics;
use serde_json::json;

use crate::Readiness;

#[derive(Clone)]
pub(crate) struct AdminState {
    pub service: &'static str,
    pub readiness: Readiness,
    pub metrics: Metrics,
    /// Set when shutdown begins: `/readyz` answers 503 from then on.
    pub draining: Arc<AtomicBool>,
}

pub(crate) fn router(state: AdminState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn healthz(State(state): State<AdminState>) -> impl IntoResponse {
    Json(json!({ "status": "alive", "service": state.service }))
}

async fn readyz(State(state): State<AdminState>) -> impl IntoResponse {
    let results = state.readiness.run().await;
    let draining = state.draining.load(Ordering::Acquire);
    let ready = !draining && results.iter().all(|r| r.result.is_ok());
    let checks: Vec<_> = results
        .iter()
        .map(|r| match &r.result {
            Ok(()) => json!({ "name": r.name, "ok": true }),
            Err(e) => json!({ "name": r.name, "ok": false, "error": e.0 }),
        })
        .collect();
    let status = if draining {
        "draining"
    } else if ready {
        "ready"
    } else {
        "not_ready"
    };
    let code = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(json!({ "status": status, "service": state.service, "checks": checks })))
}

async fn metrics(State(state): State<AdminState>) -> impl IntoResponse {
    ([(http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render())
}
