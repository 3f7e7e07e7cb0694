//! Who is calling: the access token from `Authorization: Bearer …` or the `fg_access` cookie,
//! verified (see `domain::jwt`) before any handler that needs a caller runs. Also the JSON body
//! extractor that refuses unknown fields and answers malformed bodies with the error envelope.

use axum::{
    extract::{FromRequest, FromRequestParts, Request, rejection::JsonRejection},
    http::request::Parts,
};
use chrono::Utc;
use serde::de::DeserializeOwned;

use crate::{
    ApiError,
    domain::jwt::{AccessClaims, JwtError},
    http_api::ApiState,
};

pub const ACCESS_COOKIE: &str = "fg_access";
pub const REFRESH_COOKIE: &str = "fg_refresh";

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller(pub AccessClaims);

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let bearer = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
        let token = bearer.or_else(|| cookie(parts, ACCESS_COOKIE)).ok_or_else(|| ApiError::Unauthorized {
            code: "AUTHENTICATION_REQUIRED",
            message: "sign in first (an access token is required)".into(),
        })?;
        let claims =
            state.accounts.tokens.verify(token.trim(), Utc::now()).map_err(|error| ApiError::Unauthorized {
                code: if error == JwtError::Expired { "TOKEN_EXPIRED" } else { "INVALID_TOKEN" },
                message: error.to_string(),
            })?;
        Ok(Caller(claims))
    }
}

/// A JSON body whose type refuses unknown fields (`#[serde(deny_unknown_fields)]`): mass
/// assignment of `price`, `role` or `status` fails loudly instead of being half-applied.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

/// Whether any string (or key) in the JSON holds a NUL character. Nothing downstream stores NUL
/// (PostgreSQL text cannot), so it is refused at the door with a clear code.
fn value_has_nul(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(value_has_nul),
        serde_json::Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || value_has_nul(v)),
        _ => false,
    }
}

fn nul_refused() -> ApiError {
    ApiError::BadRequest { code: "INVALID_TEXT", message: "text must not contain NUL characters".into() }
}

/// The typed body from parsed JSON, refusing NUL characters.
fn strict<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    if value_has_nul(&value) {
        return Err(nul_refused());
    }
    serde_json::from_value(value).map_err(|e| ApiError::BadRequest { code: "INVALID_JSON", message: e.to_string() })
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<serde_json::Value>::from_request(request, state).await {
            Ok(axum::Json(value)) => strict(value).map(JsonBody),
            Err(JsonRejection::MissingJsonContentType(_)) => {
                Err(ApiError::BadRequest { code: "UNSUPPORTED_MEDIA_TYPE", message: "send application/json".into() })
            }
            Err(rejection) => Err(ApiError::BadRequest { code: "INVALID_JSON", message: rejection.body_text() }),
        }
    }
}

/// A JSON body that may be absent (cookie-based clients send none); when present it is as strict
/// as [`JsonBody`], but any content type is accepted since browsers' `sendBeacon` sends none.
#[derive(Debug, Clone)]
pub struct OptionalJsonBody<T>(pub Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let body = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|rejection| ApiError::BadRequest { code: "INVALID_BODY", message: rejection.body_text() })?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJsonBody(None));
        }
        let value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest { code: "INVALID_JSON", message: e.to_string() })?;
        strict(value).map(|value| OptionalJsonBody(Some(value)))
    }
}

/// Query-string parameters; malformed ones get the standard error envelope (axum's own `Query`
/// answers in plain text). Types should refuse unknown parameters, as bodies do.
#[derive(Debug, Clone)]
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if parts.uri.query().is_some_and(|q| q.contains("%00")) {
            return Err(nul_refused());
        }
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(QueryParams(value)),
            Err(rejection) => Err(ApiError::BadRequest { code: "INVALID_QUERY", message: rejection.body_text() }),
        }
    }
}

/// The client's address for rate limits, as the protection layer worked it out (trusted proxies'
/// `X-Forwarded-For` included); else the peer's, or `unknown` when the server was not told (tests
/// serving the router directly).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddress(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(address) = parts.extensions.get::<ClientAddress>() {
            return Ok(address.clone());
        }
        let address = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
        Ok(ClientAddress(address.map_or_else(|| "unknown".to_owned(), |info| info.0.ip().to_string())))
    }
}
