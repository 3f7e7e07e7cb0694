//! Seat maps as buyers' screens get them, encoded once and served from memory.
//!
//! The entry for a performance is keyed by an etag that changes whenever its geometry or prices
//! can have changed (the performance's version and seat-map version), so entries never need
//! invalidating: a new etag simply misses. Serving a hit clones a reference-counted buffer.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use floodgate_proto::catalog::v1 as wire;
use prost::{Message as _, bytes::Bytes};

use crate::{convert::compact, domain::seat_map::SeatMap};

/// One performance's map, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct ServedMap {
    pub etag: String,
    /// An encoded `CompactSeatMap`.
    pub compact: Bytes,
    pub tiers: Vec<wire::PriceTier>,
}

impl ServedMap {
    pub fn build(etag: String, map: &SeatMap, version: i32, tiers: Vec<wire::PriceTier>) -> Self {
        Self { etag, compact: Bytes::from(compact::compact(map, version).encode_to_vec()), tiers }
    }

    /// The response for `performance_id` (without the full map).
    pub fn response(&self, performance_id: String) -> wire::PerformanceSeatMap {
        wire::PerformanceSeatMap {
            performance_id,
            seat_map: None,
            tiers: self.tiers.clone(),
            etag: self.etag.clone(),
            compact_seat_map: self.compact.clone(),
            not_modified: false,
        }
    }
}

/// A bounded map from etag to served map.
#[derive(Debug)]
pub struct SeatMapCache {
    entries: Mutex<HashMap<String, Arc<ServedMap>>>,
    capacity: usize,
}

impl SeatMapCache {
    /// Holds at most `capacity` maps (a 60,000-seat map is a few hundred kilobytes).
    pub fn new(capacity: usize) -> Self {
        Self { entries: Mutex::new(HashMap::new()), capacity: capacity.max(1) }
    }

    pub fn get(&self, etag: &str) -> Option<Arc<ServedMap>> {
        self.entries.lock().ok()?.get(etag).cloned()
    }

    pub fn insert(&self, served: ServedMap) -> Arc<ServedMap> {
        let served = Arc::new(served);
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= self.capacity
                && let Some(evict) = entries.keys().next().cloned()
            {
                // Any entry will do: hot maps come back on their next request.
                entries.remove(&evict);
            }
            entries.insert(served.etag.clone(), served.clone());
        }
        served
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{layout::SectionLayout, seat_map::Point};

    fn served(etag: &str) -> ServedMap {
        let map = crate::domain::layout::generate(
            &[SectionLayout::Standing { id: "ga".into(), name: "GA".into(), grade: "GA".into(), capacity: 10 }],
            Point::default(),
        );
        ServedMap::build(etag.into(), &map, 1, Vec::new())
    }

    #[test]
    fn hits_share_the_encoded_buffer_and_capacity_is_bounded() {
        let cache = SeatMapCache::new(2);
        let first = cache.insert(served("a"));
        let hit = cache.get("a").expect("cached");
        assert_eq!(hit.compact.as_ptr(), first.compact.as_ptr(), "no copy on a hit");
        cache.insert(served("b"));
        cache.insert(served("c"));
        let kept = ["a", "b", "c"].iter().filter(|e| cache.get(e).is_some()).count();
        assert_eq!(kept, 2);
        assert!(cache.get("c").is_some(), "the newest is always kept");
    }
}
