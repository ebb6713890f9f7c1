#![forbid(unsafe_code)]
//! Starting a child (on the spawner thread) and capturing it (on the caller's thread): both
//! pipes and the child's pidfd polled together, byte caps, the deadline and cancellation, the
//! whole process group killed, the child reaped with its resource use.

use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use super::{Argv, Executable, Settings};
use crate::sync::lock;
use crate::sys::child::{self as sys_child, IoClass, Reaped, Resource, Sandbox};

/// The fixed environment of every child.
pub const CHILD_ENV: [(&str, &str); 3] = [
    ("LC_ALL", "C"),
    ("LANG", "C"),
    ("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
];

/// Soft and hard rlimits for every child: CPU seconds (a backstop; the deadline comes first),
/// the largest file it may write, no core files.
const CPU_SECONDS: u64 = 30;
const FILE_SIZE_BYTES: u64 = 1 << 20;
/// Address space for [`Profile::Reader`](super::Profile::Reader) programs. Go programs reserve
/// far more address space than they use, so networked ones get none. There is no
/// `RLIMIT_NPROC`: it counts every process of the user (sysgate's own threads included), not
/// the child's, and root ignores it; the process-group kill bounds what a child leaves behind.
const READER_ADDRESS_SPACE: u64 = 2 << 30;

/// How long killed processes get to go away before the capture stops waiting for them.
const KILL_GRACE: Duration = Duration::from_secs(2);
/// How often the capture looks at the cancellation flag while the child is quiet.
const CANCEL_POLL: Duration = Duration::from_millis(20);

/// Byte caps for what the child writes; beyond them output is read and dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub stdout: usize,
    pub stderr: usize,
    /// Stop after this many complete lines of stdout: the rest of stdout is not kept, the
    /// group is killed, and [`Finished::line_limit_reached`] is set (for programs that print
    /// records oldest first and have no "first N" option).
    pub stdout_lines: Option<usize>,
}

impl Default for Caps {
    /// 4 MiB of stdout, 64 KiB of stderr, no line limit.
    fn default() -> Caps {
        Caps {
            stdout: 4 << 20,
            stderr: 64 << 10,
            stdout_lines: None,
        }
    }
}

/// Why the capture stopped a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    Deadline,
    Cancelled,
}

/// What a finished child left.
#[derive(Debug)]
pub struct Finished {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// More was written than the cap kept (the rest was read and dropped).
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    /// Set when the capture killed the child (its status is then the SIGKILL).
    pub stopped: Option<Stopped>,
    /// `Caps::stdout_lines` lines were read; the child was then killed (not an error).
    pub line_limit_reached: bool,
    pub record: ChildRecord,
}

impl Finished {
    /// Exited with status 0 and was not stopped.
    pub fn success(&self) -> bool {
        self.stopped.is_none() && self.record.exit_code == Some(0)
    }

    /// The first line of stderr, cut to 300 characters (lossy UTF-8): what error messages quote.
    pub fn stderr_line(&self) -> String {
        let text = String::from_utf8_lossy(&self.stderr);
        let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        crate::error::echo(line.trim(), 300)
    }
}

/// What the audit records about one child: the call's `children` field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChildRecord {
    pub program: &'static str,
    pub path: String,
    pub pid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// `deadline`, `cancelled` or `line_limit` when sysgate killed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<&'static str>,
    pub user_ms: u64,
    pub system_ms: u64,
    pub max_rss_kib: u64,
    pub stdout_bytes: u64,
    pub stderr_bytes: u64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    pub duration_ms: u64,
}

/// The spawner thread's requests: a fully built command, and where to send the child.
type Request = (Command, SyncSender<io::Result<Child>>);

/// Start `cmd` on the spawner thread. A child's `PR_SET_PDEATHSIG` fires when the *thread*
/// that forked it exits; the spawner lives as long as the process, so children die with the
/// process and not with a worker thread.
fn spawn_on_spawner(cmd: Command) -> io::Result<Child> {
    static SPAWNER: OnceLock<io::Result<std::sync::Mutex<SyncSender<Request>>>> = OnceLock::new();
    let tx = SPAWNER
        .get_or_init(|| {
            let (tx, rx) = sync_channel::<Request>(0);
            std::thread::Builder::new()
                .name("sysgate-spawner".into())
                .spawn(move || spawner(rx))
                .map(|_| std::sync::Mutex::new(tx))
        })
        .as_ref()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot start the spawner thread: {e}")))?;
    let (reply_tx, reply_rx) = sync_channel(1);
    let gone = || io::Error::other("the spawner thread is gone");
    lock(tx).send((cmd, reply_tx)).map_err(|_| gone())?;
    reply_rx.recv().map_err(|_| gone())?
}

fn spawner(rx: Receiver<Request>) {
    for (mut cmd, reply) in rx {
        let _ = reply.send(cmd.spawn());
    }
}

/// Build the command for `exe`: the checked file by descriptor, `argv[0]` its name, a cleared
/// environment plus [`CHILD_ENV`], stdin `/dev/null`, stdout and stderr piped, the sandbox.
#[expect(
    clippy::disallowed_methods,
    reason = "exec is the one module that starts processes (DESIGN, import rule 2), and this is its one Command"
)]
fn command(exe: &Executable, argv: &Argv, settings: &Settings) -> io::Result<Command> {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(exe.exec_path());
    cmd.arg0(exe.name())
        .args(argv.args())
        .env_clear()
        .envs(CHILD_ENV)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut rlimits = vec![
        (Resource::Cpu, CPU_SECONDS),
        (Resource::FileSize, FILE_SIZE_BYTES),
        (Resource::Core, 0),
    ];
    if exe.profile() == super::Profile::Reader {
        rlimits.push((Resource::AddressSpace, READER_ADDRESS_SPACE));
    }
    let sandbox = Sandbox {
        nice: settings.nice_level,
        io_class: match settings.io_priority {
            super::IoPriority::Idle => IoClass::Idle,
            super::IoPriority::BestEffort => IoClass::BestEffortLowest,
        },
        rlimits,
        seccomp: super::seccomp::filter(exe.profile()),
    };
    sys_child::install(&mut cmd, &sandbox)?;
    Ok(cmd)
}

/// One output pipe being read.
struct Stream<R> {
    pipe: Option<R>,
    kept: Vec<u8>,
    cap: usize,
    total: u64,
    /// Complete lines still wanted (`None`: no line limit).
    lines_left: Option<usize>,
}

impl<R: Read + AsFd> Stream<R> {
    fn new(pipe: Option<R>, cap: usize, lines: Option<usize>) -> Self {
        Stream {
            pipe,
            kept: Vec::new(),
            cap,
            total: 0,
            lines_left: lines,
        }
    }

    fn line_limit_reached(&self) -> bool {
        self.lines_left == Some(0)
    }

    fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.pipe.as_ref().map(AsFd::as_fd)
    }

    /// One read (poll said it will not block): keep up to the cap, drop the rest, close at EOF.
    fn read_some(&mut self, buf: &mut [u8]) {
        let Some(pipe) = self.pipe.as_mut() else {
            return;
        };
        match pipe.read(buf) {
            Ok(0) => self.pipe = None,
            Ok(n) => {
                self.total += n as u64;
                let room = self.cap.saturating_sub(self.kept.len());
                let mut take = n.min(room);
                if let Some(left) = self.lines_left.as_mut() {
                    for (i, _) in buf[..take].iter().enumerate().filter(|(_, b)| **b == b'\n') {
                        *left -= 1;
                        if *left == 0 {
                            take = i + 1;
                            self.pipe = None; // nothing more is wanted
                            break;
                        }
                    }
                }
                self.kept.extend_from_slice(&buf[..take]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => self.pipe = None,
        }
    }

    fn truncated(&self) -> bool {
        self.total > self.kept.len() as u64
    }
}

/// Run `exe` with `argv` in the sandbox and capture it until it exits, `deadline` passes or
/// `cancelled()` says so. Either of the last two kills the whole process group; so does the
/// child's own exit (whatever it left running in its group is killed before it is reaped), so
/// no process of the call outlives it. An error means nothing ran (or, rarely, that the child
/// could not be watched; it is then killed).
pub fn run(
    exe: &Executable,
    argv: &Argv,
    settings: &Settings,
    deadline: Instant,
    cancelled: &(dyn Fn() -> bool + Sync),
    caps: Caps,
) -> io::Result<Finished> {
    let started = Instant::now();
    let cmd = command(exe, argv, settings)?;
    let mut child = spawn_on_spawner(cmd)?;
    let pid = child.id();
    let pidfd = match sys_child::pidfd_open(pid) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = sys_child::kill_group(pid);
            let _ = sys_child::wait4(pid);
            return Err(e);
        }
    };
    let mut out = Stream::new(child.stdout.take(), caps.stdout, caps.stdout_lines);
    let mut err = Stream::new(child.stderr.take(), caps.stderr, None);
    let mut buf = [0u8; 16 * 1024];
    let mut stopped = None;
    let mut exited = false;
    // Set once the group is killed: from then on, wait at most KILL_GRACE.
    let mut killed_at: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if killed_at.is_none() {
            let why = if cancelled() {
                Some(Stopped::Cancelled)
            } else if now >= deadline {
                Some(Stopped::Deadline)
            } else {
                None
            };
            if let Some(why) = why {
                stopped = Some(why);
                let _ = sys_child::kill_group(pid);
                killed_at = Some(now);
            }
        }
        if exited && out.pipe.is_none() && err.pipe.is_none() {
            break;
        }
        let wait_until = match killed_at {
            Some(t) => t + KILL_GRACE,
            None => deadline.min(now + CANCEL_POLL),
        };
        if killed_at.is_some() && now >= wait_until {
            break; // a process stuck in the kernel: stop reading, reap below (or hand it off)
        }
        let mut fds: [Option<BorrowedFd<'_>>; 3] = [out.fd(), err.fd(), None];
        if !exited {
            fds[2] = Some(pidfd.as_fd());
        }
        let live: Vec<(usize, BorrowedFd<'_>)> = fds
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.map(|f| (i, f)))
            .collect();
        let just_fds: Vec<BorrowedFd<'_>> = live.iter().map(|(_, f)| *f).collect();
        let ready = sys_child::poll_readable(&just_fds, wait_until.saturating_duration_since(now))?;
        let mut which = [false; 3];
        for (bit, (i, _)) in live.iter().enumerate() {
            which[*i] = ready & (1 << bit) != 0;
        }
        drop(just_fds);
        drop(live);
        if which[0] {
            out.read_some(&mut buf);
            if out.line_limit_reached() && killed_at.is_none() {
                let _ = sys_child::kill_group(pid);
                killed_at = Some(Instant::now());
            }
        }
        if which[1] {
            err.read_some(&mut buf);
        }
        if which[2] {
            exited = true;
            // The leader is gone; anything it left in its group goes with it, and its pipes
            // then reach end of file even if a grandchild held them.
            let _ = sys_child::kill_group(pid);
            if killed_at.is_none() {
                killed_at = Some(Instant::now());
            }
        }
    }
    let reaped = if exited {
        sys_child::wait4(pid)?
    } else {
        // Not dead within the grace period (stuck in the kernel): reap it on a thread of its
        // own so that this call can answer.
        let _ = std::thread::Builder::new()
            .name("sysgate-reaper".into())
            .spawn(move || sys_child::wait4(pid));
        Reaped {
            code: None,
            signal: Some(libc::SIGKILL),
            user_time: Duration::ZERO,
            system_time: Duration::ZERO,
            max_rss_kib: 0,
        }
    };
    let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let record = ChildRecord {
        program: exe.name(),
        path: exe.path().display().to_string(),
        pid,
        exit_code: reaped.code,
        signal: reaped.signal,
        stopped: match stopped {
            Some(Stopped::Deadline) => Some("deadline"),
            Some(Stopped::Cancelled) => Some("cancelled"),
            None if out.line_limit_reached() => Some("line_limit"),
            None => None,
        },
        user_ms: ms(reaped.user_time),
        system_ms: ms(reaped.system_time),
        max_rss_kib: reaped.max_rss_kib,
        stdout_bytes: out.total,
        stderr_bytes: err.total,
        truncated: out.truncated() || err.truncated(),
        duration_ms: ms(started.elapsed()),
    };
    let line_limit_reached = out.line_limit_reached();
    Ok(Finished {
        stdout_truncated: out.truncated(),
        stderr_truncated: err.truncated(),
        stdout: out.kept,
        stderr: err.kept,
        stopped,
        line_limit_reached,
        record,
    })
}
