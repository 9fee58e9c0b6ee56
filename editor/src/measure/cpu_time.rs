//! CPU time actually spent by the editor's drawing threads, from Linux's per-thread
//! scheduler counters (`/proc/self/task/*/schedstat`, nanoseconds on a CPU).
//!
//! eframe's `cpu_usage` is wall time around a frame: while the trainer keeps both cores
//! busy it counts the time the UI thread waited for a core, and with software GL it
//! counts waits for Mesa's rasteriser thread. This counts what the UI thread and the
//! rasteriser really used, so a frame's cost can be compared with and without training.

use std::fs;

/// The threads that draw: the UI thread (the process's first, whose id is the process
/// id) and Mesa's software rasteriser threads (`llvmpipe-N`).
fn is_drawing_thread(tid: &str, comm: &str) -> bool {
    tid == std::process::id().to_string() || comm.starts_with("llvmpipe")
}

/// Nanoseconds on a CPU so far of the UI thread and of the rasteriser threads; `None`
/// where /proc is not there (not Linux).
pub fn drawing_threads_ns() -> Option<(u64, u64)> {
    let me = std::process::id().to_string();
    let (mut ui, mut raster) = (0u64, 0u64);
    for task in fs::read_dir("/proc/self/task").ok()?.flatten() {
        let path = task.path();
        let comm = fs::read_to_string(path.join("comm")).unwrap_or_default();
        let tid = task.file_name().to_string_lossy().to_string();
        if !is_drawing_thread(&tid, comm.trim()) {
            continue;
        }
        // A thread may end between listing and reading: it then adds nothing.
        let Ok(stat) = fs::read_to_string(path.join("schedstat")) else {
            continue;
        };
        let ns = (stat.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        if tid == me {
            ui += ns;
        } else {
            raster += ns;
        }
    }
    Some((ui, raster))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_rasteriser_threads_and_the_first_thread_only() {
        let me = std::process::id().to_string();
        assert!(is_drawing_thread(&me, "anything"));
        assert!(is_drawing_thread("1", "llvmpipe-0"));
        assert!(!is_drawing_thread("1", "hyphae-trainer"));
        // The harness's first thread has run by now; the tests' own threads are not it.
        if let Some((ui, _)) = drawing_threads_ns() {
            assert!(ui > 0, "the first thread's CPU time is read");
        } else if cfg!(target_os = "linux") {
            panic!("/proc is read on Linux");
        }
    }
}
