//! A performance's Redis event stream: appended by the same script as the change it announces
//! (the hot path's outbox), read and trimmed by the event relay once the bus has the events.

use std::collections::HashMap;

use redis::AsyncCommands as _;
use uuid::Uuid;

use super::{HoldStore, StoreError};

/// One entry of a performance's event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEvent {
    /// The Redis stream id, `<ms>-<seq>`.
    pub id: String,
    pub fields: HashMap<String, String>,
}

impl HoldStore {
    /// The oldest events of the performance not relayed yet.
    pub async fn pending_events(&self, performance: Uuid, count: usize) -> Result<Vec<StreamEvent>, StoreError> {
        let reply: redis::streams::StreamRangeReply =
            self.redis.clone().xrange_count(format!("{}events", self.p(performance)), "-", "+", count).await?;
        Ok(reply
            .ids
            .into_iter()
            .map(|entry| StreamEvent {
                fields: entry
                    .map
                    .into_iter()
                    .filter_map(|(k, v)| redis::from_redis_value::<String>(v).ok().map(|v| (k, v)))
                    .collect(),
                id: entry.id,
            })
            .collect())
    }

    /// Forgets events the bus acknowledged.
    pub async fn relayed(&self, performance: Uuid, ids: &[String]) -> Result<(), StoreError> {
        if !ids.is_empty() {
            let _: () = self.redis.clone().xdel(format!("{}events", self.p(performance)), ids).await?;
        }
        Ok(())
    }

    /// Claims the right to publish an availability snapshot for `slot` (one replica wins).
    pub async fn claim_snapshot(&self, performance: Uuid, slot: u64, ttl_ms: u64) -> Result<bool, StoreError> {
        let claimed: Option<String> = redis::cmd("SET")
            .arg(format!("{}snapshot:{slot}", self.p(performance)))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms)
            .query_async(&mut self.redis.clone())
            .await?;
        Ok(claimed.is_some())
    }

    /// The current inventory version when it is newer than the last published snapshot's.
    pub async fn snapshot_due(&self, performance: Uuid) -> Result<Option<u64>, StoreError> {
        let (version, published): (Option<u64>, Option<u64>) =
            self.redis.clone().hmget(format!("{}meta", self.p(performance)), &["version", "snapshot_version"]).await?;
        Ok(version.filter(|v| *v > published.unwrap_or(0)))
    }

    /// Records that the snapshot of `version` reached the bus.
    pub async fn snapshot_published(&self, performance: Uuid, version: u64) -> Result<(), StoreError> {
        let _: () =
            self.redis.clone().hset(format!("{}meta", self.p(performance)), "snapshot_version", version).await?;
        Ok(())
    }
}
