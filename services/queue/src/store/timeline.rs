//! A room's timeline: scheduled → pre-queue (seed committed) → open (pre-queue drawn, seed
//! revealed) → closed at the sale's end, moved along by whichever replica's admission loop gets
//! there first. A closed room whose events are all on the bus leaves the loop: nothing can happen
//! in it any more, and every room ever made, visited on every tick, made an idle queue busy.

use chrono::{DateTime, Utc};
use redis::AsyncCommands as _;

use super::{Outflow, RoomState, RoomStore, Schedule, StoreError};
use crate::domain::fairness::{Audit, Seed};

/// Pre-queue entries written per command when the draw is stored.
const WRITE_CHUNK: usize = 10_000;

/// What [`RoomStore::advance`] did with a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing to do; the next step is due at `next`, if the room has one scheduled.
    Stayed {
        next: Option<DateTime<Utc>>,
    },
    Moved(RoomState),
    /// Closed with every event relayed: the room left the admission loop for good.
    Retired,
}

impl RoomStore {
    /// A room that opens its pre-queue and its sale by itself at the given times
    /// (see [`RoomStore::advance`]).
    pub async fn schedule_room(&self, sale: &str, schedule: Schedule, outflow: Outflow) -> Result<bool, StoreError> {
        let created = self.create_room(sale, RoomState::Scheduled, outflow).await?;
        if created {
            self.set_schedule(sale, schedule).await?;
        }
        Ok(created)
    }

    /// Moves the room's times (the operator changed the sale's). A step already taken stays taken.
    pub async fn set_schedule(&self, sale: &str, schedule: Schedule) -> Result<(), StoreError> {
        let room = self.keys(sale).room;
        let mut redis = self.redis.clone();
        let mut pipe = redis::pipe();
        pipe.hset_multiple(
            &room,
            &[
                ("pre_queue_at", schedule.pre_queue_opens_at.timestamp_millis()),
                ("opens_at", schedule.sale_opens_at.timestamp_millis()),
            ],
        );
        match schedule.sale_closes_at {
            Some(at) => pipe.hset(&room, "closes_at", at.timestamp_millis()),
            None => pipe.hdel(&room, "closes_at"),
        };
        let _: () = pipe.query_async(&mut redis).await?;
        Ok(())
    }

    /// Moves the room to `state` (pause, resume, sold out, close), announcing it. A closed room
    /// stays closed.
    pub async fn set_state(&self, sale: &str, state: RoomState) -> Result<(), StoreError> {
        let keys = self.keys(sale);
        let mut redis = self.redis.clone();
        let outcome: i64 =
            self.set_state.key(&keys.room).key(&keys.events).arg(state.as_str()).invoke_async(&mut redis).await?;
        match outcome {
            -1 => Err(StoreError::UnknownSale(sale.to_owned())),
            -2 => Err(StoreError::Closed { sale: sale.to_owned(), state: RoomState::Closed.as_str().to_owned() }),
            _ => Ok(()),
        }
    }

    /// Moves a room along its timeline at `now`: opens the pre-queue (committing to a fresh seed),
    /// then the sale (drawing the pre-queue), closes it when the sale ends, and retires it from
    /// the admission loop once its last events were relayed. With several replicas, a short lock
    /// lets one of them do each opening step.
    pub async fn advance(&self, sale: &str, now: DateTime<Utc>) -> Result<Step, StoreError> {
        let keys = self.keys(sale);
        let mut redis = self.redis.clone();
        type Times = (Option<i64>, Option<i64>, Option<i64>);
        let (state, pending, (pre_queue_at, opens_at, closes_at)): (Option<String>, u64, Times) = redis::pipe()
            .hget(&keys.room, "state")
            .xlen(&keys.events)
            .hmget(&keys.room, &["pre_queue_at", "opens_at", "closes_at"])
            .query_async(&mut redis)
            .await?;
        let now_ms = now.timestamp_millis();
        let Some(state) = state.as_deref().and_then(RoomState::parse) else {
            return Ok(Step::Stayed { next: None });
        };
        let upcoming = |times: &[Option<i64>]| {
            let next = times.iter().flatten().filter(|at| **at > now_ms).min();
            next.and_then(|at| DateTime::from_timestamp_millis(*at))
        };
        let stayed = match state {
            RoomState::Scheduled => Step::Stayed { next: upcoming(&[pre_queue_at, opens_at, closes_at]) },
            RoomState::PreQueue => Step::Stayed { next: upcoming(&[opens_at, closes_at]) },
            _ => Step::Stayed { next: upcoming(&[closes_at]) },
        };
        let step = match state {
            RoomState::Closed if pending == 0 => {
                let _: () = redis.srem(self.rooms_key(), sale).await?;
                return Ok(Step::Retired);
            }
            // Mid-draw: the replica drawing sets the state when it is done (and closes next tick).
            RoomState::Closed | RoomState::Opening => return Ok(stayed),
            _ if closes_at.is_some_and(|at| now_ms >= at) => {
                self.set_state(sale, RoomState::Closed).await?;
                return Ok(Step::Moved(RoomState::Closed));
            }
            RoomState::Scheduled | RoomState::PreQueue if opens_at.is_some_and(|at| now_ms >= at) => RoomState::Open,
            RoomState::Scheduled if pre_queue_at.is_some_and(|at| now_ms >= at) => RoomState::PreQueue,
            _ => return Ok(stayed),
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
            return Ok(stayed);
        }
        let result = match step {
            RoomState::PreQueue => self.open_pre_queue(sale, &Seed::generate()).await.map(drop),
            _ => self.open_sale(sale).await.map(drop),
        };
        let _: () = redis.del(&lock).await?;
        result.map(|()| Step::Moved(step))
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
