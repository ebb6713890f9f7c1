#![forbid(unsafe_code)]
//! The bounded worker pool. No async runtime: a fixed number of threads take jobs from a bounded
//! queue; a single timer thread (`timer.rs`) fires deadlines. A job that finishes and a deadline
//! that fires race through `Completion`, and exactly one of them answers.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;

use crate::sync::{lock, wait};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Fixed worker threads over a bounded queue.
///
/// A job goes to the worker that became idle most recently (a stack, not a rotation). A client
/// that calls one tool after another is then served by one warm thread whose stack pages and
/// per-thread caches (the redaction regexes keep one per thread) are already there, instead of
/// warming every worker in turn; the others stay cold until calls really overlap.
#[derive(Debug)]
pub struct Pool {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Bound on `State::queue`.
    queue_cap: usize,
}

struct State {
    /// Jobs waiting for a worker (only while every worker is busy).
    queue: VecDeque<Job>,
    /// Idle workers, the most recently idle last.
    idle: Vec<Arc<Slot>>,
    closed: bool,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("queued", &self.queue.len())
            .field("idle", &self.idle.len())
            .field("closed", &self.closed)
            .finish()
    }
}

/// One worker's hand-off point: a job placed here wakes exactly that worker.
#[derive(Default)]
struct Slot {
    job: Mutex<Handoff>,
    wake: Condvar,
}

#[derive(Default)]
enum Handoff {
    #[default]
    Empty,
    Job(Job),
    Close,
}

impl Pool {
    /// Start `threads` workers; at most `queue` jobs wait beyond those running.
    pub fn new(threads: usize, queue: usize) -> Pool {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                idle: Vec::new(),
                closed: false,
            }),
            queue_cap: queue,
        });
        for i in 0..threads.max(1) {
            let shared = Arc::clone(&shared);
            // A worker that cannot be spawned only shrinks the pool; the queue still bounds work.
            let _ = thread::Builder::new()
                .name(format!("sysgate-worker-{i}"))
                .spawn(move || worker(&shared));
        }
        Pool { shared }
    }

    /// Queue a job; false (and the job dropped) if the queue is full.
    #[must_use]
    pub fn submit(&self, job: impl FnOnce() + Send + 'static) -> bool {
        let job: Job = Box::new(job);
        let mut st = lock(&self.shared.state);
        if let Some(slot) = st.idle.pop() {
            drop(st);
            *lock(&slot.job) = Handoff::Job(job);
            slot.wake.notify_one();
            return true;
        }
        if st.closed || st.queue.len() >= self.shared.queue_cap {
            return false;
        }
        st.queue.push_back(job);
        true
    }
}

impl Drop for Pool {
    /// Idle workers exit now, busy ones after their job (queued jobs still run first).
    fn drop(&mut self) {
        let idle = {
            let mut st = lock(&self.shared.state);
            st.closed = true;
            std::mem::take(&mut st.idle)
        };
        for slot in idle {
            *lock(&slot.job) = Handoff::Close;
            slot.wake.notify_one();
        }
    }
}

fn worker(shared: &Shared) {
    let slot = Arc::new(Slot::default());
    loop {
        let job = {
            let mut st = lock(&shared.state);
            match st.queue.pop_front() {
                Some(job) => job,
                None if st.closed => return,
                None => {
                    st.idle.push(Arc::clone(&slot));
                    drop(st);
                    let mut h = lock(&slot.job);
                    loop {
                        match std::mem::take(&mut *h) {
                            Handoff::Job(job) => break job,
                            Handoff::Close => return,
                            Handoff::Empty => {
                                h = wait(&slot.wake, h);
                            }
                        }
                    }
                }
            }
        };
        // A panicking handler must not take the worker (or the server) down with it.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

/// Exactly-once completion of a request, shared by the worker, the timer and cancellation.
#[derive(Debug, Default)]
pub struct Completion(AtomicBool);

impl Completion {
    /// True for the first caller only.
    pub fn try_complete(&self) -> bool {
        !self.0.swap(true, Ordering::AcqRel)
    }

    pub fn is_complete(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;
    use std::time::{Duration, Instant};

    /// Occupies one worker until the returned sender sends (or is dropped).
    fn occupy_worker(pool: &Pool) -> std::sync::mpsc::Sender<()> {
        let (gate_tx, gate_rx) = channel::<()>();
        assert!(pool.submit(move || {
            let _ = gate_rx.recv();
        }));
        thread::sleep(Duration::from_millis(50));
        gate_tx
    }

    /// Every worker holds the shared state while it runs: wait (bounded) for all to exit.
    fn assert_workers_exit(shared: &std::sync::Weak<Shared>) {
        let end = Instant::now() + Duration::from_secs(2);
        while shared.upgrade().is_some() && Instant::now() < end {
            thread::sleep(Duration::from_millis(5));
        }
        assert!(shared.upgrade().is_none(), "a worker is still running");
    }

    #[test]
    fn pool_runs_jobs_and_refuses_when_full() {
        let pool = Pool::new(1, 1);
        let (done_tx, done_rx) = channel::<u32>();
        let gate_tx = occupy_worker(&pool);
        let d = done_tx.clone();
        assert!(pool.submit(move || d.send(1).unwrap())); // waits in the queue
        assert!(
            !pool.submit(move || done_tx.send(2).unwrap()),
            "queue of 1 must be full"
        );
        gate_tx.send(()).unwrap();
        assert_eq!(done_rx.recv_timeout(Duration::from_secs(2)).unwrap(), 1);
    }

    #[test]
    fn sequential_jobs_stay_on_the_most_recently_idle_worker() {
        let pool = Pool::new(5, 10);
        thread::sleep(Duration::from_millis(50)); // let every worker park
        let (tx, rx) = channel();
        let mut names = std::collections::BTreeSet::new();
        for _ in 0..50 {
            let tx = tx.clone();
            assert!(pool.submit(move || {
                tx.send(thread::current().name().unwrap_or("").to_string())
                    .unwrap();
            }));
            names.insert(rx.recv_timeout(Duration::from_secs(2)).unwrap());
            // The worker is idle again only after it has looked for more work.
            thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(
            names.len(),
            1,
            "one after another should reuse one worker: {names:?}"
        );
    }

    #[test]
    fn overlapping_jobs_use_every_worker() {
        let pool = Pool::new(3, 10);
        let barrier = Arc::new(std::sync::Barrier::new(4));
        let (tx, rx) = channel();
        for _ in 0..3 {
            let (b, tx) = (Arc::clone(&barrier), tx.clone());
            assert!(pool.submit(move || {
                b.wait(); // only returns once three jobs run at the same time
                tx.send(thread::current().name().unwrap_or("").to_string())
                    .unwrap();
            }));
        }
        barrier.wait();
        let names: std::collections::BTreeSet<String> = (0..3)
            .map(|_| rx.recv_timeout(Duration::from_secs(2)).unwrap())
            .collect();
        assert_eq!(names.len(), 3);
    }

    #[test]
    fn dropping_the_pool_stops_idle_workers_and_runs_queued_jobs() {
        let pool = Pool::new(1, 4);
        let (done_tx, done_rx) = channel::<u32>();
        let gate_tx = occupy_worker(&pool);
        assert!(pool.submit(move || done_tx.send(1).unwrap()));
        let shared = Arc::downgrade(&pool.shared);
        drop(pool);
        gate_tx.send(()).unwrap();
        assert_eq!(done_rx.recv_timeout(Duration::from_secs(2)).unwrap(), 1);
        assert_workers_exit(&shared);
    }

    #[test]
    fn dropping_an_idle_pool_stops_its_workers() {
        let pool = Pool::new(4, 4);
        thread::sleep(Duration::from_millis(20));
        let shared = Arc::downgrade(&pool.shared);
        drop(pool);
        assert_workers_exit(&shared);
    }

    #[test]
    fn completion_is_exactly_once() {
        let c = Completion::default();
        assert!(c.try_complete());
        assert!(!c.try_complete());
        assert!(c.is_complete());
    }
}
