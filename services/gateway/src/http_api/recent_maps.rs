//! The compact seat maps this gateway served in the last second. In an on-sale every admitted
//! buyer loads the same map at once: in a stadium rehearsal, a thousand admissions a second were
//! two thousand catalog look-ups a second (the performance, then the map) for one unchanged 37 KB
//! answer, each holding an in-flight permit while the box was at its limit. Browsers may keep the
//! map for a minute anyway (`public, max-age=60`); a second here shows them nothing newer or older
//! than that already does.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::body::Bytes;

/// How long a served map is served again without asking the catalog.
pub const FRESH: Duration = Duration::from_secs(1);
/// Performances remembered at most (stale ones are dropped first when full).
const MAX_MAPS: usize = 1024;

/// One performance's compact map and its ETag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    pub etag: String,
    pub body: Bytes,
}

#[derive(Debug, Default)]
pub struct RecentMaps {
    maps: Mutex<HashMap<String, (Instant, Served)>>,
}

impl RecentMaps {
    /// The map served for `performance` less than [`FRESH`] before `now`.
    pub fn get(&self, performance: &str, now: Instant) -> Option<Served> {
        let maps = self.lock();
        let (at, served) = maps.get(performance)?;
        (now.duration_since(*at) < FRESH).then(|| served.clone())
    }

    /// Remembers what was just served for `performance`.
    pub fn put(&self, performance: &str, served: Served, now: Instant) {
        let mut maps = self.lock();
        if maps.len() >= MAX_MAPS && !maps.contains_key(performance) {
            maps.retain(|_, (at, _)| now.duration_since(*at) < FRESH);
            if maps.len() >= MAX_MAPS {
                maps.clear();
            }
        }
        maps.insert(performance.to_owned(), (now, served));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Served)>> {
        // Only whole entries are written: a panicking holder leaves nothing half-done.
        self.maps.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(etag: &str) -> Served {
        Served { etag: etag.to_owned(), body: Bytes::from(etag.as_bytes().to_vec()) }
    }

    #[test]
    fn a_map_is_served_again_for_a_second_and_then_asked_for_afresh() {
        let maps = RecentMaps::default();
        let now = Instant::now();
        assert_eq!(maps.get("p1", now), None);
        maps.put("p1", served("p1.3.1"), now);
        assert_eq!(maps.get("p1", now + Duration::from_millis(999)), Some(served("p1.3.1")));
        assert_eq!(maps.get("p1", now + FRESH), None, "stale after a second");
        assert_eq!(maps.get("p2", now), None, "per performance");
        maps.put("p1", served("p1.4.1"), now + FRESH);
        assert_eq!(maps.get("p1", now + FRESH).map(|s| s.etag), Some("p1.4.1".to_owned()), "a new version replaces it");
    }

    #[test]
    fn a_full_memory_drops_stale_maps_first_and_never_grows_past_its_bound() {
        let maps = RecentMaps::default();
        let now = Instant::now();
        for i in 0..MAX_MAPS {
            maps.put(&format!("old-{i}"), served("x"), now);
        }
        let later = now + FRESH;
        maps.put("new", served("y"), later);
        assert_eq!(maps.get("new", later), Some(served("y")));
        assert_eq!(maps.lock().len(), 1, "every stale map went");
        for i in 0..MAX_MAPS * 2 {
            maps.put(&format!("fresh-{i}"), served("z"), later);
        }
        assert!(maps.lock().len() <= MAX_MAPS);
    }
}
