#![forbid(unsafe_code)]
//! `get_disk_info`: mounts from `/proc/self/mountinfo`, sizes from `statvfs`.
//!
//! `statvfs` on a dead network mount blocks in the kernel, possibly forever, and cannot be
//! interrupted. So it runs on a helper thread, one mount after another; when one does not answer
//! within the timeout the caller reports it, marks its mount point as stuck in a global set and
//! carries on with a fresh helper. The stuck helper exits (and unmarks the mount point) whenever
//! the kernel lets go. Later calls skip a mount point that is still marked, so repeated calls do
//! not pile up threads; a global cap bounds the stuck threads across different mount points.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Map, Value};

use super::{read_into, round2, to_value};
use crate::error::ToolError;
use crate::output::redact::Redactor;
use crate::sync::lock;
use crate::sys::{self, FsStats};
use crate::tools::Ctx;
use crate::tools::procfs::{self, Mount, percent};

pub const INPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "properties": {
        "include_virtual": {"type": "boolean", "default": false,
            "description": "also list pseudo and memory-backed filesystems (proc, sysfs, cgroup, tmpfs, devtmpfs, squashfs images, ...)"}
    }
}"#;

pub const OUTPUT: &str = r#"{
    "type": "object", "additionalProperties": false,
    "required": ["filesystems", "count", "skipped_virtual", "more_not_listed"],
    "properties": {
        "filesystems": {"type": "array", "items": {
            "type": "object", "additionalProperties": false,
            "required": ["mount_point", "device", "fstype", "read_only", "options"],
            "properties": {
                "mount_point": {"type": "string"},
                "device": {"type": "string", "description": "the mount source, e.g. /dev/sda1 or server:/export"},
                "fstype": {"type": "string"},
                "read_only": {"type": "boolean"},
                "options": {"type": "string", "description": "per-mount options"},
                "total_bytes": {"type": "integer", "minimum": 0},
                "used_bytes": {"type": "integer", "minimum": 0},
                "available_bytes": {"type": "integer", "minimum": 0,
                    "description": "available to unprivileged users"},
                "use_percent": {"type": "number", "minimum": 0, "maximum": 100,
                    "description": "used / (used + available), as df reports it"},
                "inodes_total": {"type": "integer", "minimum": 0},
                "inodes_used": {"type": "integer", "minimum": 0},
                "inodes_free": {"type": "integer", "minimum": 0},
                "inodes_use_percent": {"type": "number", "minimum": 0, "maximum": 100},
                "error": {"type": "string", "x-sysgate-server-text": true, "description": "why sizes are missing (the server's words)"}
            }
        }},
        "count": {"type": "integer", "minimum": 0, "description": "how many filesystems are in `filesystems`"},
        "skipped_virtual": {"type": "integer", "minimum": 0},
        "more_not_listed": {"type": "boolean", "description": "more mounts exist than were listed"}
    }
}"#;

/// Most filesystems listed (bind-mount-heavy container hosts have thousands).
const MAX_MOUNTS: usize = 1000;
/// How long one `statvfs` may take before its mount is reported as not answering.
pub(super) const STATFS_TIMEOUT: Duration = Duration::from_millis(500);
/// Most helper threads allowed to be stuck in the kernel at once, across all calls.
const MAX_STUCK: usize = 16;
/// Time kept back from the call's deadline to build the answer.
const ANSWER_MARGIN: Duration = Duration::from_millis(150);
/// Longest path, device or options string we echo back.
const MAX_TEXT: usize = 1024;

#[derive(Serialize, Debug, Clone)]
pub(super) struct Filesystem {
    pub mount_point: String,
    pub device: String,
    pub fstype: String,
    pub read_only: bool,
    pub options: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_percent: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inodes_total: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inodes_used: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inodes_free: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inodes_use_percent: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Serialize)]
struct DiskInfo {
    filesystems: Vec<Filesystem>,
    count: usize,
    skipped_virtual: usize,
    more_not_listed: bool,
}

/// What became of one `statvfs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Outcome {
    Stats(FsStats),
    Failed(String),
    /// It did not answer within the timeout.
    TimedOut,
    /// An earlier call's `statvfs` on this mount point is still stuck.
    StillStuck,
    /// Too many helpers are stuck already; not attempted.
    TooManyStuck,
    /// The call ran out of time before reaching this mount.
    OutOfTime,
}

impl Outcome {
    fn message(&self) -> Option<String> {
        match self {
            Outcome::Stats(_) => None,
            Outcome::Failed(e) => Some(format!("statfs failed: {e}")),
            Outcome::TimedOut => Some("statfs timed out".into()),
            Outcome::StillStuck => {
                Some("statfs timed out (an earlier statfs of this mount has not returned)".into())
            }
            Outcome::TooManyStuck => Some(
                "statfs skipped: too many earlier statfs calls on other mounts have not returned"
                    .into(),
            ),
            Outcome::OutOfTime => Some("statfs skipped: the call ran out of time".into()),
        }
    }
}

/// Mount point → number of helper threads stuck in `statvfs` on it.
static STUCK: Mutex<BTreeMap<PathBuf, usize>> = Mutex::new(BTreeMap::new());

fn stuck_set() -> std::sync::MutexGuard<'static, BTreeMap<PathBuf, usize>> {
    lock(&STUCK)
}

fn mark_stuck(p: &Path) {
    *stuck_set().entry(p.to_path_buf()).or_insert(0) += 1;
}

fn unmark_stuck(p: &Path) {
    let mut s = stuck_set();
    if let Some(n) = s.get_mut(p) {
        *n -= 1;
        if *n == 0 {
            s.remove(p);
        }
    }
}

/// Where a helper is in its list; shared with the caller, which may abandon it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HelperState {
    Running(usize),
    Between,
    /// The caller stopped listening; `stuck` is the index it marked as stuck, if any.
    Abandoned {
        stuck: Option<usize>,
    },
}

type StatFn = fn(&Path) -> io::Result<FsStats>;

struct Helper {
    state: Arc<Mutex<HelperState>>,
    rx: mpsc::Receiver<(usize, Outcome)>,
}

/// Start a helper on `paths[start..]`; `None` if no thread could be started.
fn spawn_helper(paths: &Arc<[PathBuf]>, start: usize, statfs: StatFn) -> Option<Helper> {
    let state = Arc::new(Mutex::new(HelperState::Between));
    let (tx, rx) = mpsc::channel();
    let (paths, shared) = (Arc::clone(paths), Arc::clone(&state));
    thread::Builder::new()
        .name("sysgate-statfs".into())
        .stack_size(128 * 1024)
        .spawn(move || {
            for (i, path) in paths.iter().enumerate().skip(start) {
                {
                    let mut st = lock(&shared);
                    if matches!(*st, HelperState::Abandoned { .. }) {
                        return;
                    }
                    *st = HelperState::Running(i);
                }
                let outcome = {
                    let s = stuck_set();
                    if s.contains_key(path) {
                        Outcome::StillStuck
                    } else if s.values().sum::<usize>() >= MAX_STUCK {
                        Outcome::TooManyStuck
                    } else {
                        drop(s);
                        match statfs(path) {
                            Ok(st) => Outcome::Stats(st),
                            Err(e) => Outcome::Failed(e.to_string()),
                        }
                    }
                };
                {
                    let mut st = lock(&shared);
                    if let HelperState::Abandoned { stuck } = *st {
                        if stuck == Some(i) {
                            unmark_stuck(path);
                        }
                        return;
                    }
                    *st = HelperState::Between;
                }
                if tx.send((i, outcome)).is_err() {
                    return;
                }
            }
        })
        .ok()?;
    Some(Helper { state, rx })
}

/// `statvfs` every path, each bounded by `per_call`, all of it finished by `end`. `check` is
/// the call's cancellation check. Results are in the order of `paths`.
pub(super) fn statfs_all(
    paths: Vec<PathBuf>,
    per_call: Duration,
    end: Instant,
    check: &dyn Fn() -> Result<(), ToolError>,
    statfs: StatFn,
) -> Result<Vec<Outcome>, ToolError> {
    let n = paths.len();
    let paths: Arc<[PathBuf]> = paths.into();
    let mut out: Vec<Option<Outcome>> = vec![None; n];
    let mut next = 0;
    let mut helper = spawn_helper(&paths, 0, statfs);
    let mut started = Instant::now();
    while next < n {
        let Some(h) = &helper else {
            out[next] = Some(Outcome::Failed("cannot start a helper thread".into()));
            next += 1;
            helper = spawn_helper(&paths, next, statfs);
            started = Instant::now();
            continue;
        };
        let stop = check();
        let now = Instant::now();
        if stop.is_err() || now >= end {
            *lock(&h.state) = HelperState::Abandoned { stuck: None };
            stop?;
            for slot in &mut out[next..] {
                *slot = Some(Outcome::OutOfTime);
            }
            break;
        }
        let limit = (started + per_call).min(end);
        // Wake at least every 20 ms to notice cancellation.
        let wait = limit
            .saturating_duration_since(now)
            .min(Duration::from_millis(20));
        match h.rx.recv_timeout(wait) {
            Ok((i, outcome)) => {
                out[i] = Some(outcome);
                next = i + 1;
                started = Instant::now();
            }
            Err(RecvTimeoutError::Timeout) => {
                if Instant::now() < started + per_call {
                    continue;
                }
                let mut st = lock(&h.state);
                // Only a helper still inside `next` is stuck; otherwise its answer is on the way.
                if *st == HelperState::Running(next) {
                    *st = HelperState::Abandoned { stuck: Some(next) };
                    mark_stuck(&paths[next]);
                    drop(st);
                    out[next] = Some(Outcome::TimedOut);
                    next += 1;
                    helper = if next < n {
                        spawn_helper(&paths, next, statfs)
                    } else {
                        None
                    };
                    started = Instant::now();
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                // The helper is gone without answering (it cannot panic, but be total).
                out[next] = Some(Outcome::Failed("the helper thread stopped".into()));
                next += 1;
                helper = spawn_helper(&paths, next, statfs);
                started = Instant::now();
            }
        }
    }
    Ok(out
        .into_iter()
        .map(|o| o.unwrap_or(Outcome::OutOfTime))
        .collect())
}

/// Host text cut at `MAX_TEXT` characters without splitting a secret (mount sources and options
/// can carry credentials: `//user:pass@server/share`, `password=`).
fn text(bytes: &[u8], redactor: &Redactor) -> String {
    redactor.cut(&String::from_utf8_lossy(bytes), MAX_TEXT).0
}

/// The mounts to report: deduplicated by mount point (the last mount on a point hides the ones
/// below it), virtual ones dropped unless asked for. Returns (mounts, skipped virtual, truncated).
pub(super) fn select_mounts(all: Vec<Mount>, include_virtual: bool) -> (Vec<Mount>, usize, bool) {
    let mut last: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
    for (i, m) in all.iter().enumerate() {
        last.insert(m.mount_point.clone(), i);
    }
    let mut skipped = 0;
    let mut keep = Vec::new();
    for (i, m) in all.into_iter().enumerate() {
        if last.get(&m.mount_point) != Some(&i) {
            continue;
        }
        if !include_virtual && procfs::is_virtual_fs(&m.fstype) {
            skipped += 1;
            continue;
        }
        keep.push(m);
    }
    let truncated = keep.len() > MAX_MOUNTS;
    keep.truncate(MAX_MOUNTS);
    (keep, skipped, truncated)
}

pub(super) fn describe(m: &Mount, outcome: &Outcome, redactor: &Redactor) -> Filesystem {
    let mut fs = Filesystem {
        mount_point: text(&m.mount_point, redactor),
        device: text(&m.source, redactor),
        fstype: redactor.cut(&m.fstype, MAX_TEXT).0,
        read_only: m.read_only(),
        options: redactor.cut(&m.options, MAX_TEXT).0,
        total_bytes: None,
        used_bytes: None,
        available_bytes: None,
        use_percent: None,
        inodes_total: None,
        inodes_used: None,
        inodes_free: None,
        inodes_use_percent: None,
        error: outcome.message(),
    };
    if let Outcome::Stats(st) = outcome {
        let free = st.free_bytes.min(st.total_bytes);
        let used = st.total_bytes - free;
        let avail = st.avail_bytes.min(free);
        fs.total_bytes = Some(st.total_bytes);
        fs.used_bytes = Some(used);
        fs.available_bytes = Some(avail);
        fs.use_percent = Some(round2(percent(used, used.saturating_add(avail))));
        // Filesystems without inode accounting (vfat, btrfs on some kernels) report zero.
        let ifree = st.free_inodes.min(st.total_inodes);
        fs.inodes_total = Some(st.total_inodes);
        fs.inodes_free = Some(ifree);
        fs.inodes_used = Some(st.total_inodes - ifree);
        fs.inodes_use_percent = Some(round2(percent(st.total_inodes - ifree, st.total_inodes)));
    }
    fs
}

/// Every mount we report, with sizes. Shared with `get_system_status`, which passes a shorter
/// `end` so its whole answer fits its own deadline.
pub(super) fn collect(
    ctx: &Ctx<'_>,
    include_virtual: bool,
    per_call: Duration,
    end: Instant,
) -> Result<(Vec<Filesystem>, usize, bool), ToolError> {
    let mut raw = Vec::new();
    read_into(
        Path::new("/proc/self/mountinfo"),
        &mut raw,
        16 * 1024 * 1024,
    )
    .map_err(|e| ToolError::Unavailable(format!("cannot read /proc/self/mountinfo: {e}")))?;
    let (mounts, skipped, truncated) =
        select_mounts(procfs::parse_mountinfo(&raw), include_virtual);
    let paths = mounts
        .iter()
        .map(|m| PathBuf::from(OsStr::from_bytes(&m.mount_point)))
        .collect();
    let outcomes = statfs_all(paths, per_call, end, &|| ctx.check(), sys::statvfs)?;
    let fss = mounts
        .iter()
        .zip(&outcomes)
        .map(|(m, o)| describe(m, o, ctx.redactor))
        .collect();
    Ok((fss, skipped, truncated))
}

pub fn handler(ctx: &Ctx<'_>, args: &Map<String, Value>) -> Result<Value, ToolError> {
    let include_virtual = args
        .get("include_virtual")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let end = ctx
        .deadline
        .checked_sub(ANSWER_MARGIN)
        .unwrap_or(ctx.deadline);
    // A slow mount is waited for, up to STATFS_TIMEOUT.
    ctx.progress(0.0, Some(2.0), "measuring filesystems");
    let (filesystems, skipped_virtual, truncated) =
        collect(ctx, include_virtual, STATFS_TIMEOUT, end)?;
    ctx.progress(
        1.0,
        Some(2.0),
        &format!("measured {} filesystems", filesystems.len()),
    );
    to_value(&DiskInfo {
        count: filesystems.len(),
        filesystems,
        skipped_virtual,
        more_not_listed: truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_redactor() -> Redactor {
        Redactor::new(&crate::output::redact::RedactionSettings::default()).unwrap()
    }

    /// Stands in for the kernel where this machine cannot produce the condition: a hung network
    /// mount. Paths containing "hang" block for 600 ms; others go to the real statvfs.
    fn hanging_statfs(p: &Path) -> io::Result<FsStats> {
        if p.to_string_lossy().contains("hang") {
            thread::sleep(Duration::from_millis(600));
            return Err(io::Error::other("late"));
        }
        sys::statvfs(p)
    }

    /// Tests that touch the global stuck set run one at a time.
    static SERIAL: Mutex<()> = Mutex::new(());

    fn serial() -> std::sync::MutexGuard<'static, ()> {
        lock(&SERIAL)
    }

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(10)
    }

    #[test]
    fn real_statfs_in_order() {
        let _serial = serial();
        let paths = vec![
            PathBuf::from("/"),
            PathBuf::from("/nonexistent/sysgate"),
            PathBuf::from("/proc"),
        ];
        let o = statfs_all(paths, STATFS_TIMEOUT, far(), &|| Ok(()), sys::statvfs).unwrap();
        assert!(matches!(o[0], Outcome::Stats(s) if s.total_bytes > 0));
        assert!(matches!(&o[1], Outcome::Failed(e) if e.contains("No such file")));
        assert!(matches!(o[2], Outcome::Stats(_)));
        assert_eq!(
            statfs_all(vec![], STATFS_TIMEOUT, far(), &|| Ok(()), sys::statvfs).unwrap(),
            vec![]
        );
    }

    #[test]
    fn hung_mount_times_out_is_skipped_then_retried() {
        let _serial = serial();
        let hang = PathBuf::from("/sysgate-test-hang-a");
        let paths = vec![PathBuf::from("/"), hang.clone(), PathBuf::from("/proc")];
        let per_call = Duration::from_millis(150);
        let t = Instant::now();
        let o = statfs_all(paths.clone(), per_call, far(), &|| Ok(()), hanging_statfs).unwrap();
        assert!(
            t.elapsed() < Duration::from_millis(450),
            "{:?}",
            t.elapsed()
        );
        assert!(matches!(o[0], Outcome::Stats(_)));
        assert_eq!(o[1], Outcome::TimedOut);
        // The mount after the hung one is still measured, by a fresh helper.
        assert!(matches!(o[2], Outcome::Stats(_)));
        assert!(stuck_set().contains_key(&hang));
        // While the first helper is stuck, a second call does not start another one on it.
        let t = Instant::now();
        let o = statfs_all(paths.clone(), per_call, far(), &|| Ok(()), hanging_statfs).unwrap();
        assert!(
            t.elapsed() < Duration::from_millis(100),
            "{:?}",
            t.elapsed()
        );
        assert_eq!(o[1], Outcome::StillStuck);
        assert!(o[1].message().unwrap().contains("timed out"));
        // Once the kernel lets go, the helper unmarks the mount and exits.
        thread::sleep(Duration::from_millis(700));
        assert!(!stuck_set().contains_key(&hang));
    }

    #[test]
    fn deadline_and_cancellation() {
        let _serial = serial();
        let paths = vec![PathBuf::from("/sysgate-test-hang-b"), PathBuf::from("/")];
        // The call's end comes before the per-mount timeout: the rest is out of time.
        let end = Instant::now() + Duration::from_millis(100);
        let t = Instant::now();
        let o = statfs_all(
            paths.clone(),
            STATFS_TIMEOUT,
            end,
            &|| Ok(()),
            hanging_statfs,
        )
        .unwrap();
        assert!(
            t.elapsed() < Duration::from_millis(300),
            "{:?}",
            t.elapsed()
        );
        assert_eq!(o, vec![Outcome::OutOfTime, Outcome::OutOfTime]);
        let e = statfs_all(
            paths,
            STATFS_TIMEOUT,
            far(),
            &|| Err(ToolError::Cancelled),
            hanging_statfs,
        )
        .unwrap_err();
        assert_eq!(e, ToolError::Cancelled);
    }

    #[test]
    fn too_many_stuck_threads() {
        let _serial = serial();
        // Fill the global budget with fake entries, then a new mount is not attempted.
        let fakes: Vec<PathBuf> = (0..MAX_STUCK)
            .map(|i| PathBuf::from(format!("/sysgate-test-fake-{i}")))
            .collect();
        for f in &fakes {
            mark_stuck(f);
        }
        let o = statfs_all(
            vec![PathBuf::from("/sysgate-test-hang-c")],
            STATFS_TIMEOUT,
            far(),
            &|| Ok(()),
            hanging_statfs,
        )
        .unwrap();
        for f in &fakes {
            unmark_stuck(f);
        }
        assert_eq!(o, vec![Outcome::TooManyStuck]);
    }

    fn mount(point: &str, fstype: &str) -> Mount {
        procfs::parse_mountinfo(format!("1 1 0:1 / {point} rw - {fstype} src rw\n").as_bytes())
            .remove(0)
    }

    #[test]
    fn selection_dedups_and_filters() {
        let all = vec![
            mount("/", "ext4"),
            mount("/proc", "proc"),
            mount("/dev/shm", "tmpfs"),
            mount("/dev/shm", "tmpfs"),
            mount("/data", "xfs"),
            mount("/data", "nfs4"),
        ];
        let (m, skipped, truncated) = select_mounts(all.clone(), false);
        let names: Vec<(&[u8], &str)> = m
            .iter()
            .map(|m| (m.mount_point.as_slice(), m.fstype.as_str()))
            .collect();
        // The later mount on /data hides the earlier one.
        assert_eq!(names, [(&b"/"[..], "ext4"), (&b"/data"[..], "nfs4")]);
        assert_eq!((skipped, truncated), (2, false));
        let (m, skipped, _) = select_mounts(all, true);
        assert_eq!((m.len(), skipped), (4, 0));
        let many: Vec<Mount> = (0..MAX_MOUNTS + 5)
            .map(|i| mount(&format!("/m{i}"), "ext4"))
            .collect();
        let (m, _, truncated) = select_mounts(many, false);
        assert_eq!((m.len(), truncated), (MAX_MOUNTS, true));
    }

    #[test]
    fn sizes_are_consistent() {
        let m = mount("/x", "ext4");
        let st = FsStats {
            total_bytes: 1000,
            free_bytes: 300,
            avail_bytes: 200,
            total_inodes: 100,
            free_inodes: 75,
        };
        let fs = describe(&m, &Outcome::Stats(st), &test_redactor());
        assert_eq!(fs.used_bytes, Some(700));
        assert_eq!(fs.available_bytes, Some(200));
        assert_eq!(fs.use_percent, Some(77.78));
        assert_eq!(fs.inodes_used, Some(25));
        assert_eq!(fs.inodes_use_percent, Some(25.0));
        assert_eq!(fs.error, None);
        // Inconsistent numbers from a filesystem never underflow or exceed 100%.
        let bad = FsStats {
            total_bytes: 10,
            free_bytes: 50,
            avail_bytes: 60,
            total_inodes: 0,
            free_inodes: 5,
        };
        let fs = describe(&m, &Outcome::Stats(bad), &test_redactor());
        assert_eq!((fs.used_bytes, fs.use_percent), (Some(0), Some(0.0)));
        assert_eq!(fs.inodes_use_percent, Some(0.0));
        let fs = describe(&m, &Outcome::TimedOut, &test_redactor());
        assert_eq!(fs.error.as_deref(), Some("statfs timed out"));
        assert_eq!(fs.total_bytes, None);
    }
}
