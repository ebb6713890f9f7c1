#![forbid(unsafe_code)]
//! Redaction of secrets in a tool's result, before anything leaves the server.
//!
//! Two layers, both best-effort defence in depth (a secret in an unexpected format gets through):
//!
//! 1. **Field globs** replace the value under a matching key with [`REDACTED`], whatever the
//!    string says. Cheap and reliable when the data is structured.
//! 2. **Patterns** (regular expressions) rewrite every string value, wherever it sits, e.g.
//!    `password=hunter2` → `password=[REDACTED]`. The `regex` crate runs in time linear in the
//!    input, so no pattern can backtrack catastrophically; the total input is still bounded by
//!    [`RedactionSettings::max_input_bytes`], with [`FailAction`] saying what happens beyond it.
//!
//! # Field glob semantics
//!
//! A glob is a `.`-separated list of segments matched against the **key path** of a value: the
//! object keys from the root down to it, with array indices skipped (so the value at
//! `procs[3].env.AWS_KEY` has the key path `procs`, `env`, `AWS_KEY`).
//!
//! * A segment that is only `*` matches any run of zero or more keys.
//! * Any other segment matches exactly one key; a `*` inside it matches any run of characters
//!   (`AWS_*`, `*_PASSWORD`, `*secret*`). There is no other metacharacter.
//! * Matching is ASCII case-insensitive (`*.password` also catches `Password` and `PASSWORD`).
//! * A glob is anchored at the end of the path but **not at the root**: it matches when it matches
//!   the last keys of the path, at any depth. `*.password` and `password` are the same glob, and
//!   `env.AWS_*` matches `AWS_…` directly under any object named `env`, however deep. Tool results
//!   nest their data at varying depths, and a rule that silently misses a nested copy is worse
//!   than one that redacts a little too much.
//! * Keys themselves are never rewritten (that could create duplicate keys and break the schema).
//!
//! A matched string, number or boolean becomes `"[REDACTED]"` (a secret outranks a numeric type in
//! the schema); `null` stays `null`; a matched object or array keeps its shape and has every scalar
//! inside it redacted. Matched values are not scanned by the patterns and cost no scan budget.
//!
//! # Patterns
//!
//! A [`PatternSpec`] is `{name, pattern, replacement}`. The replacement uses the `regex` crate's
//! syntax: `$1`, `${name}`, `$$` for a literal `$`. `$1=[REDACTED]` works because a group name ends
//! at the first character outside `[A-Za-z0-9_]`; write `${1}x` when a letter follows. The
//! constructor rejects (naming the pattern): a pattern that does not compile, one that matches the
//! empty string, a replacement that refers to a group the pattern lacks, and duplicate names.
//! Patterns run in order, each over the output of the previous one. If that pass changed the
//! string, the whole list runs again (at most four passes), because a replacement can complete a
//! match for a pattern that already ran. Empty matches are skipped at run time (they would only
//! insert text).
//!
//! A replacement that leaves the matched text unchanged (re-redacting `password=[REDACTED]`) is not
//! counted, so redacting twice gives the same value and a second report with no redactions.
//!
//! # Scan budget
//!
//! Strings are scanned in document order; their byte lengths add up against `max_input_bytes`.
//! The first string that does not fit exhausts the budget, and from there on [`FailAction`] rules:
//!
//! * [`FailAction::Truncate`] (default): that string keeps its in-budget prefix (scanned), minus a
//!   trailing partial token that could be a cut-off secret, followed by [`UNSCANNED_MARKER`]; every
//!   later non-empty string becomes just the marker. Shape (types) is kept.
//! * [`FailAction::Pass`]: that string and all later ones go out unscanned; the report says how many.
//! * [`FailAction::Error`]: [`Redactor::redact`] fails with [`RedactError::BudgetExceeded`].
//!
//! Field globs apply everywhere regardless of the budget. Keep `max_input_bytes` at least as large
//! as the output byte cap (`caps`): string bytes never exceed the serialized size, so a result
//! that exhausts the budget would be cut by the byte cap anyway.
//!
//! # Using it
//!
//! ```
//! use sysgate::testing::output::redact::{RedactionSettings, Redactor};
//! use serde_json::json;
//!
//! // Built once at startup; an invalid setting refuses startup with a message naming it.
//! let redactor = Redactor::new(&RedactionSettings::default()).expect("defaults compile");
//! let out = redactor
//!     .redact(json!({"db": {"password": "pw"}, "log": ["token=abc def"]}))
//!     .expect("the default fail action never errors");
//! assert_eq!(out.value, json!({"db": {"password": "[REDACTED]"}, "log": ["token=[REDACTED] def"]}));
//! // Counts (never values) go to the audit.
//! assert_eq!(out.report.fields["*.password"], 1);
//! assert_eq!(out.report.patterns["generic_secret"], 1);
//! ```

use std::collections::BTreeMap;
use std::fmt;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The lazy DFA cache each pattern may use per thread (see `Redactor::new`).
const DFA_CACHE_BYTES: usize = 256 * 1024;

/// What a redacted value or match becomes (in the field layer; patterns bring their own text).
pub const REDACTED: &str = "[REDACTED]";

/// Marks a string cut, or replaced, because the scan budget ran out (`fail_action: truncate`).
pub const UNSCANNED_MARKER: &str = "[TRUNCATED: beyond the redaction scan limit]";

/// The seed's default field globs.
pub const DEFAULT_FIELD_GLOBS: &[&str] = &[
    "*.password",
    "*.secret",
    "*.token",
    "*.api_key",
    "*.private_key",
    "env.AWS_*",
    "env.DATABASE_*",
    "env.*_PASSWORD",
    "env.*_SECRET",
    "env.*_TOKEN",
];

/// Default scan budget per result: 1 MiB.
pub const DEFAULT_MAX_INPUT_BYTES: usize = 1024 * 1024;

/// Longest accepted pattern name; names appear in the audit.
const MAX_NAME_LEN: usize = 64;

/// One configured pattern, as written in the config.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PatternSpec {
    pub name: String,
    pub pattern: String,
    pub replacement: String,
}

impl PatternSpec {
    pub fn new(name: &str, pattern: &str, replacement: &str) -> Self {
        PatternSpec {
            name: name.to_owned(),
            pattern: pattern.to_owned(),
            replacement: replacement.to_owned(),
        }
    }
}

/// The default patterns, in order. Each is widened to the family its name stands for (the
/// table test `default_pattern_table` holds positive and negative examples of each):
///
/// * `aws_access_key`: access key ids, long-term (`AKIA…`) and temporary (`ASIA…`).
/// * `aws_secret_key`: a 40-character secret after its name (`aws_secret_access_key`,
///   `AWS_SECRET_KEY`, `SecretAccessKey`, ...) with `=`, `:`, quotes or spaces between
///   (`export AWS_SECRET_ACCESS_KEY="…"`, YAML, INI, JSON, `aws configure set … VALUE`).
/// * `generic_secret`: `password`, `passwd`, `passphrase`, `secret`, `token`, `api_key`/`api-key`,
///   and `pass`/`pwd` after a non-word character or `_` (`DB_PASS`, not `bypass`), then `=` or `:` (a quote may close a quoted key), then
///   a value: a quoted string (up to its closing quote or the end of the line) or a run of
///   non-space characters. (An earlier `[REDACTED]` is matched as itself, so a second pass does
///   not eat what follows it: redaction stays idempotent.)
/// * `cli_password`: the same names as command-line options with the value after a space
///   (`--password VALUE`, `-token 'a b'`).
/// * `bearer_token`, `basic_auth`: `Bearer …` tokens and `Authorization: Basic …` credentials.
/// * `github_token`: `ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_` and `github_pat_` tokens.
/// * `private_key_block`: every PEM private key (`BEGIN PRIVATE KEY`, `ENCRYPTED`, `RSA`, `EC`,
///   `DSA`, `OPENSSH`, `PGP … PRIVATE KEY BLOCK`), also a block with no `END` line (up to the
///   end of the string), because an upstream size limit can cut a key file in the middle.
/// * `connection_string`: the user information of a database or queue URL, anything before
///   the `@` (`mysql`, `mariadb`, `postgres`, `postgresql`, `mongodb`, `redis`, `amqp`, `mssql`,
///   with an `s` suffix and `+driver` parts: `mongodb+srv`, `rediss`, `amqps`,
///   `postgresql+psycopg2`).
/// * `url_credentials`: `user:password@` in a URL of any other scheme (`https`, `ftp`, ...).
///
/// In both URL patterns a password may contain `@` (up to the last `@` before a `/`, `?`, `#`,
/// quote or space).
pub fn default_patterns() -> Vec<PatternSpec> {
    vec![
        PatternSpec::new(
            "aws_access_key",
            r"((?:AKIA|ASIA)[0-9A-Z]{16})",
            "[REDACTED:AWS_ACCESS_KEY]",
        ),
        PatternSpec::new(
            "aws_secret_key",
            r#"(?i)(aws_?secret_?access_?key|aws_?secret_?key|secret_?access_?key)(?:["']?\s*[=:]\s*|["']?\s+)["']?[A-Za-z0-9/+=]{40}"#,
            "$1=[REDACTED]",
        ),
        PatternSpec::new(
            "generic_secret",
            r#"(?i)(password|passwd|passphrase|secret|token|api[_-]?key|(?-u:\b)pass|(?-u:\b)pwd|_pass|_pwd)["']?\s*[=:]\s*(?:"[^"\n]*"?|'[^'\n]*'?|\[REDACTED\]|\S+)"#,
            "$1=[REDACTED]",
        ),
        PatternSpec::new(
            "cli_password",
            r#"(?i)(--?(?:password|passwd|passphrase|pass|pwd|secret|token|api[_-]?key)\s+)(?:"[^"\n]*"?|'[^'\n]*'?|\[REDACTED\]|\S+)"#,
            "${1}[REDACTED]",
        ),
        PatternSpec::new(
            "bearer_token",
            r"(?i)bearer\s+[a-zA-Z0-9\-._~+/]+=*",
            "Bearer [REDACTED]",
        ),
        PatternSpec::new(
            "basic_auth",
            r#"(?i)(authorization["']?\s*[:=]\s*["']?basic\s+)[A-Za-z0-9+/]+=*"#,
            "${1}[REDACTED]",
        ),
        PatternSpec::new(
            "github_token",
            r"(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})",
            "[REDACTED:GITHUB_TOKEN]",
        ),
        PatternSpec::new(
            "private_key_block",
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|[\s\S]*)",
            "[REDACTED:PRIVATE_KEY]",
        ),
        PatternSpec::new(
            "connection_string",
            r#"(?i)((?:mysql|mariadb|postgres|postgresql|mongodb|redis|amqp|mssql)s?(?:\+[a-z0-9]+)*://)[^\s/?#"'<>]+@"#,
            "${1}[REDACTED]@",
        ),
        PatternSpec::new(
            "url_credentials",
            r#"(?i)([a-z][a-z0-9+.\-]*://)[^\s/?#"'<>@:]*:[^\s/?#"'<>]*@"#,
            "${1}[REDACTED]@",
        ),
    ]
}

/// Passes of the pattern list over one string at most (see `Redactor::scrub`).
const MAX_SCRUB_ROUNDS: usize = 4;

/// What to do with strings beyond the scan budget (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FailAction {
    #[default]
    Truncate,
    Pass,
    Error,
}

/// Everything a [`Redactor`] is built from. `Default` is the built-in defaults (all ten field
/// globs, the ten default patterns, 1 MiB, truncate); the config layer decides whether configured entries replace or
/// extend them (extending is the safe choice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactionSettings {
    pub fields: Vec<String>,
    pub patterns: Vec<PatternSpec>,
    pub max_input_bytes: usize,
    pub fail_action: FailAction,
}

impl Default for RedactionSettings {
    fn default() -> Self {
        RedactionSettings {
            fields: DEFAULT_FIELD_GLOBS
                .iter()
                .map(|g| (*g).to_owned())
                .collect(),
            patterns: default_patterns(),
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
            fail_action: FailAction::Truncate,
        }
    }
}

/// Why a redactor could not be built, or a redaction did not complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedactError {
    /// A field glob is malformed.
    InvalidFieldGlob { glob: String, reason: String },
    /// A pattern (named) does not compile or is unusable.
    InvalidPattern { name: String, reason: String },
    /// The result holds more string bytes than the scan budget and `fail_action` is `error`.
    BudgetExceeded { max_input_bytes: usize },
}

impl fmt::Display for RedactError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedactError::InvalidFieldGlob { glob, reason } => {
                write!(f, "redaction field glob `{glob}`: {reason}")
            }
            RedactError::InvalidPattern { name, reason } => {
                write!(f, "redaction pattern `{name}`: {reason}")
            }
            RedactError::BudgetExceeded { max_input_bytes } => write!(
                f,
                "the result holds more than {max_input_bytes} bytes of text, the most the server scans for secrets; ask for less data (a smaller `limit` or time window)"
            ),
        }
    }
}

impl std::error::Error for RedactError {}

/// One segment of a field glob.
#[derive(Debug, Clone)]
enum Segment {
    /// `*`: zero or more keys.
    AnyKeys,
    /// One key; the parts between `*`s, which must appear in order (a single part: exact match).
    Key(Vec<String>),
}

/// A validated field glob.
#[derive(Debug, Clone)]
struct FieldGlob {
    text: String,
    /// Always starts with `AnyKeys`: globs are not anchored at the root.
    segments: Vec<Segment>,
}

impl FieldGlob {
    fn parse(text: &str) -> Result<FieldGlob, RedactError> {
        let err = |reason: &str| RedactError::InvalidFieldGlob {
            glob: text.to_owned(),
            reason: reason.to_owned(),
        };
        if text.is_empty() {
            return Err(err("is empty"));
        }
        if text.chars().any(char::is_control) {
            return Err(err("contains a control character"));
        }
        let mut segments = vec![Segment::AnyKeys];
        for seg in text.split('.') {
            if seg.is_empty() {
                return Err(err(
                    "has an empty segment (a leading, trailing or doubled `.`)",
                ));
            }
            if seg.chars().all(|c| c == '*') {
                // Consecutive `*` segments mean the same as one.
                if !matches!(segments.last(), Some(Segment::AnyKeys)) {
                    segments.push(Segment::AnyKeys);
                }
            } else {
                segments.push(Segment::Key(seg.split('*').map(str::to_owned).collect()));
            }
        }
        Ok(FieldGlob {
            text: text.to_owned(),
            segments,
        })
    }

    /// Does the glob match this key path (see the module docs)?
    fn matches(&self, path: &[&str]) -> bool {
        // Fast reject: the last segment, when it is a key pattern, must match the last key.
        if let (Some(Segment::Key(parts)), Some(last)) = (self.segments.last(), path.last())
            && !key_matches(parts, last)
        {
            return false;
        }
        // `reach[j]`: the glob segments consumed so far can end just before key `j`.
        let n = path.len();
        let mut reach = vec![false; n + 1];
        reach[0] = true;
        for seg in &self.segments {
            let mut next = vec![false; n + 1];
            match seg {
                Segment::AnyKeys => {
                    let mut on = false;
                    for j in 0..=n {
                        on |= reach[j];
                        next[j] = on;
                    }
                }
                Segment::Key(parts) => {
                    for j in 0..n {
                        if reach[j] && key_matches(parts, path[j]) {
                            next[j + 1] = true;
                        }
                    }
                }
            }
            reach = next;
        }
        reach[n]
    }
}

/// ASCII case-insensitive `*`-wildcard match of one key (`parts` = the pattern split on `*`).
fn key_matches(parts: &[String], key: &str) -> bool {
    let key = key.as_bytes();
    let [first, middle @ .., last] = parts else {
        // A single part: no `*`, exact match.
        return parts
            .first()
            .is_some_and(|p| key.eq_ignore_ascii_case(p.as_bytes()));
    };
    let (first, last) = (first.as_bytes(), last.as_bytes());
    if key.len() < first.len() + last.len()
        || !key[..first.len()].eq_ignore_ascii_case(first)
        || !key[key.len() - last.len()..].eq_ignore_ascii_case(last)
    {
        return false;
    }
    // Leftmost placement of each middle part is optimal for a `*`-only glob.
    let mut rest = &key[first.len()..key.len() - last.len()];
    for part in middle {
        let part = part.as_bytes();
        match find_ignore_ascii_case(rest, part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

fn find_ignore_ascii_case(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// A compiled, validated pattern.
#[derive(Debug, Clone)]
struct Rule {
    name: String,
    regex: Regex,
    replacement: String,
}

impl Rule {
    fn compile(spec: &PatternSpec) -> Result<Rule, RedactError> {
        let err = |reason: String| RedactError::InvalidPattern {
            name: spec.name.clone(),
            reason,
        };
        if spec.name.is_empty()
            || spec.name.len() > MAX_NAME_LEN
            || !spec
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(err(format!(
                "the name must be 1 to {MAX_NAME_LEN} characters of A-Z, a-z, 0-9, `_` or `-`"
            )));
        }
        // The lazy DFA's cache is per regex and per thread (each worker keeps its own) and may
        // grow to 2 MiB by default: with ten patterns and five workers, far past the session's
        // memory budget. 256 KiB each: peak RSS 8,272 -> 7,424 kB in bench_stdio, and the 1 MiB
        // redaction budget still holds (docs/performance.md).
        let regex = regex::RegexBuilder::new(&spec.pattern)
            .dfa_size_limit(DFA_CACHE_BYTES)
            .build()
            .map_err(|e| err(format!("does not compile: {e}")))?;
        if regex.is_match("") {
            return Err(err(
                "matches the empty string, so it would insert its replacement everywhere".into(),
            ));
        }
        for group in replacement_groups(&spec.replacement) {
            let known = match group.parse::<usize>() {
                Ok(i) => i < regex.captures_len(),
                Err(_) => regex.capture_names().flatten().any(|n| n == group),
            };
            if !known {
                return Err(err(format!(
                    "the replacement refers to group `{group}`, which the pattern does not have (write `${{1}}x` rather than `$1x`)"
                )));
            }
        }
        Ok(Rule {
            name: spec.name.clone(),
            regex,
            replacement: spec.replacement.clone(),
        })
    }
}

/// The group references in a replacement, following the `regex` crate's expansion syntax.
fn replacement_groups(rep: &str) -> Vec<&str> {
    let is_name = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = rep.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'$') => i += 2,
            Some(b'{') => match rep[i + 2..].find('}') {
                // Any text between the braces is a name to the regex crate, even an empty one.
                Some(len) => {
                    out.push(&rep[i + 2..i + 2 + len]);
                    i += len + 3;
                }
                // `${` without a closing brace is literal text.
                None => i += 2,
            },
            _ => {
                let len = bytes[i + 1..].iter().take_while(|b| is_name(**b)).count();
                if len > 0 {
                    out.push(&rep[i + 1..i + 1 + len]);
                }
                i += 1 + len;
            }
        }
    }
    out
}

/// Strings left unscanned, or cut, because the budget ran out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unscanned {
    /// What was done with them (`truncate` or `pass`).
    pub action: FailAction,
    /// How many strings were affected.
    pub strings: usize,
    /// How many of their bytes were not scanned (and, under `truncate`, not sent).
    pub bytes: usize,
}

/// What a redaction did: counts only, never values. Ready for the audit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RedactionReport {
    /// Field glob (as configured) → values it redacted. Only non-zero entries.
    pub fields: BTreeMap<String, usize>,
    /// Pattern name → matches it replaced. Only non-zero entries.
    pub patterns: BTreeMap<String, usize>,
    /// Bytes of string values the patterns scanned.
    pub scanned_bytes: usize,
    /// Set when the scan budget ran out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unscanned: Option<Unscanned>,
}

impl RedactionReport {
    /// Total redactions (fields and pattern matches).
    pub fn total(&self) -> usize {
        self.fields.values().chain(self.patterns.values()).sum()
    }
}

/// A redacted value and what was done to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Redacted {
    pub value: Value,
    pub report: RedactionReport,
}

/// Field globs plus patterns plus a budget; built once, shared by all calls (`Send + Sync`).
#[derive(Debug, Clone)]
pub struct Redactor {
    fields: Vec<FieldGlob>,
    rules: Vec<Rule>,
    max_input_bytes: usize,
    fail_action: FailAction,
}

impl Redactor {
    /// Validates and compiles the settings; an error names the offending glob or pattern.
    pub fn new(settings: &RedactionSettings) -> Result<Redactor, RedactError> {
        let fields = settings
            .fields
            .iter()
            .map(|g| FieldGlob::parse(g))
            .collect::<Result<Vec<_>, _>>()?;
        let mut rules: Vec<Rule> = Vec::with_capacity(settings.patterns.len());
        for spec in &settings.patterns {
            if rules.iter().any(|r| r.name == spec.name) {
                return Err(RedactError::InvalidPattern {
                    name: spec.name.clone(),
                    reason: "the name is used by another pattern".into(),
                });
            }
            rules.push(Rule::compile(spec)?);
        }
        Ok(Redactor {
            fields,
            rules,
            max_input_bytes: settings.max_input_bytes,
            fail_action: settings.fail_action,
        })
    }

    /// The pattern names, in the order they run (for the startup log).
    pub fn pattern_names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.name.as_str())
    }

    /// Redacts `value`. Errors only with `fail_action: error` when the budget is exceeded (the
    /// partly redacted value is dropped, so nothing unscanned escapes).
    pub fn redact(&self, mut value: Value) -> Result<Redacted, RedactError> {
        let mut walk = Walk {
            redactor: self,
            remaining: self.max_input_bytes,
            exhausted: false,
            field_counts: vec![0; self.fields.len()],
            pattern_counts: vec![0; self.rules.len()],
            scanned_bytes: 0,
            unscanned: Unscanned {
                action: self.fail_action,
                strings: 0,
                bytes: 0,
            },
        };
        let mut path = Vec::new();
        walk.value(&mut value, &mut path)?;
        let report = RedactionReport {
            fields: named_counts(self.fields.iter().map(|g| &g.text), &walk.field_counts),
            patterns: named_counts(self.rules.iter().map(|r| &r.name), &walk.pattern_counts),
            scanned_bytes: walk.scanned_bytes,
            unscanned: walk.exhausted.then_some(walk.unscanned),
        };
        Ok(Redacted { value, report })
    }

    /// `s` as the patterns leave it (`None`: unchanged), for a filter that must not see more
    /// than the caller will: a log tool's `grep` matches the redacted line, so it cannot tell
    /// whether a redacted secret has a given value.
    pub fn redact_text(&self, s: &str) -> Option<String> {
        let mut counts = vec![0; self.rules.len()];
        self.scrub(s, &mut counts)
    }

    /// Cuts `s` to at most `max_chars` characters without cutting a secret in two: a cut that
    /// would fall inside a match of any pattern moves back to where that match starts, so the
    /// kept text never ends in the first part of a secret the patterns would have caught whole
    /// (the redaction that runs later on the kept text could not recognise that part). Returns
    /// the kept text and whether anything was cut. Every place that shortens host text it
    /// returns (command lines, mount fields, os-release values) cuts with this.
    pub fn cut(&self, s: &str, max_chars: usize) -> (String, bool) {
        let Some((mut cut, _)) = s.char_indices().nth(max_chars) else {
            return (s.to_owned(), false);
        };
        // Moving the cut back can land it inside another (earlier, overlapping) match: repeat
        // until no match straddles it. Each round moves it strictly back, so this ends.
        loop {
            let straddling = self
                .rules
                .iter()
                .flat_map(|r| r.regex.find_iter(s))
                .filter(|m| m.start() < cut && m.end() > cut)
                .map(|m| m.start())
                .min();
            match straddling {
                Some(start) => cut = start,
                None => break,
            }
        }
        (s[..cut].to_owned(), true)
    }

    /// Runs the patterns over one string until nothing changes, counting replacements. `None`:
    /// nothing changed.
    ///
    /// One pass is not enough: a replacement can complete a match for a rule that already ran.
    /// `aws_secret_access_key = <34 chars>token: abc` has no 40-character secret, but
    /// `generic_secret` turns its end into `token=[REDACTED]`, and the `=` makes one. So the
    /// rules run again on what changed; the defaults settle in two rounds, and the bound keeps a
    /// configured pattern that keeps rewriting its own output from looping.
    fn scrub(&self, s: &str, counts: &mut [usize]) -> Option<String> {
        let mut current: Option<String> = None;
        for _ in 0..MAX_SCRUB_ROUNDS {
            match self.scrub_once(current.as_deref().unwrap_or(s), counts) {
                Some(next) => current = Some(next),
                None => break,
            }
        }
        current
    }

    /// One pass of every pattern, in order.
    fn scrub_once(&self, s: &str, counts: &mut [usize]) -> Option<String> {
        let mut current: Option<String> = None;
        for (rule, count) in self.rules.iter().zip(counts.iter_mut()) {
            let text = current.as_deref().unwrap_or(s);
            if !rule.regex.is_match(text) {
                continue;
            }
            let mut out = String::with_capacity(text.len());
            let mut last = 0;
            for caps in rule.regex.captures_iter(text) {
                let Some(m) = caps.get(0) else { continue };
                if m.is_empty() {
                    continue;
                }
                out.push_str(&text[last..m.start()]);
                let at = out.len();
                caps.expand(&rule.replacement, &mut out);
                if out[at..] != *m.as_str() {
                    *count += 1;
                }
                last = m.end();
            }
            out.push_str(&text[last..]);
            if out != text {
                current = Some(out);
            }
        }
        current
    }
}

fn named_counts<'a>(
    names: impl Iterator<Item = &'a String>,
    counts: &[usize],
) -> BTreeMap<String, usize> {
    names
        .zip(counts)
        .filter(|(_, c)| **c > 0)
        .map(|(n, c)| (n.clone(), *c))
        .collect()
}

/// The state of one redaction pass.
struct Walk<'r> {
    redactor: &'r Redactor,
    remaining: usize,
    exhausted: bool,
    field_counts: Vec<usize>,
    pattern_counts: Vec<usize>,
    scanned_bytes: usize,
    unscanned: Unscanned,
}

impl Walk<'_> {
    fn value<'v>(&mut self, v: &'v mut Value, path: &mut Vec<&'v str>) -> Result<(), RedactError> {
        match v {
            Value::String(s) => self.string(s)?,
            Value::Array(items) => {
                for item in items {
                    self.value(item, path)?;
                }
            }
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    path.push(key.as_str());
                    let hit = self.redactor.fields.iter().position(|g| g.matches(path));
                    match hit {
                        Some(i) => self.field_counts[i] += blank(child),
                        None => self.value(child, path)?,
                    }
                    path.pop();
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
        Ok(())
    }

    fn string(&mut self, s: &mut String) -> Result<(), RedactError> {
        if s.is_empty() {
            return Ok(());
        }
        if self.exhausted {
            return self.beyond_budget(s, 0);
        }
        if s.len() <= self.remaining {
            self.remaining -= s.len();
            self.scanned_bytes += s.len();
            if let Some(new) = self.redactor.scrub(s, &mut self.pattern_counts) {
                *s = new;
            }
            return Ok(());
        }
        // This string straddles the end of the budget.
        self.exhausted = true;
        let budget = self.remaining;
        self.remaining = 0;
        self.beyond_budget(s, budget)
    }

    /// `s` does not fit; `budget` bytes of it may still be scanned (`truncate` only).
    fn beyond_budget(&mut self, s: &mut String, budget: usize) -> Result<(), RedactError> {
        match self.redactor.fail_action {
            FailAction::Error => Err(RedactError::BudgetExceeded {
                max_input_bytes: self.redactor.max_input_bytes,
            }),
            FailAction::Pass => {
                self.unscanned.strings += 1;
                self.unscanned.bytes += s.len();
                Ok(())
            }
            FailAction::Truncate => {
                let keep = scannable_prefix(s, budget);
                self.unscanned.strings += 1;
                self.unscanned.bytes += s.len() - keep;
                self.scanned_bytes += keep;
                s.truncate(keep);
                if let Some(new) = self.redactor.scrub(s, &mut self.pattern_counts) {
                    *s = new;
                }
                s.push_str(UNSCANNED_MARKER);
                Ok(())
            }
        }
    }
}

/// How much of `s` to keep when only `budget` bytes may be scanned: cut at a char boundary, then
/// drop the trailing partial token, since a secret cut in half may no longer match its pattern.
fn scannable_prefix(s: &str, budget: usize) -> usize {
    let mut end = budget.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let cut_mid_token = end < s.len()
        && !s[end..].starts_with(char::is_whitespace)
        && !s[..end].ends_with(char::is_whitespace);
    if cut_mid_token {
        end = s[..end]
            .rfind(char::is_whitespace)
            .map_or(0, |i| i + s[i..].chars().next().map_or(1, char::len_utf8));
    }
    end
}

/// Redacts every scalar in a matched value; returns how many changed.
fn blank(v: &mut Value) -> usize {
    match v {
        Value::Null => 0,
        Value::String(s) if s == REDACTED => 0,
        Value::String(_) | Value::Bool(_) | Value::Number(_) => {
            *v = Value::String(REDACTED.to_owned());
            1
        }
        Value::Array(items) => items.iter_mut().map(blank).sum(),
        Value::Object(map) => map.values_mut().map(blank).sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defaults() -> Redactor {
        Redactor::new(&RedactionSettings::default()).unwrap()
    }

    fn with(fields: &[&str], patterns: Vec<PatternSpec>) -> Result<Redactor, RedactError> {
        Redactor::new(&RedactionSettings {
            fields: fields.iter().map(|s| (*s).to_owned()).collect(),
            patterns,
            ..RedactionSettings::default()
        })
    }

    fn budget(max: usize, action: FailAction) -> Redactor {
        Redactor::new(&RedactionSettings {
            max_input_bytes: max,
            fail_action: action,
            ..RedactionSettings::default()
        })
        .unwrap()
    }

    fn text(r: &Redactor, s: &str) -> String {
        match r.redact(json!(s)).unwrap().value {
            Value::String(s) => s,
            other => panic!("not a string: {other}"),
        }
    }

    fn glob(g: &str, path: &[&str]) -> bool {
        FieldGlob::parse(g).unwrap().matches(path)
    }

    #[test]
    fn glob_star_segment_matches_any_depth() {
        assert!(glob("*.password", &["password"]));
        assert!(glob("*.password", &["db", "password"]));
        assert!(glob("*.password", &["a", "b", "c", "password"]));
        assert!(!glob("*.password", &["password", "hint"]));
        assert!(!glob("*.password", &["password_hint"]));
        assert!(!glob("*.password", &["my_password"]));
        assert!(!glob("*.password", &[]));
    }

    #[test]
    fn glob_is_case_insensitive_and_unanchored_at_root() {
        assert!(glob("*.password", &["PassWord"]));
        assert!(glob("password", &["x", "password"]));
        assert!(glob("env.AWS_*", &["env", "aws_region"]));
        assert!(glob(
            "env.AWS_*",
            &["procs", "env", "AWS_SECRET_ACCESS_KEY"]
        ));
    }

    #[test]
    fn glob_char_star_stays_within_one_key() {
        assert!(glob("env.AWS_*", &["env", "AWS_"]));
        assert!(!glob("env.AWS_*", &["env", "HOME"]));
        assert!(!glob("env.AWS_*", &["AWS_KEY"]));
        assert!(!glob("env.AWS_*", &["environment", "AWS_KEY"]));
        assert!(!glob("env.AWS_*", &["env", "x", "AWS_KEY"]));
        assert!(glob("env.*_PASSWORD", &["env", "DB_PASSWORD"]));
        assert!(!glob("env.*_PASSWORD", &["env", "PASSWORD"]));
        assert!(!glob("env.*_PASSWORD", &["env", "DB_PASSWORD_FILE"]));
        assert!(glob("*secret*", &["my_secret_thing"]));
        assert!(glob("a*b*c", &["abc"]));
        assert!(glob("a*b*c", &["aXbYc"]));
        assert!(!glob("a*b*c", &["aXcYb"]));
        // The middle part may not overlap the fixed ends.
        assert!(!glob("ab*ba", &["aba"]));
    }

    #[test]
    fn glob_star_segment_in_the_middle_and_at_the_end() {
        assert!(glob("a.*.b", &["a", "b"]));
        assert!(glob("a.*.b", &["a", "x", "y", "b"]));
        assert!(!glob("a.*.b", &["a", "x", "c"]));
        assert!(glob("env.*", &["env"]));
        assert!(glob("env.*", &["env", "x", "y"]));
        assert!(glob("*.*.x", &["x"]));
    }

    #[test]
    fn malformed_globs_are_rejected_with_the_glob_named() {
        for bad in ["", ".password", "password.", "a..b", "a\nb"] {
            let err = FieldGlob::parse(bad).unwrap_err();
            assert!(
                matches!(&err, RedactError::InvalidFieldGlob { glob, .. } if glob == bad),
                "{bad:?}: {err}"
            );
        }
        let err = with(&["ok", "a..b"], vec![]).unwrap_err();
        assert!(err.to_string().contains("`a..b`"), "{err}");
    }

    #[test]
    fn field_globs_redact_nested_values_in_arrays() {
        let r = defaults();
        let out = r
            .redact(json!({
                "procs": [
                    {"pid": 1, "env": {"AWS_SECRET_ACCESS_KEY": "k", "HOME": "/root", "DB_TOKEN": "t"}},
                    {"pid": 2, "env": {"DATABASE_URL": "postgres://u:p@h/db"}}
                ],
                "db": {"password": "hunter2", "user": "app"},
                "password_hint": "pet name",
                "token": "top"
            }))
            .unwrap();
        assert_eq!(
            out.value,
            json!({
                "procs": [
                    {"pid": 1, "env": {"AWS_SECRET_ACCESS_KEY": REDACTED, "HOME": "/root", "DB_TOKEN": REDACTED}},
                    {"pid": 2, "env": {"DATABASE_URL": REDACTED}}
                ],
                "db": {"password": REDACTED, "user": "app"},
                "password_hint": "pet name",
                "token": REDACTED
            })
        );
        let f = &out.report.fields;
        assert_eq!(f["env.AWS_*"], 1);
        assert_eq!(f["env.DATABASE_*"], 1);
        assert_eq!(f["env.*_TOKEN"], 1);
        assert_eq!(f["*.password"], 1);
        assert_eq!(f["*.token"], 1);
        assert_eq!(f.len(), 5);
        assert!(out.report.patterns.is_empty());
    }

    #[test]
    fn field_redaction_keeps_shape_and_covers_every_scalar_type() {
        let r = with(&["*.secret"], vec![]).unwrap();
        let out = r
            .redact(json!({
                "a": {"secret": 1234},
                "b": {"secret": true},
                "c": {"secret": null},
                "d": {"secret": {"x": "1", "y": ["2", 3, null]}},
                "e": {"secret": []},
            }))
            .unwrap();
        assert_eq!(
            out.value,
            json!({
                "a": {"secret": REDACTED},
                "b": {"secret": REDACTED},
                "c": {"secret": null},
                "d": {"secret": {"x": REDACTED, "y": [REDACTED, REDACTED, null]}},
                "e": {"secret": []},
            })
        );
        assert_eq!(out.report.fields["*.secret"], 5);
    }

    #[test]
    fn first_matching_glob_gets_the_count() {
        let r = with(&["*.token", "env.*_TOKEN", "*.gh_token"], vec![]).unwrap();
        let out = r.redact(json!({"env": {"GH_TOKEN": "x"}})).unwrap();
        assert_eq!(out.report.fields.get("env.*_TOKEN"), Some(&1));
        assert_eq!(out.report.fields.get("*.gh_token"), None);
        // `*` alone matches every key, so everything is redacted by it.
        let r = with(&["*"], vec![]).unwrap();
        let out = r.redact(json!({"a": "x", "b": [1, 2]})).unwrap();
        assert_eq!(out.value, json!({"a": REDACTED, "b": [REDACTED, REDACTED]}));
        assert_eq!(out.report.fields["*"], 3);
    }

    #[test]
    fn a_replacement_that_completes_an_earlier_match_is_redacted_in_the_same_call() {
        // Found by the `redact` fuzz target: no 40-character secret until `generic_secret`
        // rewrote `token: abc` as `token=[REDACTED]`, whose `=` completes one.
        let r = defaults();
        let text = "aws_secret_access_key = wJMnFI/K7MDEJMnFI/K7MDENG/bPxRfK7Mtoken: abc\n";
        let once = r.redact(json!(text)).unwrap();
        assert_eq!(
            once.value,
            json!("aws_secret_access_key=[REDACTED][REDACTED]\n")
        );
        assert!(!once.value.as_str().unwrap().contains("K7MDE"));
        assert_eq!(once.report.patterns["aws_secret_key"], 1);
        assert_eq!(once.report.patterns["generic_secret"], 1);
        let twice = r.redact(once.value.clone()).unwrap();
        assert_eq!(twice.value, once.value, "redaction must be idempotent");
    }

    #[test]
    fn a_pattern_that_rewrites_its_own_output_stops_after_the_round_bound() {
        let r = with(&[], vec![PatternSpec::new("grow", "a", "aa")]).unwrap();
        let out = r.redact(json!("a")).unwrap();
        assert_eq!(out.value, json!("a".repeat(1 << MAX_SCRUB_ROUNDS)));
    }

    /// Every default pattern: positive examples (the secret is gone, the pattern counted it)
    /// and negative ones (left exactly as they are, the pattern did not fire). One line per
    /// case: (pattern, input, output).
    #[rustfmt::skip]
    const DEFAULT_PATTERN_TABLE: &[(&str, &str, &str)] = &[
        ("aws_access_key", "key AKIAIOSFODNN7EXAMPLE used", "key [REDACTED:AWS_ACCESS_KEY] used"),
        ("aws_access_key", "AWS_ACCESS_KEY_ID=ASIAIOSFODNN7EXAMPLE", "AWS_ACCESS_KEY_ID=[REDACTED:AWS_ACCESS_KEY]"),
        ("aws_access_key", "AKIA1234 is too short", "AKIA1234 is too short"),
        ("aws_access_key", "asiaiosfodnn7example", "asiaiosfodnn7example"),
        ("aws_secret_key", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key=[REDACTED]"),
        ("aws_secret_key", "export AWS_SECRET_ACCESS_KEY=\"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"", "export AWS_SECRET_ACCESS_KEY=[REDACTED]\""),
        ("aws_secret_key", "aws_secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key=[REDACTED]"),
        ("aws_secret_key", "aws_secret_access_key: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'", "aws_secret_access_key=[REDACTED]'"),
        ("aws_secret_key", "aws configure set aws_secret_access_key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws configure set aws_secret_access_key=[REDACTED]"),
        ("aws_secret_key", "{\"SecretAccessKey\": \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"}", "{\"SecretAccessKey=[REDACTED]\"}"),
        ("aws_secret_key", "AWS_SECRET_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AWS_SECRET_KEY=[REDACTED]"),
        ("aws_secret_key", "aws_secret_access_key is required", "aws_secret_access_key is required"),
        ("aws_secret_key", "aws_secret_access_key = short", "aws_secret_access_key = short"),
        ("generic_secret", "login PASSWORD: hunter2 ok", "login PASSWORD=[REDACTED] ok"),
        ("generic_secret", "--password=hunter2 -v", "--password=[REDACTED] -v"),
        ("generic_secret", "{\"password\": \"hunter 2\", \"user\": \"bob\"}", "{\"password=[REDACTED], \"user\": \"bob\"}"),
        ("generic_secret", "{'password': 'a b'}", "{'password=[REDACTED]}"),
        ("generic_secret", "mysql pass=hunter2 db", "mysql pass=[REDACTED] db"),
        ("generic_secret", "DB_PASS=\"x y\" PWD=abc", "DB_PASS=[REDACTED] PWD=[REDACTED]"),
        ("generic_secret", "client_secret: s3 api-key=k", "client_secret=[REDACTED] api-key=[REDACTED]"),
        ("generic_secret", "passphrase=correct-horse", "passphrase=[REDACTED]"),
        ("generic_secret", "password=\"unterminated\nnext line", "password=[REDACTED]\nnext line"),
        ("generic_secret", "bypass=1 compass: north", "bypass=1 compass: north"),
        ("generic_secret", "password policy: strong; tokens are rotated", "password policy: strong; tokens are rotated"),
        ("generic_secret", "password=", "password="),
        ("cli_password", "mysqldump --password hunter2 db", "mysqldump --password [REDACTED] db"),
        ("cli_password", "app -token 'a b c' x", "app -token [REDACTED] x"),
        ("cli_password", "psql --pass \"p w\" -h h", "psql --pass [REDACTED] -h h"),
        ("cli_password", "app --password-file /run/pw --passive x", "app --password-file /run/pw --passive x"),
        ("bearer_token", "Authorization: Bearer eyJhbGciOi.J9x_y-z~+/abc== rest", "Authorization: Bearer [REDACTED] rest"),
        ("bearer_token", "bearer of bad news", "Bearer [REDACTED] bad news"),
        ("bearer_token", "bearers: 2", "bearers: 2"),
        ("basic_auth", "Authorization: Basic dXNlcjpodW50ZXIy", "Authorization: Basic [REDACTED]"),
        ("basic_auth", "-H 'authorization: basic dXNlcjpw=' x", "-H 'authorization: basic [REDACTED]' x"),
        ("basic_auth", "basic usage of the authorization header", "basic usage of the authorization header"),
        ("github_token", "GH=ghp_16C7e42F292c6912E7710c838347Ae178B4a x", "GH=[REDACTED:GITHUB_TOKEN] x"),
        ("github_token", "ghs_16C7e42F292c6912E7710c838347Ae178B4a", "[REDACTED:GITHUB_TOKEN]"),
        ("github_token", "gho_16C7e42F292c6912E7710c838347Ae178B4a", "[REDACTED:GITHUB_TOKEN]"),
        ("github_token", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "[REDACTED:GITHUB_TOKEN]"),
        ("github_token", "ghp_short and github_pat_x", "ghp_short and github_pat_x"),
        ("private_key_block", "-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----", "[REDACTED:PRIVATE_KEY]"),
        ("private_key_block", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIF\n-----END ENCRYPTED PRIVATE KEY-----", "[REDACTED:PRIVATE_KEY]"),
        ("private_key_block", "a -----BEGIN EC PRIVATE KEY----- MHcC -----END EC PRIVATE KEY----- b", "a [REDACTED:PRIVATE_KEY] b"),
        ("private_key_block", "-----BEGIN DSA PRIVATE KEY-----\nMIIB\n-----END DSA PRIVATE KEY-----", "[REDACTED:PRIVATE_KEY]"),
        ("private_key_block", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl", "[REDACTED:PRIVATE_KEY]"),
        ("private_key_block", "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOY\n-----END PGP PRIVATE KEY BLOCK-----\nafter", "[REDACTED:PRIVATE_KEY]\nafter"),
        ("private_key_block", "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----", "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----"),
        ("private_key_block", "-----BEGIN CERTIFICATE-----\nMIIC", "-----BEGIN CERTIFICATE-----\nMIIC"),
        ("connection_string", "url=postgresql://app:s3cret@db:5432/x", "url=postgresql://[REDACTED]@db:5432/x"),
        ("connection_string", "mongodb+srv://u:p4ss@cluster0.example.net/db", "mongodb+srv://[REDACTED]@cluster0.example.net/db"),
        ("connection_string", "rediss://:p4ss@cache:6380", "rediss://[REDACTED]@cache:6380"),
        ("connection_string", "amqps://guest:guest@mq/vhost", "amqps://[REDACTED]@mq/vhost"),
        ("connection_string", "postgresql+psycopg2://app:pw@db/x", "postgresql+psycopg2://[REDACTED]@db/x"),
        ("url_credentials", "https://user:hunter2@example.com/x", "https://[REDACTED]@example.com/x"),
        ("connection_string", "mysql://root:p@ss@word@db:3306/x", "mysql://[REDACTED]@db:3306/x"),
        ("connection_string", "MONGODB://root@h", "MONGODB://[REDACTED]@h"),
        ("url_credentials", "ssh://git@github.com/x https://example.com/a@b", "ssh://git@github.com/x https://example.com/a@b"),
        ("url_credentials", "ftp://:p@ss@files/x", "ftp://[REDACTED]@files/x"),
        ("connection_string", "postgres://db.example.com/x", "postgres://db.example.com/x"),
        ("connection_string", "mail bob@example.com", "mail bob@example.com"),
    ];

    #[test]
    fn default_pattern_table() {
        let r = defaults();
        let names: Vec<String> = default_patterns().into_iter().map(|p| p.name).collect();
        for name in &names {
            let rows = DEFAULT_PATTERN_TABLE.iter().filter(|(n, _, _)| n == name);
            let (pos, neg): (Vec<&(&str, &str, &str)>, Vec<_>) = rows.partition(|(_, i, o)| i != o);
            assert!(
                !pos.is_empty() && !neg.is_empty(),
                "{name}: needs both kinds"
            );
        }
        for (name, input, want) in DEFAULT_PATTERN_TABLE {
            assert!(names.iter().any(|n| n == name), "{name}");
            let out = r.redact(json!(input)).unwrap();
            assert_eq!(out.value, json!(want), "{name}: {input:?}");
            let fired = out.report.patterns.get(*name).copied().unwrap_or(0);
            if input == want {
                assert_eq!(out.report.total(), 0, "{name}: {input:?} {:?}", out.report);
            } else {
                assert!(fired >= 1, "{name}: {input:?} {:?}", out.report);
            }
            // Idempotent: a second pass changes and counts nothing.
            let again = r.redact(out.value.clone()).unwrap();
            assert_eq!(again.value, out.value, "{name}: {input:?}");
            assert_eq!(again.report.total(), 0, "{name}: {input:?}");
        }
    }

    #[test]
    fn cut_never_splits_a_secret_the_patterns_would_catch() {
        let r = defaults();
        let pad = "x".repeat(1000);
        // (text, max chars, kept, cut)
        let cases: &[(String, usize, String, bool)] = &[
            ("short".into(), 10, "short".into(), false),
            ("exactly10!".into(), 10, "exactly10!".into(), false),
            ("abcdefghijk".into(), 10, "abcdefghij".into(), true),
            ("ünïcödé and more".into(), 7, "ünïcödé".into(), true),
            (
                format!("{pad} password=hunter2secret"),
                1010,
                format!("{pad} "),
                true,
            ),
            (
                format!("{pad} --password hunter2secret"),
                1014,
                format!("{pad} "),
                true,
            ),
            (
                format!("{pad} aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                1030,
                format!("{pad} "),
                true,
            ),
            (
                format!("{pad} -----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----"),
                1024,
                format!("{pad} "),
                true,
            ),
            (
                format!("{pad} plain words after"),
                1010,
                format!("{pad} plain wor"),
                true,
            ),
        ];
        for (text, max, kept, was_cut) in cases {
            let (got, cut) = r.cut(text, *max);
            assert_eq!((&got, cut), (kept, *was_cut), "{text:?}");
            assert!(got.chars().count() <= *max);
        }
        // Without patterns it is a plain cut.
        let none = with(&[], vec![]).unwrap();
        assert_eq!(none.cut("password=hunter2", 12).0, "password=hun");
    }

    #[test]
    fn private_key_blocks_are_redacted_across_lines_and_when_unterminated() {
        let r = defaults();
        let block = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK\n-----END RSA PRIVATE KEY-----";
        assert_eq!(
            text(&r, &format!("a\n{block}\nb\n{block}")),
            "a\n[REDACTED:PRIVATE_KEY]\nb\n[REDACTED:PRIVATE_KEY]"
        );
        // Cut off by an upstream limit: redacted to the end of the string.
        assert_eq!(
            text(
                &r,
                "x\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\nAAAA"
            ),
            "x\n[REDACTED:PRIVATE_KEY]"
        );
        // A public key is not a secret.
        let public = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----";
        assert_eq!(text(&r, public), public);
    }

    #[test]
    fn group_replacement_keeps_the_matched_keyword() {
        let r = defaults();
        assert_eq!(
            text(&r, "passwd=x apikey:y"),
            "passwd=[REDACTED] apikey=[REDACTED]"
        );
        assert_eq!(
            text(&r, "MONGODB://root:pw@h redis://:pw@h"),
            "MONGODB://[REDACTED]@h redis://[REDACTED]@h"
        );
    }

    #[test]
    fn patterns_run_over_every_string_but_not_keys() {
        let r = defaults();
        let out = r
            .redact(json!({"password=x": ["token=a", {"deep": "secret: b"}], "n": 5}))
            .unwrap();
        assert_eq!(
            out.value,
            json!({"password=x": ["token=[REDACTED]", {"deep": "secret=[REDACTED]"}], "n": 5})
        );
        assert_eq!(out.report.patterns["generic_secret"], 2);
    }

    #[test]
    fn redaction_is_idempotent_and_a_second_pass_counts_nothing() {
        let r = defaults();
        let input = json!({
            "log": [
                "password=a token: b AKIAIOSFODNN7EXAMPLE",
                "Bearer abc.def mysql://u:p@h",
                "-----BEGIN EC PRIVATE KEY-----\nx\n-----END EC PRIVATE KEY-----",
                "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
            ],
            "env": {"AWS_X": "y"}
        });
        let once = r.redact(input).unwrap();
        assert!(once.report.total() >= 8, "{:?}", once.report);
        let twice = r.redact(once.value.clone()).unwrap();
        assert_eq!(twice.value, once.value);
        assert_eq!(twice.report.total(), 0, "{:?}", twice.report);
    }

    #[test]
    fn report_holds_counts_never_values() {
        let r = defaults();
        let out = r
            .redact(json!({"password": "pw-value-1", "log": "token=tok-value-2"}))
            .unwrap();
        let audit = serde_json::to_string(&out.report).unwrap();
        assert!(
            !audit.contains("pw-value-1") && !audit.contains("tok-value-2"),
            "{audit}"
        );
        assert!(audit.contains("generic_secret"), "{audit}");
    }

    #[test]
    fn configured_patterns_run_after_the_defaults() {
        let mut patterns = default_patterns();
        patterns.push(PatternSpec::new(
            "slack",
            r"xox[bp]-(?P<team>[0-9]+)-[0-9A-Za-z-]+",
            "xox-${team}-[REDACTED]",
        ));
        let r = with(&[], patterns).unwrap();
        assert_eq!(
            text(&r, "hook xoxb-123-abc-DEF password=p"),
            "hook xox-123-[REDACTED] password=[REDACTED]"
        );
        assert_eq!(r.pattern_names().last(), Some("slack"));
        assert_eq!(text(&r, "cost $5"), "cost $5");
    }

    #[test]
    fn dollar_escapes_in_replacements_work() {
        let r = with(
            &[],
            vec![PatternSpec::new("p", "pin=([0-9]+)", "pin=$$[$1 hidden]")],
        )
        .unwrap();
        // `$1 ` ends the group name at the space.
        assert_eq!(text(&r, "pin=1234"), "pin=$[1234 hidden]");
    }

    #[test]
    fn invalid_patterns_are_rejected_naming_the_pattern() {
        let cases = [
            PatternSpec::new("broken", "(unclosed", "x"),
            PatternSpec::new("empty_match", "a*", "x"),
            PatternSpec::new("bad_group", "(a)b", "$2"),
            PatternSpec::new("bad_name_ref", "(?P<k>a)b", "${key}"),
            PatternSpec::new("glued", "(a)b", "$1x"),
            PatternSpec::new("empty_ref", "(a)b", "${}"),
        ];
        for spec in cases {
            let name = spec.name.clone();
            let err = with(&[], vec![spec]).unwrap_err();
            assert!(
                matches!(&err, RedactError::InvalidPattern { name: n, .. } if *n == name),
                "{err}"
            );
            assert!(err.to_string().contains(&format!("`{name}`")), "{err}");
        }
        for bad_name in ["", "has space", &"n".repeat(65)] {
            let err = with(&[], vec![PatternSpec::new(bad_name, "x", "y")]).unwrap_err();
            assert!(matches!(err, RedactError::InvalidPattern { .. }), "{err}");
        }
        let dup = vec![
            PatternSpec::new("d", "x", "y"),
            PatternSpec::new("d", "z", "y"),
        ];
        let err = with(&[], dup).unwrap_err();
        assert!(err.to_string().contains("another pattern"), "{err}");
    }

    #[test]
    fn replacement_group_parser_follows_regex_syntax() {
        assert_eq!(replacement_groups("$1=[R]"), vec!["1"]);
        assert_eq!(replacement_groups("${a}x$b_c $$d $"), vec!["a", "b_c"]);
        assert_eq!(replacement_groups("${a b}"), vec!["a b"]);
        assert_eq!(replacement_groups("${}"), vec![""]);
        assert_eq!(replacement_groups("${open $"), Vec::<&str>::new());
    }

    #[test]
    fn patterns_that_can_match_empty_are_skipped_at_run_time() {
        // `\b` is not rejected (it does not match ""), but its empty matches insert nothing.
        let r = with(&[], vec![PatternSpec::new("wb", r"secretword|\b", "X")]).unwrap();
        assert_eq!(text(&r, "a secretword b"), "a X b");
    }

    #[test]
    fn budget_exactly_used_scans_everything() {
        let r = budget(10, FailAction::Error);
        let out = r
            .redact(json!(["12345", "token=x", {"k": ""}]))
            .unwrap_err();
        assert_eq!(
            out,
            RedactError::BudgetExceeded {
                max_input_bytes: 10
            }
        );
        let out = r.redact(json!(["12345", "pw=x!", {"k": ""}])).unwrap();
        assert_eq!(out.report.scanned_bytes, 10);
        assert_eq!(out.report.unscanned, None);
        // Field-redacted values cost no budget.
        let out = r.redact(json!({"password": "a long password value", "x": "0123456789"}));
        assert_eq!(out.unwrap().report.scanned_bytes, 10);
    }

    #[test]
    fn budget_truncate_cuts_marks_and_scans_the_kept_prefix() {
        let r = budget(20, FailAction::Truncate);
        let out = r
            .redact(json!({"a": "token=abc xyz", "b": "more text here", "c": "", "d": 7, "password": "p"}))
            .unwrap();
        // "token=abc xyz" (13) fits; "b" gets 7 bytes "more te", minus the cut token "te".
        assert_eq!(
            out.value,
            json!({
                "a": "token=[REDACTED] xyz",
                "b": format!("more {UNSCANNED_MARKER}"),
                "c": "",
                "d": 7,
                "password": REDACTED
            })
        );
        assert_eq!(
            out.report.unscanned,
            Some(Unscanned {
                action: FailAction::Truncate,
                strings: 1,
                bytes: 9
            })
        );
        assert_eq!(out.report.scanned_bytes, 18);
        let out = r
            .redact(json!([
                "0123456789abcdefghij",
                "next",
                "AKIAIOSFODNN7EXAMPLE"
            ]))
            .unwrap();
        assert_eq!(
            out.value,
            json!(["0123456789abcdefghij", UNSCANNED_MARKER, UNSCANNED_MARKER])
        );
        assert_eq!(out.report.unscanned.unwrap().bytes, 24);
    }

    #[test]
    fn truncated_secret_prefix_is_dropped_not_leaked() {
        let r = budget(12, FailAction::Truncate);
        // The budget ends inside the key id: the partial token goes too.
        assert_eq!(
            text(&r, "id AKIAIOSFODNN7EXAMPLE"),
            format!("id {UNSCANNED_MARKER}")
        );
        // Cut at a whitespace boundary: nothing extra dropped.
        assert_eq!(
            text(&r, "abcdefghijk lmn"),
            format!("abcdefghijk {UNSCANNED_MARKER}")
        );
        // No whitespace at all: nothing kept.
        assert_eq!(text(&r, &"x".repeat(40)), UNSCANNED_MARKER);
    }

    #[test]
    fn truncate_never_splits_a_multibyte_char() {
        let r = budget(5, FailAction::Truncate);
        // "é" is 2 bytes: 5 bytes end inside the third "é"; the partial token is dropped.
        assert_eq!(text(&r, "ab ééé"), format!("ab {UNSCANNED_MARKER}"));
        // 5 bytes end exactly before a space: the token is whole, nothing else dropped.
        assert_eq!(text(&r, "é é é"), format!("é é{UNSCANNED_MARKER}"));
    }

    #[test]
    fn budget_pass_leaves_the_rest_unscanned_and_says_so() {
        let r = budget(8, FailAction::Pass);
        let out = r
            .redact(json!(["pw=x", "token=abcdef", "token=z"]))
            .unwrap();
        assert_eq!(out.value, json!(["pw=x", "token=abcdef", "token=z"]));
        assert_eq!(
            out.report.unscanned,
            Some(Unscanned {
                action: FailAction::Pass,
                strings: 2,
                bytes: 19
            })
        );
        assert_eq!(out.report.scanned_bytes, 4);
    }

    #[test]
    fn zero_budget_still_applies_field_globs() {
        let r = budget(0, FailAction::Truncate);
        let out = r.redact(json!({"token": "t", "x": "y"})).unwrap();
        assert_eq!(out.value, json!({"token": REDACTED, "x": UNSCANNED_MARKER}));
    }

    #[test]
    fn fail_action_parses_from_config_words() {
        for (word, want) in [
            ("truncate", FailAction::Truncate),
            ("pass", FailAction::Pass),
            ("error", FailAction::Error),
        ] {
            let got: FailAction = serde_json::from_value(json!(word)).unwrap();
            assert_eq!(got, want);
        }
        assert!(serde_json::from_value::<FailAction>(json!("drop")).is_err());
    }
}
