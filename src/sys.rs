//! The only module allowed `unsafe`: thin, safe wrappers over the few libc calls that have no safe
//! equivalent in `std`. Each wrapper validates what it hands to the kernel and returns owned data.
//! Every `unsafe` block carries a `// SAFETY:` comment; nothing here keeps pointers past a call.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

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

/// The real group id of this process.
pub fn gid() -> u32 {
    // SAFETY: getgid cannot fail and has no preconditions.
    unsafe { libc::getgid() }
}

/// This process's id.
pub fn pid() -> u32 {
    std::process::id()
}
