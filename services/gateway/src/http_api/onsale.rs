//! The buyer's on-sale journey over the upstream services: the waiting room, seat availability,
//! holds (chosen seats or best available), checkout, payment at the provider, orders, tickets
//! (with the QR as SVG), guest look-up and the scanner's check. Every id-bearing route passes
//! the caller as the buyer, and the services answer someone else's hold, order, ticket or
//! payment as not found.

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use floodgate_proto::{booking::v1 as booking, payment::v1 as payment, queue::v1 as queue, types::v1 as types};
use serde::Deserialize;
use serde_json::json;

use super::{
    ApiState,
    routes::{Access, Api},
    // Ids in paths are UUIDs: anything else is not found (never an upstream round trip).
    scope::id as uuid,
    views,
};
use crate::{
    ApiError,
    auth::{Caller, ClientAddress, JsonBody, QueryParams},
    domain::jwt::Role,
};

pub fn register(api: Api) -> Api {
    api.get(
        "/v1/performances/{performance_id}/availability",
        "Seat availability snapshot (per section)",
        Access::Public,
        availability,
    )
    .post("/v1/performances/{performance_id}/queue", "Join the waiting room", Access::Caller, join_queue)
    .get(
        "/v1/performances/{performance_id}/queue/{entry_id}",
        "Waiting-room position (polling)",
        Access::Caller,
        position,
    )
    .post(
        "/v1/performances/{performance_id}/holds",
        "Hold chosen seats (admission token required)",
        Access::Caller,
        hold_seats,
    )
    .post(
        "/v1/performances/{performance_id}/holds/best-available",
        "Hold the best seats together",
        Access::Caller,
        hold_best,
    )
    .get("/v1/performances/{performance_id}/holds/{hold_id}", "A hold of the caller", Access::Caller, get_hold)
    .delete("/v1/performances/{performance_id}/holds/{hold_id}", "Release a hold now", Access::Caller, release_hold)
    .post(
        "/v1/performances/{performance_id}/holds/{hold_id}/checkout",
        "Check out a hold into an order",
        Access::Caller,
        checkout,
    )
    .get("/v1/orders", "The caller's orders", Access::Caller, list_orders)
    .get("/v1/orders/{order_id}", "An order of the caller", Access::Caller, get_order)
    .post("/v1/orders/{order_id}/cancel", "Cancel an order or some tickets (fee ladder)", Access::Caller, cancel_order)
    .get("/v1/orders/{order_id}/payment", "The order's payment", Access::Caller, get_payment)
    .post("/v1/orders/{order_id}/payment", "Start paying: returns the provider redirect", Access::Caller, start_payment)
    .post(
        "/v1/orders/{order_id}/payment/approve",
        "Complete the payment with the provider's token",
        Access::Caller,
        approve_payment,
    )
    .get("/v1/tickets", "The caller's tickets", Access::Caller, list_tickets)
    .get("/v1/tickets/{ticket_id}", "A ticket of the caller", Access::Caller, get_ticket)
    .get("/v1/tickets/{ticket_id}/qr.svg", "The ticket's QR code as SVG", Access::Caller, ticket_qr)
    .post("/v1/guest-orders/lookup", "A guest's order by number and phone", Access::Public, lookup_guest_order)
    .post("/v1/scanner/verify", "Scanner staff: verify a ticket at the door", Access::Staff, verify_ticket)
}

/// The caller as the services know buyers.
fn buyer(caller: &Caller) -> types::Buyer {
    let kind = if caller.0.role == Role::Guest {
        types::buyer::Kind::Guest(types::GuestIdentity {
            phone: caller.0.phone.clone().unwrap_or_default(),
            email: caller.0.email.clone().unwrap_or_default(),
            guest_id: caller.0.sub.clone(),
        })
    } else {
        types::buyer::Kind::UserId(caller.0.sub.clone())
    };
    types::Buyer { kind: Some(kind) }
}

fn buyer_key(caller: &Caller) -> String {
    buyer(caller).key().unwrap_or_default()
}

/// The caller's buyer key (the waiting room's buyer id).
pub fn buyer_of(caller: &Caller) -> String {
    buyer_key(caller)
}

/// Holds per account per minute: enough to pick seats, too few to hoard them (C9).
const HOLDS_PER_ACCOUNT: crate::accounts::limits::Rule =
    crate::accounts::limits::Rule { name: "holds-account", max: 30, window: std::time::Duration::from_secs(60) };

async fn limit_holds(state: &ApiState, caller: &Caller) -> Result<(), ApiError> {
    state.accounts.limits.enforce(HOLDS_PER_ACCOUNT, &buyer_key(caller)).await
}

fn idempotency_key(headers: &HeaderMap) -> String {
    headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

fn admission(headers: &HeaderMap, body: Option<String>) -> String {
    body.filter(|t| !t.is_empty())
        .or_else(|| headers.get("floodgate-admission").and_then(|v| v.to_str().ok()).map(str::to_owned))
        .unwrap_or_default()
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    page_size: Option<u32>,
    cursor: Option<String>,
    order_id: Option<String>,
    section: Option<String>,
}

impl PageQuery {
    fn page(&self) -> types::PageRequest {
        super::paging::request(self.page_size, self.cursor.as_deref())
    }
}

// ---- availability and the waiting room ----

async fn availability(
    State(state): State<ApiState>,
    Path(performance_id): Path<String>,
    QueryParams(query): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    let request = booking::GetSeatAvailabilityRequest {
        performance_id: uuid(&performance_id)?,
        section_ids: query.section.into_iter().collect(),
    };
    let reply =
        state.upstreams.booking().get_seat_availability(request).await.map_err(ApiError::upstream("booking"))?;
    Ok(Json(views::availability(&reply.into_inner())).into_response())
}

async fn join_queue(
    State(state): State<ApiState>,
    caller: Caller,
    Path(performance_id): Path<String>,
) -> Result<Response, ApiError> {
    let request =
        queue::JoinRequest { sale_id: uuid(&performance_id)?, buyer_id: buyer_key(&caller), device_id: String::new() };
    let joined = state.upstreams.queue().join(request).await.map_err(ApiError::upstream("queue"))?.into_inner();
    let position = joined.position.unwrap_or_default();
    Ok((StatusCode::CREATED, Json(views::position(&position))).into_response())
}

async fn position(
    State(state): State<ApiState>,
    caller: Caller,
    Path((performance_id, entry_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let request = queue::GetPositionRequest { sale_id: uuid(&performance_id)?, entry_id, buyer_id: buyer_key(&caller) };
    let position =
        state.upstreams.queue().get_position(request).await.map_err(ApiError::upstream("queue"))?.into_inner();
    Ok(Json(views::position(&position)).into_response())
}

// ---- holds ----

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct GaWanted {
    section_id: String,
    quantity: u32,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct HoldBody {
    #[serde(default)]
    seat_ids: Vec<String>,
    #[serde(default)]
    general_admission: Vec<GaWanted>,
    admission_token: Option<String>,
}

async fn hold_seats(
    State(state): State<ApiState>,
    caller: Caller,
    Path(performance_id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<HoldBody>,
) -> Result<Response, ApiError> {
    if body.seat_ids.len() > 20 || body.general_admission.len() > 20 {
        return Err(ApiError::field("seat_ids", "at most 20 seats per hold"));
    }
    limit_holds(&state, &caller).await?;
    let request = booking::HoldSeatsRequest {
        performance_id: uuid(&performance_id)?,
        buyer: Some(buyer(&caller)),
        seat_ids: body.seat_ids,
        general_admission: body
            .general_admission
            .into_iter()
            .map(|g| booking::GaRequest { section_id: g.section_id, quantity: g.quantity })
            .collect(),
        admission_token: admission(&headers, body.admission_token),
        idempotency_key: headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned(),
    };
    let hold = state.upstreams.booking().hold_seats(request).await.map_err(ApiError::upstream("booking"))?.into_inner();
    Ok((StatusCode::CREATED, Json(views::hold(&hold))).into_response())
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct BestBody {
    quantity: u32,
    grade: Option<String>,
    section_id: Option<String>,
    #[serde(default)]
    accessible: bool,
    admission_token: Option<String>,
}

async fn hold_best(
    State(state): State<ApiState>,
    caller: Caller,
    Path(performance_id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<BestBody>,
) -> Result<Response, ApiError> {
    limit_holds(&state, &caller).await?;
    let request = booking::HoldBestAvailableRequest {
        performance_id: uuid(&performance_id)?,
        buyer: Some(buyer(&caller)),
        quantity: body.quantity,
        grade_code: body.grade.unwrap_or_default(),
        section_id: body.section_id.unwrap_or_default(),
        accessible: body.accessible,
        admission_token: admission(&headers, body.admission_token),
        idempotency_key: headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned(),
    };
    let hold = state
        .upstreams
        .booking()
        .hold_best_available(request)
        .await
        .map_err(ApiError::upstream("booking"))?
        .into_inner();
    Ok((StatusCode::CREATED, Json(views::hold(&hold))).into_response())
}

async fn get_hold(
    State(state): State<ApiState>,
    caller: Caller,
    Path((performance_id, hold_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let request = booking::GetHoldRequest {
        hold_id: uuid(&hold_id)?,
        buyer: Some(buyer(&caller)),
        performance_id: uuid(&performance_id)?,
    };
    let hold = state.upstreams.booking().get_hold(request).await.map_err(ApiError::upstream("booking"))?.into_inner();
    Ok(Json(views::hold(&hold)).into_response())
}

async fn release_hold(
    State(state): State<ApiState>,
    caller: Caller,
    Path((performance_id, hold_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let request = booking::ReleaseHoldRequest {
        hold_id: uuid(&hold_id)?,
        buyer: Some(buyer(&caller)),
        performance_id: uuid(&performance_id)?,
    };
    let released =
        state.upstreams.booking().release_hold(request).await.map_err(ApiError::upstream("booking"))?.into_inner();
    Ok(Json(json!({ "released": released.released })).into_response())
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct TicketWanted {
    seat_id: Option<String>,
    section_id: Option<String>,
    audience: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct CheckoutBody {
    #[serde(default)]
    tickets: Vec<TicketWanted>,
    admission_token: Option<String>,
}

fn audience(name: Option<&str>) -> Result<types::Audience, ApiError> {
    match name.map(str::to_lowercase).as_deref() {
        None | Some("adult") => Ok(types::Audience::Adult),
        Some("youth") => Ok(types::Audience::Youth),
        Some("senior") => Ok(types::Audience::Senior),
        Some("disabled") => Ok(types::Audience::Disabled),
        Some(_) => Err(ApiError::field("tickets.audience", "one of adult, youth, senior, disabled")),
    }
}

async fn checkout(
    State(state): State<ApiState>,
    caller: Caller,
    Path((performance_id, hold_id)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CheckoutBody>,
) -> Result<Response, ApiError> {
    let tickets = body
        .tickets
        .iter()
        .map(|t| {
            Ok(booking::TicketChoice {
                seat_id: t.seat_id.clone().unwrap_or_default(),
                section_id: t.section_id.clone().unwrap_or_default(),
                audience: audience(t.audience.as_deref())?.into(),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let request = booking::CheckoutRequest {
        hold_id: uuid(&hold_id)?,
        buyer: Some(buyer(&caller)),
        tickets,
        admission_token: admission(&headers, body.admission_token),
        idempotency_key: idempotency_key(&headers),
        performance_id: uuid(&performance_id)?,
    };
    let order = state.upstreams.booking().checkout(request).await.map_err(ApiError::upstream("booking"))?.into_inner();
    Ok((StatusCode::CREATED, Json(views::order(&order))).into_response())
}

// ---- orders and payment ----

async fn list_orders(
    State(state): State<ApiState>,
    caller: Caller,
    QueryParams(query): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    let request = booking::ListOrdersRequest { buyer: Some(buyer(&caller)), page: Some(query.page()) };
    let reply =
        state.upstreams.booking().list_orders(request).await.map_err(ApiError::upstream("booking"))?.into_inner();
    let next = super::paging::next(reply.page);
    Ok(Json(json!({ "orders": reply.orders.iter().map(views::order).collect::<Vec<_>>(), "next_cursor": next }))
        .into_response())
}

async fn get_order(
    State(state): State<ApiState>,
    caller: Caller,
    Path(order_id): Path<String>,
) -> Result<Response, ApiError> {
    let request = booking::GetOrderRequest { order_id: uuid(&order_id)?, buyer: Some(buyer(&caller)) };
    let order = state.upstreams.booking().get_order(request).await.map_err(ApiError::upstream("booking"))?.into_inner();
    Ok(Json(views::order(&order)).into_response())
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct CancelBody {
    #[serde(default)]
    line_ids: Vec<String>,
    #[serde(default)]
    reason: String,
}

async fn cancel_order(
    State(state): State<ApiState>,
    caller: Caller,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CancelBody>,
) -> Result<Response, ApiError> {
    let request = booking::CancelOrderRequest {
        order_id: uuid(&order_id)?,
        buyer: Some(buyer(&caller)),
        line_ids: body.line_ids,
        reason: body.reason.chars().take(500).collect(),
        idempotency_key: idempotency_key(&headers),
    };
    let order =
        state.upstreams.booking().cancel_order(request).await.map_err(ApiError::upstream("booking"))?.into_inner();
    Ok(Json(views::order(&order)).into_response())
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct PaymentBody {
    /// Where the provider sends the browser back (the app's own pages).
    approve_url: String,
    cancel_url: String,
    fail_url: String,
}

async fn start_payment(
    State(state): State<ApiState>,
    caller: Caller,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<PaymentBody>,
) -> Result<Response, ApiError> {
    let request = payment::PrepareRequest {
        order_id: uuid(&order_id)?,
        buyer: Some(buyer(&caller)),
        approve_url: body.approve_url,
        cancel_url: body.cancel_url,
        fail_url: body.fail_url,
        idempotency_key: idempotency_key(&headers),
    };
    let prepared =
        state.upstreams.payment().prepare(request).await.map_err(ApiError::upstream("payment"))?.into_inner();
    let mut body = views::payment(&prepared.payment.unwrap_or_default());
    body["redirect_url"] = json!(prepared.redirect_url);
    body["provider_tid"] = json!(prepared.provider_tid);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct ApproveBody {
    payment_id: String,
    provider_tid: String,
    /// What the provider appended to the approve URL.
    pg_token: String,
}

async fn approve_payment(
    State(state): State<ApiState>,
    caller: Caller,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ApproveBody>,
) -> Result<Response, ApiError> {
    uuid(&order_id)?;
    let request = payment::ApproveRequest {
        payment_id: uuid(&body.payment_id)?,
        provider_tid: body.provider_tid,
        approval_token: body.pg_token,
        buyer: Some(buyer(&caller)),
        idempotency_key: idempotency_key(&headers),
    };
    let paid = state.upstreams.payment().approve(request).await.map_err(ApiError::upstream("payment"))?.into_inner();
    if paid.order_id != order_id {
        return Err(ApiError::NotFound { method: "POST".into(), path: format!("/v1/orders/{order_id}/payment") });
    }
    Ok(Json(views::payment(&paid)).into_response())
}

async fn get_payment(
    State(state): State<ApiState>,
    caller: Caller,
    Path(order_id): Path<String>,
) -> Result<Response, ApiError> {
    let request = payment::GetPaymentByOrderRequest { order_id: uuid(&order_id)?, buyer: Some(buyer(&caller)) };
    let found = state
        .upstreams
        .payment()
        .get_payment_by_order(request)
        .await
        .map_err(ApiError::upstream("payment"))?
        .into_inner();
    Ok(Json(views::payment(&found)).into_response())
}

// ---- tickets ----

async fn list_tickets(
    State(state): State<ApiState>,
    caller: Caller,
    QueryParams(query): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    let order_id = query.order_id.as_deref().map(uuid).transpose()?.unwrap_or_default();
    let request = booking::ListTicketsRequest { buyer: Some(buyer(&caller)), order_id, page: Some(query.page()) };
    let reply =
        state.upstreams.booking().list_tickets(request).await.map_err(ApiError::upstream("booking"))?.into_inner();
    let next = super::paging::next(reply.page);
    Ok(Json(json!({ "tickets": reply.tickets.iter().map(views::ticket).collect::<Vec<_>>(), "next_cursor": next }))
        .into_response())
}

async fn fetch_ticket(state: &ApiState, caller: &Caller, ticket_id: &str) -> Result<booking::Ticket, ApiError> {
    let request = booking::GetTicketRequest { ticket_id: uuid(ticket_id)?, buyer: Some(buyer(caller)) };
    Ok(state.upstreams.booking().get_ticket(request).await.map_err(ApiError::upstream("booking"))?.into_inner())
}

async fn get_ticket(
    State(state): State<ApiState>,
    caller: Caller,
    Path(ticket_id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(views::ticket(&fetch_ticket(&state, &caller, &ticket_id).await?)).into_response())
}

/// The ticket's QR code (its signed payload) as an SVG image.
async fn ticket_qr(
    State(state): State<ApiState>,
    caller: Caller,
    Path(ticket_id): Path<String>,
) -> Result<Response, ApiError> {
    let ticket = fetch_ticket(&state, &caller, &ticket_id).await?;
    if ticket.qr_payload.is_empty() {
        return Err(ApiError::Conflict { code: "TICKET_CANCELLED", message: "a cancelled ticket has no code".into() });
    }
    let code = qrcode::QrCode::new(ticket.qr_payload.as_bytes()).map_err(|e| ApiError::internal(&e))?;
    let svg = code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(256, 256).build();
    Ok(([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "private, no-store")], svg).into_response())
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct LookupBody {
    order_number: String,
    phone: String,
}

/// Guests find an order by its number and phone (rate limited: numbers must not be guessable).
async fn lookup_guest_order(
    State(state): State<ApiState>,
    ClientAddress(address): ClientAddress,
    JsonBody(body): JsonBody<LookupBody>,
) -> Result<Response, ApiError> {
    let rule =
        crate::accounts::limits::Rule { name: "guest-lookup-ip", max: 10, window: std::time::Duration::from_secs(60) };
    state.accounts.limits.enforce(rule, &address).await?;
    let request = booking::LookupGuestOrderRequest { order_number: body.order_number, phone: body.phone };
    let order = state
        .upstreams
        .booking()
        .lookup_guest_order(request)
        .await
        .map_err(ApiError::upstream("booking"))?
        .into_inner();
    Ok(Json(views::order(&order)).into_response())
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct VerifyBody {
    qr_payload: String,
    performance_id: String,
}

/// Scanner staff (operators and admins) check a ticket at the door.
async fn verify_ticket(
    State(state): State<ApiState>,
    caller: Caller,
    JsonBody(body): JsonBody<VerifyBody>,
) -> Result<Response, ApiError> {
    if !matches!(caller.0.role, Role::Operator | Role::Admin) {
        return Err(ApiError::Forbidden { code: "STAFF_ONLY", message: "only scanner staff verify tickets".into() });
    }
    let request = booking::VerifyTicketRequest {
        qr_payload: body.qr_payload,
        performance_id: uuid(&body.performance_id)?,
        scanner_id: caller.0.sub.clone(),
    };
    let scan =
        state.upstreams.booking().verify_ticket(request).await.map_err(ApiError::upstream("booking"))?.into_inner();
    Ok(Json(json!({
        "outcome": scan.outcome().as_str_name().trim_start_matches("VERIFY_OUTCOME_").to_lowercase(),
        "ticket": scan.ticket.as_ref().map(views::ticket),
        "first_admitted_at": views::time(scan.first_admitted_at.as_ref()),
    }))
    .into_response())
}
