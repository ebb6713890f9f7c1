#![forbid(unsafe_code)]
//! The seccomp programs, built in safe code before `fork` (`sys::child` installs them).
//!
//! Every program starts the same way: a system call made for another architecture kills the
//! process (it would be numbered differently, so no list below would mean what it says), and on
//! x86-64 so does one made through the x32 ABI (numbers with bit 30 set). Then `clone3` fails
//! with `ENOSYS`: its arguments sit in memory a filter cannot read, and C libraries and Go fall
//! back to `clone` on `ENOSYS`. `ioctl` with `TIOCSTI` or `TIOCLINUX` (typing into a terminal)
//! fails with `EPERM`. After that:
//! - [`Profile::Reader`] (journalctl, systemctl as a client, dpkg-query, rpm, ps): an allowlist
//!   of what a program that reads files and `/proc` and talks over Unix sockets needs; `socket`
//!   only for `AF_UNIX`; anything else fails with `EPERM`.
//! - [`Profile::Networked`] (docker, ssh: Go or networked programs whose needs are too broad to
//!   list): a deny-list of what no client of ours needs and an attacker would want (ptrace,
//!   mounts and namespaces, modules, kexec, bpf, perf, keyrings, io_uring, clocks, swap,
//!   reboot, ...), each failing with `EPERM`; anything else is allowed.

use crate::sys::child::Insn;

/// Which filter a program runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// An allowlist for programs that only read.
    Reader,
    /// A deny-list for networked (often Go) clients.
    Networked,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Reader => "reader allowlist",
            Profile::Networked => "networked deny-list",
        }
    }
}

// Classic BPF opcodes (linux/bpf_common.h).
const LD_W_ABS: u16 = 0x20;
const JEQ_K: u16 = 0x15;
const JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;

// Return values (linux/seccomp.h).
const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const RET_ALLOW: u32 = 0x7fff_0000;

// Offsets in `struct seccomp_data`: nr (u32), arch (u32), ip (u64), args[6] (u64 each). The
// low half of an argument is at its offset on little-endian machines, the high half after it.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const fn off_arg_low(i: u32) -> u32 {
    if cfg!(target_endian = "little") {
        16 + 8 * i
    } else {
        16 + 8 * i + 4
    }
}

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E; // AUDIT_ARCH_X86_64
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7; // AUDIT_ARCH_AARCH64
#[cfg(target_arch = "x86_64")]
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

const TIOCSTI: u32 = 0x5412;
const TIOCLINUX: u32 = 0x541C;

fn stmt(code: u16, k: u32) -> Insn {
    Insn {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> Insn {
    Insn { code, jt, jf, k }
}

fn errno(e: i32) -> u32 {
    RET_ERRNO | (e as u32 & 0xffff)
}

fn nr(n: libc::c_long) -> u32 {
    n as u32
}

/// The filter for `profile`.
pub fn filter(profile: Profile) -> Vec<Insn> {
    let mut p = vec![
        stmt(LD_W_ABS, OFF_ARCH),
        jump(JEQ_K, AUDIT_ARCH, 1, 0),
        stmt(RET_K, RET_KILL_PROCESS),
        stmt(LD_W_ABS, OFF_NR),
    ];
    #[cfg(target_arch = "x86_64")]
    p.extend([
        jump(JSET_K, X32_SYSCALL_BIT, 0, 1),
        stmt(RET_K, RET_KILL_PROCESS),
    ]);
    p.extend([
        jump(JEQ_K, nr(libc::SYS_clone3), 0, 1),
        stmt(RET_K, errno(libc::ENOSYS)),
        // ioctl: refuse the two requests that type into a terminal, then go on with the number.
        jump(JEQ_K, nr(libc::SYS_ioctl), 0, 5),
        stmt(LD_W_ABS, off_arg_low(1)),
        jump(JEQ_K, TIOCSTI, 1, 0),
        jump(JEQ_K, TIOCLINUX, 0, 1),
        stmt(RET_K, errno(libc::EPERM)),
        stmt(LD_W_ABS, OFF_NR),
    ]);
    match profile {
        Profile::Reader => {
            p.extend([
                // socket: Unix domain only.
                jump(JEQ_K, nr(libc::SYS_socket), 0, 4),
                stmt(LD_W_ABS, off_arg_low(0)),
                jump(JEQ_K, libc::AF_UNIX as u32, 1, 0),
                stmt(RET_K, errno(libc::EAFNOSUPPORT)),
                stmt(LD_W_ABS, OFF_NR),
            ]);
            for &n in READER_ALLOW.iter().chain(READER_ALLOW_ARCH) {
                p.extend([jump(JEQ_K, nr(n), 0, 1), stmt(RET_K, RET_ALLOW)]);
            }
            p.push(stmt(RET_K, errno(libc::EPERM)));
        }
        Profile::Networked => {
            for &n in NETWORKED_DENY.iter().chain(NETWORKED_DENY_ARCH) {
                p.extend([jump(JEQ_K, nr(n), 0, 1), stmt(RET_K, errno(libc::EPERM))]);
            }
            p.push(stmt(RET_K, RET_ALLOW));
        }
    }
    p
}

/// What a reader may do: file and `/proc` reading, memory, signals, time, threads, polling,
/// Unix-socket clients, running (and waiting for) a helper such as a pager it is told not to use.
const READER_ALLOW: &[libc::c_long] = &[
    libc::SYS_read,
    libc::SYS_write,
    libc::SYS_readv,
    libc::SYS_writev,
    libc::SYS_pread64,
    libc::SYS_preadv,
    libc::SYS_openat,
    libc::SYS_close,
    libc::SYS_close_range,
    libc::SYS_fstat,
    libc::SYS_newfstatat,
    libc::SYS_statx,
    libc::SYS_statfs,
    libc::SYS_fstatfs,
    libc::SYS_lseek,
    libc::SYS_mmap,
    libc::SYS_mprotect,
    libc::SYS_munmap,
    libc::SYS_mremap,
    libc::SYS_brk,
    libc::SYS_madvise,
    libc::SYS_mincore,
    libc::SYS_rt_sigaction,
    libc::SYS_rt_sigprocmask,
    libc::SYS_rt_sigreturn,
    libc::SYS_rt_sigtimedwait,
    libc::SYS_rt_sigsuspend,
    libc::SYS_sigaltstack,
    libc::SYS_ioctl,
    libc::SYS_faccessat,
    libc::SYS_faccessat2,
    libc::SYS_pipe2,
    libc::SYS_dup,
    libc::SYS_dup3,
    libc::SYS_fcntl,
    libc::SYS_flock,
    libc::SYS_fadvise64,
    libc::SYS_readahead,
    libc::SYS_getdents64,
    libc::SYS_getcwd,
    libc::SYS_chdir,
    libc::SYS_fchdir,
    libc::SYS_readlinkat,
    libc::SYS_copy_file_range,
    libc::SYS_sendfile,
    libc::SYS_splice,
    libc::SYS_getxattr,
    libc::SYS_lgetxattr,
    libc::SYS_fgetxattr,
    libc::SYS_listxattr,
    libc::SYS_llistxattr,
    libc::SYS_flistxattr,
    libc::SYS_name_to_handle_at,
    libc::SYS_umask,
    libc::SYS_getpid,
    libc::SYS_getppid,
    libc::SYS_gettid,
    libc::SYS_getuid,
    libc::SYS_geteuid,
    libc::SYS_getgid,
    libc::SYS_getegid,
    libc::SYS_getgroups,
    libc::SYS_getresuid,
    libc::SYS_getresgid,
    libc::SYS_getpgid,
    libc::SYS_getsid,
    libc::SYS_getpriority,
    libc::SYS_ioprio_get,
    libc::SYS_capget,
    libc::SYS_getrlimit,
    libc::SYS_prlimit64,
    libc::SYS_getrusage,
    libc::SYS_uname,
    libc::SYS_sysinfo,
    libc::SYS_times,
    libc::SYS_getcpu,
    libc::SYS_clock_gettime,
    libc::SYS_clock_getres,
    libc::SYS_clock_nanosleep,
    libc::SYS_nanosleep,
    libc::SYS_gettimeofday,
    libc::SYS_getitimer,
    libc::SYS_setitimer,
    libc::SYS_futex,
    libc::SYS_set_robust_list,
    libc::SYS_get_robust_list,
    libc::SYS_set_tid_address,
    libc::SYS_rseq,
    libc::SYS_membarrier,
    libc::SYS_prctl,
    libc::SYS_sched_getaffinity,
    libc::SYS_sched_getparam,
    libc::SYS_sched_getscheduler,
    libc::SYS_sched_yield,
    libc::SYS_getrandom,
    libc::SYS_memfd_create,
    libc::SYS_ppoll,
    libc::SYS_pselect6,
    libc::SYS_epoll_create1,
    libc::SYS_epoll_ctl,
    libc::SYS_epoll_pwait,
    libc::SYS_eventfd2,
    libc::SYS_signalfd4,
    libc::SYS_timerfd_create,
    libc::SYS_timerfd_settime,
    libc::SYS_timerfd_gettime,
    libc::SYS_inotify_init1,
    libc::SYS_inotify_add_watch,
    libc::SYS_inotify_rm_watch,
    libc::SYS_socket,
    libc::SYS_socketpair,
    libc::SYS_connect,
    libc::SYS_sendto,
    libc::SYS_recvfrom,
    libc::SYS_sendmsg,
    libc::SYS_recvmsg,
    libc::SYS_getsockopt,
    libc::SYS_setsockopt,
    libc::SYS_getsockname,
    libc::SYS_getpeername,
    libc::SYS_shutdown,
    libc::SYS_clone,
    libc::SYS_execve,
    libc::SYS_execveat,
    libc::SYS_wait4,
    libc::SYS_waitid,
    libc::SYS_kill,
    libc::SYS_tgkill,
    libc::SYS_restart_syscall,
    libc::SYS_exit,
    libc::SYS_exit_group,
];

/// The older calls x86-64 still has (aarch64 has only their `*at` forms, listed above).
#[cfg(target_arch = "x86_64")]
const READER_ALLOW_ARCH: &[libc::c_long] = &[
    libc::SYS_open,
    libc::SYS_stat,
    libc::SYS_lstat,
    libc::SYS_access,
    libc::SYS_pipe,
    libc::SYS_dup2,
    libc::SYS_poll,
    libc::SYS_select,
    libc::SYS_readlink,
    libc::SYS_getdents,
    libc::SYS_fork,
    libc::SYS_vfork,
    libc::SYS_arch_prctl,
    libc::SYS_time,
    libc::SYS_alarm,
    libc::SYS_getpgrp,
    libc::SYS_epoll_wait,
    libc::SYS_epoll_create,
];
#[cfg(not(target_arch = "x86_64"))]
const READER_ALLOW_ARCH: &[libc::c_long] = &[];

/// What a networked client never needs: debugging other processes, mounts and namespaces,
/// kernel modules and kexec, bpf and perf, keyrings, io_uring (its operations bypass seccomp),
/// clocks and host names, swap, accounting, reboot.
const NETWORKED_DENY: &[libc::c_long] = &[
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_pidfd_getfd,
    libc::SYS_kcmp,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_mount_setattr,
    libc::SYS_move_mount,
    libc::SYS_open_tree,
    libc::SYS_fsopen,
    libc::SYS_fsconfig,
    libc::SYS_fsmount,
    libc::SYS_fspick,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_userfaultfd,
    libc::SYS_open_by_handle_at,
    libc::SYS_fanotify_init,
    libc::SYS_personality,
    libc::SYS_syslog,
    libc::SYS_quotactl,
    libc::SYS_acct,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_reboot,
    libc::SYS_settimeofday,
    libc::SYS_clock_settime,
    libc::SYS_clock_adjtime,
    libc::SYS_adjtimex,
    libc::SYS_sethostname,
    libc::SYS_setdomainname,
    libc::SYS_vhangup,
];

#[cfg(target_arch = "x86_64")]
const NETWORKED_DENY_ARCH: &[libc::c_long] = &[
    libc::SYS_iopl,
    libc::SYS_ioperm,
    libc::SYS_modify_ldt,
    libc::SYS_uselib,
];
#[cfg(not(target_arch = "x86_64"))]
const NETWORKED_DENY_ARCH: &[libc::c_long] = &[];

#[cfg(test)]
mod tests {
    use super::*;

    /// A classic-BPF interpreter for the few opcodes the filters use, so that each filter's
    /// decisions are checked here as well as on real children (`exec::tests`).
    fn decide(prog: &[Insn], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        let word = |off: u32| -> u32 {
            match off {
                OFF_NR => nr,
                OFF_ARCH => arch,
                o if o >= 16 => {
                    let i = ((o - 16) / 8) as usize;
                    let v = args[i];
                    if (o - 16) % 8 == 0 {
                        v as u32
                    } else {
                        (v >> 32) as u32
                    }
                }
                _ => panic!("load of offset {off}"),
            }
        };
        let (mut pc, mut a) = (0usize, 0u32);
        loop {
            let i = prog[pc];
            pc += 1;
            match i.code {
                LD_W_ABS => a = word(i.k),
                JEQ_K => pc += usize::from(if a == i.k { i.jt } else { i.jf }),
                JSET_K => pc += usize::from(if a & i.k != 0 { i.jt } else { i.jf }),
                RET_K => return i.k,
                c => panic!("opcode {c:#x}"),
            }
        }
    }

    const EPERM: u32 = RET_ERRNO | libc::EPERM as u32;
    const ENOSYS: u32 = RET_ERRNO | libc::ENOSYS as u32;

    #[test]
    fn decision_table() {
        use Profile::{Networked, Reader};
        let a0 = |x: u64| [x, 0, 0, 0, 0, 0];
        let a1 = |x: u64| [0, x, 0, 0, 0, 0];
        let none = [0; 6];
        let n = |c: libc::c_long| c as u32;
        #[rustfmt::skip]
        let cases: &[(Profile, u32, u32, [u64; 6], u32)] = &[
            (Reader,    AUDIT_ARCH, n(libc::SYS_read),       none, RET_ALLOW),
            (Reader,    AUDIT_ARCH, n(libc::SYS_openat),     none, RET_ALLOW),
            (Reader,    AUDIT_ARCH, n(libc::SYS_execve),     none, RET_ALLOW),
            (Reader,    AUDIT_ARCH, n(libc::SYS_mkdirat),    none, EPERM),
            (Reader,    AUDIT_ARCH, n(libc::SYS_unlinkat),   none, EPERM),
            (Reader,    AUDIT_ARCH, n(libc::SYS_ptrace),     none, EPERM),
            (Reader,    AUDIT_ARCH, n(libc::SYS_mount),      none, EPERM),
            (Reader,    AUDIT_ARCH, n(libc::SYS_setsid),     none, EPERM),
            (Reader,    AUDIT_ARCH, n(libc::SYS_clone3),     none, ENOSYS),
            (Reader,    AUDIT_ARCH, n(libc::SYS_socket),     a0(libc::AF_UNIX as u64), RET_ALLOW),
            (Reader,    AUDIT_ARCH, n(libc::SYS_socket),     a0(libc::AF_INET as u64), RET_ERRNO | libc::EAFNOSUPPORT as u32),
            (Reader,    AUDIT_ARCH, n(libc::SYS_ioctl),      a1(0x5401), RET_ALLOW), // TCGETS
            (Reader,    AUDIT_ARCH, n(libc::SYS_ioctl),      a1(u64::from(TIOCSTI)), EPERM),
            (Reader,    AUDIT_ARCH, n(libc::SYS_ioctl),      a1(u64::from(TIOCLINUX)), EPERM),
            (Reader,    0x4000_0003, n(libc::SYS_read),      none, RET_KILL_PROCESS), // i386
            (Networked, AUDIT_ARCH, n(libc::SYS_read),       none, RET_ALLOW),
            (Networked, AUDIT_ARCH, n(libc::SYS_socket),     a0(libc::AF_INET6 as u64), RET_ALLOW),
            (Networked, AUDIT_ARCH, n(libc::SYS_mkdirat),    none, RET_ALLOW),
            (Networked, AUDIT_ARCH, n(libc::SYS_ptrace),     none, EPERM),
            (Networked, AUDIT_ARCH, n(libc::SYS_unshare),    none, EPERM),
            (Networked, AUDIT_ARCH, n(libc::SYS_bpf),        none, EPERM),
            (Networked, AUDIT_ARCH, n(libc::SYS_io_uring_setup), none, EPERM),
            (Networked, AUDIT_ARCH, n(libc::SYS_clone3),     none, ENOSYS),
            (Networked, AUDIT_ARCH, n(libc::SYS_ioctl),      a1(u64::from(TIOCSTI)), EPERM),
            (Networked, 0x4000_0003, n(libc::SYS_read),      none, RET_KILL_PROCESS),
        ];
        for (i, &(profile, arch, nr, args, want)) in cases.iter().enumerate() {
            let got = decide(&filter(profile), arch, nr, args);
            assert_eq!(got, want, "case {i}: {profile:?} nr {nr} args {args:?}");
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_x32_abi_is_killed_in_both_profiles() {
        for p in [Profile::Reader, Profile::Networked] {
            let x32_read = X32_SYSCALL_BIT | libc::SYS_read as u32;
            assert_eq!(
                decide(&filter(p), AUDIT_ARCH, x32_read, [0; 6]),
                RET_KILL_PROCESS
            );
        }
    }

    #[test]
    fn every_jump_stays_inside_the_program_and_it_fits_the_kernel_limit() {
        for p in [Profile::Reader, Profile::Networked] {
            let prog = filter(p);
            assert!(prog.len() <= crate::sys::child::MAX_INSNS);
            for (pc, i) in prog.iter().enumerate() {
                if matches!(i.code, JEQ_K | JSET_K) {
                    assert!(pc + 1 + usize::from(i.jt.max(i.jf)) < prog.len(), "{pc}");
                }
            }
            assert_eq!(prog.last().unwrap().code, RET_K);
        }
    }
}
