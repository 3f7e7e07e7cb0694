//! JSON views of the catalog: venues, halls, seat maps, events, performances, prices and sale
//! configuration. Enums are lower-case words (`concert_hall`, `on_sale`), times RFC 3339, durations
//! whole seconds, money `{minor, currency}`.

use floodgate_proto::catalog::v1 as catalog;
use serde_json::{Value, json};

use super::{lower, money, time};

fn seconds(d: Option<&prost_types::Duration>) -> Value {
    d.map_or(Value::Null, |d| json!(d.seconds))
}

fn point(p: Option<&catalog::Point>) -> Value {
    p.map_or(Value::Null, |p| json!({"x": p.x, "y": p.y}))
}

pub fn hall(h: &catalog::Hall) -> Value {
    json!({
        "hall_id": h.hall_id,
        "venue_id": h.venue_id,
        "name": h.name,
        "hall_type": lower(h.hall_type().as_str_name(), "HALL_TYPE_"),
        "seat_map_version": h.seat_map_version,
    })
}

pub fn venue(v: &catalog::Venue) -> Value {
    let address = v.address.as_ref().map_or(Value::Null, |a| {
        json!({
            "line1": a.line1, "line2": a.line2, "city": a.city, "region": a.region,
            "postal_code": a.postal_code, "country": a.country,
        })
    });
    json!({
        "venue_id": v.venue_id,
        "name": v.name,
        "address": address,
        "latitude": v.latitude,
        "longitude": v.longitude,
        "transit_notes": v.transit_notes,
        "parking_notes": v.parking_notes,
        "contact_phone": v.contact_phone,
        "contact_email": v.contact_email,
        "time_zone": v.time_zone,
        "halls": v.halls.iter().map(hall).collect::<Vec<_>>(),
        "version": v.version,
    })
}

pub fn seat_map(m: &catalog::SeatMap) -> Value {
    let sections = m.sections.iter().map(|s| {
        json!({
            "section_id": s.section_id,
            "name": s.name,
            "kind": lower(s.kind().as_str_name(), "SECTION_KIND_"),
            "capacity": s.capacity,
            "grade_code": s.grade_code,
            "rows": s.rows.iter().map(|r| json!({
                "label": r.label,
                "seats": r.seats.iter().map(|seat| json!({
                    "seat_id": seat.seat_id,
                    "number": seat.number,
                    "label": seat.label,
                    "position": point(seat.position.as_ref()),
                    "grade_code": seat.grade_code,
                    "accessible": seat.accessible,
                    "companion": seat.companion,
                    "restricted_view": seat.restricted_view,
                    "gap_before": seat.gap_before,
                    "blocked": seat.blocked,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })
    });
    json!({
        "hall_id": m.hall_id,
        "version": m.version,
        "focal_point": point(m.focal_point.as_ref()),
        "sections": sections.collect::<Vec<_>>(),
    })
}

pub fn event(e: &catalog::Event) -> Value {
    json!({
        "event_id": e.event_id,
        "title": e.title,
        "description": e.description,
        "category": lower(e.category().as_str_name(), "EVENT_CATEGORY_"),
        "genres": e.genres,
        "age_rating": e.age_rating,
        "running_time_seconds": seconds(e.running_time.as_ref()),
        "poster_url": e.poster_url,
        "still_urls": e.still_urls,
        "trailer_url": e.trailer_url,
        "performers": e.performers,
        "version": e.version,
    })
}

pub fn sale_config(c: &catalog::SaleConfig) -> Value {
    json!({
        "mode": lower(c.mode().as_str_name(), "SALE_MODE_"),
        "waiting_room_opens_at": time(c.waiting_room_opens_at.as_ref()),
        "sale_opens_at": time(c.sale_opens_at.as_ref()),
        "sale_closes_at": time(c.sale_closes_at.as_ref()),
        "per_buyer_limit": c.per_buyer_limit,
        "hold_ttl_seconds": seconds(c.hold_ttl.as_ref()),
        "payment_deadline_seconds": seconds(c.payment_deadline.as_ref()),
        "admission_rate_per_second": c.admission_rate_per_second,
        "max_active_shoppers": c.max_active_shoppers,
        "admission_ttl_seconds": seconds(c.admission_ttl.as_ref()),
        "fee_ladder": c.fee_ladder.iter().map(|step| json!({
            "days_before": step.days_before,
            "fee_basis_points": step.fee_basis_points,
            "fixed_fee": money(step.fixed_fee.as_ref()),
        })).collect::<Vec<_>>(),
    })
}

pub fn performance(p: &catalog::Performance) -> Value {
    json!({
        "performance_id": p.performance_id,
        "event_id": p.event_id,
        "hall_id": p.hall_id,
        "starts_at": time(p.starts_at.as_ref()),
        "ends_at": time(p.ends_at.as_ref()),
        "status": lower(p.status().as_str_name(), "PERFORMANCE_STATUS_"),
        "seat_map_version": p.seat_map_version,
        "sale_config": p.sale_config.as_ref().map_or(Value::Null, sale_config),
        "version": p.version,
    })
}

pub fn tiers(tiers: &[catalog::PriceTier]) -> Value {
    tiers
        .iter()
        .map(|t| json!({"grade_code": t.grade_code, "grade_name": t.grade_name, "price": money(t.price.as_ref())}))
        .collect()
}

pub fn pricing_rules(r: &catalog::PricingRules) -> Value {
    json!({
        "venue_id": r.venue_id,
        "time_zone": r.time_zone,
        "bands": r.bands.iter().map(|b| json!({
            "band": lower(b.band().as_str_name(), "TIME_BAND_"),
            "starts_at_minute": b.starts_at_minute,
        })).collect::<Vec<_>>(),
        "rules": r.rules.iter().map(|rule| json!({
            "hall_type": lower(rule.hall_type().as_str_name(), "HALL_TYPE_"),
            "band": lower(rule.band().as_str_name(), "TIME_BAND_"),
            "audience": lower(rule.audience().as_str_name(), "AUDIENCE_"),
            "price": money(rule.price.as_ref()),
        })).collect::<Vec<_>>(),
        "surcharges": r.surcharges.iter().map(|s| json!({
            "grade_code": s.grade_code,
            "surcharge": money(s.surcharge.as_ref()),
        })).collect::<Vec<_>>(),
        "version": r.version,
    })
}

pub fn event_summary(s: &catalog::EventSummary) -> Value {
    let mut view = s.event.as_ref().map_or_else(|| json!({}), event);
    view["first_performance_at"] = time(s.first_performance_at.as_ref());
    view["last_performance_at"] = time(s.last_performance_at.as_ref());
    view["lowest_price"] = money(s.lowest_price.as_ref());
    view["venue_names"] = json!(s.venue_names);
    view
}
