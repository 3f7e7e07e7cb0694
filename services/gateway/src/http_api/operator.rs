//! Operator routes for running a sale: the waiting room (pause, resume, outflow), a live
//! dashboard (waiting, admitted, held, sold, revenue), publishing and cancelling. Operators act
//! only on performances at venues they manage; admins on all; buyers on none.

use axum::{
    Json,
    extract::{Path, State},
    response::{IntoResponse, Response},
};
use floodgate_proto::{catalog::v1 as catalog, queue::v1 as queue};
use serde::Deserialize;
use serde_json::json;

use super::{
    ApiState,
    routes::{Access, Api},
    scope, views,
};
use crate::{
    ApiError,
    auth::{Caller, JsonBody},
};

pub fn register(api: Api) -> Api {
    const ROOM: &str = "/v1/operator/performances/{performance_id}/waiting-room";
    api.get("/v1/operator/performances/{performance_id}/dashboard", "Live sale dashboard", Access::Staff, dashboard)
        .post(
            "/v1/operator/performances/{performance_id}/publish",
            "Publish a draft performance",
            Access::Staff,
            publish,
        )
        .post("/v1/operator/performances/{performance_id}/cancel", "Cancel a performance", Access::Staff, cancel)
        .post("/v1/operator/performances/{performance_id}/waiting-room/pause", "Pause admissions", Access::Staff, pause)
        .post(
            "/v1/operator/performances/{performance_id}/waiting-room/resume",
            "Resume admissions",
            Access::Staff,
            resume,
        )
        .patch(ROOM, "Change the admission rate and active-shopper cap", Access::Staff, outflow)
}

fn room(room: &queue::Room) -> serde_json::Value {
    json!({
        "state": room.state().as_str_name().trim_start_matches("ROOM_STATE_").to_lowercase(),
        "admission_rate_per_second": room.admission_rate_per_second,
        "max_active_shoppers": room.max_active_shoppers,
        "seed_commitment": room.seed_commitment,
    })
}

async fn dashboard(
    State(state): State<ApiState>,
    caller: Caller,
    Path(performance_id): Path<String>,
) -> Result<Response, ApiError> {
    let performance = scope::performance(&state, &caller, &performance_id).await?;
    let sale_id = performance.performance_id.clone();
    let stats = state
        .upstreams
        .queue()
        .get_room_stats(queue::GetRoomStatsRequest { sale_id })
        .await
        .map_err(ApiError::upstream("queue"))?
        .into_inner();
    let availability = state
        .upstreams
        .catalog()
        .get_availability_summary(catalog::GetAvailabilitySummaryRequest {
            performance_id: performance.performance_id.clone(),
        })
        .await
        .map_err(ApiError::upstream("catalog"))?
        .into_inner();
    let box_office = state
        .upstreams
        .catalog()
        .get_box_office(catalog::GetBoxOfficeRequest { from: None, to: None, limit: 100 })
        .await
        .map_err(ApiError::upstream("catalog"))?
        .into_inner();
    let event = box_office.entries.iter().find(|e| e.event_id == performance.event_id);
    let total = |f: fn(&catalog::SectionAvailability) -> u32| availability.sections.iter().map(f).sum::<u32>();
    Ok(Json(json!({
        "performance_id": performance.performance_id,
        "waiting_room": {
            "state": stats.state().as_str_name().trim_start_matches("ROOM_STATE_").to_lowercase(),
            "waiting": stats.waiting,
            "pre_queue": stats.pre_queue,
            "admitted_active": stats.admitted_active,
            "admitted_total": stats.admitted_total,
            "abandoned": stats.abandoned,
            "admission_rate": stats.admission_rate,
        },
        "seats": {
            "capacity": total(|s| s.capacity),
            "available": total(|s| s.available),
            "held": total(|s| s.held),
            "sold": total(|s| s.sold),
            "sections": availability.sections.iter().map(|s| json!({
                "section_id": s.section_id, "capacity": s.capacity, "available": s.available, "held": s.held, "sold": s.sold,
            })).collect::<Vec<_>>(),
        },
        // Revenue and tickets of the performance's event (the box office counts per event).
        "event_sales": event.map(|e| json!({"tickets_sold": e.tickets_sold, "revenue": views::money(e.revenue.as_ref())})),
        "as_of": views::time(availability.as_of.as_ref()),
    }))
    .into_response())
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct PublishBody {
    expected_version: i64,
}

async fn publish(
    State(state): State<ApiState>,
    caller: Caller,
    Path(performance_id): Path<String>,
    JsonBody(body): JsonBody<PublishBody>,
) -> Result<Response, ApiError> {
    let performance = scope::performance(&state, &caller, &performance_id).await?;
    let request = catalog::PublishPerformanceRequest {
        performance_id: performance.performance_id,
        expected_version: body.expected_version,
    };
    let published = state
        .upstreams
        .catalog()
        .publish_performance(request)
        .await
        .map_err(ApiError::upstream("catalog"))?
        .into_inner();
    Ok(Json(json!({"performance_id": published.performance_id, "status": published.status().as_str_name(), "version": published.version})).into_response())
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    #[serde(default)]
    reason: String,
}

async fn cancel(
    State(state): State<ApiState>,
    caller: Caller,
    Path(performance_id): Path<String>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> Result<Response, ApiError> {
    let performance = scope::performance(&state, &caller, &performance_id).await?;
    let request = catalog::CancelPerformanceRequest { performance_id: performance.performance_id, reason: body.reason };
    let cancelled = state
        .upstreams
        .catalog()
        .cancel_performance(request)
        .await
        .map_err(ApiError::upstream("catalog"))?
        .into_inner();
    Ok(Json(json!({"performance_id": cancelled.performance_id, "status": cancelled.status().as_str_name()}))
        .into_response())
}

async fn pause(
    State(state): State<ApiState>,
    caller: Caller,
    Path(performance_id): Path<String>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> Result<Response, ApiError> {
    let performance = scope::performance(&state, &caller, &performance_id).await?;
    let request = queue::PauseRoomRequest { sale_id: performance.performance_id, reason: body.reason };
    let paused = state.upstreams.queue().pause_room(request).await.map_err(ApiError::upstream("queue"))?.into_inner();
    Ok(Json(room(&paused)).into_response())
}

async fn resume(
    State(state): State<ApiState>,
    caller: Caller,
    Path(performance_id): Path<String>,
) -> Result<Response, ApiError> {
    let performance = scope::performance(&state, &caller, &performance_id).await?;
    let resumed = state
        .upstreams
        .queue()
        .resume_room(queue::ResumeRoomRequest { sale_id: performance.performance_id })
        .await
        .map_err(ApiError::upstream("queue"))?
        .into_inner();
    Ok(Json(room(&resumed)).into_response())
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct OutflowBody {
    admission_rate_per_second: u32,
    max_active_shoppers: u32,
}

async fn outflow(
    State(state): State<ApiState>,
    caller: Caller,
    Path(performance_id): Path<String>,
    JsonBody(body): JsonBody<OutflowBody>,
) -> Result<Response, ApiError> {
    let performance = scope::performance(&state, &caller, &performance_id).await?;
    let request = queue::SetOutflowRequest {
        sale_id: performance.performance_id,
        admission_rate_per_second: body.admission_rate_per_second,
        max_active_shoppers: body.max_active_shoppers,
    };
    let changed = state.upstreams.queue().set_outflow(request).await.map_err(ApiError::upstream("queue"))?.into_inner();
    Ok(Json(room(&changed)).into_response())
}
