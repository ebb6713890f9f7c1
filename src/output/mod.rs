#![forbid(unsafe_code)]
//! The output pipeline: a tool's typed result becomes `structuredContent` plus one text block
//! rendering the same data. Redaction, caps, TOON and fencing of untrusted text plug in here.

pub mod caps;
pub mod fence;
pub mod redact;
pub mod toon;

use serde_json::{Value, json};

use crate::error::ToolError;

/// A successful `tools/call` result.
pub fn success(structured: Value) -> Value {
    let text = serde_json::to_string(&structured).unwrap_or_default();
    json!({
        "content": [{"type": "text", "text": text}],
        "structuredContent": structured,
        "isError": false,
    })
}

/// A failed `tools/call` result: the message tells the caller what to change.
pub fn failure(err: &ToolError) -> Value {
    json!({
        "content": [{"type": "text", "text": err.to_string()}],
        "isError": true,
    })
}
