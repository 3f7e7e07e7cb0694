//! The public JSON shapes of upstream resources. The REST API is its own contract: these views
//! choose what a client sees (never internal fields such as fencing tokens or provider secrets).

use base64::{Engine as _, engine::general_purpose::STANDARD};
use floodgate_proto::{booking::v1 as booking, payment::v1 as payment, queue::v1 as queue, types::v1 as types};
use serde_json::{Value, json};

pub mod catalog;

pub fn money(money: Option<&types::Money>) -> Value {
    money.map_or(Value::Null, |m| json!({ "minor": m.minor, "currency": m.currency }))
}

pub fn time(t: Option<&prost_types::Timestamp>) -> Value {
    t.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
        .map_or(Value::Null, |t| Value::String(t.to_rfc3339()))
}

fn seat(seat: Option<&types::SeatRef>) -> Value {
    seat.map_or(
        Value::Null,
        |s| json!({ "seat_id": s.seat_id, "section_id": s.section_id, "row": s.row, "number": s.number }),
    )
}

pub fn lower(name: &str, prefix: &str) -> String {
    name.trim_start_matches(prefix).to_lowercase()
}

/// A waiting-room position; while waiting, `poll_after_seconds` says when a client without the
/// live socket should ask again.
pub fn position(p: &queue::PositionUpdate) -> Value {
    let waiting = matches!(p.status(), queue::EntryStatus::PreQueue | queue::EntryStatus::Waiting);
    let eta = p.eta.as_ref().and_then(|d| u64::try_from(d.seconds).ok()).map(std::time::Duration::from_secs);
    // Until the open, measured on the waiting room's clock (both times are its own).
    let until_open = p.sale_opens_at.as_ref().zip(p.as_of.as_ref()).map(|(opens, now)| {
        std::time::Duration::from_secs(u64::try_from(opens.seconds.saturating_sub(now.seconds)).unwrap_or(0))
    });
    let poll_after = waiting.then(|| match until_open {
        Some(until_open) => crate::domain::polling::poll_after_opening(until_open, &p.entry_id),
        None => crate::domain::polling::poll_after(p.position, eta),
    });
    json!({
        "entry_id": p.entry_id,
        "status": lower(p.status().as_str_name(), "ENTRY_STATUS_"),
        "position": p.position,
        "queue_length": p.queue_length,
        "eta_seconds": p.eta.as_ref().map(|d| d.seconds),
        "odds": p.odds,
        "admission_token": p.admission.as_ref().map(|a| a.token.clone()),
        "as_of": time(p.as_of.as_ref()),
        "poll_after_seconds": poll_after,
        "sale_opens_at": time(p.sale_opens_at.as_ref()),
    })
}

pub fn hold(h: &booking::Hold) -> Value {
    json!({
        "hold_id": h.hold_id,
        "performance_id": h.performance_id,
        "seats": h.seats.iter().map(|s| seat(Some(s))).collect::<Vec<_>>(),
        "general_admission": h.general_admission.iter().map(|g| json!({"section_id": g.section_id, "quantity": g.quantity})).collect::<Vec<_>>(),
        "expires_at": time(h.expires_at.as_ref()),
    })
}

pub fn order(o: &booking::Order) -> Value {
    json!({
        "order_id": o.order_id,
        "order_number": o.order_number,
        "performance_id": o.performance_id,
        "status": lower(o.status().as_str_name(), "ORDER_STATUS_"),
        "lines": o.lines.iter().map(|l| json!({
            "line_id": l.line_id,
            "seat": seat(l.seat.as_ref()),
            "grade": l.grade_code,
            "audience": lower(l.audience().as_str_name(), "AUDIENCE_"),
            "price": money(l.price.as_ref()),
            "cancelled": l.cancelled,
        })).collect::<Vec<_>>(),
        "total": money(o.total.as_ref()),
        "refunded": money(o.refunded.as_ref()),
        "payment_deadline": time(o.payment_deadline.as_ref()),
        "created_at": time(o.created_at.as_ref()),
    })
}

pub fn ticket(t: &booking::Ticket) -> Value {
    json!({
        "ticket_id": t.ticket_id,
        "order_id": t.order_id,
        "performance_id": t.performance_id,
        "seat": seat(t.seat.as_ref()),
        "audience": lower(t.audience().as_str_name(), "AUDIENCE_"),
        "status": lower(t.status().as_str_name(), "TICKET_STATUS_"),
        "qr_payload": t.qr_payload,
        "issued_at": time(t.issued_at.as_ref()),
    })
}

pub fn payment(p: &payment::Payment) -> Value {
    json!({
        "payment_id": p.payment_id,
        "order_id": p.order_id,
        "status": lower(p.status().as_str_name(), "PAYMENT_STATUS_"),
        "amount": money(p.amount.as_ref()),
        "captured": money(p.captured.as_ref()),
        "refunded": money(p.refunded.as_ref()),
        "failure_code": (!p.failure_code.is_empty()).then(|| p.failure_code.clone()),
    })
}

pub fn availability(a: &booking::SeatAvailability) -> Value {
    json!({
        "performance_id": a.performance_id,
        "version": a.version,
        "sections": a.sections.iter().map(|s| json!({
            "section_id": s.section_id,
            "capacity": s.capacity,
            "available": s.available,
            "available_bitmap": STANDARD.encode(&s.available_bitmap),
            "unavailable": s.seats.iter().map(|x| json!({
                "seat_id": x.seat_id,
                "state": lower(x.state().as_str_name(), "SEAT_STATE_"),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}
