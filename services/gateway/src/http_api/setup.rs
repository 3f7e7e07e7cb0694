//! Operators set up a sale over REST: venues (admins create and delete them), halls, seat maps
//! (uploaded or generated), cinema pricing rules, events, performances, price tiers and the sale
//! configuration. Each route checks the caller's scope first ([`scope`]); the catalog validates
//! the values. Publishing and running the sale are in `operator.rs`.

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use floodgate_proto::catalog::v1 as catalog;
use serde::Deserialize;
use serde_json::json;

use super::{
    ApiState,
    routes::{Access, Api},
    scope,
    views::catalog as view,
};
use crate::{
    ApiError,
    accounts::repo,
    auth::{Caller, JsonBody, QueryParams},
    domain::jwt::Role,
};

mod bodies;

pub use bodies::Category;

pub fn register(api: Api) -> Api {
    const VENUE: &str = "/v1/operator/venues/{venue_id}";
    const HALL: &str = "/v1/operator/halls/{hall_id}";
    const SEAT_MAP: &str = "/v1/operator/halls/{hall_id}/seat-map";
    const PERFORMANCE: &str = "/v1/operator/performances/{performance_id}";
    api.get("/v1/operator/venues", "The venues the caller manages (admins: all)", Access::Staff, list_venues)
        .post("/v1/operator/venues", "Create a venue (admins)", Access::Admin, create_venue)
        .get(VENUE, "A venue with its halls", Access::Staff, get_venue)
        .put(VENUE, "Replace a venue's details (optimistic: expected_version)", Access::Staff, update_venue)
        .delete(VENUE, "Delete a venue without published performances (admins)", Access::Admin, delete_venue)
        .post("/v1/operator/venues/{venue_id}/halls", "Add a hall to a venue", Access::Staff, create_hall)
        .put(
            "/v1/operator/venues/{venue_id}/pricing-rules",
            "Cinema pricing: hall type × time band × audience, with grade surcharges",
            Access::Staff,
            set_pricing_rules,
        )
        .get(HALL, "A hall", Access::Staff, get_hall)
        .get(SEAT_MAP, "A hall's seat map (latest, or ?version=)", Access::Staff, get_seat_map)
        .put(SEAT_MAP, "Upload a new seat map version", Access::Staff, put_seat_map)
        .post(
            "/v1/operator/halls/{hall_id}/seat-map/generate",
            "Generate a seat map from blocks of rows (or standing areas)",
            Access::Staff,
            generate_seat_map,
        )
        .post("/v1/operator/events", "Create an event (its creator may edit it)", Access::Staff, create_event)
        .put("/v1/operator/events/{event_id}", "Replace an event's details", Access::Staff, update_event)
        .post(
            "/v1/operator/performances",
            "Schedule a performance in a hall (no overlaps in one hall)",
            Access::Staff,
            create_performance,
        )
        .get(PERFORMANCE, "A performance with its sale configuration", Access::Staff, get_performance)
        .put(
            "/v1/operator/performances/{performance_id}/price-tiers",
            "Prices per seat grade",
            Access::Staff,
            set_price_tiers,
        )
        .put(
            "/v1/operator/performances/{performance_id}/sale-config",
            "Sale windows, limits, hold and payment times, waiting-room outflow, cancellation fees",
            Access::Staff,
            set_sale_config,
        )
        .put(
            "/v1/admin/accounts/{account_id}/role",
            "Make an account a buyer, an operator of some venues, or an admin",
            Access::Admin,
            set_role,
        )
}

/// A create is retried safely with the same `Idempotency-Key` header; keys are per caller.
fn idempotency_key(headers: &HeaderMap, caller: &Caller) -> String {
    headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty())
        .map_or_else(String::new, |key| format!("{}:{key}", caller.0.sub))
}

fn created(body: serde_json::Value) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}

// ---- venues and halls ----

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    page_size: Option<u32>,
    cursor: Option<String>,
}

async fn list_venues(
    State(state): State<ApiState>,
    caller: Caller,
    QueryParams(query): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    scope::staff(&caller)?;
    let mut catalog = state.upstreams.catalog();
    if caller.0.role == Role::Operator {
        let mut venues = Vec::with_capacity(caller.0.venues.len());
        for venue_id in &caller.0.venues {
            match catalog.get_venue(catalog::GetVenueRequest { venue_id: venue_id.clone() }).await {
                Ok(venue) => venues.push(view::venue(venue.get_ref())),
                // A venue deleted since the token was issued.
                Err(status) if status.code() == tonic::Code::NotFound => {}
                Err(status) => return Err(ApiError::from_status("catalog", &status)),
            }
        }
        return Ok(Json(json!({"venues": venues, "next_cursor": null})).into_response());
    }
    let page = super::paging::request(query.page_size, query.cursor.as_deref());
    let listed = catalog
        .list_venues(catalog::ListVenuesRequest { page: Some(page) })
        .await
        .map_err(ApiError::upstream("catalog"))?
        .into_inner();
    let next = super::paging::next(listed.page);
    Ok(Json(json!({"venues": listed.venues.iter().map(view::venue).collect::<Vec<_>>(), "next_cursor": next}))
        .into_response())
}

async fn create_venue(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody<bodies::Venue>,
) -> Result<Response, ApiError> {
    scope::admin(&caller)?;
    let request =
        catalog::CreateVenueRequest { venue: Some(body.into()), idempotency_key: idempotency_key(&headers, &caller) };
    let venue =
        state.upstreams.catalog().create_venue(request).await.map_err(ApiError::upstream("catalog"))?.into_inner();
    Ok(created(view::venue(&venue)))
}

async fn get_venue(
    State(state): State<ApiState>,
    caller: Caller,
    Path(venue_id): Path<String>,
) -> Result<Response, ApiError> {
    let venue_id = scope::venue(&caller, &venue_id)?;
    let venue = state
        .upstreams
        .catalog()
        .get_venue(catalog::GetVenueRequest { venue_id })
        .await
        .map_err(ApiError::upstream("catalog"))?
        .into_inner();
    Ok(Json(view::venue(&venue)).into_response())
}

async fn update_venue(
    State(state): State<ApiState>,
    caller: Caller,
    Path(venue_id): Path<String>,
    JsonBody(body): JsonBody<bodies::VenueUpdate>,
) -> Result<Response, ApiError> {
    let venue_id = scope::venue(&caller, &venue_id)?;
    let request = catalog::UpdateVenueRequest {
        venue_id,
        venue: Some(body.venue.into()),
        expected_version: body.expected_version,
    };
    let venue =
        state.upstreams.catalog().update_venue(request).await.map_err(ApiError::upstream("catalog"))?.into_inner();
    Ok(Json(view::venue(&venue)).into_response())
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct VersionQuery {
    /// The version read; a concurrent change makes this a 409.
    expected_version: i64,
}

async fn delete_venue(
    State(state): State<ApiState>,
    caller: Caller,
    Path(venue_id): Path<String>,
    QueryParams(query): QueryParams<VersionQuery>,
) -> Result<Response, ApiError> {
    scope::admin(&caller)?;
    let request =
        catalog::DeleteVenueRequest { venue_id: scope::id(&venue_id)?, expected_version: query.expected_version };
    state.upstreams.catalog().delete_venue(request).await.map_err(ApiError::upstream("catalog"))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn create_hall(
    State(state): State<ApiState>,
    caller: Caller,
    Path(venue_id): Path<String>,
    JsonBody(body): JsonBody<bodies::Hall>,
) -> Result<Response, ApiError> {
    let venue_id = scope::venue(&caller, &venue_id)?;
    let request = catalog::CreateHallRequest { venue_id, name: body.name, hall_type: body.hall_type.proto() };
    let hall =
        state.upstreams.catalog().create_hall(request).await.map_err(ApiError::upstream("catalog"))?.into_inner();
    Ok(created(view::hall(&hall)))
}

async fn set_pricing_rules(
    State(state): State<ApiState>,
    caller: Caller,
    Path(venue_id): Path<String>,
    JsonBody(body): JsonBody<bodies::PricingRules>,
) -> Result<Response, ApiError> {
    let venue_id = scope::venue(&caller, &venue_id)?;
    let rules = state
        .upstreams
        .catalog()
        .set_pricing_rules(body.into_request(venue_id))
        .await
        .map_err(ApiError::upstream("catalog"))?
        .into_inner();
    Ok(Json(view::pricing_rules(&rules)).into_response())
}

async fn get_hall(
    State(state): State<ApiState>,
    caller: Caller,
    Path(hall_id): Path<String>,
) -> Result<Response, ApiError> {
    let hall = scope::hall(&state, &caller, &hall_id).await?;
    Ok(Json(view::hall(&hall)).into_response())
}

// ---- seat maps ----

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct SeatMapQuery {
    /// Omitted or 0: the latest.
    version: Option<i32>,
}

async fn get_seat_map(
    State(state): State<ApiState>,
    caller: Caller,
    Path(hall_id): Path<String>,
    QueryParams(query): QueryParams<SeatMapQuery>,
) -> Result<Response, ApiError> {
    let hall = scope::hall(&state, &caller, &hall_id).await?;
    let request = catalog::GetSeatMapRequest { hall_id: hall.hall_id, version: query.version.unwrap_or(0) };
    let map =
        state.upstreams.catalog().get_seat_map(request).await.map_err(ApiError::upstream("catalog"))?.into_inner();
    Ok(Json(view::seat_map(&map)).into_response())
}

async fn put_seat_map(
    State(state): State<ApiState>,
    caller: Caller,
    Path(hall_id): Path<String>,
    JsonBody(body): JsonBody<bodies::SeatMap>,
) -> Result<Response, ApiError> {
    let hall = scope::hall(&state, &caller, &hall_id).await?;
    let map = state
        .upstreams
        .catalog()
        .put_seat_map(body.into_request(hall.hall_id))
        .await
        .map_err(ApiError::upstream("catalog"))?
        .into_inner();
    Ok(Json(view::seat_map(&map)).into_response())
}

async fn generate_seat_map(
    State(state): State<ApiState>,
    caller: Caller,
    Path(hall_id): Path<String>,
    JsonBody(body): JsonBody<bodies::GeneratedSeatMap>,
) -> Result<Response, ApiError> {
    let hall = scope::hall(&state, &caller, &hall_id).await?;
    let map = state
        .upstreams
        .catalog()
        .generate_seat_map(body.into_request(hall.hall_id))
        .await
        .map_err(ApiError::upstream("catalog"))?
        .into_inner();
    Ok(created(view::seat_map(&map)))
}

// ---- events and performances ----

fn account_id(caller: &Caller) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(&caller.0.sub)
        .map_err(|_| ApiError::Forbidden { code: "STAFF_ONLY", message: "operators and admins only".into() })
}

async fn create_event(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody<bodies::Event>,
) -> Result<Response, ApiError> {
    scope::staff(&caller)?;
    let owner = account_id(&caller)?;
    let request =
        catalog::CreateEventRequest { event: Some(body.into()), idempotency_key: idempotency_key(&headers, &caller) };
    let event =
        state.upstreams.catalog().create_event(request).await.map_err(ApiError::upstream("catalog"))?.into_inner();
    let event_id = uuid::Uuid::parse_str(&event.event_id).map_err(|_| ApiError::Internal)?;
    repo::claim_event(&state.accounts.pool, event_id, owner, chrono::Utc::now())
        .await
        .map_err(super::accounts::repo_error)?;
    Ok(created(view::event(&event)))
}

async fn update_event(
    State(state): State<ApiState>,
    caller: Caller,
    Path(event_id): Path<String>,
    JsonBody(body): JsonBody<bodies::EventUpdate>,
) -> Result<Response, ApiError> {
    scope::staff(&caller)?;
    let event_id = scope::id(&event_id)?;
    if caller.0.role != Role::Admin {
        let id = uuid::Uuid::parse_str(&event_id).map_err(|_| ApiError::Internal)?;
        let owner = repo::event_owner(&state.accounts.pool, id).await.map_err(super::accounts::repo_error)?;
        if owner != Some(account_id(&caller)?) {
            return Err(ApiError::Forbidden { code: "NOT_YOUR_EVENT", message: "only its creator or an admin".into() });
        }
    }
    let request = catalog::UpdateEventRequest {
        event_id,
        event: Some(body.event.into()),
        expected_version: body.expected_version,
    };
    let event =
        state.upstreams.catalog().update_event(request).await.map_err(ApiError::upstream("catalog"))?.into_inner();
    Ok(Json(view::event(&event)).into_response())
}

async fn create_performance(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody<bodies::Performance>,
) -> Result<Response, ApiError> {
    // Any event may be scheduled, but only in a hall of the caller's venues.
    scope::hall(&state, &caller, &body.hall_id).await?;
    scope::id(&body.event_id).map_err(|_| ApiError::field("event_id", "an event id"))?;
    let request = body.into_request(idempotency_key(&headers, &caller));
    let performance = state
        .upstreams
        .catalog()
        .create_performance(request)
        .await
        .map_err(ApiError::upstream("catalog"))?
        .into_inner();
    Ok(created(view::performance(&performance)))
}

async fn get_performance(
    State(state): State<ApiState>,
    caller: Caller,
    Path(performance_id): Path<String>,
) -> Result<Response, ApiError> {
    let performance = scope::performance(&state, &caller, &performance_id).await?;
    Ok(Json(view::performance(&performance)).into_response())
}

async fn set_price_tiers(
    State(state): State<ApiState>,
    caller: Caller,
    Path(performance_id): Path<String>,
    JsonBody(body): JsonBody<bodies::PriceTiers>,
) -> Result<Response, ApiError> {
    let performance = scope::performance(&state, &caller, &performance_id).await?;
    let tiers = state
        .upstreams
        .catalog()
        .set_price_tiers(body.into_request(performance.performance_id))
        .await
        .map_err(ApiError::upstream("catalog"))?
        .into_inner();
    Ok(Json(json!({"performance_id": tiers.performance_id, "tiers": view::tiers(&tiers.tiers)})).into_response())
}

async fn set_sale_config(
    State(state): State<ApiState>,
    caller: Caller,
    Path(performance_id): Path<String>,
    JsonBody(body): JsonBody<bodies::SaleConfig>,
) -> Result<Response, ApiError> {
    let performance = scope::performance(&state, &caller, &performance_id).await?;
    let config = state
        .upstreams
        .catalog()
        .set_sale_config(body.into_request(performance.performance_id.clone()))
        .await
        .map_err(ApiError::upstream("catalog"))?
        .into_inner();
    Ok(Json(json!({"performance_id": performance.performance_id, "sale_config": view::sale_config(&config)}))
        .into_response())
}

// ---- roles ----

#[derive(Debug, Clone, Copy, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
enum RoleName {
    Buyer,
    Operator,
    Admin,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    role: RoleName,
    /// The venues an operator manages (ignored for other roles).
    #[serde(default)]
    venues: Vec<uuid::Uuid>,
}

async fn set_role(
    State(state): State<ApiState>,
    caller: Caller,
    Path(account_id): Path<String>,
    JsonBody(body): JsonBody<RoleBody>,
) -> Result<Response, ApiError> {
    scope::admin(&caller)?;
    let id = uuid::Uuid::parse_str(&account_id).map_err(|_| ApiError::NotFound {
        method: "PUT".into(),
        path: format!("/v1/admin/accounts/{account_id}/role"),
    })?;
    let role = match body.role {
        RoleName::Buyer => Role::Buyer,
        RoleName::Operator => Role::Operator,
        RoleName::Admin => Role::Admin,
    };
    let found = repo::set_role(&state.accounts.pool, id, role, &body.venues, chrono::Utc::now())
        .await
        .map_err(super::accounts::repo_error)?;
    if !found {
        return Err(ApiError::NotFound { method: "PUT".into(), path: format!("/v1/admin/accounts/{account_id}/role") });
    }
    let venues = if role == Role::Operator { body.venues } else { Vec::new() };
    Ok(Json(json!({"account_id": id, "role": format!("{role:?}").to_lowercase(), "venues": venues})).into_response())
}
