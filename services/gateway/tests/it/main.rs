//! Gateway integration tests through real HTTP, on real PostgreSQL and Redis.

mod accounts;
mod docs;
mod live;
mod notifications;
mod protection;
mod support;
