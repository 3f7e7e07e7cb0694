//! End-to-end tests: the five services started as processes, exactly as `./floodgate up` runs
//! them, against the test servers `./floodgate test` starts.

mod consistency;
mod crash;
mod fuzz;
mod http;
mod journey;
mod operator;
mod platform;
mod purchase;
mod rehearsal;
mod smoke;
