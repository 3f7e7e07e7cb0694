//! The waiting room's gRPC API. Buyers are identified by the caller (the gateway) and may only
//! see and change their own entries; operators pause, resume and tune rooms. Errors map to
//! statuses in [`status`], the one table.

use std::{pin::Pin, sync::Arc, time::Duration};

use chrono::Utc;
use floodgate_admission::AdmissionKey;
use floodgate_proto::queue::v1::{self as wire, queue_service_server::QueueService};
use futures::Stream;
use tonic::{Request, Response, Status};

use crate::{
    admission_loop::Paces,
    domain::outlook,
    store::{Outflow, Place, RoomState, RoomStore, StoreError},
};

/// When a watched position is pushed next ([`outlook::watch_pause`]).
fn next_push(update: &wire::PositionUpdate) -> Duration {
    let seconds = |s: i64| Duration::from_secs(u64::try_from(s).unwrap_or(0));
    let eta = update.eta.map(|eta| seconds(eta.seconds));
    let until_open = update.sale_opens_at.map(|at| seconds(at.seconds - Utc::now().timestamp()));
    outlook::watch_pause(eta, until_open)
}

/// Whether reading a position counts as the buyer being there.
#[derive(Debug, Clone, Copy)]
enum Asking {
    /// The buyer asks or watches: the read records their heartbeat.
    Present,
    /// Reading on the way to something else (leaving, joining).
    Only,
}

#[derive(Debug, Clone)]
pub struct QueueApi {
    store: RoomStore,
    key: Arc<AdmissionKey>,
    /// A join wakes its room's admissions; a pause or resume its events.
    paces: Paces,
}

impl QueueApi {
    pub fn new(store: RoomStore, key: Arc<AdmissionKey>, paces: Paces) -> Self {
        Self { store, key, paces }
    }

    /// The entry's place, after checking it belongs to `buyer_id`. A buyer asking for their place
    /// — or watching it — is present ([`Asking::Present`]): their turn is kept. (Without this,
    /// anyone who waited past the heartbeat grace lost their turn at the front, however
    /// attentively they watched; the rehearsal kit found it.)
    async fn position(
        &self,
        sale: &str,
        entry_id: &str,
        buyer_id: &str,
        asking: Asking,
    ) -> Result<wire::PositionUpdate, Status> {
        // One round trip to Redis: this answers every join and every poll.
        let present = matches!(asking, Asking::Present).then_some(buyer_id);
        let view = self.store.view(sale, entry_id, present).await.map_err(status)?;
        if view.owner != buyer_id {
            // Not "forbidden": whether someone else's entry exists is not the caller's business.
            return Err(status(StoreError::UnknownEntry(entry_id.to_owned())));
        }
        let mut update =
            self.update(entry_id, &view.place, view.state, view.outflow, view.line_per_minute, view.opens_at);
        self.add_odds(&mut update, &view.place, view.remaining);
        Ok(update)
    }

    /// The chance seats remain, once booking has said how many are left.
    fn add_odds(&self, update: &mut wire::PositionUpdate, place: &Place, remaining: Option<u64>) {
        if let Some(remaining) = remaining
            && matches!(update.status(), wire::EntryStatus::Waiting | wire::EntryStatus::PreQueue)
        {
            // Admitted buyers mostly buy; the rest abandon. 0.8 until measured per sale.
            update.odds = Some(outlook::odds(place.ahead, remaining, crate::events::TICKETS_PER_BUYER, 0.8));
        }
    }

    fn update(
        &self,
        entry_id: &str,
        place: &Place,
        state: RoomState,
        outflow: Outflow,
        line_per_minute: Option<u64>,
        opens_at: Option<chrono::DateTime<Utc>>,
    ) -> wire::PositionUpdate {
        let status = match (place.status.as_str(), state) {
            ("admitted", _) => wire::EntryStatus::Admitted,
            ("abandoned", _) => wire::EntryStatus::Expired,
            ("left", _) => wire::EntryStatus::Left,
            (_, RoomState::SoldOut) => wire::EntryStatus::SoldOut,
            (_, RoomState::Closed) => wire::EntryStatus::Closed,
            ("prequeue", _) => wire::EntryStatus::PreQueue,
            _ => wire::EntryStatus::Waiting,
        };
        let admitting = matches!(state, RoomState::Open);
        let rate = if admitting { outlook::line_speed(outflow.rate_per_second, line_per_minute) } else { 0.0 };
        let admission = place.token.as_ref().map(|token| wire::AdmissionToken {
            token: token.clone(),
            key_id: self.key.kid().to_owned(),
            expires_at: None,
        });
        wire::PositionUpdate {
            entry_id: entry_id.to_owned(),
            status: status.into(),
            position: if status == wire::EntryStatus::Waiting { place.ahead } else { 0 },
            queue_length: place.waiting,
            eta: outlook::eta(place.ahead, rate)
                .map(|d| prost_types::Duration { seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX), nanos: 0 }),
            odds: None,
            admission,
            as_of: Some(prost_types::Timestamp { seconds: Utc::now().timestamp(), nanos: 0 }),
            // A pre-queue buyer is told when the sale opens: their place in line is drawn then, so
            // that is when they should ask again (not every few seconds before it).
            sale_opens_at: opens_at.filter(|_| status == wire::EntryStatus::PreQueue).map(|at| {
                prost_types::Timestamp {
                    seconds: at.timestamp(),
                    nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
                }
            }),
        }
    }

    async fn room_message(&self, sale: &str) -> Result<wire::Room, Status> {
        let (state, outflow, commitment) = self.store.room(sale).await.map_err(status)?;
        Ok(wire::Room {
            sale_id: sale.to_owned(),
            performance_id: sale.to_owned(),
            state: room_state(state).into(),
            admission_rate_per_second: outflow.rate_per_second,
            max_active_shoppers: outflow.max_active,
            seed_commitment: commitment.unwrap_or_default(),
            ..Default::default()
        })
    }
}

type PositionStream = Pin<Box<dyn Stream<Item = Result<wire::PositionUpdate, Status>> + Send>>;

#[tonic::async_trait]
impl QueueService for QueueApi {
    async fn join(&self, request: Request<wire::JoinRequest>) -> Result<Response<wire::JoinResponse>, Status> {
        let request = request.into_inner();
        require("sale_id", &request.sale_id)?;
        require("buyer_id", &request.buyer_id)?;
        // One round trip: the join script answers with the place.
        let joined = self.store.join(&request.sale_id, &request.buyer_id).await.map_err(status)?;
        self.paces.admission.wake(&request.sale_id);
        let outflow = Outflow {
            rate_per_second: joined.rate_per_second,
            max_active: 0,
            admission_ttl: Duration::ZERO,
            heartbeat_grace: Duration::ZERO,
        };
        let mut position = self.update(&joined.entry_id, &joined.place, joined.state, outflow, None, joined.opens_at);
        self.add_odds(&mut position, &joined.place, joined.remaining);
        Ok(Response::new(wire::JoinResponse { entry_id: joined.entry_id, position: Some(position) }))
    }

    async fn get_position(
        &self,
        request: Request<wire::GetPositionRequest>,
    ) -> Result<Response<wire::PositionUpdate>, Status> {
        let r = request.into_inner();
        let position = self.position(&r.sale_id, &r.entry_id, &r.buyer_id, Asking::Present).await?;
        Ok(Response::new(position))
    }

    async fn watch_position(
        &self,
        request: Request<wire::WatchPositionRequest>,
    ) -> Result<Response<PositionStream>, Status> {
        let r = request.into_inner();
        // Fail fast on someone else's or an unknown entry.
        let first = self.position(&r.sale_id, &r.entry_id, &r.buyer_id, Asking::Present).await?;
        let api = self.clone();
        let start = (Some(first), api, r, Duration::ZERO, false);
        let stream = futures::stream::unfold(start, |(next, api, r, pause, done)| async move {
            if done {
                return None;
            }
            let update = match next {
                Some(update) => Ok(update),
                None => {
                    tokio::time::sleep(pause).await;
                    api.position(&r.sale_id, &r.entry_id, &r.buyer_id, Asking::Present).await
                }
            };
            // The stream ends after a final state (or an error).
            let (finished, pause) = match &update {
                Ok(u) => (
                    u.status() != wire::EntryStatus::Waiting && u.status() != wire::EntryStatus::PreQueue,
                    next_push(u),
                ),
                Err(_) => (true, pause),
            };
            Some((update, (None, api, r, pause, finished)))
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn heartbeat(
        &self,
        request: Request<wire::HeartbeatRequest>,
    ) -> Result<Response<wire::HeartbeatResponse>, Status> {
        let r = request.into_inner();
        let position = self.position(&r.sale_id, &r.entry_id, &r.buyer_id, Asking::Present).await?;
        Ok(Response::new(wire::HeartbeatResponse { position: Some(position) }))
    }

    async fn leave(&self, request: Request<wire::LeaveRequest>) -> Result<Response<wire::LeaveResponse>, Status> {
        let r = request.into_inner();
        self.position(&r.sale_id, &r.entry_id, &r.buyer_id, Asking::Only).await?;
        self.store.leave(&r.sale_id, &r.entry_id).await.map_err(status)?;
        Ok(Response::new(wire::LeaveResponse {}))
    }

    async fn finish(&self, request: Request<wire::FinishRequest>) -> Result<Response<wire::FinishResponse>, Status> {
        let r = request.into_inner();
        // The admission is found through the buyer's place; finishing twice is harmless.
        if let Some(entry_id) = self.store.entry_of(&r.sale_id, &r.buyer_id).await.map_err(status)? {
            self.store.finish(&r.sale_id, &entry_id).await.map_err(status)?;
        }
        Ok(Response::new(wire::FinishResponse {}))
    }

    async fn pause_room(&self, request: Request<wire::PauseRoomRequest>) -> Result<Response<wire::Room>, Status> {
        let sale = request.into_inner().sale_id;
        self.store.set_state(&sale, RoomState::Paused).await.map_err(status)?;
        self.paces.relay.wake(&sale);
        Ok(Response::new(self.room_message(&sale).await?))
    }

    async fn resume_room(&self, request: Request<wire::ResumeRoomRequest>) -> Result<Response<wire::Room>, Status> {
        let sale = request.into_inner().sale_id;
        self.store.set_state(&sale, RoomState::Open).await.map_err(status)?;
        self.paces.relay.wake(&sale);
        self.paces.admission.wake(&sale);
        Ok(Response::new(self.room_message(&sale).await?))
    }

    async fn set_outflow(&self, request: Request<wire::SetOutflowRequest>) -> Result<Response<wire::Room>, Status> {
        let r = request.into_inner();
        if r.admission_rate_per_second == 0 || r.max_active_shoppers == 0 {
            return Err(Status::invalid_argument("admission_rate_per_second and max_active_shoppers must be positive"));
        }
        let (_, current, _) = self.store.room(&r.sale_id).await.map_err(status)?;
        let outflow =
            Outflow { rate_per_second: r.admission_rate_per_second, max_active: r.max_active_shoppers, ..current };
        self.store.set_outflow(&r.sale_id, outflow).await.map_err(status)?;
        Ok(Response::new(self.room_message(&r.sale_id).await?))
    }

    async fn get_room(&self, request: Request<wire::GetRoomRequest>) -> Result<Response<wire::Room>, Status> {
        Ok(Response::new(self.room_message(&request.into_inner().sale_id).await?))
    }

    async fn get_room_stats(
        &self,
        request: Request<wire::GetRoomStatsRequest>,
    ) -> Result<Response<wire::RoomStats>, Status> {
        let sale = request.into_inner().sale_id;
        let stats = self.store.stats(&sale).await.map_err(status)?;
        let (state, outflow, _) = self.store.room(&sale).await.map_err(status)?;
        Ok(Response::new(wire::RoomStats {
            sale_id: sale,
            state: room_state(state).into(),
            waiting: stats.waiting,
            pre_queue: stats.pre_queue,
            admitted_active: stats.active,
            admitted_total: stats.admitted,
            abandoned: stats.abandoned,
            admission_rate: if state == RoomState::Open { f64::from(outflow.rate_per_second) } else { 0.0 },
            as_of: Some(prost_types::Timestamp { seconds: Utc::now().timestamp(), nanos: 0 }),
        }))
    }

    async fn get_fairness_audit(
        &self,
        request: Request<wire::GetFairnessAuditRequest>,
    ) -> Result<Response<wire::FairnessAudit>, Status> {
        let sale = request.into_inner().sale_id;
        self.store.room(&sale).await.map_err(status)?;
        let audit = self.store.audit(&sale).await.map_err(status)?;
        Ok(Response::new(wire::FairnessAudit {
            sale_id: audit.sale_id,
            seed_commitment: audit.seed_commitment,
            seed: audit.seed,
            ordered_entry_ids: audit.ordered_entry_ids,
            committed_at: None,
            revealed_at: None,
        }))
    }

    async fn get_admission_keys(
        &self,
        _request: Request<wire::GetAdmissionKeysRequest>,
    ) -> Result<Response<wire::AdmissionKeys>, Status> {
        let public = self.key.public();
        Ok(Response::new(wire::AdmissionKeys {
            keys: vec![wire::AdmissionKey {
                key_id: public.kid.clone(),
                public_key: public.to_bytes().to_vec(),
                not_after: None,
            }],
        }))
    }
}

fn room_state(state: RoomState) -> wire::RoomState {
    match state {
        RoomState::Scheduled => wire::RoomState::Scheduled,
        RoomState::PreQueue | RoomState::Opening => wire::RoomState::PreQueue,
        RoomState::Open => wire::RoomState::Open,
        RoomState::Paused => wire::RoomState::Paused,
        RoomState::SoldOut => wire::RoomState::SoldOut,
        RoomState::Closed => wire::RoomState::Closed,
    }
}

fn require(field: &str, value: &str) -> Result<(), Status> {
    if value.is_empty() || value.len() > 128 {
        return Err(Status::invalid_argument(format!("{field}: must be 1–128 characters")));
    }
    Ok(())
}

/// The one table from store errors to gRPC statuses.
pub fn status(error: StoreError) -> Status {
    match &error {
        StoreError::UnknownSale(_) | StoreError::UnknownEntry(_) => Status::not_found(error.to_string()),
        StoreError::NotOpen(_) | StoreError::Closed { .. } => Status::failed_precondition(error.to_string()),
        StoreError::Redis(_) => {
            tracing::error!(error = %floodgate_telemetry::error_chain(&error), "waiting room unavailable");
            Status::unavailable("the waiting room is temporarily unavailable")
        }
        StoreError::Corrupt(_) => {
            tracing::error!(error = %error, "corrupt waiting-room data");
            Status::internal("internal error")
        }
    }
}
