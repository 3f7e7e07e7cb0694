//! Booking integration tests on real PostgreSQL and Redis (one database and key prefix per test).

mod api;
mod conservation;
mod holds;
mod orders;
mod relay;
mod support;
mod tickets;
