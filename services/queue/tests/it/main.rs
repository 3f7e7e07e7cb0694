//! Queue integration tests.

mod store;
mod verify;
