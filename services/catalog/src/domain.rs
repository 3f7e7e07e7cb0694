//! The catalog's domain: pure values and decisions, no I/O. Everything here takes plain values
//! (and `now` where time matters) and returns a decision or a precise error, so it unit-tests in
//! microseconds; the gRPC and database adapters convert at the edges.

pub mod layout;
pub mod money;
pub mod pricing;
pub mod publish;
pub mod sale;
pub mod schedule;
pub mod seat_map;

/// One rejected field of an operator's request: where, and why, in words for a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// A path into the request, e.g. `sections[2].rows[0].seats[5].id`.
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into() }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// Every field error of one request, so an operator fixes them all in one go.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} invalid field(s): {}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct Invalid(pub Vec<FieldError>);

/// Collects field errors while validating; `finish` turns none into `Ok`.
#[derive(Debug, Default)]
pub struct Validation {
    errors: Vec<FieldError>,
}

impl Validation {
    pub fn check(&mut self, ok: bool, field: impl FnOnce() -> String, reason: impl Into<String>) {
        if !ok {
            self.errors.push(FieldError::new(field(), reason));
        }
    }

    pub fn push(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.errors.push(FieldError::new(field, reason));
    }

    pub fn finish(self) -> Result<(), Invalid> {
        if self.errors.is_empty() { Ok(()) } else { Err(Invalid(self.errors)) }
    }
}
