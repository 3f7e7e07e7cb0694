//! The public error envelope: every error a client sees is `{"code": "...", "message": "..."}`
//! with a stable machine-readable code and the right status. This is the one table that maps
//! errors to HTTP; handlers return [`ApiError`] and never build responses for errors themselves.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("no route for {method} {path}")]
    NotFound { method: String, path: String },
    #[error("{method} is not allowed on {path}")]
    MethodNotAllowed { method: String, path: String },
    #[error("the request body is larger than {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("the request did not finish in time")]
    Timeout,
    #[error("{service} is unavailable")]
    UpstreamUnavailable { service: &'static str },
    #[error("some fields are not valid")]
    InvalidFields { fields: Vec<(String, String)> },
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("{message}")]
    Unauthorized { code: &'static str, message: String },
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("too many requests; retry in {retry_after_seconds} s")]
    TooManyRequests { retry_after_seconds: u64 },
    #[error("the service is busy; retry shortly")]
    Overloaded,
    #[error("internal error")]
    Internal,
    /// An upstream service's answer, carried through with its stable code.
    #[error("{message}")]
    Upstream { status: StatusCode, code: String, message: String },
}

#[derive(Debug, Serialize)]
struct Body<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<serde_json::Value>,
}

impl ApiError {
    /// The stable machine-readable code clients switch on.
    pub fn code(&self) -> &str {
        match self {
            ApiError::NotFound { .. } => "NOT_FOUND",
            ApiError::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            ApiError::BodyTooLarge { .. } => "BODY_TOO_LARGE",
            ApiError::Timeout => "TIMEOUT",
            ApiError::UpstreamUnavailable { .. } => "UPSTREAM_UNAVAILABLE",
            ApiError::InvalidFields { .. } => "INVALID_FIELDS",
            ApiError::BadRequest { code, .. }
            | ApiError::Unauthorized { code, .. }
            | ApiError::Forbidden { code, .. }
            | ApiError::Conflict { code, .. } => code,
            ApiError::TooManyRequests { .. } => "RATE_LIMITED",
            ApiError::Overloaded => "OVERLOADED",
            ApiError::Internal => "INTERNAL",
            ApiError::Upstream { code, .. } => code,
        }
    }

    /// One field's problem.
    pub fn field(field: &str, reason: &str) -> Self {
        ApiError::InvalidFields { fields: vec![(field.to_owned(), reason.to_owned())] }
    }

    /// Logs an unexpected failure once, here, and hides it from the client.
    pub fn internal(error: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(error = %floodgate_telemetry::error_chain(error), "request failed");
        ApiError::Internal
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::UpstreamUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::InvalidFields { .. } | ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Upstream { status, .. } => *status,
        }
    }

    /// For `map_err` on an upstream call.
    pub fn upstream(service: &'static str) -> impl Fn(tonic::Status) -> Self {
        move |status| ApiError::from_status(service, &status)
    }

    /// The one table from an upstream gRPC status to HTTP. The upstream's stable code (metadata
    /// `floodgate-error-code`) passes through; its internals never do.
    pub fn from_status(service: &'static str, status: &tonic::Status) -> Self {
        use tonic::Code;
        let http = match status.code() {
            Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::AlreadyExists | Code::FailedPrecondition | Code::Aborted => StatusCode::CONFLICT,
            Code::PermissionDenied => StatusCode::FORBIDDEN,
            Code::Unauthenticated => StatusCode::UNAUTHORIZED,
            Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
                return ApiError::UpstreamUnavailable { service };
            }
            Code::Unknown if broke_in_transit(status) => return ApiError::UpstreamUnavailable { service },
            Code::Ok | Code::Unknown | Code::Internal | Code::Unimplemented | Code::DataLoss => {
                tracing::error!(service, code = ?status.code(), message = status.message(), "upstream failed");
                return ApiError::Internal;
            }
        };
        let named = status.metadata().get("floodgate-error-code").and_then(|v| v.to_str().ok());
        // Exhausted without a code of ours: the upstream's own load shedding, not the caller's
        // rate — the gateway's overload answer (503, Retry-After), not a 429 named by tonic.
        if status.code() == Code::ResourceExhausted && named.is_none() {
            return ApiError::Overloaded;
        }
        let code = named.map_or_else(|| format!("{:?}", status.code()).to_uppercase(), str::to_owned);
        ApiError::Upstream { status: http, code, message: status.message().to_owned() }
    }
}

/// The call never got an answer: the connection to the upstream broke under it. tonic reports
/// that as UNKNOWN "transport error" — seen on payment approvals in a stadium rehearsal, where it
/// became a 500 for what is an upstream being away.
fn broke_in_transit(status: &tonic::Status) -> bool {
    std::error::Error::source(status).is_some_and(|source| source.is::<tonic::transport::Error>())
        || status.message() == "transport error"
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let details = match &self {
            ApiError::InvalidFields { fields } => Some(serde_json::json!({
                "fields": fields.iter().map(|(f, r)| serde_json::json!({"field": f, "reason": r})).collect::<Vec<_>>()
            })),
            _ => None,
        };
        let body = Json(Body { code: self.code(), message: self.to_string(), details });
        let mut response = (status, body).into_response();
        let retry_after = match &self {
            ApiError::TooManyRequests { retry_after_seconds } => Some(*retry_after_seconds),
            // Overload and upstream outages are transient: tell clients when to come back.
            _ if status == StatusCode::SERVICE_UNAVAILABLE => Some(1),
            _ => None,
        };
        if let Some(seconds) = retry_after
            && let Ok(value) = http::HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(http::header::RETRY_AFTER, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_a_stable_code_and_a_client_or_unavailable_status() {
        let cases = [
            (ApiError::NotFound { method: "GET".into(), path: "/x".into() }, "NOT_FOUND", 404),
            (ApiError::MethodNotAllowed { method: "PUT".into(), path: "/x".into() }, "METHOD_NOT_ALLOWED", 405),
            (ApiError::BodyTooLarge { limit: 10 }, "BODY_TOO_LARGE", 413),
            (ApiError::Timeout, "TIMEOUT", 503),
            (ApiError::UpstreamUnavailable { service: "booking" }, "UPSTREAM_UNAVAILABLE", 503),
        ];
        for (error, code, status) in cases {
            assert_eq!(error.code(), code);
            assert_eq!(error.status().as_u16(), status);
        }
    }

    #[test]
    fn a_connection_broken_under_a_call_is_the_upstream_away_not_an_internal_error() {
        let broken = ApiError::from_status("payment", &tonic::Status::unknown("transport error"));
        assert_eq!((broken.code(), broken.status().as_u16()), ("UPSTREAM_UNAVAILABLE", 503));
        let unknown = ApiError::from_status("payment", &tonic::Status::unknown("something odd"));
        assert_eq!((unknown.code(), unknown.status().as_u16()), ("INTERNAL", 500));
    }

    #[test]
    fn an_upstream_shedding_load_is_overload_and_its_own_limits_stay_429() {
        let shed = ApiError::from_status("queue", &tonic::Status::resource_exhausted("load shed"));
        assert_eq!((shed.code(), shed.status().as_u16()), ("OVERLOADED", 503));
        let mut limited = tonic::Status::resource_exhausted("too many holds");
        limited
            .metadata_mut()
            .insert("floodgate-error-code", tonic::metadata::MetadataValue::from_static("LIMIT_EXCEEDED"));
        let limited = ApiError::from_status("booking", &limited);
        assert_eq!((limited.code(), limited.status().as_u16()), ("LIMIT_EXCEEDED", 429));
    }

    #[test]
    fn unavailable_answers_carry_retry_after() {
        let response = ApiError::UpstreamUnavailable { service: "booking" }.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[http::header::RETRY_AFTER], "1");
        let response = ApiError::NotFound { method: "GET".into(), path: "/".into() }.into_response();
        assert!(response.headers().get(http::header::RETRY_AFTER).is_none());
    }
}
