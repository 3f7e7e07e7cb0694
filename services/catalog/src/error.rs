//! What can go wrong in the catalog's use cases, precisely; mapped to gRPC status in one place.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::Invalid;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: Uuid },
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("the hall is taken from {starts_at} to {ends_at} by performance {performance_id}")]
    Overlap { performance_id: Uuid, starts_at: DateTime<Utc>, ends_at: DateTime<Utc> },
    #[error("expected version {expected}, but it is now {actual}")]
    VersionConflict { expected: i64, actual: i64 },
    #[error("a hall named {name:?} already exists in this venue")]
    DuplicateHall { name: String },
    #[error("the {what} cannot be changed: {reason}")]
    InUse { what: &'static str, reason: String },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("catalog database error")]
    Database(#[from] sqlx::Error),
}
