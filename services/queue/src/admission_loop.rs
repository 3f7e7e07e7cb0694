//! The admission loop: on every tick, moves rooms along their timeline (opening and closing them)
//! and lets the next buyers of every open room through, signing each one's admission token. Safe to run on
//! every replica: the store's scripts decide who is admitted, once.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use floodgate_admission::{AdmissionKey, Claims};
use tokio_util::sync::CancellationToken;

use crate::store::{RoomStore, Step, StoreError};

/// The most buyers one room admits per tick (the rate decides the actual number).
const MAX_BATCH: u32 = 10_000;
/// How often each room's counters are published (by one replica).
const STATS_EVERY: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct AdmissionLoop {
    pub store: RoomStore,
    pub key: Arc<AdmissionKey>,
    pub tick: Duration,
}

impl AdmissionLoop {
    /// Admits on every tick until `stop`; while Redis is away nobody is admitted.
    pub async fn run(self, stop: CancellationToken) -> Result<(), StoreError> {
        floodgate_runtime::ticker::every(self.tick, stop, "admission round", || self.round()).await;
        Ok(())
    }

    /// One pass over every room.
    pub async fn round(&self) -> Result<usize, StoreError> {
        let mut admitted = 0;
        for sale in self.store.rooms().await? {
            match self.store.advance(&sale, Utc::now()).await? {
                Step::Stayed => {}
                Step::Moved(state) => tracing::info!(%sale, state = state.as_str(), "waiting room moved on"),
                Step::Retired => {
                    tracing::info!(%sale, "waiting room closed for good; no longer visited");
                    continue;
                }
            }
            self.store.snapshot_stats(&sale, Utc::now(), STATS_EVERY).await?;
            for admission in self.store.admit(&sale, MAX_BATCH).await? {
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
