//! What a waiting buyer is told: how many are ahead, roughly how long, and the chance that
//! tickets remain when their turn comes.

use std::time::Duration;

/// The waiting time for `ahead` buyers at `rate` admissions per second (`None` while nothing is
/// being admitted, e.g. before the sale opens or while paused).
pub fn eta(ahead: u64, rate_per_second: f64) -> Option<Duration> {
    (rate_per_second > 0.0 && rate_per_second.is_finite())
        .then(|| Duration::from_secs_f64(ahead as f64 / rate_per_second))
}

/// How fast the line moves, per second: the configured admission rate, or the pace it was
/// measured moving at when that is slower — the cap on shoppers, or seats all held, can keep a
/// room admitting far below its rate, and an ETA from the rate would tell everyone they are next.
pub fn line_speed(configured_per_second: u32, measured_per_minute: Option<u64>) -> f64 {
    let configured = f64::from(configured_per_second);
    measured_per_minute.map_or(configured, |per_minute| configured.min(per_minute as f64 / 60.0))
}

/// A rough chance (0–1) that seats remain for a buyer with `ahead` buyers before them, when
/// `remaining` seats are left, buyers take `tickets_per_buyer` on average, and `conversion` of the
/// admitted actually buy (abandonment). Deliberately simple and explainable.
pub fn odds(ahead: u64, remaining: u64, tickets_per_buyer: f64, conversion: f64) -> f64 {
    if remaining == 0 {
        return 0.0;
    }
    let buyers_served_before_sell_out = remaining as f64 / (tickets_per_buyer.max(1.0) * conversion.clamp(0.01, 1.0));
    (buyers_served_before_sell_out / (ahead as f64 + 1.0)).clamp(0.0, 1.0)
}

/// The quickest pace of a watched (live) position: buyers about to be admitted hear of it at once.
pub const WATCH_FASTEST: Duration = Duration::from_secs(1);
/// The slowest: far back, a position barely moves. Pushing every watcher every second cost a
/// stadium rehearsal's 4,000 sockets 4,000 position reads a second, ten times its pollers'.
pub const WATCH_SLOWEST: Duration = Duration::from_secs(10);

/// How long a watched position waits before its next push: a quarter of the expected wait while
/// the line moves, until the open for the pre-queue, and half the slowest pace otherwise (paused).
pub fn watch_pause(eta: Option<Duration>, until_open: Option<Duration>) -> Duration {
    let pause = match (eta, until_open) {
        (Some(eta), _) => eta / 4,
        (None, Some(until_open)) => until_open,
        (None, None) => WATCH_SLOWEST / 2,
    };
    pause.clamp(WATCH_FASTEST, WATCH_SLOWEST)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watched_position_is_pushed_often_near_the_front_and_rarely_far_back() {
        let secs = Duration::from_secs;
        assert_eq!(watch_pause(Some(secs(2)), None), WATCH_FASTEST, "next up: every second");
        assert_eq!(watch_pause(Some(secs(20)), None), secs(5));
        assert_eq!(watch_pause(Some(secs(600)), None), WATCH_SLOWEST, "far back: rarely");
        assert_eq!(watch_pause(None, Some(secs(3))), secs(3), "the pre-queue hears right at the open");
        assert_eq!(watch_pause(None, Some(Duration::ZERO)), WATCH_FASTEST, "the draw is under way");
        assert_eq!(watch_pause(None, Some(secs(3_600))), WATCH_SLOWEST);
        assert_eq!(watch_pause(None, None), secs(5), "paused");
    }

    #[test]
    fn eta_follows_the_rate_and_is_unknown_without_one() {
        assert_eq!(eta(6_000, 200.0), Some(Duration::from_secs(30)));
        assert_eq!(eta(0, 200.0), Some(Duration::ZERO));
        assert_eq!(eta(10, 0.0), None);
        assert_eq!(eta(10, f64::NAN), None);
    }

    #[test]
    fn the_line_moves_at_the_rate_or_the_slower_pace_measured() {
        assert_eq!(line_speed(1_000, None), 1_000.0);
        assert_eq!(line_speed(1_000, Some(900)), 15.0);
        assert_eq!(line_speed(10, Some(6_000)), 10.0, "never faster than configured");
        assert_eq!(eta(6_000, line_speed(1_000, Some(0))), None, "a line that stood still has no ETA");
    }

    #[test]
    fn odds_fall_with_the_queue_and_vanish_when_sold_out() {
        // 1,000 seats, 2 tickets each, everyone buys: 500 buyers get seats.
        assert_eq!(odds(0, 1_000, 2.0, 1.0), 1.0);
        assert_eq!(odds(499, 1_000, 2.0, 1.0), 1.0);
        assert!((odds(999, 1_000, 2.0, 1.0) - 0.5).abs() < 1e-9);
        assert!(odds(4_999, 1_000, 2.0, 1.0) < odds(999, 1_000, 2.0, 1.0));
        assert_eq!(odds(10, 0, 2.0, 1.0), 0.0);
        // Abandonment leaves seats for more buyers.
        assert!(odds(999, 1_000, 2.0, 0.5) > odds(999, 1_000, 2.0, 1.0));
    }
}
