#![forbid(unsafe_code)]
//! The tamper-evident audit log: JSONL records chained by HMAC-SHA256, size/count rotation,
//! optional identity anonymisation, optional syslog forwarding, and the verifier behind
//! `sysgate audit verify`.
//!
//! # Using it
//!
//! ```no_run
//! use std::path::PathBuf;
//! use sysgate::testing::audit::*;
//!
//! let key = AuditKey::load(&SecretSource::File("/etc/sysgate/audit.key".into()))?;
//! let mut settings = AuditSettings::new("/var/log/sysgate/audit.jsonl", key.clone());
//! settings.max_size_bytes = 100 * 1024 * 1024;
//! settings.max_files = 10;
//! settings.syslog = Some(SyslogSettings::new(SyslogTransport::Unix("/dev/log".into())));
//! let log = AuditLog::open(settings)?; // share as Arc<AuditLog>; `append` takes &self
//!
//! log.append(Record::new(EventKind::Query).tool("get_cpu_info").result(Outcome::Success))?;
//!
//! let report = verify(&[PathBuf::from("/var/log/sysgate/audit.jsonl")], &key)?;
//! println!("{report}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! * `append` returns `Err` whenever the record is not safely in the file (disk full, I/O error,
//!   the file removed, replaced, shrunk or ended by a line that does not verify, a rotation that
//!   failed, another process holding the file locked past `lock_timeout`). The caller must then
//!   refuse the call: DESIGN says an unauditable call does not run.
//! * `append` is safe to call from many threads (one mutex orders them) and from several
//!   processes at once (several stdio servers, `sysgate query` beside a server): each append
//!   holds an exclusive `flock` on the file, re-reads the chain's end when another process has
//!   written, and follows another process's rotation. The chain order is the write order.
//! * The syslog copy is best effort: it never blocks or fails `append` (see [`SyslogSettings`]).
//!
//! # Record format
//!
//! One JSON object per line, keys in sorted (byte) order, absent fields omitted, `mac` last. The
//! first record of a chain, under the key `000102…1f` (the bytes 0 to 31):
//!
//! ```text
//! {"client":{"peer_uid":"1000","transport":"stdio"},"duration_ms":12,"event":"query","output_bytes":2048,"params":{"per_cpu":true},"prev":"0000000000000000000000000000000000000000000000000000000000000000","redactions":0,"request_id":"42","result":"success","scopes":["core"],"seq":0,"tool":"get_cpu_info","ts":"2024-12-12T10:50:45.123Z","mac":"541f48a663fc71c3a547912040f0233e03c3288b4e5a8539d1a66210b1e34cd1"}
//! ```
//!
//! | field | meaning |
//! |---|---|
//! | `ts` | when the event happened: RFC 3339, UTC, milliseconds |
//! | `event` | one of [`EventKind`]: `startup`, `auth_success`, `auth_failure`, `query`, `query_denied`, `redaction`, `rate_limited`, `limit_exceeded`, `approval_requested`, `approval_approved`, `approval_denied`, `config_reload`, `shutdown` |
//! | `request_id` | correlates the records of one request |
//! | `tool`, `params` | the tool called and its arguments, redacted by the caller |
//! | `client` | `transport`, `ip`, `mtls_subject`, `jwt_sub`, `peer_uid` (each optional; hashed when anonymised) |
//! | `scopes` | scopes the caller held (or was granted, for `auth_success`) |
//! | `result` | `success`, `error`, `denied`, `timeout`, `cancelled` |
//! | `duration_ms`, `output_bytes`, `redactions` | what the call cost and produced |
//! | `reason`, `detail` | why (free text) and event-specific data; never secrets |
//! | `seq` | 0, 1, 2, … across the whole chain: across rotations and restarts |
//! | `prev` | hex MAC of the previous record; 64 zeros for the first record of a chain |
//! | `mac` | hex HMAC-SHA256 under the audit key of the line's canonical content |
//!
//! **Canonical content** = the compact JSON of the record without `mac`, keys sorted (the writer
//! serialises through `serde_json::Value`, whose map is a `BTreeMap`), i.e. exactly the line's
//! bytes up to `,"mac":"`, followed by `}`. `mac = HMAC-SHA256(key, canonical)`. Since `prev` is
//! part of the canonical content, each MAC covers the previous one. An independent check needs
//! nothing but an HMAC: `body, m = line.rsplit(',"mac":"', 1)`, then compare
//! `hmac_sha256(key, body + "}")` with `m[:64]`.
//!
//! # Key and salt
//!
//! Hex text (surrounding whitespace ignored), at least 32 bytes once decoded
//! (`openssl rand -hex 32`), from a file or an environment variable ([`SecretSource`]). A key file
//! is opened with `O_NOFOLLOW` and must be a regular file owned by root or the effective uid,
//! mode 0600 or stricter; the error names the file, the mode found and the mode required.
//! Changing the key starts a new chain: verify and move the old files aside first (`open` refuses
//! to continue a chain whose last record does not verify under the configured key).
//!
//! # Files
//!
//! The log file and new rotated-in files are created 0600 (regardless of umask). An existing
//! file must be a regular file owned by root or the effective uid and not writable by group or
//! others nor readable by others (0640 is the loosest accepted); its directory must not be
//! writable by group or others. When a record would take the file past `max_size_bytes`, the
//! file becomes `PATH.1` (older ones shift to `.2` … up to `.max_files`; the oldest is deleted) and
//! a fresh `PATH` continues the same chain. On `open` (and whenever another process has written),
//! `seq` and `prev` continue from the last record of `PATH` (or of `PATH.1` when `PATH` is empty
//! or absent), which must verify under the key. A file ending in an incomplete line (a crash
//! mid-write) is refused with the exact `truncate` size to repair it. Files are not compressed.
//!
//! `PATH.head` (created 0600, checked like the log) holds the newest record's `seq` and MAC,
//! MACed with the key, rewritten in place after every record. When the files do not end where the
//! head says (records cut off the end, the log emptied or replaced, the head deleted or damaged),
//! the writer puts a MACed `audit_gap` record next, continuing after the head, so no `seq` is
//! ever reused; [`verify`](fn@verify) reports gap records and whether the log reaches its head.
//!
//! # What verification can and cannot show
//!
//! [`verify()`] detects an edited, inserted, deleted, reordered or replayed record, a cut last line,
//! and a missing rotated file, naming the file and line; with the head, also the removal of the
//! newest records. It cannot detect, from the files alone, the removal of the *oldest* files
//! (rotation deletes those legitimately), nor the removal of the log, its rotations and the head
//! together: compare the report's last `seq`/MAC with a copy kept elsewhere (the syslog forward),
//! and note whether the chain starts at genesis.

mod chain;
mod head;
mod key;
mod log;
mod record;
mod settings;
mod syslog;
mod verify;

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

pub use key::{AuditKey, IdentityHasher, SecretSource};
pub use log::{AuditLog, AuditSettings};
/// Also for tool results that carry a time (`get_sessions_and_time`).
pub use record::format_rfc3339_millis;
pub use record::{ClientIdentity, EventKind, Outcome, Record, redact_keys};
pub use settings::Settings;
pub use syslog::{Facility, SyslogSettings, SyslogTransport};
pub use verify::{VerifyError, verify};

/// Why the audit log could not be opened or a record could not be written.
#[derive(Debug)]
pub enum AuditError {
    /// A setting is out of range.
    Settings(String),
    /// A key or salt could not be loaded: where from, and what is wrong with it.
    Secret { source: String, problem: String },
    /// An I/O operation failed.
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// A file or directory is not safe to use: what was found and what is required.
    Insecure {
        path: PathBuf,
        found: String,
        required: String,
    },
    /// The existing log cannot be continued.
    Existing { path: PathBuf, problem: String },
    /// The file being written was removed, replaced or changed by someone else since it was opened.
    Tampered { path: PathBuf, problem: String },
    /// A record could not be encoded as JSON.
    Encode(String),
    /// One record would be larger than `MAX_LINE_BYTES`.
    TooLarge { bytes: usize, max: usize },
    /// Another process held the file locked for longer than `lock_timeout`.
    Busy { path: PathBuf, waited: Duration },
    /// An earlier failure left the log in a state that cannot be continued safely.
    Unusable(String),
}

impl fmt::Display for AuditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditError::Settings(m) => write!(f, "audit settings: {m}"),
            AuditError::Secret { source, problem } if source.is_empty() => {
                write!(f, "audit secret: {problem}")
            }
            AuditError::Secret { source, problem } => write!(f, "audit secret: {source} {problem}"),
            AuditError::Io {
                action,
                path,
                source,
            } => write!(f, "audit log: cannot {action} {}: {source}", path.display()),
            AuditError::Insecure {
                path,
                found,
                required,
            } => write!(
                f,
                "audit log: {} {found}; required: {required}",
                path.display()
            ),
            AuditError::Existing { path, problem } => {
                write!(f, "audit log: {} {problem}", path.display())
            }
            AuditError::Tampered { path, problem } => write!(
                f,
                "audit log: {} {problem}; refusing to write (restart to start a new file)",
                path.display()
            ),
            AuditError::Encode(m) => write!(f, "audit record could not be encoded: {m}"),
            AuditError::TooLarge { bytes, max } => write!(
                f,
                "audit record of {bytes} bytes exceeds the {max}-byte limit; shorten params/detail"
            ),
            AuditError::Busy { path, waited } => write!(
                f,
                "audit log: {} stayed locked by another process for {} ms",
                path.display(),
                waited.as_millis()
            ),
            AuditError::Unusable(m) => write!(f, "audit log unusable: {m}"),
        }
    }
}

impl std::error::Error for AuditError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AuditError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

pub use crate::codec::hex;
use crate::codec::{hex_into, unhex};

#[cfg(test)]
pub(crate) use crate::testdir;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        let all: Vec<u8> = (0..=255).collect();
        let h = hex(&all);
        assert_eq!(&h[..6], "000102");
        assert_eq!(unhex(h.as_bytes()).unwrap(), all);
        assert_eq!(unhex(b"ABcd").unwrap(), [0xab, 0xcd]);
        assert_eq!(unhex(b""), Some(vec![]));
        for bad in [&b"abc"[..], b"0g", b"  ", b"+1"] {
            assert_eq!(unhex(bad), None, "{bad:?}");
        }
    }
}
