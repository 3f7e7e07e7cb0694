//! A room's timeline: scheduled → pre-queue (seed committed) → open (pre-queue drawn, seed
//! revealed), moved along by whichever replica's admission loop gets there first.

use chrono::{DateTime, Utc};
use redis::AsyncCommands as _;

use super::{Outflow, RoomState, RoomStore, Schedule, StoreError};
use crate::domain::fairness::{Audit, Seed};

/// Pre-queue entries written per command when the draw is stored.
const WRITE_CHUNK: usize = 10_000;

impl RoomStore {
    /// A room that opens its pre-queue and its sale by itself at the given times
    /// (see [`RoomStore::advance`]).
    pub async fn schedule_room(&self, sale: &str, schedule: Schedule, outflow: Outflow) -> Result<bool, StoreError> {
        let created = self.create_room(sale, RoomState::Scheduled, outflow).await?;
        if created {
            let mut redis = self.redis.clone();
            let _: () = redis
                .hset_multiple(
                    self.keys(sale).room,
                    &[
                        ("pre_queue_at", schedule.pre_queue_opens_at.timestamp_millis()),
                        ("opens_at", schedule.sale_opens_at.timestamp_millis()),
                    ],
                )
                .await?;
        }
        Ok(created)
    }

    /// Moves a scheduled room along its timeline at `now`: opens the pre-queue (committing to a
    /// fresh seed), then the sale (drawing the pre-queue). With several replicas, a short lock
    /// lets one of them do each step. Returns the step taken, if any.
    pub async fn advance(&self, sale: &str, now: DateTime<Utc>) -> Result<Option<RoomState>, StoreError> {
        let keys = self.keys(sale);
        let mut redis = self.redis.clone();
        let (state, pre_queue_at, opens_at): (Option<String>, Option<i64>, Option<i64>) =
            redis.hmget(&keys.room, &["state", "pre_queue_at", "opens_at"]).await?;
        let now_ms = now.timestamp_millis();
        let step = match (state.as_deref(), pre_queue_at, opens_at) {
            (Some("scheduled"), _, Some(open)) if now_ms >= open => RoomState::Open,
            (Some("scheduled"), Some(pre), _) if now_ms >= pre => RoomState::PreQueue,
            (Some("pre_queue"), _, Some(open)) if now_ms >= open => RoomState::Open,
            _ => return Ok(None),
        };
        let lock = format!("{}{{sale:{sale}}}:advancing", self.prefix);
        let locked: bool = redis::cmd("SET")
            .arg(&lock)
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(30_000)
            .query_async::<Option<String>>(&mut redis)
            .await?
            .is_some();
        if !locked {
            return Ok(None);
        }
        let result = match step {
            RoomState::PreQueue => self.open_pre_queue(sale, &Seed::generate()).await.map(drop),
            _ => self.open_sale(sale).await.map(drop),
        };
        let _: () = redis.del(&lock).await?;
        result.map(|()| Some(step))
    }

    /// Opens the pre-queue and commits to its seed; returns the commitment to publish.
    pub async fn open_pre_queue(&self, sale: &str, seed: &Seed) -> Result<String, StoreError> {
        let keys = self.keys(sale);
        let commitment = seed.commitment();
        let mut redis = self.redis.clone();
        let _: () = redis::pipe()
            .atomic()
            .hset_multiple(
                &keys.room,
                &[("state", RoomState::PreQueue.as_str()), ("seed", &seed.to_hex()), ("commitment", &commitment)],
            )
            .xadd(&keys.events, "*", &[("type", "committed"), ("commitment", commitment.as_str())])
            .query_async(&mut redis)
            .await?;
        Ok(commitment)
    }

    /// Opens the sale: the pre-queue is ordered by the fair draw, then joiners go first come,
    /// first served behind it. Returns the audit with the revealed seed.
    pub async fn open_sale(&self, sale: &str) -> Result<Audit, StoreError> {
        let keys = self.keys(sale);
        let mut redis = self.redis.clone();
        let previous: Option<String> = self.open.key(&keys.room).invoke_async(&mut redis).await?;
        if previous.is_none() {
            return Err(StoreError::UnknownSale(sale.to_owned()));
        }
        let (seed, commitment): (Option<String>, Option<String>) =
            redis.hmget(&keys.room, &["seed", "commitment"]).await?;
        let seed = match seed {
            Some(hex) => Seed::from_hex(&hex).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            // No pre-queue ever opened: nothing to draw, but keep the audit well-formed.
            None => Seed::generate(),
        };
        let entries: Vec<String> = redis.smembers(&keys.prequeue).await?;
        let ordered = seed.order(entries.iter().map(String::as_str));
        for (chunk_index, chunk) in ordered.chunks(WRITE_CHUNK).enumerate() {
            let base = chunk_index * WRITE_CHUNK;
            let ranked: Vec<(u64, &str)> =
                chunk.iter().enumerate().map(|(i, id)| ((base + i + 1) as u64, id.as_str())).collect();
            let mut pipe = redis::pipe();
            pipe.zadd_multiple(&keys.waiting, &ranked).ignore();
            for (_, id) in &ranked {
                pipe.hset(&keys.status, *id, "waiting").ignore();
            }
            pipe.rpush(&keys.audit, chunk).ignore();
            let _: () = pipe.query_async(&mut redis).await?;
        }
        let commitment = commitment.unwrap_or_else(|| seed.commitment());
        let size = ordered.len().to_string();
        let revealed = seed.to_hex();
        let _: () = redis::pipe()
            .atomic()
            .hset_multiple(
                &keys.room,
                &[
                    ("state", RoomState::Open.as_str()),
                    ("revealed", revealed.as_str()),
                    ("commitment", commitment.as_str()),
                ],
            )
            .xadd(&keys.events, "*", &[("type", "revealed"), ("seed", revealed.as_str()), ("size", size.as_str())])
            .query_async(&mut redis)
            .await?;
        let _: () = redis.del(&keys.prequeue).await?;
        Ok(Audit {
            sale_id: sale.to_owned(),
            seed_commitment: commitment,
            seed: seed.to_hex(),
            ordered_entry_ids: ordered,
        })
    }

    /// The published audit: the seed stays empty until the sale opened.
    pub async fn audit(&self, sale: &str) -> Result<Audit, StoreError> {
        let keys = self.keys(sale);
        let mut redis = self.redis.clone();
        let (commitment, revealed): (Option<String>, Option<String>) =
            redis.hmget(&keys.room, &["commitment", "revealed"]).await?;
        let ordered: Vec<String> = redis.lrange(&keys.audit, 0, -1).await?;
        Ok(Audit {
            sale_id: sale.to_owned(),
            seed_commitment: commitment.unwrap_or_default(),
            seed: revealed.unwrap_or_default(),
            ordered_entry_ids: ordered,
        })
    }
}
