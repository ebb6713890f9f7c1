#![forbid(unsafe_code)]
//! `/proc/PID/io`: a process's cumulative I/O counters (`key: value` lines). Readable only for
//! the caller's own processes (or with `CAP_SYS_PTRACE`); the handler reports why when it is not.

/// The counters we report. `rchar`/`wchar` count every read and write call (pipes, sockets,
/// page cache); `read_bytes`/`write_bytes` what reached or was sent to storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PidIo {
    pub rchar: u64,
    pub wchar: u64,
    pub syscr: u64,
    pub syscw: u64,
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub cancelled_write_bytes: u64,
}

/// Lines looked at (the kernel writes seven).
const MAX_LINES: usize = 32;

/// Parses `/proc/PID/io`. `None` unless all seven counters are present once each as unsigned
/// integers: a truncated file is not a record with zeros in it.
pub fn parse_pid_io(text: &str) -> Option<PidIo> {
    let mut io = PidIo::default();
    let mut seen = 0u8;
    for line in text.lines().take(MAX_LINES) {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let (bit, slot) = match key {
            "rchar" => (0, &mut io.rchar),
            "wchar" => (1, &mut io.wchar),
            "syscr" => (2, &mut io.syscr),
            "syscw" => (3, &mut io.syscw),
            "read_bytes" => (4, &mut io.read_bytes),
            "write_bytes" => (5, &mut io.write_bytes),
            "cancelled_write_bytes" => (6, &mut io.cancelled_write_bytes),
            _ => continue,
        };
        if seen & (1 << bit) != 0 {
            return None;
        }
        *slot = value.trim().parse().ok()?;
        seen |= 1 << bit;
    }
    (seen == 0x7f).then_some(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "rchar: 323934931\nwchar: 323929600\nsyscr: 632687\nsyscw: 632675\nread_bytes: 4096\nwrite_bytes: 323932160\ncancelled_write_bytes: 0\n";

    #[test]
    fn parses_the_kernel_format() {
        let io = parse_pid_io(SAMPLE).unwrap();
        assert_eq!(io.rchar, 323_934_931);
        assert_eq!(io.wchar, 323_929_600);
        assert_eq!((io.syscr, io.syscw), (632_687, 632_675));
        assert_eq!((io.read_bytes, io.write_bytes), (4096, 323_932_160));
        assert_eq!(io.cancelled_write_bytes, 0);
        // Order and unknown keys do not matter.
        let shuffled: String = SAMPLE
            .lines()
            .rev()
            .map(|l| format!("{l}\nnew_key: 1\n"))
            .collect();
        assert_eq!(parse_pid_io(&shuffled), Some(io));
    }

    #[test]
    fn hostile_and_truncated_input() {
        // Every prefix that drops a line is refused, never zero-filled.
        let lines: Vec<&str> = SAMPLE.lines().collect();
        for n in 0..lines.len() {
            assert_eq!(parse_pid_io(&lines[..n].join("\n")), None, "{n} lines");
        }
        // Negative, non-numeric, overflowing, empty or repeated counters.
        for bad in [
            SAMPLE.replace("read_bytes: 4096", "read_bytes: -4096"),
            SAMPLE.replace("read_bytes: 4096", "read_bytes: 4096x"),
            SAMPLE.replace("read_bytes: 4096", "read_bytes: 99999999999999999999999"),
            SAMPLE.replace("read_bytes: 4096", "read_bytes:"),
            format!("{SAMPLE}rchar: 1\n"),
            "\u{0}\u{ff}".into(),
        ] {
            assert_eq!(parse_pid_io(&bad), None, "{bad:?}");
        }
    }
}
