//! The gateway's domain: accounts, credentials and tokens as pure values and decisions. Time
//! comes in as `now`; randomness from the caller's RNG where a test must pin it.

pub mod jwt;
pub mod password;
pub mod polling;
pub mod signup;
pub mod verification;
