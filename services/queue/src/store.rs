//! The waiting rooms in Redis. Every multi-key operation is one Lua script (kept beside this
//! file), so several queue replicas can serve one room: no buyer joins twice, none is admitted
//! twice, and the outflow limits hold across replicas. Keys carry the hash tag `{sale:<id>}`, so
//! each room lives on one Redis Cluster shard.

use std::time::Duration;

use chrono::{DateTime, Utc};
use redis::{AsyncCommands as _, Script, aio::ConnectionManager};

/// Records a heartbeat (`store/beat.lua`).
const BEAT: &str = include_str!("store/beat.lua");

/// How long an admitted buyer's slot waits for their first hold before the line moves on without
/// them (their admission still lets them hold until it expires). Counted for the whole admission,
/// a stadium rehearsal's room ended its sale with 75,000 waiting and the last seats unsold: the
/// few slots the remaining seats allowed were all counted for buyers holding nothing.
pub const FIRST_HOLD_WITHIN: Duration = Duration::from_secs(120);

/// Room states, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomState {
    Scheduled,
    PreQueue,
    /// The pre-queue is being ordered; nobody is admitted meanwhile.
    Opening,
    Open,
    Paused,
    SoldOut,
    Closed,
}

impl RoomState {
    pub fn as_str(self) -> &'static str {
        match self {
            RoomState::Scheduled => "scheduled",
            RoomState::PreQueue => "pre_queue",
            RoomState::Opening => "opening",
            RoomState::Open => "open",
            RoomState::Paused => "paused",
            RoomState::SoldOut => "sold_out",
            RoomState::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Scheduled, Self::PreQueue, Self::Opening, Self::Open, Self::Paused, Self::SoldOut, Self::Closed]
            .into_iter()
            .find(|state| state.as_str() == s)
    }
}

/// How fast a room lets buyers through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outflow {
    pub rate_per_second: u32,
    pub max_active: u32,
    /// How long an admission lasts if the buyer never finishes.
    pub admission_ttl: Duration,
    /// A buyer who has not heartbeaten for this long loses their turn.
    pub heartbeat_grace: Duration,
}

/// Places booking last reported: free to hold, and held (by shoppers who got what they came for
/// — they still count as active until they check out or let the hold lapse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inventory {
    pub available: u64,
    pub held: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("waiting-room storage failed")]
    Redis(#[from] redis::RedisError),
    #[error("no waiting room for sale {0}")]
    UnknownSale(String),
    #[error("the waiting room of sale {0} is not open yet")]
    NotOpen(String),
    #[error("the waiting room of sale {sale} is {state}")]
    Closed { sale: String, state: String },
    #[error("unknown entry {0}")]
    UnknownEntry(String),
    #[error("stored waiting-room data is corrupt: {0}")]
    Corrupt(String),
}

/// One entry of a room's event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEvent {
    /// The Redis stream id, `<ms>-<seq>`.
    pub id: String,
    pub fields: std::collections::HashMap<String, String>,
}

/// When a scheduled room opens its pre-queue and its sale, and when the sale ends (the room
/// closes then; without an end it stays until the performance is cancelled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub pre_queue_opens_at: DateTime<Utc>,
    pub sale_opens_at: DateTime<Utc>,
    pub sale_closes_at: Option<DateTime<Utc>>,
}

/// The outcome of a join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    pub entry_id: String,
    /// False when the buyer already had a place (another device, a retry).
    pub new: bool,
    /// The place, read by the same script.
    pub place: Place,
    pub state: RoomState,
    pub rate_per_second: u32,
    pub remaining: Option<u64>,
    /// When the sale opens, for a scheduled room.
    pub opens_at: Option<DateTime<Utc>>,
}

/// One round of admissions in a room.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Admitted {
    pub admissions: Vec<Admission>,
    /// Still waiting after it.
    pub waiting: u64,
}

/// A buyer let through by the room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    pub entry_id: String,
    pub buyer_id: String,
    pub expires_at: DateTime<Utc>,
}

/// Where an entry stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// "prequeue", "waiting", "admitted", "abandoned", "left".
    pub status: String,
    /// Entries ahead of this one (waiting entries only).
    pub ahead: u64,
    pub waiting: u64,
    /// The signed admission token, once admitted.
    pub token: Option<String>,
}

/// An entry's place with its room's state, for answering a buyer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub owner: String,
    pub place: Place,
    pub state: RoomState,
    pub outflow: Outflow,
    pub remaining: Option<u64>,
    /// Entries the line moved by (admitted or passed over) per minute, as last measured.
    pub line_per_minute: Option<u64>,
    /// When the sale opens, for a scheduled room.
    pub opens_at: Option<DateTime<Utc>>,
}

/// Counters of a room.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub state: String,
    pub waiting: u64,
    pub pre_queue: u64,
    pub active: u64,
    pub admitted: u64,
    pub abandoned: u64,
}

/// state, rate, cap, ttl_ms, grace_ms, commitment — as read from the room hash.
type RoomFields = (Option<String>, Option<u32>, Option<u32>, Option<u64>, Option<u64>, Option<String>);
/// remaining, line_per_minute, opens_at (ms).
type RoomNumbers = (Option<u64>, Option<u64>, Option<i64>);

struct Keys {
    room: String,
    buyers: String,
    waiting: String,
    prequeue: String,
    heartbeat: String,
    entry_buyer: String,
    status: String,
    active: String,
    tokens: String,
    /// Entry -> when its admission ends (ms), for the slot of a buyer who starts shopping.
    admitted_until: String,
    audit: String,
    /// The room's event stream: written with the state change it announces, relayed to the bus.
    events: String,
}

mod stream;
mod timeline;

pub use timeline::Step;

/// All rooms, under one key prefix.
#[derive(Clone)]
pub struct RoomStore {
    redis: ConnectionManager,
    prefix: String,
    join: Script,
    admit: Script,
    open: Script,
    beat: Script,
    shop: Script,
    set_state: Script,
    first_hold_within: Duration,
}

impl std::fmt::Debug for RoomStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomStore").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl RoomStore {
    pub fn new(redis: ConnectionManager, prefix: &str) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            join: Script::new(include_str!("store/join.lua")),
            admit: Script::new(include_str!("store/admit.lua")),
            open: Script::new(include_str!("store/open.lua")),
            beat: Script::new(BEAT),
            shop: Script::new(include_str!("store/shop.lua")),
            set_state: Script::new(include_str!("store/state.lua")),
            first_hold_within: FIRST_HOLD_WITHIN,
        }
    }

    /// Another wait for an admitted buyer's first hold than [`FIRST_HOLD_WITHIN`].
    pub fn with_first_hold_within(mut self, wait: Duration) -> Self {
        self.first_hold_within = wait;
        self
    }

    fn keys(&self, sale: &str) -> Keys {
        let key = |name: &str| format!("{}{{sale:{sale}}}:{name}", self.prefix);
        Keys {
            room: key("room"),
            buyers: key("buyers"),
            waiting: key("waiting"),
            prequeue: key("prequeue"),
            heartbeat: key("heartbeat"),
            entry_buyer: key("entry_buyer"),
            status: key("status"),
            active: key("active"),
            tokens: key("tokens"),
            admitted_until: key("admitted_until"),
            audit: key("audit"),
            events: key("events"),
        }
    }

    /// Creates a room in `state` unless it exists; true when created.
    pub async fn create_room(&self, sale: &str, state: RoomState, outflow: Outflow) -> Result<bool, StoreError> {
        let keys = self.keys(sale);
        let mut redis = self.redis.clone();
        let created: bool = redis.hset_nx(&keys.room, "state", state.as_str()).await?;
        if created {
            self.set_outflow(sale, outflow).await?;
            let _: () = redis.sadd(self.rooms_key(), sale).await?;
        }
        Ok(created)
    }

    /// Every room this store knows.
    pub async fn rooms(&self) -> Result<Vec<String>, StoreError> {
        let mut redis = self.redis.clone();
        Ok(redis.smembers(self.rooms_key()).await?)
    }

    fn rooms_key(&self) -> String {
        format!("{}rooms", self.prefix)
    }

    /// What booking says is left to sell and held, and how many tickets a buyer takes on average;
    /// the admission script stops letting people in while those inside could buy it all.
    pub async fn set_inventory(&self, sale: &str, inventory: Inventory, per_buyer: f64) -> Result<(), StoreError> {
        self.state(sale).await?;
        let mut redis = self.redis.clone();
        let _: () = redis
            .hset_multiple(
                self.keys(sale).room,
                &[
                    ("remaining", inventory.available.to_string()),
                    ("held", inventory.held.to_string()),
                    ("per_buyer", per_buyer.to_string()),
                ],
            )
            .await?;
        Ok(())
    }

    /// Seats left, as booking last reported (none before its first report).
    pub async fn remaining(&self, sale: &str) -> Result<Option<u64>, StoreError> {
        let mut redis = self.redis.clone();
        Ok(redis.hget(self.keys(sale).room, "remaining").await?)
    }

    /// Everything a position answer needs, in one round trip: the entry's owner and place, the
    /// room's state and outflow, and the seats left. When `present` names the buyer asking, the
    /// same round trip records their heartbeat (on their own entry only): a poll was three round
    /// trips, and a stadium's waiting room is mostly polls.
    pub async fn view(&self, sale: &str, entry_id: &str, present: Option<&str>) -> Result<View, StoreError> {
        let keys = self.keys(sale);
        let mut redis = self.redis.clone();
        let mut pipe = redis::pipe();
        if let Some(buyer) = present {
            // EVAL, not EVALSHA: a pipeline cannot load a script it finds missing; Redis keeps
            // EVAL's scripts compiled by their hash, so the text costs a hash, not a compile.
            pipe.cmd("EVAL")
                .arg(BEAT)
                .arg(2)
                .arg(&keys.heartbeat)
                .arg(&keys.entry_buyer)
                .arg(entry_id)
                .arg(buyer)
                .ignore();
        }
        type Reply = (Option<String>, Option<String>, Option<u64>, u64, Option<String>, RoomFields, RoomNumbers);
        let (owner, status, rank, waiting, token, room, (remaining, line_per_minute, opens_at)): Reply = pipe
            .hget(&keys.entry_buyer, entry_id)
            .hget(&keys.status, entry_id)
            .zrank(&keys.waiting, entry_id)
            .zcard(&keys.waiting)
            .hget(&keys.tokens, entry_id)
            .hmget(&keys.room, &["state", "rate", "cap", "ttl_ms", "grace_ms", "commitment"])
            .hmget(&keys.room, &["remaining", "line_per_minute", "opens_at"])
            .query_async(&mut redis)
            .await?;
        let (state, rate, cap, ttl, grace, _) = room;
        let state = state.ok_or_else(|| StoreError::UnknownSale(sale.to_owned()))?;
        let state = RoomState::parse(&state).ok_or(StoreError::Corrupt(format!("room state {state:?}")))?;
        let (Some(owner), Some(status)) = (owner, status) else {
            return Err(StoreError::UnknownEntry(entry_id.to_owned()));
        };
        Ok(View {
            owner,
            place: Place { status, ahead: rank.unwrap_or(0), waiting, token },
            state,
            outflow: Outflow {
                rate_per_second: rate.unwrap_or(0),
                max_active: cap.unwrap_or(0),
                admission_ttl: Duration::from_millis(ttl.unwrap_or(0)),
                heartbeat_grace: Duration::from_millis(grace.unwrap_or(0)),
            },
            remaining,
            line_per_minute,
            opens_at: opens_at.and_then(DateTime::from_timestamp_millis),
        })
    }

    /// The buyer's current entry, if they have a place.
    pub async fn entry_of(&self, sale: &str, buyer: &str) -> Result<Option<String>, StoreError> {
        let mut redis = self.redis.clone();
        Ok(redis.hget(self.keys(sale).buyers, buyer).await?)
    }

    /// The buyer an entry belongs to.
    pub async fn buyer_of(&self, sale: &str, entry_id: &str) -> Result<String, StoreError> {
        let mut redis = self.redis.clone();
        let buyer: Option<String> = redis.hget(self.keys(sale).entry_buyer, entry_id).await?;
        buyer.ok_or_else(|| StoreError::UnknownEntry(entry_id.to_owned()))
    }

    /// The room's outflow settings and state.
    pub async fn room(&self, sale: &str) -> Result<(RoomState, Outflow, Option<String>), StoreError> {
        let mut redis = self.redis.clone();
        let fields: RoomFields =
            redis.hmget(self.keys(sale).room, &["state", "rate", "cap", "ttl_ms", "grace_ms", "commitment"]).await?;
        let (state, rate, cap, ttl, grace, commitment) = fields;
        let state = state.ok_or_else(|| StoreError::UnknownSale(sale.to_owned()))?;
        let state = RoomState::parse(&state).ok_or(StoreError::Corrupt(format!("room state {state:?}")))?;
        Ok((
            state,
            Outflow {
                rate_per_second: rate.unwrap_or(0),
                max_active: cap.unwrap_or(0),
                admission_ttl: Duration::from_millis(ttl.unwrap_or(0)),
                heartbeat_grace: Duration::from_millis(grace.unwrap_or(0)),
            },
            commitment,
        ))
    }

    pub async fn set_outflow(&self, sale: &str, outflow: Outflow) -> Result<(), StoreError> {
        let keys = self.keys(sale);
        let mut redis = self.redis.clone();
        let _: () = redis
            .hset_multiple(
                &keys.room,
                &[
                    ("rate", outflow.rate_per_second.to_string()),
                    ("cap", outflow.max_active.to_string()),
                    ("ttl_ms", outflow.admission_ttl.as_millis().to_string()),
                    ("grace_ms", outflow.heartbeat_grace.as_millis().to_string()),
                ],
            )
            .await?;
        Ok(())
    }

    pub async fn state(&self, sale: &str) -> Result<RoomState, StoreError> {
        let mut redis = self.redis.clone();
        let state: Option<String> = redis.hget(self.keys(sale).room, "state").await?;
        let state = state.ok_or_else(|| StoreError::UnknownSale(sale.to_owned()))?;
        RoomState::parse(&state).ok_or(StoreError::Corrupt(format!("room state {state:?}")))
    }

    /// Joins `buyer` to the room; a buyer who already has a place gets the same one.
    pub async fn join(&self, sale: &str, buyer: &str) -> Result<Joined, StoreError> {
        let keys = self.keys(sale);
        let mut redis = self.redis.clone();
        let entry_id = uuid::Uuid::new_v4().to_string();
        let reply: Vec<redis::Value> = self
            .join
            .key(&keys.room)
            .key(&keys.buyers)
            .key(&keys.waiting)
            .key(&keys.prequeue)
            .key(&keys.heartbeat)
            .key(&keys.entry_buyer)
            .key(&keys.status)
            .key(&keys.tokens)
            .arg(buyer)
            .arg(&entry_id)
            .invoke_async(&mut redis)
            .await?;
        let text =
            |i: usize| reply.get(i).and_then(|v| redis::from_redis_value::<String>(v.clone()).ok()).unwrap_or_default();
        let number = |i: usize| reply.get(i).and_then(|v| redis::from_redis_value::<i64>(v.clone()).ok()).unwrap_or(0);
        let (outcome, value) = (text(0), text(1));
        let new = match (outcome.as_str(), value.as_str()) {
            ("joined", _) => true,
            ("existing", _) => false,
            ("error", "unknown_sale") => return Err(StoreError::UnknownSale(sale.to_owned())),
            ("error", "not_open") => return Err(StoreError::NotOpen(sale.to_owned())),
            ("error", state) => return Err(StoreError::Closed { sale: sale.to_owned(), state: state.to_owned() }),
            _ => return Err(StoreError::Corrupt(format!("join answered {outcome:?}"))),
        };
        let token = text(5);
        let state =
            RoomState::parse(&text(8)).ok_or_else(|| StoreError::Corrupt(format!("room state {:?}", text(8))))?;
        Ok(Joined {
            entry_id: value,
            new,
            place: Place {
                status: text(2),
                ahead: u64::try_from(number(3)).unwrap_or(0),
                waiting: u64::try_from(number(4)).unwrap_or(0),
                token: (!token.is_empty()).then_some(token),
            },
            state,
            rate_per_second: text(6).parse().unwrap_or(0),
            remaining: text(7).parse().ok(),
            opens_at: text(9).parse().ok().and_then(DateTime::from_timestamp_millis),
        })
    }

    /// Lets the next buyers through, within the room's rate and cap.
    pub async fn admit(&self, sale: &str, max_batch: u32) -> Result<Vec<Admission>, StoreError> {
        Ok(self.admit_next(sale, max_batch).await?.admissions)
    }

    /// [`Self::admit`], and how many still wait after it (none when the room is not open).
    pub async fn admit_next(&self, sale: &str, max_batch: u32) -> Result<Admitted, StoreError> {
        let keys = self.keys(sale);
        let mut redis = self.redis.clone();
        let flat: Vec<String> = self
            .admit
            .key(&keys.room)
            .key(&keys.waiting)
            .key(&keys.heartbeat)
            .key(&keys.status)
            .key(&keys.active)
            .key(&keys.entry_buyer)
            .key(&keys.events)
            .key(&keys.admitted_until)
            .arg(max_batch)
            .arg(max_batch.saturating_mul(4).max(100))
            .arg(u64::try_from(self.first_hold_within.as_millis()).unwrap_or(u64::MAX))
            .invoke_async(&mut redis)
            .await?;
        let Some((waiting, flat)) = flat.split_first() else {
            return Ok(Admitted::default());
        };
        let waiting = waiting.parse().map_err(|_| StoreError::Corrupt(format!("waiting count {waiting:?}")))?;
        let admissions = flat
            .chunks(3)
            .map(|c| match c {
                [entry_id, buyer_id, expires] => Ok(Admission {
                    entry_id: entry_id.clone(),
                    buyer_id: buyer_id.clone(),
                    expires_at: expires
                        .parse()
                        .ok()
                        .and_then(DateTime::from_timestamp_millis)
                        .ok_or_else(|| StoreError::Corrupt(format!("admission expiry {expires:?}")))?,
                }),
                _ => Err(StoreError::Corrupt("admission reply is not in threes".into())),
            })
            .collect::<Result<_, _>>()?;
        Ok(Admitted { admissions, waiting })
    }

    /// Keeps the signed token with the entry, for position look-ups.
    pub async fn store_token(&self, sale: &str, entry_id: &str, token: &str) -> Result<(), StoreError> {
        let mut redis = self.redis.clone();
        let _: () = redis.hset(self.keys(sale).tokens, entry_id, token).await?;
        Ok(())
    }

    pub async fn place(&self, sale: &str, entry_id: &str) -> Result<Place, StoreError> {
        let keys = self.keys(sale);
        let mut redis = self.redis.clone();
        let (status, rank, waiting, token): (Option<String>, Option<u64>, u64, Option<String>) = redis::pipe()
            .hget(&keys.status, entry_id)
            .zrank(&keys.waiting, entry_id)
            .zcard(&keys.waiting)
            .hget(&keys.tokens, entry_id)
            .query_async(&mut redis)
            .await?;
        let status = status.ok_or_else(|| StoreError::UnknownEntry(entry_id.to_owned()))?;
        Ok(Place { status, ahead: rank.unwrap_or(0), waiting, token })
    }

    /// The entry's buyer is still there (see [`Self::view`] for a heartbeat with the answer).
    pub async fn heartbeat(&self, sale: &str, entry_id: &str) -> Result<(), StoreError> {
        let keys = self.keys(sale);
        let mut redis = self.redis.clone();
        let _: u64 = self
            .beat
            .key(&keys.heartbeat)
            .key(&keys.entry_buyer)
            .arg(entry_id)
            .arg("")
            .invoke_async(&mut redis)
            .await?;
        Ok(())
    }

    /// The buyer gives up their place (joining again starts at the back).
    pub async fn leave(&self, sale: &str, entry_id: &str) -> Result<(), StoreError> {
        let keys = self.keys(sale);
        let mut redis = self.redis.clone();
        let buyer: Option<String> = redis.hget(&keys.entry_buyer, entry_id).await?;
        let buyer = buyer.ok_or_else(|| StoreError::UnknownEntry(entry_id.to_owned()))?;
        let _: () = redis::pipe()
            .atomic()
            .zrem(&keys.waiting, entry_id)
            .srem(&keys.prequeue, entry_id)
            .zrem(&keys.active, entry_id)
            .hdel(&keys.buyers, &buyer)
            .hset(&keys.status, entry_id, "left")
            .query_async(&mut redis)
            .await?;
        Ok(())
    }

    /// An admitted shopper is done (order placed, left): their slot frees at once.
    /// The entry's buyer started shopping (holds seats): their slot lasts their admission.
    pub async fn shopping(&self, sale: &str, entry_id: &str) -> Result<(), StoreError> {
        let keys = self.keys(sale);
        let mut redis = self.redis.clone();
        let _: u64 =
            self.shop.key(&keys.active).key(&keys.admitted_until).arg(entry_id).invoke_async(&mut redis).await?;
        Ok(())
    }

    pub async fn finish(&self, sale: &str, entry_id: &str) -> Result<(), StoreError> {
        let mut redis = self.redis.clone();
        let _: () = redis.zrem(self.keys(sale).active, entry_id).await?;
        Ok(())
    }

    pub async fn stats(&self, sale: &str) -> Result<Stats, StoreError> {
        let keys = self.keys(sale);
        let mut redis = self.redis.clone();
        let (room, waiting, pre_queue, active): (std::collections::HashMap<String, String>, u64, u64, u64) =
            redis::pipe()
                .hgetall(&keys.room)
                .zcard(&keys.waiting)
                .scard(&keys.prequeue)
                .zcard(&keys.active)
                .query_async(&mut redis)
                .await?;
        let state = room.get("state").cloned().ok_or_else(|| StoreError::UnknownSale(sale.to_owned()))?;
        let count = |field: &str| room.get(field).and_then(|v| v.parse().ok()).unwrap_or(0);
        Ok(Stats { state, waiting, pre_queue, active, admitted: count("admitted"), abandoned: count("abandoned") })
    }
}
