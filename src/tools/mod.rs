#![forbid(unsafe_code)]
//! The tool table: one definition per tool, read by `tools/list`, the policy gate, the docs and
//! the audit. Handlers live in one file per scope area; pure parsers of `/proc` text live in
//! `procfs` and are unit-tested on fixture text.

pub mod core;
pub mod glob;
pub mod hooks;
pub mod logfile;
pub mod logs_app;
pub mod logs_system;
pub mod parse;
pub mod procfs;
pub mod sbom;
pub mod schema;
pub mod sensitive;
pub mod settings;

pub use settings::Settings;

#[cfg(test)]
mod fence_table;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use std::sync::OnceLock;

use crate::error::ToolError;
use crate::output::redact::Redactor;
use crate::output::trust::Trust;
use crate::scope::ScopeSet;
pub use crate::scope::{Impact, Scope};
use schema::Schema;

/// MCP tool annotations, always set explicitly.
#[derive(Debug, Clone, Copy)]
pub struct Annotations {
    pub read_only: bool,
    pub destructive: bool,
    pub idempotent: bool,
    pub open_world: bool,
}

impl Annotations {
    /// A tool that only reads this host.
    pub const READ_LOCAL: Annotations = Annotations {
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: false,
    };
}

/// A handler: validated arguments in, a JSON value matching the output schema out.
pub type Handler = fn(&Ctx<'_>, &Map<String, Value>) -> Result<Value, ToolError>;

/// The one definition of a tool.
#[derive(Debug)]
pub struct ToolDef {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub scope: Scope,
    pub impact: Impact,
    pub annotations: Annotations,
    /// JSON Schema of the arguments (an object with `additionalProperties: false`).
    pub input_schema: &'static str,
    /// JSON Schema of `structuredContent`. Every string in it is host text, fenced in the text
    /// block, unless the node has an `enum`/`const` or is marked `"x-sysgate-server-text": true`
    /// (see `output::trust`): mark only strings the server writes itself.
    pub output_schema: &'static str,
    pub handler: Handler,
}

/// A tool of the table. Its schemas are compiled on first use, not at start-up: start-up time
/// is a benchmark target, and a session rarely touches every tool. Every definition compiles
/// (`tests::every_definition_compiles`); were one not to, its tool would be refused by the gate
/// and left out of `tools/list`, never run.
#[derive(Debug)]
pub struct Tool {
    pub def: &'static ToolDef,
    compiled: OnceLock<Result<Compiled, String>>,
}

/// A tool's schemas parsed and compiled.
#[derive(Debug)]
pub struct Compiled {
    pub input: Schema,
    pub output: Schema,
    /// Which result strings are the server's own; the rest are fenced (see `output::trust`).
    pub trust: Trust,
    /// The published schemas as compact JSON text. A schema held as a `Value` tree costs about
    /// ten times its text (a B-tree node per small object), and only `tools/list` needs it.
    input_json: String,
    output_json: String,
}

impl Tool {
    /// The compiled schemas, built on first use; `Err` names what is broken in the definition.
    pub fn compiled(&self) -> Result<&Compiled, &str> {
        self.compiled
            .get_or_init(|| compile(self.def))
            .as_ref()
            .map_err(String::as_str)
    }

    /// The input schema as published in `tools/list` (`null` for a broken definition).
    pub fn input_json(&self) -> Value {
        self.compiled()
            .map_or(Value::Null, |c| parse_own(&c.input_json))
    }

    /// The output schema as published in `tools/list` (`null` for a broken definition).
    pub fn output_json(&self) -> Value {
        self.compiled()
            .map_or(Value::Null, |c| parse_own(&c.output_json))
    }

    /// The entry for `tools/list`; `None` for a definition whose schemas are broken.
    ///
    /// Listing does not compile a tool: `tools/list` names every tool, and keeping every
    /// compiled validator (regexes, trust tables) for the rest of a session that calls three of
    /// them would cost most of the memory budget. A tool compiled already lists its cached text.
    pub fn listing(&self) -> Option<Value> {
        let (input, output) = match self.compiled.get() {
            Some(Ok(c)) => (parse_own(&c.input_json), parse_own(&c.output_json)),
            Some(Err(_)) => return None,
            None => published_schemas(self.def).ok()?,
        };
        let d = self.def;
        let description = listed_description(d, missing_program(d.name));
        let mut entry = json!({
            "name": d.name,
            "title": d.title,
            "description": description,
            "annotations": {
                "title": d.title,
                "readOnlyHint": d.annotations.read_only,
                "destructiveHint": d.annotations.destructive,
                "idempotentHint": d.annotations.idempotent,
                "openWorldHint": d.annotations.open_world,
            },
        });
        entry["inputSchema"] = input;
        entry["outputSchema"] = output;
        Some(entry)
    }
}

/// An argument the handler refuses (the schema let it through, or it needs host facts).
pub(crate) fn invalid(argument: &str, rule: &str) -> ToolError {
    ToolError::InvalidArgument {
        argument: argument.into(),
        rule: rule.into(),
    }
}

/// Parse, check and compile one definition's schemas.
fn compile(def: &'static ToolDef) -> Result<Compiled, String> {
    let (input_json, output_json) = published_schemas(def)?;
    let input =
        Schema::compile(&input_json).map_err(|e| format!("tool {}: input schema {e}", def.name))?;
    let output = Schema::compile(&output_json)
        .map_err(|e| format!("tool {}: output schema {e}", def.name))?;
    if input_json.get("additionalProperties") != Some(&Value::Bool(false)) {
        return Err(format!(
            "tool {}: input schema must set additionalProperties: false",
            def.name
        ));
    }
    let trust = Trust::from_schema(&output_json)
        .map_err(|e| format!("tool {}: output schema {e}", def.name))?;
    // What tools/list parses again must round-trip exactly: checked for every tool by
    // `tests::published_schemas_round_trip`, not at each use.
    let text = |v: &Value| serde_json::to_string(v).map_err(|e| e.to_string());
    Ok(Compiled {
        input,
        output,
        trust,
        input_json: text(&input_json)?,
        output_json: text(&output_json)?,
    })
}

/// Parses schema text that [`Registry::new`] serialized from a `Value` and parsed back once, so
/// this cannot fail.
fn parse_own(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// All tool definitions, in `tools/list` order.
pub fn definitions() -> impl Iterator<Item = &'static ToolDef> {
    core::TOOLS
        .iter()
        .chain(logs_system::TOOLS.iter())
        .chain(logs_app::TOOLS.iter())
        .chain(sensitive::TOOLS.iter())
        .chain(sbom::TOOLS.iter())
        .chain(hooks::TOOLS.iter())
        .chain(stall::TOOLS.iter())
}

/// Which tools run which program. A tool whose program is missing on this host says so in its
/// `tools/list` description (and its handler answers with `exec`'s clear error); the table
/// lives here rather than in `ToolDef` so that definitions stay plain data.
pub const PROGRAMS: &[(&str, crate::exec::Program)] =
    &[("get_journal_logs", crate::exec::Program::Journalctl)];

/// A tool's `tools/list` description: its own, plus why it cannot run when its program is
/// missing.
fn listed_description(def: &ToolDef, missing: Option<crate::exec::Program>) -> String {
    match missing {
        Some(p) => format!(
            "{} UNAVAILABLE on this host: {}.",
            def.description,
            p.missing_text()
        ),
        None => def.description.to_string(),
    }
}

/// The program `tool` needs that this host lacks, if any.
pub fn missing_program(tool: &str) -> Option<crate::exec::Program> {
    PROGRAMS
        .iter()
        .find(|(name, _)| *name == tool)
        .map(|(_, p)| *p)
        .filter(|p| p.find().is_err())
}

/// Tools that exist only in this crate's unit tests (`cfg(test)`: no binary has them, so no
/// config can reach them): `test_stall`'s handler ignores the deadline and cancellation, to prove
/// that the call lifecycle answers at the deadline whatever a handler does; `test_requirements`
/// has a `required` argument with a `maximum`, for the gate's decision table.
mod stall {
    use super::ToolDef;

    #[cfg(not(test))]
    pub static TOOLS: &[ToolDef] = &[];

    #[cfg(test)]
    pub static TOOLS: &[ToolDef] = &[
        ToolDef {
            name: "test_stall",
            title: "Stall (tests only)",
            description: "Sleeps for `ms` milliseconds without checking its deadline.",
            scope: super::Scope::Core,
            impact: super::Impact::Minimal,
            annotations: super::Annotations::READ_LOCAL,
            input_schema: r#"{"type": "object", "additionalProperties": false,
            "properties": {"ms": {"type": "integer", "minimum": 0, "maximum": 10000}}}"#,
            output_schema: r#"{"type": "object", "additionalProperties": false, "properties": {}}"#,
            handler: stall,
        },
        ToolDef {
            name: "test_requirements",
            title: "Parameter requirements (tests only)",
            description: "Takes a required `hours` of at most 24: the gate's decision table uses it.",
            scope: super::Scope::Core,
            impact: super::Impact::Minimal,
            annotations: super::Annotations::READ_LOCAL,
            input_schema: r#"{"type": "object", "additionalProperties": false, "required": ["hours"],
            "properties": {"hours": {"type": "integer", "minimum": 1, "maximum": 24}}}"#,
            output_schema: r#"{"type": "object", "additionalProperties": false, "properties": {}}"#,
            handler: stall,
        },
    ];

    #[cfg(test)]
    fn stall(
        _ctx: &super::Ctx<'_>,
        args: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<serde_json::Value, crate::error::ToolError> {
        let ms = args
            .get("ms")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        std::thread::sleep(std::time::Duration::from_millis(ms));
        Ok(serde_json::json!({}))
    }
}

/// The argument every tool takes: how to render the text block.
pub const FORMAT_ARG: &str = "format";
/// The result field every tool may carry: what the output caps cut.
pub const TRUNCATED_FIELD: &str = "truncated";

fn common_format_schema() -> Value {
    json!({
        "type": "string",
        "enum": ["json", "toon"],
        "description": "Rendering of the text block: compact JSON or TOON (structuredContent is always JSON). Default: the server's output.format."
    })
}

fn common_truncated_schema() -> Value {
    let before_after = json!({
        "type": "object", "additionalProperties": false, "required": ["before", "after"],
        "properties": {"before": {"type": "integer", "minimum": 0}, "after": {"type": "integer", "minimum": 0}}
    });
    json!({
        "type": "object",
        "additionalProperties": false,
        "description": "Present only when the result was cut to fit the output limits: which arrays were cut (kept of total), how many strings were shortened, and the line and byte totals before and after.",
        "required": ["arrays", "strings"],
        "properties": {
            "arrays": {"type": "array", "items": {
                "type": "object", "additionalProperties": false, "required": ["path", "kept", "total"],
                "properties": {
                    "path": {"type": "string", "x-sysgate-server-text": true},
                    "kept": {"type": "integer", "minimum": 0},
                    "total": {"type": "integer", "minimum": 0}
                }
            }},
            "arrays_not_listed": {"type": "integer", "minimum": 0},
            "strings": {"type": "integer", "minimum": 0},
            "lines": before_after,
            "bytes": before_after
        }
    })
}

fn add_property(schema: &mut Value, name: &str, prop: Value) -> Result<(), String> {
    let props = schema
        .get_mut("properties")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| "schema has no properties object".to_string())?;
    if props.insert(name.to_string(), prop).is_some() {
        return Err(format!(
            "defines `{name}`, which every tool gets from the registry"
        ));
    }
    Ok(())
}

/// The compiled tool table.
#[derive(Debug)]
pub struct Registry {
    tools: Vec<Tool>,
    index: BTreeMap<&'static str, usize>,
}

/// A definition's input and output schemas as published: its own text plus the argument and
/// result field every tool shares, added here so that no definition can forget or contradict
/// them. Each is compiled once, after that (start-up time is a benchmark target): a broken
/// definition fails there just the same.
fn published_schemas(def: &ToolDef) -> Result<(Value, Value), String> {
    let parse = |what: &str, text: &str| -> Result<Value, String> {
        serde_json::from_str(text)
            .map_err(|e| format!("tool {}: {what} schema is not JSON: {e}", def.name))
    };
    let mut input_json = parse("input", def.input_schema)?;
    let mut output_json = parse("output", def.output_schema)?;
    add_property(&mut input_json, FORMAT_ARG, common_format_schema())?;
    add_property(&mut output_json, TRUNCATED_FIELD, common_truncated_schema())?;
    Ok((input_json, output_json))
}

impl Registry {
    /// Index every definition (schemas are compiled on first use: [`Tool::compiled`]).
    /// Fails on a name defined twice.
    pub fn new() -> Result<Registry, String> {
        let mut tools = Vec::new();
        let mut index = BTreeMap::new();
        for def in definitions() {
            if index.insert(def.name, tools.len()).is_some() {
                return Err(format!("tool {} is defined twice", def.name));
            }
            tools.push(Tool {
                def,
                compiled: OnceLock::new(),
            });
        }
        Ok(Registry { tools, index })
    }

    /// Compile every tool now; the first broken definition is the error. For `sysgate tools`,
    /// `check-config` and the tests.
    pub fn compile_all(&self) -> Result<(), String> {
        for t in &self.tools {
            t.compiled().map_err(str::to_string)?;
        }
        Ok(())
    }

    /// The table, built on first use and kept for the whole process, so a running call can hold
    /// its `&'static Tool`.
    pub fn global() -> Result<&'static Registry, String> {
        static TABLE: OnceLock<Result<Registry, String>> = OnceLock::new();
        TABLE
            .get_or_init(Registry::new)
            .as_ref()
            .map_err(Clone::clone)
    }

    pub fn get(&self, name: &str) -> Option<&Tool> {
        self.index.get(name).map(|i| &self.tools[*i])
    }

    pub fn iter(&self) -> impl Iterator<Item = &Tool> {
        self.tools.iter()
    }
}

/// Tools are compared by identity: there is one of each, in the process-wide table.
impl PartialEq for Tool {
    fn eq(&self, other: &Tool) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Eq for Tool {}

/// A cancellation flag shared between the connection, the deadline timer and the handler.
#[derive(Debug, Default)]
pub struct Cancel(AtomicBool);

impl Cancel {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Sends `notifications/progress` for the current request, if the client asked for it.
pub type ProgressFn<'a> = &'a (dyn Fn(f64, Option<f64>, &str) + Sync);

/// Who is calling, as a handler may see it (`whoami`): no config, no registry.
pub struct Who<'a> {
    /// The transport's name (`stdio`, `cli`).
    pub transport: &'static str,
    pub identity: &'a str,
    pub uid: Option<u32>,
    /// The scopes the gate found the caller holding.
    pub scopes: ScopeSet,
    /// The tools this caller may see, computed only when asked.
    pub visible_tools: &'a (dyn Fn() -> Vec<&'static str> + Sync),
}

impl std::fmt::Debug for Who<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Who")
            .field("transport", &self.transport)
            .field("identity", &self.identity)
            .field("uid", &self.uid)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// What a handler gets besides its arguments.
pub struct Ctx<'a> {
    pub who: Who<'a>,
    /// The call's redactor, for cutting host text without splitting a secret
    /// (`Redactor::cut`); the results themselves are redacted by the output pipeline.
    pub redactor: &'a Redactor,
    pub cancel: &'a Cancel,
    pub deadline: Instant,
    pub progress: Option<ProgressFn<'a>>,
    /// Running programs (the only way a handler can): settings, and the children's records
    /// for the call's audit record. Use [`Ctx::run`].
    pub exec: &'a crate::exec::CallContext,
    /// What the handlers take from the config (the application log globs).
    pub settings: &'a crate::tools::Settings,
}

impl std::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("identity", &self.who.identity)
            .field("deadline", &self.deadline)
            .finish()
    }
}

impl Ctx<'_> {
    /// Stop early if the call was cancelled or ran out of time. Handlers call this in loops.
    pub fn check(&self) -> Result<(), ToolError> {
        if self.cancel.is_cancelled() || Instant::now() >= self.deadline {
            return Err(ToolError::Cancelled);
        }
        Ok(())
    }

    /// Sleep for `d`, waking early (with an error) on cancellation or deadline.
    pub fn sleep(&self, d: Duration) -> Result<(), ToolError> {
        let end = Instant::now() + d;
        loop {
            self.check()?;
            let now = Instant::now();
            if now >= end {
                return Ok(());
            }
            std::thread::sleep((end - now).min(Duration::from_millis(10)));
        }
    }

    /// Run a program for this call: under its deadline, killed on cancellation, recorded in
    /// the audit. See [`crate::exec::CallContext::run`] for the errors.
    pub fn run(
        &self,
        argv: &crate::exec::Argv,
        caps: crate::exec::Caps,
    ) -> Result<crate::exec::Finished, ToolError> {
        let cancelled = || self.cancel.is_cancelled();
        self.exec.run(argv, self.deadline, &cancelled, caps)
    }

    /// Report progress; a no-op unless the request carried a `progressToken`.
    pub fn progress(&self, done: f64, total: Option<f64>, message: &str) {
        if let Some(p) = self.progress {
            p(done, total, message);
        }
    }
}

/// The tool reference (`docs/tools.md`), generated from the table so it cannot drift.
pub fn reference_markdown(registry: &Registry) -> String {
    let mut out = String::from(
        "# Tool reference\n\nGenerated by `sysgate tools --markdown` from the tool table; do not edit by hand.\n\n\
         | tool | scope | impact | read-only | description |\n|---|---|---|---|---|\n",
    );
    for t in registry.iter() {
        let d = t.def;
        out.push_str(&format!(
            "| `{}` | `{}` | {} | {} | {} |\n",
            d.name,
            d.scope,
            d.impact.name(),
            if d.annotations.read_only { "yes" } else { "no" },
            d.description.replace('|', "\\|")
        ));
    }
    out.push_str(&scope_table(registry));
    for t in registry.iter() {
        let d = t.def;
        out.push_str(&format!(
            "\n## `{}`: {}\n\n{}\n\n",
            d.name, d.title, d.description
        ));
        out.push_str(&format!(
            "- scope: `{}`; impact: {}; annotations: readOnly={}, destructive={}, idempotent={}, openWorld={}\n",
            d.scope, d.impact.name(), d.annotations.read_only, d.annotations.destructive,
            d.annotations.idempotent, d.annotations.open_world
        ));
        let props = t.compiled().map_or(0, |c| c.input.property_names().count());
        if props == 0 {
            out.push_str("- arguments: none\n");
        } else {
            out.push_str("- arguments:\n");
            if let Some(p) = t.input_json().get("properties").and_then(Value::as_object) {
                for (name, s) in p {
                    let desc = s.get("description").and_then(Value::as_str).unwrap_or("");
                    out.push_str(&format!("  - `{name}`: `{}` {desc}\n", compact_rule(s)));
                }
            }
        }
        // Parameter requirements, which the gate checks before anything else.
        if let Ok(c) = t.compiled() {
            for r in c.input.requirement_summary() {
                out.push_str(&format!("- {r}; the gate refuses a call without it\n"));
            }
        }
    }
    out
}

/// The `## Scopes` section of the reference: every scope, whether the built-in defaults enable it,
/// its meta-scopes, and its tools in this build, from the same tables the gate uses.
fn scope_table(registry: &Registry) -> String {
    let enabled = ScopeSet::default_enabled();
    let readonly = ScopeSet::readonly();
    let mut out = String::from(
        "\n## Scopes\n\nEvery tool belongs to one scope. A tool can be called only when its scope is enabled \
         (`scopes.NAME.enabled`) and the caller holds it (`stdio.scopes`). In scope lists, the \
         meta-scope `readonly` stands for the scopes marked below and `admin` for all of them.\n\n\
         | scope | enabled by default | in `readonly` | in `admin` | tools in this build |\n|---|---|---|---|---|\n",
    );
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    for s in Scope::ALL {
        let tools: Vec<String> = registry
            .iter()
            .filter(|t| t.def.scope == s)
            .map(|t| format!("`{}`", t.def.name))
            .collect();
        out.push_str(&format!(
            "| `{s}` | {} | {} | {} | {} |\n",
            yes_no(enabled.contains(s)),
            yes_no(readonly.contains(s)),
            yes_no(ScopeSet::all().contains(s)),
            if tools.is_empty() {
                "none yet".to_string()
            } else {
                tools.join(", ")
            }
        ));
    }
    out
}

fn compact_rule(s: &Value) -> String {
    let mut m = s.as_object().cloned().unwrap_or_default();
    m.remove("description");
    serde_json::to_string(&m).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_definition_compiles() {
        Registry::new().unwrap().compile_all().unwrap();
    }

    #[test]
    fn a_tool_whose_program_is_missing_says_so_in_its_listing() {
        let r = Registry::new().unwrap();
        let t = r.get("get_journal_logs").unwrap();
        let text = listed_description(t.def, Some(crate::exec::Program::Journalctl));
        assert!(text.starts_with(t.def.description));
        assert!(
            text.contains("UNAVAILABLE on this host: journalctl is not installed"),
            "{text}"
        );
        assert_eq!(listed_description(t.def, None), t.def.description);
        // The listing uses what this host has.
        let listed = t.listing().unwrap()["description"]
            .as_str()
            .unwrap()
            .to_string();
        let has = crate::exec::Program::Journalctl.find().is_ok();
        assert_eq!(!listed.contains("UNAVAILABLE"), has, "{listed}");
        // Every tool named in the table exists.
        for (name, _) in PROGRAMS {
            assert!(r.get(name).is_some(), "{name}");
        }
    }

    #[test]
    fn listing_a_tool_does_not_compile_it_and_agrees_with_the_compiled_text() {
        let r = Registry::new().unwrap();
        let t = r.get("get_memory_info").unwrap();
        let before = t.listing().unwrap();
        assert!(t.compiled.get().is_none(), "tools/list compiled the tool");
        t.compiled().unwrap();
        assert_eq!(t.listing().unwrap(), before);
    }

    #[test]
    fn published_schemas_round_trip() {
        for t in Registry::new().unwrap().iter() {
            let (input, output) = published_schemas(t.def).unwrap();
            assert_eq!(t.input_json(), input, "{}", t.def.name);
            assert_eq!(t.output_json(), output, "{}", t.def.name);
        }
    }

    #[test]
    fn every_counter_of_a_top_level_array_is_kept_right_by_the_caps() {
        let r = Registry::new().unwrap();
        let mut seen = 0;
        for t in r.iter() {
            let out = t.output_json();
            let props = out["properties"].as_object().unwrap();
            for (name, s) in props {
                if s["type"] != "integer" || !matches!(name.as_str(), "count" | "returned") {
                    continue;
                }
                seen += 1;
                let counted = crate::output::COUNTERS.iter().find(|(c, a)| {
                    c == name && props.get(*a).is_some_and(|p| p["type"] == "array")
                });
                assert!(
                    counted.is_some(),
                    "{}: `{name}` counts an array that output::COUNTERS does not name",
                    t.def.name
                );
            }
        }
        assert!(seen >= 4, "{seen}");
    }

    #[test]
    fn listing_publishes_the_schemas_the_gate_compiled() {
        let r = Registry::new().unwrap();
        for t in r.iter() {
            let l = t.listing().unwrap();
            let input = &l["inputSchema"];
            let output = &l["outputSchema"];
            // The registry's own additions are in the published text.
            assert!(
                input["properties"][FORMAT_ARG].is_object(),
                "{}",
                t.def.name
            );
            assert!(
                output["properties"][TRUNCATED_FIELD].is_object(),
                "{}",
                t.def.name
            );
            // And what is published is what validates: recompiling it gives the same verdicts.
            assert_eq!(&t.input_json(), input);
            let again = Schema::compile(input).unwrap();
            let compiled = t.compiled().unwrap();
            for args in [
                serde_json::json!({}),
                serde_json::json!({"format": "toon"}),
                serde_json::json!({"format": "yaml"}),
                serde_json::json!({"no_such_argument": 1}),
            ] {
                let obj = args.as_object().unwrap();
                assert_eq!(
                    again.validate_args(obj).is_ok(),
                    compiled.input.validate_args(obj).is_ok(),
                    "{} {args}",
                    t.def.name
                );
            }
        }
    }
}
