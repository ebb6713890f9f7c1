#![forbid(unsafe_code)]
//! Best-effort forwarding of audit records to syslog, as RFC 5424 messages:
//!
//! ```text
//! <86>1 2024-12-12T10:30:45.123Z host sysgate 4242 query - {"client":…,"mac":"…"}
//! ```
//!
//! PRI = facility × 8 + 6 (informational). HOSTNAME is the kernel's hostname, APP-NAME `sysgate`,
//! PROCID our pid, MSGID the event kind, no structured data, and MSG the record line exactly as
//! written to the file (so a collector can verify the chain with the key). MSG carries a UTF-8 BOM
//! only when the line has non-ASCII bytes, as RFC 5424 asks for UTF-8 text. TCP uses octet-counting
//! framing (RFC 6587: `LEN SP MSG`); the Unix socket and UDP send one datagram per message.
//!
//! The default facility is `authpriv` (10), the one meant for private security messages: records
//! carry caller identities, and classic syslog setups send authpriv to a restricted file (e.g.
//! `/var/log/secure`) while `auth` (4) may land in general logs.
//!
//! `append` never waits for syslog: records go through a bounded queue to one background thread.
//! When the queue is full the record is dropped from the forward (the file keeps it) and counted.
//! Connects and writes time out; a TCP connection that fails is retried at most once a second.
//! A record too large for one datagram (UDP: about 64 KiB) is counted as failed. `/dev/log` must
//! be a datagram socket (as journald's and rsyslog's are).

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::AuditError;

/// Where to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyslogTransport {
    /// A local datagram socket, normally `/dev/log`.
    Unix(PathBuf),
    /// `host:port`, resolved when the socket is (re)opened.
    Udp(String),
    /// `host:port`, resolved when the connection is (re)opened.
    Tcp(String),
}

impl std::fmt::Display for SyslogTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SyslogTransport::Unix(p) => write!(f, "the unix socket {}", p.display()),
            SyslogTransport::Udp(a) => write!(f, "udp {a}"),
            SyslogTransport::Tcp(a) => write!(f, "tcp {a}"),
        }
    }
}

/// A syslog facility code (0..=23).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facility(u8);

impl Facility {
    pub const AUTH: Facility = Facility(4);
    pub const AUTHPRIV: Facility = Facility(10);
    pub const DAEMON: Facility = Facility(3);
    pub const LOCAL0: Facility = Facility(16);

    pub fn from_code(code: u8) -> Option<Facility> {
        (code <= 23).then_some(Facility(code))
    }

    /// The names syslog.conf uses for codes 0–11 (`kern` … `auth` … `authpriv`, `ftp`) and
    /// `local0`…`local7` (16–23).
    pub fn from_name(name: &str) -> Option<Facility> {
        const NAMES: [&str; 12] = [
            "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
            "authpriv", "ftp",
        ];
        if let Some(i) = NAMES.iter().position(|n| *n == name) {
            return u8::try_from(i).ok().and_then(Facility::from_code);
        }
        let n = name.strip_prefix("local")?;
        let n: u8 = n.parse().ok().filter(|n| *n <= 7 && name.len() == 6)?;
        Facility::from_code(16 + n)
    }

    pub fn code(self) -> u8 {
        self.0
    }
}

/// How to forward.
#[derive(Debug, Clone)]
pub struct SyslogSettings {
    pub transport: SyslogTransport,
    /// Default `authpriv`.
    pub facility: Facility,
    /// Records waiting to be sent before new ones are dropped. Default 1024.
    pub queue_capacity: usize,
    /// Connect and write timeout. Default 2 s.
    pub timeout: Duration,
}

impl SyslogSettings {
    pub fn new(transport: SyslogTransport) -> Self {
        SyslogSettings {
            transport,
            facility: Facility::AUTHPRIV,
            queue_capacity: 1024,
            timeout: Duration::from_secs(2),
        }
    }
}

/// What the forwarder has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyslogStats {
    pub sent: u64,
    /// Not forwarded because the queue was full.
    pub dropped: u64,
    /// Not forwarded because sending failed (no listener, timeout, resolution, …).
    pub failed: u64,
}

#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
}

#[derive(Debug)]
struct Message {
    msgid: &'static str,
    ts: String,
    line: Vec<u8>,
}

#[derive(Debug)]
pub(crate) struct Forwarder {
    tx: SyncSender<Message>,
    counters: Arc<Counters>,
    thread: JoinHandle<()>,
}

impl Forwarder {
    pub(crate) fn start(settings: SyslogSettings) -> Result<Forwarder, AuditError> {
        if settings.queue_capacity == 0 || settings.timeout.is_zero() {
            return Err(AuditError::Settings(
                "syslog queue_capacity and timeout must be greater than zero".into(),
            ));
        }
        let (tx, rx) = mpsc::sync_channel(settings.queue_capacity);
        let counters = Arc::new(Counters::default());
        let header = Header {
            pri: u16::from(settings.facility.code()) * 8 + 6,
            hostname: hostname(),
            pid: std::process::id(),
        };
        let target = settings.transport.to_string();
        crate::log::info(&format!(
            "audit: forwarding a copy of every record to syslog over {target} (facility {}); \
             records that cannot be forwarded are counted and warned about at most once a minute",
            settings.facility.code()
        ));
        let conn = Conn::new(settings.transport, settings.timeout);
        let c = Arc::clone(&counters);
        let thread = std::thread::Builder::new()
            .name("audit-syslog".into())
            .spawn(move || run(rx, conn, header, &c, &target))
            .map_err(|e| AuditError::Io {
                action: "start the syslog thread for",
                path: PathBuf::from("syslog"),
                source: e,
            })?;
        Ok(Forwarder {
            tx,
            counters,
            thread,
        })
    }

    /// Never blocks.
    pub(crate) fn send(&self, msgid: &'static str, ts: String, line: Vec<u8>) {
        match self.tx.try_send(Message { msgid, ts, line }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => {
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub(crate) fn stats(&self) -> SyslogStats {
        Forwarder::stats_of(&self.counters)
    }

    /// Stops accepting records and waits up to `wait` for the queue to drain.
    pub(crate) fn close(self, wait: Duration) -> SyslogStats {
        let Forwarder {
            tx,
            counters,
            thread,
        } = self;
        drop(tx);
        let start = Instant::now();
        while !thread.is_finished() && start.elapsed() < wait {
            std::thread::sleep(Duration::from_millis(5));
        }
        if thread.is_finished() {
            let _ = thread.join();
        }
        Forwarder::stats_of(&counters)
    }

    fn stats_of(c: &Counters) -> SyslogStats {
        SyslogStats {
            sent: c.sent.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
        }
    }
}

#[derive(Debug)]
struct Header {
    pri: u16,
    hostname: String,
    pid: u32,
}

/// Least time between two warnings about records not forwarded.
const WARN_EVERY: Duration = Duration::from_secs(60);

fn run(rx: Receiver<Message>, mut conn: Conn, header: Header, counters: &Counters, target: &str) {
    let lost =
        || counters.failed.load(Ordering::Relaxed) + counters.dropped.load(Ordering::Relaxed);
    let mut warn = RateLimit::new(WARN_EVERY);
    for msg in rx {
        let frame = format_message(&header, &msg);
        match conn.send(&frame) {
            Ok(()) => {
                counters.sent.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                counters.failed.fetch_add(1, Ordering::Relaxed);
                crate::log::debug(&format!("audit: syslog forward over {target} failed: {e}"));
                if let Some(n) = warn.due(Instant::now(), lost()) {
                    crate::log::warn(&format!(
                        "audit: cannot forward records to syslog over {target}: {e}; {n} record(s) \
                         not forwarded since the last warning (the audit file has them)"
                    ));
                }
            }
        }
    }
    if let Some(n) = warn.pending(lost()) {
        crate::log::warn(&format!(
            "audit: {n} record(s) not forwarded to syslog over {target} since the last warning"
        ));
    }
}

/// At most one warning per `every`, each with the count of records lost since the one before.
#[derive(Debug)]
struct RateLimit {
    every: Duration,
    last: Option<Instant>,
    reported: u64,
}

impl RateLimit {
    fn new(every: Duration) -> Self {
        RateLimit {
            every,
            last: None,
            reported: 0,
        }
    }

    /// `lost`: records lost so far in total. `Some(n)`: warn now about `n` new ones.
    fn due(&mut self, now: Instant, lost: u64) -> Option<u64> {
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < self.every)
            || lost <= self.reported
        {
            return None;
        }
        let n = lost - self.reported;
        self.last = Some(now);
        self.reported = lost;
        Some(n)
    }

    /// Lost records not yet warned about.
    fn pending(&self, lost: u64) -> Option<u64> {
        (lost > self.reported).then(|| lost - self.reported)
    }
}

/// `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG`.
fn format_message(h: &Header, m: &Message) -> Vec<u8> {
    let mut out = format!(
        "<{}>1 {} {} sysgate {} {} - ",
        h.pri, m.ts, h.hostname, h.pid, m.msgid
    )
    .into_bytes();
    if !m.line.is_ascii() {
        out.extend_from_slice("\u{feff}".as_bytes());
    }
    out.extend_from_slice(&m.line);
    out
}

/// RFC 5424 HOSTNAME: 1–255 printable US-ASCII characters, or `-`.
fn hostname() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let name = name.trim();
    if name.is_empty() || name.len() > 255 || !name.bytes().all(|b| (33..=126).contains(&b)) {
        "-".into()
    } else {
        name.into()
    }
}

#[derive(Debug)]
enum Conn {
    Unix {
        sock: Option<UnixDatagram>,
        path: PathBuf,
        timeout: Duration,
    },
    Udp {
        sock: Option<UdpSocket>,
        addr: String,
        timeout: Duration,
    },
    Tcp {
        stream: Option<TcpStream>,
        addr: String,
        timeout: Duration,
        retry_at: Instant,
    },
}

const TCP_RETRY: Duration = Duration::from_secs(1);

impl Conn {
    fn new(t: SyslogTransport, timeout: Duration) -> Conn {
        match t {
            SyslogTransport::Unix(path) => Conn::Unix {
                sock: None,
                path,
                timeout,
            },
            SyslogTransport::Udp(addr) => Conn::Udp {
                sock: None,
                addr,
                timeout,
            },
            SyslogTransport::Tcp(addr) => Conn::Tcp {
                stream: None,
                addr,
                timeout,
                retry_at: Instant::now(),
            },
        }
    }

    /// Sends one message; on failure drops the socket so the next message opens a new one.
    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        match self {
            Conn::Unix {
                sock,
                path,
                timeout,
            } => {
                let s = match sock {
                    Some(s) => s,
                    None => {
                        let s = UnixDatagram::unbound()?;
                        s.set_write_timeout(Some(*timeout))?;
                        sock.insert(s)
                    }
                };
                // Not connected: a restarted syslog daemon's new socket is found by path.
                let r = s
                    .send_to(frame, path.as_path())
                    .and_then(whole(frame.len()));
                if r.is_err() {
                    *sock = None;
                }
                r
            }
            Conn::Udp {
                sock,
                addr,
                timeout,
            } => {
                let s = match sock {
                    Some(s) => s,
                    None => sock.insert(udp_socket(addr, *timeout)?),
                };
                let r = s.send(frame).and_then(whole(frame.len()));
                if r.is_err() {
                    *sock = None;
                }
                r
            }
            Conn::Tcp {
                stream,
                addr,
                timeout,
                retry_at,
            } => {
                let s = match stream {
                    Some(s) => s,
                    None => {
                        if Instant::now() < *retry_at {
                            return Err(io::Error::other("waiting before reconnecting"));
                        }
                        *retry_at = Instant::now() + TCP_RETRY;
                        stream.insert(tcp_stream(addr, *timeout)?)
                    }
                };
                let mut framed = format!("{} ", frame.len()).into_bytes();
                framed.extend_from_slice(frame);
                let r = s.write_all(&framed);
                if r.is_err() {
                    *stream = None;
                }
                r
            }
        }
    }
}

fn whole(len: usize) -> impl FnOnce(usize) -> io::Result<()> {
    move |n| {
        if n == len {
            Ok(())
        } else {
            Err(io::Error::other("datagram sent in part"))
        }
    }
}

fn resolve(addr: &str) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(io::Error::other(format!("{addr} resolves to no address")));
    }
    Ok(addrs)
}

fn udp_socket(addr: &str, timeout: Duration) -> io::Result<UdpSocket> {
    let target = resolve(addr)?[0];
    let local: SocketAddr = if target.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let s = UdpSocket::bind(local)?;
    s.set_write_timeout(Some(timeout))?;
    s.connect(target)?;
    Ok(s)
}

fn tcp_stream(addr: &str, timeout: Duration) -> io::Result<TcpStream> {
    let mut last = io::Error::other(format!("{addr}: no address to connect to"));
    for a in resolve(addr)? {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(s) => {
                s.set_write_timeout(Some(timeout))?;
                s.set_nodelay(true)?;
                return Ok(s);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::record::{EventKind, Record};
    use crate::audit::testdir::TempDir;
    use crate::audit::{AuditKey, AuditLog, AuditSettings};
    use std::io::Read;
    use std::net::TcpListener;

    #[test]
    fn warnings_are_rate_limited_with_the_count_since_the_last() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut w = RateLimit::new(s(60));
        #[rustfmt::skip]
        let steps = [
            (0, 1, Some(1)),   // the first failure warns at once
            (1, 5, None),      // within the minute: counted, not warned
            (59, 9, None),
            (60, 10, Some(9)), // a minute later: the 9 since the last warning
            (61, 10, None),
            (200, 10, None),   // nothing new lost: nothing to say
            (201, 12, Some(2)),
        ];
        for (at, lost, want) in steps {
            assert_eq!(w.due(t0 + s(at), lost), want, "at {at}s, {lost} lost");
        }
        assert_eq!(w.pending(12), None);
        assert_eq!(w.pending(15), Some(3));
    }

    /// The fields of an RFC 5424 message (no structured data expected).
    #[derive(Debug)]
    struct Parsed {
        pri: u16,
        ts: String,
        host: String,
        app: String,
        procid: String,
        msgid: String,
        msg: Vec<u8>,
    }

    /// A strict parser for what this module sends: `<PRI>1 TS HOST APP PROCID MSGID - MSG`.
    fn parse_5424(m: &[u8]) -> Parsed {
        let close = m.iter().position(|b| *b == b'>').expect("PRI");
        assert_eq!(m[0], b'<');
        let pri: u16 = std::str::from_utf8(&m[1..close]).unwrap().parse().unwrap();
        assert!(pri <= 191);
        let rest = &m[close + 1..];
        let mut parts = rest.splitn(8, |b| *b == b' ');
        let mut field = || String::from_utf8(parts.next().unwrap().to_vec()).unwrap();
        assert_eq!(field(), "1", "VERSION");
        let (ts, host, app, procid, msgid) = (field(), field(), field(), field(), field());
        assert_eq!(field(), "-", "STRUCTURED-DATA");
        for f in [&host, &app, &procid, &msgid] {
            assert!(
                !f.is_empty() && f.bytes().all(|b| (33..=126).contains(&b)),
                "{f:?}"
            );
        }
        assert!(app.len() <= 48 && procid.len() <= 128 && msgid.len() <= 32);
        let msg = parts.next().unwrap().to_vec();
        Parsed {
            pri,
            ts,
            host,
            app,
            procid,
            msgid,
            msg,
        }
    }

    fn key() -> AuditKey {
        AuditKey::from_bytes(&[0x11; 32]).unwrap()
    }

    fn open_log(dir: &TempDir, transport: SyslogTransport, facility: Facility) -> AuditLog {
        let mut s = AuditSettings::new(dir.join("audit.jsonl"), key());
        let mut sys = SyslogSettings::new(transport);
        sys.facility = facility;
        s.syslog = Some(sys);
        AuditLog::open(s).unwrap()
    }

    fn append_three(log: &AuditLog) {
        log.append(Record::new(EventKind::Startup)).unwrap();
        log.append(Record::new(EventKind::Query).tool("get_cpu_info"))
            .unwrap();
        // Non-ASCII content: the message must carry a BOM.
        log.append(Record::new(EventKind::Shutdown).reason("arrêt"))
            .unwrap();
    }

    /// Each message must carry the file's line exactly, and the header must match the record.
    fn check_messages(dir: &TempDir, messages: &[Vec<u8>], pri: u16) {
        let file = std::fs::read_to_string(dir.join("audit.jsonl")).unwrap();
        let lines: Vec<&str> = file.lines().collect();
        assert_eq!(messages.len(), lines.len());
        for (m, line) in messages.iter().zip(lines) {
            let p = parse_5424(m);
            let record: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(p.pri, pri);
            assert_eq!(p.app, "sysgate");
            assert_eq!(p.procid, std::process::id().to_string());
            assert_eq!(p.msgid, record["event"].as_str().unwrap());
            assert_eq!(p.ts, record["ts"].as_str().unwrap());
            assert_eq!(p.host, hostname());
            let msg = if line.is_ascii() {
                p.msg
            } else {
                p.msg
                    .strip_prefix("\u{feff}".as_bytes())
                    .expect("BOM")
                    .to_vec()
            };
            assert_eq!(msg, line.as_bytes());
            // The forwarded copy is verifiable on its own.
            assert!(crate::audit::chain::open(&key(), &msg).unwrap().authentic);
        }
    }

    #[test]
    fn forwards_over_a_unix_datagram_socket() {
        let dir = TempDir::new("sys-unix");
        let sock_path = dir.join("log.sock");
        let rx = UnixDatagram::bind(&sock_path).unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let log = open_log(&dir, SyslogTransport::Unix(sock_path), Facility::AUTHPRIV);
        append_three(&log);
        let mut got = Vec::new();
        for _ in 0..3 {
            let mut buf = vec![0u8; 65536];
            let n = rx.recv(&mut buf).unwrap();
            buf.truncate(n);
            got.push(buf);
        }
        check_messages(&dir, &got, 10 * 8 + 6);
        let stats = log.close(Duration::from_secs(5)).unwrap();
        assert_eq!(
            stats,
            SyslogStats {
                sent: 3,
                dropped: 0,
                failed: 0
            }
        );
    }

    #[test]
    fn forwards_over_udp() {
        let dir = TempDir::new("sys-udp");
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let addr = rx.local_addr().unwrap().to_string();
        let log = open_log(&dir, SyslogTransport::Udp(addr), Facility::LOCAL0);
        append_three(&log);
        let mut got = Vec::new();
        for _ in 0..3 {
            let mut buf = vec![0u8; 65536];
            let n = rx.recv(&mut buf).unwrap();
            buf.truncate(n);
            got.push(buf);
        }
        check_messages(&dir, &got, 16 * 8 + 6);
    }

    #[test]
    fn forwards_over_tcp_with_octet_counting() {
        let dir = TempDir::new("sys-tcp");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let log = open_log(&dir, SyslogTransport::Tcp(addr), Facility::AUTH);
        append_three(&log);
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut conn = loop {
            match listener.accept() {
                Ok((c, _)) => break c,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Err(e) => panic!("no connection from the forwarder: {e}"),
            }
        };
        conn.set_nonblocking(false).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut got = Vec::new();
        for _ in 0..3 {
            // RFC 6587 octet counting: MSG-LEN SP SYSLOG-MSG.
            let mut len = Vec::new();
            let mut b = [0u8; 1];
            loop {
                conn.read_exact(&mut b).unwrap();
                if b[0] == b' ' {
                    break;
                }
                assert!(b[0].is_ascii_digit() && len.len() < 10, "bad frame length");
                len.push(b[0]);
            }
            assert_ne!(len[0], b'0');
            let n: usize = std::str::from_utf8(&len).unwrap().parse().unwrap();
            let mut msg = vec![0u8; n];
            conn.read_exact(&mut msg).unwrap();
            got.push(msg);
        }
        check_messages(&dir, &got, 4 * 8 + 6);
    }

    #[test]
    fn unreachable_target_never_fails_appends() {
        let dir = TempDir::new("sys-down");
        let log = open_log(
            &dir,
            SyslogTransport::Unix(dir.join("nobody-listens")),
            Facility::AUTHPRIV,
        );
        for _ in 0..20 {
            log.append(Record::new(EventKind::Query)).unwrap();
        }
        let stats = log.close(Duration::from_secs(10)).unwrap();
        assert_eq!(
            stats,
            SyslogStats {
                sent: 0,
                dropped: 0,
                failed: 20
            }
        );
        // Nor does a TCP port with no listener, or a name that does not resolve.
        for t in [
            SyslogTransport::Tcp("127.0.0.1:1".into()),
            SyslogTransport::Udp("no-such-host.invalid:514".into()),
        ] {
            let dir = TempDir::new("sys-down2");
            let log = open_log(&dir, t, Facility::AUTHPRIV);
            for _ in 0..5 {
                log.append(Record::new(EventKind::Query)).unwrap();
            }
            let stats = log.close(Duration::from_secs(30)).unwrap();
            assert_eq!((stats.sent, stats.failed), (0, 5), "{stats:?}");
        }
    }

    #[test]
    fn a_stalled_collector_drops_records_instead_of_blocking() {
        let dir = TempDir::new("sys-stall");
        let sock_path = dir.join("log.sock");
        let _rx = UnixDatagram::bind(&sock_path).unwrap(); // never read
        let mut s = AuditSettings::new(dir.join("audit.jsonl"), key());
        let mut sys = SyslogSettings::new(SyslogTransport::Unix(sock_path));
        sys.queue_capacity = 2;
        sys.timeout = Duration::from_millis(100);
        s.syslog = Some(sys);
        let log = AuditLog::open(s).unwrap();
        let started = Instant::now();
        let n = 3000;
        for _ in 0..n {
            log.append(Record::new(EventKind::Query).detail(serde_json::json!("x".repeat(200))))
                .unwrap();
        }
        // Without dropping, the sends blocked on the full socket would take minutes.
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
        let mid = log.syslog_stats().unwrap();
        assert!(mid.dropped > 0, "{mid:?}");
        let end = log.close(Duration::from_secs(30)).unwrap();
        assert_eq!(end.sent + end.dropped + end.failed, n, "{end:?}");
        assert!(end.failed > 0, "{end:?}");
    }

    #[test]
    fn facility_names_and_codes() {
        assert_eq!(Facility::from_name("authpriv"), Some(Facility::AUTHPRIV));
        assert_eq!(Facility::from_name("auth").map(Facility::code), Some(4));
        assert_eq!(Facility::from_name("kern").map(Facility::code), Some(0));
        assert_eq!(Facility::from_name("local7").map(Facility::code), Some(23));
        for bad in ["local8", "local", "local07", "AUTH", "", "security"] {
            assert_eq!(Facility::from_name(bad), None, "{bad}");
        }
        assert_eq!(Facility::from_code(23).map(Facility::code), Some(23));
        assert_eq!(Facility::from_code(24), None);
        let bad = SyslogSettings {
            queue_capacity: 0,
            ..SyslogSettings::new(SyslogTransport::Udp("127.0.0.1:514".into()))
        };
        assert!(matches!(
            Forwarder::start(bad),
            Err(AuditError::Settings(_))
        ));
    }
}
