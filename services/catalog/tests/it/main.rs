//! Catalog integration tests against the real PostgreSQL started by `./floodgate test`.

mod api;
mod lifecycle;
mod performances;
mod publishing;
mod read_models;
mod search;
mod seat_maps;
mod seed;
mod support;
