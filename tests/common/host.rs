//! Reading the host the way a test checks a tool against it: running a program for its output,
//! and a lock for tests whose host changes (loop devices, sockets) would show up half-way in
//! another test's comparison.

use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

/// Run `cmd` with `args` to completion: its stdout, or why it did not succeed (could not start,
/// or a failing exit with its stderr), so a test can skip a host without the program.
pub fn output(cmd: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Tests of one binary that change the host or compare lists of it (devices, sockets) run one at
/// a time: what one makes would show up half-way in another's comparison. A test that panics
/// while holding it does not stop the others (the poison is ignored).
pub fn host_lock() -> MutexGuard<'static, ()> {
    static L: Mutex<()> = Mutex::new(());
    L.lock().unwrap_or_else(|e| e.into_inner())
}

/// Run `cmd` to completion; it must exit successfully (else the test fails with its stderr).
/// Its output, for the test to read stdout.
pub fn succeed(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Whether this test may build its own namespaces: it runs as root and `unshare FLAGS true`
/// works here (a container may forbid it even to root). A test that needs them skips otherwise.
pub fn unshare_works(flags: &[&str]) -> bool {
    super::euid_is_root()
        && Command::new("unshare")
            .args(flags)
            .arg("true")
            .status()
            .is_ok_and(|s| s.success())
}
