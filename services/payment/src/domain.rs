//! Payment's domain: pure decisions, no I/O. Time comes in as `now`.

pub mod payment;
pub mod webhook;
