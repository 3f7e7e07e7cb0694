//! Password hashing: argon2id at the OWASP minimum (m = 19 MiB, t = 2, p = 1), PHC strings in the
//! database. Logging in as an unknown account costs the same hash, so timing does not reveal
//! which emails have accounts.

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _, Version,
    password_hash::SaltString,
};

const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;

/// How expensive new hashes are. Verification reads the cost from the stored hash, so accounts
/// made at either cost keep working when it changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cost {
    /// The OWASP minimum above: for every real deployment.
    #[default]
    Owasp,
    /// argon2id's smallest parameters (8 KiB, 1 pass): development rehearsals only, where
    /// thousands of buyers sign up at once and the hash would be all the load generator measures.
    Minimal,
}

impl std::str::FromStr for Cost {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "owasp" => Ok(Self::Owasp),
            "minimal" => Ok(Self::Minimal),
            other => Err(format!("unknown password cost {other:?} (owasp or minimal)")),
        }
    }
}

fn argon2(cost: Cost) -> Argon2<'static> {
    let (memory, iterations) = match cost {
        Cost::Owasp => (MEMORY_KIB, ITERATIONS),
        Cost::Minimal => (Params::MIN_M_COST, Params::MIN_T_COST),
    };
    // Constant, valid parameters.
    let params = Params::new(memory, iterations, PARALLELISM, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// The PHC string to store.
pub fn hash(password: &str, cost: Cost) -> Result<String, HashError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(|e| HashError(e.to_string()))?;
    Ok(argon2(cost).hash_password(password.as_bytes(), &salt).map_err(|e| HashError(e.to_string()))?.to_string())
}

/// Verified against when there is no account, so the answer takes as long as a real check.
const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0Z7fn2y0hS4Hfnh6t1bGzr9cx3XcJ7kgCjXn0ll9sL0";

/// Whether `password` matches `stored`; `None` (no such account) spends the same work and fails.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let Ok(parsed) = PasswordHash::new(stored.unwrap_or(DUMMY)) else { return false };
    argon2(Cost::Owasp).verify_password(password.as_bytes(), &parsed).is_ok() && stored.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_at_the_minimum_cost_and_verify() {
        let stored = hash("correct horse battery staple", Cost::Owasp).unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert!(verify("correct horse battery staple", Some(&stored)));
        assert!(!verify("correct horse battery stapler", Some(&stored)));
        assert!(!verify("anything", None));
        assert_ne!(hash("same", Cost::Owasp).unwrap(), hash("same", Cost::Owasp).unwrap(), "salted");
        assert!(PasswordHash::new(DUMMY).is_ok(), "the stand-in hash really costs a verification");
    }

    #[test]
    fn cheap_hashes_verify_with_their_own_parameters() {
        let stored = hash("rehearsal", Cost::Minimal).unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{stored}");
        assert!(verify("rehearsal", Some(&stored)));
        assert!(!verify("rehearsals", Some(&stored)));
        assert_eq!("minimal".parse(), Ok(Cost::Minimal));
        assert!("cheap".parse::<Cost>().is_err());
    }
}
