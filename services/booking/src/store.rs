//! Seat holds in Redis. Each change is one Lua script (kept beside this file and sharing
//! `common.lua`), so a hold is all-or-nothing, the per-buyer limit and GA counters cannot be
//! raced past, and every hold gets a fencing token that only grows. Keys carry the hash tag
//! `{perf:<id>}`: one performance lives on one Redis Cluster shard.
//!
//! Redis only saves wasted work: PostgreSQL decides who gets a seat when an order is confirmed.
//! If Redis loses everything, the inventory is seeded again from PostgreSQL (see
//! `inventory::Inventories`), with fencing tokens restarting from the clock so they keep growing.

mod events;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use floodgate_runtime::pace::Pace;
use redis::{AsyncCommands as _, Script, aio::ConnectionManager};
use uuid::Uuid;

pub use events::StreamEvent;

const COMMON: &str = include_str!("store/common.lua");

/// Seats written per command when seeding (a stadium has ~60k).
const SEED_CHUNK: usize = 2_000;
/// What a sweep did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub ended: usize,
    /// When the next live hold runs out, if any is left.
    pub next_expiry: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("seat storage failed")]
    Redis(#[from] redis::RedisError),
    #[error("the performance's inventory is not loaded")]
    NotReady,
    #[error("the performance is not on sale")]
    Closed,
    #[error("already taken: {}", seats.join(", "))]
    Taken { seats: Vec<String> },
    #[error("{0:?} is not a seat or section of this performance")]
    Unknown(String),
    #[error("only {available} place(s) left in section {section:?}")]
    GaShort { section: String, available: u32 },
    #[error("the limit is {limit} ticket(s) per buyer and {current} are already held or bought")]
    Limit { current: u32, limit: u32 },
    #[error("the hold has expired")]
    Expired,
    #[error("the hold belongs to someone else")]
    NotYours,
    #[error("the hold lost seats: {}", seats.join(", "))]
    Lost { seats: Vec<String> },
    #[error("stored seat data is corrupt: {0}")]
    Corrupt(String),
}

/// What one hold asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRequest {
    pub hold_id: Uuid,
    pub buyer: String,
    pub seats: Vec<String>,
    pub general_admission: Vec<(String, u32)>,
    pub idempotency_key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granted {
    pub fence: u64,
    pub expires_at: DateTime<Utc>,
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldOutcome {
    Granted(Granted),
    /// The same idempotency key already produced this live hold.
    Existing(Uuid),
}

/// A hold as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRecord {
    pub hold_id: Uuid,
    pub buyer: String,
    pub fence: u64,
    pub expires_at: DateTime<Utc>,
    pub seats: Vec<String>,
    pub general_admission: Vec<(String, u32)>,
    /// False once its TTL ran out (the sweeper has not got to it yet).
    pub live: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub capacity: u32,
    pub held: u32,
    pub sold: u32,
}

impl Counts {
    pub fn available(&self) -> u32 {
        self.capacity.saturating_sub(self.held + self.sold)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    Held,
    Sold,
}

/// The live view of a performance: taken seats, counts per section, GA places left.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct View {
    pub version: u64,
    pub taken: HashMap<String, Taken>,
    pub counts: HashMap<String, Counts>,
    pub ga_available: HashMap<String, u32>,
}

/// What seeding writes: sellable seats by section, and per-section capacity, sold and kind.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Seed {
    pub seats: Vec<(String, String)>,
    pub sold_seats: Vec<String>,
    /// (section, capacity, sold, general admission)
    pub sections: Vec<(String, u32, u32, bool)>,
    pub per_buyer_limit: u32,
    pub hold_ttl_ms: u64,
}

#[derive(Clone)]
struct Scripts {
    hold: Script,
    release: Script,
    extend: Script,
    sell: Script,
    unsell: Script,
    sweep: Script,
    seed: Script,
    view: Script,
}

fn script(body: &str) -> Script {
    Script::new(&format!("{COMMON}\n{body}"))
}

/// Every performance's holds, under one key prefix.
#[derive(Clone)]
pub struct HoldStore {
    redis: ConnectionManager,
    prefix: String,
    scripts: Scripts,
    /// The event relay's pace: a change made here wakes its performance for the next tick (one
    /// made through another replica is seen within the pace's quiet second).
    pace: Pace<Uuid>,
}

impl std::fmt::Debug for HoldStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HoldStore").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl HoldStore {
    pub fn new(redis: ConnectionManager, prefix: &str) -> Self {
        let scripts = Scripts {
            hold: script(include_str!("store/hold.lua")),
            release: script(include_str!("store/release.lua")),
            extend: script(include_str!("store/extend.lua")),
            sell: script(include_str!("store/sell.lua")),
            unsell: script(include_str!("store/unsell.lua")),
            sweep: script(include_str!("store/sweep.lua")),
            seed: script(include_str!("store/seed.lua")),
            view: script(include_str!("store/view.lua")),
        };
        Self { redis, prefix: format!("{prefix}booking:"), scripts, pace: Pace::default() }
    }

    /// Which performances the event relay visits on its next tick.
    pub fn pace(&self) -> &Pace<Uuid> {
        &self.pace
    }

    /// This replica changed the performance: its events and counts are due on the bus.
    fn touched(&self, performance: Uuid) {
        self.pace.wake(&performance);
    }

    /// The key prefix of one performance (all its keys share the hash tag).
    fn p(&self, performance: Uuid) -> String {
        format!("{}{{perf:{performance}}}:", self.prefix)
    }

    /// The set of performances with inventory, for the sweeper and the event relay.
    fn performances_key(&self) -> String {
        format!("{}performances", self.prefix)
    }

    pub async fn is_ready(&self, performance: Uuid) -> Result<bool, StoreError> {
        let mut redis = self.redis.clone();
        Ok(redis.hexists(format!("{}meta", self.p(performance)), "ready").await?)
    }

    /// Loads a performance's seats and opens it; a no-op if it is open already.
    pub async fn seed(&self, performance: Uuid, seed: &Seed) -> Result<bool, StoreError> {
        let p = self.p(performance);
        let mut redis = self.redis.clone();
        for chunk in seed.seats.chunks(SEED_CHUNK) {
            let _: () = redis.hset_multiple(format!("{p}seat"), chunk).await?;
        }
        for chunk in seed.sold_seats.chunks(SEED_CHUNK) {
            let pairs: Vec<(&str, &str)> = chunk.iter().map(|s| (s.as_str(), "!")).collect();
            let _: () = redis.hset_multiple(format!("{p}state"), &pairs).await?;
        }
        let mut invocation = self.scripts.seed.prepare_invoke();
        invocation.arg(&p).arg(seed.per_buyer_limit).arg(seed.hold_ttl_ms).arg(seed.sections.len());
        for (section, capacity, sold, ga) in &seed.sections {
            invocation.arg(section).arg(capacity).arg(sold).arg(if *ga { "1" } else { "0" });
        }
        let opened: i64 = invocation.invoke_async(&mut redis).await?;
        let _: () = redis.sadd(self.performances_key(), performance.to_string()).await?;
        self.touched(performance);
        Ok(opened == 1)
    }

    /// New rules from the sale configuration (holds already granted keep their expiry).
    pub async fn set_rules(&self, performance: Uuid, per_buyer_limit: u32, hold_ttl_ms: u64) -> Result<(), StoreError> {
        let mut redis = self.redis.clone();
        let key = format!("{}meta", self.p(performance));
        if redis.hexists(&key, "ready").await? {
            let _: () =
                redis.hset_multiple(&key, &[("limit", per_buyer_limit as u64), ("ttl_ms", hold_ttl_ms)]).await?;
        }
        Ok(())
    }

    /// No more holds (the performance was cancelled).
    pub async fn close(&self, performance: Uuid) -> Result<(), StoreError> {
        let mut redis = self.redis.clone();
        let _: () = redis.hset(format!("{}meta", self.p(performance)), "closed", 1).await?;
        Ok(())
    }

    pub async fn performances(&self) -> Result<Vec<Uuid>, StoreError> {
        let mut redis = self.redis.clone();
        let ids: Vec<String> = redis.smembers(self.performances_key()).await?;
        Ok(ids.iter().filter_map(|id| Uuid::parse_str(id).ok()).collect())
    }

    /// All-or-nothing: every seat and GA place, or nothing and the reason.
    pub async fn hold(&self, performance: Uuid, request: &HoldRequest) -> Result<HoldOutcome, StoreError> {
        let mut invocation = self.scripts.hold.prepare_invoke();
        invocation
            .arg(self.p(performance))
            .arg(request.hold_id.to_string())
            .arg(&request.buyer)
            .arg(&request.idempotency_key)
            .arg(request.seats.len())
            .arg(&request.seats)
            .arg(request.general_admission.len());
        for (section, quantity) in &request.general_admission {
            invocation.arg(section).arg(quantity);
        }
        let reply: Vec<redis::Value> = invocation.invoke_async(&mut self.redis.clone()).await?;
        self.touched(performance);
        let reply = strings(reply)?;
        match reply.first().map(String::as_str) {
            Some("OK") if reply.len() == 4 => Ok(HoldOutcome::Granted(Granted {
                fence: number(&reply[1])?,
                expires_at: millis(number(&reply[2])?)?,
                version: number(&reply[3])?,
            })),
            Some("SAME") if reply.len() == 2 => Ok(HoldOutcome::Existing(
                Uuid::parse_str(&reply[1]).map_err(|_| StoreError::Corrupt("hold id".into()))?,
            )),
            _ => Err(refusal(reply)),
        }
    }

    /// The hold's record, live or expired-but-not-swept; `None` once it ended.
    pub async fn record(&self, performance: Uuid, hold_id: Uuid) -> Result<Option<HoldRecord>, StoreError> {
        let p = self.p(performance);
        let (raw, live): (Option<String>, bool) = redis::pipe()
            .hget(format!("{p}info"), hold_id.to_string())
            .exists(format!("{p}hold:{hold_id}"))
            .query_async(&mut self.redis.clone())
            .await?;
        raw.map(|raw| parse_record(hold_id, &raw, live)).transpose()
    }

    /// Ends a live hold now. `buyer` = `None` when the service releases an order's hold itself.
    /// Returns the seats freed; an already ended hold frees nothing (idempotent).
    pub async fn release(
        &self,
        performance: Uuid,
        hold_id: Uuid,
        buyer: Option<&str>,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let reply: Vec<redis::Value> = self
            .scripts
            .release
            .arg(self.p(performance))
            .arg(hold_id.to_string())
            .arg(buyer.unwrap_or(""))
            .invoke_async(&mut self.redis.clone())
            .await?;
        self.touched(performance);
        let mut reply = strings(reply)?;
        match reply.first().map(String::as_str) {
            Some("RELEASED") => Ok(Some(reply.split_off(1))),
            Some("GONE") => Ok(None),
            _ => Err(refusal(reply)),
        }
    }

    /// Keeps the hold until `until` (the payment deadline) if it still has every seat; returns
    /// its fencing token.
    pub async fn extend(
        &self,
        performance: Uuid,
        hold_id: Uuid,
        buyer: &str,
        until: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let reply: Vec<redis::Value> = self
            .scripts
            .extend
            .arg(self.p(performance))
            .arg(hold_id.to_string())
            .arg(buyer)
            .arg(until.timestamp_millis())
            .invoke_async(&mut self.redis.clone())
            .await?;
        let reply = strings(reply)?;
        match reply.first().map(String::as_str) {
            Some("OK") if reply.len() == 2 => number(&reply[1]),
            _ => Err(refusal(reply)),
        }
    }

    /// Marks a confirmed order's seats and places sold (after PostgreSQL confirmed it).
    pub async fn sell(
        &self,
        performance: Uuid,
        hold_id: Uuid,
        buyer: &str,
        seats: &[String],
        general_admission: &[(String, u32)],
    ) -> Result<(), StoreError> {
        let mut invocation = self.scripts.sell.prepare_invoke();
        invocation.arg(self.p(performance)).arg(hold_id.to_string()).arg(buyer).arg(seats.len()).arg(seats);
        invocation.arg(general_admission.len());
        for (section, quantity) in general_admission {
            invocation.arg(section).arg(quantity);
        }
        let _: i64 = invocation.invoke_async(&mut self.redis.clone()).await?;
        self.touched(performance);
        Ok(())
    }

    /// Returns cancelled tickets to sale: seats, and GA tickets as (ticket id, section).
    pub async fn unsell(
        &self,
        performance: Uuid,
        buyer: &str,
        seats: &[String],
        general_admission: &[(String, String)],
    ) -> Result<u32, StoreError> {
        let mut invocation = self.scripts.unsell.prepare_invoke();
        invocation.arg(self.p(performance)).arg(buyer).arg(seats.len()).arg(seats).arg(general_admission.len());
        for (ticket, section) in general_admission {
            invocation.arg(ticket).arg(section);
        }
        let returned: u32 = invocation.invoke_async(&mut self.redis.clone()).await?;
        self.touched(performance);
        Ok(returned)
    }

    /// Ends up to `max` holds whose TTL ran out.
    pub async fn sweep(&self, performance: Uuid, max: usize) -> Result<Swept, StoreError> {
        let (ended, next): (usize, i64) =
            self.scripts.sweep.arg(self.p(performance)).arg(max).invoke_async(&mut self.redis.clone()).await?;
        Ok(Swept { ended, next_expiry: (next >= 0).then(|| millis(next as u64)).transpose()? })
    }

    /// The counts per section and the inventory version, without the seats (cheap: two fields'
    /// worth of work, where [`Self::view`] reads every taken seat).
    pub async fn counts(&self, performance: Uuid) -> Result<View, StoreError> {
        let p = self.p(performance);
        let (version, counts): (Option<String>, Vec<String>) = redis::pipe()
            .atomic()
            .hget(format!("{p}meta"), "version")
            .hgetall(format!("{p}count"))
            .query_async(&mut self.redis.clone())
            .await?;
        Ok(View {
            version: number(&version.unwrap_or_else(|| "0".into()))?,
            counts: parse_counts(&counts)?,
            ..View::default()
        })
    }

    /// Taken seats, counts and version, read in one script (one consistent moment).
    pub async fn view(&self, performance: Uuid) -> Result<View, StoreError> {
        let (version, taken, counts, ga): (String, Vec<String>, Vec<String>, Vec<String>) =
            self.scripts.view.arg(self.p(performance)).invoke_async(&mut self.redis.clone()).await?;
        let mut view = View { version: number(&version)?, ..View::default() };
        for pair in taken.chunks_exact(2) {
            view.taken.insert(pair[0].clone(), if pair[1] == "S" { Taken::Sold } else { Taken::Held });
        }
        view.counts = parse_counts(&counts)?;
        for pair in ga.chunks_exact(2) {
            view.ga_available
                .insert(pair[0].clone(), u32::try_from(pair[1].parse::<i64>().unwrap_or(0).max(0)).unwrap_or(0));
        }
        Ok(view)
    }
}

/// `<section>:c|h|s` fields as counts per section.
fn parse_counts(fields: &[String]) -> Result<HashMap<String, Counts>, StoreError> {
    let mut counts: HashMap<String, Counts> = HashMap::new();
    for pair in fields.chunks_exact(2) {
        let (section, kind) = pair[0].rsplit_once(':').ok_or_else(|| StoreError::Corrupt(pair[0].clone()))?;
        // Counters can dip below zero for a moment (a hold re-taken before the sweeper ran).
        let value = u32::try_from(pair[1].parse::<i64>().unwrap_or(0).max(0)).unwrap_or(u32::MAX);
        let entry = counts.entry(section.to_owned()).or_default();
        match kind {
            "c" => entry.capacity = value,
            "h" => entry.held = value,
            "s" => entry.sold = value,
            _ => {}
        }
    }
    Ok(counts)
}

fn strings(values: Vec<redis::Value>) -> Result<Vec<String>, StoreError> {
    values
        .into_iter()
        .map(|v| redis::from_redis_value::<String>(v).map_err(|e| StoreError::Corrupt(e.to_string())))
        .collect()
}

fn number(s: &str) -> Result<u64, StoreError> {
    s.parse().map_err(|_| StoreError::Corrupt(format!("not a number: {s:?}")))
}

fn millis(ms: u64) -> Result<DateTime<Utc>, StoreError> {
    i64::try_from(ms).ok().and_then(DateTime::from_timestamp_millis).ok_or_else(|| StoreError::Corrupt("time".into()))
}

/// A script's refusal as an error.
fn refusal(mut reply: Vec<String>) -> StoreError {
    let rest = reply.split_off(reply.len().min(1));
    let count = |i: usize| rest.get(i).and_then(|s| s.parse::<u32>().ok()).unwrap_or(0);
    match reply.first().map(String::as_str) {
        Some("NOT_READY") => StoreError::NotReady,
        Some("CLOSED") => StoreError::Closed,
        Some("TAKEN") => StoreError::Taken { seats: rest },
        Some("UNKNOWN") => StoreError::Unknown(rest.into_iter().next().unwrap_or_default()),
        Some("GA_SHORT") => {
            StoreError::GaShort { section: rest.first().cloned().unwrap_or_default(), available: count(1) }
        }
        Some("LIMIT") => StoreError::Limit { current: count(0), limit: count(1) },
        Some("EXPIRED") => StoreError::Expired,
        Some("NOT_YOURS") => StoreError::NotYours,
        Some("LOST") => StoreError::Lost { seats: rest },
        other => StoreError::Corrupt(format!("unexpected script reply {other:?}")),
    }
}

fn parse_record(hold_id: Uuid, raw: &str, live: bool) -> Result<HoldRecord, StoreError> {
    let corrupt = || StoreError::Corrupt(format!("hold record {hold_id}"));
    let fields: Vec<&str> = raw.split('\t').collect();
    let [buyer, fence, expires, rest @ ..] = fields.as_slice() else { return Err(corrupt()) };
    let mut record = HoldRecord {
        hold_id,
        buyer: (*buyer).to_owned(),
        fence: fence.parse().map_err(|_| corrupt())?,
        expires_at: millis(expires.parse().map_err(|_| corrupt())?)?,
        seats: Vec::new(),
        general_admission: Vec::new(),
        live,
    };
    for field in rest {
        if let Some(seats) = field.strip_prefix("s:") {
            record.seats = seats.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect();
        } else if let Some(ga) = field.strip_prefix("g:") {
            for pair in ga.split(',').filter(|s| !s.is_empty()) {
                let (section, quantity) = pair.rsplit_once(':').ok_or_else(corrupt)?;
                record.general_admission.push((section.to_owned(), quantity.parse().map_err(|_| corrupt())?));
            }
        }
    }
    Ok(record)
}
