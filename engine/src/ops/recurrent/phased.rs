//! Phases of independent jobs on a few threads, one light hand-off per phase.
//!
//! A recurrence is a chain of small steps: at batch 32 and 256 hidden units a step is
//! ~100 µs of maths, and a rayon fork/join per step (a futex wake-up, then the pool
//! going back to sleep) costs a good part of that. Here the threads that take part stay
//! in one loop for the whole sequence and wait for each other by spinning on a counter.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Spins before a waiting thread starts yielding its core (~tens of µs: about a step).
const SPINS_BEFORE_YIELD: u32 = 1 << 11;

/// Runs `job(p, b)` for every phase `p < phases` and block `b < blocks`. Every job of
/// phase `p` starts after every job of phase `p − 1` has finished; the jobs of one phase
/// may run at once. Up to `workers` threads take jobs in order: the caller and
/// `workers − 1` rayon tasks. A task the pool starts late just finds fewer jobs left, and
/// a thread only ever waits for jobs that running threads have taken, so this cannot wait
/// on a thread the pool does not give. `job` must not use the rayon pool itself.
pub fn run_phased(phases: usize, blocks: usize, workers: usize, job: impl Fn(usize, usize) + Sync) {
    let total = phases * blocks;
    if workers <= 1 || blocks <= 1 {
        (0..total).for_each(|k| job(k / blocks, k % blocks));
        return;
    }
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let work = || {
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            if k >= total {
                break;
            }
            let phase = k / blocks;
            wait_until_done(&done, phase * blocks);
            // counted even if `job` panics, so no other thread waits forever for it
            let _finished = Finished(&done);
            job(phase, k % blocks);
        }
    };
    rayon::scope(|s| {
        for _ in 1..workers.min(blocks) {
            s.spawn(|_| work());
        }
        work();
    });
}

/// Marks one job done when dropped (on return or unwinding).
struct Finished<'a>(&'a AtomicUsize);

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Release);
    }
}

fn wait_until_done(done: &AtomicUsize, target: usize) {
    let mut spins = 0;
    while done.load(Ordering::Acquire) < target {
        if spins < SPINS_BEFORE_YIELD {
            spins += 1;
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

/// A buffer the jobs of [`run_phased`] share: each job writes its own disjoint parts and
/// reads parts written in earlier phases, which no job of the running phase writes.
pub struct Shared<'a> {
    ptr: *mut f32,
    len: usize,
    _buffer: PhantomData<&'a mut [f32]>,
}

// SAFETY: `Shared` hands out parts only through the unsafe methods below, whose callers
// promise that no two threads use overlapping parts with one of them writing.
unsafe impl Send for Shared<'_> {}
unsafe impl Sync for Shared<'_> {}

impl<'a> Shared<'a> {
    pub fn new(buffer: &'a mut [f32]) -> Self {
        Shared {
            ptr: buffer.as_mut_ptr(),
            len: buffer.len(),
            _buffer: PhantomData,
        }
    }

    /// `len` floats from `at`, to write.
    ///
    /// # Safety
    /// While the slice lives, no other thread reads or writes any of its floats.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn part(&self, at: usize, len: usize) -> &mut [f32] {
        assert!(at + len <= self.len, "Shared::part out of bounds");
        // SAFETY: in bounds (checked above); exclusive by the caller's promise
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(at), len) }
    }

    /// `len` floats from `at`, to read.
    ///
    /// # Safety
    /// While the slice lives, no thread writes any of its floats.
    pub unsafe fn read(&self, at: usize, len: usize) -> &[f32] {
        assert!(at + len <= self.len, "Shared::read out of bounds");
        // SAFETY: in bounds (checked above); not written by the caller's promise
        unsafe { std::slice::from_raw_parts(self.ptr.add(at), len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn every_job_runs_once_after_the_previous_phase() {
        for workers in [1, 2, 4] {
            let log = Mutex::new(Vec::new());
            let finished = (0..5).map(|_| AtomicUsize::new(0)).collect::<Vec<_>>();
            run_phased(5, 3, workers, |p, b| {
                if p > 0 {
                    assert_eq!(finished[p - 1].load(Ordering::SeqCst), 3);
                }
                log.lock().unwrap().push((p, b));
                finished[p].fetch_add(1, Ordering::SeqCst);
            });
            let mut log = log.into_inner().unwrap();
            log.sort();
            let all: Vec<_> = (0..5).flat_map(|p| (0..3).map(move |b| (p, b))).collect();
            assert_eq!(log, all);
        }
    }
}
