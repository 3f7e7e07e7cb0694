//! The waiting room's decisions, without I/O: the provably fair pre-queue order, and the
//! arithmetic of positions, waiting times and odds.

pub mod fairness;
pub mod outlook;
