//! Booking integration tests.
