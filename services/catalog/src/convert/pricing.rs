//! Money, price tiers and cinema pricing rules across the contract boundary.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveTime, Timelike as _};
use floodgate_proto::{catalog::v1 as wire, types::v1 as types};

use crate::domain::{
    FieldError, Invalid, Validation,
    money::{Currency, Money},
    pricing::{Audience, BandSchedule, CinemaPricing, TierPricing, TimeBand},
};

use super::{hall_type_from_wire, hall_type_to_wire};

pub fn money_from_wire(field: &str, money: Option<&types::Money>) -> Result<Money, FieldError> {
    let money = money.ok_or_else(|| FieldError::new(field, "is required"))?;
    let currency = Currency::parse(&money.currency)
        .ok_or_else(|| FieldError::new(format!("{field}.currency"), "must be an ISO 4217 code such as KRW"))?;
    if money.minor < 0 {
        return Err(FieldError::new(format!("{field}.minor"), "must not be negative"));
    }
    Ok(Money::new(money.minor, currency))
}

pub fn money_to_wire(money: Money) -> types::Money {
    types::Money { minor: money.minor, currency: money.currency.code().to_owned() }
}

pub fn audience_from_wire(audience: types::Audience) -> Option<Audience> {
    match audience {
        types::Audience::Unspecified => None,
        types::Audience::Adult => Some(Audience::Adult),
        types::Audience::Youth => Some(Audience::Youth),
        types::Audience::Senior => Some(Audience::Senior),
        types::Audience::Disabled => Some(Audience::Disabled),
    }
}

pub fn audience_to_wire(audience: Audience) -> types::Audience {
    match audience {
        Audience::Adult => types::Audience::Adult,
        Audience::Youth => types::Audience::Youth,
        Audience::Senior => types::Audience::Senior,
        Audience::Disabled => types::Audience::Disabled,
    }
}

fn band_from_wire(band: wire::TimeBand) -> Option<TimeBand> {
    match band {
        wire::TimeBand::Unspecified => None,
        wire::TimeBand::Morning => Some(TimeBand::Morning),
        wire::TimeBand::Normal => Some(TimeBand::Normal),
        wire::TimeBand::LateNight => Some(TimeBand::LateNight),
    }
}

pub fn band_to_wire(band: TimeBand) -> wire::TimeBand {
    match band {
        TimeBand::Morning => wire::TimeBand::Morning,
        TimeBand::Normal => wire::TimeBand::Normal,
        TimeBand::LateNight => wire::TimeBand::LateNight,
    }
}

/// Concert tiers, and each grade's display name.
pub fn tiers_from_wire(tiers: &[wire::PriceTier]) -> Result<(TierPricing, BTreeMap<String, String>), Invalid> {
    let mut v = Validation::default();
    let mut prices = BTreeMap::new();
    let mut names = BTreeMap::new();
    for (i, tier) in tiers.iter().enumerate() {
        let code = tier.grade_code.trim();
        if code.is_empty() {
            v.push(format!("tiers[{i}].grade_code"), "must not be empty");
            continue;
        }
        match money_from_wire(&format!("tiers[{i}].price"), tier.price.as_ref()) {
            Ok(price) => {
                if prices.insert(code.to_owned(), price).is_some() {
                    v.push(format!("tiers[{i}].grade_code"), format!("{code:?} is priced twice"));
                }
                names.insert(code.to_owned(), tier.grade_name.clone());
            }
            Err(e) => v.push(e.field, e.reason),
        }
    }
    v.check(!tiers.is_empty(), || "tiers".into(), "at least one grade must be priced");
    v.finish()?;
    Ok((TierPricing { prices }, names))
}

/// A venue's cinema rules; bands are read in the venue's `time_zone`.
pub fn cinema_pricing_from_wire(
    rules: &wire::PricingRules,
    time_zone: chrono_tz::Tz,
) -> Result<CinemaPricing, Invalid> {
    let mut v = Validation::default();
    let mut starts: HashMap<TimeBand, NaiveTime> = HashMap::new();
    for (i, boundary) in rules.bands.iter().enumerate() {
        let band = band_from_wire(boundary.band());
        let time = NaiveTime::from_num_seconds_from_midnight_opt(boundary.starts_at_minute.saturating_mul(60), 0)
            .filter(|_| boundary.starts_at_minute < 24 * 60);
        match (band, time) {
            (Some(band), Some(time)) => {
                if starts.insert(band, time).is_some() {
                    v.push(format!("bands[{i}].band"), "each band is given once");
                }
            }
            (None, _) => v.push(format!("bands[{i}].band"), "must be specified"),
            (_, None) => v.push(format!("bands[{i}].starts_at_minute"), "must be within the day (0–1439)"),
        }
    }
    let schedule =
        match (starts.get(&TimeBand::Morning), starts.get(&TimeBand::Normal), starts.get(&TimeBand::LateNight)) {
            (Some(m), Some(n), Some(l)) => match BandSchedule::new(*m, *n, *l) {
                Ok(schedule) => Some(schedule),
                Err(e) => {
                    v.push("bands", e.to_string());
                    None
                }
            },
            _ => {
                v.push("bands", "morning, normal and late-night starts are all required");
                None
            }
        };

    let mut prices = HashMap::new();
    for (i, rule) in rules.rules.iter().enumerate() {
        let at = |f: &str| format!("rules[{i}].{f}");
        let hall_type = hall_type_from_wire(rule.hall_type());
        let band = band_from_wire(rule.band());
        let audience = audience_from_wire(rule.audience());
        v.check(hall_type.is_some(), || at("hall_type"), "must be specified");
        v.check(band.is_some(), || at("band"), "must be specified");
        v.check(audience.is_some(), || at("audience"), "must be specified");
        match money_from_wire(&at("price"), rule.price.as_ref()) {
            Ok(price) => {
                if let (Some(h), Some(b), Some(a)) = (hall_type, band, audience)
                    && prices.insert((h, b, a), price).is_some()
                {
                    v.push(at("hall_type"), "this hall type, band and audience is priced twice");
                }
            }
            Err(e) => v.push(e.field, e.reason),
        }
    }
    let mut surcharges = BTreeMap::new();
    for (i, surcharge) in rules.surcharges.iter().enumerate() {
        match money_from_wire(&format!("surcharges[{i}].surcharge"), surcharge.surcharge.as_ref()) {
            Ok(money) => {
                surcharges.insert(surcharge.grade_code.clone(), money);
            }
            Err(e) => v.push(e.field, e.reason),
        }
    }
    v.finish()?;
    let Some(schedule) = schedule else { return Err(Invalid(vec![FieldError::new("bands", "invalid")])) };
    Ok(CinemaPricing { schedule, time_zone, prices, surcharges })
}

pub fn cinema_pricing_to_wire(pricing: &CinemaPricing) -> wire::PricingRules {
    let mut rules: Vec<_> = pricing
        .prices
        .iter()
        .map(|((hall_type, band, audience), price)| wire::PricingRule {
            hall_type: hall_type_to_wire(*hall_type).into(),
            band: band_to_wire(*band).into(),
            audience: audience_to_wire(*audience).into(),
            price: Some(money_to_wire(*price)),
        })
        .collect();
    // Deterministic order: stored bytes and responses do not depend on hash order.
    rules.sort_by_key(|r| (r.hall_type, r.band, r.audience));
    wire::PricingRules {
        venue_id: String::new(),
        bands: pricing
            .schedule
            .starts()
            .into_iter()
            .map(|(band, time)| wire::TimeBandBoundary {
                band: band_to_wire(band).into(),
                starts_at_minute: time.num_seconds_from_midnight() / 60,
            })
            .collect(),
        rules,
        time_zone: pricing.time_zone.name().to_owned(),
        surcharges: pricing
            .surcharges
            .iter()
            .map(|(grade, money)| wire::GradeSurcharge {
                grade_code: grade.clone(),
                surcharge: Some(money_to_wire(*money)),
            })
            .collect(),
        version: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::pricing::HallType;

    fn krw(minor: i64) -> Option<types::Money> {
        Some(types::Money { minor, currency: "KRW".into() })
    }

    fn rules() -> wire::PricingRules {
        wire::PricingRules {
            bands: vec![
                wire::TimeBandBoundary { band: wire::TimeBand::Morning.into(), starts_at_minute: 6 * 60 },
                wire::TimeBandBoundary { band: wire::TimeBand::Normal.into(), starts_at_minute: 10 * 60 },
                wire::TimeBandBoundary { band: wire::TimeBand::LateNight.into(), starts_at_minute: 22 * 60 },
            ],
            rules: vec![wire::PricingRule {
                hall_type: wire::HallType::Imax.into(),
                band: wire::TimeBand::Normal.into(),
                audience: types::Audience::Adult.into(),
                price: krw(20_000),
            }],
            surcharges: vec![wire::GradeSurcharge { grade_code: "COUPLE".into(), surcharge: krw(2_000) }],
            ..Default::default()
        }
    }

    #[test]
    fn cinema_rules_round_trip() {
        let pricing = cinema_pricing_from_wire(&rules(), chrono_tz::Asia::Seoul).expect("valid");
        assert_eq!(pricing.prices[&(HallType::Imax, TimeBand::Normal, Audience::Adult)].minor, 20_000);
        let back = cinema_pricing_from_wire(&cinema_pricing_to_wire(&pricing), chrono_tz::Asia::Seoul).expect("valid");
        assert_eq!(back, pricing);
    }

    #[test]
    fn incomplete_rules_name_their_fields() {
        let mut broken = rules();
        broken.bands.pop();
        broken.rules[0].audience = types::Audience::Unspecified.into();
        broken.rules[0].price = Some(types::Money { minor: 1, currency: "won".into() });
        let Invalid(errors) = cinema_pricing_from_wire(&broken, chrono_tz::Asia::Seoul).expect_err("invalid");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["bands", "rules[0].audience", "rules[0].price.currency"]);
    }

    #[test]
    fn tiers_refuse_duplicates_and_bad_money() {
        let tiers = [
            wire::PriceTier { grade_code: "VIP".into(), grade_name: "VIP".into(), price: krw(198_000) },
            wire::PriceTier { grade_code: "VIP".into(), grade_name: "VIP".into(), price: krw(1) },
            wire::PriceTier { grade_code: "R".into(), grade_name: "R".into(), price: krw(-5) },
        ];
        let Invalid(errors) = tiers_from_wire(&tiers).expect_err("invalid");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["tiers[1].grade_code", "tiers[2].price.minor"]);
    }
}
