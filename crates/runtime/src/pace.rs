//! Which of many keys a periodic loop visits on this tick. A loop that visits every performance or
//! waiting room on every tick costs in proportion to all of them, busy or not: a freshly seeded
//! dev instance (108 performances, nothing on sale) kept Redis at 15,000 commands a second. With a
//! pace, a key whose last visit found work is visited again on the next tick; one that found
//! nothing waits out a quiet interval (or until a time it is known to be due, if sooner); and a
//! change made through this replica wakes its key at once. What another replica changes is seen
//! within the quiet interval.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// Per-key next visits, shared by a loop and whatever wakes it.
#[derive(Debug, Clone)]
pub struct Pace {
    next: Arc<Mutex<HashMap<String, Instant>>>,
    quiet: Duration,
}

impl Pace {
    /// Keys with nothing to do are visited once every `quiet`.
    pub fn new(quiet: Duration) -> Self {
        Self { next: Arc::default(), quiet }
    }

    /// Whether `key` is due at `now`. A key never seen is.
    pub fn due(&self, key: &str, now: Instant) -> bool {
        self.lock().get(key).is_none_or(|at| *at <= now)
    }

    /// The last visit found work: visit again on the next tick.
    pub fn busy(&self, key: &str) {
        self.lock().remove(key);
    }

    /// Something happened to `key` here: visit it on the next tick.
    pub fn wake(&self, key: &str) {
        self.busy(key);
    }

    /// The last visit found nothing to do: visit again after the quiet interval, or at `due` if
    /// that comes first.
    pub fn quiet(&self, key: &str, now: Instant, due: Option<Instant>) {
        let at = due.map_or(now + self.quiet, |due| due.min(now + self.quiet));
        self.lock().insert(key.to_owned(), at);
    }

    /// Forgets every key but `keys` (those gone from the loop's list).
    pub fn retain(&self, keys: &[String]) {
        self.lock().retain(|key, _| keys.contains(key));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        // The map holds no invariant a panicking holder could break.
        self.next.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quiet_key_waits_its_interval_or_its_due_time_and_a_woken_one_does_not() {
        let pace = Pace::new(Duration::from_secs(1));
        let now = Instant::now();
        assert!(pace.due("a", now), "never seen: due");
        pace.quiet("a", now, None);
        assert!(!pace.due("a", now + Duration::from_millis(999)));
        assert!(pace.due("a", now + Duration::from_secs(1)));

        pace.quiet("b", now, Some(now + Duration::from_millis(300)));
        assert!(!pace.due("b", now + Duration::from_millis(299)));
        assert!(pace.due("b", now + Duration::from_millis(300)), "known to be due sooner");
        pace.quiet("c", now, Some(now + Duration::from_secs(60)));
        assert!(pace.due("c", now + Duration::from_secs(1)), "never later than the interval");

        pace.wake("a");
        assert!(pace.due("a", now), "woken: due on the next tick");
        pace.quiet("a", now, None);
        pace.busy("a");
        assert!(pace.due("a", now), "busy: due on the next tick");

        pace.quiet("d", now, None);
        pace.retain(&["b".to_owned()]);
        assert!(pace.due("d", now), "forgotten keys are due again when they come back");
        assert!(!pace.due("b", now), "kept");
    }
}
