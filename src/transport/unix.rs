#![forbid(unsafe_code)]
//! The Unix socket: the same newline-delimited framing as stdio (so `socat - UNIX-CONNECT:PATH`
//! turns it into a stdio server for any client), one session per connection, and the peer named
//! by the kernel (`SO_PEERCRED`), never by what it sends. A peer no `unix.peers` rule matches is
//! refused and audited before a byte is read.
//!
//! Bounds: at most `unix.max_connections` connections (one more is refused and closed);
//! `limits.max_in_flight` requests per connection (the session's own cap); a connection with no
//! input for `unix.idle_timeout_secs` is closed once its running calls answered; a write that
//! does not complete within `unix.write_timeout_secs` (a peer that stopped reading) closes the
//! connection, so a stalled peer holds a worker for at most that long and nothing is buffered
//! for it beyond one message.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::stdio::{LineSink, serve_lines};
use crate::audit::{EventKind, Outcome, Record};
use crate::auth::Caller;
use crate::error::Error;
use crate::log;
use crate::policy;
use crate::protocol::session::Sink;
use crate::server::{Server, audit_identity};
use crate::sys;

/// Where the listener came from.
pub enum Listener {
    /// Created here at `unix.path`.
    Bound(UnixListener),
    /// Passed in by systemd (`LISTEN_FDS`); its path and mode are the unit's business.
    Activated(UnixListener),
}

/// Creates the socket at `path` (`unix.path`, `unix.mode`, `unix.group`): its directory must be a real directory not writable by
/// group or others; an existing socket nobody listens on is replaced; a live one (another
/// sysgate) or any other kind of file is refused.
pub fn bind(path: &std::path::Path, mode: u32, group: Option<u32>) -> Result<UnixListener, Error> {
    let dir = path
        .parent()
        .ok_or_else(|| Error::Config(format!("unix.path {} has no directory", path.display())))?;
    let meta = fs::symlink_metadata(dir).map_err(|e| {
        Error::Config(format!(
            "unix.path: the directory {} cannot be used: {e}",
            dir.display()
        ))
    })?;
    if !meta.is_dir() {
        return Err(Error::Config(format!(
            "unix.path: {} is not a directory (a symbolic link is not accepted)",
            dir.display()
        )));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(Error::Config(format!(
            "unix.path: the directory {} is writable by group or others (mode {:04o}), so \
             anyone could replace the socket; use a directory only its owner can write, such as \
             /run/sysgate",
            dir.display(),
            meta.mode() & 0o7777
        )));
    }
    if meta.uid() != 0 && meta.uid() != sys::euid() {
        return Err(Error::Config(format!(
            "unix.path: the directory {} is owned by uid {}; required: root or the service user",
            dir.display(),
            meta.uid()
        )));
    }
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("unix.path", e)),
        Ok(m) if m.file_type().is_socket() => {
            if UnixStream::connect(path).is_ok() {
                return Err(Error::Config(format!(
                    "unix.path: {} is in use by a running server; refusing to take it over",
                    path.display()
                )));
            }
            fs::remove_file(path).map_err(|e| Error::io("removing the stale socket", e))?;
            log::info(&format!("replaced the stale socket {}", path.display()));
        }
        Ok(_) => {
            return Err(Error::Config(format!(
                "unix.path: {} exists and is not a socket; refusing to replace it",
                path.display()
            )));
        }
    }
    // The process umask is 077, so the socket is created 0700-ish and opened up below only as
    // far as the config says.
    let listener = UnixListener::bind(path).map_err(|e| Error::io("binding unix.path", e))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io("setting unix.mode", e))?;
    if let Some(gid) = group {
        std::os::unix::fs::lchown(path, None, Some(gid))
            .map_err(|e| Error::io("setting unix.group on the socket", e))?;
    }
    Ok(listener)
}

/// The groups that peer rules match for `uid`: its primary group, then every group whose member
/// list names its user.
fn peer_groups(uid: u32, gid: u32) -> (Vec<u32>, Option<String>) {
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    let name = passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 3 && f[2].parse() == Ok(uid)).then(|| f[0].to_string())
    });
    let mut gids = vec![gid];
    if let Some(name) = &name {
        let group = fs::read_to_string("/etc/group").unwrap_or_default();
        for l in group.lines() {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() >= 4
                && f[3].split(',').any(|m| m == name)
                && let Ok(g) = f[2].parse::<u32>()
                && !gids.contains(&g)
            {
                gids.push(g);
            }
        }
    }
    (gids, name)
}

/// A writer that shuts the connection down on the first failed write (a peer that stopped
/// reading hits the write timeout) and says so, so the session's reader stops and its calls are
/// cancelled.
struct Conn(UnixStream, Arc<AtomicBool>);

impl Write for Conn {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.write(b).inspect_err(|_| {
            self.1.store(true, Ordering::Release);
            let _ = self.0.shutdown(std::net::Shutdown::Both);
        })
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

fn refuse(server: &Server, caller: &Caller, reason: &str) {
    let snap = server.snapshot();
    snap.audit_or_log(
        Record::new(EventKind::AuthFailure)
            .client(audit_identity(caller))
            .result(Outcome::Denied)
            .reason(reason),
    );
    log::warn(&format!("unix: refused {}: {reason}", caller.identity));
}

/// Accepts connections until the server closes; each gets its own thread and session.
pub fn serve(server: Arc<Server>, listener: Listener) -> Result<(), Error> {
    let (listener, activated) = match listener {
        Listener::Bound(l) => (l, false),
        Listener::Activated(l) => (l, true),
    };
    let open = Arc::new(AtomicUsize::new(0));
    log::info(&format!(
        "unix: accepting connections{}",
        if activated {
            " (socket activation)"
        } else {
            ""
        }
    ));
    for conn in listener.incoming() {
        let stream = match conn {
            Ok(s) => s,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // EMFILE and friends: wait a little rather than spin.
                log::warn(&format!("unix: accept failed: {e}"));
                std::thread::sleep(std::time::Duration::from_millis(50));
                continue;
            }
        };
        let config = server.config();
        // Read per connection, so a reload's limits apply to the next one.
        let Some(limits) = config.unix.as_ref().map(|u| Limits {
            max_connections: u.max_connections,
            idle: u.idle_timeout,
            write: u.write_timeout,
        }) else {
            continue;
        };
        let cred = match sys::peer_cred(&stream) {
            Ok(c) => c,
            Err(e) => {
                log::warn(&format!("unix: no peer credentials: {e}"));
                continue;
            }
        };
        let (gids, name) = peer_groups(cred.uid, cred.gid);
        let caller = Caller::unix_peer(cred.uid, cred.pid, gids, name.as_deref());
        if policy::unix_grant(&config.scopes, cred.uid, &caller.gids).is_none() {
            refuse(&server, &caller, "no unix.peers rule matches this peer");
            continue;
        }
        if open.fetch_add(1, Ordering::AcqRel) >= limits.max_connections {
            open.fetch_sub(1, Ordering::AcqRel);
            refuse(
                &server,
                &caller,
                &format!("unix.max_connections ({}) reached", limits.max_connections),
            );
            continue;
        }
        drop(config);
        let server = Arc::clone(&server);
        let open = Arc::clone(&open);
        let spawned = std::thread::Builder::new()
            .name("sysgate-unix-conn".into())
            .spawn(move || {
                connection(&server, caller, stream, &limits);
                open.fetch_sub(1, Ordering::AcqRel);
            });
        if let Err(e) = spawned {
            log::warn(&format!("unix: cannot start a connection thread: {e}"));
        }
    }
    Ok(())
}

/// What a connection is held to (from `unix.*`).
struct Limits {
    max_connections: usize,
    idle: std::time::Duration,
    write: std::time::Duration,
}

fn connection(server: &Arc<Server>, caller: Caller, stream: UnixStream, cfg: &Limits) {
    let setup = stream
        .set_read_timeout(Some(cfg.idle))
        .and_then(|()| stream.set_write_timeout(Some(cfg.write)))
        .and_then(|()| stream.try_clone());
    let writer = match setup {
        Ok(w) => w,
        Err(e) => {
            log::warn(&format!("unix: connection setup failed: {e}"));
            return;
        }
    };
    server.audit_session(&caller);
    let identity = caller.identity.clone();
    let broken = Arc::new(AtomicBool::new(false));
    let sink: Arc<dyn Sink> = Arc::new(LineSink::new(Conn(writer, Arc::clone(&broken))));
    let end = match serve_lines(Arc::clone(server), caller, &stream, sink, Some(&broken)) {
        Ok(()) => "peer closed the connection".to_string(),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            format!("idle for {} s", cfg.idle.as_secs())
        }
        Err(e) => format!("read error: {e}"),
    };
    let _ = stream.shutdown(std::net::Shutdown::Both);
    log::debug(&format!("unix: {identity}: {end}"));
}
