//! Which of many keys a periodic loop visits on this tick. A loop that visits every performance or
//! waiting room on every tick costs in proportion to all of them, busy or not: a freshly seeded
//! dev instance (108 performances, nothing on sale) kept Redis at 15,000 commands a second. With a
//! pace, a key whose last visit found work is visited again on the next tick; one that found
//! nothing waits out a quiet interval (or until a time it is known to be due, if sooner); and a
//! change made through this replica wakes its key at once. What another replica changes is seen
//! within the quiet interval.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// How often a key with nothing to do is visited by default: what another replica changes is
/// seen within it.
pub const QUIET: Duration = Duration::from_secs(1);

/// Per-key next visits, shared by a loop and whatever wakes it.
#[derive(Debug, Clone)]
pub struct Pace<K = String> {
    next: Arc<Mutex<HashMap<K, Instant>>>,
    quiet: Duration,
}

impl<K: Hash + Eq + Clone> Default for Pace<K> {
    fn default() -> Self {
        Self::new(QUIET)
    }
}

impl<K: Hash + Eq + Clone> Pace<K> {
    /// Keys with nothing to do are visited once every `quiet`.
    pub fn new(quiet: Duration) -> Self {
        Self { next: Arc::default(), quiet }
    }

    /// Of the loop's `keys`, those due at `now` (a key never seen is); keys no longer listed are
    /// forgotten.
    pub fn due_among(&self, keys: Vec<K>, now: Instant) -> Vec<K> {
        let mut next = self.lock();
        let listed: std::collections::HashSet<&K> = keys.iter().collect();
        next.retain(|key, _| listed.contains(key));
        drop(listed);
        keys.into_iter().filter(|key| next.get(key).is_none_or(|at| *at <= now)).collect()
    }

    /// Visit `key` on the next tick: its last visit found work, or something happened to it here.
    pub fn wake<Q: Hash + Eq + ?Sized>(&self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
    {
        self.lock().remove(key);
    }

    /// The last visit found nothing to do: visit again after the quiet interval, or at `due` if
    /// that comes first.
    pub fn quiet(&self, key: &K, now: Instant, due: Option<Instant>) {
        let at = due.map_or(now + self.quiet, |due| due.min(now + self.quiet));
        self.lock().insert(key.clone(), at);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Instant>> {
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
        let keys = || ["a", "b", "c"].map(str::to_owned).to_vec();
        let due = |at: Instant| pace.due_among(keys(), at);
        let now = Instant::now();
        assert_eq!(due(now), keys(), "never seen: due");
        pace.quiet(&"a".to_owned(), now, None);
        pace.quiet(&"b".to_owned(), now, Some(now + Duration::from_millis(300)));
        pace.quiet(&"c".to_owned(), now, Some(now + Duration::from_secs(60)));
        assert_eq!(due(now + Duration::from_millis(299)), Vec::<String>::new());
        assert_eq!(due(now + Duration::from_millis(300)), ["b"], "known to be due sooner");
        assert_eq!(due(now + Duration::from_secs(1)), keys(), "never later than the interval");

        pace.wake("a");
        assert_eq!(due(now), ["a"], "woken: due on the next tick");

        assert_eq!(pace.due_among(vec!["b".to_owned()], now), Vec::<String>::new(), "b kept");
        assert_eq!(due(now), ["a", "c"], "c was forgotten when unlisted: due again when it comes back");
    }
}
