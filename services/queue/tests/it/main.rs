//! Queue integration tests.

mod api;
mod events;
mod store;
mod verify;
