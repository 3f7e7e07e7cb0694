//! What operators send to set up a sale, and how it becomes the catalog's messages. Every body
//! refuses unknown fields; the catalog validates the values (names, time zones, overlaps, prices)
//! and its stable error codes pass through.

use chrono::{DateTime, Utc};
use floodgate_proto::{catalog::v1 as catalog, types::v1 as types};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod sale;
mod seat_map;

#[cfg(test)]
use sale::{Audience, PricingRule, SaleMode, TimeBand};
pub use sale::{PriceTiers, PricingRules, SaleConfig};
pub use seat_map::{GeneratedSeatMap, SeatMap};

/// The lower-case JSON word of a serde enum, upper-cased as in the proto names.
fn word<E: Serialize>(value: &E) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_uppercase)).unwrap_or_default()
}

/// The proto enum value named `<prefix>_<WORD>` for a JSON word (0, unspecified, if none is).
fn proto_enum<E: Serialize, P: Into<i32>>(prefix: &str, value: &E, parse: fn(&str) -> Option<P>) -> i32 {
    parse(&format!("{prefix}_{}", word(value))).map_or(0, Into::into)
}

fn timestamp(t: &DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: t.timestamp(), nanos: 0 }
}

fn seconds(s: u32) -> prost_types::Duration {
    prost_types::Duration { seconds: i64::from(s), nanos: 0 }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// Minor units (KRW has none: 15000 is ₩15,000).
    pub minor: i64,
    /// ISO 4217, e.g. "KRW".
    pub currency: String,
}

impl From<&Money> for types::Money {
    fn from(m: &Money) -> Self {
        types::Money { minor: m.minor, currency: m.currency.clone() }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

impl From<Point> for catalog::Point {
    fn from(p: Point) -> Self {
        catalog::Point { x: p.x, y: p.y }
    }
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Address {
    pub line1: String,
    pub line2: String,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Venue {
    pub name: String,
    /// IANA time zone, e.g. "Asia/Seoul": pricing bands and local showtimes are read in it.
    pub time_zone: String,
    #[serde(default)]
    pub address: Address,
    #[serde(default)]
    pub latitude: f64,
    #[serde(default)]
    pub longitude: f64,
    #[serde(default)]
    pub transit_notes: String,
    #[serde(default)]
    pub parking_notes: String,
    #[serde(default)]
    pub contact_phone: String,
    #[serde(default)]
    pub contact_email: String,
}

impl From<Venue> for catalog::VenueFields {
    fn from(v: Venue) -> Self {
        let a = v.address;
        catalog::VenueFields {
            name: v.name,
            address: Some(catalog::Address {
                line1: a.line1,
                line2: a.line2,
                city: a.city,
                region: a.region,
                postal_code: a.postal_code,
                country: a.country,
            }),
            latitude: v.latitude,
            longitude: v.longitude,
            transit_notes: v.transit_notes,
            parking_notes: v.parking_notes,
            contact_phone: v.contact_phone,
            contact_email: v.contact_email,
            time_zone: v.time_zone,
        }
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VenueUpdate {
    /// The version read; a concurrent change makes this a 409.
    pub expected_version: i64,
    pub venue: Venue,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HallType {
    Standard,
    Premium,
    Imax,
    #[serde(rename = "4dx")]
    FourDx,
    ConcertHall,
    Arena,
    Stadium,
    #[serde(rename = "3d")]
    ThreeD,
    Theatre,
}

impl HallType {
    pub fn proto(self) -> i32 {
        proto_enum("HALL_TYPE", &self, catalog::HallType::from_str_name)
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hall {
    pub name: String,
    pub hall_type: HallType,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Concert,
    Movie,
    Musical,
    Theatre,
    Sports,
    Exhibition,
    Other,
}

impl Category {
    pub fn proto(self) -> i32 {
        proto_enum("EVENT_CATEGORY", &self, catalog::EventCategory::from_str_name)
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub title: String,
    pub category: Category,
    /// "ALL", "12", "15" or "19": buyers' birth dates are checked against it.
    pub age_rating: String,
    pub running_time_minutes: u32,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub genres: Vec<String>,
    #[serde(default)]
    pub performers: Vec<String>,
    #[serde(default)]
    pub poster_url: String,
    #[serde(default)]
    pub still_urls: Vec<String>,
    #[serde(default)]
    pub trailer_url: String,
}

impl From<Event> for catalog::EventFields {
    fn from(e: Event) -> Self {
        catalog::EventFields {
            title: e.title,
            description: e.description,
            category: e.category.proto(),
            genre: e.genres.first().cloned().unwrap_or_default(),
            age_rating: e.age_rating,
            running_time: Some(seconds(e.running_time_minutes.saturating_mul(60))),
            poster_url: e.poster_url,
            performers: e.performers,
            genres: e.genres,
            still_urls: e.still_urls,
            trailer_url: e.trailer_url,
        }
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventUpdate {
    pub expected_version: i64,
    pub event: Event,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Performance {
    pub event_id: String,
    pub hall_id: String,
    pub starts_at: DateTime<Utc>,
    /// Cleaning time after the running time; performances in one hall may not overlap.
    #[serde(default)]
    pub turnover_minutes: u32,
}

impl Performance {
    pub fn into_request(self, idempotency_key: String) -> catalog::CreatePerformanceRequest {
        catalog::CreatePerformanceRequest {
            event_id: self.event_id,
            hall_id: self.hall_id,
            starts_at: Some(timestamp(&self.starts_at)),
            turnover: Some(seconds(self.turnover_minutes.saturating_mul(60))),
            idempotency_key,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_words_name_the_proto_enums() {
        assert_eq!(HallType::FourDx.proto(), i32::from(catalog::HallType::HallType4dx));
        assert_eq!(HallType::ConcertHall.proto(), i32::from(catalog::HallType::ConcertHall));
        assert_eq!(Category::Movie.proto(), i32::from(catalog::EventCategory::Movie));
        assert_eq!(TimeBand::LateNight.proto(), i32::from(catalog::TimeBand::LateNight));
        let rules = PricingRules {
            expected_version: 0,
            bands: vec![],
            rules: vec![PricingRule {
                hall_type: HallType::Imax,
                band: TimeBand::Morning,
                audience: Audience::Youth,
                price: Money { minor: 9000, currency: "KRW".into() },
            }],
            surcharges: vec![],
        };
        let request = rules.into_request("v".into());
        let rule = &request.rules.expect("rules").rules[0];
        assert_eq!(rule.audience, i32::from(types::Audience::Youth));
        let mode = serde_json::from_str::<SaleMode>("\"general_admission\"").expect("a word");
        assert_eq!(
            proto_enum("SALE_MODE", &mode, catalog::SaleMode::from_str_name),
            i32::from(catalog::SaleMode::GeneralAdmission)
        );
    }
}
