//! Puts the scenario's sale on the platform the way an operator does, through the gateway's REST
//! API: a venue, a hall with a generated seat map, an event, a performance, its price tiers and
//! sale configuration, then publishing — and reads back the seat ids buyers will pick from.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::{
    client::{Gateway, Reply, Session, WireError},
    scenario::Scenario,
};

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{step}: {status} {body}")]
    Refused { step: &'static str, status: u16, body: Value },
    #[error("{step}: {source}")]
    Wire {
        step: &'static str,
        #[source]
        source: WireError,
    },
    #[error("hot seat {0} is not on the generated map")]
    UnknownHotSeat(String),
    #[error("the sale did not open for buyers within {0:?}")]
    NotOpen(Duration),
    #[error("the gateway database: {0}")]
    Database(#[from] sqlx::Error),
}

/// A performance built but not yet configured or published.
#[derive(Debug, Clone)]
pub struct Draft {
    pub performance_id: String,
    pub sections: Vec<SectionSeats>,
}

/// A section as buyers see it: its seat ids in row order (empty for standing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionSeats {
    pub section_id: String,
    pub standing: u32,
    pub rows: Vec<Vec<String>>,
}

/// The published sale.
#[derive(Debug, Clone)]
pub struct Sale {
    pub performance_id: String,
    pub sections: Vec<SectionSeats>,
    pub opens_at: DateTime<Utc>,
}

async fn expect(
    step: &'static str,
    status: u16,
    call: impl Future<Output = Result<Reply, WireError>>,
) -> Result<Value, SetupError> {
    let reply = call.await.map_err(|source| SetupError::Wire { step, source })?;
    if reply.status != status {
        return Err(SetupError::Refused { step, status: reply.status, body: reply.body });
    }
    Ok(reply.body)
}

fn text(body: &Value, field: &str) -> String {
    body[field].as_str().unwrap_or_default().to_owned()
}

/// An admin to set the sale up: signed up through the API, promoted in the gateway's database
/// (exactly what `floodgate-accounts grant-admin` does for the first admin), logged in again.
pub async fn admin(gateway: &Gateway, gateway_database_url: &str, run: &str) -> Result<Session, SetupError> {
    let email = format!("rehearsal-admin-{run}@example.com");
    let session = Session { token: None, address: "10.255.255.254".into() };
    let phone = format!("+8210{:08}", u32::from_str_radix(&run[..6.min(run.len())], 16).unwrap_or(0) % 100_000_000);
    crate::identity::sign_up(gateway, &session, &email, &phone)
        .await
        .map_err(|source| SetupError::Wire { step: "admin signup", source })?;
    let pool = sqlx::PgPool::connect(gateway_database_url).await?;
    sqlx::query("UPDATE accounts SET role = 'admin' WHERE email = $1").bind(&email).execute(&pool).await?;
    pool.close().await;
    let token = crate::identity::log_in(gateway, &session, &email)
        .await
        .map_err(|source| SetupError::Wire { step: "admin login", source })?;
    Ok(Session { token: Some(token), ..session })
}

/// Venue, hall, seat map, event, performance and prices; not yet on sale.
pub async fn draft(gateway: &Gateway, admin: &Session, scenario: &Scenario, run: &str) -> Result<Draft, SetupError> {
    let venue = &scenario.venue;
    let body = json!({"name": format!("{} ({run})", venue.name), "time_zone": venue.time_zone});
    let venue_id = text(&expect("venue", 201, gateway.post(admin, "/v1/operator/venues", &body)).await?, "venue_id");
    let body = json!({"name": "Main", "hall_type": venue.hall_type});
    let path = format!("/v1/operator/venues/{venue_id}/halls");
    let hall_id = text(&expect("hall", 201, gateway.post(admin, &path, &body)).await?, "hall_id");
    let sections: Vec<Value> = venue
        .sections
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let origin = json!({"x": 0.0, "y": 10.0 + 40.0 * i as f64});
            if s.standing > 0 {
                json!({"section_id": s.id, "name": s.id, "grade_code": s.grade, "standing_capacity": s.standing, "origin": origin})
            } else {
                json!({"section_id": s.id, "name": s.id, "grade_code": s.grade, "rows": s.rows,
                       "seats_per_row": s.seats_per_row, "origin": origin, "seat_spacing": 0.5, "row_spacing": 0.9})
            }
        })
        .collect();
    let layout = json!({"expected_version": 0, "focal_point": {"x": 0.0, "y": 0.0}, "sections": sections});
    let path = format!("/v1/operator/halls/{hall_id}/seat-map/generate");
    let map = expect("seat map", 201, gateway.post(admin, &path, &layout)).await?;
    let body = json!({"title": format!("{} — rehearsal {run}", scenario.name), "category": "concert",
                      "age_rating": "ALL", "running_time_minutes": 120});
    let event_id = text(&expect("event", 201, gateway.post(admin, "/v1/operator/events", &body)).await?, "event_id");
    let starts = Utc::now() + chrono::Duration::days(30);
    let body =
        json!({"event_id": event_id, "hall_id": hall_id, "starts_at": starts.to_rfc3339(), "turnover_minutes": 30});
    let performance_id = text(
        &expect("performance", 201, gateway.post(admin, "/v1/operator/performances", &body)).await?,
        "performance_id",
    );
    let mut grades: Vec<(&str, i64, &str)> = Vec::new();
    for s in &venue.sections {
        if !grades.iter().any(|(g, _, _)| *g == s.grade) {
            grades.push((&s.grade, s.price, &s.currency));
        }
    }
    let tiers: Vec<Value> = grades
        .iter()
        .map(|(grade, minor, currency)| json!({"grade_code": grade, "grade_name": grade, "price": {"minor": minor, "currency": currency}}))
        .collect();
    let path = format!("/v1/operator/performances/{performance_id}/price-tiers");
    expect("price tiers", 200, gateway.put(admin, &path, &json!({"tiers": tiers}))).await?;
    let sections = seats_of(&map, scenario);
    for seat in &scenario.behaviour.hot_seats {
        if !sections.iter().flat_map(|s| s.rows.iter().flatten()).any(|id| id == seat) {
            return Err(SetupError::UnknownHotSeat(seat.clone()));
        }
    }
    Ok(Draft { performance_id, sections })
}

/// The generated map's seat ids, per section and row.
fn seats_of(map: &Value, scenario: &Scenario) -> Vec<SectionSeats> {
    let empty = Vec::new();
    map["sections"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|section| {
            let section_id = text(section, "section_id");
            let standing = scenario.venue.sections.iter().find(|s| s.id == section_id).map_or(0, |s| s.standing);
            let rows = section["rows"]
                .as_array()
                .unwrap_or(&empty)
                .iter()
                .map(|row| row["seats"].as_array().unwrap_or(&empty).iter().map(|seat| text(seat, "seat_id")).collect())
                .filter(|row: &Vec<String>| !row.is_empty())
                .collect();
            SectionSeats { section_id, standing, rows }
        })
        .collect()
}

/// Configures the sale to open at `opens_at` (the waiting room is open already, for the
/// pre-queue) and end at `closes_at` (its waiting room closes then), publishes it, and waits
/// until booking serves its availability and the waiting room takes entries (the operator joins
/// it once: the two services learn of the sale from the topic, each in its own time).
pub async fn open(
    gateway: &Gateway,
    admin: &Session,
    scenario: &Scenario,
    draft: Draft,
    opens_at: DateTime<Utc>,
    closes_at: DateTime<Utc>,
) -> Result<Sale, SetupError> {
    let sale = &scenario.sale;
    let now = Utc::now();
    let body = json!({
        "expected_version": 0, "mode": "reserved",
        "waiting_room_opens_at": (now - chrono::Duration::minutes(1)).to_rfc3339(),
        "sale_opens_at": opens_at.to_rfc3339(),
        "sale_closes_at": closes_at.to_rfc3339(),
        "per_buyer_limit": sale.per_buyer_limit, "hold_ttl_seconds": sale.hold_ttl_seconds,
        "payment_deadline_seconds": sale.payment_deadline_seconds,
        "admission_rate_per_second": sale.admission_rate_per_second,
        "max_active_shoppers": sale.max_active_shoppers, "admission_ttl_seconds": sale.admission_ttl_seconds,
        "fee_ladder": [{"days_before": 7, "fee_basis_points": 0}, {"days_before": 1, "fee_basis_points": 1000}],
    });
    let performance = &draft.performance_id;
    let path = format!("/v1/operator/performances/{performance}/sale-config");
    expect("sale config", 200, gateway.put(admin, &path, &body)).await?;
    let path = format!("/v1/operator/performances/{performance}");
    let current = expect("the draft", 200, gateway.get(admin, &path)).await?;
    let path = format!("/v1/operator/performances/{performance}/publish");
    expect("publish", 200, gateway.post(admin, &path, &json!({"expected_version": current["version"]}))).await?;
    let patience = Duration::from_secs(60);
    let started = tokio::time::Instant::now();
    let availability = format!("/v1/performances/{performance}/availability");
    let queue = format!("/v1/performances/{performance}/queue");
    loop {
        if gateway.get(admin, &availability).await.is_ok_and(|r| r.ok())
            && gateway.post(admin, &queue, &json!({})).await.is_ok_and(|r| r.ok())
        {
            break;
        }
        if started.elapsed() > patience {
            return Err(SetupError::NotOpen(patience));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(Sale { performance_id: draft.performance_id, sections: draft.sections, opens_at })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_map_gives_seat_ids_by_section_and_row() {
        let scenario = Scenario::parse(include_str!("../scenarios/ci-burst.toml")).expect("valid");
        let map = json!({"sections": [
            {"section_id": "A", "rows": [{"seats": [{"seat_id": "A-1-1"}, {"seat_id": "A-1-2"}]}, {"seats": [{"seat_id": "A-2-1"}]}]},
            {"section_id": "GA", "rows": []},
        ]});
        let sections = seats_of(&map, &scenario);
        assert_eq!(sections[0].rows, vec![vec!["A-1-1".to_owned(), "A-1-2".to_owned()], vec!["A-2-1".to_owned()]]);
        assert_eq!((sections[1].section_id.as_str(), sections[1].standing, sections[1].rows.len()), ("GA", 100, 0));
    }
}
