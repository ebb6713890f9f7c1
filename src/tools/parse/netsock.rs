#![forbid(unsafe_code)]
//! Socket tables: `/proc/net/{tcp,tcp6,udp,udp6}` lines, `/proc/net/unix` lines, and the
//! `socket:[INODE]` target of a `/proc/PID/fd/N` link that joins a socket to its processes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// TCP_LISTEN in the `st` column.
pub const TCP_LISTEN: u8 = 0x0A;
/// TCP_CLOSE: what a bound, unconnected UDP socket shows (`ss -l` lists these for UDP).
pub const UDP_UNCONNECTED: u8 = 0x07;
/// `__SO_ACCEPTCON` in the `Flags` column of `/proc/net/unix`: a listening socket.
const SO_ACCEPTCON: u32 = 0x0001_0000;

/// One line of a TCP or UDP table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InetSocket {
    pub local: IpAddr,
    pub local_port: u16,
    pub remote: IpAddr,
    pub remote_port: u16,
    pub state: u8,
    pub uid: u32,
    pub inode: u64,
}

/// One line of `/proc/net/tcp*` or `/proc/net/udp*`:
/// `sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...`. Addresses are the
/// in-memory bytes printed as native-endian 32-bit words (one for IPv4, four for IPv6); ports
/// are in host order. `None` for the header and anything malformed.
pub fn parse_inet_line(line: &str) -> Option<InetSocket> {
    let mut f = line.split_ascii_whitespace();
    let sl = f.next()?;
    if !sl.ends_with(':') || !sl[..sl.len() - 1].bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (local, local_port) = endpoint(f.next()?)?;
    let (remote, remote_port) = endpoint(f.next()?)?;
    if local.is_ipv4() != remote.is_ipv4() {
        return None;
    }
    let st = f.next()?;
    let state = (st.len() == 2).then(|| u8::from_str_radix(st, 16).ok())??;
    let _queues = f.next()?;
    let _timer = f.next()?;
    let _retransmits = f.next()?;
    let uid = f.next()?.parse().ok()?;
    let _timeout = f.next()?;
    let inode = f.next()?.parse().ok()?;
    Some(InetSocket {
        local,
        local_port,
        remote,
        remote_port,
        state,
        uid,
        inode,
    })
}

/// `0100007F:0277` or 32 hex digits and a port.
fn endpoint(s: &str) -> Option<(IpAddr, u16)> {
    let (addr, port) = s.split_once(':')?;
    if port.len() != 4 || !addr.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |i: usize| -> Option<[u8; 4]> {
        Some(
            u32::from_str_radix(addr.get(i * 8..i * 8 + 8)?, 16)
                .ok()?
                .to_ne_bytes(),
        )
    };
    let ip = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        32 => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                b[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some((ip, port))
}

/// One line of `/proc/net/unix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnixSocket {
    pub listening: bool,
    /// `SOCK_STREAM` 1, `SOCK_DGRAM` 2, `SOCK_SEQPACKET` 5.
    pub socket_type: u16,
    pub state: u8,
    pub inode: u64,
    /// The bound path as the kernel prints it (an abstract name starts with `@`); `None` when
    /// unbound.
    pub path: Option<String>,
}

impl UnixSocket {
    pub fn type_name(&self) -> &'static str {
        match self.socket_type {
            1 => "stream",
            2 => "dgram",
            5 => "seqpacket",
            _ => "other",
        }
    }
}

/// `Num: RefCount Protocol Flags Type St Inode Path`, e.g.
/// `0000000000000000: 00000002 00000000 00010000 0001 01 12345 /run/x.sock`. The path is the
/// rest of the line after one space: it may itself contain spaces.
pub fn parse_unix_line(line: &str) -> Option<UnixSocket> {
    let mut rest = line.strip_suffix('\n').unwrap_or(line);
    let mut token = || -> Option<&str> {
        let t = rest.trim_start_matches(' ');
        let end = t.find(' ').unwrap_or(t.len());
        let (tok, after) = t.split_at(end);
        rest = after;
        (!tok.is_empty()).then_some(tok)
    };
    let num = token()?;
    if !num.ends_with(':') || !num[..num.len() - 1].bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let hex = |s: &str, len: usize| (s.len() == len).then(|| u32::from_str_radix(s, 16).ok())?;
    let _refcount = hex(token()?, 8)?;
    let _protocol = hex(token()?, 8)?;
    let flags = hex(token()?, 8)?;
    let socket_type = u16::try_from(hex(token()?, 4)?).ok()?;
    let state = u8::try_from(hex(token()?, 2)?).ok()?;
    let inode = token()?.parse().ok()?;
    let path = match rest.strip_prefix(' ') {
        Some(p) if !p.is_empty() => Some(p.to_string()),
        _ if rest.trim().is_empty() => None,
        _ => return None,
    };
    Some(UnixSocket {
        listening: flags & SO_ACCEPTCON != 0,
        socket_type,
        state,
        inode,
        path,
    })
}

/// The inode of a `/proc/PID/fd/N` link target `socket:[12345]`; `None` for anything else.
pub fn socket_inode(link: &[u8]) -> Option<u64> {
    bracketed_number(link.strip_prefix(b"socket:[")?)
}

/// The namespace inode of a `/proc/PID/ns/net` link target `net:[4026531840]`.
pub fn net_ns_inode(link: &[u8]) -> Option<u64> {
    bracketed_number(link.strip_prefix(b"net:[")?)
}

/// `DIGITS]` as the kernel prints an inode (`%lu`: no sign, no leading zero).
fn bracketed_number(rest: &[u8]) -> Option<u64> {
    let digits = rest.strip_suffix(b"]")?;
    if digits.is_empty()
        || digits.len() > 20
        || (digits[0] == b'0' && digits.len() > 1)
        || !digits.iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4_hex(a: Ipv4Addr) -> String {
        format!("{:08X}", u32::from_ne_bytes(a.octets()))
    }

    fn v6_hex(a: Ipv6Addr) -> String {
        a.octets()
            .chunks(4)
            .map(|c| format!("{:08X}", u32::from_ne_bytes([c[0], c[1], c[2], c[3]])))
            .collect()
    }

    #[test]
    fn tcp_and_udp_lines() {
        let lo = v4_hex(Ipv4Addr::LOCALHOST);
        let line = format!(
            "   0: {lo}:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 43210 1 0000000000000000 100 0 0 10 0"
        );
        let s = parse_inet_line(&line).unwrap();
        assert_eq!(s.local, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(
            (s.local_port, s.state, s.uid, s.inode),
            (8080, TCP_LISTEN, 1000, 43210)
        );
        let six: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let line = format!(
            "  12: {}:0035 {}:D431 07 00000000:00000000 00:00000000 00000000     0        0 99 2 0000000000000000 0",
            v6_hex(six),
            v6_hex(Ipv6Addr::UNSPECIFIED)
        );
        let s = parse_inet_line(&line).unwrap();
        assert_eq!((s.local, s.local_port), (IpAddr::V6(six), 53));
        assert_eq!(
            (s.remote_port, s.state, s.inode),
            (0xD431, UDP_UNCONNECTED, 99)
        );
    }

    #[test]
    fn hostile_inet_lines() {
        let lo = v4_hex(Ipv4Addr::LOCALHOST);
        for line in [
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
            "",
            "0:",
            &format!(
                "   0: {lo}:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0"
            ),
            &format!("   0: {lo}:1F90 00000000000000000000000000000000:0000 0A a b c 0 0 1"),
            &format!("   0: {lo}:1F9 00000000:0000 0A a b c 0 0 1"),
            &format!("   0: {lo}:1F90 00000000:0000 0AA a b c 0 0 1"),
            &format!("   x: {lo}:1F90 00000000:0000 0A a b c 0 0 1"),
            &format!("   0: {lo}:1F90 00000000:0000 0A a b c -1 0 1"),
            "   0: 0100007G:1F90 00000000:0000 0A a b c 0 0 1",
            "   0: 01000:1F90 00000000:0000 0A a b c 0 0 1",
            "   0: +1000007:1F90 00000000:0000 0A a b c 0 0 1",
        ] {
            assert_eq!(parse_inet_line(line), None, "{line}");
        }
    }

    #[test]
    fn unix_lines() {
        let s = parse_unix_line(
            "0000000000000000: 00000002 00000000 00010000 0001 01 12345 /run/my dir/x.sock",
        )
        .unwrap();
        assert!(s.listening);
        assert_eq!((s.type_name(), s.state, s.inode), ("stream", 1, 12345));
        assert_eq!(s.path.as_deref(), Some("/run/my dir/x.sock"));
        let s = parse_unix_line("ffff8e7c: 00000003 00000000 00000000 0002 03     7\n").unwrap();
        assert!(!s.listening);
        assert_eq!((s.type_name(), s.inode, s.path), ("dgram", 7, None));
        let s = parse_unix_line("ffff8e7c: 00000002 00000000 00010000 0005 01 8 @abstract@name")
            .unwrap();
        assert_eq!(s.path.as_deref(), Some("@abstract@name"));
        for line in [
            "Num       RefCount Protocol Flags    Type St Inode Path",
            "ffff8e7c: 00000002 00000000 00010000 0005 01",
            "ffff8e7c: 00000002 00000000 00010000 0005 01 x /p",
            "ffff8e7c: 0000002 00000000 00010000 0005 01 8 /p",
            "ffff8e7c: 00000002 00000000 00010000 00005 01 8 /p",
            "ffff8e7c 00000002 00000000 00010000 0005 01 8 /p",
            "ffff8e7c: 00000002 00000000 00010000 0005 01 8\t/p",
        ] {
            assert_eq!(parse_unix_line(line), None, "{line}");
        }
    }

    #[test]
    fn links() {
        assert_eq!(socket_inode(b"socket:[12345]"), Some(12345));
        assert_eq!(net_ns_inode(b"net:[4026531840]"), Some(4026531840));
        for bad in [
            &b"socket:[]"[..],
            b"socket:[12a]",
            b"socket:[123",
            b"pipe:[123]",
            b"/tmp/socket:[1]",
            b"socket:[99999999999999999999999]",
            b"socket:[-1]",
            b"socket:[045]",
            b"socket:[+45]",
        ] {
            assert_eq!(socket_inode(bad), None);
            assert_eq!(net_ns_inode(bad), None);
        }
    }
}
