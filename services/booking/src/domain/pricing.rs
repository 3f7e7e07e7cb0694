//! Prices a ticket from what the catalog resolved at publish time: one price per (grade,
//! audience), or per grade for every audience (concert tiers). Booking never takes a price from
//! the buyer.

use std::collections::HashMap;

use super::Money;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Audience {
    Adult,
    Youth,
    Senior,
    Disabled,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PriceTable {
    /// `None` audience: the grade's price for anyone.
    prices: HashMap<(String, Option<Audience>), Money>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("no price for grade {grade:?} and audience {audience:?}")]
    NoPrice { grade: String, audience: Audience },
}

impl PriceTable {
    pub fn new(prices: impl IntoIterator<Item = (String, Option<Audience>, Money)>) -> Self {
        Self { prices: prices.into_iter().map(|(g, a, m)| ((g, a), m)).collect() }
    }

    pub fn is_empty(&self) -> bool {
        self.prices.is_empty()
    }

    pub fn price(&self, grade: &str, audience: Audience) -> Result<Money, PriceError> {
        self.prices
            .get(&(grade.to_owned(), Some(audience)))
            .or_else(|| self.prices.get(&(grade.to_owned(), None)))
            .copied()
            .ok_or_else(|| PriceError::NoPrice { grade: grade.to_owned(), audience })
    }

    pub fn entries(&self) -> impl Iterator<Item = (&str, Option<Audience>, Money)> {
        self.prices.iter().map(|((g, a), m)| (g.as_str(), *a, *m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_audience_price_wins_over_the_grade_price() {
        let table = PriceTable::new([
            ("R".to_owned(), None, Money::new(120_000, *b"KRW")),
            ("STD".to_owned(), Some(Audience::Adult), Money::new(15_000, *b"KRW")),
            ("STD".to_owned(), Some(Audience::Youth), Money::new(12_000, *b"KRW")),
        ]);
        assert_eq!(table.price("R", Audience::Senior).unwrap().minor, 120_000);
        assert_eq!(table.price("STD", Audience::Youth).unwrap().minor, 12_000);
        assert!(matches!(table.price("STD", Audience::Senior), Err(PriceError::NoPrice { .. })));
    }
}
