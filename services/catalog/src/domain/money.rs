//! Money: integer minor units with a currency, never floats.

use std::fmt;

/// An ISO 4217 currency with its number of minor-unit digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: [u8; 3],
}

impl Currency {
    pub const KRW: Currency = Currency { code: *b"KRW" };
    pub const USD: Currency = Currency { code: *b"USD" };

    /// Parses an upper-case three-letter code.
    pub fn parse(code: &str) -> Option<Self> {
        let bytes: [u8; 3] = code.as_bytes().try_into().ok()?;
        bytes.iter().all(u8::is_ascii_uppercase).then_some(Self { code: bytes })
    }

    pub fn code(&self) -> &str {
        // Only ever built from three ASCII upper-case letters.
        std::str::from_utf8(&self.code).unwrap_or("XXX")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An amount: `minor` units of `currency` (₩15,000 is 15000 KRW; $15.00 is 1500 USD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    pub fn is_negative(&self) -> bool {
        self.minor < 0
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.minor, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_are_three_upper_case_letters() {
        assert_eq!(Currency::parse("KRW"), Some(Currency::KRW));
        assert_eq!(Currency::parse("krw"), None);
        assert_eq!(Currency::parse("KR"), None);
        assert_eq!(Currency::parse("KRWX"), None);
        assert_eq!(Money::new(15_000, Currency::KRW).to_string(), "15000 KRW");
    }
}
