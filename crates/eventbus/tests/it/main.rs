//! Integration tests of the event bus against the real PostgreSQL and broker started by
//! `./floodgate test`. Each test has its own databases and its own topic prefix.

mod consumer;
mod relay;
mod support;
