//! A provably fair start.
//!
//! Buyers who arrive before the sale opens are not served by arrival time (a bot's millisecond
//! advantage is meaningless there) but in a random order nobody — not even the operator — could
//! choose: when the pre-queue opens the room publishes `SHA-256(seed)`; at sale open it orders the
//! pre-queue by `HMAC-SHA256(seed, entry_id)` and reveals the seed. Entry ids are random, handed
//! out at join, so a buyer cannot pick a favourable one after seeing the commitment, and the
//! seed cannot be changed after the commitment without everyone noticing.
//!
//! [`Audit`] is what the room publishes; [`Audit::position_of`] lets anyone check an entry's
//! place from it (`floodgate-queue-verify`).

use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::{Digest as _, Sha256};

/// 32 random bytes, kept secret until the sale opens.
#[derive(Clone, PartialEq, Eq)]
pub struct Seed([u8; 32]);

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Revealing the seed early would let anyone precompute the order.
        f.write_str("Seed(…)")
    }
}

impl Seed {
    pub fn generate() -> Self {
        Self(rand::random())
    }

    pub fn from_hex(hex: &str) -> Result<Self, AuditError> {
        let bytes = hex::decode(hex).map_err(|_| AuditError::BadSeed)?;
        Ok(Self(bytes.try_into().map_err(|_| AuditError::BadSeed)?))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Hex `SHA-256(seed)`: published before the seed.
    pub fn commitment(&self) -> String {
        hex::encode(Sha256::digest(self.0))
    }

    /// The entry's draw: a keyed hash nobody can compute before the seed is revealed.
    pub fn draw(&self, entry_id: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256>>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(entry_id.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The pre-queue in serving order: by draw, ties (never seen in practice) by entry id.
    pub fn order<'a>(&self, entry_ids: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let mut drawn: Vec<([u8; 32], &str)> = entry_ids.into_iter().map(|id| (self.draw(id), id)).collect();
        drawn.sort_unstable();
        drawn.into_iter().map(|(_, id)| id.to_owned()).collect()
    }
}

/// The published record of a sale's pre-queue draw.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Audit {
    pub sale_id: String,
    pub seed_commitment: String,
    /// Hex; empty until the sale opens.
    pub seed: String,
    /// The pre-queue in the order it was served.
    pub ordered_entry_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    #[error("the seed has not been revealed yet (the sale has not opened)")]
    SeedNotRevealed,
    #[error("the seed is not 32 bytes of hex")]
    BadSeed,
    #[error("the revealed seed does not match the commitment published before the sale")]
    CommitmentMismatch,
    #[error("the published order differs from the order the seed gives, first at position {position}")]
    OrderMismatch { position: usize },
    #[error("entry {0} was not in the pre-queue")]
    UnknownEntry(String),
}

impl Audit {
    /// Checks the seed against the commitment and the order against the seed.
    pub fn verify(&self) -> Result<(), AuditError> {
        if self.seed.is_empty() {
            return Err(AuditError::SeedNotRevealed);
        }
        let seed = Seed::from_hex(&self.seed)?;
        if seed.commitment() != self.seed_commitment.to_ascii_lowercase() {
            return Err(AuditError::CommitmentMismatch);
        }
        let expected = seed.order(self.ordered_entry_ids.iter().map(String::as_str));
        match expected.iter().zip(&self.ordered_entry_ids).position(|(a, b)| a != b) {
            Some(position) => Err(AuditError::OrderMismatch { position: position + 1 }),
            None => Ok(()),
        }
    }

    /// The 1-based place of `entry_id` in the pre-queue, after verifying the whole audit.
    pub fn position_of(&self, entry_id: &str) -> Result<usize, AuditError> {
        self.verify()?;
        self.ordered_entry_ids
            .iter()
            .position(|id| id == entry_id)
            .map(|i| i + 1)
            .ok_or_else(|| AuditError::UnknownEntry(entry_id.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn entries(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("e{i:05x}-{}", i * 7919)).collect()
    }

    fn audit(seed: &Seed, entries: &[String]) -> Audit {
        Audit {
            sale_id: "sale-1".into(),
            seed_commitment: seed.commitment(),
            seed: seed.to_hex(),
            ordered_entry_ids: seed.order(entries.iter().map(String::as_str)),
        }
    }

    #[test]
    fn the_commitment_is_sha256_of_the_seed() {
        let seed = Seed::from_hex(&"00".repeat(32)).expect("seed");
        // SHA-256 of 32 zero bytes.
        assert_eq!(seed.commitment(), "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925");
        assert_eq!(format!("{seed:?}"), "Seed(…)");
    }

    #[test]
    fn the_order_is_reproducible_from_the_seed_and_independent_of_arrival() {
        let seed = Seed::generate();
        let arrivals = entries(500);
        let mut reversed = arrivals.clone();
        reversed.reverse();
        let order = seed.order(arrivals.iter().map(String::as_str));
        assert_eq!(order, seed.order(reversed.iter().map(String::as_str)), "arrival order does not matter");
        assert_ne!(order, arrivals, "it is a shuffle");
        assert_ne!(order, Seed::generate().order(arrivals.iter().map(String::as_str)), "another seed, another order");
    }

    #[test]
    fn anyone_can_check_a_published_draw() {
        let seed = Seed::generate();
        let all = entries(100);
        let audit = audit(&seed, &all);
        let mine = &audit.ordered_entry_ids[41];
        assert_eq!(audit.position_of(mine), Ok(42));
        assert_eq!(audit.position_of("e-not-there"), Err(AuditError::UnknownEntry("e-not-there".into())));

        let mut swapped = audit.clone();
        swapped.ordered_entry_ids.swap(3, 4);
        assert_eq!(swapped.verify(), Err(AuditError::OrderMismatch { position: 4 }));

        let mut reseeded = audit.clone();
        reseeded.seed = Seed::generate().to_hex();
        assert_eq!(
            reseeded.verify(),
            Err(AuditError::CommitmentMismatch),
            "the seed cannot be swapped after the commitment"
        );

        let sealed = Audit { seed: String::new(), ..audit };
        assert_eq!(sealed.verify(), Err(AuditError::SeedNotRevealed));
    }

    proptest! {
        #[test]
        fn the_order_is_a_permutation(n in 0usize..300) {
            let seed = Seed::generate();
            let all = entries(n);
            let mut order = seed.order(all.iter().map(String::as_str));
            order.sort();
            let mut sorted = all;
            sorted.sort();
            prop_assert_eq!(order, sorted);
        }
    }
}
