//! The log tools through the real binary over stdio: `get_app_logs` on fixture files under a
//! configured glob (the end-to-end faults: rotation and truncation between pages, a 5 GB sparse
//! log, binary lines, symlinks, `..`, paths outside the globs, forged and stale cursors), the
//! gate's refusals of out-of-range arguments, and `get_syslog`, `get_auth_logs` and
//! `get_kernel_logs` on this machine's real files. Every `structuredContent` is validated against
//! the `outputSchema` the server lists.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "the tests stop at the first surprise"
)]

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::schema::{assert_fits, listed_output_schemas};
use common::{Client, TempDir};
use serde_json::{Value, json};
use sysgate::testing::tools::schema::Schema;

struct Server {
    client: Client,
    schemas: BTreeMap<String, Schema>,
    dir: TempDir,
}

impl Server {
    /// A server whose `logs_app` globs cover `DIR/logs/*.log` (minus `DIR/logs/secret.log`),
    /// with `sensitive` enabled.
    fn start(tag: &str) -> Server {
        let dir = TempDir::new(tag);
        std::fs::create_dir(dir.path("logs")).unwrap();
        let logs = dir.path("logs");
        let logs = logs.to_str().unwrap();
        let cfg = dir.path("c.yaml");
        common::write_config(
            &cfg,
            &format!(
                "scopes:\n  sensitive: {{enabled: true}}\n  logs_app:\n    enabled: true\n    allowed_paths: ['{logs}/*.log']\n    denied_paths: ['{logs}/secret.log']\n"
            ),
            0o600,
        );
        let mut client = Client::initialized(&["serve", "--config", cfg.to_str().unwrap()]);
        let schemas = listed_output_schemas(&mut client);
        Server {
            client,
            schemas,
            dir,
        }
    }

    fn log(&self, name: &str) -> PathBuf {
        self.dir.path("logs").join(name)
    }

    fn call(&mut self, tool: &str, args: Value) -> Result<Value, String> {
        let r = self.client.call(tool, args);
        let result = &r["result"];
        if result.is_null() {
            return Err(r["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned());
        }
        if result["isError"] == true {
            return Err(result["content"][0]["text"].as_str().unwrap().to_owned());
        }
        let s = &result["structuredContent"];
        assert_fits(&self.schemas[tool], s, tool);
        assert!(
            s.get("truncated").is_none(),
            "the output caps cut a page: {s}"
        );
        Ok(s.clone())
    }

    fn page(&mut self, path: &Path, extra: Value) -> Result<Value, String> {
        let mut args = json!({"path": path.to_str().unwrap()});
        for (k, v) in extra.as_object().unwrap() {
            args[k] = v.clone();
        }
        self.call("get_app_logs", args)
    }

    fn server_rss_kib(&self) -> (u64, u64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.client.child.id())).unwrap();
        let field = |k: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(k))
                .and_then(|v| v.split_whitespace().next())
                .unwrap()
                .parse()
                .unwrap()
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

fn append(path: &Path, text: &str) {
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

fn numbered(from: usize, to: usize) -> String {
    (from..to).map(|i| format!("app line {i:05}\n")).collect()
}

fn texts(v: &Value) -> Vec<String> {
    v["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["text"].as_str().unwrap().to_owned())
        .collect()
}

fn cursor(v: &Value) -> String {
    v["next_cursor"]
        .as_str()
        .unwrap_or_else(|| panic!("no next_cursor: {v}"))
        .to_owned()
}

#[test]
fn pages_of_1000_cover_2500_lines_once_while_the_log_grows() {
    let mut s = Server::start("logs-pages");
    let p = s.log("app.log");
    append(&p, &numbered(0, 2500));
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    let mut pages = 0;
    loop {
        let args = match &next {
            Some(c) => json!({"lines": 1000, "cursor": c}),
            None => json!({"lines": 1000}),
        };
        let v = s.page(&p, args).unwrap();
        pages += 1;
        assert_eq!(v["returned"].as_u64().unwrap() as usize, texts(&v).len());
        seen.extend(texts(&v));
        // New lines between pages are newer than everything paged: they never show up.
        append(&p, &numbered(90_000 + pages * 7, 90_000 + pages * 7 + 7));
        match v.get("next_cursor") {
            Some(_) => next = Some(cursor(&v)),
            None => {
                assert_eq!(v["stopped"], "start_of_file");
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    let want: Vec<String> = (0..2500)
        .rev()
        .map(|i| format!("app line {i:05}"))
        .collect();
    assert_eq!(seen, want);
}

#[test]
fn rotation_between_pages_and_truncation_while_read() {
    let mut s = Server::start("logs-rotate");
    let p = s.log("app.log");
    append(&p, &numbered(0, 500));
    let v = s.page(&p, json!({"lines": 200})).unwrap();
    assert_eq!(texts(&v)[0], "app line 00499");
    let c = cursor(&v);
    // logrotate's default: rename to .1, create a new file.
    std::fs::rename(&p, s.log("app.log.1")).unwrap();
    append(&p, &numbered(7000, 7100));
    let v = s.page(&p, json!({"lines": 200, "cursor": c})).unwrap();
    assert_eq!(v["rotated"], true);
    let want: Vec<String> = (100..300)
        .rev()
        .map(|i| format!("app line {i:05}"))
        .collect();
    assert_eq!(texts(&v), want);
    // The new file starts its own pages.
    let v = s.page(&p, json!({"lines": 5})).unwrap();
    assert_eq!(texts(&v)[0], "app line 07099");

    // copytruncate: the file shrinks below the cursor's offset.
    let q = s.log("trunc.log");
    append(&q, &numbered(0, 500));
    let c = cursor(&s.page(&q, json!({"lines": 10})).unwrap());
    std::fs::OpenOptions::new()
        .write(true)
        .open(&q)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&q, "after the truncation\n");
    let e = s.page(&q, json!({"cursor": c})).unwrap_err();
    assert!(
        e.contains("invalid argument `cursor`") && e.contains("truncated"),
        "{e}"
    );
    // The same file with a fresh start works.
    assert_eq!(
        texts(&s.page(&q, json!({})).unwrap()),
        ["after the truncation"]
    );
}

#[test]
fn a_5_gb_sparse_log_answers_fast_with_flat_memory() {
    let mut s = Server::start("logs-sparse");
    let p = s.log("huge.log");
    let f = std::fs::File::create(&p).unwrap();
    f.set_len(5 << 30).unwrap();
    drop(f);
    append(&p, "\n");
    append(&p, &numbered(0, 1500));
    let (_, hwm_before) = s.server_rss_kib();
    let t = Instant::now();
    let v = s.page(&p, json!({"lines": 1000})).unwrap();
    let took = t.elapsed();
    assert_eq!(v["returned"], 1000);
    assert_eq!(texts(&v)[0], "app line 01499");
    assert_eq!(texts(&v)[999], "app line 00500");
    let c = cursor(&v);
    // The next page reaches the hole: 500 lines, then the scan budget stops in the zeros.
    let v = s.page(&p, json!({"lines": 1000, "cursor": c})).unwrap();
    assert_eq!(v["returned"], 500);
    assert_eq!(v["stopped"], "scan_budget");
    assert!(
        v["scanned_bytes"].as_u64().unwrap() <= (32 << 20) + (64 << 10),
        "{v}"
    );
    let (rss, hwm) = s.server_rss_kib();
    eprintln!(
        "5 GB sparse log: first page of 1000 lines in {took:?}; server RSS {rss} KiB, peak {hwm} KiB (before {hwm_before} KiB)"
    );
    assert!(took < Duration::from_secs(2), "{took:?}");
    // Flat: the pages hold at most a block and a page of lines, never the file.
    assert!(
        hwm < hwm_before + 16 * 1024,
        "{hwm} KiB vs {hwm_before} KiB"
    );
    std::fs::remove_file(&p).unwrap();
}

#[test]
fn binary_lines_and_invalid_utf8_are_flagged() {
    let mut s = Server::start("logs-binary");
    let p = s.log("bin.log");
    std::fs::write(
        &p,
        b"ok line\nbad \xc3\x28 utf8\n\x00\x01\x02\x7f\xff\nlast\n",
    )
    .unwrap();
    let v = s.page(&p, json!({})).unwrap();
    let lines = v["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["text"], "last");
    assert_eq!(lines[1]["text"], "\u{fffd}".repeat(5));
    assert_eq!(lines[1]["binary"], true);
    assert_eq!(lines[2]["text"], "bad \u{fffd}( utf8");
    assert_eq!(lines[2]["binary"], true);
    assert!(lines[3].get("binary").is_none());
}

#[test]
fn paths_outside_the_globs_symlinks_and_dotdot_are_refused() {
    let mut s = Server::start("logs-paths");
    append(&s.log("a.log"), "a\n");
    append(&s.log("secret.log"), "secret\n");
    append(&s.log("other.txt"), "x\n");
    std::os::unix::fs::symlink("/etc/hostname", s.log("link.log")).unwrap();
    // The listing: regular files that match, minus the denied one, no symlink.
    let v = s.call("get_app_logs", json!({})).unwrap();
    let listed: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [s.log("a.log").to_str().unwrap()]);
    assert_eq!(v["count"], 1);

    let e = s.page(&s.log("link.log"), json!({})).unwrap_err();
    assert!(e.contains("symbolic link"), "{e}");
    let e = s.page(&s.log("secret.log"), json!({})).unwrap_err();
    assert!(e.contains("denied_paths"), "{e}");
    let e = s.page(&s.log("other.txt"), json!({})).unwrap_err();
    assert!(
        e.contains("matches none of scopes.logs_app.allowed_paths"),
        "{e}"
    );
    let e = s.page(Path::new("/etc/passwd"), json!({})).unwrap_err();
    assert!(e.contains("matches none"), "{e}");
    let dotdot = format!("{}/../c.yaml", s.dir.path("logs").display());
    let e = s.page(Path::new(&dotdot), json!({})).unwrap_err();
    assert!(
        e.contains("invalid argument `path`") && e.contains("`..`"),
        "{e}"
    );
    // `..` that lands back on an allowed name is refused just the same.
    let back = format!("{0}/../logs/a.log", s.dir.path("logs").display());
    assert!(s.page(Path::new(&back), json!({})).is_err());
    let e = s
        .call("get_app_logs", json!({"path": "relative.log"}))
        .unwrap_err();
    assert!(e.contains("`path`"), "{e}");
}

#[test]
fn forged_stale_and_misplaced_cursors_are_clear_errors() {
    let mut s = Server::start("logs-cursor");
    let (a, b) = (s.log("a.log"), s.log("b.log"));
    append(&a, &numbered(0, 100));
    append(&b, &numbered(0, 100));
    let c = cursor(&s.page(&a, json!({"lines": 10})).unwrap());
    // Forged: a valid-looking text that this server did not tag.
    let mut forged = c.clone().into_bytes();
    forged[10] = if forged[10] == b'A' { b'B' } else { b'A' };
    let e = s
        .page(&a, json!({"cursor": String::from_utf8(forged).unwrap()}))
        .unwrap_err();
    assert!(e.contains("invalid argument `cursor`"), "{e}");
    assert!(
        e.contains("not issued by this server") || e.contains("malformed"),
        "{e}"
    );
    let e = s.page(&a, json!({"cursor": "AAAA"})).unwrap_err();
    assert!(e.contains("malformed"), "{e}");
    let e = s.page(&a, json!({"cursor": "not base64!"})).unwrap_err();
    assert!(e.contains("`cursor`"), "{e}");
    // Another file's path with this cursor: refused, the cursor names its file.
    let e = s.page(&b, json!({"cursor": c})).unwrap_err();
    assert!(e.contains("another log file"), "{e}");
    // No path with a cursor.
    let e = s.call("get_app_logs", json!({"cursor": c})).unwrap_err();
    assert!(e.contains("`path`"), "{e}");
    // The file is deleted: the cursor is stale.
    std::fs::remove_file(&a).unwrap();
    let e = s.page(&a, json!({"cursor": c})).unwrap_err();
    assert!(e.contains("gone"), "{e}");
    // A cursor from another server process is refused (its key differs).
    let mut other = Server::start("logs-cursor-2");
    let a2 = other.log("a.log");
    append(&a2, &numbered(0, 100));
    let e = other.page(
        &a2,
        json!({"cursor": cursor(&s.page(&b, json!({"lines": 1})).unwrap())}),
    );
    assert!(e.unwrap_err().contains("`cursor`"));
}

#[test]
fn the_gate_refuses_out_of_range_arguments_with_their_name() {
    let mut s = Server::start("logs-gate");
    let p = s.log("a.log");
    append(&p, "x\n");
    let e = s.page(&p, json!({"lines": 1001})).unwrap_err();
    assert!(e.contains("`lines`") && e.contains("1000"), "{e}");
    let e = s.call("get_syslog", json!({"lines": 1001})).unwrap_err();
    assert!(e.contains("`lines`"), "{e}");
    let e = s
        .call("get_kernel_logs", json!({"max_age_hours": 25}))
        .unwrap_err();
    assert!(e.contains("`max_age_hours`"), "{e}");
    let e = s
        .call("get_auth_logs", json!({"max_age_hours": 25}))
        .unwrap_err();
    assert!(e.contains("`max_age_hours`") && e.contains("24"), "{e}");
    let e = s.call("get_auth_logs", json!({})).unwrap_err();
    assert!(e.contains("max_age_hours"), "{e}");
    let e = s.page(&p, json!({"grep": "a\nb"})).unwrap_err();
    assert!(e.contains("`grep`"), "{e}");
    let e = s.page(&p, json!({"cursor": "x".repeat(129)})).unwrap_err();
    assert!(e.contains("`cursor`"), "{e}");
}

#[test]
fn system_logs_on_this_machine() {
    let mut s = Server::start("logs-system");
    // This machine may have no syslog file or auth log: then a clear "unavailable".
    for (tool, args, files) in [
        (
            "get_syslog",
            json!({"lines": 5}),
            ["/var/log/syslog", "/var/log/messages"],
        ),
        (
            "get_auth_logs",
            json!({"lines": 5, "max_age_hours": 24}),
            ["/var/log/auth.log", "/var/log/secure"],
        ),
    ] {
        let exists = files.iter().any(|f| Path::new(f).exists());
        match s.call(tool, args) {
            Ok(v) if exists => assert!(v["returned"].as_u64().unwrap() <= 5),
            Ok(v) => {
                assert_eq!(v["stopped"], "no_file");
                assert_eq!(v["returned"], 0);
                let reason = v["reason"].as_str().unwrap();
                assert!(
                    reason.contains(files[0]) && reason.contains(files[1]),
                    "{reason}"
                );
            }
            Err(e) => assert!(exists && e.contains("not readable"), "{tool}: {e}"),
        }
    }
    // The kernel log: readable when this process may read /dev/kmsg itself.
    let readable = std::fs::File::open("/dev/kmsg").is_ok();
    match s.call("get_kernel_logs", json!({"lines": 20})) {
        Ok(v) => {
            assert!(readable);
            let lines = v["lines"].as_array().unwrap();
            assert!(lines.len() <= 20);
            let seqs: Vec<u64> = lines.iter().map(|l| l["seq"].as_u64().unwrap()).collect();
            assert!(
                seqs.windows(2).all(|w| w[0] > w[1]),
                "newest first: {seqs:?}"
            );
            if v.get("next_cursor").is_some() {
                let older = s
                    .call(
                        "get_kernel_logs",
                        json!({"lines": 20, "cursor": cursor(&v)}),
                    )
                    .unwrap();
                for l in older["lines"].as_array().unwrap() {
                    assert!(l["seq"].as_u64().unwrap() < *seqs.last().unwrap());
                }
            }
            let app = cursor_of_app_log(&mut s);
            let e = s
                .call("get_kernel_logs", json!({"cursor": app}))
                .unwrap_err();
            assert!(e.contains("not one of this tool's"), "{e}");
        }
        Err(e) => assert!(!readable && e.contains("kernel log"), "{e}"),
    }
}

fn cursor_of_app_log(s: &mut Server) -> String {
    let p = s.log("k.log");
    append(&p, &numbered(0, 10));
    cursor(&s.page(&p, json!({"lines": 1})).unwrap())
}

#[test]
fn logs_app_cannot_be_enabled_without_paths() {
    let dir = TempDir::new("logs-noapp");
    let cfg = dir.path("c.yaml");
    common::write_config(&cfg, "scopes: {logs_app: {enabled: true}}\n", 0o600);
    let (code, _, err) = common::run(&["check-config", "--config", cfg.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(
        err.contains("scopes.logs_app: enabled without allowed_paths"),
        "{err}"
    );
}
