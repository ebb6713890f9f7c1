//! The only module allowed `unsafe`: thin, safe wrappers over the few libc calls that have no safe
//! equivalent in `std`. Each wrapper validates what it hands to the kernel and returns owned data.
//! Every `unsafe` block carries a `// SAFETY:` comment; nothing here keeps pointers past a call.
//! `child` holds the one `pre_exec` installer and the calls that watch and reap children.

pub mod child;

use std::ffi::{CStr, CString};
use std::io;
use std::net::Ipv4Addr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The one conversion of a libc return value: `-1` means failure with `errno` set. Reading
/// `errno` allocates nothing, so this is async-signal-safe and `child`'s pre-exec code uses it.
fn cerr<T: MinusOne>(rc: T) -> io::Result<T> {
    if rc.is_minus_one() {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// Return types of libc calls that signal failure with `-1`.
trait MinusOne: Copy {
    fn is_minus_one(self) -> bool;
}

impl MinusOne for libc::c_int {
    fn is_minus_one(self) -> bool {
        self == -1
    }
}

impl MinusOne for libc::c_long {
    fn is_minus_one(self) -> bool {
        self == -1
    }
}

/// Flags for opening a log file read-only: never a controlling terminal, never blocking on a FIFO
/// or device that slipped in, closed on exec, and the last component never a symlink.
const LOG_OPEN_FLAGS: libc::c_int =
    libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY;

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

/// `openat2(2)` of `rel` under the directory `dir` with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
/// RESOLVE_NO_MAGICLINKS`: the kernel refuses any `..` that leaves `dir`, any absolute path and
/// any symlink on the way. Read-only, `O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC`. `ENOSYS` on kernels
/// before 5.6 (callers fall back to [`openat_nofollow`] per component).
pub fn openat2_beneath(dir: &std::fs::File, rel: &Path) -> io::Result<std::fs::File> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let c = c_path(rel)?;
    // SAFETY: all-zero is a valid `open_how` (no flags, no mode, no resolve bits); the struct is
    // `non_exhaustive`, so it is built zeroed and its public fields set.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = LOG_OPEN_FLAGS as u64;
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: `c` is NUL-terminated and outlives the call; `how` is a valid `open_how` whose size
    // is passed with it; `dir` is an open descriptor borrowed for the call.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            c.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = libc::c_int::try_from(fd)
        .map_err(|_| io::Error::other("openat2 returned an impossible descriptor"))?;
    // SAFETY: openat2 succeeded, so `fd` is a new open descriptor that nothing else owns.
    Ok(std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// `openat(2)` of one path component `name` under `dir`, read-only and `O_NOFOLLOW` (a symlink
/// fails with `ELOOP`); with `directory`, also `O_DIRECTORY`. For the component-wise walk where
/// `openat2` is missing.
pub fn openat_nofollow(
    dir: &std::fs::File,
    name: &std::ffi::OsStr,
    directory: bool,
) -> io::Result<std::fs::File> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    if name.as_bytes().contains(&b'/') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a path component contains `/`",
        ));
    }
    let c = c_path(Path::new(name))?;
    let flags = LOG_OPEN_FLAGS | if directory { libc::O_DIRECTORY } else { 0 };
    // SAFETY: `c` is NUL-terminated and outlives the call; `dir` is an open descriptor borrowed
    // for the call; no mode is read without O_CREAT.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: openat succeeded, so `fd` is a new open descriptor that nothing else owns.
    Ok(std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// The local time zone's offset from UTC, in seconds, at Unix time `t` (`localtime_r(3)`); 0 if
/// the C library cannot tell.
pub fn utc_offset(t: i64) -> i64 {
    let t = t as libc::time_t;
    let mut tm = std::mem::MaybeUninit::<libc::tm>::zeroed();
    // SAFETY: `t` and `tm` are valid for the call; localtime_r writes only into `tm`.
    let r = unsafe { libc::localtime_r(&t, tm.as_mut_ptr()) };
    if r.is_null() {
        return 0;
    }
    // SAFETY: localtime_r returned non-null, so it filled `tm` (which was zeroed anyway).
    let off: libc::c_long = unsafe { tm.assume_init() }.tm_gmtoff;
    // `c_long` is 32 bits on some targets, 64 on others: widen (never narrows).
    off as i64
}

/// Filesystem sizes from `statvfs(3)`, already multiplied out to bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsStats {
    pub total_bytes: u64,
    pub free_bytes: u64,
    pub avail_bytes: u64,
    pub total_inodes: u64,
    pub free_inodes: u64,
}

/// `statvfs(2)` on `path`. Blocking: callers that may hit a dead network mount run it on a
/// helper thread with a timeout (see `tools::core::disk`).
pub fn statvfs(path: &Path) -> io::Result<FsStats> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call; `st` points to writable
    // memory of the right size and alignment for `struct statvfs`.
    let rc = unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: statvfs returned 0, so the kernel filled the whole struct (and it was zeroed anyway).
    let st = unsafe { st.assume_init() };
    let frsize = if st.f_frsize > 0 {
        st.f_frsize
    } else {
        st.f_bsize
    };
    Ok(FsStats {
        total_bytes: st.f_blocks.saturating_mul(frsize),
        free_bytes: st.f_bfree.saturating_mul(frsize),
        avail_bytes: st.f_bavail.saturating_mul(frsize),
        total_inodes: st.f_files,
        free_inodes: st.f_ffree,
    })
}

fn sysconf(name: libc::c_int) -> Option<u64> {
    // SAFETY: sysconf has no memory-safety preconditions; it only reads a configuration value.
    let v = unsafe { libc::sysconf(name) };
    u64::try_from(v).ok().filter(|v| *v > 0)
}

/// Kernel clock ticks per second (`USER_HZ`), the unit of CPU times in `/proc`.
pub fn clock_ticks_per_second() -> u64 {
    sysconf(libc::_SC_CLK_TCK).unwrap_or(100)
}

/// The page size in bytes, the unit of RSS in `/proc/PID/statm`.
pub fn page_size() -> u64 {
    sysconf(libc::_SC_PAGESIZE).unwrap_or(4096)
}

/// The real user id of this process.
pub fn uid() -> u32 {
    // SAFETY: getuid cannot fail and has no preconditions.
    unsafe { libc::getuid() }
}

/// The effective user id of this process.
pub fn euid() -> u32 {
    // SAFETY: geteuid cannot fail and has no preconditions.
    unsafe { libc::geteuid() }
}

/// Set the file mode creation mask; returns the previous one.
pub fn set_umask(mask: u32) -> u32 {
    // SAFETY: umask only swaps a process attribute and cannot fail.
    unsafe { libc::umask(mask as libc::mode_t) as u32 }
}

/// Make this process non-dumpable: no core files, and other same-uid processes cannot ptrace it
/// or read its memory through /proc.
pub fn set_not_dumpable() -> io::Result<()> {
    // SAFETY: PR_SET_DUMPABLE takes an integer argument and touches no memory of ours.
    let rc = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0 as libc::c_ulong, 0, 0, 0) };
    if rc != 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Keep glibc's allocator to a single arena. By default glibc gives every thread that allocates
/// its own arena (up to eight per core), and the memory each worker frees stays parked in its
/// arena: with five workers that about doubles the resident set of a session. Tool calls are
/// short, so one arena costs no measurable contention (see docs/performance.md). Must run before
/// any thread starts. True if the allocator took the setting; false elsewhere (musl has no
/// per-thread arenas, so there is nothing to limit).
pub fn limit_malloc_arenas() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt takes two integers and only changes allocator tuning; M_ARENA_MAX is a
        // parameter glibc documents as settable at any time.
        unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

/// Set the core file size limit (soft and hard) to zero.
pub fn disable_core_dumps() -> io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit that outlives the call.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_CORE, &lim) };
    if rc != 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The supplementary group ids of this process.
pub fn groups() -> Vec<u32> {
    let mut buf = vec![0 as libc::gid_t; 256];
    // SAFETY: `buf` has room for `buf.len()` gids; getgroups writes at most that many.
    let n = unsafe { libc::getgroups(buf.len() as libc::c_int, buf.as_mut_ptr()) };
    match usize::try_from(n) {
        Ok(n) => {
            buf.truncate(n);
            buf
        }
        Err(_) => Vec::new(),
    }
}

/// Signals handled by the signal thread instead of asynchronous handlers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Hangup,
    Terminate,
}

fn handled_set() -> libc::sigset_t {
    let mut set = std::mem::MaybeUninit::<libc::sigset_t>::zeroed();
    // SAFETY: `set` points to writable sigset_t storage; sigemptyset/sigaddset only write to it
    // and cannot fail for these valid signal numbers.
    unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        libc::sigaddset(set.as_mut_ptr(), libc::SIGHUP);
        libc::sigaddset(set.as_mut_ptr(), libc::SIGTERM);
        libc::sigaddset(set.as_mut_ptr(), libc::SIGINT);
        set.assume_init()
    }
}

/// Block SIGHUP, SIGTERM and SIGINT in the calling thread. Called as the first statement of
/// `main`, before any thread exists, so every thread inherits the mask and only `wait_signal`
/// ever sees them: no asynchronous signal handler runs in this process.
pub fn block_signals() -> io::Result<()> {
    let set = handled_set();
    // SAFETY: `set` is an initialised sigset_t; passing a null old-set pointer is allowed.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if rc != 0 {
        Err(io::Error::from_raw_os_error(rc))
    } else {
        Ok(())
    }
}

/// Undo `block_signals` in the calling thread (before it starts any other thread).
pub fn unblock_signals() -> io::Result<()> {
    let set = handled_set();
    // SAFETY: `set` is an initialised sigset_t; passing a null old-set pointer is allowed.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
    if rc != 0 {
        Err(io::Error::from_raw_os_error(rc))
    } else {
        Ok(())
    }
}

/// Wait for one of the blocked signals (call from a dedicated thread).
pub fn wait_signal() -> Signal {
    let set = handled_set();
    loop {
        let mut sig: libc::c_int = 0;
        // SAFETY: `set` is initialised and `sig` is a valid out-pointer for the call's duration.
        let rc = unsafe { libc::sigwait(&set, &mut sig) };
        if rc == 0 {
            return if sig == libc::SIGHUP {
                Signal::Hangup
            } else {
                Signal::Terminate
            };
        }
    }
}

/// One IPv4 address of a network interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4IfAddr {
    pub interface: String,
    pub address: Ipv4Addr,
    pub prefix_len: u8,
}

/// Most list entries we walk; a host has far fewer, this only bounds a corrupt list.
const MAX_IFADDRS: usize = 65_536;

/// Frees the list `getifaddrs` allocated, on every path out of `ipv4_addresses`.
struct IfAddrs(*mut libc::ifaddrs);

impl Drop for IfAddrs {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the pointer came from a successful getifaddrs and is freed exactly once.
            unsafe { libc::freeifaddrs(self.0) };
        }
    }
}

/// The IPv4 addresses of all interfaces (`getifaddrs(3)`); `/proc` has no simple IPv4 list.
pub fn ipv4_addresses() -> io::Result<Vec<Ipv4IfAddr>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: `head` is a valid place for getifaddrs to store the list pointer.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let list = IfAddrs(head);
    let mut out = Vec::new();
    let mut cur = list.0.cast_const();
    let mut walked = 0;
    while !cur.is_null() && walked < MAX_IFADDRS {
        walked += 1;
        // SAFETY: `cur` is a non-null node of the list getifaddrs returned; the list stays
        // allocated until `list` drops at the end of this function.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next.cast_const();
        if ifa.ifa_name.is_null() || ifa.ifa_addr.is_null() {
            continue;
        }
        // SAFETY: ifa_addr is non-null and points to at least a `sockaddr` header.
        let family = unsafe { (*ifa.ifa_addr).sa_family };
        if i32::from(family) != libc::AF_INET {
            continue;
        }
        // SAFETY: the family is AF_INET, so the kernel stored a whole `sockaddr_in` there;
        // read_unaligned copies it out without assuming alignment.
        let sin = unsafe { std::ptr::read_unaligned(ifa.ifa_addr.cast::<libc::sockaddr_in>()) };
        let prefix_len = if ifa.ifa_netmask.is_null() {
            32
        } else {
            // SAFETY: a non-null netmask of an AF_INET entry is a `sockaddr_in` as well.
            let mask =
                unsafe { std::ptr::read_unaligned(ifa.ifa_netmask.cast::<libc::sockaddr_in>()) };
            u32::from_be(mask.sin_addr.s_addr).leading_ones() as u8
        };
        // SAFETY: ifa_name is a non-null NUL-terminated string owned by the list.
        let name = unsafe { CStr::from_ptr(ifa.ifa_name) };
        out.push(Ipv4IfAddr {
            interface: name.to_string_lossy().into_owned(),
            address: Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)),
            prefix_len,
        });
    }
    Ok(out)
}

/// The kernel clock discipline as `adjtimex(2)` reports it (read-only query, `modes` 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timex {
    /// The return value: the clock state (`TIME_OK` 0 ... `TIME_ERROR` 5).
    pub state: i32,
    /// `STA_*` bits.
    pub status: i32,
    /// Time offset: microseconds, or nanoseconds when `STA_NANO` is set.
    pub offset: i64,
    /// Frequency offset, in 2^-16 ppm.
    pub freq: i64,
    /// Maximum and estimated error, microseconds.
    pub maxerror: i64,
    pub esterror: i64,
    /// PLL time constant.
    pub constant: i64,
    /// Clock precision and tolerance (microseconds, 2^-16 ppm).
    pub precision: i64,
    pub tolerance: i64,
    /// Microseconds between clock ticks.
    pub tick: i64,
}

/// Read the kernel clock state with `adjtimex(2)` and `modes` 0, which changes nothing and needs
/// no privilege.
#[allow(
    clippy::useless_conversion,
    reason = "the fields are c_long: i64 on 64-bit targets, i32 on 32-bit ones"
)]
pub fn adjtimex() -> io::Result<Timex> {
    let mut tx = std::mem::MaybeUninit::<libc::timex>::zeroed();
    // SAFETY: `tx` points to zeroed, writable storage of the size and alignment of `struct timex`;
    // with `modes` 0 (the zeroed value) the kernel only writes the current state into it.
    let state = unsafe { libc::adjtimex(tx.as_mut_ptr()) };
    if state < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: adjtimex succeeded and filled the struct (which was zeroed before anyway).
    let tx = unsafe { tx.assume_init() };
    Ok(Timex {
        state,
        status: tx.status,
        offset: i64::from(tx.offset),
        freq: i64::from(tx.freq),
        maxerror: i64::from(tx.maxerror),
        esterror: i64::from(tx.esterror),
        constant: i64::from(tx.constant),
        precision: i64::from(tx.precision),
        tolerance: i64::from(tx.tolerance),
        tick: i64::from(tx.tick),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn glibc_accepts_the_arena_limit() {
        assert!(limit_malloc_arenas());
    }

    #[test]
    fn loopback_has_its_ipv4_address() {
        let addrs = ipv4_addresses().unwrap();
        assert!(
            addrs.iter().any(|a| a.interface == "lo"
                && a.address == Ipv4Addr::LOCALHOST
                && a.prefix_len == 8),
            "{addrs:?}"
        );
        assert!(addrs.iter().all(|a| a.prefix_len <= 32));
    }

    #[test]
    fn adjtimex_reads_a_consistent_state() {
        let t = adjtimex().unwrap();
        // TIME_OK .. TIME_ERROR, and a tick near 10000 us (USER_HZ 100) as every kernel sets it.
        assert!((0..=5).contains(&t.state), "{t:?}");
        assert!(t.tick > 0 && t.maxerror >= 0 && t.esterror >= 0, "{t:?}");
    }

    #[test]
    fn statvfs_of_root_and_missing_path() {
        let st = statvfs(Path::new("/")).unwrap();
        assert!(st.total_bytes > 0 && st.avail_bytes <= st.total_bytes);
        assert!(statvfs(Path::new("/nonexistent/sysgate-test")).is_err());
        let e = statvfs(Path::new("a\0b")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }
}

/// The process on the other end of a connected Unix socket, as the kernel recorded it when the
/// peer connected (`SO_PEERCRED`): it cannot be forged by what the peer sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerCred {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

/// `getsockopt(SO_PEERCRED)` on a connected Unix stream socket.
pub fn peer_cred(sock: &std::os::unix::net::UnixStream) -> io::Result<PeerCred> {
    use std::os::fd::AsRawFd;
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: the fd is a valid socket borrowed for the call; `cred` and `len` are writable and
    // `len` holds the size of `cred`, so the kernel writes at most that many bytes.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&raw mut cred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    if len as usize != std::mem::size_of::<libc::ucred>() {
        return Err(io::Error::other("SO_PEERCRED returned a short answer"));
    }
    Ok(PeerCred {
        pid: cred.pid,
        uid: cred.uid,
        gid: cred.gid,
    })
}

/// systemd socket activation: the listening socket passed as fd 3 when `LISTEN_PID` is this
/// process and `LISTEN_FDS` is 1. The fd is checked before it is trusted: a socket, of the Unix
/// family, a stream, listening. The variables are removed so no child sees them.
pub fn take_activated_listener() -> io::Result<Option<std::os::unix::net::UnixListener>> {
    use std::os::fd::{FromRawFd, OwnedFd};
    let pid = std::env::var("LISTEN_PID").ok();
    let fds = std::env::var("LISTEN_FDS").ok();
    let (Some(pid), Some(fds)) = (pid, fds) else {
        return Ok(None);
    };
    // SAFETY: the environment is changed before any other thread exists (this runs at startup,
    // before the worker pool and the signal thread are started).
    unsafe {
        std::env::remove_var("LISTEN_PID");
        std::env::remove_var("LISTEN_FDS");
        std::env::remove_var("LISTEN_FDNAMES");
    }
    if pid.parse::<u32>().ok() != Some(std::process::id()) {
        return Ok(None);
    }
    if fds != "1" {
        return Err(io::Error::other(format!(
            "LISTEN_FDS={fds}: exactly one socket is expected"
        )));
    }
    const FD: libc::c_int = 3;
    let int_opt = |opt: libc::c_int| -> io::Result<libc::c_int> {
        let mut v: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: `v` and `len` are writable and `len` is the size of `v`; fd 3 is only read.
        let rc =
            unsafe { libc::getsockopt(FD, libc::SOL_SOCKET, opt, (&raw mut v).cast(), &mut len) };
        if rc != 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(v)
        }
    };
    let ok = int_opt(libc::SO_DOMAIN)? == libc::AF_UNIX
        && int_opt(libc::SO_TYPE)? == libc::SOCK_STREAM
        && int_opt(libc::SO_ACCEPTCONN)? == 1;
    if !ok {
        return Err(io::Error::other(
            "fd 3 from socket activation is not a listening Unix stream socket",
        ));
    }
    // SAFETY: fd 3 was handed to us by the service manager (LISTEN_PID is this process), it was
    // just checked to be an open listening socket, and nothing else in this process owns it.
    let owned = unsafe { OwnedFd::from_raw_fd(FD) };
    // SAFETY: F_SETFD with FD_CLOEXEC on an fd we own; no memory is passed.
    if unsafe { libc::fcntl(FD, libc::F_SETFD, libc::FD_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Some(std::os::unix::net::UnixListener::from(owned)))
}
