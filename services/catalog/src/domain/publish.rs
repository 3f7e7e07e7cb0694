//! Whether a performance may be published: everything booking and the waiting room will rely on
//! must be present and consistent, because after publishing they act on it at full speed.

use chrono::{DateTime, Utc};

use super::{
    Invalid, Validation,
    pricing::{Audience, HallType, PriceList, TimeBand},
    sale::SaleConfig,
    seat_map::SeatMap,
};

/// What publishing a performance would freeze.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub is_draft: bool,
    pub starts_at: DateTime<Utc>,
    pub hall_type: HallType,
    pub seat_map: Option<&'a SeatMap>,
    pub prices: Option<&'a PriceList>,
    pub sale: Option<&'a SaleConfig>,
}

/// Every reason the candidate cannot be published, or `Ok`.
pub fn check(candidate: &Candidate<'_>, now: DateTime<Utc>) -> Result<(), Invalid> {
    let mut v = Validation::default();
    v.check(candidate.is_draft, || "status".into(), "only a draft performance can be published");
    v.check(candidate.starts_at > now, || "starts_at".into(), "the performance has already started");

    match candidate.seat_map {
        None => v.push("seat_map", "the hall has no seat map"),
        Some(map) => {
            if let Err(Invalid(errors)) = map.validate(None) {
                for e in errors {
                    v.push(format!("seat_map.{}", e.field), e.reason);
                }
            }
        }
    }
    match candidate.sale {
        None => v.push("sale_config", "is required"),
        Some(sale) => {
            if let Err(Invalid(errors)) = sale.validate(candidate.starts_at, now) {
                for e in errors {
                    v.push(format!("sale_config.{}", e.field), e.reason);
                }
            }
        }
    }
    match candidate.prices {
        None => v.push("prices", "no price tiers for this performance and no pricing rules for its venue"),
        Some(prices) => {
            if let Err(e) = prices.validate() {
                v.push("prices", e.to_string());
            }
            match prices {
                PriceList::Tiers(tiers) => {
                    let capacity = candidate.seat_map.map(SeatMap::capacity).unwrap_or_default();
                    for grade in capacity.by_grade.keys() {
                        v.check(
                            tiers.prices.contains_key(grade),
                            || "prices".into(),
                            format!("seats of grade {grade:?} have no price"),
                        );
                    }
                }
                PriceList::Cinema(cinema) => {
                    for band in [TimeBand::Morning, TimeBand::Normal, TimeBand::LateNight] {
                        v.check(
                            cinema.prices.contains_key(&(candidate.hall_type, band, Audience::Adult)),
                            || "prices".into(),
                            format!("no adult price for {:?} halls in the {band:?} band", candidate.hall_type),
                        );
                    }
                }
            }
        }
    }
    v.finish()
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone as _};

    use super::*;
    use crate::domain::{
        layout::{SectionLayout, generate},
        money::{Currency, Money},
        pricing::TierPricing,
        sale::SaleMode,
        seat_map::Point,
    };

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, day, 19, 0, 0).single().expect("time")
    }

    fn map() -> SeatMap {
        generate(
            &[
                SectionLayout::Standing { id: "floor".into(), name: "Floor".into(), grade: "GA".into(), capacity: 100 },
                SectionLayout::Standing { id: "vip".into(), name: "VIP".into(), grade: "VIP".into(), capacity: 10 },
            ],
            Point::default(),
        )
    }

    fn prices(grades: &[&str]) -> PriceList {
        PriceList::Tiers(TierPricing {
            prices: grades.iter().map(|g| ((*g).to_owned(), Money::new(10_000, Currency::KRW))).collect(),
        })
    }

    fn sale() -> SaleConfig {
        SaleConfig {
            mode: SaleMode::GeneralAdmission,
            waiting_room_opens_at: at(1),
            sale_opens_at: at(1) + Duration::hours(1),
            sale_closes_at: at(24),
            per_buyer_limit: 4,
            hold_ttl: Duration::minutes(7),
            payment_deadline: Duration::minutes(15),
            fee_ladder: Vec::new(),
            admission_rate_per_second: 100,
            max_active_shoppers: 1_000,
            admission_ttl: Duration::minutes(10),
        }
    }

    #[test]
    fn a_complete_draft_can_be_published() {
        let (map, prices, sale) = (map(), prices(&["GA", "VIP"]), sale());
        let candidate = Candidate {
            is_draft: true,
            starts_at: at(24),
            hall_type: HallType::Arena,
            seat_map: Some(&map),
            prices: Some(&prices),
            sale: Some(&sale),
        };
        check(&candidate, at(1) - Duration::days(1)).expect("publishable");
    }

    #[test]
    fn every_gap_is_reported_at_once() {
        let (map, prices) = (map(), prices(&["GA"]));
        let mut sale = sale();
        sale.per_buyer_limit = 0;
        let candidate = Candidate {
            is_draft: false,
            starts_at: at(24),
            hall_type: HallType::Arena,
            seat_map: Some(&map),
            prices: Some(&prices),
            sale: Some(&sale),
        };
        let Invalid(errors) = check(&candidate, at(2)).expect_err("not publishable");
        let text: Vec<_> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "status: only a draft performance can be published",
                "sale_config.per_buyer_limit: must be 1–20",
                "prices: seats of grade \"VIP\" have no price",
            ]
        );
    }

    #[test]
    fn nothing_configured_is_three_errors() {
        let candidate = Candidate {
            is_draft: true,
            starts_at: at(24),
            hall_type: HallType::Arena,
            seat_map: None,
            prices: None,
            sale: None,
        };
        let Invalid(errors) = check(&candidate, at(2)).expect_err("not publishable");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["seat_map", "sale_config", "prices"]);
    }
}
