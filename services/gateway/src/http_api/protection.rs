//! What keeps the gateway standing in an on-sale: a request id on every request and answer;
//! CORS for the allowed web origins only; a per-address rate limit (429 + `Retry-After`), shared by
//! every replica through Redis; and a cap on requests in flight — beyond it new requests are shed
//! at once with 503 + `Retry-After` instead of queueing until everything times out.

use std::{sync::Arc, time::Duration};

use axum::{
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tokio::sync::Semaphore;

use super::ApiState;
use crate::{
    ApiError,
    accounts::limits::{Limits, Rule},
    auth::ClientAddress,
};

pub const REQUEST_ID: &str = "x-request-id";

/// The protection settings.
#[derive(Debug, Clone)]
pub struct Protection {
    pub limits: Limits,
    /// Requests per address per 10 s; `None` = off.
    pub per_address: Option<Rule>,
    pub in_flight: Arc<Semaphore>,
    pub cors_origins: Arc<Vec<String>>,
}

impl Protection {
    pub fn new(limits: Limits, per_address_per_10s: u64, max_in_flight: usize, cors_origins: Vec<String>) -> Self {
        let per_address = (per_address_per_10s > 0).then_some(Rule {
            name: "ip",
            max: per_address_per_10s,
            window: Duration::from_secs(10),
        });
        Self {
            limits,
            per_address,
            in_flight: Arc::new(Semaphore::new(max_in_flight)),
            cors_origins: Arc::new(cors_origins),
        }
    }
}

/// Keeps a sane incoming request id (or makes one) and returns it on the answer.
pub async fn request_id(mut request: Request, next: Next) -> Response {
    let incoming = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).filter(|id| {
        !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    let id = incoming.map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
    let value = HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    request.headers_mut().insert(REQUEST_ID, value.clone());
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = tracing::Instrument::instrument(next.run(request), span).await;
    response.headers_mut().insert(REQUEST_ID, value);
    response
}

/// Sheds load beyond the in-flight cap, limits each address, then runs the request.
pub async fn guard(
    State(state): State<ApiState>,
    ClientAddress(address): ClientAddress,
    request: Request,
    next: Next,
) -> Response {
    let protection = &state.protection;
    let Ok(_permit) = protection.in_flight.clone().try_acquire_owned() else {
        return ApiError::Overloaded.into_response();
    };
    if let Some(rule) = protection.per_address
        && let Err(refused) = protection.limits.enforce(rule, &address).await
    {
        return refused.into_response();
    }
    next.run(request).await
}

/// CORS for the configured origins only (credentials allowed: the web app uses cookies).
pub async fn cors(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let origin = request.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let allowed = origin.filter(|o| state.protection.cors_origins.iter().any(|a| a == o));
    let preflight =
        request.method() == Method::OPTIONS && request.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        if allowed.is_none() {
            return ApiError::Forbidden {
                code: "ORIGIN_NOT_ALLOWED",
                message: "this origin may not call the API".into(),
            }
            .into_response();
        }
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("origin"));
    if let Some(origin) = allowed.and_then(|o| HeaderValue::from_str(&o).ok()) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        if preflight {
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, PATCH, DELETE"));
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(
                    "authorization, content-type, idempotency-key, floodgate-admission, x-request-id",
                ),
            );
            headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        }
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("retry-after, x-request-id"));
    }
    response
}
