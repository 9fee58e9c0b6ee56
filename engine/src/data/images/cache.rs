//! Decoded images kept between epochs, up to a byte cap.
//!
//! Images are kept in the order they are first decoded until the cap is reached; later
//! ones are decoded every time. Training visits samples in a fresh random order every
//! epoch, where evicting (LRU and the like) would only swap which images hit, at the same
//! hit rate (cap / set size), while costing a lock-protected list update per image.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub struct Cache {
    cap: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    bytes: usize,
    images: HashMap<usize, Arc<[u8]>>,
}

impl Cache {
    pub fn new(cap_bytes: usize) -> Cache {
        Cache {
            cap: cap_bytes,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The decoded image of file `id`, if kept.
    pub fn get(&self, id: usize) -> Option<Arc<[u8]>> {
        // A poisoned lock (a panic elsewhere while holding it) only loses caching.
        self.inner.lock().ok()?.images.get(&id).cloned()
    }

    /// Keeps `pixels` as file `id`'s image if it fits under the cap.
    pub fn put(&self, id: usize, pixels: &Arc<[u8]>) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.images.contains_key(&id) || inner.bytes + pixels.len() > self.cap {
            return;
        }
        inner.bytes += pixels.len();
        inner.images.insert(id, Arc::clone(pixels));
    }

    /// Bytes held and images held.
    pub fn usage(&self) -> (usize, usize) {
        self.inner
            .lock()
            .map(|i| (i.bytes, i.images.len()))
            .unwrap_or((0, 0))
    }

    pub fn cap(&self) -> usize {
        self.cap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_images_up_to_the_cap() {
        let c = Cache::new(10);
        let img = |n: usize| -> Arc<[u8]> { vec![1u8; n].into() };
        c.put(0, &img(4));
        c.put(1, &img(4));
        c.put(2, &img(4)); // would make 12 > 10
        c.put(3, &img(2));
        assert_eq!(c.usage(), (10, 3));
        assert!(c.get(2).is_none());
        assert_eq!(c.get(3).unwrap().len(), 2);
        c.put(0, &img(4)); // already held: not counted twice
        assert_eq!(c.usage(), (10, 3));
    }
}
