//! Contract (proto) ⇄ domain conversions. A missing or malformed field is an
//! [`BookingError::Invalid`] naming it.

use chrono::{DateTime, Utc};
use floodgate_proto::{catalog::v1 as catalog, types::v1 as types};

use crate::{
    domain::{
        Buyer, Money,
        layout::{Layout, Point, Seat, Section, SectionKind},
        pricing::Audience,
    },
    error::BookingError,
};

/// Longest id accepted for seats, sections and buyers (they become Redis fields).
const MAX_ID_LEN: usize = 128;

/// A seat map as published by the catalog.
pub fn layout(map: &catalog::SeatMap) -> Result<Layout, BookingError> {
    let mut sections = Vec::with_capacity(map.sections.len());
    for section in &map.sections {
        check_id("seat_map.sections.section_id", &section.section_id)?;
        let kind = if section.kind() == catalog::SectionKind::GeneralAdmission {
            SectionKind::GeneralAdmission { capacity: section.capacity }
        } else {
            let mut rows = Vec::with_capacity(section.rows.len());
            for row in &section.rows {
                let mut seats = Vec::with_capacity(row.seats.len());
                for seat in &row.seats {
                    check_id("seat_map.seat_id", &seat.seat_id)?;
                    let position = seat.position.as_ref().map(|p| Point { x: p.x, y: p.y }).unwrap_or_default();
                    seats.push(Seat {
                        id: seat.seat_id.clone(),
                        row: row.label.clone(),
                        number: seat.number.clone(),
                        grade: if seat.grade_code.is_empty() {
                            section.grade_code.clone()
                        } else {
                            seat.grade_code.clone()
                        },
                        position,
                        accessible: seat.accessible,
                        gap_before: seat.gap_before,
                        blocked: seat.blocked,
                    });
                }
                rows.push(seats);
            }
            SectionKind::Reserved { rows }
        };
        sections.push(Section { id: section.section_id.clone(), grade: section.grade_code.clone(), kind });
    }
    let focal = map.focal_point.as_ref().map(|p| Point { x: p.x, y: p.y }).unwrap_or_default();
    Layout::new(sections, focal).map_err(|e| BookingError::invalid("seat_map", e.to_string()))
}

/// Ids end up as Redis hash fields and in comma-separated script arguments.
pub fn check_id(field: &'static str, id: &str) -> Result<(), BookingError> {
    if id.is_empty() || id.len() > MAX_ID_LEN || id.chars().any(|c| c == ',' || c == ':' || c.is_control()) {
        return Err(BookingError::invalid(field, "must be 1–128 characters without ',', ':' or control characters"));
    }
    Ok(())
}

pub fn buyer(buyer: Option<&types::Buyer>) -> Result<Buyer, BookingError> {
    match buyer.and_then(|b| b.kind.as_ref()) {
        Some(types::buyer::Kind::UserId(user_id)) => {
            check_id("buyer.user_id", user_id)?;
            Ok(Buyer::Member { user_id: user_id.clone() })
        }
        Some(types::buyer::Kind::Guest(guest)) => {
            check_id("buyer.guest.guest_id", &guest.guest_id)?;
            let phone_ok = guest.phone.starts_with('+')
                && (8..=16).contains(&guest.phone.len())
                && guest.phone[1..].bytes().all(|b| b.is_ascii_digit());
            if !phone_ok {
                return Err(BookingError::invalid("buyer.guest.phone", "must be an E.164 number like +821012345678"));
            }
            Ok(Buyer::Guest {
                guest_id: guest.guest_id.clone(),
                phone: guest.phone.clone(),
                email: guest.email.clone(),
            })
        }
        None => Err(BookingError::invalid("buyer", "is required")),
    }
}

pub fn buyer_to_wire(buyer: &Buyer) -> types::Buyer {
    let kind = match buyer {
        Buyer::Member { user_id } => types::buyer::Kind::UserId(user_id.clone()),
        Buyer::Guest { guest_id, phone, email } => types::buyer::Kind::Guest(types::GuestIdentity {
            phone: phone.clone(),
            email: email.clone(),
            guest_id: guest_id.clone(),
        }),
    };
    types::Buyer { kind: Some(kind) }
}

pub fn money(money: Money) -> types::Money {
    types::Money { minor: money.minor, currency: money.currency_code().to_owned() }
}

pub fn money_from_wire(field: &'static str, money: Option<&types::Money>) -> Result<Money, BookingError> {
    let money = money.ok_or_else(|| BookingError::invalid(field, "is required"))?;
    let currency = Money::parse_currency(&money.currency)
        .ok_or_else(|| BookingError::invalid(field, "currency must be a three-letter ISO 4217 code"))?;
    Ok(Money::new(money.minor, currency))
}

/// `None` for an unspecified audience.
pub fn audience(audience: types::Audience) -> Option<Audience> {
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

pub fn audience_name(audience: Audience) -> &'static str {
    match audience {
        Audience::Adult => "ADULT",
        Audience::Youth => "YOUTH",
        Audience::Senior => "SENIOR",
        Audience::Disabled => "DISABLED",
    }
}

pub fn audience_from_name(name: &str) -> Option<Audience> {
    [Audience::Adult, Audience::Youth, Audience::Senior, Audience::Disabled]
        .into_iter()
        .find(|a| audience_name(*a) == name)
}

pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: t.timestamp(), nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0) }
}

pub fn from_timestamp(t: Option<&prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    let t = t?;
    DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?)
}

pub fn duration_ms(d: Option<&prost_types::Duration>) -> Option<u64> {
    let d = d?;
    let ms = i128::from(d.seconds) * 1000 + i128::from(d.nanos) / 1_000_000;
    u64::try_from(ms).ok().filter(|ms| *ms > 0)
}
