//! What operators send to set up a sale, and how it becomes the catalog's messages. Every body
//! refuses unknown fields; the catalog validates the values (names, time zones, overlaps, prices)
//! and its stable error codes pass through.

use chrono::{DateTime, Utc};
use floodgate_proto::{catalog::v1 as catalog, types::v1 as types};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The proto enum value named `<PREFIX>_<WORD>` for a lower-case JSON word.
fn word<E: Serialize>(value: &E) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_uppercase)).unwrap_or_default()
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
        catalog::HallType::from_str_name(&format!("HALL_TYPE_{}", word(&self))).map_or(0, Into::into)
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
pub enum SectionKind {
    Reserved,
    GeneralAdmission,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Seat {
    pub seat_id: String,
    pub number: String,
    /// What a buyer reads, e.g. "B-12".
    #[serde(default)]
    pub label: String,
    pub position: Point,
    /// Overrides the section's grade.
    #[serde(default)]
    pub grade_code: String,
    #[serde(default)]
    pub accessible: bool,
    #[serde(default)]
    pub companion: bool,
    #[serde(default)]
    pub restricted_view: bool,
    /// An aisle separates this seat from the previous one in its row.
    #[serde(default)]
    pub gap_before: bool,
    /// Never sold (camera positions, house seats).
    #[serde(default)]
    pub blocked: bool,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Row {
    pub label: String,
    /// Left to right as seen from the focal point.
    pub seats: Vec<Seat>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub section_id: String,
    pub name: String,
    pub kind: SectionKind,
    /// General admission only.
    #[serde(default)]
    pub capacity: u32,
    pub grade_code: String,
    #[serde(default)]
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SeatMap {
    /// The version being replaced (0 for the first map); a new version is created.
    pub expected_version: i32,
    /// The stage or screen centre "best" is measured from.
    pub focal_point: Point,
    pub sections: Vec<Section>,
}

impl SeatMap {
    pub fn into_request(self, hall_id: String) -> catalog::PutSeatMapRequest {
        let sections = self
            .sections
            .into_iter()
            .map(|s| catalog::Section {
                section_id: s.section_id,
                name: s.name,
                kind: catalog::SectionKind::from_str_name(&format!("SECTION_KIND_{}", word(&s.kind)))
                    .map_or(0, Into::into),
                capacity: s.capacity,
                grade_code: s.grade_code,
                rows: s
                    .rows
                    .into_iter()
                    .map(|r| catalog::Row {
                        label: r.label,
                        seats: r
                            .seats
                            .into_iter()
                            .map(|seat| catalog::Seat {
                                seat_id: seat.seat_id,
                                number: seat.number,
                                position: Some(seat.position.into()),
                                grade_code: seat.grade_code,
                                accessible: seat.accessible,
                                gap_before: seat.gap_before,
                                blocked: seat.blocked,
                                label: seat.label,
                                companion: seat.companion,
                                restricted_view: seat.restricted_view,
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect();
        catalog::PutSeatMapRequest {
            hall_id: hall_id.clone(),
            seat_map: Some(catalog::SeatMap {
                hall_id,
                version: 0,
                sections,
                focal_point: Some(self.focal_point.into()),
            }),
            expected_version: self.expected_version,
        }
    }
}

/// One generated block: seated rows, or a standing area (`standing_capacity` and nothing else).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SectionLayout {
    pub section_id: String,
    pub name: String,
    pub grade_code: String,
    #[serde(default)]
    pub standing_capacity: u32,
    #[serde(default)]
    pub first_row: String,
    #[serde(default)]
    pub rows: u32,
    #[serde(default)]
    pub seats_per_row: u32,
    #[serde(default)]
    pub origin: Option<Point>,
    #[serde(default)]
    pub seat_spacing: f64,
    #[serde(default)]
    pub row_spacing: f64,
    /// Total angle the rows span around the focal point; 0 = straight.
    #[serde(default)]
    pub curve_degrees: f64,
    /// An aisle after every this many seats; 0 = none.
    #[serde(default)]
    pub aisle_every: u32,
    #[serde(default)]
    pub accessible_first_row: bool,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GeneratedSeatMap {
    pub expected_version: i32,
    pub focal_point: Point,
    pub sections: Vec<SectionLayout>,
}

impl GeneratedSeatMap {
    pub fn into_request(self, hall_id: String) -> catalog::GenerateSeatMapRequest {
        catalog::GenerateSeatMapRequest {
            hall_id,
            sections: self
                .sections
                .into_iter()
                .map(|s| catalog::SectionLayout {
                    section_id: s.section_id,
                    name: s.name,
                    grade_code: s.grade_code,
                    standing_capacity: s.standing_capacity,
                    first_row: s.first_row,
                    rows: s.rows,
                    seats_per_row: s.seats_per_row,
                    origin: s.origin.map(Into::into),
                    seat_spacing: s.seat_spacing,
                    row_spacing: s.row_spacing,
                    curve_degrees: s.curve_degrees,
                    aisle_every: s.aisle_every,
                    accessible_first_row: s.accessible_first_row,
                })
                .collect(),
            focal_point: Some(self.focal_point.into()),
            expected_version: self.expected_version,
        }
    }
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
        catalog::EventCategory::from_str_name(&format!("EVENT_CATEGORY_{}", word(&self))).map_or(0, Into::into)
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

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceTier {
    pub grade_code: String,
    pub grade_name: String,
    pub price: Money,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceTiers {
    pub tiers: Vec<PriceTier>,
}

impl PriceTiers {
    pub fn into_request(self, performance_id: String) -> catalog::SetPriceTiersRequest {
        let tiers = self
            .tiers
            .into_iter()
            .map(|t| catalog::PriceTier {
                grade_code: t.grade_code,
                grade_name: t.grade_name,
                price: Some((&t.price).into()),
            })
            .collect();
        catalog::SetPriceTiersRequest { performance_id, tiers }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeBand {
    Morning,
    Normal,
    LateNight,
}

impl TimeBand {
    fn proto(self) -> i32 {
        catalog::TimeBand::from_str_name(&format!("TIME_BAND_{}", word(&self))).map_or(0, Into::into)
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Adult,
    Youth,
    Senior,
    Disabled,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BandStart {
    pub band: TimeBand,
    /// Local minutes after midnight in the venue's time zone.
    pub starts_at_minute: u32,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PricingRule {
    pub hall_type: HallType,
    pub band: TimeBand,
    pub audience: Audience,
    pub price: Money,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Surcharge {
    pub grade_code: String,
    pub surcharge: Money,
}

/// Cinema pricing for a venue: hall type × time-of-day band × audience, plus grade surcharges.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PricingRules {
    pub expected_version: i64,
    pub bands: Vec<BandStart>,
    pub rules: Vec<PricingRule>,
    #[serde(default)]
    pub surcharges: Vec<Surcharge>,
}

impl PricingRules {
    pub fn into_request(self, venue_id: String) -> catalog::SetPricingRulesRequest {
        catalog::SetPricingRulesRequest {
            rules: Some(catalog::PricingRules {
                venue_id,
                bands: self
                    .bands
                    .into_iter()
                    .map(|b| catalog::TimeBandBoundary { band: b.band.proto(), starts_at_minute: b.starts_at_minute })
                    .collect(),
                rules: self
                    .rules
                    .into_iter()
                    .map(|r| catalog::PricingRule {
                        hall_type: r.hall_type.proto(),
                        band: r.band.proto(),
                        audience: types::Audience::from_str_name(&format!("AUDIENCE_{}", word(&r.audience)))
                            .map_or(0, Into::into),
                        price: Some((&r.price).into()),
                    })
                    .collect(),
                time_zone: String::new(),
                surcharges: self
                    .surcharges
                    .into_iter()
                    .map(|s| catalog::GradeSurcharge {
                        grade_code: s.grade_code,
                        surcharge: Some((&s.surcharge).into()),
                    })
                    .collect(),
                version: self.expected_version,
            }),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SaleMode {
    Reserved,
    GeneralAdmission,
    Lottery,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeeStep {
    /// Applies when cancelling at least this many days before the show.
    pub days_before: u32,
    /// 1000 = 10% of the ticket price.
    pub fee_basis_points: u32,
    #[serde(default)]
    pub fixed_fee: Option<Money>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SaleConfig {
    pub expected_version: i64,
    pub mode: SaleMode,
    pub waiting_room_opens_at: DateTime<Utc>,
    pub sale_opens_at: DateTime<Utc>,
    pub sale_closes_at: DateTime<Utc>,
    pub per_buyer_limit: u32,
    pub hold_ttl_seconds: u32,
    pub payment_deadline_seconds: u32,
    pub admission_rate_per_second: u32,
    pub max_active_shoppers: u32,
    pub admission_ttl_seconds: u32,
    /// Steps by `days_before`, largest first; the first met applies. Empty: no cancellation fee.
    #[serde(default)]
    pub fee_ladder: Vec<FeeStep>,
}

impl SaleConfig {
    pub fn into_request(self, performance_id: String) -> catalog::SetSaleConfigRequest {
        catalog::SetSaleConfigRequest {
            performance_id,
            expected_version: self.expected_version,
            sale_config: Some(catalog::SaleConfig {
                mode: catalog::SaleMode::from_str_name(&format!("SALE_MODE_{}", word(&self.mode)))
                    .map_or(0, Into::into),
                waiting_room_opens_at: Some(timestamp(&self.waiting_room_opens_at)),
                sale_opens_at: Some(timestamp(&self.sale_opens_at)),
                sale_closes_at: Some(timestamp(&self.sale_closes_at)),
                per_buyer_limit: self.per_buyer_limit,
                hold_ttl: Some(seconds(self.hold_ttl_seconds)),
                payment_deadline: Some(seconds(self.payment_deadline_seconds)),
                fee_ladder: self
                    .fee_ladder
                    .iter()
                    .map(|step| catalog::CancellationFeeStep {
                        days_before: step.days_before,
                        fee_basis_points: step.fee_basis_points,
                        fixed_fee: step.fixed_fee.as_ref().map(Into::into),
                    })
                    .collect(),
                admission_rate_per_second: self.admission_rate_per_second,
                max_active_shoppers: self.max_active_shoppers,
                admission_ttl: Some(seconds(self.admission_ttl_seconds)),
            }),
        }
    }
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
            catalog::SaleMode::from_str_name(&format!("SALE_MODE_{}", word(&mode))),
            Some(catalog::SaleMode::GeneralAdmission)
        );
    }
}
