//! A performance's sale configuration and the rules publishing checks.
//!
//! The timeline must make sense (waiting room ≤ sale open < sale close ≤ curtain), limits must be
//! sane for a high-contention sale, and the cancellation fee ladder must be unambiguous.

use chrono::{DateTime, Duration, Utc};

use super::{Invalid, Validation, money::Money};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaleMode {
    /// Buyers choose seats on the map (or best available).
    Reserved,
    /// Standing / unnumbered: quantities per area.
    GeneralAdmission,
    /// Entries drawn by section, winners pay by a deadline. Stored only for now.
    Lottery,
}

/// One step of the cancellation fee ladder: applies when cancelling at least `days_before` days
/// before the performance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeStep {
    pub days_before: u32,
    /// Share of the ticket price, in basis points (1000 = 10%).
    pub fee_basis_points: u32,
    /// Added per ticket.
    pub fixed_fee: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleConfig {
    pub mode: SaleMode,
    pub waiting_room_opens_at: DateTime<Utc>,
    pub sale_opens_at: DateTime<Utc>,
    pub sale_closes_at: DateTime<Utc>,
    pub per_buyer_limit: u32,
    pub hold_ttl: Duration,
    pub payment_deadline: Duration,
    /// Sorted by `days_before`, descending; the first step whose threshold is met applies.
    pub fee_ladder: Vec<FeeStep>,
    pub admission_rate_per_second: u32,
    pub max_active_shoppers: u32,
    pub admission_ttl: Duration,
}

/// Bounds a sale must stay within.
pub const MAX_PER_BUYER: u32 = 20;
pub const HOLD_TTL: (Duration, Duration) = (Duration::seconds(30), Duration::minutes(30));
pub const PAYMENT_DEADLINE: (Duration, Duration) = (Duration::minutes(1), Duration::days(3));
pub const ADMISSION_TTL: (Duration, Duration) = (Duration::minutes(1), Duration::hours(2));

impl SaleConfig {
    /// Checks the configuration of a performance starting at `performance_starts_at`, at `now`.
    pub fn validate(&self, performance_starts_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), Invalid> {
        let mut v = Validation::default();
        v.check(
            self.waiting_room_opens_at <= self.sale_opens_at,
            || "waiting_room_opens_at".into(),
            "must not be after the sale opens",
        );
        v.check(self.sale_opens_at < self.sale_closes_at, || "sale_closes_at".into(), "must be after the sale opens");
        v.check(
            self.sale_closes_at <= performance_starts_at,
            || "sale_closes_at".into(),
            "must not be after the performance starts",
        );
        v.check(self.sale_closes_at > now, || "sale_closes_at".into(), "is already past");
        v.check(
            (1..=MAX_PER_BUYER).contains(&self.per_buyer_limit),
            || "per_buyer_limit".into(),
            format!("must be 1–{MAX_PER_BUYER}"),
        );
        within(&mut v, "hold_ttl", self.hold_ttl, HOLD_TTL);
        within(&mut v, "payment_deadline", self.payment_deadline, PAYMENT_DEADLINE);
        within(&mut v, "admission_ttl", self.admission_ttl, ADMISSION_TTL);
        v.check(self.admission_rate_per_second > 0, || "admission_rate_per_second".into(), "must be positive");
        v.check(self.max_active_shoppers > 0, || "max_active_shoppers".into(), "must be positive");

        for (i, step) in self.fee_ladder.iter().enumerate() {
            v.check(
                step.fee_basis_points <= 10_000,
                || format!("fee_ladder[{i}].fee_basis_points"),
                "must be at most 10000 (100%)",
            );
            if let Some(fixed) = step.fixed_fee {
                v.check(!fixed.is_negative(), || format!("fee_ladder[{i}].fixed_fee"), "must not be negative");
            }
            if let Some(previous) = i.checked_sub(1).map(|p| self.fee_ladder[p]) {
                v.check(
                    step.days_before < previous.days_before,
                    || format!("fee_ladder[{i}].days_before"),
                    "steps must be sorted by days_before, descending, without repeats",
                );
            }
        }
        v.finish()
    }

    /// The fee step that applies when cancelling at `now` for a performance at `starts_at`;
    /// `None` when no step applies, i.e. it is too late to cancel under this ladder.
    pub fn fee_step(&self, starts_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<FeeStep> {
        let days_before = (starts_at - now).num_days().max(0) as u64;
        self.fee_ladder.iter().copied().find(|step| days_before >= u64::from(step.days_before))
    }
}

fn within(v: &mut Validation, field: &'static str, value: Duration, (min, max): (Duration, Duration)) {
    v.check(value >= min && value <= max, || field.into(), format!("must be between {min} and {max}"));
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn at(day: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, day, h, 0, 0).single().expect("time")
    }

    fn config() -> SaleConfig {
        SaleConfig {
            mode: SaleMode::Reserved,
            waiting_room_opens_at: at(1, 10),
            sale_opens_at: at(1, 11),
            sale_closes_at: at(24, 17),
            per_buyer_limit: 4,
            hold_ttl: Duration::minutes(7),
            payment_deadline: Duration::minutes(15),
            fee_ladder: vec![
                FeeStep { days_before: 10, fee_basis_points: 0, fixed_fee: None },
                FeeStep { days_before: 3, fee_basis_points: 1_000, fixed_fee: None },
                FeeStep { days_before: 1, fee_basis_points: 3_000, fixed_fee: None },
            ],
            admission_rate_per_second: 200,
            max_active_shoppers: 5_000,
            admission_ttl: Duration::minutes(10),
        }
    }

    #[test]
    fn a_sensible_sale_validates() {
        config().validate(at(24, 19), at(1, 0)).expect("valid");
    }

    #[test]
    fn the_timeline_must_run_forward_and_end_before_the_curtain() {
        let mut c = config();
        c.waiting_room_opens_at = at(1, 12);
        c.sale_closes_at = at(24, 20);
        let Invalid(errors) = c.validate(at(24, 19), at(1, 0)).expect_err("invalid");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["waiting_room_opens_at", "sale_closes_at"]);
    }

    #[test]
    fn limits_and_ttls_are_bounded() {
        let mut c = config();
        c.per_buyer_limit = 0;
        c.hold_ttl = Duration::seconds(5);
        c.payment_deadline = Duration::days(30);
        c.admission_rate_per_second = 0;
        let Invalid(errors) = c.validate(at(24, 19), at(1, 0)).expect_err("invalid");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["per_buyer_limit", "hold_ttl", "payment_deadline", "admission_rate_per_second"]);
    }

    #[test]
    fn the_fee_ladder_must_be_unambiguous() {
        let mut c = config();
        c.fee_ladder.swap(0, 1);
        c.fee_ladder[2].fee_basis_points = 12_000;
        let Invalid(errors) = c.validate(at(24, 19), at(1, 0)).expect_err("invalid");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["fee_ladder[1].days_before", "fee_ladder[2].fee_basis_points"]);
    }

    #[test]
    fn the_first_step_whose_threshold_is_met_applies() {
        let c = config();
        let show = at(24, 19);
        assert_eq!(c.fee_step(show, at(10, 19)).map(|s| s.fee_basis_points), Some(0), "14 days before");
        assert_eq!(c.fee_step(show, at(21, 19)).map(|s| s.fee_basis_points), Some(1_000), "3 days before");
        assert_eq!(c.fee_step(show, at(22, 20)).map(|s| s.fee_basis_points), Some(3_000), "1 day 23 h before");
        assert_eq!(c.fee_step(show, at(24, 10)), None, "same day: too late to cancel");
    }
}
