//! What keeps the gateway standing in an on-sale: a request id on every request and answer;
//! CORS for the allowed web origins only; a per-address rate limit (429 + `Retry-After`), shared by
//! every replica through Redis; and a cap on requests in flight — beyond it new requests are shed
//! at once with 503 + `Retry-After` instead of queueing until everything times out. A quarter of
//! the cap is kept for buyers holding seats, checking out and paying (see [`Lane`]).

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
use opentelemetry::{KeyValue, metrics::Counter};
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
    /// Permits only the buying lane may take.
    buying_reserve: usize,
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
            buying_reserve: max_in_flight / 4,
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

/// Which requests the shedder keeps room for. A buyer who holds seats, checks out, pays, watches
/// their order or opens their tickets is the sale's revenue and holds its places: shed past their retries, they leave
/// seats locked for a hold's or a payment deadline's length (a stadium rehearsal left 6,000 places
/// so while waiting-room polls filled the gateway). Everyone else — waiting, joining, browsing,
/// reading the seat map — loses nothing by asking again a little later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    Buying,
    Waiting,
}

impl Lane {
    /// The lane of a request, by its path. (A made-up path into the buying lane gets a cheap 404.)
    pub fn of(path: &str) -> Self {
        let buying = path.starts_with("/v1/orders")
            || path.starts_with("/v1/tickets")
            || (path.starts_with("/v1/performances/") && path.contains("/holds"));
        if buying { Self::Buying } else { Self::Waiting }
    }

    /// Whether a request of this lane may start with `spare` permits left, `reserve` of them kept
    /// for buying. (Read then taken without a lock: a race costs one permit of the reserve.)
    fn may_start(self, spare: usize, reserve: usize) -> bool {
        match self {
            Self::Buying => spare > 0,
            Self::Waiting => spare > reserve,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Buying => "buying",
            Self::Waiting => "waiting",
        }
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
    let lane = Lane::of(request.uri().path());
    let permit = lane
        .may_start(protection.in_flight.available_permits(), protection.buying_reserve)
        .then(|| protection.in_flight.clone().try_acquire_owned().ok())
        .flatten();
    let Some(_permit) = permit else {
        protection.shed.add(1, &[KeyValue::new("lane", lane.as_str())]);
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
    fn holds_checkout_payment_and_orders_ride_the_buying_lane() {
        for path in [
            "/v1/performances/p-1/holds",
            "/v1/performances/p-1/holds/best-available",
            "/v1/performances/p-1/holds/h-1/checkout",
            "/v1/orders/o-1",
            "/v1/orders/o-1/payment",
            "/v1/orders/o-1/payment/approve",
            "/v1/tickets",
        ] {
            assert_eq!(Lane::of(path), Lane::Buying, "{path}");
        }
        for path in [
            "/v1/performances/p-1/queue",
            "/v1/performances/p-1/queue/e-1",
            "/v1/performances/p-1/seat-map",
            "/v1/events",
            "/v1/sessions",
            "/v1/operator/performances/p-1/holds-report",
        ] {
            assert_eq!(Lane::of(path), Lane::Waiting, "{path}");
        }
    }

    #[test]
    fn the_reserve_is_for_buyers_only() {
        // 10 permits spare, 8 of them reserved.
        assert!(Lane::Waiting.may_start(10, 8));
        assert!(!Lane::Waiting.may_start(8, 8));
        assert!(Lane::Buying.may_start(8, 8));
        assert!(Lane::Buying.may_start(1, 8));
        assert!(!Lane::Buying.may_start(0, 8));
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
