#![forbid(unsafe_code)]
//! The program table: which programs sysgate may run, where each may live, and the check that
//! turns a candidate path into an [`Executable`].

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::seccomp::Profile;
use crate::error::ToolError;

/// Every program sysgate may run. Nothing else can be started: [`super::run`] takes an
/// [`Executable`], which only [`Program::find`] (or the test-only checker) hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Program {
    Journalctl,
    Systemctl,
    DpkgQuery,
    Rpm,
    Ps,
    Docker,
    Ssh,
}

impl Program {
    pub const ALL: [Program; 7] = [
        Program::Journalctl,
        Program::Systemctl,
        Program::DpkgQuery,
        Program::Rpm,
        Program::Ps,
        Program::Docker,
        Program::Ssh,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Program::Journalctl => "journalctl",
            Program::Systemctl => "systemctl",
            Program::DpkgQuery => "dpkg-query",
            Program::Rpm => "rpm",
            Program::Ps => "ps",
            Program::Docker => "docker",
            Program::Ssh => "ssh",
        }
    }

    /// Where the program may be, in order of preference. Absolute; the first that passes
    /// [`Executable::check`] is used.
    pub fn candidates(self) -> &'static [&'static str] {
        match self {
            Program::Journalctl => &["/usr/bin/journalctl", "/bin/journalctl"],
            Program::Systemctl => &["/usr/bin/systemctl", "/bin/systemctl"],
            Program::DpkgQuery => &["/usr/bin/dpkg-query"],
            Program::Rpm => &["/usr/bin/rpm", "/bin/rpm"],
            Program::Ps => &["/usr/bin/ps", "/bin/ps"],
            Program::Docker => &["/usr/bin/docker", "/usr/local/bin/docker"],
            Program::Ssh => &["/usr/bin/ssh"],
        }
    }

    /// The seccomp profile it runs under.
    pub fn profile(self) -> Profile {
        match self {
            Program::Docker | Program::Ssh => Profile::Networked,
            _ => Profile::Reader,
        }
    }

    /// Whether the program reads `--` as the end of its options (procps `ps` does not).
    pub fn accepts_double_dash(self) -> bool {
        !matches!(self, Program::Ps)
    }

    /// The checked executable, resolved once per process (see [`table`]), or why it is missing.
    pub fn find(self) -> Result<&'static Executable, ToolError> {
        match &table()[self as usize].found {
            Ok(e) => Ok(e),
            Err(_) => Err(ToolError::Unavailable(self.missing_text())),
        }
    }

    /// One sentence: the program is missing, and where it was looked for.
    pub fn missing_text(self) -> String {
        format!(
            "{} is not installed where sysgate looks for it (a root-owned executable at {}, not \
             writable by group or others)",
            self.name(),
            self.candidates().join(" or ")
        )
    }
}

/// A program file that passed [`Executable::check`], held open: it is executed through
/// `/proc/self/fd/N`, so the file run is the file checked, whatever happens to its path after.
#[derive(Debug)]
pub struct Executable {
    name: &'static str,
    path: PathBuf,
    profile: Profile,
    /// Opened with `O_PATH | O_NOFOLLOW` (close-on-exec: the kernel opens the file for
    /// `execve` before it closes the child's close-on-exec descriptors).
    file: File,
}

impl Executable {
    /// Open `path` without following a final symlink, and check the open handle: a regular
    /// file, owned by root, executable, and not writable by group or others. Anyone who could
    /// write it could choose what sysgate runs.
    fn check(name: &'static str, path: &Path, profile: Profile) -> Result<Executable, String> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_NOFOLLOW)
            .open(path)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ELOOP) => format!("{} is a symbolic link", path.display()),
                _ => format!("{}: {e}", path.display()),
            })?;
        let meta = file
            .metadata()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let mode = meta.mode() & 0o7777;
        // With O_PATH, O_NOFOLLOW opens a final symlink itself rather than failing.
        if meta.file_type().is_symlink() {
            return Err(format!("{} is a symbolic link", path.display()));
        }
        if !meta.file_type().is_file() {
            return Err(format!("{} is not a regular file", path.display()));
        }
        if meta.uid() != 0 {
            return Err(format!(
                "{} is owned by uid {} (required: root)",
                path.display(),
                meta.uid()
            ));
        }
        if mode & 0o022 != 0 {
            return Err(format!(
                "{} has mode {mode:04o} (writable by group or others)",
                path.display()
            ));
        }
        if mode & 0o111 == 0 {
            return Err(format!(
                "{} has mode {mode:04o} (not executable)",
                path.display()
            ));
        }
        Ok(Executable {
            name,
            path: path.to_path_buf(),
            profile,
            file,
        })
    }

    /// For tests and benchmarks only (reached through `sysgate::testing`): check any path as
    /// [`Program::find`] checks its candidates. No config or tool can name a path here, so the
    /// server's binary only ever runs the table's programs.
    pub fn check_for_testing(
        name: &'static str,
        path: &Path,
        profile: Profile,
    ) -> Result<Executable, String> {
        Executable::check(name, path, profile)
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The path it was found at (what the audit and `sysgate tools` show).
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The path `execve` is given: the checked file itself.
    pub(super) fn exec_path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", self.file.as_raw_fd()))
    }
}

/// One row of the resolved table.
#[derive(Debug)]
pub struct Resolved {
    pub program: Program,
    /// The executable, or why each candidate was refused.
    pub found: Result<Executable, Vec<String>>,
}

/// The resolved table, in [`Program::ALL`] order: each program's candidates opened and checked
/// once (an open and an fstat each), on first use. `cli` resolves it at start-up.
pub fn table() -> &'static [Resolved] {
    static TABLE: OnceLock<Vec<Resolved>> = OnceLock::new();
    TABLE.get_or_init(|| Program::ALL.iter().map(|&p| resolve(p)).collect())
}

fn resolve(program: Program) -> Resolved {
    let mut refused = Vec::new();
    for c in program.candidates() {
        match Executable::check(program.name(), Path::new(c), program.profile()) {
            Ok(e) => {
                return Resolved {
                    program,
                    found: Ok(e),
                };
            }
            Err(why) => refused.push(why),
        }
    }
    Resolved {
        program,
        found: Err(refused),
    }
}

/// What `sysgate tools` and `sysgate check-config` print: one line per program.
pub fn listing() -> String {
    let mut out = String::from("programs:\n");
    for r in table() {
        match &r.found {
            Ok(e) => out.push_str(&format!(
                "  {:<11} {} (seccomp: {})\n",
                r.program.name(),
                e.path().display(),
                e.profile().name()
            )),
            Err(why) => out.push_str(&format!(
                "  {:<11} missing: {}\n",
                r.program.name(),
                why.join("; ")
            )),
        }
    }
    out
}
