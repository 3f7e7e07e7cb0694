//! Booking's domain: pure values and decisions, no I/O. Time comes in as `now`.

pub mod best_available;
pub mod fees;
pub mod hold;
pub mod layout;
pub mod order;
pub mod pricing;
pub mod ticket;

/// An amount in integer minor units of an ISO 4217 currency (never a float).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    pub minor: i64,
    pub currency: [u8; 3],
}

impl Money {
    pub fn new(minor: i64, currency: [u8; 3]) -> Self {
        Self { minor, currency }
    }

    pub fn zero(currency: [u8; 3]) -> Self {
        Self { minor: 0, currency }
    }

    /// Parses an upper-case three-letter code.
    pub fn parse_currency(code: &str) -> Option<[u8; 3]> {
        let bytes: [u8; 3] = code.as_bytes().try_into().ok()?;
        bytes.iter().all(u8::is_ascii_uppercase).then_some(bytes)
    }

    pub fn currency_code(&self) -> &str {
        // Only ever built from three ASCII upper-case letters.
        std::str::from_utf8(&self.currency).unwrap_or("XXX")
    }
}

/// Who buys: the key the admission token, limits and ownership checks use.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Buyer {
    Member { user_id: String },
    Guest { guest_id: String, phone: String, email: String },
}

impl Buyer {
    /// The buyer's identity as the waiting room knows it (the admission token's buyer).
    pub fn key(&self) -> String {
        match self {
            Buyer::Member { user_id } => format!("user:{user_id}"),
            Buyer::Guest { guest_id, .. } => format!("guest:{guest_id}"),
        }
    }
}
