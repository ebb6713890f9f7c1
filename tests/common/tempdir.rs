//! The one scratch-directory helper of the integration tests and the benchmarks (`tests/common`
//! re-exports it; the examples, which cannot use `tests/common` because it needs the test-only
//! `CARGO_BIN_EXE_sysgate`, include this file by path). Unit tests have `src/testdir.rs`.
//!
//! Each directory is unique per process and per call, created fresh under the system temp
//! directory and removed on drop. [`TempDir::new`] makes it private (0700): config, key and log
//! files below it pass sysgate's parent-directory rule (owned by the user the test runs as, not
//! group- or world-writable, and /tmp above it is a root-owned sticky directory).
//! [`TempDir::traversable`] makes it 0755 instead, for a test that runs sysgate as another user,
//! which must be able to reach the files below it (still not writable by anyone else).
#![allow(
    dead_code,
    clippy::unwrap_used,
    reason = "shared by test binaries and benchmarks that each use part of it; a scratch directory \
              that cannot be made stops the run"
)]

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// A scratch directory removed on drop.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A private (0700) directory whose name holds `tag`.
    pub fn new(tag: &str) -> TempDir {
        TempDir::with_mode(tag, 0o700)
    }

    /// A directory any user can traverse (0755), for sysgate running as another user.
    pub fn traversable(tag: &str) -> TempDir {
        TempDir::with_mode(tag, 0o755)
    }

    fn with_mode(tag: &str, mode: u32) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "sysgate-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        TempDir(p)
    }

    /// `name` inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
