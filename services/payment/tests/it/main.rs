//! Payment integration tests.
