//! `floodgate-rehearse SCENARIO`: replays an on-sale against a running platform and checks it.
//! `./floodgate rehearse SCENARIO` starts a platform for it and passes these settings.
//! Exit status: 0 the checker passed, 1 it found a violation, 2 the run could not be done.

use std::{path::PathBuf, process::ExitCode, sync::Arc};

use clap::Parser;
use floodgate_eventbus::BusConfig;
use floodgate_loadtest::{
    faults::{PidFiles, Schedule},
    knee::{self, KneeOptions},
    report,
    run::{self, Options, Target},
    scenario::Scenario,
    state::Sources,
};

#[derive(Debug, Parser)]
#[command(version, about = "Rehearse an on-sale end to end and check that nothing was oversold")]
struct Cli {
    /// The scenario file (`loadtest/scenarios/*.toml`).
    scenario: PathBuf,
    #[arg(long, env = "FLOODGATE_REHEARSAL_GATEWAY", default_value = "http://127.0.0.1:8080")]
    gateway: String,
    #[arg(long, env = "FLOODGATE_REHEARSAL_GATEWAY_DATABASE_URL")]
    gateway_database_url: String,
    #[arg(long, env = "FLOODGATE_REHEARSAL_BOOKING_DATABASE_URL")]
    booking_database_url: String,
    #[arg(long, env = "FLOODGATE_REHEARSAL_PAYMENT_DATABASE_URL")]
    payment_database_url: String,
    #[arg(long, env = "FLOODGATE_KAFKA_BROKERS", default_value = "127.0.0.1:59092")]
    kafka_brokers: String,
    #[arg(long, env = "FLOODGATE_TOPIC_PREFIX", default_value = "floodgate.")]
    topic_prefix: String,
    /// Where the history, result.json and report.html go.
    #[arg(long, default_value = "target/rehearsal")]
    out: PathBuf,
    /// A fault schedule (`[[faults]] at_seconds, action = kill|pause|resume, target`).
    #[arg(long)]
    faults: Option<PathBuf>,
    /// Where `<service>.pid` files are, for the fault schedule.
    #[arg(long, default_value = ".floodgate/rehearsal")]
    pid_dir: PathBuf,
    /// WebSockets open at once (the rest of the waiting buyers poll).
    #[arg(long, default_value_t = 4000)]
    sockets: usize,
    /// Instead of the scenario's buyers: step the hold rate up until it breaks.
    #[arg(long)]
    knee: bool,
    #[arg(long, default_value_t = 100)]
    knee_start: u32,
    #[arg(long, default_value_t = 100)]
    knee_step: u32,
    #[arg(long, default_value_t = 3000)]
    knee_max: u32,
    #[arg(long, default_value_t = 10)]
    knee_seconds: u32,
    #[arg(long, default_value_t = 4000)]
    knee_buyers: u32,
    #[arg(long, default_value_t = 100.0)]
    knee_p99_ms: f64,
    /// In every knee step, one hold in this many is a whole journey (seat map, hold, checkout,
    /// cancel); 0 steps holds alone.
    #[arg(long, default_value_t = knee::JOURNEY_EVERY)]
    knee_journey_every: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match rehearse(cli).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("rehearsal failed: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn rehearse(cli: Cli) -> anyhow::Result<bool> {
    let text = std::fs::read_to_string(&cli.scenario)?;
    let scenario = Scenario::parse(&text)?;
    let pool = |url: &str| sqlx::postgres::PgPoolOptions::new().max_connections(4).connect_lazy(url);
    let target = Target {
        gateway_url: cli.gateway.clone(),
        gateway_database_url: cli.gateway_database_url.clone(),
        sources: Sources {
            booking: pool(&cli.booking_database_url)?,
            payment: pool(&cli.payment_database_url)?,
            bus: BusConfig {
                brokers: cli.kafka_brokers.clone(),
                topic_prefix: cli.topic_prefix.clone(),
                partitions: 3,
                replication: 1,
            },
        },
    };
    std::fs::create_dir_all(&cli.out)?;
    if cli.knee {
        let options = KneeOptions {
            start_rate: cli.knee_start,
            step_rate: cli.knee_step,
            max_rate: cli.knee_max,
            step_seconds: cli.knee_seconds,
            buyers: cli.knee_buyers,
            p99_limit_ms: cli.knee_p99_ms,
            journey_every: cli.knee_journey_every,
            ..KneeOptions::default()
        };
        let knee = knee::find(&scenario, &target, &options).await?;
        std::fs::write(cli.out.join("knee.json"), serde_json::to_vec_pretty(&knee)?)?;
        match knee.knee_per_second {
            Some(rate) => println!("knee: {rate} holds/s (the next step broke {})", knee.broke),
            None => println!("no knee found: {}", knee.broke),
        }
        if let Some(held) = &knee.held {
            println!(
                "at 70% of the knee: {} holds/s for {} s, one hold in {} part of a whole journey (0: none):",
                held.holds_per_second, held.seconds, held.journey_every
            );
            for step in &held.steps {
                println!(
                    "  {:<9} p50 {:>8.1} ms  p99 {:>8.1} ms  {} ok, {} failed",
                    step.step, step.p50_ms, step.p99_ms, step.ok, step.failed
                );
            }
        }
        return Ok(true);
    }
    let schedule = match &cli.faults {
        Some(path) => Schedule::parse(&std::fs::read_to_string(path)?)?,
        None => Schedule::default(),
    };
    let options = Options { out_dir: cli.out.clone(), sockets: cli.sockets, ..Options::default() };
    let injector = Arc::new(PidFiles { dir: cli.pid_dir.clone() });
    let outcome = run::rehearse(&scenario, &target, &options, &schedule, injector).await?;
    report::write(&outcome, &cli.out)?;
    print!("{}", report::terminal(&outcome));
    println!("report: {}", cli.out.join("report.html").display());
    Ok(outcome.verdict.passed())
}
