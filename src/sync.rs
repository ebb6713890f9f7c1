#![forbid(unsafe_code)]
//! Locking that survives a panic elsewhere.
//!
//! Handlers run under `catch_unwind`, so a panic can poison a lock another thread holds next.
//! Every critical section in sysgate leaves its data consistent (plain inserts, removals and
//! flag flips), so a poisoned lock's data is still used rather than the panic spreading.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Lock `m`, taking the data of a poisoned lock as it is.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
