//! Arbitrary bytes as one JSON-RPC frame: first the pure classifier, then a real `Session` on a
//! real `Server` (tool table, policy gate, worker pool, deadline timer), output discarded.
//! Property: no panic (in this thread or a worker), no hang.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use sysgate::testing::auth::{Caller, TransportKind};
use sysgate::testing::config::Config;
use sysgate::testing::protocol::jsonrpc;
use sysgate::testing::protocol::session::{Session, Sink};
use sysgate::testing::server::Server;

/// Serializes every message (as the stdio sink would) and throws it away.
struct Discard;

impl Sink for Discard {
    fn send(&self, msg: &Value) {
        let line = serde_json::to_vec(msg).expect("an outgoing message must serialize");
        std::hint::black_box(line);
    }
}

fn server() -> &'static Arc<Server> {
    static SERVER: OnceLock<Arc<Server>> = OnceLock::new();
    SERVER.get_or_init(|| {
        Server::new(Config::default(), None).expect("the built-in tool table must compile")
    })
}

/// Sent before each input so that legacy `tools/list` and `tools/call` are reachable too.
const INITIALIZE: &[u8] = br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"fuzz","version":"1"}}}"#;

fuzz_target!(|data: &[u8]| {
    let depth = Config::default().limits.max_json_depth;
    if let Err(e) = jsonrpc::parse(data, depth) {
        std::hint::black_box(e.to_value());
    }
    let server = server();
    let session = Session::new(
        Arc::clone(server),
        Caller::local(TransportKind::Stdio),
        Arc::new(Discard),
    );
    session.handle_frame(INITIALIZE);
    session.handle_frame(data);
});
