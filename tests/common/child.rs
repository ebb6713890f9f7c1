//! A child process the test starts (a `sleep` to look at, a planted command line) that must not
//! outlive the test: killed and reaped on drop, pass or fail, so no stray process or zombie is
//! left for the next test's process lists.

use std::process::{Child, Command, Stdio};

/// A child killed and reaped on drop.
pub struct Reaped(pub Child);

impl Reaped {
    /// Spawn `cmd` with stdin, stdout and stderr on /dev/null.
    pub fn spawn(cmd: &mut Command) -> Reaped {
        Reaped(
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
