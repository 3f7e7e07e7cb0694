//! Queue integration tests.

mod verify;
