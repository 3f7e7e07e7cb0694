//! The admission loop: on every tick, moves rooms along their timeline (opening and closing them)
//! and lets the next buyers of every open room through, signing each one's admission token. Safe
//! to run on every replica: the store's scripts decide who is admitted, once. Rooms with a line
//! are visited on every tick; the others once a second, or when their next step is due, or when a
//! buyer joins them through this replica (see [`floodgate_runtime::pace`]).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::Utc;
use floodgate_admission::{AdmissionKey, Claims};
use floodgate_runtime::pace::Pace;
use tokio_util::sync::CancellationToken;

use crate::store::{RoomStore, Step, StoreError};

/// The most buyers one room admits per tick (the rate decides the actual number).
const MAX_BATCH: u32 = 10_000;
/// How often each room's counters are published (by one replica).
const STATS_EVERY: Duration = Duration::from_secs(10);

/// What wakes a room's work: the admission loop's pace and the event relay's.
#[derive(Debug, Clone, Default)]
pub struct Paces {
    pub admission: Pace,
    pub relay: Pace,
}

#[derive(Debug, Clone)]
pub struct AdmissionLoop {
    pub store: RoomStore,
    pub key: Arc<AdmissionKey>,
    pub tick: Duration,
    pub paces: Paces,
}

impl AdmissionLoop {
    /// Admits on every tick until `stop`; while Redis is away nobody is admitted.
    pub async fn run(self, stop: CancellationToken) -> Result<(), StoreError> {
        floodgate_runtime::ticker::every(self.tick, stop, "admission round", || self.round()).await;
        Ok(())
    }

    /// One pass over every room that is due.
    pub async fn round(&self) -> Result<usize, StoreError> {
        let mut admitted = 0;
        for sale in self.paces.admission.due_among(self.store.rooms().await?, Instant::now()) {
            // A room that just moved is looked at again next tick: its next step may be due soon.
            let (next, moved) = match self.store.advance(&sale, Utc::now()).await? {
                Step::Stayed { next } => (next, false),
                Step::Moved(state) => {
                    tracing::info!(%sale, state = state.as_str(), "waiting room moved on");
                    self.paces.relay.wake(&sale);
                    (None, true)
                }
                Step::Retired => {
                    tracing::info!(%sale, "waiting room closed for good; no longer visited");
                    continue;
                }
            };
            if self.store.snapshot_stats(&sale, Utc::now(), STATS_EVERY).await? {
                self.paces.relay.wake(&sale);
            }
            let round = self.store.admit_next(&sale, MAX_BATCH).await?;
            if moved || round.waiting > 0 || !round.admissions.is_empty() {
                self.paces.admission.wake(&sale);
            } else {
                let now = Instant::now();
                let due = next.and_then(|at| (at - Utc::now()).to_std().ok()).map(|wait| now + wait);
                self.paces.admission.quiet(&sale, now, due);
            }
            if !round.admissions.is_empty() {
                self.paces.relay.wake(&sale);
            }
            for admission in round.admissions {
                let now = Utc::now();
                let ttl = admission.expires_at - now;
                // The entry id names the admission: the audit event (`BuyerAdmitted.token_id`)
                // and the token agree on it.
                let mut claims = Claims::admit(&sale, &admission.buyer_id, now, ttl);
                if let Ok(id) = uuid::Uuid::parse_str(&admission.entry_id) {
                    claims.token_id = id;
                }
                let token = self.key.issue(&claims);
                self.store.store_token(&sale, &admission.entry_id, &token).await?;
                admitted += 1;
            }
        }
        Ok(admitted)
    }
}
