//! Arbitrary bytes through every pure `/proc`, `/sys` and `/etc` parser, and the helpers that
//! consume their results. Property: no panic (the parsers promise to skip what they cannot read).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::hint::black_box;
use sysgate::testing::tools::procfs as p;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();

    black_box(p::parse_uptime(text));
    black_box(p::parse_os_release(text));
    black_box(p::parse_loadavg(text));
    black_box(p::parse_pressure(text));
    if let Some(m) = p::parse_meminfo(text) {
        black_box((m.available(), m.used(), m.used_percent()));
        black_box((m.swap_used(), m.swap_used_percent()));
    }
    // Two halves as two samples of /proc/stat, as get_cpu_usage takes them.
    let (a, b) = text.split_at(text.floor_char_boundary(text.len() / 2));
    if let (Some(x), Some(y)) = (p::parse_proc_stat(a), p::parse_proc_stat(b)) {
        black_box(p::cpu_usage(&x.total, &y.total));
        for ((_, e), (_, l)) in x.per_cpu.iter().zip(&y.per_cpu) {
            black_box(p::cpu_usage(e, l));
        }
    }
    if let Some(s) = p::parse_proc_stat(text) {
        black_box(p::cpu_usage(&s.total, &s.total));
    }
    black_box(p::parse_cpuinfo(text));
    black_box(p::parse_khz_as_mhz(text));
    for m in p::parse_mountinfo(data) {
        black_box((m.read_only(), p::is_virtual_fs(&m.fstype)));
    }
    black_box(p::unescape_octal(data));
    for d in p::parse_net_dev(text) {
        assert!(p::is_valid_ifname(&d.name));
    }
    for a in p::parse_if_inet6(text) {
        assert!(a.prefix_len <= 128 && p::is_valid_ifname(&a.interface));
    }
    if let Some(s) = p::parse_pid_stat(data) {
        black_box((s.is_kernel_thread(), s.cpu_ticks(), p::state_name(s.state)));
    }
    black_box(p::parse_status_uids(data));
    let max_chars = usize::from(data.first().copied().unwrap_or(0));
    let (cmd, cut) = p::parse_cmdline(data, max_chars, false);
    assert!(cmd.chars().count() <= max_chars);
    black_box(cut);
    black_box(p::parse_passwd(text));
    black_box(p::parse_millidegrees(text));
    black_box(p::hwmon_temp_index(text));
    black_box(p::numbered_entry(text, "hwmon"));
    if let Some(l) = p::sysfs_label(text) {
        assert!(l.chars().count() <= 64 && !l.chars().any(char::is_control));
    }
});
