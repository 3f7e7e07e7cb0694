//! What keeps the gateway standing in an on-sale: a request id on every request and answer;
//! CORS for the allowed web origins only; a per-address rate limit (429 + `Retry-After`), shared by
//! every replica through Redis; and a cap on requests in flight — beyond it new requests are shed
//! at once with 503 + `Retry-After` instead of queueing until everything times out.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use axum::{
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use opentelemetry::metrics::Counter;
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
    /// Peers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Arc<Vec<IpAddr>>,
    /// Requests shed: counted, not logged one by one (a burst sheds thousands a second).
    shed: Counter<u64>,
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
            trusted_proxies: Arc::new(Vec::new()),
            shed: opentelemetry::global::meter("floodgate-gateway")
                .u64_counter("floodgate.gateway.shed")
                .with_description("Requests refused with 503 OVERLOADED because too many were in flight")
                .build(),
        }
    }

    /// Trusts these load balancers' `X-Forwarded-For`.
    pub fn behind(self, trusted_proxies: Vec<IpAddr>) -> Self {
        Self { trusted_proxies: Arc::new(trusted_proxies), ..self }
    }
}

/// The client's address: the peer's, or — when the peer is a trusted proxy — the rightmost
/// `X-Forwarded-For` entry that is not one (entries further left are the client's own claims).
fn client_address(trusted_proxies: &[IpAddr], peer: Option<IpAddr>, forwarded_for: Option<&str>) -> Option<IpAddr> {
    let trusted = |ip: &IpAddr| trusted_proxies.contains(ip);
    let peer = peer?;
    if !trusted(&peer) {
        return Some(peer);
    }
    let hops: Vec<&str> = forwarded_for.into_iter().flat_map(|v| v.split(',')).map(str::trim).collect();
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else { break };
        client = ip;
        if !trusted(&ip) {
            break;
        }
    }
    Some(client)
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
pub async fn guard(State(state): State<ApiState>, mut request: Request, next: Next) -> Response {
    let protection = &state.protection;
    let peer = request.extensions().get::<axum::extract::ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
    let forwarded = request.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
    let address = client_address(&protection.trusted_proxies, peer, forwarded)
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    // Handlers with their own limits (logins, codes) read the same address.
    request.extensions_mut().insert(ClientAddress(address.clone()));
    let Ok(_permit) = protection.in_flight.clone().try_acquire_owned() else {
        protection.shed.add(1, &[]);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        let balancer = [ip("10.0.0.1")];
        let from = |peer: &str, header: Option<&str>| client_address(&balancer, Some(ip(peer)), header);
        assert_eq!(from("10.0.0.1", Some("203.0.113.7")), Some(ip("203.0.113.7")));
        // A client's own claims sit left of the address the balancer saw.
        assert_eq!(from("10.0.0.1", Some("1.1.1.1, 203.0.113.7")), Some(ip("203.0.113.7")));
        // Anyone else's header is ignored.
        assert_eq!(from("198.51.100.2", Some("203.0.113.7")), Some(ip("198.51.100.2")));
        // Garbage stops the walk at the last address that parsed.
        assert_eq!(from("10.0.0.1", Some("nonsense")), Some(ip("10.0.0.1")));
        assert_eq!(from("10.0.0.1", None), Some(ip("10.0.0.1")));
        assert_eq!(client_address(&balancer, None, Some("203.0.113.7")), None);
    }
}
