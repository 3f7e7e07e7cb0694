//! A room's event stream: appended by the same script or transaction as the change it
//! announces, read and trimmed by the relay once the bus has the events.

use std::time::Duration;

use chrono::{DateTime, Utc};
use redis::AsyncCommands as _;

use super::{RoomState, RoomStore, StoreError, StreamEvent};

impl RoomStore {
    /// Records a stats snapshot for the bus, once per `window` across all replicas.
    pub async fn snapshot_stats(&self, sale: &str, now: DateTime<Utc>, window: Duration) -> Result<bool, StoreError> {
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
        let slot = u64::try_from(now.timestamp_millis()).unwrap_or(0) / window_ms;
        let keys = self.keys(sale);
        let mut redis = self.redis.clone();
        let claimed: Option<String> = redis::cmd("SET")
            .arg(format!("{}{{sale:{sale}}}:stats:{slot}", self.prefix))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(window_ms * 2)
            .query_async(&mut redis)
            .await?;
        if claimed.is_none() {
            return Ok(false);
        }
        let stats = self.stats(sale).await?;
        if stats.state == RoomState::Closed.as_str() {
            return Ok(false);
        }
        let fields = [
            ("type", "stats".to_owned()),
            ("state", stats.state),
            ("waiting", stats.waiting.to_string()),
            ("pre_queue", stats.pre_queue.to_string()),
            ("active", stats.active.to_string()),
            ("admitted", stats.admitted.to_string()),
            ("abandoned", stats.abandoned.to_string()),
        ];
        let _: () = redis.xadd(&keys.events, "*", &fields).await?;
        self.measure_line(&keys.room, now).await?;
        Ok(true)
    }

    /// How far the line moved (`served`: admitted or passed over) since the last snapshot, per
    /// minute, kept in the room for ETAs. Runs with the snapshot: once per window for all replicas.
    async fn measure_line(&self, room: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut redis = self.redis.clone();
        let now_ms = u64::try_from(now.timestamp_millis()).unwrap_or(0);
        let (served, last_served, last_at): (Option<u64>, Option<u64>, Option<u64>) =
            redis.hmget(room, &["served", "line_served", "line_at"]).await?;
        let served = served.unwrap_or(0);
        let mut fields = vec![("line_served", served), ("line_at", now_ms)];
        if let (Some(last_served), Some(last_at)) = (last_served, last_at)
            && now_ms > last_at
        {
            fields.push(("line_per_minute", served.saturating_sub(last_served) * 60_000 / (now_ms - last_at)));
        }
        let _: () = redis.hset_multiple(room, &fields).await?;
        Ok(())
    }

    /// The oldest events of the room not relayed yet.
    pub async fn pending_events(&self, sale: &str, count: usize) -> Result<Vec<StreamEvent>, StoreError> {
        let mut redis = self.redis.clone();
        let reply: redis::streams::StreamRangeReply =
            redis.xrange_count(self.keys(sale).events, "-", "+", count).await?;
        Ok(reply
            .ids
            .into_iter()
            .map(|entry| {
                let fields = entry
                    .map
                    .iter()
                    .filter_map(|(k, v)| redis::from_redis_value::<String>(v.clone()).ok().map(|v| (k.clone(), v)))
                    .collect();
                StreamEvent { id: entry.id, fields }
            })
            .collect())
    }

    /// Forgets events the bus acknowledged.
    pub async fn relayed(&self, sale: &str, ids: &[String]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut redis = self.redis.clone();
        let _: () = redis.xdel(self.keys(sale).events, ids).await?;
        Ok(())
    }
}
