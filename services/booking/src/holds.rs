//! Holding seats: the admission check, then one Lua script per attempt. Best-available picks
//! seats from a recent view with the pure chooser and holds them the same way, choosing again
//! from a fresh view if another buyer won a seat in between.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use floodgate_admission::{Claims, Verifier};
use uuid::Uuid;

use crate::{
    convert,
    domain::{
        Buyer,
        best_available::{self, Wanted},
        layout::{Layout, SeatSet},
    },
    error::BookingError,
    inventory::{Inventories, Performance},
    store::{Granted, HoldOutcome, HoldRecord, HoldRequest, StoreError, View},
};

/// Most seats or places in one hold.
pub const MAX_PER_HOLD: usize = 20;
/// Best-available attempts before giving up on a fast-moving map.
const CHOOSE_ATTEMPTS: usize = 5;

/// A hold as returned to the buyer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldSeats {
    pub hold_id: Uuid,
    pub performance_id: Uuid,
    pub buyer: String,
    pub seats: Vec<String>,
    pub general_admission: Vec<(String, u32)>,
    pub expires_at: DateTime<Utc>,
    pub fence: u64,
}

impl HeldSeats {
    fn from_record(performance_id: Uuid, record: HoldRecord) -> Self {
        Self {
            hold_id: record.hold_id,
            performance_id,
            buyer: record.buyer,
            seats: record.seats,
            general_admission: record.general_admission,
            expires_at: record.expires_at,
            fence: record.fence,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Holds {
    inventories: Inventories,
    admission: Arc<Verifier>,
    verified: Arc<Mutex<HashMap<String, Claims>>>,
    claims: Arc<Mutex<Claimed>>,
    recent: Arc<Mutex<HashMap<Uuid, RecentSlot>>>,
}

/// The taken seats best-available last read for a performance. One async lock per performance:
/// when the read is due, one hold reads and the others waiting for it use what it read.
type RecentSlot = Arc<tokio::sync::Mutex<Option<Recent>>>;

#[derive(Debug)]
struct Recent {
    read_at: Instant,
    taken: Arc<SeatSet>,
}

/// How long best-available chooses around the taken seats it last read instead of reading them
/// again. Late in a stadium sale the view is ~20,000 entries, and reading and indexing it on
/// every hold made Redis and booking's CPU the bottleneck. A stale view is never unsafe: the hold
/// script still decides, a lost seat makes the next attempt read afresh, and this process's own
/// fresh holds stay claimed for longer than a view lives, so it does not pick them again.
const VIEW_FOR: Duration = Duration::from_millis(250);
const _: () = assert!(VIEW_FOR.as_millis() * 2 < CLAIM_FOR.as_millis());

/// Seats this process chose for best-available holds in the last moment, per performance.
/// Buyers arriving together would otherwise all pick the same best seat from the same view, and
/// all but one would lose the hold and choose again — work growing with the square of the burst.
/// A claim only steers the choice; the hold script still decides who gets a seat.
type Claimed = HashMap<Uuid, SeatClaims>;

/// One performance's claims, oldest first, as flat seat indices. (Kept as seat ids, choosing
/// around them hashed every id claimed in the last second on every hold: a thousand string
/// lookups per hold at a thousand holds a second.)
#[derive(Debug, Default)]
struct SeatClaims {
    made: VecDeque<(Instant, Vec<usize>)>,
}

impl SeatClaims {
    fn lapse(&mut self, now: Instant) {
        while self.made.front().is_some_and(|(at, _)| now.duration_since(*at) >= CLAIM_FOR) {
            self.made.pop_front();
        }
    }

    fn seats(&self) -> impl Iterator<Item = usize> + '_ {
        self.made.iter().flat_map(|(_, seats)| seats.iter().copied())
    }

    /// Withdraws the claim on exactly these seats (the newest such).
    fn withdraw(&mut self, seats: &[usize]) {
        if let Some(found) = self.made.iter().rposition(|(_, claimed)| claimed == seats) {
            self.made.remove(found);
        }
    }
}

/// How long a placed hold's seats stay claimed: until views read after it show them taken.
const CLAIM_FOR: Duration = Duration::from_secs(1);

/// Tokens remembered after their signature checked out. A buyer holds, retries and checks out
/// with one token; the signature (the costliest step of a hold) is checked once per process.
const MAX_VERIFIED: usize = 100_000;

fn indices(layout: &Layout, seats: &[String]) -> Vec<usize> {
    seats.iter().filter_map(|seat| layout.index_of(seat)).collect()
}

/// What a hold asks for, as received.
#[derive(Debug, Clone)]
pub struct SeatsWanted {
    pub seats: Vec<String>,
    pub general_admission: Vec<(String, u32)>,
    pub admission_token: String,
    pub idempotency_key: String,
}

impl Holds {
    pub fn new(inventories: Inventories, admission: Arc<Verifier>) -> Self {
        Self { inventories, admission, verified: Arc::default(), claims: Arc::default(), recent: Arc::default() }
    }

    /// I8: no hold without the waiting room's token for this buyer and this sale. The claims of
    /// a genuine token are remembered by its exact text; time, sale and buyer are checked on
    /// every call.
    pub fn admit(&self, token: &str, performance: Uuid, buyer: &Buyer, now: DateTime<Utc>) -> Result<(), BookingError> {
        let remembered = self.verified.lock().ok().and_then(|v| v.get(token).cloned());
        let claims = match remembered {
            Some(claims) => claims,
            None => {
                let claims = self.admission.verify_signature(token)?;
                if let Ok(mut verified) = self.verified.lock() {
                    if verified.len() >= MAX_VERIFIED {
                        verified.clear();
                    }
                    verified.insert(token.to_owned(), claims.clone());
                }
                claims
            }
        };
        self.admission.check(&claims, &performance.to_string(), &buyer.key(), now)?;
        Ok(())
    }

    async fn on_sale(&self, performance: Uuid, now: DateTime<Utc>) -> Result<Arc<Performance>, BookingError> {
        let found = self.inventories.get(performance).await?;
        if !found.on_sale(now) {
            return Err(BookingError::SaleNotOpen);
        }
        Ok(found)
    }

    /// All-or-nothing hold of the chosen seats and GA places.
    pub async fn hold(
        &self,
        performance: Uuid,
        buyer: &Buyer,
        wanted: SeatsWanted,
        now: DateTime<Utc>,
    ) -> Result<HeldSeats, BookingError> {
        validate(&wanted)?;
        self.admit(&wanted.admission_token, performance, buyer, now)?;
        self.on_sale(performance, now).await?;
        let request = HoldRequest {
            hold_id: Uuid::now_v7(),
            buyer: buyer.key(),
            seats: wanted.seats,
            general_admission: wanted.general_admission,
            idempotency_key: wanted.idempotency_key,
        };
        self.place(performance, request).await
    }

    /// `n` seats together, nearest the focal point, never stranding a single seat.
    pub async fn hold_best(
        &self,
        performance: Uuid,
        buyer: &Buyer,
        wanted: &Wanted<'_>,
        admission_token: &str,
        idempotency_key: &str,
        now: DateTime<Utc>,
    ) -> Result<HeldSeats, BookingError> {
        if wanted.quantity == 0 || wanted.quantity > MAX_PER_HOLD {
            return Err(BookingError::invalid("quantity", format!("must be 1–{MAX_PER_HOLD}")));
        }
        self.admit(admission_token, performance, buyer, now)?;
        let found = self.on_sale(performance, now).await?;
        let asked_at = Instant::now();
        let mut newer_than = None;
        for _ in 0..CHOOSE_ATTEMPTS {
            let (taken, read_at) = self.taken(performance, &found.layout, newer_than).await?;
            newer_than = Some(read_at);
            let Some(seats) = self.claim(performance, &found, &taken, wanted) else {
                // Seats may have come free since a view read before this request: look once more.
                if read_at < asked_at {
                    continue;
                }
                return Err(BookingError::NoSeatsTogether { quantity: wanted.quantity });
            };
            let request = HoldRequest {
                hold_id: Uuid::now_v7(),
                buyer: buyer.key(),
                seats: seats.clone(),
                general_admission: Vec::new(),
                idempotency_key: idempotency_key.to_owned(),
            };
            let placed = self.place(performance, request).await;
            if placed.is_err() {
                self.unclaim(performance, &found.layout, &seats);
            }
            match placed {
                // Someone was faster on one of them: look again.
                Err(BookingError::Store(StoreError::Taken { .. })) => continue,
                other => return other,
            }
        }
        Err(BookingError::NoSeatsTogether { quantity: wanted.quantity })
    }

    /// The taken seats to choose around, and when they were read: the last read while younger
    /// than [`VIEW_FOR`] — or, when a hold needs a view `newer_than` the one it chose from, the
    /// last read if it is newer. Holds that lost a seat together share one fresh read: each
    /// reading its own made a stadium's end-game (every hold failing on a full map, a 20,000-entry
    /// view each) Redis's largest cost, and timed holds out.
    async fn taken(
        &self,
        performance: Uuid,
        layout: &Layout,
        newer_than: Option<Instant>,
    ) -> Result<(Arc<SeatSet>, Instant), BookingError> {
        let slot = self.recent.lock().unwrap_or_else(PoisonError::into_inner).entry(performance).or_default().clone();
        let mut slot = slot.lock().await;
        if let Some(recent) = slot.as_ref() {
            let usable = match newer_than {
                Some(seen) => recent.read_at > seen,
                None => recent.read_at.elapsed() < VIEW_FOR,
            };
            if usable {
                return Ok((recent.taken.clone(), recent.read_at));
            }
        }
        let read_at = Instant::now();
        let view = self.view(performance).await?;
        let taken = Arc::new(layout.seat_set(view.taken.keys().map(String::as_str)));
        *slot = Some(Recent { read_at, taken: taken.clone() });
        Ok((taken, read_at))
    }

    /// Chooses around the taken seats and this process's fresh claims, and claims the choice.
    /// When only claimed seats could seat the party, chooses around the taken seats alone
    /// (claims may yet fail).
    fn claim(
        &self,
        performance: Uuid,
        found: &Performance,
        taken: &SeatSet,
        wanted: &Wanted<'_>,
    ) -> Option<Vec<String>> {
        let Ok(mut claims) = self.claims.lock() else {
            return best_available::choose(&found.layout, taken, wanted).map(|c| c.seat_ids);
        };
        let now = Instant::now();
        let claimed = claims.entry(performance).or_default();
        claimed.lapse(now);
        let around_claims = taken.with_indices(claimed.seats());
        let choice = best_available::choose(&found.layout, &around_claims, wanted)
            .or_else(|| best_available::choose(&found.layout, taken, wanted))?;
        claimed.made.push_back((now, indices(&found.layout, &choice.seat_ids)));
        Some(choice.seat_ids)
    }

    fn unclaim(&self, performance: Uuid, layout: &Layout, seats: &[String]) {
        if let Ok(mut claims) = self.claims.lock()
            && let Some(claimed) = claims.get_mut(&performance)
        {
            claimed.withdraw(&indices(layout, seats));
        }
    }

    /// Runs the hold script, opening the inventory from PostgreSQL first if Redis lost it.
    async fn place(&self, performance: Uuid, request: HoldRequest) -> Result<HeldSeats, BookingError> {
        let store = self.inventories.store();
        let outcome = match store.hold(performance, &request).await {
            Err(StoreError::NotReady) => {
                self.inventories.ensure_open(performance).await?;
                store.hold(performance, &request).await?
            }
            other => other?,
        };
        match outcome {
            HoldOutcome::Granted(Granted { fence, expires_at, .. }) => Ok(HeldSeats {
                hold_id: request.hold_id,
                performance_id: performance,
                buyer: request.buyer,
                seats: request.seats,
                general_admission: request.general_admission,
                expires_at,
                fence,
            }),
            HoldOutcome::Existing(hold_id) => self.get(performance, hold_id, &request.buyer).await,
        }
    }

    /// The buyer's live hold.
    pub async fn get(&self, performance: Uuid, hold_id: Uuid, buyer: &str) -> Result<HeldSeats, BookingError> {
        match self.inventories.store().record(performance, hold_id).await? {
            Some(record) if record.buyer != buyer => Err(BookingError::NotFound("hold")),
            Some(record) if record.live => Ok(HeldSeats::from_record(performance, record)),
            Some(_) => Err(StoreError::Expired.into()),
            None => Err(BookingError::NotFound("hold")),
        }
    }

    /// Frees the hold's seats at once; `false` if it had already ended.
    pub async fn release(&self, performance: Uuid, hold_id: Uuid, buyer: &str) -> Result<bool, BookingError> {
        match self.inventories.store().release(performance, hold_id, Some(buyer)).await {
            Ok(freed) => Ok(freed.is_some()),
            Err(StoreError::NotYours) => Err(BookingError::NotFound("hold")),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn view(&self, performance: Uuid) -> Result<View, BookingError> {
        self.inventories.ensure_open(performance).await?;
        Ok(self.inventories.store().view(performance).await?)
    }

    pub fn inventories(&self) -> &Inventories {
        &self.inventories
    }
}

fn validate(wanted: &SeatsWanted) -> Result<(), BookingError> {
    let places = wanted.seats.len() + wanted.general_admission.iter().map(|(_, q)| *q as usize).sum::<usize>();
    if places == 0 || places > MAX_PER_HOLD {
        return Err(BookingError::invalid("seat_ids", format!("a hold takes 1–{MAX_PER_HOLD} seats or places")));
    }
    let mut seen = std::collections::HashSet::new();
    for seat in &wanted.seats {
        convert::check_id("seat_ids", seat)?;
        if !seen.insert(seat.as_str()) {
            return Err(BookingError::invalid("seat_ids", format!("{seat:?} is listed twice")));
        }
    }
    for (section, quantity) in &wanted.general_admission {
        convert::check_id("general_admission.section_id", section)?;
        if *quantity == 0 || !seen.insert(section.as_str()) {
            return Err(BookingError::invalid("general_admission", "one entry per section, quantity ≥ 1"));
        }
    }
    if wanted.idempotency_key.len() > 128 || wanted.idempotency_key.chars().any(char::is_control) {
        return Err(BookingError::invalid("idempotency_key", "at most 128 printable characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_lapse_after_their_time_and_a_failed_hold_withdraws_only_its_own() {
        let start = Instant::now();
        let mut claims = SeatClaims::default();
        claims.made.push_back((start, vec![1, 2]));
        claims.made.push_back((start + Duration::from_millis(400), vec![2, 3]));
        claims.made.push_back((start + Duration::from_millis(500), vec![7]));
        claims.lapse(start + Duration::from_millis(600));
        assert_eq!(claims.seats().collect::<Vec<_>>(), [1, 2, 2, 3, 7], "nothing lapsed yet");

        claims.withdraw(&[2, 3]);
        assert_eq!(claims.seats().collect::<Vec<_>>(), [1, 2, 7], "seat 2 is still claimed by the first");
        claims.withdraw(&[9]);
        assert_eq!(claims.seats().count(), 3, "withdrawing what was never claimed changes nothing");

        claims.lapse(start + CLAIM_FOR);
        assert_eq!(claims.seats().collect::<Vec<_>>(), [7]);
        claims.lapse(start + CLAIM_FOR + Duration::from_millis(500));
        assert_eq!(claims.seats().count(), 0);
    }
}
