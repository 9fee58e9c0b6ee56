//! A job on its own thread whose one result the UI picks up when it is ready: loading a
//! dataset or computing a view must never block a frame.

use crossbeam_channel::{Receiver, TryRecvError, bounded};

/// One running job; [`Background::poll`] returns its result once, without waiting.
pub struct Background<T> {
    rx: Option<Receiver<Result<T, String>>>,
}

impl<T: Send + 'static> Background<T> {
    /// Runs `job` on a new thread named `name` (an error result, if no thread can be started).
    pub fn spawn(name: &str, job: impl FnOnce() -> Result<T, String> + Send + 'static) -> Self {
        let (tx, rx) = bounded(1);
        let run = move || {
            let _ = tx.send(job());
        };
        if std::thread::Builder::new()
            .name(name.to_string())
            .spawn(run)
            .is_err()
        {
            return Background {
                rx: Some(Self::failed("cannot start a thread")),
            };
        }
        Background { rx: Some(rx) }
    }

    fn failed(why: &str) -> Receiver<Result<T, String>> {
        let (tx, rx) = bounded(1);
        let _ = tx.send(Err(why.to_string()));
        rx
    }

    /// The result, the first time it is there; `None` while running or after it was taken.
    pub fn poll(&mut self) -> Option<Result<T, String>> {
        let rx = self.rx.as_ref()?;
        match rx.try_recv() {
            Ok(r) => {
                self.rx = None;
                Some(r)
            }
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                self.rx = None;
                Some(Err("the job ended without a result".into()))
            }
        }
    }

    /// Whether the result is still to come.
    pub fn running(&self) -> bool {
        self.rx.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_result_arrives_once() {
        let mut b = Background::spawn("t", || Ok(7));
        let t0 = std::time::Instant::now();
        let r = loop {
            if let Some(r) = b.poll() {
                break r;
            }
            assert!(t0.elapsed().as_secs() < 10);
            std::thread::yield_now();
        };
        assert_eq!(r, Ok(7));
        assert!(b.poll().is_none() && !b.running());
        let mut b: Background<u8> = Background::spawn("t", || panic!("boom"));
        while b.running() {
            if let Some(r) = b.poll() {
                assert!(r.is_err());
            }
        }
    }
}
