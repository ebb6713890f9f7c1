//! Children: the one `pre_exec` installer ([`install`]), and the calls that watch, stop and reap
//! a child (`pidfd_open`, `poll`, `killpg`, `wait4`). Only `exec` uses this module; it builds the
//! whole [`Sandbox`] (including the seccomp program) in safe code before `fork`; the code that runs
//! in the forked child makes system calls only: no allocation, no lock.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

use super::cerr;

/// One classic-BPF instruction of a seccomp program (`struct sock_filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// The resource limits a child may get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// CPU seconds (`RLIMIT_CPU`).
    Cpu,
    /// Largest file the child may write, in bytes (`RLIMIT_FSIZE`).
    FileSize,
    /// Core file size (`RLIMIT_CORE`).
    Core,
    /// Address space in bytes (`RLIMIT_AS`).
    AddressSpace,
}

impl Resource {
    fn raw(self) -> libc::c_int {
        // The constants' type differs between C libraries (glibc: an unsigned enum); every value
        // is a small non-negative number.
        (match self {
            Resource::Cpu => libc::RLIMIT_CPU,
            Resource::FileSize => libc::RLIMIT_FSIZE,
            Resource::Core => libc::RLIMIT_CORE,
            Resource::AddressSpace => libc::RLIMIT_AS,
        }) as libc::c_int
    }
}

/// I/O scheduling class (`ioprio_set(2)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoClass {
    /// Only when no other process wants the disk.
    Idle,
    /// The default class, at its lowest priority level (7).
    BestEffortLowest,
}

impl IoClass {
    /// `IOPRIO_PRIO_VALUE(class, data)`: the class in the top three of 16 bits.
    fn value(self) -> libc::c_int {
        const CLASS_SHIFT: libc::c_int = 13;
        match self {
            IoClass::Idle => 3 << CLASS_SHIFT,
            IoClass::BestEffortLowest => (2 << CLASS_SHIFT) | 7,
        }
    }
}

/// Everything the child sets up between `fork` and `exec`, decided by the parent.
#[derive(Debug, Clone)]
pub struct Sandbox {
    /// Nice value (0..=19). A parent already nicer than this keeps its own value.
    pub nice: i32,
    pub io_class: IoClass,
    /// Soft and hard limit, each.
    pub rlimits: Vec<(Resource, u64)>,
    /// The seccomp program; installed last, right before `execve`. Empty: none.
    pub seccomp: Vec<Insn>,
}

/// The most instructions a seccomp program may have (`BPF_MAXINSNS`).
pub const MAX_INSNS: usize = 4096;

/// Install the sandbox on `cmd` as its one `pre_exec` step. Also makes the child the leader of a
/// new process group (`process_group(0)`), so that [`kill_group`] reaches everything it starts.
/// Refuses a seccomp program longer than the kernel takes.
pub fn install(cmd: &mut Command, sandbox: &Sandbox) -> io::Result<()> {
    if sandbox.seccomp.len() > MAX_INSNS {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "seccomp program too long",
        ));
    }
    // Everything the child needs, converted to the kernel's types here, before fork.
    let filter: Box<[libc::sock_filter]> = sandbox
        .seccomp
        .iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect();
    let limits: Box<[(libc::c_int, libc::rlimit)]> = sandbox
        .rlimits
        .iter()
        .map(|&(r, v)| {
            let v = v as libc::rlim_t;
            (
                r.raw(),
                libc::rlimit {
                    rlim_cur: v,
                    rlim_max: v,
                },
            )
        })
        .collect();
    let nice = sandbox.nice.clamp(0, 19);
    let ioprio = sandbox.io_class.value();
    // The spawning thread's process: the child's parent once forked.
    let parent = std::process::id() as libc::pid_t;
    cmd.process_group(0);
    // SAFETY: the closure runs in the child between fork and exec, where only async-signal-safe
    // functions may be called. `child_setup` makes only raw system calls (prctl, getppid,
    // setpriority, syscall(ioprio_set / close_range), setrlimit, getrlimit, fcntl) and reads
    // `errno`; it allocates nothing, takes no lock, and only reads `filter` and `limits`, which
    // were built before fork and are owned by the closure.
    unsafe {
        cmd.pre_exec(move || child_setup(parent, nice, ioprio, &limits, &filter));
    }
    Ok(())
}

/// The child's side of [`install`]. Async-signal-safe: system calls only (see the SAFETY note
/// there). Each step fails the spawn with its `errno` rather than run a half-sandboxed child.
fn child_setup(
    parent: libc::pid_t,
    nice: libc::c_int,
    ioprio: libc::c_int,
    limits: &[(libc::c_int, libc::rlimit)],
    filter: &[libc::sock_filter],
) -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    cerr(unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        )
    })?;
    // The parent may have died before the line above: then no signal will ever come.
    // SAFETY: getppid has no preconditions.
    if unsafe { libc::getppid() } != parent {
        return Err(io::Error::from_raw_os_error(libc::ESRCH));
    }
    // SAFETY: setpriority with integer arguments only.
    if let Err(e) = cerr(unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) }) {
        // EACCES: the parent is already nicer than asked, and lowering needs privilege.
        if e.raw_os_error() != Some(libc::EACCES) {
            return Err(e);
        }
    }
    const IOPRIO_WHO_PROCESS: libc::c_long = 1;
    // SAFETY: ioprio_set takes three integers.
    cerr(unsafe {
        libc::syscall(
            libc::SYS_ioprio_set,
            IOPRIO_WHO_PROCESS,
            0 as libc::c_long,
            libc::c_long::from(ioprio),
        )
    })?;
    for (resource, lim) in limits {
        // SAFETY: `lim` points to a valid rlimit owned by the closure. The resource argument's
        // type differs between C libraries, hence the inferred cast of a small constant.
        cerr(unsafe { libc::setrlimit(*resource as _, lim) })?;
    }
    close_inherited()?;
    // SAFETY: prctl with integer arguments only.
    cerr(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1 as libc::c_ulong, 0, 0, 0) })?;
    if !filter.is_empty() {
        let prog = libc::sock_fprog {
            len: filter.len() as libc::c_ushort,
            filter: filter.as_ptr().cast_mut(),
        };
        // SAFETY: `prog` points to `filter`, which outlives the call; the kernel copies the
        // program. Its length was bounded by `install`. no_new_privs is set above, which the
        // kernel requires of an unprivileged caller.
        cerr(unsafe {
            libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER as libc::c_ulong,
                &prog as *const libc::sock_fprog as libc::c_ulong,
                0,
                0,
            )
        })?;
    }
    Ok(())
}

/// Mark every descriptor above stderr close-on-exec: one `close_range` call, or on kernels
/// before 5.11 an `fcntl` per descriptor up to the open-files limit. (CLOEXEC rather than closing
/// now: std's error pipe to the parent must stay open until `execve`.)
fn close_inherited() -> io::Result<()> {
    const CLOSE_RANGE_CLOEXEC: libc::c_long = 4;
    // SAFETY: close_range takes three integers and touches no memory of ours.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3 as libc::c_long,
            libc::c_long::from(u32::MAX),
            CLOSE_RANGE_CLOEXEC,
        )
    };
    match cerr(rc) {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EINVAL)) => {
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: `lim` is a valid out-pointer for the call's duration.
            cerr(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) })?;
            let top = lim.rlim_cur.min(1 << 20) as libc::c_int;
            for fd in 3..top {
                // SAFETY: fcntl on a number that may not be a descriptor only fails with EBADF.
                unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
            }
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// A descriptor that becomes readable when process `pid` (our unreaped child) exits.
pub fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes two integers and returns a new descriptor or -1.
    let fd = cerr(unsafe { libc::syscall(libc::SYS_pidfd_open, libc::c_long::from(pid), 0) })?;
    let fd = libc::c_int::try_from(fd)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "pidfd out of range"))?;
    // SAFETY: the kernel just returned this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `poll(2)` for input on up to 8 descriptors. Returns a bit per descriptor (bit `i` for
/// `fds[i]`) that is set when it is readable, hung up or in error: a read will not block.
/// A signal interrupting the wait counts as a timeout (no bits).
pub fn poll_readable(fds: &[BorrowedFd<'_>], timeout: Duration) -> io::Result<u8> {
    let mut set = [libc::pollfd {
        fd: -1,
        events: 0,
        revents: 0,
    }; 8];
    if fds.len() > set.len() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "too many fds"));
    }
    for (slot, fd) in set.iter_mut().zip(fds) {
        slot.fd = fd.as_raw_fd();
        slot.events = libc::POLLIN;
    }
    let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: `set` is a valid array of `fds.len()` pollfd entries for the call's duration.
    let rc = unsafe { libc::poll(set.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
    match cerr(rc) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(0),
        Err(e) => return Err(e),
    }
    let mut bits = 0u8;
    for (i, slot) in set.iter().take(fds.len()).enumerate() {
        if slot.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
            bits |= 1 << i;
        }
    }
    Ok(bits)
}

/// SIGKILL to every process of process group `pgid`. A group that is already gone is not an
/// error.
pub fn kill_group(pgid: u32) -> io::Result<()> {
    let pgid = libc::pid_t::try_from(pgid)
        .ok()
        .filter(|p| *p > 1)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad process group"))?;
    // SAFETY: killpg takes two integers; pgid > 1, so it never means "every process".
    match cerr(unsafe { libc::killpg(pgid, libc::SIGKILL) }) {
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
        other => other.map(|_| ()),
    }
}

/// How a reaped child ended, and what it used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reaped {
    /// The exit code, if it exited.
    pub code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    pub user_time: Duration,
    pub system_time: Duration,
    /// Peak resident set, in KiB.
    pub max_rss_kib: u64,
}

/// Reap child `pid` (blocking until it exits), with its resource use (`wait4(2)`).
pub fn wait4(pid: u32) -> io::Result<Reaped> {
    let pid = libc::pid_t::try_from(pid)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad pid"))?;
    let mut status: libc::c_int = 0;
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    loop {
        // SAFETY: `status` and `ru` are valid out-pointers for the call's duration.
        let rc = unsafe { libc::wait4(pid, &mut status, 0, ru.as_mut_ptr()) };
        match cerr(rc) {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    // SAFETY: wait4 succeeded, so the kernel filled the rusage (which was zeroed anyway).
    let ru = unsafe { ru.assume_init() };
    let tv = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    Ok(Reaped {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        signal: libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status)),
        user_time: tv(ru.ru_utime),
        system_time: tv(ru.ru_stime),
        max_rss_kib: u64::try_from(ru.ru_maxrss).unwrap_or(0),
    })
}

/// Clear `FD_CLOEXEC` on `fd`, so that a child would inherit it: the sandbox tests check that
/// the child's `close_range` catches such a descriptor.
#[cfg(test)]
pub fn make_inheritable(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor the caller borrows; F_SETFD takes an integer.
    cerr(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, 0) }).map(|_| ())
}
