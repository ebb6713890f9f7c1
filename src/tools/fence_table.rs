//! The fence rule checked for every tool in the registry (`output::trust`, `docs/output.md`):
//! a table of which tools can return host text and which fields are the server's own words, and
//! a render of every tool with hostile host text in every free string.
#![forbid(unsafe_code)]

use serde_json::{Value, json};

use super::{Registry, TRUNCATED_FIELD};
use crate::output::tests::HOSTILE;
use crate::output::{Format, Settings as Output, fence, render};

/// A value shaped like `schema` whose every free string is `s` (enum/const: the first word).
fn sample(schema: &Value, s: &str) -> Value {
    if let Some(Value::Array(e)) = schema.get("enum") {
        return e.first().cloned().unwrap_or(Value::Null);
    }
    if let Some(c) = schema.get("const") {
        return c.clone();
    }
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ => "object",
    };
    match ty {
        "object" => {
            let mut m = serde_json::Map::new();
            if let Some(Value::Object(props)) = schema.get("properties") {
                for (k, p) in props {
                    if k != TRUNCATED_FIELD {
                        m.insert(k.clone(), sample(p, s));
                    }
                }
            }
            Value::Object(m)
        }
        "array" => {
            let item = sample(schema.get("items").unwrap_or(&Value::Null), s);
            Value::Array(vec![item.clone(), item])
        }
        "string" => Value::String(s.to_owned()),
        "integer" => json!(1),
        "number" => json!(1.5),
        "boolean" => json!(true),
        _ => Value::Null,
    }
}

/// The fence rule per tool, one line each: whether its results can carry host text, and the
/// strings its schema declares as the server's own (every other string is fenced). A new
/// tool fails `every_tool_is_in_the_fence_table` until it is added here.
const FENCE_TABLE: &[(&str, bool, &[&str])] = &[
    ("get_system_status", true, &["/uptime_human"]),
    ("get_cpu_info", true, &[]),
    (
        "get_memory_info",
        false,
        &[
            "/oom_kills_reason",
            "/pressure/source",
            "/pressure_reason",
            "/rates_reason",
        ],
    ),
    ("get_disk_info", true, &["/filesystems/[]/error"]),
    (
        "get_disk_io",
        true,
        &["/devices/[]/rates_reason", "/rates_reason", "/reason"],
    ),
    ("get_block_devices", true, &["/devices/[]/type", "/reason"]),
    (
        "get_network_info",
        true,
        &[
            "/address_errors/[]",
            "/default_routes/[]/family",
            "/default_routes/[]/gateway",
            "/interfaces/[]/addresses/[]/family",
            "/interfaces/[]/addresses/[]/scope",
            "/interfaces/[]/rates_reason",
            "/rates_reason",
            "/route_errors/[]",
            "/sockstat/[]/protocol",
            "/sockstat_reason",
        ],
    ),
    (
        "get_processes",
        true,
        &["/cpu_mode", "/processes/[]/tty", "/sort_by"],
    ),
    (
        "get_process",
        true,
        &[
            "/cgroup_hierarchy",
            "/cgroup_reason",
            "/container_id",
            "/container_runtime",
            "/io_reason",
            "/open_fds_reason",
            "/start_time_utc",
            "/tty",
        ],
    ),
    ("get_uptime", false, &["/uptime_human"]),
    ("get_load", false, &["/psi_reason"]),
    ("get_temperature", true, &["/reason", "/sensors/[]/source"]),
    (
        "get_sessions_and_time",
        true,
        &[
            "/clock/state",
            "/clock/status/[]",
            "/clock_reason",
            "/file_handles_reason",
            "/sessions/[]/login_time",
            "/sessions/[]/notes/[]",
            "/sessions_reason",
            "/taint/flags/[]/letter",
            "/taint/flags/[]/name",
            "/taint_reason",
            "/utmp_path",
        ],
    ),
    (
        "whoami",
        false,
        &["/identity", "/scopes/[]", "/tools/[]", "/transport"],
    ),
    (
        "get_journal_logs",
        true,
        &[
            "/entries/[]/priority_name",
            "/entries/[]/time",
            "/next_cursor",
            "/reason",
            "/source",
        ],
    ),
    (
        "get_syslog",
        true,
        &[
            "/lines/[]/time",
            "/next_cursor",
            "/reason",
            "/stopped",
            "/window_start",
        ],
    ),
    (
        "get_kernel_logs",
        true,
        &[
            "/boot_time",
            "/lines/[]/facility",
            "/lines/[]/level",
            "/lines/[]/time",
            "/next_cursor",
            "/stopped",
            "/window_start",
        ],
    ),
    (
        "get_app_logs",
        true,
        &[
            "/files/[]/modified",
            "/lines/[]/time",
            "/next_cursor",
            "/patterns/[]",
            "/reason",
            "/stopped",
            "/window_start",
        ],
    ),
    (
        "get_auth_logs",
        true,
        &[
            "/lines/[]/time",
            "/next_cursor",
            "/reason",
            "/stopped",
            "/window_start",
        ],
    ),
    (
        "get_user_accounts",
        true,
        &["/uid_range_source", "/users/[]/kind"],
    ),
    (
        "get_sudo_config",
        true,
        &[
            "/aliases/[]/kind",
            "/defaults/[]/binding",
            "/files/[]/kind",
            "/files/[]/mode",
        ],
    ),
    (
        "get_ssh_config",
        true,
        &["/files/[]/mode", "/settings/[]/source"],
    ),
    (
        "get_open_files",
        true,
        &["/files/[]/access", "/files/[]/kind"],
    ),
    (
        "get_packages",
        true,
        &[
            "/database",
            "/databases/[]/manager",
            "/databases/[]/path",
            "/manager",
            "/problems/[]/reason",
        ],
    ),
    (
        "get_sbom",
        true,
        &[
            "/bom/bomFormat",
            "/bom/compositions/[]/aggregate",
            "/bom/compositions/[]/assemblies/[]",
            "/bom/components/[]/type",
            "/bom/metadata/component/bom-ref",
            "/bom/metadata/component/type",
            "/bom/metadata/properties/[]/name",
            "/bom/metadata/timestamp",
            "/bom/metadata/tools/components/[]/name",
            "/bom/metadata/tools/components/[]/type",
            "/bom/metadata/tools/components/[]/version",
            "/bom/serialNumber",
            "/bom/specVersion",
            "/bom/version",
            "/database",
            "/incomplete_reasons/[]",
            "/manager",
        ],
    ),
    (
        "get_kernel_modules",
        true,
        &[
            "/modules/[]/state",
            "/modules/[]/taint/[]/letter",
            "/modules/[]/taint/[]/name",
            "/reason",
        ],
    ),
    ("get_mounts", true, &[]),
    (
        "get_cron_jobs",
        true,
        &[
            "/invalid_lines/[]/reason",
            "/jobs/[]/note",
            "/jobs/[]/source",
            "/skipped/[]/reason",
        ],
    ),
    (
        "get_systemd_units",
        true,
        &[
            "/runtime_reason",
            "/skipped/[]/reason",
            "/units/[]/enablement",
            "/units/[]/note",
            "/units/[]/type",
        ],
    ),
    (
        "get_routes",
        true,
        &[
            "/errors/[]",
            "/routes/[]/destination",
            "/routes/[]/family",
            "/routes/[]/flags/[]",
            "/routes/[]/gateway",
            "/routes/[]/source",
            "/routes/[]/type",
        ],
    ),
    (
        "get_listening_ports",
        true,
        &[
            "/errors/[]",
            "/owners_reason",
            "/sockets/[]/address",
            "/sockets/[]/protocol",
            "/sockets/[]/type",
        ],
    ),
    (
        "get_dns_config",
        true,
        &[
            "/nsswitch_error",
            "/resolv_conf/ignored_lines/[]/reason",
            "/resolv_conf/nameservers/[]/address",
            "/resolv_conf/path",
            "/resolv_conf_error",
            "/systemd_resolved/detected_by",
            "/systemd_resolved/upstream/ignored_lines/[]/reason",
            "/systemd_resolved/upstream/nameservers/[]/address",
            "/systemd_resolved/upstream/path",
            "/systemd_resolved/upstream_error",
        ],
    ),
    // The unit tests' own tool (`stall`): no output fields.
    ("test_stall", false, &[]),
    ("test_requirements", false, &[]),
];

#[test]
fn every_tool_is_in_the_fence_table() {
    let registry = Registry::new().unwrap();
    let mut names: Vec<&str> = registry.iter().map(|t| t.def.name).collect();
    let mut table: Vec<&str> = FENCE_TABLE.iter().map(|(n, _, _)| *n).collect();
    names.sort_unstable();
    table.sort_unstable();
    assert_eq!(names, table);
    for (name, _, server) in FENCE_TABLE {
        let tool = registry.get(name).unwrap();
        let mut got = tool.compiled().unwrap().trust.server_paths();
        got.retain(|p| !p.starts_with("/truncated/"));
        let mut want: Vec<String> = server.iter().map(|s| (*s).to_owned()).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{name}: the server-text fields changed");
    }
}

/// The text between the fence's tag lines, checking that the fence is whole: the preamble,
/// one opening line, and the closing line (with the nonce) exactly once, at the end.
fn inside_fence(text: &str) -> &str {
    let mut lines = text.splitn(3, '\n');
    let preamble = lines.next().unwrap();
    let open = lines.next().unwrap();
    let rest = lines.next().unwrap();
    assert!(preamble.starts_with("Untrusted data from "), "{text}");
    let nonce = open
        .strip_prefix("<untrusted-data nonce=\"")
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert_eq!(nonce.len(), 32);
    let close = format!("</untrusted-data nonce=\"{nonce}\">");
    assert_eq!(text.matches(&close).count(), 1, "{text}");
    assert_eq!(text.matches(nonce).count(), 3, "{text}");
    let (inner, after) = rest.split_once(&close).unwrap();
    // Only our own truncation hint may follow the fence.
    assert!(after.is_empty() || after.starts_with("\n"), "{after}");
    assert!(!inner.contains(fence::is_lt_like), "{inner}");
    inner
}

#[test]
fn every_tool_fences_every_host_string_and_the_fence_keeps_the_data() {
    let registry = Registry::new().unwrap();
    let output = Output::default();
    for (name, fenced, _) in FENCE_TABLE {
        let tool = registry.get(name).unwrap();
        for hostile in HOSTILE {
            let value = sample(&tool.output_json(), hostile);
            for format in [Format::Json, Format::Toon] {
                let r = render(
                    &output,
                    tool.def.name,
                    tool.def.impact,
                    &tool.compiled().unwrap().trust,
                    value.clone(),
                    format,
                )
                .unwrap();
                let text = r.result["content"][0]["text"].as_str().unwrap();
                let structured = &r.result["structuredContent"];
                if !*fenced {
                    // Only server text (the sample puts the hostile string in it too, but
                    // no handler can: those fields are the server's words).
                    assert!(
                        !tool.compiled().unwrap().trust.has_host_text(structured),
                        "{name}"
                    );
                    assert!(!text.starts_with("Untrusted data"), "{name}: {text}");
                    continue;
                }
                let inner = inside_fence(text);
                // Nothing hostile outside the fence.
                let outside = text.replacen(inner, "", 1);
                assert!(!outside.contains("IGNORE"), "{name}: {outside}");
                assert!(!outside.contains("quoted"), "{name}: {outside}");
                if format == Format::Json {
                    let back: Value = serde_json::from_str(inner.trim_end()).unwrap();
                    assert_eq!(&back, structured, "{name} {hostile:?}");
                }
            }
        }
    }
}
