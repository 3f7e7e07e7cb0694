//! Who may operate what. Admins operate everything; operators the venues listed in their token
//! (and the halls and performances in them); buyers and guests nothing. Ids that are not UUIDs
//! are not found, without a round trip.

use floodgate_proto::catalog::v1 as catalog;

use super::ApiState;
use crate::{ApiError, auth::Caller, domain::jwt::Role};

pub fn staff(caller: &Caller) -> Result<(), ApiError> {
    match caller.0.role {
        Role::Operator | Role::Admin => Ok(()),
        _ => Err(ApiError::Forbidden { code: "STAFF_ONLY", message: "operators and admins only".into() }),
    }
}

pub fn admin(caller: &Caller) -> Result<(), ApiError> {
    match caller.0.role {
        Role::Admin => Ok(()),
        _ => Err(ApiError::Forbidden { code: "ADMIN_ONLY", message: "admins only".into() }),
    }
}

/// A path id as the canonical UUID string.
pub fn id(raw: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::NotFound { method: String::new(), path: format!("…/{raw}") })
}

/// Staff who may act on this venue.
pub fn venue(caller: &Caller, venue_id: &str) -> Result<String, ApiError> {
    staff(caller)?;
    let venue_id = id(venue_id)?;
    if caller.0.role == Role::Operator && !caller.0.venues.contains(&venue_id) {
        return Err(ApiError::Forbidden { code: "NOT_YOUR_VENUE", message: "you do not manage this venue".into() });
    }
    Ok(venue_id)
}

/// The hall, after checking the caller may operate its venue.
pub async fn hall(state: &ApiState, caller: &Caller, hall_id: &str) -> Result<catalog::Hall, ApiError> {
    staff(caller)?;
    let hall = state
        .upstreams
        .catalog()
        .get_hall(catalog::GetHallRequest { hall_id: id(hall_id)? })
        .await
        .map_err(ApiError::upstream("catalog"))?
        .into_inner();
    venue(caller, &hall.venue_id)?;
    Ok(hall)
}

/// The performance, after checking the caller may operate it (its hall's venue is theirs).
pub async fn performance(
    state: &ApiState,
    caller: &Caller,
    performance_id: &str,
) -> Result<catalog::Performance, ApiError> {
    staff(caller)?;
    let performance = state
        .upstreams
        .catalog()
        .get_performance(catalog::GetPerformanceRequest { performance_id: id(performance_id)? })
        .await
        .map_err(ApiError::upstream("catalog"))?
        .into_inner();
    if caller.0.role == Role::Operator {
        hall(state, caller, &performance.hall_id).await?;
    }
    Ok(performance)
}
