//! Queue integration tests.

mod api;
mod store;
mod verify;
