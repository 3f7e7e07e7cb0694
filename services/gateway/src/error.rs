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
}

#[derive(Debug, Serialize)]
struct Body<'a> {
    code: &'a str,
    message: String,
}

impl ApiError {
    /// The stable machine-readable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::NotFound { .. } => "NOT_FOUND",
            ApiError::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            ApiError::BodyTooLarge { .. } => "BODY_TOO_LARGE",
            ApiError::Timeout => "TIMEOUT",
            ApiError::UpstreamUnavailable { .. } => "UPSTREAM_UNAVAILABLE",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::UpstreamUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = Json(Body { code: self.code(), message: self.to_string() });
        let mut response = (status, body).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // Overload and upstream outages are transient: tell clients when to come back.
            response.headers_mut().insert(http::header::RETRY_AFTER, http::HeaderValue::from_static("1"));
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
    fn unavailable_answers_carry_retry_after() {
        let response = ApiError::UpstreamUnavailable { service: "booking" }.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[http::header::RETRY_AFTER], "1");
        let response = ApiError::NotFound { method: "GET".into(), path: "/".into() }.into_response();
        assert!(response.headers().get(http::header::RETRY_AFTER).is_none());
    }
}
