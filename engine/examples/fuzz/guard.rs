//! What turns a crash into a finding: the runner catches panics, a capped allocator turns an
//! absurd allocation into a report (instead of the kernel's OOM killer), and a watchdog
//! reports a case that runs past its time budget. Before each case runs, its input is
//! written to `OUT/current-TARGET.EXT`, so an abort or a hang leaves its reproducer behind.

use std::alloc::{GlobalAlloc, Layout, System};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The system allocator with a cap on live bytes.
pub struct Capped;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static CAP: AtomicUsize = AtomicUsize::new(usize::MAX);
/// Index of the case running now (u64::MAX: none).
static CASE: AtomicU64 = AtomicU64::new(u64::MAX);
/// When the current case started, in ms since the watchdog's start (0: idle).
static STARTED_MS: AtomicU64 = AtomicU64::new(0);

fn reserve(n: usize) -> bool {
    let before = LIVE.fetch_add(n, Ordering::Relaxed);
    if before.saturating_add(n) > CAP.load(Ordering::Relaxed) {
        LIVE.fetch_sub(n, Ordering::Relaxed);
        // Formatting integers does not allocate; stderr is unbuffered.
        eprintln!(
            "FINDING (abort): case {} asked for {n} bytes with {before} live (cap {}); \
             its input is the current-* file",
            CASE.load(Ordering::Relaxed),
            CAP.load(Ordering::Relaxed)
        );
        return false;
    }
    true
}

/// Reserves `size` bytes, then allocates with `alloc` (returning the reservation if it fails).
fn guarded(size: usize, alloc: impl FnOnce() -> *mut u8) -> *mut u8 {
    if !reserve(size) {
        return std::ptr::null_mut();
    }
    let p = alloc();
    if p.is_null() {
        LIVE.fetch_sub(size, Ordering::Relaxed);
    }
    p
}

unsafe impl GlobalAlloc for Capped {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        guarded(layout.size(), || unsafe { System.alloc(layout) })
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        guarded(layout.size(), || unsafe { System.alloc_zeroed(layout) })
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        if new_size > old && !reserve(new_size - old) {
            return std::ptr::null_mut();
        }
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            if new_size > old {
                LIVE.fetch_sub(new_size - old, Ordering::Relaxed);
            }
        } else if new_size < old {
            LIVE.fetch_sub(old - new_size, Ordering::Relaxed);
        }
        p
    }
}

/// Where the last panic happened (the hook records it; the payload has only the message).
static LAST_PANIC: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

/// Replaces the noisy default panic output with a record of the place.
pub fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        if let Ok(mut last) = LAST_PANIC.lock() {
            let place = info
                .location()
                .map_or(String::new(), |l| format!("{}:{}", l.file(), l.line()));
            // A panic inside std (overflow in `product`, `clamp`) is placed by its caller.
            let caller = std::backtrace::Backtrace::force_capture()
                .to_string()
                .lines()
                .find(|l| l.contains("engine/src/") && !l.contains(&place))
                .map(|l| format!(" (from {})", l.trim().trim_start_matches("at ")))
                .unwrap_or_default();
            *last = format!("{place}{caller}");
            if STARTED_MS.load(Ordering::Relaxed) == 0 {
                eprintln!("panic outside a case (a harness bug): {info} at {last}");
            }
        }
    }));
}

/// Caps live heap bytes; an allocation past the cap is reported and then aborts.
pub fn set_cap(bytes: usize) {
    CAP.store(bytes, Ordering::Relaxed);
}

/// Starts the watchdog: a case running longer than `hang` is reported and the process
/// exits with code 3 (its input stays in the current-* file).
pub fn start_watchdog(hang: Duration) -> Instant {
    let epoch = Instant::now();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(500));
            let started = STARTED_MS.load(Ordering::Relaxed);
            let now = epoch.elapsed().as_millis() as u64;
            if started > 0 && now.saturating_sub(started) > hang.as_millis() as u64 {
                eprintln!(
                    "FINDING (hang): case {} ran over {} s; its input is the current-* file",
                    CASE.load(Ordering::Relaxed),
                    hang.as_secs()
                );
                std::process::exit(3);
            }
        }
    });
    epoch
}

/// What one case did.
#[derive(Debug)]
pub enum Outcome {
    /// Rejected with an error (the expected answer to most mutated inputs).
    Rejected,
    /// Loaded or validated.
    Accepted,
    /// Validated, and one training step ran.
    Trained,
    /// Validated, but building the runtime or the step returned this error.
    StepError(String),
}

/// A fuzz target: makes case inputs and runs them.
pub trait Target {
    fn name(&self) -> &'static str;
    /// File extension of a saved input.
    fn extension(&self) -> &'static str;
    /// The input of one case, from its own seeded generator.
    fn generate(&mut self, rng: &mut hyphae::Rng) -> Vec<u8>;
    /// Runs one input; panics are the runner's business.
    fn execute(&mut self, input: &[u8]) -> Outcome;
}

/// Tallies of a campaign.
#[derive(Default)]
pub struct Stats {
    pub executions: u64,
    pub rejected: u64,
    pub accepted: u64,
    pub trained: u64,
    pub step_errors: std::collections::BTreeMap<String, u64>,
    pub panics: Vec<(u64, String, PathBuf)>,
    pub slow: Vec<(u64, f64)>,
    pub seconds: f64,
}

/// Runs cases `start..start + iters` of `target`; case `i` uses `Rng::derived(seed, i)`, so
/// `--seed S --start i --iters 1` reruns it alone.
pub struct Runner<'a> {
    pub out: &'a Path,
    pub seed: u64,
    pub slow: Duration,
    pub epoch: Instant,
}

impl Runner<'_> {
    pub fn run(&self, target: &mut dyn Target, start: u64, iters: u64) -> Stats {
        let mut stats = Stats::default();
        let began = Instant::now();
        for i in start..start.saturating_add(iters) {
            let mut rng = hyphae::Rng::derived(self.seed, i);
            let input = target.generate(&mut rng);
            self.execute(target, i, &input, &mut stats);
            if (i + 1 - start).is_multiple_of(10_000) {
                eprintln!(
                    "{}: {} cases, {:.0} s",
                    target.name(),
                    i + 1 - start,
                    began.elapsed().as_secs_f64()
                );
            }
        }
        stats.seconds = began.elapsed().as_secs_f64();
        stats
    }

    /// Runs one input (a generated case, or a saved one being replayed).
    pub fn execute(&self, target: &mut dyn Target, case: u64, input: &[u8], stats: &mut Stats) {
        let current = self
            .out
            .join(format!("current-{}.{}", target.name(), target.extension()));
        let _ = std::fs::write(&current, input);
        CASE.store(case, Ordering::Relaxed);
        let t0 = Instant::now();
        STARTED_MS.store(
            (self.epoch.elapsed().as_millis() as u64).max(1),
            Ordering::Relaxed,
        );
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| target.execute(input)));
        STARTED_MS.store(0, Ordering::Relaxed);
        let took = t0.elapsed();
        stats.executions += 1;
        if took > self.slow {
            stats.slow.push((case, took.as_secs_f64()));
        }
        match result {
            Ok(Outcome::Rejected) => stats.rejected += 1,
            Ok(Outcome::Accepted) => stats.accepted += 1,
            Ok(Outcome::Trained) => {
                stats.accepted += 1;
                stats.trained += 1;
            }
            Ok(Outcome::StepError(e)) => {
                stats.accepted += 1;
                *stats.step_errors.entry(kind_of(&e)).or_default() += 1;
            }
            Err(payload) => {
                let msg = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "non-string panic".into());
                let place = LAST_PANIC.lock().map(|p| p.clone()).unwrap_or_default();
                let msg = format!("{msg} at {place}");
                let saved = self.out.join(format!(
                    "panic-{}-seed{}-case{case}.{}",
                    target.name(),
                    self.seed,
                    target.extension()
                ));
                let _ = std::fs::write(&saved, input);
                stats.panics.push((case, msg, saved));
            }
        }
    }
}

/// An error message with its numbers blanked, so errors of one kind count together.
fn kind_of(message: &str) -> String {
    let mut kind: String = message
        .chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect();
    kind.truncate(kind.char_indices().nth(160).map_or(kind.len(), |(i, _)| i));
    kind
}

impl Stats {
    /// The campaign's figures, for the terminal and the README.
    pub fn report(&self, target: &str) -> String {
        let mut s = format!(
            "{target}: {} executions in {:.1} s ({:.0}/s): {} rejected, {} accepted, {} trained, \
             {} panics, {} slow\n",
            self.executions,
            self.seconds,
            self.executions as f64 / self.seconds.max(1e-9),
            self.rejected,
            self.accepted,
            self.trained,
            self.panics.len(),
            self.slow.len()
        );
        // Panics of one kind together: the count, and the first case's input.
        let mut kinds: Vec<(String, u64, &PathBuf)> = Vec::new();
        for (_, msg, path) in &self.panics {
            let kind = kind_of(msg);
            match kinds.iter_mut().find(|k| k.0 == kind) {
                Some(k) => k.1 += 1,
                None => kinds.push((kind, 1, path)),
            }
        }
        for (kind, n, path) in kinds {
            s += &format!("  PANIC ({n}×): {kind} (first input: {})\n", path.display());
        }
        let mut slow = self.slow.clone();
        slow.sort_by(|a, b| b.1.total_cmp(&a.1));
        for (case, secs) in slow.iter().take(5) {
            s += &format!("  slow case {case}: {secs:.2} s\n");
        }
        let mut errors: Vec<_> = self.step_errors.iter().collect();
        errors.sort_by(|a, b| b.1.cmp(a.1));
        for (e, n) in errors.iter().take(10) {
            s += &format!("  validated but the step failed ({n}×): {e}\n");
        }
        s
    }
}
