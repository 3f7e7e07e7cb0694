//! How soon a waiting buyer without a live socket should ask for their position again. The
//! platform sets the pace, not the client: tens of thousands of waiting browsers each polling
//! every second would be the largest load of an on-sale, all of it spent saying "still waiting".

use std::time::Duration;

/// The quickest re-poll, for buyers about to be admitted.
pub const MIN_SECONDS: u64 = 2;
/// The slowest, for buyers far back: a position that far out barely moves. At 30 s, 70,000 buyers
/// waiting in a stadium rehearsal made 2,300 polls a second by themselves. The waiting room keeps
/// a buyer's place for 180 s without a poll (its heartbeat grace): three slow polls, so one shed
/// or lost poll does not cost anyone their place.
pub const MAX_SECONDS: u64 = 60;

/// Seconds until the next poll for a buyer with `ahead` people before them. While admissions run
/// (`eta` known) half the expected wait, so the buyer hears of their turn within a few seconds of
/// it; while they do not (before the sale opens, paused) the place in line alone, further back
/// less often.
pub fn poll_after(ahead: u64, eta: Option<Duration>) -> u64 {
    let seconds = match eta {
        Some(eta) => eta.as_secs() / 2,
        None => 5 + ahead / 1_000,
    };
    seconds.clamp(MIN_SECONDS, MAX_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_front_of_the_line_polls_often_and_the_back_rarely() {
        assert_eq!(poll_after(10, Some(Duration::from_secs(1))), MIN_SECONDS);
        assert_eq!(poll_after(20_000, Some(Duration::from_secs(20))), 10);
        assert_eq!(poll_after(60_000, Some(Duration::from_secs(90))), 45);
        assert_eq!(poll_after(60_000, Some(Duration::from_secs(600))), MAX_SECONDS);
        // Nothing moving yet: by place in line.
        assert_eq!(poll_after(0, None), 5);
        assert_eq!(poll_after(12_000, None), 17);
        assert_eq!(poll_after(40_000, None), 45);
        assert_eq!(poll_after(90_000, None), MAX_SECONDS);
    }
}
