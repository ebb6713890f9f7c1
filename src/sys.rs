//! The only module allowed `unsafe`: thin, safe wrappers over the few libc calls that have no safe
//! equivalent in `std`. Each wrapper validates what it hands to the kernel and returns owned data.
//! Every `unsafe` block carries a `// SAFETY:` comment; nothing here keeps pointers past a call.

use std::ffi::{CStr, CString};
use std::io;
use std::net::Ipv4Addr;
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn statvfs_of_root_and_missing_path() {
        let st = statvfs(Path::new("/")).unwrap();
        assert!(st.total_bytes > 0 && st.avail_bytes <= st.total_bytes);
        assert!(statvfs(Path::new("/nonexistent/sysgate-test")).is_err());
        let e = statvfs(Path::new("a\0b")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }
}
