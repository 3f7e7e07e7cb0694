//! What can go wrong in booking's use cases, precisely; mapped to gRPC statuses (with a stable
//! code the gateway exposes) in one place, [`status`].

use floodgate_admission::TokenError;
use tonic::Status;

use crate::{
    domain::{fees::FeeError, order::IllegalTransition, pricing::PriceError},
    store::StoreError,
};

#[derive(Debug, thiserror::Error)]
pub enum BookingError {
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("admission refused: {0}")]
    Admission(#[from] TokenError),
    #[error("the sale is not open")]
    SaleNotOpen,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no {quantity} seats together match the request")]
    NoSeatsTogether { quantity: usize },
    #[error(transparent)]
    Price(#[from] PriceError),
    #[error("the checkout does not match the hold: {0}")]
    CheckoutMismatch(String),
    #[error("a newer hold has claimed seat {seat}")]
    StaleHold { seat: String },
    #[error(transparent)]
    Transition(#[from] IllegalTransition),
    #[error(transparent)]
    CancellationClosed(#[from] FeeError),
    #[error("stored booking data is corrupt: {0}")]
    Corrupt(String),
    #[error("booking database error")]
    Database(#[from] sqlx::Error),
}

impl BookingError {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        BookingError::Invalid { field, reason: reason.into() }
    }
}

/// Metadata key carrying the stable, machine-readable error code the gateway exposes.
pub const ERROR_CODE: &str = "floodgate-error-code";

/// Maps a booking error to its gRPC status and stable code.
pub fn status(error: BookingError) -> Status {
    use tonic::Code;
    let (code, stable) = match &error {
        BookingError::Invalid { .. } => (Code::InvalidArgument, "INVALID_ARGUMENT"),
        BookingError::NotFound(_) => (Code::NotFound, "NOT_FOUND"),
        BookingError::Admission(TokenError::Expired { .. }) => (Code::PermissionDenied, "ADMISSION_EXPIRED"),
        BookingError::Admission(_) => (Code::PermissionDenied, "ADMISSION_REQUIRED"),
        BookingError::SaleNotOpen => (Code::FailedPrecondition, "SALE_NOT_OPEN"),
        BookingError::Store(StoreError::Taken { .. }) => (Code::FailedPrecondition, "SEAT_TAKEN"),
        BookingError::Store(StoreError::GaShort { .. }) => (Code::FailedPrecondition, "NOT_ENOUGH_PLACES"),
        BookingError::Store(StoreError::Limit { .. }) => (Code::FailedPrecondition, "LIMIT_EXCEEDED"),
        BookingError::Store(StoreError::Unknown(_)) => (Code::InvalidArgument, "UNKNOWN_SEAT"),
        BookingError::Store(StoreError::Closed) => (Code::FailedPrecondition, "NOT_ON_SALE"),
        BookingError::Store(StoreError::NotReady) => (Code::Unavailable, "INVENTORY_LOADING"),
        BookingError::Store(StoreError::Expired | StoreError::Lost { .. }) => {
            (Code::FailedPrecondition, "HOLD_EXPIRED")
        }
        BookingError::StaleHold { .. } => (Code::FailedPrecondition, "HOLD_EXPIRED"),
        // Someone else's hold answers like a missing one: its existence is not the caller's business.
        BookingError::Store(StoreError::NotYours) => (Code::NotFound, "NOT_FOUND"),
        BookingError::NoSeatsTogether { .. } => (Code::FailedPrecondition, "NO_SEATS_TOGETHER"),
        BookingError::Price(_) => (Code::FailedPrecondition, "NO_PRICE"),
        BookingError::CheckoutMismatch(_) => (Code::InvalidArgument, "CHECKOUT_MISMATCH"),
        BookingError::Transition(_) => (Code::FailedPrecondition, "ORDER_STATE"),
        BookingError::CancellationClosed(_) => (Code::FailedPrecondition, "CANCELLATION_CLOSED"),
        BookingError::Store(StoreError::Redis(_)) => (Code::Unavailable, "UNAVAILABLE"),
        BookingError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_)) => (Code::Unavailable, "UNAVAILABLE"),
        BookingError::Store(StoreError::Corrupt(_)) | BookingError::Corrupt(_) | BookingError::Database(_) => {
            (Code::Internal, "INTERNAL")
        }
    };
    if code == Code::Internal || code == Code::Unavailable {
        // Logged once, here at the edge, with its whole chain; the client gets no internals.
        tracing::error!(error = %floodgate_telemetry::error_chain(&error), "booking request failed");
    }
    let message = if code == Code::Internal { "internal error".to_owned() } else { error.to_string() };
    let mut status = Status::new(code, message);
    status.metadata_mut().insert(ERROR_CODE, tonic::metadata::MetadataValue::from_static(stable));
    if let BookingError::Store(StoreError::Taken { seats }) = &error
        && let Ok(value) = seats.join(",").parse()
    {
        // The seats to grey out on the buyer's map.
        status.metadata_mut().insert("floodgate-taken-seats", value);
    }
    status
}
