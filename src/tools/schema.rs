#![forbid(unsafe_code)]
//! A small JSON Schema validator for the subset our tool schemas use. Unknown keywords are a
//! compile error, so a schema can never claim a rule this code does not enforce.
//!
//! Supported: `type` (string or array of names), `properties`, `required`,
//! `additionalProperties` (boolean only), `items`, `enum`, `const`, `minimum`, `maximum`,
//! `minLength`, `maxLength`, `pattern`, `minItems`, `maxItems`, `anyOf` (only of members that are
//! exactly `{"required": [...]}`: "give at least one of these arguments"), plus the annotations
//! `description`, `title`, `default`, `examples`, `$schema`, `x-sysgate-server-text`.
//!
//! The top-level `required` and `anyOf` of a tool's input schema are its *parameter
//! requirements*: the gate checks them first ([`Schema::requirements`]) and refuses the call as a
//! requirement denial before the other rules are checked and before any handler runs.

use regex::Regex;
use serde_json::{Map, Value};

use crate::error::{ToolError, echo};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Null,
    Boolean,
    Integer,
    Number,
    String,
    Array,
    Object,
}

impl Ty {
    fn parse(s: &str) -> Option<Ty> {
        Some(match s {
            "null" => Ty::Null,
            "boolean" => Ty::Boolean,
            "integer" => Ty::Integer,
            "number" => Ty::Number,
            "string" => Ty::String,
            "array" => Ty::Array,
            "object" => Ty::Object,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Ty::Null => "null",
            Ty::Boolean => "a boolean",
            Ty::Integer => "an integer",
            Ty::Number => "a number",
            Ty::String => "a string",
            Ty::Array => "an array",
            Ty::Object => "an object",
        }
    }

    fn matches(self, v: &Value) -> bool {
        match (self, v) {
            (Ty::Null, Value::Null) => true,
            (Ty::Boolean, Value::Bool(_)) => true,
            (Ty::Number, Value::Number(_)) => true,
            // JSON Schema: an integer is any number with no fractional part (so 1e12 is one).
            (Ty::Integer, Value::Number(n)) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            (Ty::String, Value::String(_)) => true,
            (Ty::Array, Value::Array(_)) => true,
            (Ty::Object, Value::Object(_)) => true,
            _ => false,
        }
    }
}

/// A compiled schema node.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    types: Vec<Ty>,
    properties: Vec<(String, Schema)>,
    required: Vec<String>,
    additional_properties: bool,
    items: Option<Box<Schema>>,
    /// Boxed because most nodes (output fields) have none: a node is ~100 bytes instead of
    /// ~270, and the registry holds hundreds of them for the life of the process.
    rules: Option<Box<Rules>>,
}

/// The value constraints of a schema node.
#[derive(Debug, Clone, Default)]
struct Rules {
    enumeration: Option<Vec<Value>>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    min_length: Option<usize>,
    max_length: Option<usize>,
    pattern: Option<(String, Regex)>,
    min_items: Option<usize>,
    max_items: Option<usize>,
    /// `anyOf` of `required` lists: at least one list must be present in full.
    any_of: Option<Vec<Vec<String>>>,
}

/// What a node without constraints checks.
static NO_RULES: Rules = Rules {
    enumeration: None,
    minimum: None,
    maximum: None,
    min_length: None,
    max_length: None,
    pattern: None,
    min_items: None,
    max_items: None,
    any_of: None,
};

/// A parameter requirement the arguments do not meet (see [`Schema::requirements`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unmet {
    /// A `required` argument is absent.
    Required(String),
    /// No alternative of the `anyOf` is given in full: the alternatives, as
    /// ``one of `pid`, `path_prefix`, `user` ``.
    OneOf(String),
}

/// A validation failure: where (a dotted path below the root; empty for the root) and which rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub rule: String,
}

impl Schema {
    fn rules_mut(&mut self) -> &mut Rules {
        self.rules.get_or_insert_with(Box::default)
    }

    /// Compile a schema document. Errors name the offending keyword and location.
    pub fn compile(v: &Value) -> Result<Schema, String> {
        compile_at(v, "#")
    }

    /// Validate `v`, reporting the first violation.
    pub fn validate(&self, v: &Value) -> Result<(), Violation> {
        self.check(v, &mut String::new())
    }

    /// Validate tool arguments; the error names the argument and the rule it broke.
    pub fn validate_args(&self, args: &Map<String, Value>) -> Result<(), ToolError> {
        // Validate the map in place without cloning it into a Value.
        self.check_object(args, &mut String::new())
            .map_err(|v| ToolError::InvalidArgument {
                argument: if v.path.is_empty() {
                    "arguments".into()
                } else {
                    v.path
                },
                rule: v.rule,
            })
    }

    /// Rewrite every number that an `integer` node accepted with a fraction part of zero (`5.0`,
    /// `1E1`) as that integer, so handlers, which read integers, see what the schema accepted.
    /// Run on arguments after [`Schema::validate_args`] passed.
    pub fn canonicalize_integers(&self, args: &mut Map<String, Value>) {
        for (key, value) in args.iter_mut() {
            if let Some((_, sub)) = self.properties.iter().find(|(k, _)| k == key) {
                sub.canonicalize(value);
            }
        }
    }

    fn canonicalize(&self, v: &mut Value) {
        match v {
            Value::Number(n) if self.types.contains(&Ty::Integer) => {
                if let Some(i) = integer_of(n) {
                    *v = i;
                }
            }
            Value::Array(a) => {
                if let Some(items) = &self.items {
                    a.iter_mut().for_each(|x| items.canonicalize(x));
                }
            }
            Value::Object(m) => self.canonicalize_integers(m),
            _ => {}
        }
    }

    fn check(&self, v: &Value, path: &mut String) -> Result<(), Violation> {
        let r = self.rules.as_deref().unwrap_or(&NO_RULES);
        if !self.types.is_empty() && !self.types.iter().any(|t| t.matches(v)) {
            let want: Vec<&str> = self.types.iter().map(|t| t.name()).collect();
            return Err(violation(
                path,
                format!("must be {} (got {})", want.join(" or "), kind(v)),
            ));
        }
        if let Some(allowed) = &r.enumeration
            && !allowed.contains(v)
        {
            let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
            return Err(violation(
                path,
                format!("must be one of {}", list.join(", ")),
            ));
        }
        match v {
            Value::Number(n) => {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if let Some(min) = r.minimum
                    && (f.is_nan() || f < min)
                {
                    return Err(violation(path, range_rule(r.minimum, r.maximum, n)));
                }
                if let Some(max) = r.maximum
                    && (f.is_nan() || f > max)
                {
                    return Err(violation(path, range_rule(r.minimum, r.maximum, n)));
                }
            }
            Value::String(s) => {
                let len = s.chars().count();
                if let Some(min) = r.min_length
                    && len < min
                {
                    return Err(violation(
                        path,
                        format!("must be at least {}", counted(min, "character")),
                    ));
                }
                if let Some(max) = r.max_length
                    && len > max
                {
                    return Err(violation(
                        path,
                        format!("must be at most {}", counted(max, "character")),
                    ));
                }
                if let Some((src, re)) = &r.pattern
                    && !re.is_match(s)
                {
                    return Err(violation(path, format!("must match the pattern {src}")));
                }
            }
            Value::Array(a) => {
                if let Some(min) = r.min_items
                    && a.len() < min
                {
                    return Err(violation(
                        path,
                        format!("must have at least {}", counted(min, "item")),
                    ));
                }
                if let Some(max) = r.max_items
                    && a.len() > max
                {
                    return Err(violation(
                        path,
                        format!("must have at most {}", counted(max, "item")),
                    ));
                }
                if let Some(items) = &self.items {
                    for (i, item) in a.iter().enumerate() {
                        let len = path.len();
                        path.push_str(&format!("[{i}]"));
                        items.check(item, path)?;
                        path.truncate(len);
                    }
                }
            }
            Value::Object(m) => self.check_object(m, path)?,
            Value::Null | Value::Bool(_) => {}
        }
        Ok(())
    }

    fn check_object(&self, m: &Map<String, Value>, path: &mut String) -> Result<(), Violation> {
        match self.unmet(m) {
            Ok(()) => {}
            Err(Unmet::Required(name)) => {
                return Err(Violation {
                    path: join(path, &name),
                    rule: "is required".into(),
                });
            }
            Err(Unmet::OneOf(list)) => {
                return Err(violation(path, format!("needs {list}")));
            }
        }
        for (key, value) in m {
            match self.properties.iter().find(|(k, _)| k == key) {
                Some((_, sub)) => {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                    sub.check(value, path)?;
                    path.truncate(len);
                }
                None if !self.additional_properties => {
                    let known: Vec<&str> =
                        self.properties.iter().map(|(k, _)| k.as_str()).collect();
                    let rule = if known.is_empty() {
                        "is not a known property (this takes no arguments)".to_string()
                    } else {
                        format!("is not a known property (known: {})", known.join(", "))
                    };
                    return Err(Violation {
                        path: join(path, &echo(key, 64)),
                        rule,
                    });
                }
                None => {}
            }
        }
        Ok(())
    }

    /// The parameter requirements of an object schema (its `required` and `anyOf`), checked
    /// alone: the gate runs this before the other rules, so that a call missing what a tool
    /// demands is refused as such.
    pub fn requirements(&self, args: &Map<String, Value>) -> Result<(), Unmet> {
        self.unmet(args)
    }

    fn unmet(&self, m: &Map<String, Value>) -> Result<(), Unmet> {
        if let Some(name) = self.required.iter().find(|n| !m.contains_key(n.as_str())) {
            return Err(Unmet::Required(name.clone()));
        }
        if let Some(any_of) = self.rules.as_deref().and_then(|r| r.any_of.as_ref())
            && !any_of
                .iter()
                .any(|names| names.iter().all(|n| m.contains_key(n.as_str())))
        {
            return Err(Unmet::OneOf(one_of_text(any_of)));
        }
        Ok(())
    }

    /// The requirements as a reader sees them, for the tool reference: `required: `a`` and
    /// ``needs one of `b`, `c` ``, or nothing.
    pub fn requirement_summary(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.required.is_empty() {
            let names: Vec<String> = self.required.iter().map(|n| format!("`{n}`")).collect();
            out.push(format!("required: {}", names.join(", ")));
        }
        if let Some(any_of) = self.rules.as_deref().and_then(|r| r.any_of.as_ref()) {
            out.push(format!("needs {} (`anyOf`)", one_of_text(any_of)));
        }
        out
    }

    /// Property names of an object schema, in declaration order.
    pub fn property_names(&self) -> impl Iterator<Item = &str> {
        self.properties.iter().map(|(k, _)| k.as_str())
    }
}

/// A float with no fraction part as an integer `Value`, when it fits one (`None` for integers
/// already, fractions, and floats beyond the 64-bit range).
fn integer_of(n: &serde_json::Number) -> Option<Value> {
    if n.is_i64() || n.is_u64() {
        return None;
    }
    let f = n.as_f64()?;
    if f.fract() != 0.0 {
        return None;
    }
    // 2^64 and -2^63 are exact in f64; `as` is exact for whole numbers inside them.
    if (0.0..18_446_744_073_709_551_616.0).contains(&f) {
        Some(Value::from(f as u64))
    } else if (-9_223_372_036_854_775_808.0..0.0).contains(&f) {
        Some(Value::from(f as i64))
    } else {
        None
    }
}

/// ``one of `pid`, `path_prefix`, `user` ``; an alternative of several arguments reads
/// `` `a` with `b` ``.
fn one_of_text(any_of: &[Vec<String>]) -> String {
    let alternatives: Vec<String> = any_of
        .iter()
        .map(|names| {
            let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
            names.join(" with ")
        })
        .collect();
    if alternatives.len() == 1 {
        alternatives[0].clone()
    } else {
        format!("one of {}", alternatives.join(", "))
    }
}

/// "1 character", "2 characters".
fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn violation(path: &str, rule: String) -> Violation {
    Violation {
        path: path.to_string(),
        rule,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn fmt_bound(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

fn range_rule(min: Option<f64>, max: Option<f64>, got: &serde_json::Number) -> String {
    match (min, max) {
        (Some(a), Some(b)) => {
            format!(
                "must be between {} and {} (got {got})",
                fmt_bound(a),
                fmt_bound(b)
            )
        }
        (Some(a), None) => format!("must be at least {} (got {got})", fmt_bound(a)),
        (None, Some(b)) => format!("must be at most {} (got {got})", fmt_bound(b)),
        (None, None) => format!("is out of range (got {got})"),
    }
}

fn compile_at(v: &Value, at: &str) -> Result<Schema, String> {
    let obj = v
        .as_object()
        .ok_or_else(|| format!("{at}: a schema must be an object"))?;
    let mut s = Schema {
        additional_properties: true,
        ..Schema::default()
    };
    for (key, val) in obj {
        let here = format!("{at}/{key}");
        match key.as_str() {
            // `x-sysgate-server-text` is an output annotation (checked by `output::trust`).
            "description"
            | "title"
            | "default"
            | "examples"
            | "$schema"
            | "x-sysgate-server-text" => {}
            "type" => {
                let names: Vec<&str> = match val {
                    Value::String(t) => vec![t.as_str()],
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                    _ => return Err(format!("{here}: must be a string or array")),
                };
                for n in names {
                    s.types
                        .push(Ty::parse(n).ok_or_else(|| format!("{here}: unknown type {n}"))?);
                }
            }
            "properties" => {
                let props = val
                    .as_object()
                    .ok_or_else(|| format!("{here}: must be an object"))?;
                for (name, sub) in props {
                    s.properties
                        .push((name.clone(), compile_at(sub, &format!("{here}/{name}"))?));
                }
            }
            "required" => {
                let list = val
                    .as_array()
                    .ok_or_else(|| format!("{here}: must be an array"))?;
                for r in list {
                    let r = r
                        .as_str()
                        .ok_or_else(|| format!("{here}: names must be strings"))?;
                    s.required.push(r.to_string());
                }
            }
            "additionalProperties" => {
                s.additional_properties = val
                    .as_bool()
                    .ok_or_else(|| format!("{here}: only booleans are supported"))?;
            }
            "items" => s.items = Some(Box::new(compile_at(val, &here)?)),
            "enum" => {
                s.rules_mut().enumeration = Some(
                    val.as_array()
                        .ok_or_else(|| format!("{here}: must be an array"))?
                        .clone(),
                )
            }
            "const" => s.rules_mut().enumeration = Some(vec![val.clone()]),
            "minimum" => s.rules_mut().minimum = Some(num(val, &here)?),
            "maximum" => s.rules_mut().maximum = Some(num(val, &here)?),
            "minLength" => s.rules_mut().min_length = Some(count(val, &here)?),
            "maxLength" => s.rules_mut().max_length = Some(count(val, &here)?),
            "minItems" => s.rules_mut().min_items = Some(count(val, &here)?),
            "maxItems" => s.rules_mut().max_items = Some(count(val, &here)?),
            "pattern" => {
                let src = val
                    .as_str()
                    .ok_or_else(|| format!("{here}: must be a string"))?;
                let re = Regex::new(src).map_err(|e| format!("{here}: {e}"))?;
                s.rules_mut().pattern = Some((src.to_string(), re));
            }
            "anyOf" => s.rules_mut().any_of = Some(any_of(val, &here)?),
            other => return Err(format!("{here}: unsupported keyword `{other}`")),
        }
    }
    let any_of_names = s
        .rules
        .as_deref()
        .and_then(|r| r.any_of.as_ref())
        .into_iter()
        .flatten()
        .flatten();
    for r in s.required.iter().chain(any_of_names) {
        if !s.properties.iter().any(|(k, _)| k == r) {
            return Err(format!("{at}/required: `{r}` is not among the properties"));
        }
    }
    // Compiled once and kept for the life of the process: drop the growth slack.
    s.types.shrink_to_fit();
    s.properties.shrink_to_fit();
    s.required.shrink_to_fit();
    Ok(s)
}

/// `anyOf` restricted to "at least one of these argument sets": every member is exactly
/// `{"required": [names]}` with at least one name. Anything else (types, nested rules) is refused,
/// since this validator would not enforce it.
fn any_of(v: &Value, at: &str) -> Result<Vec<Vec<String>>, String> {
    let members = v
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| format!("{at}: must be a non-empty array"))?;
    let mut out = Vec::with_capacity(members.len());
    for (i, m) in members.iter().enumerate() {
        let only_required = m
            .as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.get("required"))
            .and_then(Value::as_array)
            .filter(|names| !names.is_empty());
        let names = only_required.ok_or_else(|| {
            format!("{at}/{i}: only members of the form {{\"required\": [names]}} are supported")
        })?;
        let names: Option<Vec<String>> = names
            .iter()
            .map(|n| n.as_str().map(str::to_string))
            .collect();
        out.push(names.ok_or_else(|| format!("{at}/{i}/required: names must be strings"))?);
    }
    Ok(out)
}

fn num(v: &Value, at: &str) -> Result<f64, String> {
    v.as_f64().ok_or_else(|| format!("{at}: must be a number"))
}

fn count(v: &Value, at: &str) -> Result<usize, String> {
    v.as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| format!("{at}: must be a non-negative integer"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn limit_schema() -> Schema {
        Schema::compile(&json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "limit": {"type": "integer", "minimum": 1, "maximum": 500},
                "sort_by": {"type": "string", "enum": ["cpu", "pid"]},
                "user": {"type": "string", "maxLength": 8, "pattern": "^[a-z_][a-z0-9_-]*$"}
            }
        }))
        .unwrap()
    }

    fn err(args: Value) -> ToolError {
        limit_schema()
            .validate_args(args.as_object().unwrap())
            .unwrap_err()
    }

    #[test]
    fn accepts_valid_and_empty() {
        let s = limit_schema();
        assert!(
            s.validate_args(json!({"limit": 10, "sort_by": "cpu"}).as_object().unwrap())
                .is_ok()
        );
        assert!(s.validate_args(&Map::new()).is_ok());
    }

    #[test]
    fn rejects_out_of_range_and_wrong_types() {
        let e = err(json!({"limit": -1}));
        assert_eq!(
            e.to_string(),
            "invalid argument `limit`: must be between 1 and 500 (got -1)"
        );
        let e = err(json!({"limit": 1e12}));
        assert!(e.to_string().contains("must be between 1 and 500"), "{e}");
        let e = err(json!({"limit": 2.5}));
        assert!(e.to_string().contains("must be an integer"), "{e}");
        let e = err(json!({"limit": "10"}));
        assert!(
            e.to_string().contains("must be an integer (got a string)"),
            "{e}"
        );
    }

    #[test]
    fn length_rules_use_the_right_plural() {
        let s = Schema::compile(&json!({
            "type": "object",
            "properties": {
                "s1": {"type": "string", "minLength": 1, "maxLength": 1},
                "s2": {"type": "string", "minLength": 2, "maxLength": 3},
                "a1": {"type": "array", "minItems": 1, "maxItems": 1},
                "a2": {"type": "array", "minItems": 2, "maxItems": 3}
            }
        }))
        .unwrap();
        // (arguments, the message)
        let cases = [
            (
                json!({"s1": ""}),
                "invalid argument `s1`: must be at least 1 character",
            ),
            (
                json!({"s1": "ab"}),
                "invalid argument `s1`: must be at most 1 character",
            ),
            (
                json!({"s2": "a"}),
                "invalid argument `s2`: must be at least 2 characters",
            ),
            (
                json!({"s2": "abcd"}),
                "invalid argument `s2`: must be at most 3 characters",
            ),
            (
                json!({"a1": []}),
                "invalid argument `a1`: must have at least 1 item",
            ),
            (
                json!({"a1": [1, 2]}),
                "invalid argument `a1`: must have at most 1 item",
            ),
            (
                json!({"a2": [1]}),
                "invalid argument `a2`: must have at least 2 items",
            ),
            (
                json!({"a2": [1, 2, 3, 4]}),
                "invalid argument `a2`: must have at most 3 items",
            ),
        ];
        for (args, want) in cases {
            let e = s.validate_args(args.as_object().unwrap()).unwrap_err();
            assert_eq!(e.to_string(), want);
        }
    }

    #[test]
    fn integers_with_a_zero_fraction_become_integers() {
        let s = Schema::compile(&json!({
            "type": "object",
            "properties": {
                "n": {"type": "integer"},
                "x": {"type": "number"},
                "list": {"type": "array", "items": {"type": "integer"}},
                "o": {"type": "object", "properties": {"m": {"type": "integer"}}}
            }
        }))
        .unwrap();
        // (argument JSON text, what the handler gets)
        let cases = [
            (r#"{"n": 5.0}"#, json!({"n": 5})),
            (r#"{"n": 1E1}"#, json!({"n": 10})),
            (r#"{"n": -3.0}"#, json!({"n": -3})),
            (r#"{"n": 0.0}"#, json!({"n": 0})),
            (r#"{"n": -0.0}"#, json!({"n": 0})),
            (r#"{"n": 7}"#, json!({"n": 7})),
            (r#"{"n": 1e300}"#, json!({"n": 1e300})),
            (r#"{"x": 5.0}"#, json!({"x": 5.0})),
            (r#"{"list": [1.0, 2E0]}"#, json!({"list": [1, 2]})),
            (r#"{"o": {"m": 4.0}}"#, json!({"o": {"m": 4}})),
            (r#"{"other": 5.0}"#, json!({"other": 5.0})),
        ];
        for (text, want) in cases {
            let mut args: Map<String, Value> = serde_json::from_str(text).unwrap();
            s.validate_args(&args).unwrap();
            s.canonicalize_integers(&mut args);
            assert_eq!(Value::Object(args), want, "{text}");
        }
        assert_eq!(
            integer_of(&serde_json::Number::from_f64(2.5).unwrap()),
            None
        );
        assert_eq!(
            integer_of(&serde_json::Number::from_f64(18_446_744_073_709_551_615.0).unwrap()),
            None,
            "2^64 does not fit"
        );
    }

    #[test]
    fn rejects_unknown_properties_enum_and_pattern() {
        let e = err(json!({"bogus": 1}));
        assert!(
            e.to_string()
                .starts_with("invalid argument `bogus`: is not a known property")
        );
        let e = err(json!({"sort_by": "memory"}));
        assert!(
            e.to_string().contains("must be one of \"cpu\", \"pid\""),
            "{e}"
        );
        let e = err(json!({"user": "-rf"}));
        assert!(e.to_string().contains("must match the pattern"), "{e}");
        let e = err(json!({"user": "abcdefghijk"}));
        assert!(e.to_string().contains("at most 8 characters"), "{e}");
    }

    #[test]
    fn unknown_keywords_do_not_compile() {
        let e = Schema::compile(&json!({"type": "string", "format": "email"})).unwrap_err();
        assert!(e.contains("unsupported keyword `format`"), "{e}");
        let e = Schema::compile(&json!({"type": "object", "required": ["x"]})).unwrap_err();
        assert!(e.contains("not among the properties"), "{e}");
    }

    fn one_of_schema() -> Schema {
        Schema::compile(&json!({
            "type": "object", "additionalProperties": false,
            "properties": {
                "pid": {"type": "integer", "minimum": 1, "maximum": 4194304},
                "path_prefix": {"type": "string", "maxLength": 8},
                "user": {"type": "string", "maxLength": 8},
                "limit": {"type": "integer", "minimum": 1, "maximum": 10}
            },
            "anyOf": [{"required": ["pid"]}, {"required": ["path_prefix"]}, {"required": ["user"]}]
        }))
        .unwrap()
    }

    #[test]
    fn any_of_required_needs_one_of_the_alternatives() {
        let s = one_of_schema();
        // (arguments, what `requirements` says, what the full validation says)
        let unmet = Unmet::OneOf("one of `pid`, `path_prefix`, `user`".into());
        let cases: &[(Value, Result<(), Unmet>, Option<&str>)] = &[
            (json!({"pid": 1}), Ok(()), None),
            (json!({"user": "a"}), Ok(()), None),
            (json!({"path_prefix": "/t", "limit": 3}), Ok(()), None),
            (
                json!({}),
                Err(unmet.clone()),
                Some("invalid argument `arguments`: needs one of `pid`, `path_prefix`, `user`"),
            ),
            (
                json!({"limit": 3}),
                Err(unmet.clone()),
                Some("invalid argument `arguments`: needs one of `pid`, `path_prefix`, `user`"),
            ),
            // Presence satisfies the requirement; the value is then checked by its own rule.
            (
                json!({"pid": 0}),
                Ok(()),
                Some("invalid argument `pid`: must be between 1 and 4194304 (got 0)"),
            ),
            (
                json!({"pid": null}),
                Ok(()),
                Some("invalid argument `pid`: must be an integer (got null)"),
            ),
        ];
        for (args, req, full) in cases {
            let m = args.as_object().unwrap();
            assert_eq!(&s.requirements(m), req, "{args}");
            let got = s.validate_args(m).err().map(|e| e.to_string());
            assert_eq!(got.as_deref(), *full, "{args}");
        }
        assert_eq!(
            s.requirement_summary(),
            vec!["needs one of `pid`, `path_prefix`, `user` (`anyOf`)".to_string()]
        );
        // A member of several names needs all of them; `required` is reported first.
        let s = Schema::compile(&json!({
            "type": "object",
            "properties": {"a": {}, "b": {}, "c": {}},
            "required": ["c"],
            "anyOf": [{"required": ["a", "b"]}]
        }))
        .unwrap();
        let req = |v: Value| s.requirements(v.as_object().unwrap());
        assert_eq!(req(json!({"a": 1})), Err(Unmet::Required("c".into())));
        assert_eq!(
            req(json!({"a": 1, "c": 1})),
            Err(Unmet::OneOf("`a` with `b`".into()))
        );
        assert_eq!(req(json!({"a": 1, "b": 2, "c": 3})), Ok(()));
        // Nested objects are checked too, with the path.
        let s = Schema::compile(&json!({
            "type": "object",
            "properties": {"o": {"type": "object", "properties": {"x": {}, "y": {}},
                "anyOf": [{"required": ["x"]}, {"required": ["y"]}]}}
        }))
        .unwrap();
        let v = s.validate(&json!({"o": {}})).unwrap_err();
        assert_eq!(
            (v.path.as_str(), v.rule.as_str()),
            ("o", "needs one of `x`, `y`")
        );
    }

    #[test]
    fn any_of_beyond_required_lists_does_not_compile() {
        let props = json!({"a": {"type": "integer"}, "b": {"type": "string"}});
        // (anyOf, a piece of the error)
        let cases = [
            (json!([]), "must be a non-empty array"),
            (json!({"required": ["a"]}), "must be a non-empty array"),
            (json!([{"required": []}]), "only members of the form"),
            (json!([{"type": "integer"}]), "only members of the form"),
            (
                json!([{"required": ["a"], "properties": {"a": {"maximum": 1}}}]),
                "only members of the form",
            ),
            (json!([{"required": [1]}]), "names must be strings"),
            (
                json!([{"required": ["a"]}, {"required": ["zzz"]}]),
                "`zzz` is not among the properties",
            ),
        ];
        for (any_of, want) in cases {
            let e =
                Schema::compile(&json!({"type": "object", "properties": props, "anyOf": any_of}))
                    .unwrap_err();
            assert!(e.contains(want), "{any_of}: {e}");
        }
    }

    #[test]
    fn nested_paths_are_reported() {
        let s = Schema::compile(&json!({
            "type": "object",
            "properties": {"a": {"type": "array", "items": {"type": "object",
                "properties": {"b": {"type": "integer"}}, "required": ["b"]}}}
        }))
        .unwrap();
        let v = s
            .validate(&json!({"a": [{"b": 1}, {"b": "x"}]}))
            .unwrap_err();
        assert_eq!(v.path, "a[1].b");
        let v = s.validate(&json!({"a": [{}]})).unwrap_err();
        assert_eq!(v.path, "a[0].b");
    }
}
