//! What anyone may browse: events (search and detail), performances and their seat maps. Drafts
//! stay invisible: an event shows only once one of its performances is published, and a draft
//! performance or its map is not found.

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use floodgate_proto::catalog::v1 as catalog;
use serde::Deserialize;
use serde_json::json;

use std::time::Instant;

use super::{
    ApiState, paging,
    recent_maps::Served,
    routes::{Access, Api},
    scope,
    views::catalog as view,
};
use crate::{ApiError, auth::QueryParams};

pub fn register(api: Api) -> Api {
    api.get("/v1/events", "Search events on sale", Access::Public, search_events)
        .get("/v1/events/{event_id}", "An event and its performances", Access::Public, get_event)
        .get("/v1/performances/{performance_id}", "A performance", Access::Public, get_performance)
        .get(
            "/v1/performances/{performance_id}/seat-map",
            "Geometry, grades and prices (ETag; `Accept: application/x-protobuf` for the compact map)",
            Access::Public,
            seat_map,
        )
}

fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: t.timestamp(), nanos: 0 }
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    /// Words of the title.
    q: Option<String>,
    category: Option<super::setup::Category>,
    genre: Option<String>,
    /// Performances starting at or after.
    from: Option<DateTime<Utc>>,
    /// Performances starting before.
    to: Option<DateTime<Utc>>,
    venue_id: Option<uuid::Uuid>,
    page_size: Option<u32>,
    cursor: Option<String>,
}

async fn search_events(
    State(state): State<ApiState>,
    QueryParams(query): QueryParams<SearchQuery>,
) -> Result<Response, ApiError> {
    let request = catalog::SearchEventsRequest {
        text: query.q.unwrap_or_default(),
        category: query.category.map_or(0, super::setup::Category::proto),
        genre: query.genre.unwrap_or_default(),
        from: query.from.map(timestamp),
        to: query.to.map(timestamp),
        venue_id: query.venue_id.map(|v| v.to_string()).unwrap_or_default(),
        min_price: None,
        max_price: None,
        // The public sees published performances only; drafts are the operators' business.
        on_sale_only: true,
        page: Some(paging::request(query.page_size, query.cursor.as_deref())),
    };
    let found =
        state.upstreams.catalog().search_events(request).await.map_err(ApiError::upstream("catalog"))?.into_inner();
    let next = paging::next(found.page);
    Ok(Json(json!({"events": found.events.iter().map(view::event_summary).collect::<Vec<_>>(), "next_cursor": next}))
        .into_response())
}

fn visible(p: &catalog::Performance) -> bool {
    !matches!(p.status(), catalog::PerformanceStatus::Draft | catalog::PerformanceStatus::Unspecified)
}

fn not_found(path: String) -> ApiError {
    ApiError::NotFound { method: "GET".into(), path }
}

async fn get_event(State(state): State<ApiState>, Path(event_id): Path<String>) -> Result<Response, ApiError> {
    let detail = state
        .upstreams
        .catalog()
        .get_event(catalog::GetEventRequest { event_id: scope::id(&event_id)? })
        .await
        .map_err(ApiError::upstream("catalog"))?
        .into_inner();
    let performances: Vec<_> = detail.performances.iter().filter(|p| visible(p)).map(view::performance).collect();
    let Some(event) = detail.event.filter(|_| !performances.is_empty()) else {
        return Err(not_found(format!("/v1/events/{event_id}")));
    };
    let mut body = view::event(&event);
    body["performances"] = json!(performances);
    Ok(Json(body).into_response())
}

/// The performance if the public may see it.
async fn published(state: &ApiState, performance_id: &str) -> Result<catalog::Performance, ApiError> {
    let performance = state
        .upstreams
        .catalog()
        .get_performance(catalog::GetPerformanceRequest { performance_id: scope::id(performance_id)? })
        .await
        .map_err(ApiError::upstream("catalog"))?
        .into_inner();
    if !visible(&performance) {
        return Err(not_found(format!("/v1/performances/{performance_id}")));
    }
    Ok(performance)
}

async fn get_performance(
    State(state): State<ApiState>,
    Path(performance_id): Path<String>,
) -> Result<Response, ApiError> {
    let performance = published(&state, &performance_id).await?;
    Ok(Json(view::performance(&performance)).into_response())
}

async fn seat_map(
    State(state): State<ApiState>,
    Path(performance_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let compact = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/x-protobuf"));
    let if_none_match = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim_matches('"').to_owned())
        .unwrap_or_default();
    let recent = compact.then(|| state.recent_maps.get(&performance_id, Instant::now())).flatten();
    let (etag, mut response) = match recent {
        Some(served) if served.etag == if_none_match => (served.etag, StatusCode::NOT_MODIFIED.into_response()),
        Some(served) => (served.etag, compact_map(served.body)),
        None => {
            let performance = published(&state, &performance_id).await?;
            let request = catalog::GetPerformanceSeatMapRequest {
                performance_id: performance.performance_id.clone(),
                full: !compact,
                if_none_match,
            };
            let map = state
                .upstreams
                .catalog()
                .get_performance_seat_map(request)
                .await
                .map_err(ApiError::upstream("catalog"))?
                .into_inner();
            let response = if map.not_modified {
                StatusCode::NOT_MODIFIED.into_response()
            } else if compact {
                let served = Served { etag: map.etag.clone(), body: map.compact_seat_map };
                state.recent_maps.put(&performance_id, served.clone(), Instant::now());
                compact_map(served.body)
            } else {
                Json(json!({
                    "performance_id": map.performance_id,
                    "etag": map.etag,
                    "tiers": view::tiers(&map.tiers),
                    "seat_map": map.seat_map.as_ref().map(view::seat_map),
                }))
                .into_response()
            };
            (map.etag, response)
        }
    };
    let etag = HeaderValue::from_str(&format!("\"{etag}\"")).map_err(|_| ApiError::Internal)?;
    response.headers_mut().insert(header::ETAG, etag);
    // Geometry and prices change rarely and the ETag revalidates cheaply.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    Ok(response)
}

fn compact_map(body: axum::body::Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/x-protobuf")], body).into_response()
}
