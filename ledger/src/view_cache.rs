//! Views recently decoded by readers, so that a certificate checked at every border post
//! or a weapon looked up again and again is not parsed and validated on every read (that
//! decoding was the largest part of a read's CPU).
//!
//! A cached view is keyed by its stream and used only when the bytes the reader's snapshot
//! holds are exactly the bytes it was decoded from. Decoding is a pure function of those
//! bytes, so the cache never serves anything but what decoding would give, and there is
//! nothing to invalidate when the writer changes a view: the new bytes simply miss.
//!
//! Bounded by the stored bytes it holds: two generations, the current one filled until it
//! holds half the budget, then it becomes the previous one and the oldest is dropped; a
//! hit in the previous generation moves the view to the current one. Roughly the most
//! recently used views stay, without a list to maintain on every hit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::domain::views::View;

#[derive(Default)]
struct Generation {
    views: HashMap<Box<str>, Cached>,
    bytes: usize,
}

struct Cached {
    bytes: Box<[u8]>,
    view: Arc<View>,
}

pub(crate) struct ViewCache {
    generations: Mutex<(Generation, Generation)>,
    /// Stored bytes one generation may hold before it is retired; zero turns the cache off.
    generation_bytes: usize,
}

impl ViewCache {
    pub(crate) fn new(budget_bytes: usize) -> Self {
        Self {
            generations: Mutex::default(),
            generation_bytes: budget_bytes / 2,
        }
    }

    /// The view decoded from `bytes`, the stored projection of `stream`.
    pub(crate) fn view(
        &self,
        stream: &str,
        bytes: &[u8],
        decode: impl FnOnce() -> Result<View, crate::store::StoreError>,
    ) -> Result<Arc<View>, crate::store::StoreError> {
        if self.generation_bytes == 0 || bytes.len() > self.generation_bytes {
            return decode().map(Arc::new);
        }
        if let Some(view) = self.hit(stream, bytes) {
            return Ok(view);
        }
        let view = Arc::new(decode()?);
        self.keep(stream, bytes, Arc::clone(&view));
        Ok(view)
    }

    fn hit(&self, stream: &str, bytes: &[u8]) -> Option<Arc<View>> {
        let mut generations = self.generations.lock().ok()?;
        let (current, previous) = &mut *generations;
        if let Some(cached) = current.views.get(stream) {
            return (*cached.bytes == *bytes).then(|| Arc::clone(&cached.view));
        }
        let cached = previous.views.remove(stream)?;
        previous.bytes -= cached.bytes.len();
        if *cached.bytes != *bytes {
            return None;
        }
        let view = Arc::clone(&cached.view);
        self.insert(&mut generations, stream, cached);
        Some(view)
    }

    fn keep(&self, stream: &str, bytes: &[u8], view: Arc<View>) {
        if let Ok(mut generations) = self.generations.lock() {
            let cached = Cached {
                bytes: bytes.into(),
                view,
            };
            self.insert(&mut generations, stream, cached);
        }
    }

    fn insert(&self, generations: &mut (Generation, Generation), stream: &str, cached: Cached) {
        let (current, previous) = generations;
        if current.bytes + cached.bytes.len() > self.generation_bytes {
            *previous = std::mem::take(current);
        }
        current.bytes += cached.bytes.len();
        if let Some(replaced) = current.views.insert(stream.into(), cached) {
            current.bytes -= replaced.bytes.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    /// A broker view's stored bytes, `number` making each one different.
    fn stored(number: u32) -> Vec<u8> {
        format!(
            r#"{{"view":"broker","registration_number":"BR-{number:05}","registering_state":"BE","broker_name":"Broker {number}","authority":"be-broker-{number}","valid_from":"2026-01-01","revoked":false,"first_index":{number},"last_index":{number}}}"#
        )
        .into_bytes()
    }

    /// Reads `bytes` of `stream` through the cache, counting the decodings it needs.
    fn read(cache: &ViewCache, stream: &str, bytes: &[u8], decodings: &mut u32) -> Arc<View> {
        cache
            .view(stream, bytes, || {
                *decodings += 1;
                crate::projections::decode(stream, bytes)
            })
            .unwrap()
    }

    #[test]
    fn a_view_is_decoded_once_while_its_stored_bytes_stay_the_same() {
        let cache = ViewCache::new(1 << 20);
        let mut decodings = 0;
        let first = read(&cache, "broker:BE:1", &stored(1), &mut decodings);
        let again = read(&cache, "broker:BE:1", &stored(1), &mut decodings);
        assert_eq!(decodings, 1);
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(*first, crate::projections::decode("", &stored(1)).unwrap());

        // The writer changed the view: the new bytes are decoded, never the old view served.
        let changed = read(&cache, "broker:BE:1", &stored(2), &mut decodings);
        assert_eq!(decodings, 2);
        assert_eq!(
            *changed,
            crate::projections::decode("", &stored(2)).unwrap()
        );
        // And an older snapshot's bytes are not answered with the newer view either.
        let older = read(&cache, "broker:BE:1", &stored(1), &mut decodings);
        assert_eq!(decodings, 3);
        assert_eq!(*older, *first);
    }

    #[test]
    fn the_cache_holds_about_its_budget_and_keeps_what_is_read_again() {
        let size = stored(1).len();
        // Room for ~10 views per generation.
        let cache = ViewCache::new(20 * size);
        let mut decodings = 0;
        for number in 0..1000 {
            read(
                &cache,
                &format!("broker:BE:{number}"),
                &stored(number),
                &mut decodings,
            );
            // The first view is read after every other one: it never ages out.
            read(&cache, "broker:BE:0", &stored(0), &mut decodings);
            let generations = cache.generations.lock().unwrap();
            let (current, previous) = &*generations;
            assert!(current.bytes + previous.bytes <= 20 * size + size);
            assert_eq!(
                current.bytes + previous.bytes,
                current
                    .views
                    .values()
                    .chain(previous.views.values())
                    .map(|c| c.bytes.len())
                    .sum::<usize>()
            );
        }
        assert_eq!(
            decodings, 1000,
            "one decoding per new view, none for the view read again"
        );
        // An old one was dropped and is decoded again.
        read(&cache, "broker:BE:5", &stored(5), &mut decodings);
        assert_eq!(decodings, 1001);
    }

    #[test]
    fn a_zero_budget_or_an_oversized_view_is_decoded_every_time() {
        for cache in [ViewCache::new(0), ViewCache::new(stored(1).len())] {
            let mut decodings = 0;
            read(&cache, "broker:BE:1", &stored(1), &mut decodings);
            read(&cache, "broker:BE:1", &stored(1), &mut decodings);
            assert_eq!(decodings, 2);
        }
    }

    #[test]
    fn a_view_that_does_not_decode_is_an_error_and_is_not_kept() {
        let cache = ViewCache::new(1 << 20);
        let bad = b"{\"view\":\"broker\"}";
        for _ in 0..2 {
            let result = cache.view("broker:BE:1", bad, || {
                crate::projections::decode("broker:BE:1", bad)
            });
            assert!(matches!(result, Err(StoreError::Corrupt(_))));
        }
        let generations = cache.generations.lock().unwrap();
        assert!(generations.0.views.is_empty() && generations.1.views.is_empty());
    }
}
