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

fn argon2() -> Argon2<'static> {
    // Constant, valid parameters.
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// The PHC string to store.
pub fn hash(password: &str) -> Result<String, HashError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(|e| HashError(e.to_string()))?;
    Ok(argon2().hash_password(password.as_bytes(), &salt).map_err(|e| HashError(e.to_string()))?.to_string())
}

/// Verified against when there is no account, so the answer takes as long as a real check.
const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0Z7fn2y0hS4Hfnh6t1bGzr9cx3XcJ7kgCjXn0ll9sL0";

/// Whether `password` matches `stored`; `None` (no such account) spends the same work and fails.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let Ok(parsed) = PasswordHash::new(stored.unwrap_or(DUMMY)) else { return false };
    argon2().verify_password(password.as_bytes(), &parsed).is_ok() && stored.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_at_the_minimum_cost_and_verify() {
        let stored = hash("correct horse battery staple").unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert!(verify("correct horse battery staple", Some(&stored)));
        assert!(!verify("correct horse battery stapler", Some(&stored)));
        assert!(!verify("anything", None));
        assert_ne!(hash("same").unwrap(), hash("same").unwrap(), "salted");
        assert!(PasswordHash::new(DUMMY).is_ok(), "the stand-in hash really costs a verification");
    }
}
