#![forbid(unsafe_code)]
//! Which package databases exist under a root directory, and reading one of them into an
//! [`Inventory`]. The root is a parameter so that tests can point it at a fixture tree; the
//! tools pass `/`.
//!
//! dpkg's and apk's databases are text files, read natively as a stream. rpm's is a Berkeley DB
//! or SQLite file with no stable format of its own, so it is read through `rpm -qa` with a
//! fixed query format ([`rpm::QUERY_FORMAT`]); [`rpm_query`] is the one place that runs it.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::ToolError;
use crate::tools::parse::package::{Entry, Package, Problem, State};
use crate::tools::parse::{apk, dpkg, rpm};
use crate::tools::procfs;

/// A package manager whose database sysgate knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    Dpkg,
    Apk,
    Rpm,
}

impl Manager {
    /// In the order a database is picked when the caller does not choose.
    pub const ALL: [Manager; 3] = [Manager::Dpkg, Manager::Apk, Manager::Rpm];

    pub fn name(self) -> &'static str {
        match self {
            Manager::Dpkg => "dpkg",
            Manager::Apk => "apk",
            Manager::Rpm => "rpm",
        }
    }

    pub fn from_name(s: &str) -> Option<Manager> {
        Manager::ALL.into_iter().find(|m| m.name() == s)
    }
}

/// Where a manager's database is (or would be) under a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Database {
    pub manager: Manager,
    pub path: PathBuf,
    pub present: bool,
}

/// The rpm database directories, newest layout first, and the files that make one.
const RPM_DIRS: [&str; 2] = ["usr/lib/sysimage/rpm", "var/lib/rpm"];
const RPM_FILES: [&str; 3] = ["rpmdb.sqlite", "Packages.db", "Packages"];

/// Every database sysgate knows, in [`Manager::ALL`] order, with whether it exists.
pub fn databases(root: &Path) -> Vec<Database> {
    let file = |rel: &str| {
        let path = root.join(rel);
        let present = path.metadata().is_ok_and(|m| m.is_file());
        (path, present)
    };
    let (dpkg, dpkg_ok) = file("var/lib/dpkg/status");
    let (apk, apk_ok) = file("lib/apk/db/installed");
    let rpm = RPM_DIRS
        .iter()
        .map(|d| root.join(d))
        .find(|d| RPM_FILES.iter().any(|f| d.join(f).is_file()));
    vec![
        Database {
            manager: Manager::Dpkg,
            path: dpkg,
            present: dpkg_ok,
        },
        Database {
            manager: Manager::Apk,
            path: apk,
            present: apk_ok,
        },
        Database {
            manager: Manager::Rpm,
            present: rpm.is_some(),
            path: rpm.unwrap_or_else(|| root.join(RPM_DIRS[1])),
        },
    ]
}

/// The database to read: the one asked for, else the first present.
pub fn pick(dbs: &[Database], asked: Option<Manager>) -> Result<&Database, ToolError> {
    let looked = || {
        dbs.iter()
            .map(|d| d.path.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match asked {
        Some(m) => dbs
            .iter()
            .find(|d| d.manager == m && d.present)
            .ok_or_else(|| {
                let path = dbs
                    .iter()
                    .find(|d| d.manager == m)
                    .map(|d| d.path.display().to_string());
                ToolError::Unavailable(format!(
                    "no {} database on this host (looked for {})",
                    m.name(),
                    path.unwrap_or_default()
                ))
            }),
        None => dbs.iter().find(|d| d.present).ok_or_else(|| {
            ToolError::Unavailable(format!(
                "no package database found (looked for {})",
                looked()
            ))
        }),
    }
}

/// Most problems kept (the rest are only counted).
pub const MAX_PROBLEMS: usize = 20;
/// Most database records read: far above any real host, so a hostile file ends.
pub const MAX_RECORDS: usize = 1_000_000;

/// A problem as reported: `listed` says whether the package is in the list anyway (an optional
/// field was dropped) or was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported {
    pub problem: Problem,
    pub listed: bool,
}

/// One database, read.
#[derive(Debug)]
pub struct Inventory {
    pub manager: Manager,
    pub path: PathBuf,
    /// Installed packages that match the filter, sorted by name, architecture and version, each
    /// (name, version, architecture) once.
    pub packages: Vec<Package>,
    /// Installed packages before the filter.
    pub installed: usize,
    /// Records in each other state, by [`State::ALL`] index.
    pub states: [usize; State::ALL.len()],
    /// The first [`MAX_PROBLEMS`] problems.
    pub problems: Vec<Reported>,
    pub problem_count: usize,
    /// Records left out because they could not be read (a subset of `problem_count`).
    pub skipped: usize,
}

impl Inventory {
    /// Records whose package may have files on disk but is not listed: partly installed, or
    /// unreadable.
    pub fn unlisted_with_files(&self) -> usize {
        let partial: usize = State::ALL
            .iter()
            .zip(self.states)
            .filter(|(s, _)| s.has_files())
            .map(|(_, n)| n)
            .sum();
        partial + self.skipped
    }

    fn problem(&mut self, problem: Problem, listed: bool) {
        self.problem_count += 1;
        if !listed {
            self.skipped += 1;
        }
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(Reported { problem, listed });
        }
    }
}

/// ASCII case-insensitive substring match of a package name.
fn matches(name: &str, filter: &str) -> bool {
    filter.is_empty()
        || name
            .as_bytes()
            .windows(filter.len())
            .any(|w| w.eq_ignore_ascii_case(filter.as_bytes()))
}

/// Turn a stream of entries into an inventory. `check` is the call's cancellation check.
pub fn collect(
    manager: Manager,
    path: PathBuf,
    entries: impl Iterator<Item = io::Result<Entry>>,
    filter: &str,
    check: &dyn Fn() -> Result<(), ToolError>,
) -> Result<Inventory, ToolError> {
    let mut inv = Inventory {
        manager,
        path,
        packages: Vec::new(),
        installed: 0,
        states: [0; State::ALL.len()],
        problems: Vec::new(),
        problem_count: 0,
        skipped: 0,
    };
    for (i, entry) in entries.enumerate() {
        if i % 256 == 0 {
            check()?;
        }
        if i >= MAX_RECORDS {
            return Err(ToolError::Failed(format!(
                "{} holds more than {MAX_RECORDS} records; it was not read to the end",
                inv.path.display()
            )));
        }
        let entry = entry.map_err(|e| {
            ToolError::Unavailable(format!("cannot read {}: {e}", inv.path.display()))
        })?;
        match entry {
            Entry::Installed(mut p) => {
                for reason in std::mem::take(&mut p.dropped) {
                    let problem = Problem {
                        line: p.line,
                        package: Some(p.name.clone()),
                        reason: reason.into(),
                    };
                    inv.problem(problem, true);
                }
                inv.installed += 1;
                if matches(&p.name, filter) {
                    inv.packages.push(p);
                }
            }
            Entry::Other { state, .. } => {
                if let Some(i) = State::ALL.iter().position(|s| *s == state) {
                    inv.states[i] += 1;
                }
            }
            Entry::Skipped(problem) => inv.problem(problem, false),
        }
    }
    inv.packages
        .sort_by(|a, b| (&a.name, &a.arch, &a.version).cmp(&(&b.name, &b.arch, &b.version)));
    // A record that repeats an earlier one exactly would give two components with one purl.
    let mut kept: Vec<Package> = Vec::with_capacity(inv.packages.len());
    let mut dups = Vec::new();
    for p in std::mem::take(&mut inv.packages) {
        match kept.last() {
            Some(k) if k.name == p.name && k.arch == p.arch && k.version == p.version => {
                dups.push(Problem {
                    line: p.line,
                    package: Some(p.name),
                    reason: "repeats an earlier record (same name, version and architecture)"
                        .into(),
                });
            }
            _ => kept.push(p),
        }
    }
    inv.installed -= dups.len();
    inv.packages = kept;
    for d in dups {
        // Listed: the earlier record is.
        inv.problem(d, true);
    }
    Ok(inv)
}

/// Open a database file for a streaming read: never blocks on a FIFO, refuses anything but a
/// regular file.
fn open(path: &Path) -> Result<BufReader<File>, ToolError> {
    let fail =
        |e: io::Error| ToolError::Unavailable(format!("cannot read {}: {e}", path.display()));
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(fail)?;
    if !f.metadata().map_err(fail)?.is_file() {
        return Err(ToolError::Unavailable(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    Ok(BufReader::with_capacity(64 * 1024, f))
}

/// Read `db` into an inventory of the packages whose name contains `filter`.
pub fn read(
    db: &Database,
    filter: &str,
    check: &dyn Fn() -> Result<(), ToolError>,
) -> Result<Inventory, ToolError> {
    let path = db.path.clone();
    match db.manager {
        Manager::Dpkg => {
            let r = open(&path)?;
            collect(Manager::Dpkg, path, dpkg::Status::new(r), filter, check)
        }
        Manager::Apk => {
            let r = open(&path)?;
            collect(Manager::Apk, path, apk::Installed::new(r), filter, check)
        }
        Manager::Rpm => {
            let out = rpm_query(&path)?;
            collect(Manager::Rpm, path, rpm::Query::new(&out[..]), filter, check)
        }
    }
}

/// The output of `rpm --dbpath DB -qa --queryformat` [`rpm::QUERY_FORMAT`] for the database
/// directory `db`: the one place rpm is run.
///
/// Programs are started only by the `exec` module (sandboxed, with a deadline and an output
/// cap); until it is wired in here this build does not read rpm databases and says so.
pub fn rpm_query(db: &Path) -> Result<Vec<u8>, ToolError> {
    Err(ToolError::Unavailable(format!(
        "an rpm database is present at {}, but this build of sysgate does not read rpm \
         databases: they are read through the rpm program, and running programs is not wired \
         in yet (dpkg and apk databases are read natively)",
        db.display()
    )))
}

/// The host's os-release identity, checked for use in a purl.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Os {
    /// `ID`: lowercase letters, digits, `.`, `_`, `-` (os-release(5)).
    pub id: Option<String>,
    /// `VERSION_ID`: the same set, plus uppercase and `~`.
    pub version_id: Option<String>,
    /// `PRETTY_NAME`, free text (cut by the caller).
    pub pretty_name: Option<String>,
}

/// `etc/os-release`, else `usr/lib/os-release`, under `root`.
pub fn os(root: &Path) -> Os {
    let text = ["etc/os-release", "usr/lib/os-release"]
        .iter()
        .find_map(|rel| read_small(&root.join(rel)));
    let Some(text) = text else {
        return Os::default();
    };
    let r = procfs::parse_os_release(&text);
    let ok = |s: &String, extra: &[u8]| {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes().all(|b| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || b"._-".contains(&b)
                    || extra.contains(&b)
            })
    };
    let upper: Vec<u8> = (b'A'..=b'Z').chain([b'~']).collect();
    Os {
        id: r.id.filter(|s| ok(s, b"")),
        version_id: r.version_id.filter(|s| ok(s, &upper)),
        pretty_name: r.pretty_name.filter(|s| !s.is_empty()),
    }
}

/// A small text file (at most 64 KiB of it), invalid UTF-8 replaced; `None` if unreadable.
pub fn read_small(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut buf = Vec::new();
    open(path)
        .ok()?
        .take(64 * 1024)
        .read_to_end(&mut buf)
        .ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::sbom::test_support::fixture;

    fn ok() -> Result<(), ToolError> {
        Ok(())
    }

    #[test]
    fn databases_are_detected_per_tree() {
        for (tree, want) in [
            ("dpkg", Some(Manager::Dpkg)),
            ("apk", Some(Manager::Apk)),
            ("rpm", Some(Manager::Rpm)),
            ("none-such", None),
        ] {
            let dbs = databases(&fixture(tree));
            assert_eq!(dbs.len(), 3);
            assert_eq!(pick(&dbs, None).ok().map(|d| d.manager), want, "{tree}");
        }
        let dbs = databases(&fixture("dpkg"));
        let e = pick(&dbs, Some(Manager::Apk)).unwrap_err().to_string();
        assert!(
            e.contains("no apk database") && e.contains("lib/apk/db/installed"),
            "{e}"
        );
        let e = pick(&databases(&fixture("none-such")), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no package database found"), "{e}");
    }

    #[test]
    fn rpm_is_reported_as_not_read_in_this_build() {
        let dbs = databases(&fixture("rpm"));
        let db = pick(&dbs, None).unwrap();
        assert!(db.path.ends_with("var/lib/rpm"));
        let e = read(db, "", &ok).unwrap_err();
        assert!(
            matches!(&e, ToolError::Unavailable(m) if m.contains("does not read rpm databases")),
            "{e}"
        );
    }

    #[test]
    fn dpkg_fixture_inventory() {
        let dbs = databases(&fixture("dpkg"));
        let inv = read(pick(&dbs, None).unwrap(), "", &ok).unwrap();
        let names: Vec<(&str, &str)> = inv
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.arch.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("base-files", "amd64"),
                ("held-pkg", "all"),
                ("leaving-pkg", "amd64"),
                ("libc6", "amd64"),
                ("libc6", "i386"),
                ("libstdc++6", "amd64"),
            ]
        );
        assert_eq!(inv.installed, 6);
        let state = |s: State| inv.states[State::ALL.iter().position(|x| *x == s).unwrap()];
        assert_eq!(state(State::ConfigFiles), 1);
        assert_eq!(state(State::HalfConfigured), 1);
        assert_eq!(state(State::TriggersPending), 1);
        assert_eq!(inv.skipped, 6);
        assert_eq!(inv.problem_count, 7);
        // half-configured, half-installed, reinstreq, triggers-pending + 6 unreadable.
        assert_eq!(inv.unlisted_with_files(), 10);
        let filtered = read(pick(&dbs, None).unwrap(), "LIBC", &ok).unwrap();
        assert_eq!(filtered.packages.len(), 2);
        assert_eq!(filtered.installed, 6);
    }

    #[test]
    fn apk_and_rpm_fixture_inventories() {
        let dbs = databases(&fixture("apk"));
        let inv = read(pick(&dbs, None).unwrap(), "", &ok).unwrap();
        assert_eq!(inv.manager, Manager::Apk);
        assert_eq!(inv.packages.len(), 4);
        assert_eq!(inv.skipped, 3);
        let out = std::fs::read(fixture("rpm/query.txt")).unwrap();
        let inv = collect(
            Manager::Rpm,
            "x".into(),
            rpm::Query::new(&out[..]),
            "kernel",
            &ok,
        )
        .unwrap();
        assert_eq!(inv.packages.len(), 2);
        assert_eq!(inv.installed, 7);
        assert_eq!(
            inv.states[State::ALL
                .iter()
                .position(|s| *s == State::SigningKey)
                .unwrap()],
            1
        );
    }

    #[test]
    fn duplicates_are_listed_once_and_reported() {
        let text = b"Package: a\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n\n\
                     Package: a\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n";
        let inv = collect(
            Manager::Dpkg,
            "x".into(),
            dpkg::Status::new(&text[..]),
            "",
            &ok,
        )
        .unwrap();
        assert_eq!(inv.packages.len(), 1);
        assert_eq!(inv.installed, 1);
        assert_eq!(inv.problems[0].problem.line, 6);
        assert!(inv.problems[0].listed);
    }

    #[test]
    #[expect(
        clippy::disallowed_methods,
        reason = "the test makes a FIFO with mkfifo(1)"
    )]
    fn a_fifo_is_refused_without_blocking() {
        let dir = crate::testdir::TempDir::new("sbom-fifo");
        let fifo = dir.join("status");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            return;
        }
        let e = open(&fifo).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
    }

    #[test]
    fn cancellation_stops_the_read() {
        let text = b"Package: a\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n";
        let stop = || Err(ToolError::Cancelled);
        let e = collect(
            Manager::Dpkg,
            "x".into(),
            dpkg::Status::new(&text[..]),
            "",
            &stop,
        );
        assert_eq!(e.unwrap_err(), ToolError::Cancelled);
    }

    #[test]
    fn os_release_of_the_fixtures() {
        let deb = os(&fixture("dpkg"));
        assert_eq!(deb.id.as_deref(), Some("debian"));
        assert_eq!(deb.version_id.as_deref(), Some("12"));
        assert_eq!(os(&fixture("apk")).version_id.as_deref(), Some("3.19.1"));
        assert_eq!(os(&fixture("none-such")), Os::default());
    }
}
