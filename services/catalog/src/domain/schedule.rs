//! When a performance occupies its hall: from its start to start + runtime + cleaning buffer.
//! Two performances in one hall may not overlap; touching (one ends as the next starts) is fine.
//!
//! This module decides; PostgreSQL enforces (an exclusion constraint over the same half-open
//! range), so two concurrent creates for one slot cannot both win.

use chrono::{DateTime, Duration, Utc};

use super::{Invalid, Validation};

/// The longest runtime and cleaning buffer the catalog accepts.
pub const MAX_RUNTIME: Duration = Duration::hours(12);
pub const MAX_CLEANING: Duration = Duration::hours(4);

/// The half-open interval `[start, end)` a performance holds its hall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Slot {
    /// The slot of a performance starting at `start`.
    pub fn of(start: DateTime<Utc>, runtime: Duration, cleaning: Duration) -> Result<Self, Invalid> {
        let mut v = Validation::default();
        v.check(runtime > Duration::zero(), || "runtime".into(), "must be positive");
        v.check(runtime <= MAX_RUNTIME, || "runtime".into(), "must be at most 12 hours");
        v.check(cleaning >= Duration::zero(), || "cleaning_buffer".into(), "must not be negative");
        v.check(cleaning <= MAX_CLEANING, || "cleaning_buffer".into(), "must be at most 4 hours");
        v.finish()?;
        Ok(Self { start, end: start + runtime + cleaning })
    }

    pub fn overlaps(&self, other: &Slot) -> bool {
        self.start < other.end && other.start < self.end
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;
    use proptest::prelude::*;

    use super::*;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 24, h, m, 0).single().expect("time")
    }

    #[test]
    fn a_slot_covers_runtime_and_cleaning() {
        let slot = Slot::of(at(10, 0), Duration::minutes(128), Duration::minutes(20)).expect("valid");
        assert_eq!(slot.end, at(12, 28));
    }

    #[test]
    fn back_to_back_is_allowed_one_minute_earlier_is_not() {
        let first = Slot::of(at(10, 0), Duration::minutes(100), Duration::minutes(20)).expect("valid");
        let touching = Slot::of(at(12, 0), Duration::minutes(90), Duration::zero()).expect("valid");
        let early = Slot::of(at(11, 59), Duration::minutes(90), Duration::zero()).expect("valid");
        assert!(!first.overlaps(&touching));
        assert!(first.overlaps(&early) && early.overlaps(&first));
    }

    #[test]
    fn impossible_durations_are_refused_by_field() {
        let Invalid(errors) = Slot::of(at(10, 0), Duration::zero(), Duration::minutes(-5)).expect_err("invalid");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["runtime", "cleaning_buffer"]);
    }

    proptest! {
        #[test]
        fn overlap_is_symmetric_and_matches_interval_arithmetic(a in 0i64..10_000, la in 1i64..500, b in 0i64..10_000, lb in 1i64..500) {
            let base = at(0, 0);
            let x = Slot::of(base + Duration::minutes(a), Duration::minutes(la), Duration::zero()).expect("valid");
            let y = Slot::of(base + Duration::minutes(b), Duration::minutes(lb), Duration::zero()).expect("valid");
            prop_assert_eq!(x.overlaps(&y), y.overlaps(&x));
            let disjoint = a + la <= b || b + lb <= a;
            prop_assert_eq!(x.overlaps(&y), !disjoint);
        }
    }
}
