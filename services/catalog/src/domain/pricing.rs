//! Pricing: what a seat costs for an audience at a performance. Pure, so the same answer comes
//! from the operator preview, the seat map, and booking's server-side order total.
//!
//! Concerts price by seat grade (VIP/R/S/A). Cinemas price by hall type × time-of-day band ×
//! audience, with optional per-grade surcharges (e.g. couple seats); bands are read in the
//! venue's time zone, so a 09:30 show is a morning show in Seoul whatever UTC says.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;

use super::money::Money;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Audience {
    Adult,
    Youth,
    Senior,
    Disabled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HallType {
    TwoD,
    ThreeD,
    Imax,
    FourDx,
    Premium,
    ConcertHall,
    Theatre,
    Arena,
    Stadium,
}

impl HallType {
    pub const ALL: [HallType; 9] = [
        HallType::TwoD,
        HallType::ThreeD,
        HallType::Imax,
        HallType::FourDx,
        HallType::Premium,
        HallType::ConcertHall,
        HallType::Theatre,
        HallType::Arena,
        HallType::Stadium,
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimeBand {
    Morning,
    Normal,
    LateNight,
}

/// Where the day's bands begin, in local time. Before `morning_from` it is still late night.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BandSchedule {
    morning_from: NaiveTime,
    normal_from: NaiveTime,
    late_night_from: NaiveTime,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("band start times must be in order: morning < normal < late night")]
    BandsOutOfOrder,
    #[error("no price for grade {grade:?}")]
    NoPriceForGrade { grade: String },
    #[error("no cinema price for {hall_type:?} / {band:?} / {audience:?}")]
    NoRule { hall_type: HallType, band: TimeBand, audience: Audience },
    #[error("a price list mixes currencies ({first} and {second})")]
    MixedCurrencies { first: String, second: String },
    #[error("price for {what} is negative")]
    Negative { what: String },
}

impl BandSchedule {
    pub fn new(
        morning_from: NaiveTime,
        normal_from: NaiveTime,
        late_night_from: NaiveTime,
    ) -> Result<Self, PricingError> {
        if morning_from < normal_from && normal_from < late_night_from {
            Ok(Self { morning_from, normal_from, late_night_from })
        } else {
            Err(PricingError::BandsOutOfOrder)
        }
    }

    /// Each band with the local time it starts.
    pub fn starts(&self) -> [(TimeBand, NaiveTime); 3] {
        [
            (TimeBand::Morning, self.morning_from),
            (TimeBand::Normal, self.normal_from),
            (TimeBand::LateNight, self.late_night_from),
        ]
    }

    /// The band a local time of day falls in; each band includes its start and excludes the next.
    pub fn band_at(&self, time: NaiveTime) -> TimeBand {
        if time >= self.late_night_from || time < self.morning_from {
            TimeBand::LateNight
        } else if time >= self.normal_from {
            TimeBand::Normal
        } else {
            TimeBand::Morning
        }
    }
}

/// Concert pricing: one price per seat grade.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TierPricing {
    pub prices: BTreeMap<String, Money>,
}

/// Cinema pricing rules of one venue.
#[derive(Debug, Clone, PartialEq)]
pub struct CinemaPricing {
    pub schedule: BandSchedule,
    pub time_zone: Tz,
    pub prices: HashMap<(HallType, TimeBand, Audience), Money>,
    /// Added to the rule's price for seats of these grades.
    pub surcharges: BTreeMap<String, Money>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PriceList {
    Tiers(TierPricing),
    Cinema(CinemaPricing),
}

/// What is being priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceQuery<'a> {
    pub grade: &'a str,
    pub audience: Audience,
    pub hall_type: HallType,
    pub starts_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    pub price: Money,
    /// The time band applied, for cinema prices.
    pub band: Option<TimeBand>,
}

impl PriceList {
    pub fn quote(&self, query: &PriceQuery<'_>) -> Result<Quote, PricingError> {
        match self {
            PriceList::Tiers(tiers) => tiers
                .prices
                .get(query.grade)
                .map(|price| Quote { price: *price, band: None })
                .ok_or_else(|| PricingError::NoPriceForGrade { grade: query.grade.to_owned() }),
            PriceList::Cinema(cinema) => {
                let local = query.starts_at.with_timezone(&cinema.time_zone).time();
                let band = cinema.schedule.band_at(local);
                let base = cinema.prices.get(&(query.hall_type, band, query.audience)).ok_or(PricingError::NoRule {
                    hall_type: query.hall_type,
                    band,
                    audience: query.audience,
                })?;
                let surcharge = cinema.surcharges.get(query.grade).map_or(0, |s| s.minor);
                Ok(Quote { price: Money::new(base.minor + surcharge, base.currency), band: Some(band) })
            }
        }
    }

    /// Every price a ticket of one performance can have: per grade for tiers (any audience), per
    /// grade and audience for cinema rules (the performance's band applied). What booking charges.
    pub fn resolve(
        &self,
        grades: &std::collections::HashSet<&str>,
        hall_type: HallType,
        starts_at: DateTime<Utc>,
    ) -> Vec<(String, Option<Audience>, Money)> {
        let mut resolved = Vec::new();
        match self {
            PriceList::Tiers(tiers) => {
                resolved.extend(tiers.prices.iter().map(|(grade, price)| (grade.clone(), None, *price)));
            }
            PriceList::Cinema(_) => {
                let mut grades: Vec<&str> = grades.iter().copied().collect();
                grades.sort_unstable();
                for grade in grades {
                    for audience in [Audience::Adult, Audience::Youth, Audience::Senior, Audience::Disabled] {
                        // An audience without a rule is simply not offered.
                        if let Ok(quote) = self.quote(&PriceQuery { grade, audience, hall_type, starts_at }) {
                            resolved.push((grade.to_owned(), Some(audience), quote.price));
                        }
                    }
                }
            }
        }
        resolved
    }

    /// One currency, no negative prices.
    pub fn validate(&self) -> Result<(), PricingError> {
        let prices: Vec<(String, Money)> = match self {
            PriceList::Tiers(tiers) => tiers.prices.iter().map(|(g, p)| (format!("grade {g}"), *p)).collect(),
            PriceList::Cinema(cinema) => cinema
                .prices
                .iter()
                .map(|(rule, p)| (format!("{rule:?}"), *p))
                .chain(cinema.surcharges.iter().map(|(g, p)| (format!("surcharge {g}"), *p)))
                .collect(),
        };
        let mut currency = None;
        for (what, price) in prices {
            if price.is_negative() {
                return Err(PricingError::Negative { what });
            }
            match currency {
                None => currency = Some(price.currency),
                Some(first) if first != price.currency => {
                    return Err(PricingError::MixedCurrencies {
                        first: first.to_string(),
                        second: price.currency.to_string(),
                    });
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;
    use crate::domain::money::Currency;

    fn t(h: u32, m: u32, s: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, s).expect("valid time")
    }

    fn krw(minor: i64) -> Money {
        Money::new(minor, Currency::KRW)
    }

    fn schedule() -> BandSchedule {
        BandSchedule::new(t(6, 0, 0), t(10, 0, 0), t(22, 0, 0)).expect("ordered")
    }

    fn cinema(time_zone: Tz) -> PriceList {
        let mut prices = HashMap::new();
        for (band, adult, youth) in [
            (TimeBand::Morning, 9_000, 7_000),
            (TimeBand::Normal, 14_000, 11_000),
            (TimeBand::LateNight, 12_000, 10_000),
        ] {
            prices.insert((HallType::TwoD, band, Audience::Adult), krw(adult));
            prices.insert((HallType::TwoD, band, Audience::Youth), krw(youth));
            prices.insert((HallType::Imax, band, Audience::Adult), krw(adult + 6_000));
        }
        PriceList::Cinema(CinemaPricing {
            schedule: schedule(),
            time_zone,
            prices,
            surcharges: [("COUPLE".to_owned(), krw(2_000))].into(),
        })
    }

    fn query(grade: &str, audience: Audience, hall_type: HallType, starts_at: DateTime<Utc>) -> PriceQuery<'_> {
        PriceQuery { grade, audience, hall_type, starts_at }
    }

    #[test]
    fn resolving_a_cinema_show_lists_each_grade_for_each_priced_audience() {
        // 09:30 in Seoul: the morning band.
        let starts_at = chrono_tz::Asia::Seoul.with_ymd_and_hms(2026, 12, 1, 9, 30, 0).unwrap().with_timezone(&Utc);
        let grades = ["STD", "COUPLE"].into_iter().collect();
        let resolved = cinema(chrono_tz::Asia::Seoul).resolve(&grades, HallType::TwoD, starts_at);
        let prices: Vec<_> = resolved.iter().map(|(g, a, m)| (g.as_str(), *a, m.minor)).collect();
        assert_eq!(
            prices,
            [
                ("COUPLE", Some(Audience::Adult), 11_000),
                ("COUPLE", Some(Audience::Youth), 9_000),
                ("STD", Some(Audience::Adult), 9_000),
                ("STD", Some(Audience::Youth), 7_000),
            ]
        );
    }

    #[test]
    fn each_band_includes_its_start_and_excludes_the_next() {
        let s = schedule();
        let cases = [
            (t(0, 0, 0), TimeBand::LateNight),
            (t(5, 59, 59), TimeBand::LateNight),
            (t(6, 0, 0), TimeBand::Morning),
            (t(9, 59, 59), TimeBand::Morning),
            (t(10, 0, 0), TimeBand::Normal),
            (t(21, 59, 59), TimeBand::Normal),
            (t(22, 0, 0), TimeBand::LateNight),
            (t(23, 59, 59), TimeBand::LateNight),
        ];
        for (time, band) in cases {
            assert_eq!(s.band_at(time), band, "{time}");
        }
    }

    #[test]
    fn bands_must_be_in_order() {
        assert_eq!(BandSchedule::new(t(10, 0, 0), t(6, 0, 0), t(22, 0, 0)), Err(PricingError::BandsOutOfOrder));
        assert_eq!(BandSchedule::new(t(6, 0, 0), t(6, 0, 0), t(22, 0, 0)), Err(PricingError::BandsOutOfOrder));
    }

    #[test]
    fn cinema_prices_follow_the_venue_clock_hall_and_audience() {
        let seoul = cinema(chrono_tz::Asia::Seoul);
        // 00:59 UTC is 09:59 in Seoul (morning); 01:00 UTC is 10:00 (normal).
        let morning = Utc.with_ymd_and_hms(2026, 11, 21, 0, 59, 0).single().expect("time");
        let normal = Utc.with_ymd_and_hms(2026, 11, 21, 1, 0, 0).single().expect("time");
        let late = Utc.with_ymd_and_hms(2026, 11, 21, 14, 30, 0).single().expect("time"); // 23:30 KST

        let quote = |grade, audience, hall, at| seoul.quote(&query(grade, audience, hall, at)).expect("priced");
        assert_eq!(
            quote("STD", Audience::Adult, HallType::TwoD, morning),
            Quote { price: krw(9_000), band: Some(TimeBand::Morning) }
        );
        assert_eq!(quote("STD", Audience::Adult, HallType::TwoD, normal).price, krw(14_000));
        assert_eq!(quote("STD", Audience::Youth, HallType::TwoD, normal).price, krw(11_000));
        assert_eq!(quote("STD", Audience::Adult, HallType::Imax, late).price, krw(18_000));
        assert_eq!(quote("COUPLE", Audience::Adult, HallType::TwoD, normal).price, krw(16_000), "surcharge applies");

        let missing = seoul.quote(&query("STD", Audience::Senior, HallType::TwoD, normal));
        assert_eq!(
            missing,
            Err(PricingError::NoRule { hall_type: HallType::TwoD, band: TimeBand::Normal, audience: Audience::Senior })
        );
    }

    #[test]
    fn daylight_saving_time_moves_the_band_not_the_price_rules() {
        let new_york = cinema(chrono_tz::America::New_York);
        // 14:00 UTC: 09:00 EST the day before DST starts, 10:00 EDT the day after.
        let before = Utc.with_ymd_and_hms(2026, 3, 7, 14, 0, 0).single().expect("time");
        let after = Utc.with_ymd_and_hms(2026, 3, 9, 14, 0, 0).single().expect("time");
        let band = |at| new_york.quote(&query("STD", Audience::Adult, HallType::TwoD, at)).expect("priced").band;
        assert_eq!(band(before), Some(TimeBand::Morning));
        assert_eq!(band(after), Some(TimeBand::Normal));
    }

    #[test]
    fn concert_tiers_price_by_grade_for_every_audience() {
        let tiers = PriceList::Tiers(TierPricing {
            prices: [("VIP".to_owned(), krw(198_000)), ("R".to_owned(), krw(165_000))].into(),
        });
        let at = Utc::now();
        for audience in [Audience::Adult, Audience::Youth] {
            assert_eq!(tiers.quote(&query("VIP", audience, HallType::Arena, at)).expect("priced").price, krw(198_000));
        }
        assert_eq!(
            tiers.quote(&query("S", Audience::Adult, HallType::Arena, at)),
            Err(PricingError::NoPriceForGrade { grade: "S".into() })
        );
    }

    #[test]
    fn price_lists_use_one_currency_and_no_negative_prices() {
        let mixed = PriceList::Tiers(TierPricing {
            prices: [("R".to_owned(), krw(1)), ("S".to_owned(), Money::new(1, Currency::USD))].into(),
        });
        assert!(matches!(mixed.validate(), Err(PricingError::MixedCurrencies { .. })));
        let negative = PriceList::Tiers(TierPricing { prices: [("R".to_owned(), krw(-1))].into() });
        assert!(matches!(negative.validate(), Err(PricingError::Negative { .. })));
        assert_eq!(cinema(chrono_tz::Asia::Seoul).validate(), Ok(()));
    }
}
