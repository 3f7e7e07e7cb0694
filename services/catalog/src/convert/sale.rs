//! Sale configuration across the contract boundary.

use chrono::{DateTime, Duration, Utc};
use floodgate_proto::catalog::v1 as wire;

use crate::domain::{
    Invalid, Validation,
    sale::{FeeStep, SaleConfig, SaleMode},
};

use super::{money_from_wire, money_to_wire};

pub fn sale_config_from_wire(config: &wire::SaleConfig) -> Result<SaleConfig, Invalid> {
    let mut v = Validation::default();
    let mode = match config.mode() {
        wire::SaleMode::Reserved => Some(SaleMode::Reserved),
        wire::SaleMode::GeneralAdmission => Some(SaleMode::GeneralAdmission),
        wire::SaleMode::Lottery => Some(SaleMode::Lottery),
        wire::SaleMode::Unspecified => None,
    };
    v.check(mode.is_some(), || "sale_config.mode".into(), "must be specified");
    let mut time = |field: &str, t: &Option<prost_types::Timestamp>| {
        let parsed = t.as_ref().and_then(timestamp);
        v.check(parsed.is_some(), || format!("sale_config.{field}"), "is required");
        parsed
    };
    let waiting_room_opens_at = time("waiting_room_opens_at", &config.waiting_room_opens_at);
    let sale_opens_at = time("sale_opens_at", &config.sale_opens_at);
    let sale_closes_at = time("sale_closes_at", &config.sale_closes_at);
    let mut span = |field: &str, d: &Option<prost_types::Duration>| {
        let parsed = d.as_ref().and_then(duration);
        v.check(parsed.is_some(), || format!("sale_config.{field}"), "is required");
        parsed.unwrap_or_else(Duration::zero)
    };
    let hold_ttl = span("hold_ttl", &config.hold_ttl);
    let payment_deadline = span("payment_deadline", &config.payment_deadline);
    let admission_ttl = span("admission_ttl", &config.admission_ttl);
    let mut fee_ladder = Vec::with_capacity(config.fee_ladder.len());
    for (i, step) in config.fee_ladder.iter().enumerate() {
        let fixed_fee = match &step.fixed_fee {
            None => None,
            Some(m) => match money_from_wire(&format!("sale_config.fee_ladder[{i}].fixed_fee"), Some(m)) {
                Ok(money) => Some(money),
                Err(e) => {
                    v.push(e.field, e.reason);
                    None
                }
            },
        };
        fee_ladder.push(FeeStep { days_before: step.days_before, fee_basis_points: step.fee_basis_points, fixed_fee });
    }
    v.finish()?;
    let (Some(mode), Some(waiting_room_opens_at), Some(sale_opens_at), Some(sale_closes_at)) =
        (mode, waiting_room_opens_at, sale_opens_at, sale_closes_at)
    else {
        unreachable!("every missing field was reported above")
    };
    Ok(SaleConfig {
        mode,
        waiting_room_opens_at,
        sale_opens_at,
        sale_closes_at,
        per_buyer_limit: config.per_buyer_limit,
        hold_ttl,
        payment_deadline,
        fee_ladder,
        admission_rate_per_second: config.admission_rate_per_second,
        max_active_shoppers: config.max_active_shoppers,
        admission_ttl,
    })
}

pub fn sale_config_to_wire(config: &SaleConfig) -> wire::SaleConfig {
    let mode = match config.mode {
        SaleMode::Reserved => wire::SaleMode::Reserved,
        SaleMode::GeneralAdmission => wire::SaleMode::GeneralAdmission,
        SaleMode::Lottery => wire::SaleMode::Lottery,
    };
    wire::SaleConfig {
        mode: mode.into(),
        waiting_room_opens_at: Some(to_timestamp(config.waiting_room_opens_at)),
        sale_opens_at: Some(to_timestamp(config.sale_opens_at)),
        sale_closes_at: Some(to_timestamp(config.sale_closes_at)),
        per_buyer_limit: config.per_buyer_limit,
        hold_ttl: Some(to_duration(config.hold_ttl)),
        payment_deadline: Some(to_duration(config.payment_deadline)),
        fee_ladder: config
            .fee_ladder
            .iter()
            .map(|step| wire::CancellationFeeStep {
                days_before: step.days_before,
                fee_basis_points: step.fee_basis_points,
                fixed_fee: step.fixed_fee.map(money_to_wire),
            })
            .collect(),
        admission_rate_per_second: config.admission_rate_per_second,
        max_active_shoppers: config.max_active_shoppers,
        admission_ttl: Some(to_duration(config.admission_ttl)),
    }
}

pub fn timestamp(t: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?)
}

pub fn duration(d: &prost_types::Duration) -> Option<Duration> {
    (d.seconds >= 0 && d.nanos >= 0).then(|| Duration::seconds(d.seconds) + Duration::nanoseconds(i64::from(d.nanos)))
}

pub fn to_timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: t.timestamp(), nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0) }
}

pub fn to_duration(d: Duration) -> prost_types::Duration {
    prost_types::Duration { seconds: d.num_seconds(), nanos: d.subsec_nanos() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire_config() -> wire::SaleConfig {
        let at = |s| Some(prost_types::Timestamp { seconds: s, nanos: 0 });
        let minutes = |m: i64| Some(prost_types::Duration { seconds: m * 60, nanos: 0 });
        wire::SaleConfig {
            mode: wire::SaleMode::Reserved.into(),
            waiting_room_opens_at: at(1_800_000_000),
            sale_opens_at: at(1_800_003_600),
            sale_closes_at: at(1_801_000_000),
            per_buyer_limit: 4,
            hold_ttl: minutes(7),
            payment_deadline: minutes(15),
            fee_ladder: vec![wire::CancellationFeeStep { days_before: 7, fee_basis_points: 1_000, fixed_fee: None }],
            admission_rate_per_second: 100,
            max_active_shoppers: 2_000,
            admission_ttl: minutes(10),
        }
    }

    #[test]
    fn sale_configs_round_trip() {
        let config = sale_config_from_wire(&wire_config()).expect("valid");
        assert_eq!(config.hold_ttl, Duration::minutes(7));
        assert_eq!(sale_config_to_wire(&config), wire_config());
    }

    #[test]
    fn missing_times_and_mode_are_field_errors() {
        let broken = wire::SaleConfig { mode: 0, sale_opens_at: None, hold_ttl: None, ..wire_config() };
        let Invalid(errors) = sale_config_from_wire(&broken).expect_err("invalid");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["sale_config.mode", "sale_config.sale_opens_at", "sale_config.hold_ttl"]);
    }
}
