//! The on-sale rehearsal kit. A scenario file ([`scenario`]) says what to sell and how buyers
//! arrive and behave; [`arrivals`] turns the arrival profile into intended send times (open loop:
//! latency is measured from these, so a stalled system cannot hide its tail); every operation a
//! buyer tries is recorded in the [`history`]; after the run the [`checker`] reads the history and
//! the final state and verifies the platform's invariants I1–I9 (DESIGN.md).
//!
//! These modules are pure; the buyers, the state collection and the reports sit on top.

pub mod arrivals;
pub mod checker;
pub mod history;
pub mod scenario;
