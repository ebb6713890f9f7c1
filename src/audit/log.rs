#![forbid(unsafe_code)]
//! The writer. Within a process one mutex orders the records; across processes (several stdio
//! servers, `sysgate query` beside a running server) an exclusive `flock` on the file does, and
//! each writer re-reads the chain's end from the file whenever another one has written to it.
//! See the module docs for the format and the file rules.

use std::fs::{File, Permissions, TryLockError};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::chain::{self, GENESIS, MAC_LEN, Opened};
use super::head::{self, Gap, Head};
use super::key::{AuditKey, IdentityHasher};
use super::record::{EventKind, Outcome, Record};
use super::syslog::{Forwarder, SyslogSettings, SyslogStats};
use super::{AuditError, hex};

/// Longest line the writer produces and the verifier reads.
pub const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;
const MAX_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// How to run the audit log. Build with `new`, then set fields.
#[derive(Debug)]
pub struct AuditSettings {
    /// The current file, e.g. `/var/log/sysgate/audit.jsonl`; rotated files are `PATH.1`, `PATH.2`, …
    pub path: PathBuf,
    pub key: AuditKey,
    /// Rotate before a record would take the file past this size. Default 100 MiB.
    pub max_size_bytes: u64,
    /// Rotated files kept (`PATH.1` … `PATH.max_files`); at least 1. Default 10.
    pub max_files: u32,
    /// `fdatasync` after every record (and sync the directory on rotation). Default off: a crash
    /// may then lose the last records still in the page cache, which verification shows only as
    /// a shorter chain.
    pub fsync: bool,
    /// How long `append` waits for another process's lock on the file before failing. Default
    /// 5 s, at most 60 s.
    pub lock_timeout: Duration,
    /// Hash caller identities before writing (`anonymize_identity`).
    pub anonymize: Option<IdentityHasher>,
    /// Forward a copy of every record to syslog.
    pub syslog: Option<SyslogSettings>,
}

impl AuditSettings {
    pub fn new(path: impl Into<PathBuf>, key: AuditKey) -> Self {
        AuditSettings {
            path: path.into(),
            key,
            max_size_bytes: 100 * 1024 * 1024,
            max_files: 10,
            fsync: false,
            lock_timeout: Duration::from_secs(5),
            anonymize: None,
            syslog: None,
        }
    }
}

/// The open audit log. `Send + Sync`: share it behind an `Arc`.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    key: AuditKey,
    max_size_bytes: u64,
    max_files: u32,
    fsync: bool,
    lock_timeout: Duration,
    anonymize: Option<IdentityHasher>,
    forwarder: Option<Forwarder>,
    /// `PATH.head`, open for the life of the log; written under the log file's lock.
    head: File,
    head_path: PathBuf,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    file: File,
    /// (device, inode) of `file`, to notice the path being rotated, removed or replaced.
    id: (u64, u64),
    /// Length of `file` when we last released its lock; `None` after (re)opening. Any other
    /// length means another process wrote, and the chain's end is read again from the file.
    known_len: Option<u64>,
    next_seq: u64,
    prev: [u8; MAC_LEN],
    /// Set when a failure left the files in a state we must not write past.
    broken: Option<String>,
    /// The files do not end where the head says: the next record written is a gap record.
    pending_gap: Option<Gap>,
}

/// What one attempt under the file lock achieved.
enum Step {
    /// The line is in the file (and its head updated).
    Written,
    /// The file was switched (our rotation or another process's); try again on the new one.
    Again,
}

impl AuditLog {
    /// Opens (or creates) the log and continues its chain. Fails if a setting is out of range,
    /// the file or its directory is not safe, or the existing chain cannot be continued.
    pub fn open(settings: AuditSettings) -> Result<AuditLog, AuditError> {
        if settings.max_size_bytes == 0 {
            return Err(AuditError::Settings(
                "max_size_bytes must be at least 1".into(),
            ));
        }
        if settings.max_files == 0 {
            return Err(AuditError::Settings(
                "max_files must be at least 1 (rotation keeps the previous file as PATH.1)".into(),
            ));
        }
        if settings.lock_timeout > MAX_LOCK_TIMEOUT {
            return Err(AuditError::Settings(format!(
                "lock_timeout must be at most {} s: a call should not wait longer for the log",
                MAX_LOCK_TIMEOUT.as_secs()
            )));
        }
        let path = settings.path;
        check_dir(&path)?;
        let file = open_log_file(&path)?;
        let meta = file.metadata().map_err(io_err("examine", &path))?;
        check_file(&path, &meta)?;
        let head_path = head::head_path(&path);
        let head = head::open(&head_path).map_err(|e| open_err(&head_path, e))?;
        check_file(
            &head_path,
            &head.metadata().map_err(io_err("examine", &head_path))?,
        )?;
        let mut log = AuditLog {
            key: settings.key,
            max_size_bytes: settings.max_size_bytes,
            max_files: settings.max_files,
            fsync: settings.fsync,
            lock_timeout: settings.lock_timeout,
            anonymize: settings.anonymize,
            forwarder: None,
            head,
            head_path,
            state: Mutex::new(State {
                id: (meta.dev(), meta.ino()),
                file,
                known_len: None,
                next_seq: 0,
                prev: GENESIS,
                broken: None,
                pending_gap: None,
            }),
            path,
        };
        // Read the chain's end now, so that a log we cannot continue stops the server at start.
        let st = log.state.get_mut().map_err(|_| {
            AuditError::Unusable("a thread panicked while opening the audit log".into())
        })?;
        let deadline = Instant::now() + log.lock_timeout;
        lock_file(&st.file, &log.path, deadline, log.lock_timeout)?;
        let synced = log_sync(&log.key, &log.path, &log.head, st);
        // The lock also goes with the handle; unlocking a valid descriptor does not fail.
        let _ = st.file.unlock();
        synced?;
        let gap = st.pending_gap.is_some();
        log.forwarder = settings.syslog.map(Forwarder::start).transpose()?;
        if gap {
            // On the record at once, before anything else happens under this chain.
            log.write(None)?;
        }
        Ok(log)
    }

    /// Appends one record: anonymises identities if configured, adds `seq`, `prev` and `mac`,
    /// rotates if needed, writes the line with one `write` (then `fdatasync` if configured), and
    /// queues a syslog copy. `Ok` means the record is in the file; on `Err` it is not (a partial
    /// write is cut off again) and the caller must refuse the call it was auditing.
    pub fn append(&self, mut record: Record) -> Result<(), AuditError> {
        if let (Some(h), Some(c)) = (&self.anonymize, record.client.as_mut()) {
            h.anonymize(c);
        }
        self.write(Some(record))
    }

    /// Writes `record` (preceded by a pending gap record, if any); `None`: only the gap record.
    fn write(&self, record: Option<Record>) -> Result<(), AuditError> {
        // Serialise outside the lock; only seq and prev depend on the chain.
        let mut fields = record
            .map(|r| Ok::<_, AuditError>((fields_of(&r)?, r.event.name(), r.ts)))
            .transpose()?;
        let mut guard = self.state.lock().map_err(|_| {
            AuditError::Unusable("a thread panicked while writing the audit log".into())
        })?;
        let st = &mut *guard;
        if let Some(why) = &st.broken {
            return Err(AuditError::Unusable(why.clone()));
        }
        // Bounded by time, not attempts: each switch of file (a rotation, ours or another
        // process's) costs one more round.
        let deadline = Instant::now() + self.lock_timeout;
        loop {
            lock_file(&st.file, &self.path, deadline, self.lock_timeout)?;
            let step = self.locked_step(st, fields.as_mut());
            if !matches!(step, Ok(Step::Again)) {
                // An `Again` dropped the locked handle, and the lock with it.
                let _ = st.file.unlock();
            }
            match step? {
                Step::Again if Instant::now() < deadline => continue,
                Step::Again => {
                    return Err(AuditError::Unusable(format!(
                        "{} kept being rotated or replaced under the writer",
                        self.path.display()
                    )));
                }
                Step::Written => return Ok(()),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Counters of the syslog forwarder, if one is configured.
    pub fn syslog_stats(&self) -> Option<SyslogStats> {
        self.forwarder.as_ref().map(Forwarder::stats)
    }

    /// Closes the log, giving the syslog forwarder up to `wait` to send what is queued.
    pub fn close(self, wait: Duration) -> Option<SyslogStats> {
        self.forwarder.map(|f| f.close(wait))
    }

    /// One attempt with `st.file` locked: the pending gap record, then the record (if any).
    fn locked_step(
        &self,
        st: &mut State,
        record: Option<&mut (Map<String, Value>, &'static str, String)>,
    ) -> Result<Step, AuditError> {
        if !self.follow_path(st)? {
            return Ok(Step::Again);
        }
        log_sync(&self.key, &self.path, &self.head, st)?;
        if let Some(gap) = &st.pending_gap {
            let r = gap_record(gap);
            let mut fields = fields_of(&r)?;
            if let Step::Again = self.seal_write(st, &mut fields, r.event.name(), &r.ts)? {
                return Ok(Step::Again);
            }
            st.pending_gap = None;
        }
        match record {
            None => Ok(Step::Written),
            Some((fields, msgid, ts)) => self.seal_write(st, fields, msgid, ts),
        }
    }

    /// Adds `seq` and `prev`, seals, rotates first if needed (`Again`), writes the line, moves
    /// the head to it and queues the syslog copy.
    fn seal_write(
        &self,
        st: &mut State,
        fields: &mut Map<String, Value>,
        msgid: &'static str,
        ts: &str,
    ) -> Result<Step, AuditError> {
        fields.insert("seq".into(), st.next_seq.into());
        fields.insert("prev".into(), hex(&st.prev).into());
        let canonical =
            serde_json::to_vec(&*fields).map_err(|e| AuditError::Encode(e.to_string()))?;
        let (line, mac) = chain::seal(&self.key, &canonical);
        if line.len() > MAX_LINE_BYTES {
            return Err(AuditError::TooLarge {
                bytes: line.len(),
                max: MAX_LINE_BYTES,
            });
        }
        let Some(next_seq) = st.next_seq.checked_add(1) else {
            return Err(AuditError::Unusable("seq reached its maximum".into()));
        };
        let len = st.known_len.unwrap_or(0);
        if len > 0 && len.saturating_add(line.len() as u64) > self.max_size_bytes {
            self.rotate(st)?;
            return Ok(Step::Again);
        }
        self.write_line(st, len, &line)?;
        let written = Head {
            seq: st.next_seq,
            mac,
        };
        st.next_seq = next_seq;
        st.prev = mac;
        // After the line (and its fdatasync): a head never names a record the log lacks, except
        // when the log is cut afterwards, which is what it is there to show.
        if let Err(e) = head::write(&self.key, &self.head, &written, self.fsync) {
            st.broken = Some(format!(
                "a record was written but {} could not be updated ({e}); restart after fixing the cause",
                self.head_path.display()
            ));
            return Err(io_err("write to", &self.head_path)(e));
        }
        if let Some(f) = &self.forwarder {
            let mut line = line;
            line.pop(); // the newline
            f.send(msgid, ts.to_string(), line);
        }
        Ok(Step::Written)
    }

    /// Whether the path still names our file. If not (another process rotated it, or someone
    /// removed or replaced it), switch to what the path names now and return `false`: the sync
    /// that follows accepts it only if its chain verifies and has not gone back.
    fn follow_path(&self, st: &mut State) -> Result<bool, AuditError> {
        if file_id(&self.path)? == Some(st.id) {
            return Ok(true);
        }
        let file = open_log_file(&self.path)?;
        let meta = file.metadata().map_err(io_err("examine", &self.path))?;
        check_file(&self.path, &meta)?;
        st.file = file;
        st.id = (meta.dev(), meta.ino());
        st.known_len = None;
        Ok(false)
    }

    /// Writes at `len` (the file's length, which the lock keeps still); updates `known_len`.
    fn write_line(&self, st: &mut State, len: u64, line: &[u8]) -> Result<(), AuditError> {
        let written = st.file.write_all(line).and_then(|()| {
            if self.fsync {
                st.file.sync_data()
            } else {
                Ok(())
            }
        });
        match written {
            Ok(()) => {
                st.known_len = Some(len + line.len() as u64);
                Ok(())
            }
            Err(e) => {
                // Cut the file back to its last complete record, so the next record does not
                // follow a fragment (and an unsynced record does not stay without its call).
                if let Err(e2) = st.file.set_len(len) {
                    st.broken = Some(format!(
                        "a write to {} failed ({e}) and the partial record could not be cut off ({e2})",
                        self.path.display()
                    ));
                }
                Err(io_err("write to", &self.path)(e))
            }
        }
    }

    /// PATH → PATH.1 → PATH.2 … → PATH.max_files (deleted), then a fresh PATH. A failure part way
    /// leaves a half-shifted set, so the log refuses further records until restarted.
    fn rotate(&self, st: &mut State) -> Result<(), AuditError> {
        match self.shift_and_create(&st.file) {
            Ok((file, id)) => {
                // Dropping the old handle releases its lock; waiting writers then follow the path.
                st.file = file;
                st.id = id;
                st.known_len = None;
                Ok(())
            }
            Err(e) => {
                st.broken = Some(format!(
                    "rotation failed ({e}); restart after fixing the cause"
                ));
                Err(e)
            }
        }
    }

    fn shift_and_create(&self, old: &File) -> Result<(File, (u64, u64)), AuditError> {
        old.sync_all().map_err(io_err("sync", &self.path))?;
        let oldest = rotated_path(&self.path, self.max_files);
        ignore_missing(std::fs::remove_file(&oldest)).map_err(io_err("remove", &oldest))?;
        for i in (1..self.max_files).rev() {
            let from = rotated_path(&self.path, i);
            ignore_missing(std::fs::rename(&from, rotated_path(&self.path, i + 1)))
                .map_err(io_err("rename", &from))?;
        }
        let first = rotated_path(&self.path, 1);
        std::fs::rename(&self.path, &first).map_err(io_err("rename", &self.path))?;
        // Another process may have created PATH in the moment it was missing; then we use its
        // file (and the sync under its lock reads what it wrote).
        let file = open_log_file(&self.path)?;
        if self.fsync {
            File::open(parent_dir(&self.path))
                .and_then(|d| d.sync_all())
                .map_err(io_err("sync the directory of", &self.path))?;
        }
        let meta = file.metadata().map_err(io_err("examine", &self.path))?;
        Ok((file, (meta.dev(), meta.ino())))
    }
}

/// Brings `st.next_seq`/`st.prev` up to date with the file (locked by the caller) if its length
/// is not what we left: the last record of the file, or of `PATH.1` if the file is empty. The
/// chain may only have grown, and its end must verify under our key.
///
/// Then the head decides: a log that does not reach its head continues after the head (its `seq`
/// numbers are never reused) with a gap record first (`pending_gap`).
fn log_sync(key: &AuditKey, path: &Path, head: &File, st: &mut State) -> Result<(), AuditError> {
    let len = st.file.metadata().map_err(io_err("examine", path))?.len();
    if st.known_len == Some(len) {
        return Ok(());
    }
    if let Some(known) = st.known_len.filter(|k| len < *k) {
        return Err(AuditError::Tampered {
            path: path.to_path_buf(),
            problem: format!("shrank from {known} to {len} bytes"),
        });
    }
    let last = match last_record(key, path, &st.file, len)? {
        Some(last) => Some(last),
        None => {
            let prev_path = rotated_path(path, 1);
            match File::options()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&prev_path)
            {
                Ok(f) => {
                    let len = f.metadata().map_err(io_err("examine", &prev_path))?.len();
                    last_record(key, &prev_path, &f, len)?
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                Err(e) => return Err(io_err("open", &prev_path)(e)),
            }
        }
    };
    let (next_seq, prev) = match &last {
        Some(o) => (o.seq.saturating_add(1), o.mac),
        None => (0, GENESIS),
    };
    if next_seq < st.next_seq {
        return Err(AuditError::Tampered {
            path: path.to_path_buf(),
            problem: format!(
                "now continues at seq {next_seq}, but seq {} was already written: records were \
                 removed or the file was replaced",
                st.next_seq - 1
            ),
        });
    }
    let head_path = head::head_path(path);
    let state = head::read(key, head).map_err(io_err("read", &head_path))?;
    match head::reconcile(last.map(|o| (o.seq, o.mac)), state) {
        None => {
            st.next_seq = next_seq;
            st.prev = prev;
            st.pending_gap = None;
        }
        Some(gap) => {
            st.next_seq = gap.resume_seq;
            st.prev = gap.prev;
            st.pending_gap = Some(gap);
        }
    }
    st.known_len = Some(len);
    Ok(())
}

fn fields_of(record: &Record) -> Result<Map<String, Value>, AuditError> {
    match serde_json::to_value(record) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(AuditError::Encode("not a JSON object".into())),
        Err(e) => Err(AuditError::Encode(e.to_string())),
    }
}

/// The visible, MACed record of a gap: what the files held, what the head said, and why.
fn gap_record(gap: &Gap) -> Record {
    Record::new(EventKind::AuditGap)
        .result(Outcome::Error)
        .reason(gap.cause.explain())
        .detail(serde_json::json!({
            "cause": gap.cause.name(),
            "after_seq": gap.after_seq,
            "head_seq": gap.head_seq,
        }))
}

/// Takes the exclusive `flock`, polling (with a short backoff) so that a stuck peer costs at
/// most until `deadline`; `flock` itself cannot time out.
fn lock_file(
    file: &File,
    path: &Path,
    deadline: Instant,
    timeout: Duration,
) -> Result<(), AuditError> {
    let mut pause = Duration::from_micros(10);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(1));
            }
            Err(TryLockError::WouldBlock) => {
                return Err(AuditError::Busy {
                    path: path.to_path_buf(),
                    waited: timeout,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io_err("lock", path)(e)),
        }
    }
}

/// (device, inode) of what `path` names, without following a symlink; `None` if nothing.
fn file_id(path: &Path) -> Result<Option<(u64, u64)>, AuditError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) => Ok(Some((m.dev(), m.ino()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("examine", path)(e)),
    }
}

/// `PATH.n`.
pub(crate) fn rotated_path(base: &Path, n: u32) -> PathBuf {
    let mut s = base.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> AuditError + 'a {
    move |source| AuditError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

fn ignore_missing(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}

fn owner_ok(uid: u32) -> bool {
    uid == 0 || uid == crate::sys::euid()
}

/// Whoever can write the directory can swap our files.
fn check_dir(path: &Path) -> Result<(), AuditError> {
    // The same rule as for every operator file: no links, no writable directory on the way.
    crate::secfile::check_parent_dirs(path, crate::sys::euid(), None).map_err(|p| {
        AuditError::Insecure {
            path: p.dir,
            found: p.found,
            required: crate::secfile::PARENT_RULE.into(),
        }
    })?;
    let dir = parent_dir(path);
    let meta = std::fs::metadata(dir).map_err(io_err("examine the directory", dir))?;
    let mode = meta.mode() & 0o7777;
    let found = if !meta.is_dir() {
        Some("is not a directory".to_string())
    } else if !owner_ok(meta.uid()) {
        Some(format!("is owned by uid {}", meta.uid()))
    } else if mode & 0o022 != 0 {
        Some(format!("has mode {mode:04o} (writable by group or others)"))
    } else {
        None
    };
    match found {
        None => Ok(()),
        Some(found) => Err(AuditError::Insecure {
            path: dir.to_path_buf(),
            found,
            required: format!(
                "a directory owned by root or uid {}, not writable by group or others",
                crate::sys::euid()
            ),
        }),
    }
}

fn check_file(path: &Path, meta: &std::fs::Metadata) -> Result<(), AuditError> {
    let mode = meta.mode() & 0o7777;
    let found = if !meta.is_file() {
        Some("is not a regular file".to_string())
    } else if !owner_ok(meta.uid()) {
        Some(format!("is owned by uid {}", meta.uid()))
    } else if mode & 0o027 != 0 {
        Some(format!("has mode {mode:04o}"))
    } else {
        None
    };
    match found {
        None => Ok(()),
        Some(found) => Err(AuditError::Insecure {
            path: path.to_path_buf(),
            found,
            required: format!(
                "a regular file owned by root or uid {}, mode 0640 or stricter",
                crate::sys::euid()
            ),
        }),
    }
}

/// Creates the file 0600 (whatever the umask); fails if it exists.
fn create_log_file(path: &Path) -> Result<File, AuditError> {
    let f = log_file_options()
        .create_new(true)
        .open(path)
        .map_err(|e| open_err(path, e))?;
    f.set_permissions(Permissions::from_mode(0o600))
        .map_err(io_err("set the mode of", path))?;
    Ok(f)
}

/// Creates the file, or opens the existing one; never through a symlink.
fn open_log_file(path: &Path) -> Result<File, AuditError> {
    match create_log_file(path) {
        Err(AuditError::Io { source, .. }) if source.kind() == io::ErrorKind::AlreadyExists => {
            log_file_options().open(path).map_err(|e| open_err(path, e))
        }
        r => r,
    }
}

fn log_file_options() -> std::fs::OpenOptions {
    let mut opts = File::options();
    opts.read(true)
        .append(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(0o600);
    opts
}

fn open_err(path: &Path, e: io::Error) -> AuditError {
    if e.raw_os_error() == Some(libc::ELOOP) {
        AuditError::Insecure {
            path: path.to_path_buf(),
            found: "is a symbolic link".into(),
            required: "a regular file".into(),
        }
    } else {
        io_err("open", path)(e)
    }
}

/// The last record of `file` (of length `len`), checked under `key`; `None` if the file is empty.
/// Reads backwards from the end in growing windows, so a long file costs one small read.
fn last_record(
    key: &AuditKey,
    path: &Path,
    file: &File,
    len: u64,
) -> Result<Option<Opened>, AuditError> {
    let existing = |problem: String| AuditError::Existing {
        path: path.to_path_buf(),
        problem,
    };
    let too_long = || {
        existing(format!(
            "ends with a line longer than {MAX_LINE_BYTES} bytes; check it and move the file aside"
        ))
    };
    let mut window: u64 = 8192;
    let (line_start, buf, start) = loop {
        if len == 0 {
            return Ok(None);
        }
        let start = len - window.min(len);
        let mut buf = vec![0u8; (len - start) as usize];
        file.read_exact_at(&mut buf, start)
            .map_err(io_err("read", path))?;
        let body = buf.strip_suffix(b"\n").unwrap_or(&buf);
        match body.iter().rposition(|b| *b == b'\n') {
            Some(i) => break (start + i as u64 + 1, buf, start),
            None if start == 0 => break (0, buf, start),
            None if window > MAX_LINE_BYTES as u64 => return Err(too_long()),
            None => window *= 4,
        }
    };
    let line = &buf[(line_start - start) as usize..];
    let Some(line) = line.strip_suffix(b"\n") else {
        return Err(existing(format!(
            "ends with an incomplete line ({} bytes after the last newline), probably from a \
             crash during a write; after checking it, cut it off with \
             `truncate -s {line_start} {}` and start again",
            len - line_start,
            path.display()
        )));
    };
    if line.len() > MAX_LINE_BYTES {
        return Err(too_long());
    }
    let opened = chain::open(key, line).map_err(|why| {
        existing(format!(
            "ends with a line that is not an audit record ({why}); verify it and move it aside"
        ))
    })?;
    if !opened.authentic {
        return Err(existing(
            "ends with a record that does not verify under the configured key (the key changed \
             or the file was altered); run `sysgate audit verify` and move the old files aside \
             to start a new chain"
                .into(),
        ));
    }
    Ok(Some(opened))
}

#[cfg(test)]
#[expect(
    clippy::disallowed_methods,
    reason = "tests re-run this test binary and mount a full filesystem"
)]
mod tests {
    use super::*;
    use crate::audit::record::{ClientIdentity, EventKind, Outcome};
    use crate::audit::testdir::TempDir;
    use crate::audit::{IdentityHasher, verify};
    use std::sync::Arc;

    fn key() -> AuditKey {
        AuditKey::from_bytes(&[0x5a; 32]).unwrap()
    }

    fn query(i: usize) -> Record {
        Record::new(EventKind::Query)
            .request_id(i.to_string())
            .tool("get_cpu_info")
            .params(serde_json::json!({"per_cpu": true, "n": i}))
            .client(ClientIdentity::new("stdio").peer_uid(1000))
            .scopes(["core"])
            .result(Outcome::Success)
            .duration(Duration::from_millis(12))
            .output_bytes(2048)
            .redactions(0)
    }

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().mode() & 0o7777
    }

    #[test]
    fn writes_sorted_compact_lines_with_seq_prev_and_mac() {
        let dir = TempDir::new("log-format");
        let path = dir.join("audit.jsonl");
        let log = AuditLog::open(AuditSettings::new(&path, key())).unwrap();
        for i in 0..3 {
            log.append(query(i)).unwrap();
        }
        assert_eq!(mode(&path), 0o600);
        let ls = lines(&path);
        assert_eq!(ls.len(), 3);
        let mut prev = hex(&GENESIS);
        for (i, l) in ls.iter().enumerate() {
            let v: Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["seq"], i as u64);
            assert_eq!(v["prev"], prev.as_str());
            assert_eq!(v["event"], "query");
            assert_eq!(v["client"]["peer_uid"], "1000");
            // Canonical = the line up to `,"mac":"` plus `}` = the sorted compact serialisation.
            let mut m = v.as_object().unwrap().clone();
            let mac = m.remove("mac").unwrap();
            let canonical = serde_json::to_string(&m).unwrap();
            assert_eq!(
                format!("{},\"mac\":{mac}}}", &canonical[..canonical.len() - 1]),
                *l
            );
            let tag = ring::hmac::sign(key().hmac(), canonical.as_bytes());
            assert_eq!(mac, hex(tag.as_ref()).as_str());
            prev = mac.as_str().unwrap().to_string();
        }
    }

    #[test]
    fn chain_continues_across_reopen() {
        let dir = TempDir::new("log-reopen");
        let path = dir.join("audit.jsonl");
        for round in 0..3 {
            let log = AuditLog::open(AuditSettings::new(&path, key())).unwrap();
            for i in 0..4 {
                log.append(query(round * 4 + i)).unwrap();
            }
        }
        let r = verify(&[path], &key()).unwrap();
        assert_eq!(
            (r.records, r.first_seq, r.last_seq),
            (12, Some(0), Some(11))
        );
    }

    #[test]
    fn concurrent_appends_keep_the_chain_valid() {
        let dir = TempDir::new("log-threads");
        let path = dir.join("audit.jsonl");
        let mut settings = AuditSettings::new(&path, key());
        settings.max_size_bytes = 64 * 1024; // rotate a few times while racing
        settings.max_files = 100;
        let log = Arc::new(AuditLog::open(settings).unwrap());
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let log = Arc::clone(&log);
                std::thread::spawn(move || {
                    for i in 0..200 {
                        log.append(query(t * 1000 + i)).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let r = verify(&[path], &key()).unwrap();
        assert_eq!(
            (r.records, r.first_seq, r.last_seq),
            (1600, Some(0), Some(1599))
        );
        assert!(r.files.len() > 3, "{r}");
    }

    #[test]
    fn rotates_by_size_and_count_and_continues_the_chain() {
        let dir = TempDir::new("log-rotate");
        let path = dir.join("audit.jsonl");
        let mut settings = AuditSettings::new(&path, key());
        settings.max_size_bytes = 2000;
        settings.max_files = 3;
        let log = AuditLog::open(settings).unwrap();
        for i in 0..60 {
            log.append(query(i)).unwrap();
        }
        for p in [
            path.clone(),
            rotated_path(&path, 1),
            rotated_path(&path, 2),
            rotated_path(&path, 3),
        ] {
            let len = std::fs::metadata(&p).unwrap().len();
            assert!(len > 0 && len <= 2000, "{}: {len}", p.display());
            assert_eq!(mode(&p), 0o600, "{}", p.display());
        }
        assert!(!rotated_path(&path, 4).exists());
        // The oldest files were deleted, so the chain starts mid-way but is intact up to seq 59.
        let r = verify(std::slice::from_ref(&path), &key()).unwrap();
        assert_eq!(r.last_seq, Some(59));
        assert!(!r.starts_at_genesis());
        assert_eq!(r.records, 60 - r.first_seq.unwrap());
        // Each file's first record chains to the previous file's last one (verify checked that;
        // spot-check the seam by hand too).
        let older = lines(&rotated_path(&path, 1));
        let newer = lines(&path);
        let last: Value = serde_json::from_str(older.last().unwrap()).unwrap();
        let first: Value = serde_json::from_str(&newer[0]).unwrap();
        assert_eq!(first["prev"], last["mac"]);
        assert_eq!(first["seq"], last["seq"].as_u64().unwrap() + 1);
    }

    #[test]
    fn rotation_makes_new_files_0600_and_reopen_continues_from_rotated_file() {
        let dir = TempDir::new("log-rotate-reopen");
        let path = dir.join("audit.jsonl");
        let mut settings = AuditSettings::new(&path, key());
        settings.max_size_bytes = 1000;
        let log = AuditLog::open(settings).unwrap();
        for i in 0..5 {
            log.append(query(i)).unwrap();
        }
        drop(log);
        assert!(rotated_path(&path, 1).exists());
        // As after a crash between the renames of a rotation and the creation of the new file:
        // PATH.1 holds the newest records and there is no current file.
        for n in (1..10).rev() {
            let _ = std::fs::rename(rotated_path(&path, n), rotated_path(&path, n + 1));
        }
        std::fs::rename(&path, rotated_path(&path, 1)).unwrap();
        let log = AuditLog::open(AuditSettings::new(&path, key())).unwrap();
        log.append(query(99)).unwrap();
        let first: Value = serde_json::from_str(&lines(&path)[0]).unwrap();
        let before: Value =
            serde_json::from_str(lines(&rotated_path(&path, 1)).last().unwrap()).unwrap();
        assert_eq!(first["prev"], before["mac"]);
        assert_eq!(first["seq"], before["seq"].as_u64().unwrap() + 1);
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn anonymizes_identities_before_writing() {
        let dir = TempDir::new("log-anon");
        let path = dir.join("audit.jsonl");
        let salt = IdentityHasher::from_bytes(&[3; 32]).unwrap();
        let mut settings = AuditSettings::new(&path, key());
        settings.anonymize = Some(salt.clone());
        let log = AuditLog::open(settings).unwrap();
        let client = ClientIdentity::new("https")
            .jwt_sub("alice@example.com")
            .mtls_subject("CN=proxy")
            .peer_uid(1000);
        log.append(Record::new(EventKind::AuthSuccess).client(client))
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("alice") && !text.contains("CN=proxy"),
            "{text}"
        );
        let v: Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(
            v["client"]["jwt_sub"],
            salt.hash("alice@example.com").as_str()
        );
        assert_eq!(v["client"]["peer_uid"], salt.hash("1000").as_str());
        assert_eq!(v["client"]["transport"], "https");
    }

    #[test]
    fn refuses_bad_settings_and_unsafe_files() {
        let dir = TempDir::new("log-refuse");
        let path = dir.join("audit.jsonl");
        let mut s = AuditSettings::new(&path, key());
        s.max_files = 0;
        assert!(matches!(AuditLog::open(s), Err(AuditError::Settings(_))));
        let mut s = AuditSettings::new(&path, key());
        s.max_size_bytes = 0;
        assert!(matches!(AuditLog::open(s), Err(AuditError::Settings(_))));
        let mut s = AuditSettings::new(&path, key());
        s.lock_timeout = Duration::MAX;
        assert!(matches!(AuditLog::open(s), Err(AuditError::Settings(_))));

        // A symlink in place of the log.
        let target = dir.join("elsewhere");
        std::fs::write(&target, "").unwrap();
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let e = AuditLog::open(AuditSettings::new(&path, key())).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        std::fs::remove_file(&path).unwrap();

        // A world-readable existing file.
        std::fs::write(&path, "").unwrap();
        std::fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        let e = AuditLog::open(AuditSettings::new(&path, key()))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("mode 0644") && e.contains("0640 or stricter"),
            "{e}"
        );
        std::fs::set_permissions(&path, Permissions::from_mode(0o640)).unwrap();
        assert!(AuditLog::open(AuditSettings::new(&path, key())).is_ok());

        // The head file is created 0600 and held to the same rules as the log.
        let head = crate::audit::head::head_path(&path);
        assert_eq!(mode(&head), 0o600);
        std::fs::set_permissions(&head, Permissions::from_mode(0o644)).unwrap();
        let e = AuditLog::open(AuditSettings::new(&path, key()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("audit.jsonl.head has mode 0644"), "{e}");
        std::fs::remove_file(&head).unwrap();
        std::os::unix::fs::symlink(&target, &head).unwrap();
        let e = AuditLog::open(AuditSettings::new(&path, key()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("head is a symbolic link"), "{e}");
        std::fs::remove_file(&head).unwrap();

        // A group-writable directory.
        std::fs::set_permissions(dir.path(), Permissions::from_mode(0o770)).unwrap();
        let e = AuditLog::open(AuditSettings::new(&path, key()))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("mode 0770") && e.contains("not writable by group"),
            "{e}"
        );
        std::fs::set_permissions(dir.path(), Permissions::from_mode(0o700)).unwrap();

        // Not a regular file (and world-writable): /dev/full.
        let e = AuditLog::open(AuditSettings::new("/dev/full", key()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/dev/full is not a regular file"), "{e}");
    }

    #[test]
    fn refuses_to_continue_a_chain_it_cannot_verify() {
        let dir = TempDir::new("log-continue");
        let path = dir.join("audit.jsonl");
        let log = AuditLog::open(AuditSettings::new(&path, key())).unwrap();
        log.append(query(0)).unwrap();
        log.append(query(1)).unwrap();
        drop(log);
        let good = std::fs::read(&path).unwrap();

        // Another key.
        let other = AuditKey::from_bytes(&[1; 32]).unwrap();
        let e = AuditLog::open(AuditSettings::new(&path, other)).unwrap_err();
        assert!(e.to_string().contains("does not verify"), "{e}");

        // A partial last line: the message gives the size to cut back to.
        let complete = good.len();
        let mut partial = good.clone();
        partial.extend_from_slice(b"{\"event\":\"que");
        std::fs::write(&path, &partial).unwrap();
        let e = AuditLog::open(AuditSettings::new(&path, key()))
            .unwrap_err()
            .to_string();
        assert!(e.contains(&format!("truncate -s {complete} ")), "{e}");

        // A last line that is not a record.
        let mut junk = good.clone();
        junk.extend_from_slice(b"hello\n");
        std::fs::write(&path, &junk).unwrap();
        let e = AuditLog::open(AuditSettings::new(&path, key())).unwrap_err();
        assert!(e.to_string().contains("not an audit record"), "{e}");

        // Restored, it continues.
        std::fs::write(&path, &good).unwrap();
        let log = AuditLog::open(AuditSettings::new(&path, key())).unwrap();
        log.append(query(2)).unwrap();
        assert_eq!(verify(&[path], &key()).unwrap().records, 3);
    }

    #[test]
    fn refuses_to_write_after_the_file_is_removed_replaced_or_altered() {
        let dir = TempDir::new("log-gone");
        let path = dir.join("audit.jsonl");
        let log = AuditLog::open(AuditSettings::new(&path, key())).unwrap();
        log.append(query(0)).unwrap();

        std::fs::remove_file(&path).unwrap();
        let e = log.append(query(1)).unwrap_err();
        assert!(e.to_string().contains("seq 0 was already written"), "{e}");
        // Replaced by an older copy of itself: authentic, but the chain went back.
        let a2 = dir.join("a2.jsonl");
        let log = AuditLog::open(AuditSettings::new(&a2, key())).unwrap();
        log.append(query(0)).unwrap();
        let old_copy = std::fs::read(&a2).unwrap();
        log.append(query(1)).unwrap();
        std::fs::remove_file(&a2).unwrap();
        std::fs::write(&a2, &old_copy).unwrap();
        std::fs::set_permissions(&a2, Permissions::from_mode(0o600)).unwrap();
        let e = log.append(query(2)).unwrap_err();
        assert!(
            e.to_string().contains("continues at seq 1, but seq 1"),
            "{e}"
        );

        // Someone appends a line that is not an authentic record.
        let b = dir.join("b.jsonl");
        let log = AuditLog::open(AuditSettings::new(&b, key())).unwrap();
        log.append(query(0)).unwrap();
        let mut f = File::options().append(true).open(&b).unwrap();
        f.write_all(b"{\"forged\":1}\n").unwrap();
        let e = log.append(query(1)).unwrap_err();
        assert!(e.to_string().contains("not an audit record"), "{e}");

        // Someone cuts records off the end.
        let c = dir.join("c.jsonl");
        let log = AuditLog::open(AuditSettings::new(&c, key())).unwrap();
        for i in 0..3 {
            log.append(query(i)).unwrap();
        }
        let keep = std::fs::read_to_string(&c)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .len()
            + 1;
        File::options()
            .write(true)
            .open(&c)
            .unwrap()
            .set_len(keep as u64)
            .unwrap();
        let e = log.append(query(3)).unwrap_err();
        assert!(e.to_string().contains("shrank"), "{e}");
    }

    /// Two writers on one file, as with two stdio servers or `sysgate query` beside a server:
    /// the test re-runs itself as a second process, and both append (and rotate) at once.
    #[test]
    fn two_processes_share_one_chain() {
        const CHILD: &str = "SYSGATE_AUDIT_TWO_PROCESSES";
        let settings = |path: &Path| {
            let mut s = AuditSettings::new(path, key());
            s.max_size_bytes = 16 * 1024;
            s.max_files = 1000;
            s
        };
        if let Some(path) = std::env::var_os(CHILD) {
            let log = AuditLog::open(settings(Path::new(&path))).unwrap();
            for i in 0..1000 {
                log.append(query(100_000 + i)).unwrap();
            }
            return;
        }
        let dir = TempDir::new("log-two-procs");
        let path = dir.join("audit.jsonl");
        let child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "audit::log::tests::two_processes_share_one_chain",
            ])
            .env(CHILD, &path)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let log = AuditLog::open(settings(&path)).unwrap();
        for i in 0..1000 {
            log.append(query(i)).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "{stdout}"
        );
        let r = verify(std::slice::from_ref(&path), &key()).unwrap();
        assert_eq!(
            (r.records, r.first_seq, r.last_seq),
            (2000, Some(0), Some(1999))
        );
        assert!(r.files.len() > 10, "{r}");
        // Both really wrote (request ids of both ranges are present).
        let all: String = r
            .files
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        assert!(
            all.contains("\"request_id\":\"999\"") && all.contains("\"request_id\":\"100999\"")
        );
    }

    /// Another writer (a second `AuditLog` on the file stands in for another process: `flock`
    /// locks belong to the open file, not the process) rotates until our file is deleted.
    #[test]
    fn follows_another_writers_rotations() {
        let dir = TempDir::new("log-peer-rotate");
        let path = dir.join("audit.jsonl");
        let settings = || {
            let mut s = AuditSettings::new(&path, key());
            s.max_size_bytes = 1200;
            s.max_files = 1;
            s
        };
        let a = AuditLog::open(settings()).unwrap();
        let b = AuditLog::open(settings()).unwrap();
        a.append(query(0)).unwrap();
        for i in 1..10 {
            b.append(query(i)).unwrap();
        }
        a.append(query(10)).unwrap();
        b.append(query(11)).unwrap();
        let r = verify(std::slice::from_ref(&path), &key()).unwrap();
        assert_eq!(r.last_seq, Some(11));
        assert!(!r.starts_at_genesis());
    }

    #[test]
    fn a_lock_held_too_long_fails_the_append() {
        let dir = TempDir::new("log-lock");
        let path = dir.join("audit.jsonl");
        let mut s = AuditSettings::new(&path, key());
        s.lock_timeout = Duration::from_millis(200);
        let log = AuditLog::open(s).unwrap();
        log.append(query(0)).unwrap();
        let other = File::open(&path).unwrap();
        other.lock().unwrap();
        let started = Instant::now();
        let e = log.append(query(1)).unwrap_err();
        assert!(matches!(e, AuditError::Busy { .. }), "{e}");
        assert!(started.elapsed() < Duration::from_secs(3));
        other.unlock().unwrap();
        log.append(query(1)).unwrap();
        assert_eq!(verify(&[path], &key()).unwrap().records, 2);
    }

    #[test]
    fn oversize_record_is_refused_and_changes_nothing() {
        let dir = TempDir::new("log-big");
        let path = dir.join("audit.jsonl");
        let log = AuditLog::open(AuditSettings::new(&path, key())).unwrap();
        // `detail` is not bounded (only sysgate writes it), so it can still exceed the line limit.
        let big = Record::new(EventKind::Query).detail(Value::String("x".repeat(MAX_LINE_BYTES)));
        assert!(matches!(log.append(big), Err(AuditError::TooLarge { .. })));
        log.append(query(0)).unwrap();
        let r = verify(&[path], &key()).unwrap();
        assert_eq!((r.records, r.first_seq), (1, Some(0)));
    }

    /// `open` refuses /dev/full (see above), so the handle is put in directly: this exercises
    /// the write path's error handling against a device whose writes fail with ENOSPC.
    #[test]
    fn write_failure_on_dev_full_is_an_error() {
        let path = PathBuf::from("/dev/full");
        let file = File::options().append(true).open(&path).unwrap();
        let meta = file.metadata().unwrap();
        let log = AuditLog {
            path: path.clone(),
            key: key(),
            max_size_bytes: 1 << 20,
            max_files: 1,
            fsync: false,
            lock_timeout: Duration::from_secs(1),
            anonymize: None,
            forwarder: None,
            head: File::options().write(true).open("/dev/null").unwrap(),
            head_path: PathBuf::from("/dev/null"),
            state: Mutex::new(State {
                file,
                known_len: Some(0),
                id: (meta.dev(), meta.ino()),
                next_seq: 0,
                prev: GENESIS,
                broken: None,
                pending_gap: None,
            }),
        };
        match log.append(query(0)) {
            Err(AuditError::Io {
                source, path: p, ..
            }) => {
                assert_eq!(source.raw_os_error(), Some(libc::ENOSPC));
                assert_eq!(p, path);
            }
            other => panic!("expected ENOSPC, got {other:?}"),
        }
        // The fragment cannot be cut off a device, so the log refuses to go on.
        assert!(matches!(log.append(query(1)), Err(AuditError::Unusable(_))));
    }

    /// A real full filesystem: a 64 KiB tmpfs. Needs root (mount); skipped with a note otherwise.
    #[test]
    fn full_filesystem_fails_the_append_then_recovers() {
        let dir = TempDir::new("log-tmpfs");
        let mnt = dir.join("mnt");
        std::fs::create_dir(&mnt).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs"])
            .arg(&mnt)
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            eprintln!("skipped: cannot mount a tmpfs here (needs root)");
            return;
        }
        struct Unmount<'a>(&'a Path);
        impl Drop for Unmount<'_> {
            fn drop(&mut self) {
                let _ = std::process::Command::new("umount").arg(self.0).status();
            }
        }
        let _guard = Unmount(&mnt);
        let filler = mnt.join("filler");
        std::fs::write(&filler, vec![0u8; 16 * 1024]).unwrap();
        let path = mnt.join("audit.jsonl");
        let log = AuditLog::open(AuditSettings::new(&path, key())).unwrap();
        let big = |i: usize| query(i).detail(Value::String("d".repeat(3000)));
        let mut ok = 0;
        let err = loop {
            match log.append(big(ok)) {
                Ok(()) => ok += 1,
                Err(e) => break e,
            }
            assert!(ok < 100, "the 64 KiB filesystem never filled up");
        };
        match &err {
            AuditError::Io { source, .. } => {
                assert_eq!(source.raw_os_error(), Some(libc::ENOSPC), "{err}")
            }
            other => panic!("expected ENOSPC, got {other}"),
        }
        // Nothing half-written stays behind: the file still verifies.
        assert_eq!(
            verify(std::slice::from_ref(&path), &key()).unwrap().records,
            ok as u64
        );
        std::fs::remove_file(&filler).unwrap();
        log.append(big(ok)).unwrap();
        let r = verify(std::slice::from_ref(&path), &key()).unwrap();
        assert_eq!((r.records, r.last_seq), (ok as u64 + 1, Some(ok as u64)));
    }

    #[test]
    fn fsync_mode_writes_and_verifies() {
        let dir = TempDir::new("log-fsync");
        let path = dir.join("audit.jsonl");
        let mut s = AuditSettings::new(&path, key());
        s.fsync = true;
        s.max_size_bytes = 600;
        let log = AuditLog::open(s).unwrap();
        for i in 0..5 {
            log.append(query(i)).unwrap();
        }
        assert_eq!(verify(&[path], &key()).unwrap().records, 5);
    }
}
