#![forbid(unsafe_code)]
//! The deadline timer: one thread that runs callbacks at deadlines. A call that completes first
//! cancels its entry, which frees the callback (and what it holds) at once; the heap of due times
//! is compacted whenever cancelled entries outnumber live ones, so it stays bounded by live calls.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Instant;

use crate::sync::{lock, wait_timeout};

type TimerFn = Box<dyn FnOnce() + Send + 'static>;

#[derive(Default)]
struct TimerState {
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    jobs: HashMap<u64, TimerFn>,
}

/// One thread that runs callbacks at deadlines. Callbacks must be quick (flag flips, one write).
pub struct Timer {
    state: Mutex<TimerState>,
    wake: Condvar,
    next_id: AtomicU64,
}

impl std::fmt::Debug for Timer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Timer")
    }
}

/// A handle to a scheduled callback.
#[derive(Debug, Clone, Copy)]
pub struct TimerId(u64);

impl Timer {
    pub fn start() -> Arc<Timer> {
        let t = Arc::new(Timer {
            state: Mutex::new(TimerState::default()),
            wake: Condvar::new(),
            next_id: AtomicU64::new(1),
        });
        let weak = Arc::downgrade(&t);
        let _ = thread::Builder::new()
            .name("sysgate-timer".into())
            .spawn(move || {
                while let Some(t) = weak.upgrade() {
                    if !t.tick() {
                        return;
                    }
                }
            });
        t
    }

    pub fn schedule(&self, at: Instant, f: impl FnOnce() + Send + 'static) -> TimerId {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut st = lock(&self.state);
        st.heap.push(Reverse((at, id)));
        st.jobs.insert(id, Box::new(f));
        self.wake.notify_one();
        TimerId(id)
    }

    /// Drop a callback that is no longer needed (its request finished first).
    pub fn cancel(&self, id: TimerId) {
        let mut st = lock(&self.state);
        st.jobs.remove(&id.0);
        // Keep the heap bounded by live jobs: discard cancelled entries at the top.
        while let Some(Reverse((_, top))) = st.heap.peek() {
            if st.jobs.contains_key(top) {
                break;
            }
            st.heap.pop();
        }
        // Entries cancelled below the top stay in the heap until their time; compact when they
        // outnumber the live ones, so a flood of cancelled calls cannot grow it.
        if st.heap.len() > 2 * st.jobs.len() + 64 {
            let TimerState { heap, jobs } = &mut *st;
            heap.retain(|Reverse((_, id))| jobs.contains_key(id));
        }
    }

    /// Wait for the next deadline (at most one second) and run what is due. False when the timer
    /// should stop (never today: the process exits instead).
    fn tick(&self) -> bool {
        let mut due = Vec::new();
        {
            let mut st = lock(&self.state);
            let now = Instant::now();
            let wait = match st.heap.peek() {
                Some(Reverse((at, _))) if *at <= now => None,
                Some(Reverse((at, _))) => Some((*at - now).min(std::time::Duration::from_secs(1))),
                None => Some(std::time::Duration::from_secs(1)),
            };
            if let Some(w) = wait {
                st = wait_timeout(&self.wake, st, w);
            }
            let now = Instant::now();
            while let Some(Reverse((at, id))) = st.heap.peek().copied() {
                if at > now {
                    break;
                }
                st.heap.pop();
                if let Some(f) = st.jobs.remove(&id) {
                    due.push(f);
                }
            }
        }
        for f in due {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;
    use std::time::Duration;

    #[test]
    fn timer_fires_in_order_and_cancel_works() {
        let timer = Timer::start();
        let (tx, rx) = channel();
        let now = Instant::now();
        let t2 = tx.clone();
        timer.schedule(now + Duration::from_millis(60), move || t2.send(2).unwrap());
        let t1 = tx.clone();
        timer.schedule(now + Duration::from_millis(20), move || t1.send(1).unwrap());
        let id = timer.schedule(now + Duration::from_millis(40), move || tx.send(3).unwrap());
        timer.cancel(id);
        assert_eq!(rx.recv_timeout(Duration::from_secs(2)).unwrap(), 1);
        assert_eq!(rx.recv_timeout(Duration::from_secs(2)).unwrap(), 2);
        assert!(rx.recv_timeout(Duration::from_millis(100)).is_err());
    }

    #[test]
    fn cancelled_entries_do_not_pile_up() {
        let timer = Timer::start();
        let far = Instant::now() + Duration::from_secs(600);
        for _ in 0..10_000 {
            let id = timer.schedule(far, || {});
            timer.cancel(id);
        }
        let st = lock(&timer.state);
        assert!(st.jobs.is_empty());
        assert!(
            st.heap.len() <= 2 * 64,
            "heap kept {} entries",
            st.heap.len()
        );
    }
}
