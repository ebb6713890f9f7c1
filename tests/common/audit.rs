//! An audit log for a test: the HMAC key file in the test's scratch directory, the `audit:`
//! config section that names it, and readers for the JSONL records and `sysgate audit verify`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{TempDir, run};

/// The audit key the tests use (64 hex digits, as `key_file` and `key_env` want).
pub const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// Write [`KEY`] to `audit.key` in `dir`, mode 0600 (sysgate refuses a key others can read).
pub fn write_key(dir: &TempDir) -> PathBuf {
    let key = dir.path("audit.key");
    std::fs::write(&key, KEY).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    key
}

/// The `audit:` config section that logs to `log`, keyed by the file `key`.
pub fn section(log: &Path, key: &Path) -> String {
    format!(
        "audit:\n  path: {}\n  key_file: {}\n",
        log.display(),
        key.display()
    )
}

/// An audit log at `audit.jsonl` in `dir`, keyed by [`write_key`]: the log's path and the
/// `audit:` section for the config.
pub fn log_in(dir: &TempDir) -> (PathBuf, String) {
    let key = write_key(dir);
    let log = dir.path("audit.jsonl");
    let section = section(&log, &key);
    (log, section)
}

/// Every record of the log at `log`: it must exist and every line must be JSON.
pub fn records(log: &Path) -> Vec<Value> {
    parse(&std::fs::read_to_string(log).unwrap_or_else(|e| panic!("{}: {e}", log.display())))
}

/// Like [`records`], but a log not written (yet) has no records.
pub fn records_if_any(log: &Path) -> Vec<Value> {
    parse(&std::fs::read_to_string(log).unwrap_or_default())
}

fn parse(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("audit line is not JSON ({e}): {l}"))
        })
        .collect()
}

/// `sysgate audit verify LOG --config CONFIG`: (exit code, stdout then stderr).
pub fn verify(log: &Path, config: &Path) -> (i32, String) {
    let (code, out, err) = run(&[
        "audit",
        "verify",
        log.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    (code, out + &err)
}
