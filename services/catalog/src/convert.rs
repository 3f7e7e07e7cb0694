//! Contract ⇄ domain conversions for the catalog (`floodgate.catalog.v1`). Incoming messages are
//! checked field by field: what is missing or malformed becomes a [`FieldError`] naming the
//! field, which the gRPC adapter returns as `InvalidArgument`.
//!
//! [`FieldError`]: crate::domain::FieldError

pub mod compact;
mod pricing;
mod sale;
mod seat_map;

use floodgate_proto::catalog::v1 as wire;

use std::str::FromStr as _;

use crate::{
    domain::{Invalid, Validation, pricing::HallType},
    model::{self, NewEvent, NewVenue, VenueDetails},
};

pub use pricing::{
    audience_from_wire, audience_to_wire, band_to_wire, cinema_pricing_from_wire, cinema_pricing_to_wire,
    money_from_wire, money_to_wire, tiers_from_wire,
};
pub use sale::{duration, sale_config_from_wire, sale_config_to_wire, timestamp, to_duration, to_timestamp};

/// The contract's hall type, or `None` for UNSPECIFIED.
pub fn hall_type_from_wire(hall_type: wire::HallType) -> Option<HallType> {
    Some(match hall_type {
        wire::HallType::Unspecified => return None,
        wire::HallType::Standard => HallType::TwoD,
        wire::HallType::HallType3d => HallType::ThreeD,
        wire::HallType::Imax => HallType::Imax,
        wire::HallType::HallType4dx => HallType::FourDx,
        wire::HallType::Premium => HallType::Premium,
        wire::HallType::ConcertHall => HallType::ConcertHall,
        wire::HallType::Theatre => HallType::Theatre,
        wire::HallType::Arena => HallType::Arena,
        wire::HallType::Stadium => HallType::Stadium,
    })
}

pub fn hall_type_to_wire(hall_type: HallType) -> wire::HallType {
    match hall_type {
        HallType::TwoD => wire::HallType::Standard,
        HallType::ThreeD => wire::HallType::HallType3d,
        HallType::Imax => wire::HallType::Imax,
        HallType::FourDx => wire::HallType::HallType4dx,
        HallType::Premium => wire::HallType::Premium,
        HallType::ConcertHall => wire::HallType::ConcertHall,
        HallType::Theatre => wire::HallType::Theatre,
        HallType::Arena => wire::HallType::Arena,
        HallType::Stadium => wire::HallType::Stadium,
    }
}

pub fn event_to_wire(event: &model::Event) -> wire::Event {
    let d = &event.details;
    let category = format!("EVENT_CATEGORY_{}", d.category.to_uppercase());
    wire::Event {
        event_id: event.id.to_string(),
        title: d.title.clone(),
        description: d.description.clone(),
        category: wire::EventCategory::from_str_name(&category).unwrap_or_default().into(),
        genre: d.genres.first().cloned().unwrap_or_default(),
        age_rating: d.age_rating.clone(),
        running_time: Some(prost_types::Duration { seconds: i64::from(d.runtime_minutes) * 60, nanos: 0 }),
        poster_url: d.poster_url.clone(),
        performers: d.performers.clone(),
        version: event.version,
        genres: d.genres.clone(),
        still_urls: d.still_urls.clone(),
        trailer_url: d.trailer_url.clone(),
    }
}

pub fn performance_to_wire(performance: &model::Performance) -> wire::Performance {
    let status = match performance.status {
        model::PerformanceStatus::Draft => wire::PerformanceStatus::Draft,
        model::PerformanceStatus::Published => wire::PerformanceStatus::Published,
        model::PerformanceStatus::Cancelled => wire::PerformanceStatus::Cancelled,
    };
    wire::Performance {
        performance_id: performance.id.to_string(),
        event_id: performance.event_id.to_string(),
        hall_id: performance.hall_id.to_string(),
        starts_at: Some(to_timestamp(performance.starts_at)),
        ends_at: Some(to_timestamp(performance.ends_at)),
        status: status.into(),
        version: performance.version,
        ..Default::default()
    }
}

// ---- operator requests ⇄ catalog entities ----

pub fn new_venue(fields: &wire::VenueFields) -> Result<NewVenue, Invalid> {
    let mut v = Validation::default();
    let name = fields.name.trim();
    v.check(!name.is_empty() && name.len() <= 200, || "venue.name".into(), "must be 1–200 characters");
    let time_zone = chrono_tz::Tz::from_str(&fields.time_zone).ok();
    v.check(time_zone.is_some(), || "venue.time_zone".into(), "must be an IANA time zone such as Asia/Seoul");
    v.check((-90.0..=90.0).contains(&fields.latitude), || "venue.latitude".into(), "must be within ±90");
    v.check((-180.0..=180.0).contains(&fields.longitude), || "venue.longitude".into(), "must be within ±180");
    v.check(
        fields.contact_email.is_empty() || fields.contact_email.contains('@'),
        || "venue.contact_email".into(),
        "must be an email address",
    );
    v.finish()?;
    let address = fields.address.clone().unwrap_or_default();
    // Coordinates of exactly 0,0 mean "not given" in proto3.
    let located = fields.latitude != 0.0 || fields.longitude != 0.0;
    Ok(NewVenue {
        details: VenueDetails {
            name: name.to_owned(),
            address: model::Address {
                line1: address.line1,
                line2: address.line2,
                city: address.city,
                region: address.region,
                postal_code: address.postal_code,
                country: address.country,
            },
            latitude: located.then_some(fields.latitude),
            longitude: located.then_some(fields.longitude),
            transit_notes: fields.transit_notes.clone(),
            parking_notes: fields.parking_notes.clone(),
            contact_phone: fields.contact_phone.clone(),
            contact_email: fields.contact_email.clone(),
        },
        time_zone: time_zone.unwrap_or(chrono_tz::UTC),
    })
}

pub fn new_event(fields: &wire::EventFields) -> Result<NewEvent, Invalid> {
    let mut v = Validation::default();
    let title = fields.title.trim();
    v.check(!title.is_empty() && title.len() <= 300, || "event.title".into(), "must be 1–300 characters");
    v.check(fields.category() != wire::EventCategory::Unspecified, || "event.category".into(), "must be specified");
    let runtime = fields.running_time.as_ref().and_then(duration).map(|d| d.num_minutes());
    v.check(
        runtime.is_some_and(|m| (1..=12 * 60).contains(&m)),
        || "event.running_time".into(),
        "must be between 1 minute and 12 hours",
    );
    v.finish()?;
    let mut genres: Vec<String> =
        fields.genres.iter().map(|g| g.trim().to_lowercase()).filter(|g| !g.is_empty()).collect();
    if genres.is_empty() && !fields.genre.trim().is_empty() {
        genres.push(fields.genre.trim().to_lowercase());
    }
    Ok(NewEvent {
        title: title.to_owned(),
        description: fields.description.clone(),
        category: fields.category().as_str_name().trim_start_matches("EVENT_CATEGORY_").to_lowercase(),
        genres,
        age_rating: if fields.age_rating.is_empty() { "ALL".into() } else { fields.age_rating.clone() },
        runtime_minutes: i32::try_from(runtime.unwrap_or(1)).unwrap_or(1),
        poster_url: fields.poster_url.clone(),
        still_urls: fields.still_urls.clone(),
        trailer_url: fields.trailer_url.clone(),
        performers: fields.performers.clone(),
    })
}

pub fn venue_to_wire(venue: &model::Venue, halls: &[model::Hall]) -> wire::Venue {
    let d = &venue.details;
    wire::Venue {
        venue_id: venue.id.to_string(),
        name: d.name.clone(),
        address: Some(wire::Address {
            line1: d.address.line1.clone(),
            line2: d.address.line2.clone(),
            city: d.address.city.clone(),
            region: d.address.region.clone(),
            postal_code: d.address.postal_code.clone(),
            country: d.address.country.clone(),
        }),
        latitude: d.latitude.unwrap_or_default(),
        longitude: d.longitude.unwrap_or_default(),
        transit_notes: d.transit_notes.clone(),
        parking_notes: d.parking_notes.clone(),
        contact_phone: d.contact_phone.clone(),
        contact_email: d.contact_email.clone(),
        halls: halls.iter().map(|h| hall_to_wire(h, 0)).collect(),
        time_zone: venue.time_zone.name().to_owned(),
        version: venue.version,
    }
}

pub fn hall_to_wire(hall: &model::Hall, seat_map_version: i32) -> wire::Hall {
    wire::Hall {
        hall_id: hall.id.to_string(),
        venue_id: hall.venue_id.to_string(),
        name: hall.name.clone(),
        hall_type: hall_type_to_wire(hall.hall_type).into(),
        seat_map_version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hall_type_round_trips() {
        for hall_type in HallType::ALL {
            assert_eq!(hall_type_from_wire(hall_type_to_wire(hall_type)), Some(hall_type));
        }
        assert_eq!(hall_type_from_wire(wire::HallType::Unspecified), None);
    }
}
