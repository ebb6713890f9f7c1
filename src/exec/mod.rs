#![forbid(unsafe_code)]
//! The only place that starts processes (DESIGN, "Running programs").
//!
//! - [`Program`]: the fixed table. Each program's candidate paths are checked once per process
//!   ([`program::table`]): a candidate counts only if its open handle (`O_PATH | O_NOFOLLOW`,
//!   then `fstat`) is a root-owned regular executable not writable by group or others. The
//!   child executes that very handle through `/proc/self/fd/N`, so there is no window between
//!   check and exec in which a swapped path could change what runs.
//! - [`Argv`]: fixed option names (`&'static str`), numbers, and the validated newtypes of
//!   [`args`] only; caller values go after `--` where the program takes it, and none can start
//!   with `-`. There is no shell.
//! - The child (`sys::child`, the one `pre_exec` installer): a cleared environment plus
//!   [`run::CHILD_ENV`], stdin `/dev/null`, its own process group, `nice` and I/O priority from
//!   [`Settings`], rlimits (CPU, file size, core 0, address space for readers), no_new_privs,
//!   parent-death SIGKILL, inherited descriptors marked close-on-exec with `close_range`, and a
//!   seccomp filter for its [`Profile`] built here before `fork` ([`seccomp`]). Children are
//!   forked by one long-lived spawner thread.
//! - Capture ([`run::run`]): stdout, stderr and a pidfd polled together, with byte caps (output
//!   past a cap is read and dropped, and marked truncated); the deadline, a cancellation, or
//!   the child's own exit kills its whole process group; the child is reaped with `wait4`, and
//!   its status and resource use become a [`ChildRecord`] for the call's audit record.
//!
//! Tools run programs through [`CallContext::run`], which the call lifecycle gives them in
//! `tools::Ctx`.

pub mod args;
pub mod program;
pub mod run;
pub mod seccomp;

use std::sync::Mutex;
use std::time::Instant;

pub use args::{AbsPath, ArgValue, JournalCursor, PackageName, UnitName, UserName};
pub use program::{Executable, Program};
pub use run::{Caps, ChildRecord, Finished, Stopped};
pub use seccomp::Profile;

use crate::error::ToolError;
use crate::sync::lock;

/// The I/O scheduling class of children (`resources.io_priority`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IoPriority {
    /// Disk time only when nobody else wants it.
    #[default]
    Idle,
    /// The normal class at its lowest level.
    BestEffort,
}

impl IoPriority {
    pub fn name(self) -> &'static str {
        match self {
            IoPriority::Idle => "idle",
            IoPriority::BestEffort => "best-effort",
        }
    }
}

/// How children run (`resources.nice_level`, `resources.io_priority`) and where the journal
/// tool reads (`scopes.logs_system.journal_directory`). `config` fills it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// 0..=19; default 10.
    pub nice_level: i32,
    pub io_priority: IoPriority,
    /// `journalctl --directory=`; `None`: the system journal.
    pub journal_directory: Option<AbsPath>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            nice_level: 10,
            io_priority: IoPriority::Idle,
            journal_directory: None,
        }
    }
}

/// The arguments of one run: built only from fixed option names, numbers and validated values.
#[derive(Debug, Clone)]
pub struct Argv {
    program: Program,
    args: Vec<String>,
    operands: bool,
}

impl Argv {
    pub fn new(program: Program) -> Argv {
        Argv {
            program,
            args: Vec::new(),
            operands: false,
        }
    }

    /// A fixed option (`--no-pager`, `-o`, `json`). Options must come before any operand.
    pub fn flag(mut self, flag: &'static str) -> Argv {
        debug_assert!(!self.operands, "option {flag} after an operand");
        self.args.push(flag.to_string());
        self
    }

    /// `name=value` in one argument (`--unit=nginx.service`), so the value cannot be taken for
    /// an option of its own.
    pub fn opt(mut self, name: &'static str, value: &dyn ArgValue) -> Argv {
        debug_assert!(!self.operands, "option {name} after an operand");
        self.args.push(format!("{name}={}", value.as_arg()));
        self
    }

    /// `name=N` for a number the server computed.
    pub fn opt_num(mut self, name: &'static str, n: i64) -> Argv {
        debug_assert!(!self.operands, "option {name} after an operand");
        self.args.push(format!("{name}={n}"));
        self
    }

    /// `name=@SECONDS`: a time as seconds since the epoch (journalctl's `--since=@…`).
    pub fn opt_epoch(mut self, name: &'static str, secs: u64) -> Argv {
        debug_assert!(!self.operands, "option {name} after an operand");
        self.args.push(format!("{name}=@{secs}"));
        self
    }

    /// A positional value, after `--` (added before the first operand) where the program
    /// accepts it.
    pub fn operand(mut self, value: &dyn ArgValue) -> Argv {
        if !self.operands && self.program.accepts_double_dash() {
            self.args.push("--".to_string());
        }
        self.operands = true;
        self.args.push(value.as_arg().to_string());
        self
    }

    /// Arbitrary arguments, for the sandbox tests' shell scripts only.
    #[cfg(test)]
    pub(crate) fn raw_for_tests(args: &[&str]) -> Argv {
        Argv {
            program: Program::Journalctl,
            args: args.iter().map(|a| a.to_string()).collect(),
            operands: true,
        }
    }

    pub fn program(&self) -> Program {
        self.program
    }

    pub fn args(&self) -> &[String] {
        &self.args
    }
}

/// What a tool call gets for running programs: the settings, and the records of the children
/// it ran, which the call lifecycle writes into the call's audit record.
#[derive(Debug, Default)]
pub struct CallContext {
    pub settings: Settings,
    children: Mutex<Vec<ChildRecord>>,
}

impl CallContext {
    pub fn new(settings: Settings) -> CallContext {
        CallContext {
            settings,
            children: Mutex::new(Vec::new()),
        }
    }

    /// Run `argv`'s program until it exits, `deadline` passes or `cancelled()`; record it.
    /// Errors: the program is missing ([`ToolError::Unavailable`]), it could not be started,
    /// or it was stopped by the deadline or the client ([`ToolError::Cancelled`], which the
    /// lifecycle reports as the deadline or the cancellation). A non-zero exit is not an error
    /// here: the caller reads [`Finished::record`] and stderr and says what failed.
    pub fn run(
        &self,
        argv: &Argv,
        deadline: Instant,
        cancelled: &(dyn Fn() -> bool + Sync),
        caps: Caps,
    ) -> Result<Finished, ToolError> {
        let exe = argv.program().find()?;
        self.run_executable(exe, argv, deadline, cancelled, caps)
    }

    /// [`CallContext::run`] for an executable already in hand (tests check their own).
    pub fn run_executable(
        &self,
        exe: &Executable,
        argv: &Argv,
        deadline: Instant,
        cancelled: &(dyn Fn() -> bool + Sync),
        caps: Caps,
    ) -> Result<Finished, ToolError> {
        let finished = run::run(exe, argv, &self.settings, deadline, cancelled, caps)
            .map_err(|e| ToolError::Failed(format!("could not run {}: {e}", exe.name())))?;
        lock(&self.children).push(finished.record.clone());
        if finished.stopped.is_some() {
            return Err(ToolError::Cancelled);
        }
        Ok(finished)
    }

    /// The children run so far, for the audit record.
    pub fn children(&self) -> Vec<ChildRecord> {
        lock(&self.children).clone()
    }
}

#[cfg(test)]
mod tests;
