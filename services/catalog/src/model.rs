//! The catalog's entities as the service stores and returns them.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::pricing::HallType;

/// A venue as an operator describes it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VenueDetails {
    pub name: String,
    pub address: Address,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub transit_notes: String,
    pub parking_notes: String,
    pub contact_phone: String,
    pub contact_email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Address {
    pub line1: String,
    pub line2: String,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewVenue {
    pub details: VenueDetails,
    pub time_zone: chrono_tz::Tz,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Venue {
    pub id: Uuid,
    pub details: VenueDetails,
    pub time_zone: chrono_tz::Tz,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hall {
    pub id: Uuid,
    pub venue_id: Uuid,
    pub name: String,
    pub hall_type: HallType,
}

/// An event (a film, a concert, a show) as an operator describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventDetails {
    pub title: String,
    pub description: String,
    /// Lower-case category name: "movie", "concert", "musical"…
    pub category: String,
    pub genres: Vec<String>,
    /// "ALL", "12", "15", "19"…
    pub age_rating: String,
    pub runtime_minutes: i32,
    pub poster_url: String,
    pub still_urls: Vec<String>,
    pub trailer_url: String,
    pub performers: Vec<String>,
}

/// What creating an event takes.
pub type NewEvent = EventDetails;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: Uuid,
    pub details: EventDetails,
    pub version: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PerformanceStatus {
    Draft,
    Published,
    Cancelled,
}

impl PerformanceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PerformanceStatus::Draft => "draft",
            PerformanceStatus::Published => "published",
            PerformanceStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "draft" => Some(Self::Draft),
            "published" => Some(Self::Published),
            "cancelled" => Some(Self::Cancelled),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Performance {
    pub id: Uuid,
    pub event_id: Uuid,
    pub hall_id: Uuid,
    pub starts_at: DateTime<Utc>,
    /// When the hall is free again: start + runtime + cleaning buffer.
    pub ends_at: DateTime<Utc>,
    pub status: PerformanceStatus,
    pub version: i64,
}

/// Stored names of hall types (stable: they are in the database).
pub fn hall_type_name(hall_type: HallType) -> &'static str {
    match hall_type {
        HallType::TwoD => "2d",
        HallType::ThreeD => "3d",
        HallType::Imax => "imax",
        HallType::FourDx => "4dx",
        HallType::Premium => "premium",
        HallType::ConcertHall => "concert_hall",
        HallType::Theatre => "theatre",
        HallType::Arena => "arena",
        HallType::Stadium => "stadium",
    }
}

pub fn parse_hall_type(name: &str) -> Option<HallType> {
    HallType::ALL.into_iter().find(|t| hall_type_name(*t) == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_round_trip() {
        for name in ["2d", "3d", "imax", "4dx", "premium", "concert_hall", "theatre", "arena", "stadium"] {
            assert_eq!(parse_hall_type(name).map(hall_type_name), Some(name));
        }
        assert_eq!(parse_hall_type("drive-in"), None);
        for status in [PerformanceStatus::Draft, PerformanceStatus::Published, PerformanceStatus::Cancelled] {
            assert_eq!(PerformanceStatus::parse(status.as_str()), Some(status));
        }
    }
}
