#![forbid(unsafe_code)]
//! Typed configuration: the YAML file, its integrity checks, validation and the environment
//! override policy. A key that is parsed is enforced; there are no placeholder settings.
//!
//! Loading is two-phase: `secure_read` opens the file with `O_NOFOLLOW | O_NONBLOCK` and checks
//! the open handle (never the path, so a swap between check and use is impossible), then
//! `parse` turns the text into a `Config` and `validate` checks every rule, collecting all
//! problems so an operator can fix them in one pass.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

pub use crate::audit::Settings as AuditConfig;
use crate::audit::{Facility, SecretSource, SyslogSettings, SyslogTransport};
pub use crate::log::LogLevel;
use crate::output::caps::Limits as CapLimits;
use crate::output::redact::{FailAction, PatternSpec, RedactionSettings, Redactor};
pub use crate::output::{Format, Settings as Output, warm_default_redactor};
pub use crate::policy::Settings as Scopes;
use crate::scope::{Impact, Scope, ScopeSet};
pub use crate::secfile::{FileKind, MAX_CONFIG_BYTES, secure_read};

/// Where the config lives unless `--config` says otherwise.
pub const DEFAULT_PATH: &str = "/etc/sysgate/config.yaml";

/// Hard limits on what a connection may send.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Largest accepted JSON-RPC message, in bytes (one line on stdio).
    pub max_message_bytes: usize,
    /// Deepest accepted JSON nesting.
    pub max_json_depth: usize,
    /// Most `tools/call` requests one connection may have running or queued at once.
    pub max_in_flight: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 1024 * 1024,
            max_json_depth: 64,
            max_in_flight: 64,
        }
    }
}

/// Worker pool sizing and per-impact-class deadlines.
#[derive(Debug, Clone, PartialEq)]
pub struct Resources {
    /// Worker threads that run tool handlers; also the most calls running at once.
    pub max_concurrent_queries: usize,
    pub timeout_minimal: Duration,
    pub timeout_low: Duration,
    pub timeout_medium: Duration,
}

impl Default for Resources {
    fn default() -> Self {
        Resources {
            max_concurrent_queries: 5,
            timeout_minimal: Duration::from_millis(100),
            timeout_low: Duration::from_millis(1000),
            timeout_medium: Duration::from_millis(5000),
        }
    }
}

impl Resources {
    pub fn deadline_for(&self, impact: Impact) -> Duration {
        match impact {
            Impact::Minimal => self.timeout_minimal,
            Impact::Low => self.timeout_low,
            Impact::Medium => self.timeout_medium,
        }
    }

    /// The longest deadline of any class.
    pub fn longest_deadline(&self) -> Duration {
        self.timeout_minimal
            .max(self.timeout_low)
            .max(self.timeout_medium)
    }
}
/// The transports this build can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Stdio,
}

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this came from (`None`: built-in defaults).
    pub source: Option<PathBuf>,
    pub transport: Transport,
    pub allow_root: bool,
    pub log_level: LogLevel,
    /// When false, a config file readable by group/other is a warning instead of a refusal.
    /// Nothing else relaxes (see `docs/configuration.md`).
    pub fail_closed: bool,
    pub limits: Limits,
    pub resources: Resources,
    pub scopes: Scopes,
    pub output: Output,
    /// `None`: no audit log (the built-in default; see docs/configuration.md).
    pub audit: Option<AuditConfig>,
    /// SHA-256 of the config file's bytes, for the audit log (`None`: built-in defaults).
    pub digest: Option<String>,
    /// Warnings to print on every start and reload.
    pub warnings: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            source: None,
            transport: Transport::Stdio,
            allow_root: false,
            log_level: LogLevel::Info,
            fail_closed: true,
            limits: Limits::default(),
            resources: Resources::default(),
            scopes: Scopes::default(),
            output: Output::default(),
            audit: None,
            digest: None,
            warnings: Vec::new(),
        }
    }
}

// ---- The file format. Every struct denies unknown keys. -------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    transport: Option<String>,
    allow_root: Option<bool>,
    log_level: Option<LogLevel>,
    config: Option<FileConfigSection>,
    limits: Option<FileLimits>,
    resources: Option<FileResources>,
    scopes: Option<BTreeMap<String, FileScope>>,
    queries: Option<FileQueries>,
    stdio: Option<FileStdio>,
    /// `Some(None)`: the key is there with no value (`audit: ~`, or only comments under it), which
    /// is refused like `audit: {}` rather than read as "no audit log".
    #[serde(default, deserialize_with = "present_even_if_null")]
    audit: Option<Option<FileAudit>>,
    output: Option<FileOutput>,
    redaction: Option<FileRedaction>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileOutput {
    /// Default text block format when a call does not ask.
    format: Option<Format>,
    /// Output caps for all tools ...
    caps: Option<FileCaps>,
    /// ... and per impact class, overriding `caps` field by field.
    caps_by_impact: Option<FileCapsByImpact>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCaps {
    max_output_bytes: Option<u64>,
    max_output_lines: Option<u64>,
    max_array_items: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCapsByImpact {
    minimal: Option<FileCaps>,
    low: Option<FileCaps>,
    medium: Option<FileCaps>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRedaction {
    enabled: Option<bool>,
    /// Key globs; replaces the built-in list when given.
    fields: Option<Vec<String>>,
    /// Patterns added to the built-in ones.
    #[serde(default)]
    patterns: Vec<PatternSpec>,
    /// Keep the built-in patterns (default true).
    default_patterns: Option<bool>,
    limits: Option<FileRedactionLimits>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRedactionLimits {
    max_input_bytes: Option<u64>,
    fail_action: Option<FailAction>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAudit {
    enabled: Option<bool>,
    path: Option<PathBuf>,
    /// The HMAC key: hex, at least 32 bytes, in a 0600 file ...
    key_file: Option<PathBuf>,
    /// ... or in this environment variable.
    key_env: Option<String>,
    fsync: Option<bool>,
    max_size_mb: Option<u64>,
    max_files: Option<u64>,
    log_params: Option<bool>,
    anonymize_identity: Option<bool>,
    identity_hash_salt_file: Option<PathBuf>,
    identity_hash_salt_env: Option<String>,
    syslog: Option<FileSyslog>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSyslog {
    enabled: Option<bool>,
    facility: Option<String>,
    /// `unix` (default, `addr` a socket path, default /dev/log), `udp` or `tcp` (`addr` host:port).
    network: Option<String>,
    addr: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfigSection {
    fail_closed: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLimits {
    max_message_bytes: Option<u64>,
    max_json_depth: Option<u64>,
    max_in_flight: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileResources {
    max_concurrent_queries: Option<u64>,
    timeouts: Option<FileTimeouts>,
}

/// Per-impact-class deadlines in milliseconds (the seed's `resources.timeouts`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTimeouts {
    minimal: Option<u64>,
    low: Option<u64>,
    medium: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileScope {
    enabled: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileQueries {
    /// Tools refused by name.
    #[serde(default)]
    deny: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileStdio {
    /// Scopes granted to stdio callers; meta-scopes allowed. Default: every enabled scope.
    scopes: Option<Vec<String>>,
}

// ---- Parsing and validation ------------------------------------------------------------------

fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = 16;
    budget.max_events = 100_000;
    budget.max_nodes = 50_000;
    budget.max_aliases = 64;
    budget.max_anchors = 64;
    budget.max_documents = 1;
    budget.max_total_scalar_bytes = MAX_CONFIG_BYTES as usize;
    let mut o = serde_saphyr::Options::default();
    o.budget = Some(budget);
    o.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::Error;
    o.merge_keys = serde_saphyr::MergeKeyPolicy::Error;
    // `yes`/`no`/`on` are strings, not booleans: no YAML 1.1 surprises in a security file.
    o.strict_booleans = true;
    o
}

/// Parse YAML text into a validated `Config`. Every problem found is returned.
pub fn parse(text: &str, source: Option<&Path>) -> Result<Config, Vec<String>> {
    let file: FileConfig = if text.trim().is_empty() {
        FileConfig::default()
    } else {
        serde_saphyr::from_str_with_options(text, yaml_options())
            .map_err(|e| vec![yaml_problem(text, source, &e.to_string())])?
    };
    // After the budgeted parse succeeded, so this second pass only sees well-formed, bounded YAML.
    let mut problems = quoted_typed_values(text);
    match build(file, source) {
        Ok(c) if problems.is_empty() => Ok(c),
        Ok(_) => Err(problems),
        Err(p) => {
            problems.extend(p);
            Err(problems)
        }
    }
}

/// The YAML reader's error as an operator should read it: the file's name instead of `<input>`,
/// a duplicate key with both lines instead of the parser's option name, and a note that the
/// reader stops at its first error.
fn yaml_problem(text: &str, source: Option<&Path>, message: &str) -> String {
    let message = match first_duplicate_key(text) {
        Some((key, first, again)) if message.contains("duplicate mapping key") => {
            format!(
                "duplicate key `{key}` at line {again} (first at line {first}); give each key once"
            )
        }
        _ => match source {
            Some(p) => message.replace("--> <input>:", &format!("--> {}:", p.display())),
            None => message.to_string(),
        },
    };
    format!(
        "{}\n(the YAML reader stops at its first error, so the lines after it were not checked: \
         fix this one and check again)",
        message.trim_end()
    )
}

/// The first key given twice in one mapping: (key, line of the first, line of the second).
fn first_duplicate_key(text: &str) -> Option<(String, usize, usize)> {
    use serde_saphyr::granit_parser::{Event, Parser};
    // Per open collection: for a mapping, the keys seen and whether the next node is a key.
    enum Frame {
        Map(BTreeMap<String, usize>, bool),
        Seq,
    }
    let mut stack: Vec<Frame> = Vec::new();
    // A node ended: its mapping (if any) expects a key next, or a value after a key.
    let node_done = |stack: &mut Vec<Frame>| {
        if let Some(Frame::Map(_, next_is_key)) = stack.last_mut() {
            *next_is_key = !*next_is_key;
        }
    };
    for event in Parser::new_from_str(text) {
        let Ok((event, span)) = event else {
            return None;
        };
        match event {
            Event::Scalar(value, ..) => {
                if let Some(Frame::Map(keys, true)) = stack.last_mut() {
                    let line = span.start.line();
                    if let Some(first) = keys.get(value.as_ref()) {
                        return Some((value.into_owned(), *first, line));
                    }
                    keys.insert(value.into_owned(), line);
                }
                node_done(&mut stack);
            }
            Event::Alias(_) => node_done(&mut stack),
            Event::MappingStart(..) => stack.push(Frame::Map(BTreeMap::new(), true)),
            Event::SequenceStart(..) => stack.push(Frame::Seq),
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                node_done(&mut stack);
            }
            _ => {}
        }
    }
    None
}

/// Every boolean (`true` here) and integer (`false` here) setting, as dotted key paths (`*`: any
/// key). The YAML deserializer turns a quoted `"true"` or `"7"` into a boolean or a number; a quoted
/// value is a string, so these keys refuse it. Keep in step with the `File*` structs above.
const TYPED_KEYS: &[(&str, bool)] = &[
    ("allow_root", true),
    ("config.fail_closed", true),
    ("limits.max_message_bytes", false),
    ("limits.max_json_depth", false),
    ("limits.max_in_flight", false),
    ("resources.max_concurrent_queries", false),
    ("resources.timeouts.minimal", false),
    ("resources.timeouts.low", false),
    ("resources.timeouts.medium", false),
    ("scopes.*.enabled", true),
    ("audit.enabled", true),
    ("audit.fsync", true),
    ("audit.max_size_mb", false),
    ("audit.max_files", false),
    ("audit.log_params", true),
    ("audit.anonymize_identity", true),
    ("audit.syslog.enabled", true),
    ("output.caps.max_output_bytes", false),
    ("output.caps.max_output_lines", false),
    ("output.caps.max_array_items", false),
    ("output.caps_by_impact.*.max_output_bytes", false),
    ("output.caps_by_impact.*.max_output_lines", false),
    ("output.caps_by_impact.*.max_array_items", false),
    ("redaction.enabled", true),
    ("redaction.default_patterns", true),
    ("redaction.limits.max_input_bytes", false),
];

/// Whether `path` is a typed key: `Some(true)` boolean, `Some(false)` integer.
fn typed_key(path: &[String]) -> Option<bool> {
    TYPED_KEYS.iter().find_map(|(pattern, boolean)| {
        let mut want = pattern.split('.');
        let matches = path
            .iter()
            .all(|seg| want.next().is_some_and(|w| w == "*" || w == seg))
            && want.next().is_none();
        matches.then_some(*boolean)
    })
}

/// Problems for typed keys whose value is written quoted (or as a block scalar), with the line.
fn quoted_typed_values(text: &str) -> Vec<String> {
    use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle};
    // One frame per open collection: a mapping holds the key whose value comes next.
    enum Frame {
        Map(Option<(String, usize)>),
        Seq,
    }
    let path = |stack: &[Frame]| -> Vec<String> {
        stack
            .iter()
            .map(|f| match f {
                Frame::Map(k) => k.as_ref().map(|(k, _)| k.clone()).unwrap_or_default(),
                Frame::Seq => "[]".into(),
            })
            .collect()
    };
    // A value is complete: its mapping waits for the next key.
    let done = |stack: &mut Vec<Frame>| {
        if let Some(Frame::Map(k)) = stack.last_mut() {
            *k = None;
        }
    };
    let mut problems = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut quoted_anchors = BTreeMap::new();
    for event in Parser::new_from_str(text) {
        let Ok((event, span)) = event else { break };
        let is_key = matches!(stack.last(), Some(Frame::Map(None)));
        let quoted = match event {
            Event::Scalar(value, style, anchor, _) => {
                let written = match style {
                    ScalarStyle::Plain => None,
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                        Some("a quoted string")
                    }
                    _ => Some("a block string"),
                };
                if anchor != 0 {
                    quoted_anchors.insert(anchor, (value.to_string(), written));
                }
                if is_key {
                    if let Some(Frame::Map(k)) = stack.last_mut() {
                        *k = Some((value.into_owned(), span.start.line()));
                    }
                    continue;
                }
                written.map(|w| (value.into_owned(), w))
            }
            Event::Alias(id) if !is_key => quoted_anchors
                .get(&id)
                .and_then(|(v, written)| written.map(|w| (v.clone(), w))),
            Event::MappingStart(..) => {
                stack.push(Frame::Map(None));
                continue;
            }
            Event::SequenceStart(..) => {
                stack.push(Frame::Seq);
                continue;
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                None
            }
            _ => continue,
        };
        if let Some((value, written)) = quoted {
            let key = path(&stack);
            let line = match stack.last() {
                Some(Frame::Map(Some((_, line)))) => *line,
                _ => span.start.line(),
            };
            if let Some(boolean) = typed_key(&key) {
                let (what, how) = if boolean {
                    ("a boolean", "true or false")
                } else {
                    ("a number", "digits only")
                };
                problems.push(format!(
                    "{} (line {line}): {value:?} is {written}, not {what}; write it without quotes ({how})",
                    key.join(".")
                ));
            }
        }
        done(&mut stack);
    }
    problems
}

fn range(
    problems: &mut Vec<String>,
    key: &str,
    v: Option<u64>,
    min: u64,
    max: u64,
    default: u64,
) -> u64 {
    match v {
        None => default,
        Some(v) if v < min || v > max => {
            problems.push(format!("{key}: {v} is out of range; allowed {min}..={max}"));
            default
        }
        Some(v) => v,
    }
}

fn scope_list(problems: &mut Vec<String>, key: &str, names: &[String]) -> ScopeSet {
    let mut set = ScopeSet::EMPTY;
    for n in names {
        match ScopeSet::parse_name(n) {
            Some(s) => set = set.union(s),
            None => problems.push(format!(
                "{key}: unknown scope `{n}` (known: {}, readonly, admin)",
                ScopeSet::all().names().join(", ")
            )),
        }
    }
    set
}

fn build(file: FileConfig, source: Option<&Path>) -> Result<Config, Vec<String>> {
    let mut p = Vec::new();
    let mut c = Config {
        source: source.map(Path::to_path_buf),
        ..Config::default()
    };

    match file.transport.as_deref() {
        None | Some("stdio") => {}
        Some(t @ ("unix" | "https")) => p.push(format!(
            "transport: `{t}` is not available in this version of sysgate; only `stdio` is (refusing rather than starting without what `{t}` needs)"
        )),
        Some("http") => p.push("transport: plain `http` is never allowed; use `stdio`".into()),
        Some(t) => p.push(format!("transport: unknown transport `{t}`; allowed: stdio")),
    }
    c.allow_root = file.allow_root.unwrap_or(false);
    if let Some(l) = file.log_level {
        c.log_level = l;
    }
    if let Some(cs) = file.config {
        c.fail_closed = cs.fail_closed.unwrap_or(true);
    }

    let l = file.limits.unwrap_or_default();
    let d = Limits::default();
    c.limits.max_message_bytes = range(
        &mut p,
        "limits.max_message_bytes",
        l.max_message_bytes,
        1024,
        64 << 20,
        d.max_message_bytes as u64,
    ) as usize;
    c.limits.max_json_depth = range(
        &mut p,
        "limits.max_json_depth",
        l.max_json_depth,
        2,
        crate::codec::JSON_PARSER_MAX_DEPTH as u64,
        d.max_json_depth as u64,
    ) as usize;
    c.limits.max_in_flight = range(
        &mut p,
        "limits.max_in_flight",
        l.max_in_flight,
        1,
        1024,
        d.max_in_flight as u64,
    ) as usize;

    let r = file.resources.unwrap_or_default();
    let dr = Resources::default();
    c.resources.max_concurrent_queries = range(
        &mut p,
        "resources.max_concurrent_queries",
        r.max_concurrent_queries,
        1,
        64,
        dr.max_concurrent_queries as u64,
    ) as usize;
    let t = r.timeouts.unwrap_or_default();
    // A deadline is a promise to the caller; ten minutes is already far past any tool here.
    let ms = |p: &mut Vec<String>, key: &str, v: Option<u64>, d: Duration| {
        Duration::from_millis(range(p, key, v, 1, 600_000, d.as_millis() as u64))
    };
    c.resources.timeout_minimal = ms(
        &mut p,
        "resources.timeouts.minimal",
        t.minimal,
        dr.timeout_minimal,
    );
    c.resources.timeout_low = ms(&mut p, "resources.timeouts.low", t.low, dr.timeout_low);
    c.resources.timeout_medium = ms(
        &mut p,
        "resources.timeouts.medium",
        t.medium,
        dr.timeout_medium,
    );

    if let Some(scopes) = file.scopes {
        let mut enabled = crate::scope::ScopeSet::default_enabled();
        for (name, entry) in scopes {
            match Scope::ALL.iter().find(|s| s.name() == name) {
                Some(s) if entry.enabled => enabled.insert(*s),
                Some(s) => enabled.remove(*s),
                None => p.push(format!(
                    "scopes: unknown scope `{name}` (known: {})",
                    ScopeSet::all().names().join(", ")
                )),
            }
        }
        c.scopes.enabled = enabled;
    }
    c.scopes.stdio = match file.stdio.and_then(|s| s.scopes) {
        Some(names) => {
            let granted = scope_list(&mut p, "stdio.scopes", &names);
            let not_enabled = granted.difference(c.scopes.enabled);
            if !not_enabled.is_empty() {
                c.warnings.push(format!(
                    "stdio.scopes grants {} but those scopes are disabled; they have no effect",
                    not_enabled.names().join(", ")
                ));
            }
            granted.intersect(c.scopes.enabled)
        }
        None => c.scopes.enabled,
    };
    if let Some(q) = file.queries {
        for name in q.deny {
            if name == crate::policy::ALWAYS_CALLABLE {
                p.push(format!(
                    "queries.deny: `{name}` cannot be denied: every caller may always call it (the \
                     server's instructions tell agents to, and it only describes the caller's own \
                     access); remove it from the list"
                ));
            } else if crate::tools::definitions().any(|d| d.name == name) {
                c.scopes.denied_tools.insert(name);
            } else {
                p.push(format!(
                    "queries.deny: unknown tool `{name}` (see `sysgate tools`)"
                ));
            }
        }
    }
    // Only whoami left is almost certainly a mistake (a disabled scope, a narrow stdio.scopes or
    // a long deny list): say so on every start, reload and check-config.
    let usable = crate::tools::definitions().any(|d| {
        d.name != crate::policy::ALWAYS_CALLABLE
            && c.scopes.stdio.contains(d.scope)
            && !c.scopes.denied_tools.contains(d.name)
    });
    if !usable {
        c.warnings.push(format!(
            "stdio callers get no tools except `{}`: every tool's scope is disabled or not granted \
             in stdio.scopes, or the tool is in queries.deny (see `sysgate tools` for each tool's scope)",
            crate::policy::ALWAYS_CALLABLE
        ));
    }
    if let Some(a) = file.audit {
        c.audit = audit_section(&mut p, a.unwrap_or_default());
    }
    let out = file.output.unwrap_or_default();
    if let Some(f) = out.format {
        c.output.format = f;
    }
    let base = caps(
        &mut p,
        "output.caps",
        out.caps.unwrap_or_default(),
        CapLimits::default(),
    );
    let by = out.caps_by_impact.unwrap_or_default();
    c.output.caps = [
        caps(
            &mut p,
            "output.caps_by_impact.minimal",
            by.minimal.unwrap_or_default(),
            base,
        ),
        caps(
            &mut p,
            "output.caps_by_impact.low",
            by.low.unwrap_or_default(),
            base,
        ),
        caps(
            &mut p,
            "output.caps_by_impact.medium",
            by.medium.unwrap_or_default(),
            base,
        ),
    ];
    if let Some(r) = file.redaction {
        let settings = redaction_section(&mut p, r);
        match Redactor::new(&settings) {
            Ok(r) => c.output.set_redactor(Arc::new(r), &settings),
            Err(e) => p.push(format!("redaction: {e}")),
        }
    }
    if !c.fail_closed {
        c.warnings.push(
            "config.fail_closed is false: a config file readable by group/other is accepted with a warning. Set it to true.".into(),
        );
    }
    if p.is_empty() { Ok(c) } else { Err(p) }
}

fn caps(p: &mut Vec<String>, key: &str, f: FileCaps, base: CapLimits) -> CapLimits {
    let bytes = range(
        p,
        &format!("{key}.max_output_bytes"),
        f.max_output_bytes,
        4096,
        64 << 20,
        base.max_bytes as u64,
    );
    let lines = range(
        p,
        &format!("{key}.max_output_lines"),
        f.max_output_lines,
        10,
        10_000_000,
        base.max_lines as u64,
    );
    let items = range(
        p,
        &format!("{key}.max_array_items"),
        f.max_array_items,
        1,
        1_000_000,
        base.max_array_items as u64,
    );
    CapLimits {
        max_bytes: bytes as usize,
        max_lines: lines as usize,
        max_array_items: items as usize,
    }
}

/// The redaction settings; `enabled: false` gives settings with no globs and no patterns.
fn redaction_section(p: &mut Vec<String>, r: FileRedaction) -> RedactionSettings {
    let mut s = RedactionSettings::default();
    if r.enabled == Some(false) {
        s.fields.clear();
        s.patterns.clear();
        return s;
    }
    if let Some(fields) = r.fields {
        s.fields = fields;
    }
    if r.default_patterns == Some(false) {
        s.patterns.clear();
    }
    s.patterns.extend(r.patterns);
    if let Some(l) = r.limits {
        s.max_input_bytes = range(
            p,
            "redaction.limits.max_input_bytes",
            l.max_input_bytes,
            1024,
            64 << 20,
            s.max_input_bytes as u64,
        ) as usize;
        if let Some(a) = l.fail_action {
            s.fail_action = a;
        }
    }
    s
}

fn secret_source(
    p: &mut Vec<String>,
    key: &str,
    file: Option<PathBuf>,
    env: Option<String>,
) -> Option<SecretSource> {
    match (file, env) {
        (Some(f), None) => Some(SecretSource::File(f)),
        (None, Some(e)) if is_env_name(&e) => Some(SecretSource::Env(e)),
        (None, Some(e)) => {
            p.push(format!(
                "{key}_env: `{e}` is not a valid environment variable name"
            ));
            None
        }
        (Some(_), Some(_)) => {
            p.push(format!("{key}_file and {key}_env: give one, not both"));
            None
        }
        (None, None) => {
            p.push(format!("{key}_file or {key}_env is required"));
            None
        }
    }
}

fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        && !s.as_bytes()[0].is_ascii_digit()
}

fn present_even_if_null<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

fn audit_section(p: &mut Vec<String>, a: FileAudit) -> Option<AuditConfig> {
    if a.enabled == Some(false) {
        return None;
    }
    let path = match a.path {
        Some(path) if path.is_absolute() => path,
        Some(path) => {
            p.push(format!(
                "audit.path: `{}` must be an absolute path",
                path.display()
            ));
            return None;
        }
        None => {
            p.push("audit.path is required when the audit section is present (e.g. /var/log/sysgate/audit.jsonl)".into());
            return None;
        }
    };
    let key = secret_source(p, "audit.key", a.key_file, a.key_env);
    let anonymize_salt = if a.anonymize_identity.unwrap_or(false) {
        secret_source(
            p,
            "audit.identity_hash_salt",
            a.identity_hash_salt_file,
            a.identity_hash_salt_env,
        )
    } else {
        if a.identity_hash_salt_file.is_some() || a.identity_hash_salt_env.is_some() {
            p.push("audit.identity_hash_salt_*: set only with anonymize_identity: true".into());
        }
        None
    };
    let max_size_mb = range(p, "audit.max_size_mb", a.max_size_mb, 1, 10_240, 100);
    let max_files = range(p, "audit.max_files", a.max_files, 1, 1000, 10) as u32;
    let syslog = a.syslog.filter(|s| s.enabled != Some(false)).and_then(|s| {
        let facility = match s.facility.as_deref() {
            None => Facility::AUTHPRIV,
            Some(f) => match Facility::from_name(f) {
                Some(f) => f,
                None => {
                    p.push(format!("audit.syslog.facility: unknown facility `{f}` (e.g. auth, authpriv, daemon, local0..local7)"));
                    return None;
                }
            },
        };
        let transport = match (s.network.as_deref().unwrap_or("unix"), s.addr) {
            ("unix", addr) => SyslogTransport::Unix(PathBuf::from(addr.unwrap_or_else(|| "/dev/log".into()))),
            ("udp", Some(addr)) => SyslogTransport::Udp(addr),
            ("tcp", Some(addr)) => SyslogTransport::Tcp(addr),
            (n @ ("udp" | "tcp"), None) => {
                p.push(format!("audit.syslog.addr (host:port) is required with network: {n}"));
                return None;
            }
            (n, _) => {
                p.push(format!("audit.syslog.network: unknown `{n}`; allowed: unix, udp, tcp"));
                return None;
            }
        };
        let mut settings = SyslogSettings::new(transport);
        settings.facility = facility;
        Some(settings)
    });
    Some(AuditConfig {
        path,
        key: key?,
        fsync: a.fsync.unwrap_or(false),
        max_size_bytes: max_size_mb * 1024 * 1024,
        max_files,
        log_params: a.log_params.unwrap_or(true),
        anonymize_salt,
        syslog,
    })
}

/// Load the config named on the command line, or the default file if it exists, or the built-in
/// defaults. Every problem (file, parse, validation, environment) is returned together.
pub fn load(named: Option<&Path>) -> Result<Config, Vec<String>> {
    let path = match named {
        Some(p) => Some(p.to_path_buf()),
        None => {
            let d = Path::new(DEFAULT_PATH);
            // Absent and not named: built-in safe defaults. Present: it must pass every check.
            d.symlink_metadata().is_ok().then(|| d.to_path_buf())
        }
    };
    let mut config = match &path {
        None => Config::default(),
        Some(path) => {
            let (text, check) = secure_read(path, FileKind::Config, crate::sys::euid())?;
            let mut config = parse(&text, Some(path)).map_err(|problems| {
                problems
                    .into_iter()
                    .map(|m| format!("{}: {m}", path.display()))
                    .collect::<Vec<_>>()
            })?;
            config.digest = Some(crate::audit::hex(
                ring::digest::digest(&ring::digest::SHA256, text.as_bytes()).as_ref(),
            ));
            if let Some(problem) = check.readable_by_others {
                if config.fail_closed {
                    return Err(vec![format!(
                        "{problem}. (Not recommended: `config.fail_closed: false` accepts a readable config with a warning.)"
                    )]);
                }
                config.warnings.push(problem);
            }
            config
        }
    };
    apply_env(&mut config, std::env::vars_os())?;
    // Load the audit secrets now, so that a missing or unsafe key refuses startup (and fails
    // check-config) instead of surfacing at the first call.
    if let Some(a) = &config.audit {
        a.settings().map_err(|e| vec![e.to_string()])?;
    }
    Ok(config)
}

/// The environment override policy: only the log level may be overridden. Attempts to set
/// secrets or authentication through the environment are refused; other `SYSGATE_*` variables
/// are reported as ignored.
pub fn apply_env(
    config: &mut Config,
    vars: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let named: Vec<String> = config
        .audit
        .iter()
        .flat_map(|a| a.secret_env_names())
        .map(str::to_string)
        .collect();
    for (k, v) in vars {
        let k = k.to_string_lossy();
        if named.iter().any(|n| *n == k) {
            continue; // a secret source the config names, not an override
        }
        // Names are compared without case: to an operator `SYSGATE_audit_key` is the audit key,
        // so it must be refused like `SYSGATE_AUDIT_KEY`, not ignored with a warning.
        let Some(name) = k
            .get(..8)
            .filter(|p| p.eq_ignore_ascii_case("SYSGATE_"))
            .map(|_| k[8..].to_ascii_uppercase())
        else {
            continue;
        };
        match name.as_str() {
            "LOG_LEVEL" => match v.to_str().and_then(LogLevel::parse) {
                Some(l) => config.log_level = l,
                None => problems.push(format!("{k}: must be one of error, warn, info, debug")),
            },
            _ if [
                "SECRET",
                "TOKEN",
                "KEY",
                "PASSWORD",
                "AUTH",
                "TLS",
                "CERT",
                "ROOT",
                "FAIL_CLOSED",
                "SCOPE",
            ]
            .iter()
            .any(|w| name.contains(w)) =>
            {
                problems.push(format!(
                    "{k}: secrets, authentication and security settings cannot be overridden from the environment; set them in the config file"
                ));
            }
            _ => config.warnings.push(format!(
                "{k} is not a recognised override and was ignored (allowed: SYSGATE_LOG_LEVEL)"
            )),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Settings that only take effect at startup: keep their running values in a reloaded config,
/// and return the names of those the new file changed (ignored until restart). One list, so a
/// setting cannot be carried without being reported, or the other way round.
pub fn carry_restart_only(old: &Config, new: &mut Config) -> Vec<&'static str> {
    fn keep<T: PartialEq + Copy>(
        name: &'static str,
        old: T,
        new: &mut T,
        changed: &mut Vec<&'static str>,
    ) {
        if *new != old {
            changed.push(name);
            *new = old;
        }
    }
    let mut changed = Vec::new();
    keep("transport", old.transport, &mut new.transport, &mut changed);
    keep(
        "allow_root",
        old.allow_root,
        &mut new.allow_root,
        &mut changed,
    );
    keep(
        "resources.max_concurrent_queries",
        old.resources.max_concurrent_queries,
        &mut new.resources.max_concurrent_queries,
        &mut changed,
    );
    keep(
        "limits.max_message_bytes",
        old.limits.max_message_bytes,
        &mut new.limits.max_message_bytes,
        &mut changed,
    );
    changed
}

/// A one-line summary for `check-config` and the startup log.
pub fn summary(c: &Config) -> String {
    format!(
        "config ok: {}; transport stdio; scopes enabled: {}; stdio callers get: {}{}{}",
        c.source
            .as_ref()
            .map_or("built-in defaults".to_string(), |p| p.display().to_string()),
        c.scopes.enabled.names().join(", "),
        c.scopes.stdio.names().join(", "),
        match &c.audit {
            Some(a) => format!(
                "; audit log {}{}",
                a.path.display(),
                a.syslog.as_ref().map_or(String::new(), |s| format!(
                    " (a copy to syslog over {})",
                    s.transport
                ))
            ),
            None => "; no audit log".into(),
        },
        if c.scopes.denied_tools.is_empty() {
            String::new()
        } else {
            format!(
                "; denied tools: {}",
                c.scopes
                    .denied_tools
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errs(yaml: &str) -> String {
        parse(yaml, None).unwrap_err().join("\n")
    }

    #[test]
    fn empty_file_is_the_defaults() {
        let c = parse("", None).unwrap();
        let d = Config::default();
        assert_eq!(
            (&c.limits, &c.resources, &c.scopes),
            (&d.limits, &d.resources, &d.scopes)
        );
        assert_eq!(c.output.format, Format::Json);
        assert!(c.audit.is_none());
        assert!(c.scopes.enabled.contains(Scope::Core));
        assert!(!c.scopes.enabled.contains(Scope::Sensitive));
    }

    #[test]
    fn full_file_parses() {
        let c = parse(
            "transport: stdio\nallow_root: true\nlog_level: debug\nconfig:\n  fail_closed: true\n\
             limits:\n  max_message_bytes: 65536\n  max_json_depth: 32\n  max_in_flight: 8\n\
             resources:\n  max_concurrent_queries: 2\n  timeouts: {minimal: 50, low: 500, medium: 2000}\n\
             scopes:\n  hooks: {enabled: false}\n  sensitive:\n    enabled: true\n\
             queries:\n  deny: [get_uptime]\nstdio:\n  scopes: [core, sensitive]\n",
            None,
        )
        .unwrap();
        assert!(c.allow_root);
        assert_eq!(c.log_level, LogLevel::Debug);
        assert_eq!(c.limits.max_message_bytes, 65536);
        assert_eq!(c.resources.timeout_low, Duration::from_millis(500));
        assert!(!c.scopes.enabled.contains(Scope::Hooks));
        assert!(c.scopes.enabled.contains(Scope::Sensitive));
        assert_eq!(c.scopes.stdio.names(), vec!["core", "sensitive"]);
        assert!(c.scopes.denied_tools.contains("get_uptime"));
    }

    #[test]
    fn unknown_and_duplicate_keys_are_errors_with_location() {
        let e = errs("limits:\n  max_mesage_bytes: 10\n");
        assert!(e.contains("max_mesage_bytes"), "{e}");
        assert!(e.contains("line 2"), "{e}");
        let e = errs("allow_root: true\nallow_root: false\n");
        assert!(e.to_lowercase().contains("duplicate"), "{e}");
        assert!(errs("bogus: 1\n").contains("bogus"));
    }

    #[test]
    fn limits_that_are_zero_negative_or_absurd_are_refused() {
        assert!(
            errs("limits: {max_in_flight: 0}").contains("limits.max_in_flight: 0 is out of range")
        );
        assert!(errs("limits: {max_message_bytes: 1}").contains("max_message_bytes"));
        let e = errs("resources: {timeouts: {medium: 31536000000}}");
        assert!(e.contains("resources.timeouts.medium"), "{e}");
        let e = errs("resources: {max_concurrent_queries: -1}");
        assert!(!e.is_empty());
        assert!(errs("resources: {timeouts: {low: 0}}").contains("resources.timeouts.low: 0"));
    }

    #[test]
    fn transports_and_scopes_are_checked() {
        assert!(errs("transport: https").contains("not available"));
        assert!(errs("transport: http").contains("never allowed"));
        assert!(errs("transport: carrier-pigeon").contains("unknown transport"));
        assert!(errs("scopes: {kore: {enabled: true}}").contains("unknown scope `kore`"));
        assert!(errs("stdio: {scopes: [root]}").contains("unknown scope `root`"));
        assert!(errs("queries: {deny: [rm_rf]}").contains("unknown tool `rm_rf`"));
        // YAML 1.1 booleans are not booleans here.
        assert!(parse("allow_root: yes", None).is_err());
    }

    #[test]
    fn quoted_booleans_and_numbers_are_refused_with_the_key_and_line() {
        // (yaml, expected problem, or "" when accepted)
        let cases = [
            (
                "allow_root: \"true\"",
                "allow_root (line 1): \"true\" is a quoted string, not a boolean",
            ),
            (
                "allow_root: 'false'",
                "allow_root (line 1): \"false\" is a quoted string",
            ),
            ("x: &t \"true\"\n", "unknown field `x`"),
            (
                "limits:\n  max_in_flight: \"7\"",
                "limits.max_in_flight (line 2): \"7\" is a quoted string, not a number",
            ),
            (
                "config: {fail_closed: \"false\"}",
                "config.fail_closed (line 1)",
            ),
            (
                "scopes: {sensitive: {enabled: \"true\"}}",
                "scopes.sensitive.enabled (line 1)",
            ),
            (
                "resources:\n  timeouts:\n    low: \"50\"",
                "resources.timeouts.low (line 3)",
            ),
            (
                "output: {caps_by_impact: {low: {max_array_items: '5'}}}",
                "output.caps_by_impact.low.max_array_items (line 1)",
            ),
            (
                "redaction: {enabled: \"false\"}",
                "redaction.enabled (line 1)",
            ),
            (
                "redaction: {limits: {max_input_bytes: \"2048\"}}",
                "redaction.limits.max_input_bytes",
            ),
            (
                "allow_root: |\n  true\n",
                "allow_root (line 1): \"true\\n\" is a block string",
            ),
            ("allow_root: true\nlimits: {max_in_flight: 7}", ""),
            (
                "log_level: \"debug\"\nqueries: {deny: [\"get_uptime\"]}",
                "",
            ),
            (
                "redaction: {patterns: [{name: \"1\", pattern: \"x\", replacement: \"true\"}]}",
                "",
            ),
        ];
        for (yaml, want) in cases {
            match parse(yaml, None) {
                Ok(_) => assert_eq!(want, "", "accepted {yaml:?}"),
                Err(e) => {
                    let e = e.join("\n");
                    assert!(!want.is_empty() && e.contains(want), "{yaml:?}: {e}");
                }
            }
        }
        // An alias to a quoted value is the same quoted value.
        let e = errs("audit: {enabled: false, path: &t \"true\"}\nallow_root: *t\n");
        assert!(
            e.contains("allow_root (line 2): \"true\" is a quoted string"),
            "{e}"
        );
        // Every typed key exists in the file format: plain values of the right type parse.
        for (key, boolean) in TYPED_KEYS {
            let value = if *boolean { "true" } else { "100000" };
            let mut yaml = String::new();
            for (depth, seg) in key.split('.').enumerate() {
                let seg = if seg == "*" {
                    if depth == 1 && key.starts_with("scopes") {
                        "core"
                    } else {
                        "low"
                    }
                } else {
                    seg
                };
                yaml.push_str(&format!("{}{seg}:\n", "  ".repeat(depth)));
            }
            yaml.pop();
            yaml.push_str(&format!(" {value}\n"));
            let r = serde_saphyr::from_str_with_options::<FileConfig>(&yaml, yaml_options());
            assert!(r.is_ok(), "{key}: {yaml}: {r:?}");
        }
    }

    #[test]
    fn duplicate_keys_are_found_with_both_lines() {
        let cases = [
            ("a: 1\nb: 2\na: 3\n", Some(("a", 1, 3))),
            ("x:\n  k: 1\n  j: [1, 2]\n  k: 2\n", Some(("k", 2, 4))),
            ("x: {k: 1}\ny: {k: 1}\n", None),
            ("l: [{k: 1}, {k: 2}]\n", None),
            ("k: v\nv: k\n", None),
            ("a: {b: 1}\nc: 2\na: 3\n", Some(("a", 1, 3))),
        ];
        for (yaml, want) in cases {
            let got = first_duplicate_key(yaml);
            let got = got.as_ref().map(|(k, f, s)| (k.as_str(), *f, *s));
            assert_eq!(got, want, "{yaml:?}");
        }
        let e = errs("log_level: info\nlimits: {max_in_flight: 3}\nlog_level: debug\n");
        assert!(
            e.starts_with("duplicate key `log_level` at line 3 (first at line 1)"),
            "{e}"
        );
        assert!(!e.contains("DuplicateKeyPolicy"), "{e}");
    }

    #[test]
    fn whoami_cannot_be_denied_and_a_config_without_tools_is_warned_about() {
        let e = errs("queries: {deny: [get_uptime, whoami]}");
        assert!(e.contains("queries.deny: `whoami` cannot be denied"), "{e}");
        let no_tools = |c: &Config| c.warnings.iter().any(|w| w.contains("get no tools except"));
        // Whether the other default-enabled scopes leave a caller any tool depends on the
        // tools this build has.
        let has_tools = |f: &dyn Fn(crate::scope::Scope) -> bool| {
            crate::tools::definitions().any(|d| f(d.scope))
        };
        let only_core = !has_tools(&|s| {
            s != crate::scope::Scope::Core && crate::scope::ScopeSet::default_enabled().contains(s)
        });
        let no_hooks = !has_tools(&|s| s == crate::scope::Scope::Hooks);
        // (config, warned)
        let cases = [
            ("", false),
            ("queries: {deny: [get_uptime]}", false),
            ("scopes: {core: {enabled: false}}", only_core),
            ("stdio: {scopes: [hooks]}", no_hooks),
            ("stdio: {scopes: [readonly]}", false),
        ];
        for (yaml, warned) in cases {
            assert_eq!(no_tools(&parse(yaml, None).unwrap()), warned, "{yaml:?}");
        }
        let all_but_whoami: Vec<&str> = crate::tools::definitions()
            .map(|d| d.name)
            .filter(|n| *n != "whoami")
            .collect();
        let yaml = format!("queries: {{deny: [{}]}}", all_but_whoami.join(", "));
        assert!(no_tools(&parse(&yaml, None).unwrap()), "{yaml}");
    }

    #[test]
    fn all_problems_are_reported_together() {
        let e = parse(
            "limits: {max_in_flight: 0, max_json_depth: 0}\ntransport: unix",
            None,
        )
        .unwrap_err();
        assert_eq!(e.len(), 3, "{e:?}");
    }

    #[test]
    fn stdio_scopes_stay_within_enabled_scopes() {
        let c = parse("stdio: {scopes: [admin]}", None).unwrap();
        assert_eq!(c.scopes.stdio, c.scopes.enabled);
        assert!(c.warnings.iter().any(|w| w.contains("disabled")));
    }

    #[test]
    fn env_overrides_follow_the_policy() {
        let mut c = Config::default();
        let v = |k: &str, val: &str| (std::ffi::OsString::from(k), std::ffi::OsString::from(val));
        apply_env(
            &mut c,
            [v("SYSGATE_LOG_LEVEL", "debug"), v("HOME", "/root")],
        )
        .unwrap();
        assert_eq!(c.log_level, LogLevel::Debug);
        let e = apply_env(&mut c, [v("SYSGATE_JWT_SECRET", "x")]).unwrap_err();
        assert!(e[0].contains("cannot be overridden"), "{e:?}");
        assert!(apply_env(&mut c, [v("SYSGATE_DISABLE_AUTH", "1")]).is_err());
        assert!(apply_env(&mut c, [v("SYSGATE_LOG_LEVEL", "loud")]).is_err());
        apply_env(&mut c, [v("SYSGATE_COLOR", "1")]).unwrap();
        assert!(c.warnings.iter().any(|w| w.contains("SYSGATE_COLOR")));
    }

    #[test]
    fn env_names_are_compared_without_case() {
        let v = |k: &str| (std::ffi::OsString::from(k), std::ffi::OsString::from("x"));
        // (name, refused, taken as the log level override)
        let cases = [
            ("SYSGATE_audit_key", true, false),
            ("SYSGATE_Allow_Root", true, false),
            ("sysgate_jwt_secret", true, false),
            ("Sysgate_Fail_Closed", true, false),
            ("SYSGATE_scope_admin", true, false),
            ("sYsGaTe_TlS_cErT", true, false),
            ("sysgate_log_level", true, true), // the override, with a bad value
            ("sysgate_color", false, false),
            ("SYSGATEX_KEY", false, false),
            ("SYSGATE", false, false),
            ("MY_SYSGATE_KEY", false, false),
        ];
        for (name, refused, level) in cases {
            let mut c = Config::default();
            let r = apply_env(&mut c, [v(name)]);
            assert_eq!(r.is_err(), refused, "{name}: {r:?}");
            if let Err(e) = r {
                let want = if level {
                    "must be one of"
                } else {
                    "cannot be overridden"
                };
                assert!(
                    e[0].starts_with(name) && e[0].contains(want),
                    "{name}: {e:?}"
                );
            }
        }
        let mut c = Config::default();
        let level = (
            std::ffi::OsString::from("Sysgate_Log_Level"),
            std::ffi::OsString::from("debug"),
        );
        apply_env(&mut c, [level]).unwrap();
        assert_eq!(c.log_level, LogLevel::Debug);
    }

    #[test]
    fn reload_keeps_restart_only_settings() {
        let old = Config::default();
        let mut new = parse(
            "resources: {max_concurrent_queries: 9}\nqueries: {deny: [get_load]}",
            None,
        )
        .unwrap();
        assert_eq!(
            carry_restart_only(&old, &mut new),
            vec!["resources.max_concurrent_queries"]
        );
        assert_eq!(new.resources.max_concurrent_queries, 5);
        assert!(new.scopes.denied_tools.contains("get_load"));
    }
}
