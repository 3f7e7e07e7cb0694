//! The knee finder: raises the hold rate step by step against a sale whose buyers are already
//! admitted, and reports where p99 latency, refusals or throughput break — so "load held" can be
//! stated as a fraction of the knee. Each hold is best-available for one seat and released right
//! after (untimed), so the map never fills; a buyer is reused at most once every
//! [`REUSE_EVERY`] to stay under the gateway's per-account hold limit.
//!
//! With `journey_every` (the default: one in [`JOURNEY_EVERY`]), that share of the holds is a
//! whole journey around the hold instead — seat map, hold, checkout, and cancelling the unpaid
//! order (which frees the seat again) — in every step, so the knee is the knee of that mix and
//! the run at 70% of it measures the same mix, each step's p50/p99 next to the load held. (A knee
//! found with holds alone, then a run at 70% of it with journeys added on top, measured a box
//! past its limit: each journey adds three requests, an order transaction and the events of two
//! orders to the same cores.) `journey_every = 0` steps holds alone.

use std::{collections::VecDeque, sync::Arc, time::Duration};

use serde::Serialize;
use serde_json::json;
use tokio::sync::Mutex;

use crate::{
    client::{Gateway, Session},
    identity,
    run::{RunError, Target},
    scenario::Scenario,
    setup,
    stats::percentile,
};

/// The gateway allows 30 holds a minute per account.
pub const REUSE_EVERY: Duration = Duration::from_millis(2100);

#[derive(Debug, Clone, Serialize)]
pub struct KneeOptions {
    pub start_rate: u32,
    pub step_rate: u32,
    pub max_rate: u32,
    pub step_seconds: u32,
    /// Admitted buyers to hold with (the highest rate they sustain is `buyers / 2.1 s`).
    pub buyers: u32,
    /// A step breaks when its p99 exceeds this …
    pub p99_limit_ms: f64,
    /// … or more than this share of holds fail …
    pub error_limit: f64,
    /// … or fewer than this share of the offered holds complete within the step.
    pub throughput_floor: f64,
    /// Every this many-th hold is a whole journey (0: holds alone).
    pub journey_every: u64,
}

impl Default for KneeOptions {
    fn default() -> Self {
        Self {
            start_rate: 100,
            step_rate: 100,
            max_rate: 3000,
            step_seconds: 10,
            buyers: 4000,
            p99_limit_ms: 100.0,
            error_limit: 0.01,
            throughput_floor: 0.9,
            journey_every: JOURNEY_EVERY,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KneeStep {
    pub offered_per_second: u32,
    pub completed_per_second: f64,
    pub ok: u64,
    pub failed: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Every journey step's latencies in this step (empty for holds alone).
    pub journey: Vec<StepLatency>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Knee {
    pub steps: Vec<KneeStep>,
    /// The highest rate whose step kept every limit.
    pub knee_per_second: Option<u32>,
    /// Why the next step broke (or "not reached").
    pub broke: String,
    /// The journey at 70% of the knee.
    pub held: Option<Held>,
}

/// The mix at a steady rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Held {
    pub holds_per_second: u32,
    pub seconds: u32,
    /// Every this many-th hold was part of a whole journey (0: none).
    pub journey_every: u64,
    pub steps: Vec<StepLatency>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepLatency {
    pub step: &'static str,
    pub ok: u64,
    pub failed: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// The share of the knee the journey run holds.
pub const HELD_SHARE: f64 = 0.7;

/// By default every this many-th hold is part of a whole journey.
pub const JOURNEY_EVERY: u64 = 10;

/// The journey's steps, as timed.
const STEPS: [&str; 4] = ["seat map", "hold", "checkout", "cancel"];

/// Where the steps break. Pure.
pub fn judge(steps: Vec<KneeStep>, options: &KneeOptions) -> Knee {
    let mut knee = None;
    let mut broke = "not reached within the rates tried".to_owned();
    for step in &steps {
        let total = (step.ok + step.failed).max(1) as f64;
        let reason = if step.p99_ms > options.p99_limit_ms {
            Some(format!("p99 {:.1} ms > {} ms", step.p99_ms, options.p99_limit_ms))
        } else if step.failed as f64 / total > options.error_limit {
            Some(format!("{:.1}% of holds failed", 100.0 * step.failed as f64 / total))
        } else if step.completed_per_second < options.throughput_floor * f64::from(step.offered_per_second) {
            Some(format!("{:.0} of {} holds/s completed", step.completed_per_second, step.offered_per_second))
        } else {
            None
        };
        match reason {
            None => knee = Some(step.offered_per_second),
            Some(reason) => {
                broke = format!("at {}/s: {reason}", step.offered_per_second);
                break;
            }
        }
    }
    Knee { steps, knee_per_second: knee, broke, held: None }
}

struct Admitted {
    session: Session,
    token: String,
    free_at: tokio::time::Instant,
}

/// Sets a sale up from `scenario` (admission fast and wide), admits `options.buyers` guests, then
/// steps the hold rate up until it breaks.
pub async fn find(scenario: &Scenario, target: &Target, options: &KneeOptions) -> Result<Knee, RunError> {
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let gateway = Gateway::new(&target.gateway_url, Duration::from_secs(10))?;
    let admin = setup::admin(&gateway, &target.gateway_database_url, &run).await?;
    let draft = setup::draft(&gateway, &admin, scenario, &run).await?;
    let mut wide = scenario.clone();
    wide.sale.admission_rate_per_second = 2000;
    // Every buyer at once, and the operator's one probe of the waiting room (setup::open).
    wide.sale.max_active_shoppers = options.buyers.max(1) + 1;
    // Long enough for admitting everyone, every step and the run at 70%; then the room closes.
    let seconds =
        (options.max_rate.saturating_sub(options.start_rate) / options.step_rate.max(1) + 4) * options.step_seconds;
    let closes_at = chrono::Utc::now() + chrono::Duration::seconds(i64::from(seconds) + 1800);
    let sale = setup::open(&gateway, &admin, &wide, draft, chrono::Utc::now(), closes_at).await?;
    let performance = sale.performance_id.clone();
    eprintln!("==> admitting {} buyers", options.buyers);
    let pool = admit_all(&gateway, &performance, options.buyers, &run).await?;
    let pool = Arc::new(Mutex::new(pool));
    let mut steps = Vec::new();
    let mut rate = options.start_rate.max(1);
    let mut knee = loop {
        let step = hold_step(&gateway, &performance, &pool, rate, options).await;
        let others: String = (step.journey.iter().filter(|s| s.step != "hold"))
            .map(|s| format!("; {} p99 {:.1} ms", s.step, s.p99_ms))
            .collect();
        eprintln!(
            "  {:>5}/s offered: {:>7.0}/s done, p50 {:.1} ms, p99 {:.1} ms, {} failed{others}",
            rate, step.completed_per_second, step.p50_ms, step.p99_ms, step.failed
        );
        steps.push(step);
        let judged = judge(steps.clone(), options);
        rate += options.step_rate.max(1);
        if judged.knee_per_second != judged.steps.last().map(|s| s.offered_per_second) || rate > options.max_rate {
            break judged;
        }
    };
    if let Some(rate) = knee.knee_per_second {
        let held = ((f64::from(rate) * HELD_SHARE) as u32).max(1);
        let seconds = options.step_seconds * 3;
        let every = options.journey_every;
        eprintln!("==> {held} holds/s (70% of the knee) for {seconds} s, one in {every} a whole journey");
        let samples = drive(&gateway, &performance, &pool, held, seconds, every).await;
        let steps = journey(&samples);
        knee.held = Some(Held { holds_per_second: held, seconds, journey_every: every, steps });
    }
    Ok(knee)
}

/// Each journey step's latencies (the hold alone when there were no journeys); steps nobody took
/// left out.
fn journey(samples: &[Sample]) -> Vec<StepLatency> {
    STEPS
        .into_iter()
        .map(|step| latency(step, samples.iter().flat_map(|s| &s.steps).filter(|(name, ..)| *name == step)))
        .filter(|step| step.ok + step.failed > 0)
        .collect()
}

fn latency<'a>(step: &'static str, samples: impl Iterator<Item = &'a (&'static str, bool, Duration)>) -> StepLatency {
    let (mut ok, mut failed, mut latencies) = (0, 0, Vec::new());
    for (_, succeeded, latency) in samples {
        if *succeeded {
            ok += 1
        } else {
            failed += 1
        }
        latencies.push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }
    latencies.sort_unstable();
    let ms = |q: f64| percentile(&latencies, q).map_or(0.0, |us| us as f64 / 1000.0);
    StepLatency { step, ok, failed, p50_ms: ms(0.5), p99_ms: ms(0.99) }
}

async fn admit_all(
    gateway: &Gateway,
    performance: &str,
    count: u32,
    run: &str,
) -> Result<VecDeque<Admitted>, RunError> {
    use futures::StreamExt as _;
    let admitted: Vec<Result<Admitted, String>> = futures::stream::iter((0..count).map(|i| async move {
        let session = Session::anonymous(i);
        let email = format!("knee-{i}-{run}@example.com");
        let token = identity::guest(gateway, &session, &identity::phone(i), &email).await.map_err(|e| e.to_string())?;
        let session = Session { token: Some(token), ..session };
        let joined = gateway
            .post(&session, &format!("/v1/performances/{performance}/queue"), &json!({}))
            .await
            .map_err(|e| e.to_string())?;
        let entry = joined.text("entry_id").ok_or_else(|| format!("join: {} {}", joined.status, joined.body))?;
        let path = format!("/v1/performances/{performance}/queue/{entry}");
        for _ in 0..600 {
            if let Some(token) = gateway.get(&session, &path).await.ok().and_then(|p| p.text("admission_token")) {
                return Ok(Admitted { session, token, free_at: tokio::time::Instant::now() });
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err("not admitted within 5 minutes".to_owned())
    }))
    .buffer_unordered(64)
    .collect()
    .await;
    let failed = admitted.iter().filter(|a| a.is_err()).count();
    if let Some(Err(first)) = admitted.iter().find(|a| a.is_err()) {
        return Err(RunError::Identities { failed, total: count as usize, first: first.clone() });
    }
    Ok(admitted.into_iter().filter_map(Result::ok).collect())
}

/// One step of the knee: `rate` holds a second (some in journeys) for a step's seconds.
async fn hold_step(
    gateway: &Gateway,
    performance: &str,
    pool: &Arc<Mutex<VecDeque<Admitted>>>,
    rate: u32,
    options: &KneeOptions,
) -> KneeStep {
    let (seconds, every) = (options.step_seconds, options.journey_every);
    let started = tokio::time::Instant::now();
    let samples = drive(gateway, performance, pool, rate, seconds, every).await;
    let steps = journey(&samples);
    let hold = steps.iter().find(|s| s.step == "hold").cloned().unwrap_or_else(|| latency("hold", std::iter::empty()));
    let last = samples.iter().map(|s| s.done).max().unwrap_or(started);
    let elapsed = last.duration_since(started).as_secs_f64().max(f64::from(seconds));
    KneeStep {
        offered_per_second: rate,
        completed_per_second: hold.ok as f64 / elapsed,
        ok: hold.ok,
        failed: hold.failed,
        p50_ms: hold.p50_ms,
        p99_ms: hold.p99_ms,
        journey: if every == 0 { Vec::new() } else { steps },
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Probe {
    /// Hold, then release untimed.
    Hold,
    /// Seat map, hold, checkout, cancel — each timed.
    Journey,
}

struct Sample {
    steps: Vec<(&'static str, bool, Duration)>,
    done: tokio::time::Instant,
}

/// `rate` probes a second for `seconds`, open loop: the first step is timed from when it was
/// meant to start, so a stalled gateway cannot hide its tail behind a slower send rate. Holds, and
/// every `journey_every`-th a whole journey (0: none).
async fn drive(
    gateway: &Gateway,
    performance: &str,
    pool: &Arc<Mutex<VecDeque<Admitted>>>,
    rate: u32,
    seconds: u32,
    journey_every: u64,
) -> Vec<Sample> {
    let started = tokio::time::Instant::now();
    let total = u64::from(rate) * u64::from(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        let intended = started + Duration::from_secs_f64(i as f64 / f64::from(rate));
        tokio::time::sleep_until(intended).await;
        let probe = if journey_every > 0 && i % journey_every == 0 { Probe::Journey } else { Probe::Hold };
        let (gateway, pool, performance) = (gateway.clone(), pool.clone(), performance.to_owned());
        tasks.spawn(async move {
            // The next buyer free to hold again (waiting for one counts against the latency).
            let mut buyer = loop {
                let next = pool.lock().await.pop_front();
                match next {
                    Some(buyer) => break buyer,
                    None => tokio::time::sleep(Duration::from_millis(5)).await,
                }
            };
            tokio::time::sleep_until(buyer.free_at).await;
            let steps = probe_once(&gateway, &performance, &buyer, intended, probe).await;
            buyer.free_at = tokio::time::Instant::now() + REUSE_EVERY;
            pool.lock().await.push_back(buyer);
            Sample { steps, done: tokio::time::Instant::now() }
        });
    }
    let mut samples = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    while let Some(joined) = tasks.join_next().await {
        if let Ok(sample) = joined {
            samples.push(sample);
        }
    }
    samples
}

async fn probe_once(
    gateway: &Gateway,
    performance: &str,
    buyer: &Admitted,
    intended: tokio::time::Instant,
    probe: Probe,
) -> Vec<(&'static str, bool, Duration)> {
    let session = &buyer.session;
    let mut steps = Vec::new();
    let mut from = intended;
    if probe == Probe::Journey {
        let map =
            gateway.fetch(session, &format!("/v1/performances/{performance}/seat-map"), "application/x-protobuf").await;
        steps.push(("seat map", map.is_ok_and(|(status, _)| status == 200), from.elapsed()));
        from = tokio::time::Instant::now();
    }
    let body = json!({"quantity": 1, "admission_token": buyer.token});
    let hold = gateway.post(session, &format!("/v1/performances/{performance}/holds/best-available"), &body).await;
    steps.push(("hold", hold.as_ref().is_ok_and(|r| r.ok()), from.elapsed()));
    let Some((hold_id, hold)) = hold.ok().filter(|r| r.ok()).and_then(|r| Some((r.text("hold_id")?, r))) else {
        return steps;
    };
    if probe == Probe::Hold {
        let _ = gateway.delete(session, &format!("/v1/performances/{performance}/holds/{hold_id}")).await;
        return steps;
    }
    let from = tokio::time::Instant::now();
    let checkout = json!({"tickets": crate::journey::tickets(&hold, &[]), "admission_token": buyer.token});
    let order =
        gateway.post(session, &format!("/v1/performances/{performance}/holds/{hold_id}/checkout"), &checkout).await;
    steps.push(("checkout", order.as_ref().is_ok_and(|r| r.ok()), from.elapsed()));
    match order.ok().filter(|r| r.ok()).and_then(|r| r.text("order_id")) {
        Some(order_id) => {
            let from = tokio::time::Instant::now();
            let cancel = gateway.post(session, &format!("/v1/orders/{order_id}/cancel"), &json!({})).await;
            steps.push(("cancel", cancel.is_ok_and(|r| r.ok()), from.elapsed()));
        }
        None => {
            let _ = gateway.delete(session, &format!("/v1/performances/{performance}/holds/{hold_id}")).await;
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(rate: u32, p99_ms: f64, failed: u64, completed: f64) -> KneeStep {
        KneeStep {
            offered_per_second: rate,
            completed_per_second: completed,
            ok: 1000,
            failed,
            p50_ms: 1.0,
            p99_ms,
            journey: Vec::new(),
        }
    }

    #[test]
    fn the_knee_is_the_last_step_within_every_limit() {
        let options = KneeOptions::default();
        let knee =
            judge(vec![step(100, 5.0, 0, 100.0), step(200, 9.0, 0, 199.0), step(300, 250.0, 0, 290.0)], &options);
        assert_eq!(knee.knee_per_second, Some(200));
        assert!(knee.broke.contains("at 300/s: p99 250.0 ms"), "{}", knee.broke);
        let knee = judge(vec![step(100, 5.0, 0, 100.0), step(200, 9.0, 50, 199.0)], &options);
        assert_eq!(knee.knee_per_second, Some(100), "4.8% failed breaks it");
        let knee = judge(vec![step(100, 5.0, 0, 60.0)], &options);
        assert_eq!((knee.knee_per_second, knee.broke.contains("60 of 100")), (None, true));
    }
}
