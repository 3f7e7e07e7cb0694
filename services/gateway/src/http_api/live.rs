//! WebSocket routes: a performance's seat changes (per section, after a snapshot) and a waiting
//! room position. Authenticated at the handshake (bearer or cookie), browsers only from allowed
//! origins (or the API's own), small incoming frames, and a client too slow to keep up is
//! disconnected (close 1013) to resync from a fresh snapshot instead of buffering without end.

use std::time::Duration;

use axum::{
    extract::{
        Path, State,
        ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade},
    },
    http::{HeaderMap, header},
    response::Response,
};
use floodgate_proto::{booking::v1 as booking, queue::v1 as queue};
use futures::StreamExt as _;
use serde::Deserialize;
use tokio::sync::broadcast::{self, error::RecvError};

use super::{
    ApiState,
    routes::{Access, Api},
    views,
};
use crate::{
    ApiError,
    auth::{Caller, QueryParams},
    live::LiveEvent,
};

/// Incoming frames are tiny (pings); anything bigger is refused.
const MAX_INCOMING: usize = 4096;
/// A send that does not finish in this time drops the connection.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_SECTIONS: usize = 64;

pub fn register(api: Api) -> Api {
    api.get(
        "/v1/performances/{performance_id}/live",
        "WebSocket: seat changes after a snapshot",
        Access::Caller,
        seats_live,
    )
    .get(
        "/v1/performances/{performance_id}/queue/{entry_id}/live",
        "WebSocket: waiting-room position",
        Access::Caller,
        position_live,
    )
}

/// Browsers send `Origin`: it must be allowed (or the API's own host). Other clients send none.
fn check_origin(state: &ApiState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return Ok(()) };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let same = origin.split_once("://").is_some_and(|(_, rest)| rest == host);
    if same || state.protection.cors_origins.iter().any(|o| o == origin) {
        Ok(())
    } else {
        Err(ApiError::Forbidden { code: "ORIGIN_NOT_ALLOWED", message: "this origin may not open live updates".into() })
    }
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct LiveQuery {
    /// Comma-separated section ids; empty = all (small venues).
    sections: Option<String>,
}

async fn seats_live(
    State(state): State<ApiState>,
    _caller: Caller,
    Path(performance_id): Path<String>,
    QueryParams(query): QueryParams<LiveQuery>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    check_origin(&state, &headers)?;
    let performance_id = uuid::Uuid::parse_str(&performance_id)
        .map_err(|_| ApiError::NotFound { method: "GET".into(), path: "live".into() })?
        .to_string();
    let sections: Vec<String> = query
        .sections
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if sections.len() > MAX_SECTIONS {
        return Err(ApiError::field("sections", "at most 64 sections per connection"));
    }
    // Subscribed before the snapshot is taken: nothing falls between the two.
    let receiver = state.live.subscribe(&performance_id);
    let request = booking::GetSeatAvailabilityRequest { performance_id, section_ids: sections.clone() };
    let snapshot = state
        .upstreams
        .booking()
        .get_seat_availability(request)
        .await
        .map_err(|status| ApiError::from_status("booking", &status))?
        .into_inner();
    let mut first = views::availability(&snapshot);
    first["type"] = serde_json::json!("snapshot");
    Ok(upgrade
        .max_message_size(MAX_INCOMING)
        .max_frame_size(MAX_INCOMING)
        .on_upgrade(move |socket| serve_seats(socket, first.to_string(), receiver, sections)))
}

async fn send(socket: &mut WebSocket, text: String) -> bool {
    matches!(tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await, Ok(Ok(())))
}

async fn serve_seats(
    mut socket: WebSocket,
    snapshot: String,
    mut events: broadcast::Receiver<std::sync::Arc<LiveEvent>>,
    sections: Vec<String>,
) {
    if !send(&mut socket, snapshot).await {
        return;
    }
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(event) if event.concerns(&sections) => {
                    if !send(&mut socket, event.json.clone()).await {
                        return;
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => {
                    let close = CloseFrame { code: 1013, reason: "too slow; reconnect for a fresh snapshot".into() };
                    let _ = socket.send(Message::Close(Some(close))).await;
                    return;
                }
                Err(RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

async fn position_live(
    State(state): State<ApiState>,
    caller: Caller,
    Path((performance_id, entry_id)): Path<(String, String)>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    check_origin(&state, &headers)?;
    let buyer = super::onsale::buyer_of(&caller);
    let request = queue::WatchPositionRequest { sale_id: performance_id, entry_id, buyer_id: buyer };
    let stream = state
        .upstreams
        .queue()
        .watch_position(request)
        .await
        .map_err(|status| ApiError::from_status("queue", &status))?
        .into_inner();
    Ok(upgrade.max_message_size(MAX_INCOMING).max_frame_size(MAX_INCOMING).on_upgrade(move |mut socket| async move {
        let mut stream = stream;
        loop {
            tokio::select! {
                update = stream.next() => match update {
                    Some(Ok(update)) => {
                        if !send(&mut socket, views::position(&update).to_string()).await {
                            return;
                        }
                    }
                    // The stream ends after a final state (admitted, sold out, …).
                    _ => {
                        let _ = socket.send(Message::Close(None)).await;
                        return;
                    }
                },
                incoming = socket.recv() => match incoming {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                    Some(Ok(_)) => {}
                },
            }
        }
    }))
}
