#![forbid(unsafe_code)]
//! One connection's MCP state machine: lifecycle, version negotiation, dispatch, in-flight
//! tracking and cancellation. Transport-agnostic: bytes come in through `handle_frame`, messages
//! go out through a `Sink`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::jsonrpc::{self, Id, Message, RpcError};
use super::{
    INSTRUCTIONS, LEGACY_VERSIONS, META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION, MODERN_VERSIONS,
};
use crate::auth::Caller;
use crate::error::echo;
use crate::policy;
use crate::server::call::{Progress, Reply, Running};
use crate::server::{Gate, Limit, Server};
use crate::sync::lock;

/// Where a session's outgoing messages go. Implementations write one whole message at a time.
pub trait Sink: Send + Sync {
    fn send(&self, msg: &Value);
}

/// How long a tools/list result may be cached by a modern client, in milliseconds.
const LIST_TTL_MS: u64 = 60_000;

/// Which era a request speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Era {
    Legacy,
    Modern,
}

type InFlight = Arc<Mutex<HashMap<Id, Arc<Running>>>>;

/// One connection.
pub struct Session {
    server: Arc<Server>,
    caller: Arc<Caller>,
    sink: Arc<dyn Sink>,
    /// The version agreed by `initialize`, for legacy clients.
    negotiated: Mutex<Option<&'static str>>,
    in_flight: InFlight,
    /// `PID.N`: names this session in audit request ids.
    session_id: String,
    /// A legacy client finished the handshake (`notifications/initialized`): from then on it is
    /// told when a reload changes its tool list.
    ready: Arc<AtomicBool>,
    /// Dropped with the session, which tells its reload hook to unregister.
    alive: Arc<()>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("caller", &self.caller)
            .finish()
    }
}

impl Session {
    pub fn new(server: Arc<Server>, caller: Caller, sink: Arc<dyn Sink>) -> Session {
        let session = Session {
            server,
            caller: Arc::new(caller),
            sink,
            negotiated: Mutex::new(None),
            in_flight: Arc::new(Mutex::new(HashMap::new())),
            session_id: {
                static NEXT: AtomicU64 = AtomicU64::new(1);
                format!(
                    "{}.{}",
                    std::process::id(),
                    NEXT.fetch_add(1, Ordering::Relaxed)
                )
            },
            ready: Arc::new(AtomicBool::new(false)),
            alive: Arc::new(()),
        };
        session.watch_tool_list();
        session
    }

    /// After a reload, send `notifications/tools/list_changed` when the tools this caller may see
    /// changed. Only legacy sessions past the handshake get it: they were told `listChanged:
    /// true`; the stateless era would need a `subscriptions/listen` stream, which this server
    /// does not offer, so `server/discover` says `listChanged: false`.
    fn watch_tool_list(&self) {
        let alive = Arc::downgrade(&self.alive);
        let caller = Arc::clone(&self.caller);
        let sink = Arc::clone(&self.sink);
        let ready = Arc::clone(&self.ready);
        self.server.on_reload(Box::new(move |server, old, new| {
            if alive.strong_count() == 0 {
                return false;
            }
            if ready.load(Ordering::Acquire)
                && visible_tools(server, &old.scopes, &caller)
                    != visible_tools(server, &new.scopes, &caller)
            {
                // Written from its own thread: a client that stops reading must not block the
                // signal thread, which also handles SIGTERM.
                let sink = Arc::clone(&sink);
                let _ = std::thread::Builder::new()
                    .name("sysgate-notify".into())
                    .spawn(move || {
                        sink.send(&json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}));
                    });
            }
            true
        }));
    }

    /// Requests still running or queued.
    pub fn in_flight(&self) -> usize {
        lock(&self.in_flight).len()
    }

    /// Cancel every call of this session that has not answered yet (queued ones never start):
    /// for a peer that is gone, whose answers could not be delivered.
    pub fn cancel_all(&self) {
        let running: Vec<_> = lock(&self.in_flight).drain().map(|(_, r)| r).collect();
        for r in running {
            r.cancel();
        }
    }

    /// Wait (bounded) for running calls to answer, e.g. after the client closed its input.
    pub fn drain(&self, limit: Duration) {
        let end = Instant::now() + limit;
        while self.in_flight() > 0 && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// A frame that exceeded the size limit was discarded by the transport.
    pub fn frame_too_large(&self, limit: usize) {
        self.server.audit_limit(
            Limit::MessageBytes(limit),
            &[("session", json!(self.session_id))],
        );
        self.send_error(&RpcError::new(
            None,
            jsonrpc::INVALID_REQUEST,
            format!("message exceeds the limit of {limit} bytes and was discarded"),
        ));
    }

    /// Handle one complete frame (one line on stdio).
    pub fn handle_frame(&self, bytes: &[u8]) {
        let config = self.server.config();
        match jsonrpc::parse(bytes, config.limits.max_json_depth) {
            Err(e) => self.send_error(&e),
            Ok(Message::Response) => {}
            Ok(Message::Notification { method, params }) => self.notification(&method, &params),
            Ok(Message::Request { id, method, params }) => {
                if let Err(e) = self.request(id, &method, params) {
                    self.send_error(&e);
                }
            }
        }
    }

    fn send_error(&self, e: &RpcError) {
        self.sink.send(&e.to_value());
    }

    fn notification(&self, method: &str, params: &Map<String, Value>) {
        // Unknown notifications are ignored as JSON-RPC requires (no response to a notification,
        // ever).
        if method == "notifications/initialized" && lock(&self.negotiated).is_some() {
            self.ready.store(true, Ordering::Release);
        }
        if method != "notifications/cancelled" {
            return;
        }
        let Some(id) = params.get("requestId").and_then(|v| match v {
            Value::Number(n) => n.as_i64().map(Id::Num),
            Value::String(s) => Some(Id::Str(s.clone())),
            _ => None,
        }) else {
            return;
        };
        let running = lock(&self.in_flight).remove(&id);
        if let Some(r) = running {
            // The response is suppressed; the call is recorded as cancelled unless it had
            // already been answered (then this is a no-op).
            r.cancel();
        }
    }

    fn request(&self, id: Id, method: &str, params: Map<String, Value>) -> Result<(), RpcError> {
        // `initialize` selects the legacy era whatever its `_meta` says (clients stamp the
        // envelope on it too); everything else is modern exactly when `_meta` names a version.
        let era = if method == "initialize" {
            Era::Legacy
        } else {
            self.era_of(&id, method, &params)?
        };
        match (era, method) {
            (Era::Legacy, "initialize") => {
                let result = self.initialize(&params);
                self.reply(&id, era, result);
                self.server.warm_up();
            }
            (Era::Legacy, "ping") => self.reply(&id, era, json!({})),
            (_, "server/discover") => {
                self.reply(&id, Era::Modern, discover_result());
                self.server.warm_up();
            }
            (_, "tools/list") => {
                self.require_initialized(&id, era)?;
                let mut result = self.tools_list();
                if era == Era::Modern {
                    result["ttlMs"] = json!(LIST_TTL_MS);
                    // The list depends on the caller's scopes, so only this caller may reuse it.
                    result["cacheScope"] = json!("private");
                }
                self.reply(&id, era, result);
            }
            (_, "tools/call") => {
                self.require_initialized(&id, era)?;
                self.tools_call(id, era, params)?;
            }
            _ => {
                return Err(RpcError::new(
                    Some(id),
                    jsonrpc::METHOD_NOT_FOUND,
                    format!("method not found: {}", echo(method, 64)),
                ));
            }
        }
        Ok(())
    }

    /// Decide the era from `_meta`, validating the modern fields.
    fn era_of(&self, id: &Id, method: &str, params: &Map<String, Value>) -> Result<Era, RpcError> {
        let meta = params.get("_meta").and_then(Value::as_object);
        let Some(version) = meta.and_then(|m| m.get(META_PROTOCOL_VERSION)) else {
            return Ok(Era::Legacy);
        };
        let bad = |msg: String| RpcError::new(Some(id.clone()), jsonrpc::INVALID_PARAMS, msg);
        let version = version
            .as_str()
            .ok_or_else(|| bad(format!("_meta[{META_PROTOCOL_VERSION}] must be a string")))?;
        if !MODERN_VERSIONS.contains(&version) {
            return Err(RpcError::new(
                Some(id.clone()),
                jsonrpc::UNSUPPORTED_PROTOCOL_VERSION,
                format!("unsupported protocol version {}", echo(version, 32)),
            )
            .with_data(json!({"supported": MODERN_VERSIONS, "requested": version})));
        }
        if method != "server/discover"
            && !meta
                .and_then(|m| m.get(META_CLIENT_CAPABILITIES))
                .is_some_and(Value::is_object)
        {
            return Err(bad(format!(
                "_meta[{META_CLIENT_CAPABILITIES}] (an object) is required"
            )));
        }
        Ok(Era::Modern)
    }

    fn require_initialized(&self, id: &Id, era: Era) -> Result<(), RpcError> {
        if era == Era::Legacy && lock(&self.negotiated).is_none() {
            return Err(RpcError::new(
                Some(id.clone()),
                jsonrpc::INVALID_REQUEST,
                format!(
                    "session not initialized: send `initialize` first, or put `{META_PROTOCOL_VERSION}` in `_meta` ({})",
                    MODERN_VERSIONS.join(", ")
                ),
            ));
        }
        Ok(())
    }

    fn reply(&self, id: &Id, era: Era, result: Value) {
        self.sink.send(&jsonrpc::result(id, with_era(result, era)));
    }

    fn initialize(&self, params: &Map<String, Value>) -> Value {
        let requested = params
            .get("protocolVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        // Echo a version we speak; otherwise counter-offer the newest one.
        let version = LEGACY_VERSIONS
            .iter()
            .find(|v| **v == requested)
            .unwrap_or(&LEGACY_VERSIONS[0]);
        *lock(&self.negotiated) = Some(version);
        json!({
            "protocolVersion": version,
            // A reload (SIGHUP) can change the list; see `watch_tool_list`.
            "capabilities": {"tools": {"listChanged": true}},
            "serverInfo": server_info(),
            "instructions": INSTRUCTIONS,
        })
    }

    fn tools_list(&self) -> Value {
        // The same filter as `visible_tools`, which decides whether a reload changed this list.
        let config = self.server.config();
        let tools: Vec<Value> = self
            .server
            .registry
            .iter()
            .filter(|t| policy::visible(&config.scopes, &self.caller, t))
            .filter_map(|t| t.listing())
            .collect();
        let mut result = json!({});
        // Moved in: `json!` would deep-copy the list (see `output::render`).
        result["tools"] = Value::Array(tools);
        result
    }

    fn tools_call(&self, id: Id, era: Era, params: Map<String, Value>) -> Result<(), RpcError> {
        let server = &self.server;
        let snap = server.snapshot();
        let request_id = format!("{}-{}", self.session_id, id_text(&id));
        let started = Instant::now();
        let name = params.get("name").and_then(Value::as_str);
        let admitted = match server.gate(
            &snap,
            &self.caller,
            name,
            params.get("arguments"),
            &request_id,
            started,
        ) {
            Gate::Admitted(a) => a,
            Gate::Refused(answer) => {
                self.reply(&id, era, answer);
                return Ok(());
            }
            Gate::Invalid(denial) => {
                return Err(RpcError::new(
                    Some(id),
                    jsonrpc::INVALID_PARAMS,
                    denial.protocol_message(),
                ));
            }
        };
        let progress: Option<Progress> = params
            .get("_meta")
            .and_then(|m| m.get("progressToken"))
            .filter(|t| t.is_string() || t.is_i64())
            .cloned()
            .map(|token| {
                let sink = Arc::clone(&self.sink);
                Box::new(move |mut p: Value| {
                    p["progressToken"] = token.clone();
                    sink.send(
                        &json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": p}),
                    );
                }) as Progress
            });
        let max_in_flight = snap.config.limits.max_in_flight;
        // The answer, however it comes: write it, then (only then: at end of input `drain` waits
        // for the map to empty and the process exits, which would cut an answer still being
        // written) forget the request, unless the id was meanwhile reused.
        let reply: Reply = {
            let sink = Arc::clone(&self.sink);
            let in_flight = Arc::clone(&self.in_flight);
            let id = id.clone();
            Box::new(move |answer: Option<Value>| {
                if let Some(a) = answer {
                    sink.send(&jsonrpc::result(&id, with_era(a, era)));
                }
                let mut map = lock(&in_flight);
                if map.get(&id).is_some_and(|r| r.is_answering()) {
                    map.remove(&id);
                }
            })
        };
        let running = Running::new(
            server,
            snap,
            Arc::clone(&self.caller),
            admitted,
            request_id,
            started,
            progress,
            reply,
        );
        {
            let mut map = lock(&self.in_flight);
            if map.contains_key(&id) {
                return Err(RpcError::new(
                    Some(id),
                    jsonrpc::INVALID_REQUEST,
                    "a request with this id is already in flight",
                ));
            }
            if map.len() >= max_in_flight {
                server.audit_limit(
                    Limit::InFlight(max_in_flight),
                    &[("request_id", json!(running.request_id()))],
                );
                return Err(RpcError::new(
                    Some(id),
                    jsonrpc::SERVER_BUSY,
                    format!(
                        "too many requests in flight on this connection (limit {max_in_flight}); wait for answers before sending more"
                    ),
                ));
            }
            map.insert(id.clone(), Arc::clone(&running));
        }
        if let Err(busy) = server.launch(&running) {
            lock(&self.in_flight).remove(&id);
            return Err(RpcError::new(
                Some(id),
                jsonrpc::SERVER_BUSY,
                busy.message(),
            ));
        }
        Ok(())
    }
}

/// The names of the tools `caller` sees under `settings`, in `tools/list` order.
fn visible_tools(
    server: &Server,
    settings: &policy::Settings,
    caller: &Caller,
) -> Vec<&'static str> {
    server
        .registry
        .iter()
        .filter(|t| policy::visible(settings, caller, t))
        .map(|t| t.def.name)
        .collect()
}

fn id_text(id: &Id) -> String {
    match id {
        Id::Num(n) => n.to_string(),
        Id::Str(s) => echo(s, 64),
    }
}

/// Modern results carry `resultType` and the server's identity in `_meta`; legacy results stay
/// exactly as the older revisions define them.
fn with_era(mut result: Value, era: Era) -> Value {
    if era == Era::Modern {
        result["resultType"] = json!("complete");
        result["_meta"] = json!({"io.modelcontextprotocol/serverInfo": server_info()});
    }
    result
}

fn server_info() -> Value {
    json!({"name": "sysgate", "title": "sysgate", "version": crate::VERSION})
}

fn discover_result() -> Value {
    // Only the stateless versions: legacy ones are negotiated through `initialize`.
    json!({
        "supportedVersions": MODERN_VERSIONS,
        "capabilities": {"tools": {"listChanged": false}},
        "instructions": INSTRUCTIONS,
        // Nothing caller-specific in here, so any cache may keep it for a minute.
        "ttlMs": LIST_TTL_MS,
        "cacheScope": "public",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::TransportKind;

    #[test]
    fn a_reload_changes_the_list_only_when_what_the_caller_sees_changes() {
        use crate::scope::{Scope, ScopeSet};
        let server = Server::new(Default::default(), None).unwrap();
        let caller = Caller::local(TransportKind::Stdio);
        let defaults = policy::Settings::default;
        let deny_uptime = || {
            let mut s = defaults();
            s.denied_tools.insert("get_uptime".into());
            s
        };
        let core_off = || {
            let mut s = defaults();
            s.enabled.remove(Scope::Core);
            s.stdio.remove(Scope::Core);
            s
        };
        let stdio_logs_only = || {
            let mut s = defaults();
            s.stdio = ScopeSet::from_iter([Scope::LogsSystem]);
            s
        };
        let sensitive_on = || {
            let mut s = defaults();
            s.enabled.insert(Scope::Sensitive);
            s
        };
        // (old settings, new settings, whether the caller's tool list changed)
        #[rustfmt::skip]
        let cases: [(policy::Settings, policy::Settings, bool); 7] = [
            (defaults(),       defaults(),        false),
            (defaults(),       deny_uptime(),     true),
            (deny_uptime(),    deny_uptime(),     false),
            (deny_uptime(),    defaults(),        true),
            (defaults(),       core_off(),        true),
            (defaults(),       stdio_logs_only(), true),
            // Enabling a scope with no tools in this build changes nothing visible.
            (defaults(),       sensitive_on(),    false),
        ];
        for (i, (old, new, changed)) in cases.iter().enumerate() {
            assert_eq!(
                visible_tools(&server, old, &caller) != visible_tools(&server, new, &caller),
                *changed,
                "case {i}"
            );
        }
    }
}
