//! The service host in-process: health, reflection, readiness, metrics, and the shutdown order.

mod host;
