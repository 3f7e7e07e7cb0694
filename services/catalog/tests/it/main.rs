//! Catalog integration tests against the real PostgreSQL started by `./floodgate test`.

mod performances;
mod seat_maps;
