#![forbid(unsafe_code)]
//! JSON-RPC 2.0 message classification with hard limits. Pure: bytes in, a typed message or a
//! ready-to-send error out. Nothing here allocates more than the input it was given.

use serde_json::{Map, Value, json};

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
/// Implementation-defined server errors (busy, too many in flight).
pub const SERVER_BUSY: i64 = -32000;
/// MCP 2026-07-28: the requested protocol version is not supported.
pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;

/// A request id: MCP allows strings and integers only (never null).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Id {
    Num(i64),
    Str(String),
}

impl Id {
    fn from_value(v: &Value) -> Option<Id> {
        match v {
            Value::Number(n) => n.as_i64().map(Id::Num),
            Value::String(s) => Some(Id::Str(s.clone())),
            _ => None,
        }
    }

    pub fn to_value(&self) -> Value {
        match self {
            Id::Num(n) => Value::from(*n),
            Id::Str(s) => Value::from(s.as_str()),
        }
    }
}

/// A classified incoming message.
#[derive(Debug)]
pub enum Message {
    Request {
        id: Id,
        method: String,
        params: Map<String, Value>,
    },
    Notification {
        method: String,
        params: Map<String, Value>,
    },
    /// A response from the client; we send no requests, so these are ignored.
    Response,
}

/// An error to send back, with the id it answers (`None` means `id: null`).
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub id: Option<Id>,
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl RpcError {
    pub fn new(id: Option<Id>, code: i64, message: impl Into<String>) -> Self {
        RpcError {
            id,
            code,
            message: message.into(),
            data: None,
        }
    }

    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    pub fn to_value(&self) -> Value {
        let mut err = json!({"code": self.code, "message": self.message});
        if let Some(d) = &self.data {
            err["data"] = d.clone();
        }
        json!({
            "jsonrpc": "2.0",
            "id": self.id.as_ref().map_or(Value::Null, Id::to_value),
            "error": err,
        })
    }
}

/// A success response.
pub fn result(id: &Id, result: Value) -> Value {
    let mut v = json!({"jsonrpc": "2.0", "id": id.to_value()});
    // Moved in: `json!` would deep-copy it (see `output::render`).
    v["result"] = result;
    v
}

/// The deepest array/object nesting in `bytes`, stopping early once `limit` is passed. Strings
/// are skipped so brackets inside them do not count. Runs before the parser so that a deep
/// document is refused in O(n) without recursion.
pub fn nesting_exceeds(bytes: &[u8], limit: usize) -> bool {
    let mut depth = 0usize;
    let mut in_str = false;
    let mut escaped = false;
    for &b in bytes {
        if in_str {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_str = false;
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Parse and classify one message of at most the framing limit.
pub fn parse(bytes: &[u8], max_depth: usize) -> Result<Message, RpcError> {
    if nesting_exceeds(bytes, max_depth) {
        return Err(RpcError::new(
            None,
            INVALID_REQUEST,
            format!("message nests deeper than the limit of {max_depth}"),
        ));
    }
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| RpcError::new(None, PARSE_ERROR, format!("parse error: {e}")))?;
    classify(v)
}

fn classify(v: Value) -> Result<Message, RpcError> {
    let mut obj = match v {
        Value::Object(o) => o,
        Value::Array(_) => {
            return Err(RpcError::new(
                None,
                INVALID_REQUEST,
                "batch requests are not supported; send one message per line",
            ));
        }
        _ => {
            return Err(RpcError::new(
                None,
                INVALID_REQUEST,
                "a message must be a JSON object",
            ));
        }
    };
    let id = match obj.get("id") {
        None => None,
        Some(raw) => match Id::from_value(raw) {
            Some(id) => Some(id),
            None => {
                return Err(RpcError::new(
                    None,
                    INVALID_REQUEST,
                    "`id` must be a string or an integer",
                ));
            }
        },
    };
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(RpcError::new(
            id,
            INVALID_REQUEST,
            "`jsonrpc` must be \"2.0\"",
        ));
    }
    let method = match obj.remove("method") {
        Some(Value::String(m)) => m,
        Some(_) => {
            return Err(RpcError::new(
                id,
                INVALID_REQUEST,
                "`method` must be a string",
            ));
        }
        None if obj.contains_key("result") || obj.contains_key("error") => {
            return Ok(Message::Response);
        }
        None => return Err(RpcError::new(id, INVALID_REQUEST, "`method` is missing")),
    };
    let params = match obj.remove("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p,
        Some(_) => {
            return Err(RpcError::new(
                id,
                INVALID_PARAMS,
                "`params` must be an object",
            ));
        }
    };
    Ok(match id {
        Some(id) => Message::Request { id, method, params },
        None => Message::Notification { method, params },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::JSON_PARSER_MAX_DEPTH as PARSER_MAX_DEPTH;

    fn code(bytes: &[u8]) -> (i64, Option<Id>) {
        let e = parse(bytes, 64).unwrap_err();
        (e.code, e.id)
    }

    #[test]
    fn classifies_requests_and_notifications() {
        match parse(br#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#, 64).unwrap() {
            Message::Request { id, method, .. } => {
                assert_eq!(id, Id::Num(7));
                assert_eq!(method, "ping");
            }
            m => panic!("{m:?}"),
        }
        assert!(matches!(
            parse(
                br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
                64
            )
            .unwrap(),
            Message::Notification { .. }
        ));
        assert!(matches!(
            parse(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#, 64).unwrap(),
            Message::Response
        ));
    }

    #[test]
    fn rejects_malformed_input_with_the_right_codes() {
        assert_eq!(code(b"{not json"), (PARSE_ERROR, None));
        assert_eq!(code(b"\xff\xfe{}"), (PARSE_ERROR, None));
        assert_eq!(code(b"[1,2]"), (INVALID_REQUEST, None));
        assert_eq!(code(b"42"), (INVALID_REQUEST, None));
        assert_eq!(
            code(br#"{"jsonrpc":"1.0","id":3,"method":"x"}"#),
            (INVALID_REQUEST, Some(Id::Num(3)))
        );
        assert_eq!(
            code(br#"{"jsonrpc":"2.0","id":null,"method":"x"}"#),
            (INVALID_REQUEST, None)
        );
        assert_eq!(
            code(br#"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#),
            (INVALID_REQUEST, None)
        );
        assert_eq!(
            code(br#"{"jsonrpc":"2.0","id":"a","method":5}"#),
            (INVALID_REQUEST, Some(Id::Str("a".into())))
        );
        assert_eq!(
            code(br#"{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}"#),
            (INVALID_PARAMS, Some(Id::Num(1)))
        );
    }

    #[test]
    fn result_envelope() {
        let r = result(&Id::Str("q".into()), json!({"x": [1]}));
        assert_eq!(
            r,
            json!({"jsonrpc": "2.0", "id": "q", "result": {"x": [1]}})
        );
        let r = result(&Id::Num(-4), Value::Null);
        assert_eq!(r, json!({"jsonrpc": "2.0", "id": -4, "result": null}));
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(code(deep.as_bytes()), (INVALID_REQUEST, None));
        // Brackets inside strings do not count.
        let s = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"{}"}}"#,
            "[".repeat(100)
        );
        assert!(parse(s.as_bytes(), 4).is_ok());
        assert!(!nesting_exceeds(br#"{"a":"\"[[[["}"#, 1));
    }

    /// A message nested exactly `depth` levels: the envelope and `params` are two of them.
    fn nested(depth: usize) -> String {
        let n = depth - 2;
        format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"x":{}{}}}}}"#,
            "[".repeat(n),
            "]".repeat(n)
        )
    }

    #[test]
    fn the_parser_handles_the_deepest_allowed_nesting() {
        // If serde_json's recursion limit ever drops, this fails instead of the config range
        // promising more than the parser does.
        let m = parse(nested(PARSER_MAX_DEPTH).as_bytes(), PARSER_MAX_DEPTH).unwrap();
        assert!(matches!(m, Message::Request { .. }));
        let e = parse(nested(PARSER_MAX_DEPTH + 1).as_bytes(), PARSER_MAX_DEPTH).unwrap_err();
        assert_eq!(e.code, INVALID_REQUEST);
        assert!(
            e.message.contains("nests deeper than the limit of 127"),
            "{e:?}"
        );
        // One level deeper than this constant is what serde_json itself refuses.
        let raw = nested(PARSER_MAX_DEPTH + 1);
        assert!(serde_json::from_str::<Value>(&raw).is_err());
    }
}
