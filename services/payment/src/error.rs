//! What can go wrong in payment's use cases, precisely; mapped to gRPC statuses with a stable code
//! (metadata `floodgate-error-code`) in one place, [`status`].

use tonic::Status;

use crate::{
    domain::payment::{IllegalTransition, RefundError},
    provider::ProviderError,
};

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the provider captured {captured} but the order costs {expected}")]
    AmountMismatch { expected: i64, captured: i64 },
    #[error("the payment was declined ({code})")]
    Declined { code: String },
    #[error("the order no longer takes payment")]
    OrderClosed,
    #[error(transparent)]
    Transition(#[from] IllegalTransition),
    #[error(transparent)]
    Refund(#[from] RefundError),
    #[error("a request with this idempotency key is still in progress")]
    InProgress,
    #[error("the payment changed while it was being started; read it again")]
    Changed,
    #[error("this idempotency key was used with different parameters")]
    KeyReused,
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error("stored payment data is corrupt: {0}")]
    Corrupt(String),
    #[error("payment database error")]
    Database(#[from] sqlx::Error),
}

impl PaymentError {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        PaymentError::Invalid { field, reason: reason.into() }
    }

    /// The stable code and status; also what an idempotency key replays.
    pub fn code(&self) -> (tonic::Code, &'static str) {
        use tonic::Code;
        match self {
            PaymentError::Invalid { .. } => (Code::InvalidArgument, "INVALID_ARGUMENT"),
            PaymentError::NotFound(_) => (Code::NotFound, "NOT_FOUND"),
            PaymentError::AmountMismatch { .. } => (Code::FailedPrecondition, "AMOUNT_MISMATCH"),
            PaymentError::Declined { .. } => (Code::FailedPrecondition, "PAYMENT_DECLINED"),
            PaymentError::OrderClosed => (Code::FailedPrecondition, "ORDER_CLOSED"),
            PaymentError::Transition(_) => (Code::FailedPrecondition, "PAYMENT_STATE"),
            PaymentError::Refund(_) => (Code::FailedPrecondition, "REFUND_EXCEEDS_CAPTURE"),
            PaymentError::InProgress => (Code::Aborted, "IDEMPOTENCY_IN_PROGRESS"),
            PaymentError::Changed => (Code::Aborted, "PAYMENT_CHANGED"),
            PaymentError::KeyReused => (Code::InvalidArgument, "IDEMPOTENCY_KEY_REUSED"),
            PaymentError::Provider(ProviderError::Webhook(_)) => (Code::Unauthenticated, "WEBHOOK_REJECTED"),
            PaymentError::Provider(ProviderError::MalformedWebhook) => (Code::InvalidArgument, "WEBHOOK_MALFORMED"),
            PaymentError::Provider(ProviderError::Refused(_) | ProviderError::UnknownTransaction(_)) => {
                (Code::FailedPrecondition, "PROVIDER_REFUSED")
            }
            PaymentError::Provider(ProviderError::Timeout | ProviderError::Unavailable(_)) => {
                (Code::Unavailable, "PROVIDER_UNAVAILABLE")
            }
            PaymentError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_)) => {
                (Code::Unavailable, "UNAVAILABLE")
            }
            PaymentError::Database(_) | PaymentError::Corrupt(_) => (Code::Internal, "INTERNAL"),
        }
    }

    /// Whether the same request could succeed later: such outcomes are not stored against an
    /// idempotency key, so a retry runs again.
    pub fn is_transient(&self) -> bool {
        matches!(self.code().0, tonic::Code::Unavailable | tonic::Code::Internal | tonic::Code::Aborted)
    }
}

/// Metadata key carrying the stable, machine-readable error code the gateway exposes.
pub const ERROR_CODE: &str = "floodgate-error-code";

/// Maps a payment error to its gRPC status and stable code.
pub fn status(error: PaymentError) -> Status {
    let (code, stable) = error.code();
    if code == tonic::Code::Internal || code == tonic::Code::Unavailable {
        // Logged once, here at the edge, with its whole chain; the client gets no internals.
        tracing::error!(error = %floodgate_telemetry::error_chain(&error), "payment request failed");
    }
    let message = if code == tonic::Code::Internal { "internal error".to_owned() } else { error.to_string() };
    coded(code, stable, message)
}

/// A status with its stable code (also used to replay a stored failure).
pub fn coded(code: tonic::Code, stable: &str, message: String) -> Status {
    let mut status = Status::new(code, message);
    if let Ok(value) = stable.parse() {
        status.metadata_mut().insert(ERROR_CODE, value);
    }
    status
}
