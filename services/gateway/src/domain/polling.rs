//! How soon a waiting buyer without a live socket should ask for their position again. The
//! platform sets the pace, not the client: tens of thousands of waiting browsers each polling
//! every second would be the largest load of an on-sale, all of it spent saying "still waiting".

use std::time::Duration;

/// The quickest re-poll, for buyers about to be admitted.
pub const MIN_SECONDS: u64 = 2;
/// The slowest, for buyers far back: a position that far out barely moves. At 30 s, 70,000 buyers
/// waiting in a stadium rehearsal made 2,300 polls a second by themselves. The waiting room keeps
/// a buyer's place for 600 s without a poll (its heartbeat grace): ten slow polls, so polls shed
/// by a busy gateway do not cost anyone their place.
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

/// Pre-queue buyers' first polls after the sale opens are spread over this many seconds. Their
/// places are drawn at the open; asked all at once, tens of thousands of polls would land in the
/// same second — and the first buyers admitted, not knowing it, would keep their slots idle.
pub const OPENING_SPREAD_SECONDS: u64 = 20;

/// Seconds until a pre-queue buyer should ask again: when the sale opens `until_open` from now,
/// at a moment of their own within [`OPENING_SPREAD_SECONDS`] after it (from their entry id, so
/// it is stable across polls and the pre-queue spreads evenly), and every [`MAX_SECONDS`] at least
/// while the open is further off (each poll keeps their place).
pub fn poll_after_opening(until_open: Duration, entry_id: &str) -> u64 {
    let offset = fnv1a(entry_id.as_bytes()) % OPENING_SPREAD_SECONDS;
    (until_open.as_secs() + offset).clamp(MIN_SECONDS, MAX_SECONDS)
}

/// FNV-1a: a stable, evenly spread number from an id (entry ids end in random hex digits).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pre_queue_asks_again_just_after_the_open_spread_over_a_few_seconds() {
        let ids: Vec<String> = (0..2_000).map(|i| uuid::Uuid::from_u128(i * 7_919 + 13).to_string()).collect();
        let after = |until: u64| -> Vec<u64> {
            ids.iter().map(|id| poll_after_opening(Duration::from_secs(until), id)).collect()
        };
        // Opening in 10 s: everyone between 10 and 10 + the spread, every second of it used.
        let polls = after(10);
        assert!(polls.iter().all(|s| (10..10 + OPENING_SPREAD_SECONDS).contains(s)), "{polls:?}");
        let seconds: std::collections::HashSet<_> = polls.iter().collect();
        assert_eq!(seconds.len() as u64, OPENING_SPREAD_SECONDS);
        // The busiest second takes no more than twice its even share.
        let busiest = seconds.iter().map(|s| polls.iter().filter(|p| p == s).count()).max().unwrap_or(0);
        assert!(busiest <= 2 * ids.len() / OPENING_SPREAD_SECONDS as usize, "{busiest}");
        // The same buyer gets the same moment each time they ask.
        assert_eq!(poll_after_opening(Duration::from_secs(10), &ids[0]), polls[0]);
        // An open far off: a heartbeat poll every minute; an open already due: soon.
        assert!(after(3_600).iter().all(|s| *s == MAX_SECONDS));
        assert!(after(0).iter().all(|s| (MIN_SECONDS..OPENING_SPREAD_SECONDS).contains(s)));
    }

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
