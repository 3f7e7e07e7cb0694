//! The buyers' side of the wire: the gateway's public HTTP API and its WebSocket, as a browser or
//! the app uses them, and the simulated provider's checkout page the browser is sent to.

use std::{sync::Arc, time::Duration};

use futures::StreamExt as _;
use serde_json::Value;
use tokio::sync::Semaphore;

/// A connection to one gateway, shared by every buyer of a run (its pool is the "internet").
#[derive(Debug, Clone)]
pub struct Gateway {
    base: String,
    http: reqwest::Client,
    /// The browser at the provider's page: redirects are read, not followed.
    browser: reqwest::Client,
    /// Requests in flight at once, each on its own connection. A spike of 60,000 browsers would
    /// be 60,000 sockets; on one box the kit and the gateway share the descriptor limit, and
    /// running out shows up as connection errors that say nothing about the platform. Requests
    /// beyond the cap wait here — timed from their intended send, so the wait is in the latency.
    connections: Arc<Semaphore>,
}

/// Requests the kit has in flight at once (see [`Gateway::connections`]).
pub const MAX_CONNECTIONS: usize = 6000;

/// Who is calling: a buyer's access token and the address they appear from. The rehearsal runs
/// the gateway behind "a load balancer" (itself, on loopback) so each buyer has its own address,
/// as a real crowd does, and per-address limits count buyers rather than the load generator.
#[derive(Debug, Clone, Default)]
pub struct Session {
    pub token: Option<String>,
    pub address: String,
}

impl Session {
    /// A distinct private address per buyer index.
    pub fn anonymous(index: u32) -> Self {
        let [_, a, b, c] = index.to_be_bytes();
        Self { token: None, address: format!("10.{a}.{b}.{c}") }
    }
}

/// An answer from the gateway.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    /// The `Retry-After` header of a shed or rate-limited answer.
    pub retry_after: Option<Duration>,
}

impl Reply {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The API's stable error code, or `HTTP_<status>` when the body has none.
    pub fn code(&self) -> String {
        self.body["code"].as_str().map_or_else(|| format!("HTTP_{}", self.status), str::to_owned)
    }

    pub fn text(&self, field: &str) -> Option<String> {
        self.body[field].as_str().map(str::to_owned)
    }

    /// Whether trying again later can help (shed, rate-limited, upstream briefly away).
    pub fn transient(&self) -> bool {
        matches!(self.status, 429 | 502 | 503 | 504)
    }

    /// Refused before any handler ran (shed or rate-limited): sending it again cannot repeat
    /// anything.
    pub fn unhandled(&self) -> bool {
        self.status == 429 || (self.status == 503 && self.code() == "OVERLOADED")
    }

    /// How long the gateway asked to wait: the `Retry-After` header, else the body's field.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after.or_else(|| self.body["retry_after_seconds"].as_u64().map(Duration::from_secs))
    }
}

/// No answer: the operation's outcome is unknown (it may have happened).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("no answer in time")]
    Timeout,
    #[error("connection failed: {0}")]
    Connection(String),
}

impl WireError {
    pub fn code(&self) -> &'static str {
        match self {
            WireError::Timeout => "TIMEOUT",
            WireError::Connection(_) => "CONNECTION",
        }
    }

    fn from_reqwest(error: &reqwest::Error) -> Self {
        if error.is_timeout() { WireError::Timeout } else { WireError::Connection(error.to_string()) }
    }
}

impl Gateway {
    pub fn new(base: &str, timeout: Duration) -> Result<Self, reqwest::Error> {
        let build = |redirects: reqwest::redirect::Policy| {
            reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(Duration::from_secs(5))
                .pool_max_idle_per_host(4096)
                .tcp_nodelay(true)
                .redirect(redirects)
                .build()
        };
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            http: build(reqwest::redirect::Policy::limited(5))?,
            browser: build(reqwest::redirect::Policy::none())?,
            connections: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub async fn call(
        &self,
        session: &Session,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, WireError> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &session.token {
            request = request.bearer_auth(token);
        }
        if !session.address.is_empty() {
            request = request.header("x-forwarded-for", &session.address);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let _connection = self.connections.acquire().await.map_err(|e| WireError::Connection(e.to_string()))?;
        let response = request.send().await.map_err(|e| WireError::from_reqwest(&e))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = response.bytes().await.map_err(|e| WireError::from_reqwest(&e))?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Reply { status, body, retry_after })
    }

    pub async fn get(&self, session: &Session, path: &str) -> Result<Reply, WireError> {
        self.call(session, reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, session: &Session, path: &str, body: &Value) -> Result<Reply, WireError> {
        self.call(session, reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, session: &Session, path: &str, body: &Value) -> Result<Reply, WireError> {
        self.call(session, reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, session: &Session, path: &str) -> Result<Reply, WireError> {
        self.call(session, reqwest::Method::DELETE, path, None).await
    }

    /// A raw GET (the seat map in its compact protobuf form): status and body size.
    pub async fn fetch(&self, session: &Session, path: &str, accept: &str) -> Result<(u16, usize), WireError> {
        let mut request = self.http.get(format!("{}{path}", self.base)).header("accept", accept);
        if let Some(token) = &session.token {
            request = request.bearer_auth(token);
        }
        request = request.header("x-forwarded-for", &session.address);
        let _connection = self.connections.acquire().await.map_err(|e| WireError::Connection(e.to_string()))?;
        let response = request.send().await.map_err(|e| WireError::from_reqwest(&e))?;
        let status = response.status().as_u16();
        let size = response.bytes().await.map_err(|e| WireError::from_reqwest(&e))?.len();
        Ok((status, size))
    }

    /// Presses "approve" on the provider's checkout page (the pre-filled amount) and returns where
    /// the page sends the browser: the merchant's approve URL with `pg_token`, or its fail URL.
    pub async fn approve_at_provider(&self, redirect_url: &str, amount_minor: i64) -> Result<Landing, WireError> {
        let response = self
            .browser
            .post(format!("{redirect_url}/approve"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("amount={amount_minor}"))
            .send()
            .await
            .map_err(|e| WireError::from_reqwest(&e))?;
        let location = response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default();
        Ok(Landing::from_location(location))
    }

    /// Follows a waiting-room entry over the WebSocket until an admission token arrives (or the
    /// entry ends, or `patience` runs out). `Ok(None)`: not admitted.
    pub async fn follow_live(
        &self,
        session: &Session,
        performance: &str,
        entry: &str,
        patience: Duration,
    ) -> Result<Option<String>, WireError> {
        use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest as _, http::HeaderValue};
        let url = format!("{}/v1/performances/{performance}/queue/{entry}/live", self.base.replacen("http", "ws", 1));
        let mut request = url.into_client_request().map_err(|e| WireError::Connection(e.to_string()))?;
        let header = |value: String| HeaderValue::from_str(&value).map_err(|e| WireError::Connection(e.to_string()));
        request
            .headers_mut()
            .insert("authorization", header(format!("Bearer {}", session.token.clone().unwrap_or_default()))?);
        request.headers_mut().insert("x-forwarded-for", header(session.address.clone())?);
        let follow = async {
            let (mut socket, _) =
                tokio_tungstenite::connect_async(request).await.map_err(|e| WireError::Connection(e.to_string()))?;
            while let Some(message) = socket.next().await {
                let Message::Text(text) = message.map_err(|e| WireError::Connection(e.to_string()))? else { continue };
                let position: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                if let Some(token) = position["admission_token"].as_str() {
                    return Ok(Some(token.to_owned()));
                }
                if matches!(position["status"].as_str(), Some("expired" | "left" | "closed" | "sold_out")) {
                    return Ok(None);
                }
            }
            Err(WireError::Connection("the waiting room closed the connection".into()))
        };
        tokio::time::timeout(patience, follow).await.unwrap_or(Ok(None))
    }
}

/// Where the provider's page sent the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Landing {
    Approved { pg_token: String },
    Declined,
}

impl Landing {
    fn from_location(location: &str) -> Self {
        let query = location.split_once('?').map_or("", |(_, q)| q);
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix("pg_token="))
            .map_or(Landing::Declined, |token| Landing::Approved { pg_token: token.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_landing_page_says_approved_only_with_a_token() {
        assert_eq!(
            Landing::from_location("https://r.invalid/paid?tid=T1&pg_token=pg_9"),
            Landing::Approved { pg_token: "pg_9".into() }
        );
        assert_eq!(Landing::from_location("https://r.invalid/fail?tid=T1&code=DECLINED"), Landing::Declined);
        assert_eq!(Landing::from_location(""), Landing::Declined);
    }

    #[test]
    fn buyers_appear_from_distinct_addresses() {
        assert_eq!(Session::anonymous(1).address, "10.0.0.1");
        assert_eq!(Session::anonymous(70_000).address, "10.1.17.112");
        assert_ne!(Session::anonymous(256).address, Session::anonymous(1).address);
    }

    #[test]
    fn replies_name_their_error_code() {
        let reply = Reply { status: 409, body: serde_json::json!({"code": "SEAT_TAKEN"}), retry_after: None };
        assert_eq!((reply.code(), reply.ok(), reply.transient()), ("SEAT_TAKEN".into(), false, false));
        let shed = Reply { status: 503, body: Value::Null, retry_after: Some(Duration::from_secs(2)) };
        assert_eq!((shed.code(), shed.transient()), ("HTTP_503".into(), true));
        assert_eq!(shed.retry_after(), Some(Duration::from_secs(2)));
        let limited = Reply { status: 429, body: serde_json::json!({"retry_after_seconds": 7}), retry_after: None };
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(7)));
    }
}
