#![forbid(unsafe_code)]
//! Which strings in a result are host text, and so must be inside the fence.
//!
//! **The rule: every string in a result is host text unless the tool's output schema says the
//! server wrote it.** Numbers, booleans and `null` carry no text. A string is server text only
//! when its schema node
//!
//! * has an `enum` or a `const` (the server validates every result against its schema before
//!   it is rendered, so such a value is one of the server's own words), or
//! * is marked `"x-sysgate-server-text": true` ([`SERVER_TEXT`]): a string the server formats
//!   itself (a duration it renders, a message it writes, a tool name from its own table), never
//!   one read from the host, even when the host usually says one of a few words (an interface's
//!   operstate, a filesystem type, a user name).
//!
//! An object key that is not one of its schema node's `properties` is host text too. Anything
//! else (a new field, a new tool) is host text by default, so forgetting to declare a field can
//! only fence too much, never too little. When any host text is present, the whole text block is
//! fenced ([`super::fence`]); a result with only server text goes out unfenced.
//!
//! [`Trust::from_schema`] is built once per tool from its output schema (the registry does it);
//! [`Trust::has_host_text`] runs per call on the result.

use serde_json::Value;

/// The schema annotation that marks a string field as written by the server.
pub const SERVER_TEXT: &str = "x-sysgate-server-text";

/// The trust tree of one output schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Every string here is the server's own (see the module docs).
    Server,
    /// Strings here are host text; objects and arrays are looked into.
    Host {
        properties: Vec<(String, Trust)>,
        items: Option<Box<Trust>>,
    },
}

impl Trust {
    /// The trust tree of a (compiled, so well-formed) schema. A [`SERVER_TEXT`] mark on a node
    /// that is not only a string is an error, so the mark cannot cover an object's keys.
    pub fn from_schema(schema: &Value) -> Result<Trust, String> {
        build(schema, "")
    }

    /// Whether `value` holds any string (or object key) that is host text.
    pub fn has_host_text(&self, value: &Value) -> bool {
        match (self, value) {
            (_, Value::Null | Value::Bool(_) | Value::Number(_)) => false,
            (Trust::Server, _) => false,
            (Trust::Host { .. }, Value::String(_)) => true,
            (Trust::Host { items, .. }, Value::Array(a)) => match items {
                Some(t) => a.iter().any(|v| t.has_host_text(v)),
                None => a.iter().any(|v| HOST.has_host_text(v)),
            },
            (Trust::Host { properties, .. }, Value::Object(m)) => {
                m.iter().any(
                    |(k, v)| match properties.iter().find(|(name, _)| name == k) {
                        Some((_, t)) => t.has_host_text(v),
                        None => true,
                    },
                )
            }
        }
    }

    /// Where the schema declares a string the server wrote, as `/`-separated paths (`[]` for an
    /// array's items): the list a reviewer checks when a tool is added.
    pub fn server_paths(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect("", &mut out);
        out
    }

    fn collect(&self, at: &str, out: &mut Vec<String>) {
        match self {
            Trust::Server => out.push(at.to_owned()),
            Trust::Host { properties, items } => {
                for (name, t) in properties {
                    t.collect(&format!("{at}/{name}"), out);
                }
                if let Some(t) = items {
                    t.collect(&format!("{at}/[]"), out);
                }
            }
        }
    }
}

/// The node of a part the schema does not describe: all host text.
const HOST: Trust = Trust::Host {
    properties: Vec::new(),
    items: None,
};

fn build(schema: &Value, at: &str) -> Result<Trust, String> {
    let Some(obj) = schema.as_object() else {
        return Ok(HOST);
    };
    let marked = match obj.get(SERVER_TEXT) {
        None => false,
        Some(Value::Bool(true)) => true,
        Some(_) => return Err(format!("{at}/{SERVER_TEXT}: must be true (or left out)")),
    };
    if marked {
        let only_strings = match obj.get("type") {
            Some(Value::String(t)) => t == "string",
            Some(Value::Array(ts)) => ts
                .iter()
                .all(|t| matches!(t.as_str(), Some("string" | "null"))),
            _ => false,
        };
        if !only_strings {
            return Err(format!(
                "{at}: {SERVER_TEXT} marks only a node of type string"
            ));
        }
        return Ok(Trust::Server);
    }
    let literal = |v: &Value| !matches!(v, Value::Array(_) | Value::Object(_));
    let enumerated = match (obj.get("enum"), obj.get("const")) {
        (Some(Value::Array(e)), _) => e.iter().all(literal),
        (_, Some(c)) => literal(c),
        _ => false,
    };
    if enumerated {
        return Ok(Trust::Server);
    }
    let mut properties = Vec::new();
    if let Some(Value::Object(props)) = obj.get("properties") {
        for (name, s) in props {
            properties.push((name.clone(), build(s, &format!("{at}/{name}"))?));
        }
    }
    let items = match obj.get("items") {
        Some(s) => Some(Box::new(build(s, &format!("{at}/[]"))?)),
        None => None,
    };
    Ok(Trust::Host { properties, items })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn trust(schema: Value) -> Trust {
        Trust::from_schema(&schema).unwrap()
    }

    #[test]
    fn decision_table() {
        let s = json!({"type": "object", "properties": {
            "n": {"type": "integer"},
            "state": {"type": "string", "enum": ["up", "down"]},
            "kind": {"const": "x"},
            "human": {"type": "string", "x-sysgate-server-text": true},
            "name": {"type": "string"},
            "list": {"type": "array", "items": {"type": "object", "properties": {
                "msg": {"type": ["string", "null"], "x-sysgate-server-text": true},
                "path": {"type": "string"}
            }}},
            "words": {"type": "array", "items": {"type": "string", "enum": ["a"]}}
        }});
        let t = trust(s);
        let cases = [
            (json!({}), false),
            (json!({"n": 1}), false),
            (json!({"state": "up"}), false),
            (json!({"kind": "x"}), false),
            (json!({"human": "3d 4h"}), false),
            (json!({"name": "web-01"}), true),
            (json!({"list": [{"msg": "timeout"}, {"msg": null}]}), false),
            (json!({"list": [{"msg": "ok"}, {"path": "/mnt/x"}]}), true),
            (json!({"words": ["a", "a"]}), false),
            (json!({"unknown_key": 1}), true),
            (json!({"list": [{"unknown": 1}]}), true),
            (json!({"n": null, "state": null}), false),
            (json!("bare"), true),
            (json!([1, 2]), false),
            (json!(["s"]), true),
        ];
        for (value, host) in cases {
            assert_eq!(t.has_host_text(&value), host, "{value}");
        }
    }

    #[test]
    fn unmarked_strings_are_host_text_by_default() {
        let t = trust(json!({"type": "object", "properties": {"a": {"type": "string"}}}));
        assert!(t.has_host_text(&json!({"a": "x"})));
        assert!(trust(json!({})).has_host_text(&json!({"b": {"c": ["x"]}})));
    }

    #[test]
    fn the_mark_is_only_for_strings_and_only_true() {
        for bad in [
            json!({"type": "object", "x-sysgate-server-text": true}),
            json!({"type": ["string", "array"], "x-sysgate-server-text": true}),
            json!({"x-sysgate-server-text": true}),
            json!({"type": "string", "x-sysgate-server-text": false}),
            json!({"type": "object", "properties": {"a": {"type": "string", "x-sysgate-server-text": "yes"}}}),
        ] {
            assert!(Trust::from_schema(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn server_paths_list_the_declared_fields() {
        let t = trust(json!({"type": "object", "properties": {
            "h": {"type": "string", "x-sysgate-server-text": true},
            "l": {"type": "array", "items": {"type": "object", "properties": {"e": {"enum": ["a"]}}}},
            "n": {"type": "string"}
        }}));
        assert_eq!(t.server_paths(), ["/h", "/l/[]/e"]);
    }
}
