//! Protocol limits and what the tools tell the caller, through the real binary: the JSON depth
//! limit, integer arguments, progress, counts after caps, usage exit codes, schema messages and
//! the tool list across reloads.
#![allow(clippy::unwrap_used)]

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
#[allow(dead_code)]
fn text(r: &Value) -> &str {
    r["result"]["content"][0]["text"].as_str().unwrap_or("")
}
