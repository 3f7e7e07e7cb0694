//! What every Floodgate service runs on: the shared parts of its configuration, the shutdown
//! signal, readiness checks, and [`ServiceHost`] — the gRPC server (with `grpc.health.v1` and
//! reflection) plus the admin HTTP server (`/healthz`, `/readyz`, `/metrics`), drained in order on
//! shutdown. A service's `main` parses its config, builds its app on a host and runs it.

mod admin;
mod cli;
pub mod config;
mod host;
pub mod pace;
mod readiness;
mod rpc_metrics;
mod service;
mod shutdown;
pub mod ticker;

/// Every service allocates through mimalloc. In a stadium rehearsal glibc's malloc took a fifth
/// of the gateway's CPU (perf: `_int_malloc`, `malloc_consolidate`, `unlink_chunk`) — requests
/// allocated on one worker thread and freed on another.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub use cli::{ServiceCli, ServiceCommand};
pub use host::{BackgroundTasks, HostError, ServiceHost, TaskError};
pub use readiness::{CheckError, Readiness};
pub use service::{Service, ServiceApp, StartError, main};
pub use shutdown::shutdown_on_signal;
