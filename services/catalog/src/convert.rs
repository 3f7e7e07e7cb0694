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

use crate::{domain::pricing::HallType, model};

pub use pricing::{
    audience_from_wire, band_to_wire, cinema_pricing_from_wire, cinema_pricing_to_wire, money_from_wire, money_to_wire,
    tiers_from_wire,
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
