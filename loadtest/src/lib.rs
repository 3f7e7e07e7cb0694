//! The on-sale rehearsal kit. A scenario file ([`scenario`]) says what to sell and how buyers
//! arrive and behave; [`arrivals`] turns the arrival profile into intended send times (open loop:
//! latency is measured from these, so a stalled system cannot hide its tail) and [`plan`] draws
//! each buyer's choices; [`setup`] puts the sale on the platform as an operator would; buyers walk
//! the public API ([`journey`], over [`client`]) with every operation recorded in the [`history`]
//! ([`record`]); after the run [`state`] reads the final state, the [`checker`] verifies the
//! invariants I1–I9 (DESIGN.md), [`stats`] and [`report`] say how it went. [`knee`] finds where
//! holds stop keeping up; [`faults`] is where fault schedules plug in.
//!
//! `scenario`, `arrivals`, `plan`, `history`, `checker`, `stats` and `report` are pure; the rest
//! talk to the platform.

pub mod arrivals;
pub mod checker;
pub mod client;
pub mod faults;
pub mod history;
pub mod identity;
pub mod journey;
pub mod knee;
pub mod plan;
pub mod record;
pub mod report;
pub mod run;
pub mod scenario;
pub mod setup;
pub mod state;
pub mod stats;
