//! Protocol limits and what the tools tell the caller, through the real binary: the JSON depth
//! limit, integer arguments, progress, counts after caps, usage exit codes, schema messages and
//! the tool list across reloads.
#![allow(clippy::unwrap_used, reason = "tests stop at the first surprise")]

mod common;

use std::time::Duration;

use common::{Client, TempDir, run, write_config};
use serde_json::{Value, json};

/// A `ping` nested exactly `depth` levels deep (the envelope and `params` are two of them).
fn nested_ping(id: i64, depth: usize) -> Vec<u8> {
    let n = depth - 2;
    format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"ping\",\"params\":{{\"x\":{}{}}}}}\n",
        "[".repeat(n),
        "]".repeat(n)
    )
    .into_bytes()
}

#[test]
fn json_depth_range_is_what_the_parser_can_do() {
    let d = TempDir::new("proto-depth");
    let p = d.path("c.yaml");
    // Above the parser's limit: refused with the key and the range, by check-config and serve.
    for v in [128, 512] {
        write_config(&p, &format!("limits: {{max_json_depth: {v}}}\n"), 0o600);
        let (code, out, err) = run(&["check-config", "--config", p.to_str().unwrap()]);
        assert_ne!(code, 0, "{out}");
        assert!(
            err.contains(&format!(
                "limits.max_json_depth: {v} is out of range; allowed 2..=127"
            )),
            "{err}"
        );
    }
    // At the top of the range: the limit itself is accepted, one more level gets the depth error.
    write_config(&p, "limits: {max_json_depth: 127}\n", 0o600);
    let mut c = Client::initialized(&["serve", "--config", p.to_str().unwrap()]);
    c.send_raw(&nested_ping(50, 127));
    let r = c.wait_for(&json!(50), Duration::from_secs(10)).unwrap();
    assert_eq!(r["result"], json!({}), "{r}");
    c.send_raw(&nested_ping(51, 128));
    let r = c.recv(Duration::from_secs(10)).unwrap();
    assert_eq!(r["error"]["code"], -32600, "{r}");
    assert_eq!(
        r["error"]["message"], "message nests deeper than the limit of 127",
        "{r}"
    );
    // Still serving.
    assert_eq!(c.request("ping", json!({}))["result"], json!({}));
}

/// The text of a tool result's first content block.
fn text(r: &Value) -> &str {
    r["result"]["content"][0]["text"].as_str().unwrap_or("")
}

/// Every integer parameter of every tool, from `tools/list`: (tool, parameter, minimum, maximum).
fn integer_parameters(c: &mut Client) -> Vec<(String, String, i64, i64)> {
    let list = c.request("tools/list", json!({}));
    let mut out = Vec::new();
    for t in list["result"]["tools"].as_array().unwrap() {
        let props = t["inputSchema"]["properties"].as_object().unwrap();
        for (name, s) in props {
            if s["type"] == "integer" {
                out.push((
                    t["name"].as_str().unwrap().to_string(),
                    name.clone(),
                    s["minimum"].as_i64().unwrap_or(0),
                    s["maximum"].as_i64().unwrap_or(i64::MAX),
                ));
            }
        }
    }
    out
}

fn call_raw(c: &mut Client, id: i64, tool: &str, args: &str) -> Value {
    c.send_raw(
        format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"tools/call\",\"params\":{{\"name\":\"{tool}\",\"arguments\":{args}}}}}\n"
        )
        .as_bytes(),
    );
    c.wait_for(&json!(id), Duration::from_secs(15)).unwrap()
}

#[test]
fn integers_written_with_a_fraction_part_are_integers_for_every_tool() {
    let d = TempDir::new("proto-int");
    let p = d.path("c.yaml");
    write_config(&p, "", 0o600);
    let mut c = Client::initialized(&["serve", "--config", p.to_str().unwrap()]);
    let params = integer_parameters(&mut c);
    // The tools this build has: the table must not silently shrink to nothing.
    assert!(params.len() >= 3, "{params:?}");
    let mut id = 100;
    for (tool, param, min, max) in &params {
        let v = (*min).max(10).min(*max);
        assert_eq!(v % 10, 0, "pick a multiple of ten for the 1E1 form");
        // Every spelling of the same integer gets the same treatment as the integer itself.
        for form in [
            v.to_string(),
            format!("{v}.0"),
            format!("{v}E0"),
            format!("{}E1", v / 10),
            format!("{v}.000e0"),
        ] {
            id += 1;
            let r = call_raw(&mut c, id, tool, &format!("{{\"{param}\":{form}}}"));
            assert_eq!(r["result"]["isError"], false, "{tool} {param}={form}: {r}");
            let sc = &r["result"]["structuredContent"];
            // Tools that echo the parameter report the integer that was used (a result field of
            // the same name that is not a number, like the log tools' `lines`, is no echo).
            if let Some(echo) = sc.get(param.as_str()).filter(|e| e.is_number()) {
                assert_eq!(echo, &json!(v), "{tool} {param}={form}: {sc}");
            }
            if param == "limit" {
                // The list's counter is `returned`, `listed` (get_sbom's components) or `count`
                // (see output::COUNTERS).
                let n = sc
                    .get("returned")
                    .or_else(|| sc.get("listed"))
                    .or_else(|| sc.get("count"));
                assert!(n.and_then(Value::as_i64).unwrap() <= v, "{sc}");
            }
        }
        // A real fraction is refused by the schema, naming the rule.
        id += 1;
        let r = call_raw(&mut c, id, tool, &format!("{{\"{param}\":{v}.5}}"));
        assert_eq!(r["result"]["isError"], true, "{r}");
        assert_eq!(
            text(&r),
            format!("invalid argument `{param}`: must be an integer (got a number)"),
            "{tool}"
        );
        // Out of range in float form: the schema's range message, not the handler's.
        if *max == i64::MAX {
            continue;
        }
        id += 1;
        let r = call_raw(&mut c, id, tool, &format!("{{\"{param}\":{}.0}}", max + 1));
        assert_eq!(r["result"]["isError"], true, "{r}");
        assert!(
            text(&r).starts_with(&format!(
                "invalid argument `{param}`: must be between {min} and {max} (got "
            )),
            "{tool}: {}",
            text(&r)
        );
    }
}

/// Send a `tools/call` with `_meta.progressToken` and collect what arrives up to its answer, and
/// for a moment after it: (progress notifications before, the answer, progress after).
fn call_with_progress(
    c: &mut Client,
    id: i64,
    tool: &str,
    args: Value,
    token: Value,
) -> (Vec<Value>, Value, Vec<Value>) {
    let mut params = json!({"name": tool, "arguments": args});
    if !token.is_null() {
        params["_meta"] = json!({"progressToken": token});
    }
    c.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}));
    let mut before = Vec::new();
    let answer = loop {
        let m = c.recv(Duration::from_secs(15)).expect("no answer");
        if m.get("id") == Some(&json!(id)) {
            break m;
        }
        if m["method"] == "notifications/progress" {
            before.push(m);
        }
    };
    let mut after = Vec::new();
    while let Some(m) = c.recv(Duration::from_millis(200)) {
        if m["method"] == "notifications/progress" {
            after.push(m);
        }
    }
    (before, answer, after)
}

#[test]
fn every_tool_that_waits_sends_progress_when_asked() {
    let d = TempDir::new("proto-progress");
    let p = d.path("c.yaml");
    write_config(&p, "", 0o600);
    let mut c = Client::initialized(&["serve", "--config", p.to_str().unwrap()]);
    let list = c.request("tools/list", json!({}));
    let tools: Vec<String> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    // (tool, arguments, whether it waits): the README lists exactly the tools that wait.
    let waits = |tool: &str, args: &Value| match tool {
        "get_cpu_info" | "get_system_status" | "get_disk_info" => true,
        "get_processes" | "get_memory_info" | "get_network_info" => {
            args["sample_ms"].as_u64().unwrap_or(0) > 0
        }
        // Its default sample is 1000 ms.
        "get_disk_io" => args["sample_ms"].as_u64().unwrap_or(1000) > 0,
        _ => false,
    };
    // Every tool with no arguments, or only the ones it requires.
    let required = |t: &str| match t {
        "get_process" => json!({"pid": 1}),
        _ => json!({}),
    };
    let mut cases: Vec<(String, Value)> = tools.iter().map(|t| (t.clone(), required(t))).collect();
    for ms in [0, 50, 300] {
        cases.push(("get_processes".into(), json!({"sample_ms": ms, "limit": 1})));
    }
    cases.push(("get_cpu_info".into(), json!({"sample_ms": 50})));
    cases.push(("get_memory_info".into(), json!({"sample_ms": 50})));
    cases.push(("get_disk_io".into(), json!({"sample_ms": 0})));
    cases.push(("get_disk_io".into(), json!({"sample_ms": 50})));
    cases.push(("get_network_info".into(), json!({"sample_ms": 0})));
    cases.push(("get_network_info".into(), json!({"sample_ms": 50})));
    let mut id = 1000;
    for (tool, args) in &cases {
        id += 1;
        let token = json!(format!("tok-{id}"));
        let (before, answer, after) =
            call_with_progress(&mut c, id, tool, args.clone(), token.clone());
        assert_eq!(answer["result"]["isError"], false, "{tool}: {answer}");
        assert!(
            after.is_empty(),
            "{tool}: progress after the answer: {after:?}"
        );
        if !waits(tool, args) {
            assert!(before.is_empty(), "{tool} {args}: {before:?}");
            continue;
        }
        assert!(
            !before.is_empty(),
            "{tool} {args}: no progress before the answer"
        );
        let mut last = -1.0;
        for n in &before {
            let p = &n["params"];
            assert_eq!(p["progressToken"], token, "{n}");
            let v = p["progress"].as_f64().unwrap();
            assert!(v > last, "{tool}: progress must increase: {before:?}");
            assert!(v <= p["total"].as_f64().unwrap(), "{n}");
            assert!(!p["message"].as_str().unwrap().is_empty(), "{n}");
            last = v;
        }
        // An integer token works as well, and without a token nothing is sent.
        id += 1;
        let (before, _, _) = call_with_progress(&mut c, id, tool, args.clone(), json!(id));
        assert!(
            !before.is_empty()
                && before
                    .iter()
                    .all(|n| n["params"]["progressToken"] == json!(id))
        );
        id += 1;
        let (before, _, _) = call_with_progress(&mut c, id, tool, args.clone(), Value::Null);
        assert!(
            before.is_empty(),
            "{tool}: progress without a token: {before:?}"
        );
    }
}

#[test]
fn counters_report_what_is_returned_after_the_caps_cut_an_array() {
    let d = TempDir::new("proto-caps");
    let p = d.path("c.yaml");
    write_config(&p, "output: {caps: {max_array_items: 1}}\n", 0o600);
    let mut c = Client::initialized(&["serve", "--config", p.to_str().unwrap()]);
    let list = c.request("tools/list", json!({}));
    let mut checked = 0;
    for t in list["result"]["tools"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        // A counter's description names the array it counts: "how many … are in `ARRAY`".
        let counters: Vec<(String, String)> = t["outputSchema"]["properties"]
            .as_object()
            .unwrap()
            .iter()
            .filter_map(|(k, s)| {
                let desc = s["description"].as_str()?;
                let array = desc.strip_prefix("how many ")?.split('`').nth(1)?;
                Some((k.clone(), array.to_string()))
            })
            .collect();
        if counters.is_empty() {
            continue;
        }
        let args = match name {
            "get_processes" => json!({"limit": 5}),
            "get_disk_info" => json!({"include_virtual": true}),
            _ => json!({}),
        };
        let r = c.call(name, args);
        let sc = &r["result"]["structuredContent"];
        assert_eq!(r["result"]["isError"], false, "{r}");
        for (counter, array) in &counters {
            let kept = sc[array.as_str()].as_array().unwrap().len();
            assert_eq!(sc[counter.as_str()], json!(kept), "{name}: {sc}");
            let cut = sc["truncated"]["arrays"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|a| a["path"] == format!("/{array}"));
            if let Some(cut) = cut {
                checked += 1;
                assert_eq!(cut["kept"], json!(kept), "{sc}");
                if let Some(more) = sc.get("more_not_listed") {
                    assert_eq!(more, &json!(true), "{name}: {sc}");
                }
            }
        }
    }
    // At least get_processes and get_disk_info (with the pseudo filesystems) have more than one.
    assert!(checked >= 2, "{checked}");
}

#[test]
fn idle_seconds_says_it_is_summed_over_cpus() {
    let d = TempDir::new("proto-idle");
    let p = d.path("c.yaml");
    write_config(&p, "", 0o600);
    let mut c = Client::initialized(&["serve", "--config", p.to_str().unwrap()]);
    let list = c.request("tools/list", json!({}));
    let up = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "get_uptime")
        .unwrap();
    let desc = up["outputSchema"]["properties"]["idle_seconds"]["description"]
        .as_str()
        .unwrap();
    assert!(desc.contains("summed over all CPUs"), "{desc}");
    assert!(
        up["description"]
            .as_str()
            .unwrap()
            .contains("summed over all CPUs")
    );
}

#[test]
fn query_usage_errors_exit_2_and_tool_errors_exit_1() {
    let d = TempDir::new("proto-exit");
    let p = d.path("c.yaml");
    write_config(&p, "", 0o600);
    let cfg = p.to_str().unwrap();
    // (arguments, exit code)
    let cases: [(&[&str], i32); 6] = [
        (&["query", "no_such_tool", "--config", cfg], 2),
        (
            &[
                "query",
                "get_uptime",
                "--args",
                "{not json",
                "--config",
                cfg,
            ],
            2,
        ),
        (&["query", "--config", cfg], 2),
        (&["bogus"], 2),
        (
            &[
                "query",
                "get_uptime",
                "--args",
                "{\"bogus\": 1}",
                "--config",
                cfg,
            ],
            1,
        ),
        (&["query", "get_uptime", "--config", cfg], 0),
    ];
    for (args, want) in cases {
        let (code, out, err) = run(args);
        assert_eq!(code, want, "{args:?}: {out} {err}");
        if want == 2 {
            assert!(out.is_empty() && !err.trim().is_empty(), "{args:?}");
        }
    }
}

#[test]
fn length_rules_say_1_character() {
    let d = TempDir::new("proto-plural");
    let p = d.path("c.yaml");
    write_config(&p, "", 0o600);
    let mut c = Client::initialized(&["serve", "--config", p.to_str().unwrap()]);
    let r = c.call("get_processes", json!({"name": ""}));
    assert_eq!(r["result"]["isError"], true, "{r}");
    assert_eq!(
        text(&r),
        "invalid argument `name`: must be at least 1 character"
    );
    let r = c.call("get_processes", json!({"name": "x".repeat(65)}));
    assert_eq!(
        text(&r),
        "invalid argument `name`: must be at most 64 characters"
    );
}

/// `notifications/tools/list_changed` messages that arrive within `wait`.
fn list_changed(c: &mut Client, wait: Duration) -> usize {
    let end = std::time::Instant::now() + wait;
    let mut n = 0;
    while let Some(left) = end.checked_duration_since(std::time::Instant::now()) {
        match c.recv(left) {
            Some(m) if m["method"] == "notifications/tools/list_changed" => {
                assert!(m.get("id").is_none(), "{m}");
                n += 1;
            }
            Some(_) => {}
            None => break,
        }
    }
    n
}

fn names(list: &Value) -> Vec<String> {
    list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

const MODERN_META: &str = r#"{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;

fn modern_list(c: &mut Client) -> Value {
    let meta: Value = serde_json::from_str(MODERN_META).unwrap();
    c.request("tools/list", json!({"_meta": meta}))
}

#[test]
fn a_reload_that_changes_the_tool_list_tells_initialized_legacy_sessions() {
    let d = TempDir::new("proto-listchanged");
    let p = d.path("c.yaml");
    write_config(&p, "", 0o600);
    let args = ["serve", "--config", p.to_str().unwrap()];

    let mut c = Client::spawn(&args);
    let init = c.request("initialize", json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}));
    assert_eq!(
        init["result"]["capabilities"]["tools"]["listChanged"], true,
        "{init}"
    );
    c.notify("notifications/initialized", json!({}));
    assert!(names(&c.request("tools/list", json!({}))).contains(&"get_uptime".to_string()));

    // Sessions that must not be told: a legacy one that never finished the handshake, and a
    // stateless (2026-07-28) one, which would need a subscriptions/listen stream.
    let mut half = Client::spawn(&args);
    half.request("initialize", json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}));
    let mut modern = Client::spawn(&args);
    let disc: Value = serde_json::from_str(MODERN_META).unwrap();
    let disc = modern.request("server/discover", json!({"_meta": disc}));
    assert_eq!(
        disc["result"]["capabilities"]["tools"]["listChanged"], false,
        "{disc}"
    );
    assert!(names(&modern_list(&mut modern)).contains(&"get_uptime".to_string()));

    let hup_all = |yaml: &str, c: &Client, half: &Client, modern: &Client| {
        write_config(&p, yaml, 0o600);
        for x in [c, half, modern] {
            x.signal("-HUP");
        }
    };

    // A reload that changes something else: nothing is sent.
    hup_all("log_level: warn\n", &c, &half, &modern);
    assert_eq!(list_changed(&mut c, Duration::from_millis(800)), 0);

    // A reload that denies a tool: one notification, and the list no longer has it.
    hup_all(
        "log_level: warn\nqueries: {deny: [get_uptime]}\n",
        &c,
        &half,
        &modern,
    );
    assert_eq!(list_changed(&mut c, Duration::from_secs(3)), 1);
    assert!(!names(&c.request("tools/list", json!({}))).contains(&"get_uptime".to_string()));
    assert!(!names(&modern_list(&mut modern)).contains(&"get_uptime".to_string()));

    // The same file again, and a broken one (rejected): nothing.
    hup_all(
        "log_level: warn\nqueries: {deny: [get_uptime]}\n",
        &c,
        &half,
        &modern,
    );
    assert_eq!(list_changed(&mut c, Duration::from_millis(800)), 0);
    hup_all("bogus_key: 1\n", &c, &half, &modern);
    assert_eq!(list_changed(&mut c, Duration::from_millis(800)), 0);

    // Back to the defaults: told again, and the tool is back.
    hup_all("", &c, &half, &modern);
    assert_eq!(list_changed(&mut c, Duration::from_secs(3)), 1);
    assert!(names(&c.request("tools/list", json!({}))).contains(&"get_uptime".to_string()));

    assert_eq!(list_changed(&mut half, Duration::from_millis(200)), 0);
    assert_eq!(list_changed(&mut modern, Duration::from_millis(200)), 0);
    for x in [&mut c, &mut half, &mut modern] {
        assert!(x.child.try_wait().unwrap().is_none(), "a server died");
    }
}

#[test]
fn the_scope_table_is_generated_and_matches_what_the_server_grants() {
    let (code, md, err) = run(&["tools", "--markdown"]);
    assert_eq!(code, 0, "{err}");
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let committed = std::fs::read_to_string(docs.join("tools.md")).unwrap();
    assert_eq!(
        committed, md,
        "docs/tools.md is stale: run `sysgate tools --markdown > docs/tools.md`"
    );
    // configuration.md points at it, not at a document outside the repository.
    let conf = std::fs::read_to_string(docs.join("configuration.md")).unwrap();
    assert!(conf.contains("(tools.md#scopes)"));
    assert!(!conf.contains("DESIGN"));

    // Rows: | `scope` | enabled by default | in `readonly` | in `admin` | tools |
    let rows: Vec<Vec<String>> = md
        .split("\n## Scopes\n")
        .nth(1)
        .expect("a Scopes section")
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            l.split('|')
                .map(|c| c.trim().trim_matches('`').to_string())
                .collect()
        })
        .collect();
    assert!(rows.len() >= 12, "{rows:?}");
    let default_enabled: Vec<&str> = rows
        .iter()
        .filter(|r| r[2] == "yes")
        .map(|r| r[1].as_str())
        .collect();

    // With the built-in defaults, a stdio caller holds exactly the scopes the table says are
    // enabled by default, and `stdio.scopes: [readonly]` grants exactly the `readonly` column.
    let d = TempDir::new("proto-scopes");
    let p = d.path("c.yaml");
    for (yaml, column) in [("", 2), ("stdio: {scopes: [readonly]}\n", 3)] {
        write_config(&p, yaml, 0o600);
        let mut c = Client::initialized(&["serve", "--config", p.to_str().unwrap()]);
        let who = c.call("whoami", json!({}));
        let held: Vec<&str> = who["result"]["structuredContent"]["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        let want: Vec<&str> = rows
            .iter()
            .filter(|r| r[column] == "yes")
            .map(|r| r[1].as_str())
            .collect();
        assert_eq!(held, want, "{yaml:?}");
        // Every tool the caller may use is listed under a scope it holds.
        for t in who["result"]["structuredContent"]["tools"]
            .as_array()
            .unwrap()
        {
            let t = t.as_str().unwrap();
            assert!(
                rows.iter()
                    .any(|r| held.contains(&r[1].as_str()) && r[5].contains(t)),
                "{t}"
            );
        }
    }
    assert!(!default_enabled.is_empty());
}
