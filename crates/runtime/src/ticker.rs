//! Periodic work that must survive its dependency being away: run a round on every tick until
//! stopped; a failed round is logged and the next tick tries again.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Runs `round` every `every` until `stop`; never ends on a failed round.
pub async fn every<F, Fut, T, E>(every: Duration, stop: CancellationToken, what: &'static str, mut round: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: std::error::Error + 'static,
{
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(error) = round().await {
            tracing::warn!(error = %floodgate_telemetry::error_chain(&error), "{what} failed; next tick tries again");
        }
    }
}
