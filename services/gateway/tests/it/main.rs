//! Gateway integration tests through real HTTP, on real PostgreSQL and Redis.

mod accounts;
mod live;
mod notifications;
mod protection;
mod support;
