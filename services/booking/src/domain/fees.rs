//! Cancellation fees: the sale's fee ladder, by whole days before the show.
//!
//! Steps are checked from the most days before to the fewest; the first whose threshold is met
//! applies. Past the last step (or once the show started) cancellation is closed. An empty
//! ladder means free cancellation until the show starts. A fee never exceeds the ticket price.

use chrono::{DateTime, Utc};

use super::Money;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeStep {
    pub days_before: u32,
    /// Basis points of the ticket price (1000 = 10%).
    pub basis_points: u32,
    /// Per ticket, in the ticket's currency.
    pub fixed_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeeError {
    #[error("cancellation closed: the show is less than {min_days} day(s) away")]
    Closed { min_days: u32 },
    #[error("cancellation closed: the show has started")]
    Started,
}

/// The fee for cancelling a ticket of `price` at `now` for a show starting at `starts_at`.
pub fn fee(ladder: &[FeeStep], price: Money, starts_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<Money, FeeError> {
    if now >= starts_at {
        return Err(FeeError::Started);
    }
    let days = u32::try_from((starts_at - now).num_days()).unwrap_or(u32::MAX);
    let mut steps: Vec<&FeeStep> = ladder.iter().collect();
    steps.sort_by_key(|s| std::cmp::Reverse(s.days_before));
    let Some(step) = steps.iter().find(|s| days >= s.days_before) else {
        return match steps.last() {
            Some(last) => Err(FeeError::Closed { min_days: last.days_before }),
            None => Ok(Money::zero(price.currency)),
        };
    };
    let proportional = i128::from(price.minor) * i128::from(step.basis_points) / 10_000;
    let total = (proportional + i128::from(step.fixed_minor)).clamp(0, i128::from(price.minor.max(0)));
    Ok(Money::new(i64::try_from(total).unwrap_or(price.minor), price.currency))
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use proptest::prelude::*;

    use super::*;

    const KRW: [u8; 3] = *b"KRW";

    fn ladder() -> Vec<FeeStep> {
        vec![
            FeeStep { days_before: 1, basis_points: 3000, fixed_minor: 0 },
            FeeStep { days_before: 10, basis_points: 0, fixed_minor: 2000 },
            FeeStep { days_before: 3, basis_points: 1000, fixed_minor: 2000 },
        ]
    }

    #[test]
    fn the_step_depends_on_whole_days_before_the_show() {
        let show = DateTime::from_timestamp(1_900_000_000, 0).unwrap();
        let price = Money::new(100_000, KRW);
        let at = |days: i64, hours: i64| show - Duration::days(days) - Duration::hours(hours);
        assert_eq!(fee(&ladder(), price, show, at(12, 0)).unwrap().minor, 2_000);
        assert_eq!(fee(&ladder(), price, show, at(9, 23)).unwrap().minor, 12_000);
        assert_eq!(fee(&ladder(), price, show, at(1, 0)).unwrap().minor, 30_000);
        assert_eq!(fee(&ladder(), price, show, at(0, 5)), Err(FeeError::Closed { min_days: 1 }));
        assert_eq!(fee(&ladder(), price, show, show), Err(FeeError::Started));
        assert_eq!(fee(&[], price, show, at(0, 1)).unwrap().minor, 0);
    }

    proptest! {
        #[test]
        fn a_fee_is_never_negative_nor_above_the_price(
            price in 0i64..10_000_000, bps in 0u32..20_000, fixed in 0i64..5_000_000, days in 0i64..60,
        ) {
            let show = DateTime::from_timestamp(1_900_000_000, 0).unwrap();
            let step = [FeeStep { days_before: 0, basis_points: bps, fixed_minor: fixed }];
            let fee = fee(&step, Money::new(price, KRW), show, show - Duration::days(days) - Duration::seconds(1)).unwrap();
            prop_assert!((0..=price).contains(&fee.minor));
        }
    }
}
