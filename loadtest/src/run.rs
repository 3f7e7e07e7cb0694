//! A whole rehearsal: set the sale up, give every buyer an identity (the fans signed up before the
//! day), open the sale, send buyers at their intended arrival times (open loop), fire the fault
//! schedule, wait for holds and payment deadlines to run out, read the final state, check it and
//! summarize. The report is written by [`crate::report`].

use std::{path::PathBuf, sync::Arc, time::Duration};

use futures::StreamExt as _;
use rand::SeedableRng as _;
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::{
    arrivals,
    checker::{self, Verdict},
    client::{Gateway, Session},
    faults::{Injector, Schedule},
    history::{Kind, Op},
    identity,
    journey::Shop,
    plan::{self, Plan},
    record::Recorder,
    scenario::{Arrivals, Scenario},
    setup,
    state::{self, Sources},
    stats::{self, SaleShape, Summary},
};

/// The platform to rehearse against.
#[derive(Debug, Clone)]
pub struct Target {
    pub gateway_url: String,
    /// To promote the rehearsal's admin (the bootstrap step `floodgate-accounts` does).
    pub gateway_database_url: String,
    pub sources: Sources,
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Where the history and reports go.
    pub out_dir: PathBuf,
    /// WebSockets open at once; beyond it waiting buyers poll.
    pub sockets: usize,
    /// Identities made at once before the sale.
    pub signup_concurrency: usize,
    /// Print a progress line every second.
    pub progress: bool,
    pub request_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            out_dir: PathBuf::from("target/rehearsal"),
            sockets: 4000,
            signup_concurrency: 32,
            progress: true,
            request_timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("setting up the sale: {0}")]
    Setup(#[from] setup::SetupError),
    #[error("reading the arrival trace: {0}")]
    Trace(String),
    #[error("the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    #[error("writing the history: {0}")]
    Io(#[from] std::io::Error),
    #[error("reading the final state: {0}")]
    State(#[from] state::StateError),
    #[error("{failed} of {total} buyers could not get an identity (first: {first})")]
    Identities { failed: usize, total: usize, first: String },
}

/// Everything a run found.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub scenario: String,
    pub performance_id: String,
    pub buyers: usize,
    pub sale_opened_at_s: f64,
    pub summary: Summary,
    pub verdict: Verdict,
    /// Faults fired: (seconds, what, result).
    pub faults: Vec<(u32, String, String)>,
}

pub async fn rehearse(
    scenario: &Scenario,
    target: &Target,
    options: &Options,
    schedule: &Schedule,
    injector: Arc<dyn Injector>,
) -> Result<Outcome, RunError> {
    std::fs::create_dir_all(&options.out_dir)?;
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let gateway = Gateway::new(&target.gateway_url, options.request_timeout)?;
    say(options, &format!("setting up {} (run {run})", scenario.name));
    let admin = setup::admin(&gateway, &target.gateway_database_url, &run).await?;
    let draft = setup::draft(&gateway, &admin, scenario, &run).await?;

    let mut rng = rand::rngs::StdRng::seed_from_u64(scenario.seed);
    let times = match &scenario.arrivals {
        Arrivals::Trace { file } => {
            let text = std::fs::read_to_string(file).map_err(|e| RunError::Trace(format!("{file}: {e}")))?;
            arrivals::from_trace(&text, scenario.buyers.count).map_err(|e| RunError::Trace(e.to_string()))?
        }
        profile => arrivals::generate(profile, scenario.buyers.count.unwrap_or(0), &mut rng),
    };
    let plans = plan::plans(scenario, &draft.sections, &times);

    say(options, &format!("{} buyers get an identity (signed up before the day)", plans.len()));
    let (recorder, collector) = Recorder::start(&options.out_dir.join("history.jsonl"))?;
    let sessions = identities(&gateway, &recorder, &plans, &run, options.signup_concurrency).await?;

    // The clock of the run starts now; the sale opens after the pre-queue window.
    let open_after = match scenario.arrivals {
        Arrivals::Spike { open_after_seconds, .. } => open_after_seconds,
        _ => 0.0,
    };
    let lead = Duration::from_secs(3);
    let opens_at =
        chrono::Utc::now() + chrono::Duration::from_std(lead + Duration::from_secs_f64(open_after)).unwrap_or_default();
    let t0 = opens_at - chrono::Duration::from_std(Duration::from_secs_f64(open_after)).unwrap_or_default();
    // The sale ends a minute after the buyers stop: its waiting room closes and stops costing the
    // platform anything, as after a real on-sale.
    let closes_at = t0 + chrono::Duration::seconds(i64::from(scenario.duration_seconds) + 60);
    let sale = setup::open(&gateway, &admin, scenario, draft, opens_at, closes_at).await?;
    let wait = (t0 - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait).await;
    let started_us = recorder.now_us();
    let offset = |seconds: f64| started_us as f64 / 1e6 + seconds;

    say(options, "the waiting room is open; buyers arrive");
    let closes_at_us = started_us + u64::from(scenario.duration_seconds) * 1_000_000;
    let shop = Arc::new(Shop {
        gateway: gateway.clone(),
        performance_id: sale.performance_id.clone(),
        recorder: recorder.clone(),
        retries: scenario.behaviour.retries.clone(),
        sockets: Arc::new(Semaphore::new(options.sockets)),
        closes_at_us,
    });
    let progress = options.progress.then(|| tokio::spawn(progress_line(recorder.clone(), closes_at_us)));
    let fired = tokio::spawn(fire(schedule.clone(), injector, recorder.clone(), started_us));
    let mut buyers = tokio::task::JoinSet::new();
    for (plan, session) in plans.iter().cloned().zip(sessions) {
        let at = recorder.instant((offset(plan.arrives_at) * 1e6) as u64);
        tokio::time::sleep_until(at).await;
        let shop = shop.clone();
        let plan = Plan { arrives_at: offset(plan.arrives_at), ..plan };
        buyers.spawn(async move { shop.shop(&plan, session).await });
    }
    while buyers.join_next().await.is_some() {}
    if let Some(progress) = progress {
        progress.abort();
    }
    let faults = fired.await.unwrap_or_default();

    say(options, "waiting for holds and payment deadlines to run out");
    let patience = Duration::from_secs(
        u64::from(scenario.sale.hold_ttl_seconds) + u64::from(scenario.sale.payment_deadline_seconds) + 60,
    );
    let state = state::settle_and_read(&gateway, &admin, &target.sources, &sale.performance_id, patience).await?;
    drop(shop);
    drop(recorder);
    let history = collector.finish().await?;
    let verdict = checker::check(&history, &state);
    let shape = SaleShape {
        capacity: scenario.capacity(),
        opens_at_s: offset(open_after),
        admission_rate: f64::from(scenario.sale.admission_rate_per_second),
        mean_party: mean_party(&plans),
    };
    Ok(Outcome {
        scenario: scenario.name.clone(),
        performance_id: sale.performance_id,
        buyers: plans.len(),
        sale_opened_at_s: offset(open_after),
        summary: stats::summarize(&history, shape),
        verdict,
        faults,
    })
}

fn say(options: &Options, line: &str) {
    if options.progress {
        eprintln!("==> {line}");
    }
}

fn mean_party(plans: &[Plan]) -> f64 {
    let buying: Vec<f64> = plans.iter().filter(|p| !p.bot).map(|p| f64::from(p.want.quantity())).collect();
    buying.iter().sum::<f64>() / buying.len().max(1) as f64
}

/// Members sign up and log in, guests open a guest session — before the sale, a few at a time.
async fn identities(
    gateway: &Gateway,
    recorder: &Recorder,
    plans: &[Plan],
    run: &str,
    concurrency: usize,
) -> Result<Vec<Session>, RunError> {
    let results: Vec<Result<Session, String>> = futures::stream::iter(plans.iter().map(|plan| async move {
        let session = Session::anonymous(plan.buyer);
        let phone = identity::phone(plan.buyer);
        let email =
            if plan.guest { format!("buyer-{}-{run}@example.com", plan.buyer) } else { identity::email(plan.buyer) };
        let intended = recorder.now_us();
        recorder.invoke(plan.buyer, Op::SignUp, intended, serde_json::json!({"guest": plan.guest}));
        let token = if plan.guest {
            identity::guest(gateway, &session, &phone, &email).await
        } else {
            match identity::sign_up(gateway, &session, &email, &phone).await {
                Ok(()) => identity::log_in(gateway, &session, &email).await,
                Err(error) => Err(error),
            }
        };
        match token {
            Ok(token) => {
                recorder.complete(plan.buyer, Op::SignUp, intended, Kind::Ok, None, serde_json::Value::Null);
                Ok(Session { token: Some(token), ..session })
            }
            Err(error) => {
                let code = Some(error.code().to_owned());
                recorder.complete(plan.buyer, Op::SignUp, intended, Kind::Fail, code, serde_json::Value::Null);
                Err(error.to_string())
            }
        }
    }))
    .buffered(concurrency.max(1))
    .collect()
    .await;
    let failed: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    if let Some(first) = failed.first() {
        return Err(RunError::Identities { failed: failed.len(), total: plans.len(), first: (*first).clone() });
    }
    Ok(results.into_iter().filter_map(Result::ok).collect())
}

/// The live progress line, once a second, until the run's end.
async fn progress_line(recorder: Recorder, closes_at_us: u64) {
    use std::sync::atomic::Ordering::Relaxed;
    let p = recorder.progress.clone();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let now = recorder.now_us();
        let phase = if now < closes_at_us { "on sale" } else { "winding down" };
        let p99 = p.take_hold_p99_ms().map_or_else(|| "-".to_owned(), |ms| format!("{ms:.1} ms"));
        eprintln!(
            "  {:>6.1}s {phase}: arrived {} · waiting {} · admitted {} · holding {} · sold {} · errors {} · hold p99 {p99}",
            now as f64 / 1e6,
            p.arrived.load(Relaxed),
            p.waiting.load(Relaxed),
            p.admitted.load(Relaxed),
            p.holding.load(Relaxed),
            p.tickets_sold.load(Relaxed),
            p.errors.load(Relaxed),
        );
    }
}

/// Fires the schedule's faults at their offsets.
async fn fire(
    schedule: Schedule,
    injector: Arc<dyn Injector>,
    recorder: Recorder,
    started_us: u64,
) -> Vec<(u32, String, String)> {
    let mut fired = Vec::new();
    for fault in schedule.faults {
        tokio::time::sleep_until(recorder.instant(started_us + u64::from(fault.at_seconds) * 1_000_000)).await;
        let injector = injector.clone();
        let what = format!("{:?} {}", fault.action, fault.target).to_lowercase();
        let result = tokio::task::spawn_blocking(move || injector.inject(&fault))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r)
            .map_or_else(|e| format!("failed: {e}"), |()| "done".to_owned());
        let at = u32::try_from(recorder.now_us().saturating_sub(started_us) / 1_000_000).unwrap_or(u32::MAX);
        fired.push((at, what, result));
    }
    fired
}
