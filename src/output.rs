#![forbid(unsafe_code)]
//! The output pipeline: a tool's typed result becomes `structuredContent` plus one text block
//! rendering the same data. Redaction, caps, TOON and fencing of untrusted text plug in here.

use serde_json::{Value, json};

use crate::error::ToolError;

/// A successful `tools/call` result.
pub fn success(structured: Value) -> Value {
    let text = serde_json::to_string(&structured).unwrap_or_default();
    // Values are moved in, not interpolated with `json!`: the macro serializes what it is given
    // into a new tree, and a deep copy of a large answer (500 processes) set a session's peak
    // memory.
    let mut block = json!({"type": "text"});
    block["text"] = Value::String(text);
    let mut result = json!({"isError": false});
    result["content"] = Value::Array(vec![block]);
    result["structuredContent"] = structured;
    result
}

/// A failed `tools/call` result: the message tells the caller what to change.
pub fn failure(err: &ToolError) -> Value {
    json!({
        "content": [{"type": "text", "text": err.to_string()}],
        "isError": true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_carries_the_value_and_its_text_rendering() {
        let v = json!({"a": [1, 2, {"b": "x\"y"}], "n": null});
        let r = success(v.clone());
        assert_eq!(r["structuredContent"], v);
        assert_eq!(r["isError"], json!(false));
        let content = r["content"].as_array().unwrap();
        assert_eq!(content.len(), 1);
        assert_eq!(content[0]["type"], "text");
        let text: Value = serde_json::from_str(content[0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(text, v);
        assert_eq!(r.as_object().unwrap().len(), 3);
    }
}
