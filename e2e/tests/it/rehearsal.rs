//! The CI burst (RELIABILITY.md A1 at CI size) end to end: 2,000 buyers for 500 places through the
//! gateway's public API — members and guests, a pre-queue, the waiting room, holds, checkouts,
//! payments at the simulated provider (some declined), bots that hold and walk away — against all
//! five services and the broker; then the checker reads the history and the final state (booking,
//! payment, the provider's ledger, the topic) and every invariant must hold.

use std::sync::Arc;

use floodgate_eventbus::BusConfig;
use floodgate_loadtest::{
    checker::Outcome,
    faults::{PidFiles, Schedule},
    history::Op,
    report,
    run::{self, Options, Target},
    scenario::Scenario,
    state::Sources,
};

use crate::platform::Platform;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ci_burst_sells_every_seat_once_and_the_checker_passes() -> anyhow::Result<()> {
    let scenario = Scenario::parse(include_str!("../../../loadtest/scenarios/ci-burst.toml"))?;
    let decline = scenario.behaviour.payment_decline.to_string();
    let platform = Platform::start_with(&[
        // The rehearsal is the load balancer: each buyer has its own address.
        ("gateway", "FLOODGATE_TRUSTED_PROXIES", "127.0.0.1"),
        ("gateway", "FLOODGATE_PASSWORD_COST", "minimal"),
        ("gateway", "FLOODGATE_ACCESS_TOKEN_TTL", "2h"),
        ("payment", "FLOODGATE_SIMULATOR_DECLINE_RATE", &decline),
    ])
    .await?;
    let target = Target {
        gateway_url: platform.gateway_http.clone(),
        gateway_database_url: platform.databases["gateway"].url.clone(),
        sources: Sources {
            booking: platform.databases["booking"].pool.clone(),
            payment: platform.databases["payment"].pool.clone(),
            bus: BusConfig {
                brokers: platform.broker.brokers.clone(),
                topic_prefix: platform.broker.topic_prefix.clone(),
                partitions: 3,
                replication: 1,
            },
        },
    };
    let out_dir = std::env::temp_dir().join(format!("floodgate-ci-burst-{}", uuid::Uuid::new_v4().simple()));
    let options = Options { out_dir: out_dir.clone(), ..Options::default() };
    let injector = Arc::new(PidFiles { dir: out_dir.clone() });
    let outcome = run::rehearse(&scenario, &target, &options, &Schedule::default(), injector).await?;
    report::write(&outcome, &out_dir)?;
    eprintln!("{}", report::terminal(&outcome));

    // Every invariant the run can decide held.
    for check in &outcome.verdict.checks {
        assert!(
            !matches!(check.outcome, Outcome::Violated(_)),
            "{} {}: {:?}",
            check.invariant,
            check.title,
            check.outcome
        );
    }
    // And the run really was a sale: buyers were admitted, held, paid and saw confirmations; the
    // hot seats were fought over; the declined were refused at the provider.
    let step = |op: Op| outcome.summary.steps.iter().find(|s| s.step == op).cloned();
    let ok = |op: Op| step(op).map_or(0, |s| s.ok);
    assert_eq!(outcome.buyers, 2000);
    assert!(ok(Op::Admitted) >= 200, "admitted: {:?}", step(Op::Admitted));
    assert!(ok(Op::Confirmed) >= 100, "confirmed: {:?}", step(Op::Confirmed));
    assert!((250..=500).contains(&outcome.summary.sell_out.sold), "{:?}", outcome.summary.sell_out);
    assert!(outcome.summary.errors.keys().any(|code| code.starts_with("hold: ")), "{:?}", outcome.summary.errors);
    let history = std::fs::read_to_string(out_dir.join("history.jsonl"))?;
    assert!(history.lines().count() > 10_000, "every operation is in the history file");
    let page = std::fs::read_to_string(out_dir.join("report.html"))?;
    assert!(page.contains("<svg") && page.contains("I1 no oversell"), "the HTML report has its charts and verdict");
    std::fs::remove_dir_all(&out_dir)?;
    Ok(())
}
