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
use crate::audit::EventKind;
use crate::auth::Caller;
use crate::error::ToolError;
use crate::output;
use crate::policy;
use crate::server::{Call, Server};
use crate::sync::lock;
use crate::tools::Cancel;
use crate::transport::pool::Completion;

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

struct Pending {
    completion: Completion,
    cancel: Cancel,
    ctx: Arc<CallCtx>,
}

type InFlight = Arc<Mutex<HashMap<Id, Arc<Pending>>>>;

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
                && visible_tools(server, old, &caller) != visible_tools(server, new, &caller)
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

    /// Wait (bounded) for running calls to answer, e.g. after the client closed its input.
    pub fn drain(&self, limit: Duration) {
        let end = Instant::now() + limit;
        while self.in_flight() > 0 && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// A frame that exceeded the size limit was discarded by the transport.
    pub fn frame_too_large(&self, limit: usize) {
        self.server.audit_event(
            EventKind::LimitExceeded,
            json!({"limit": "limits.max_message_bytes", "threshold": limit, "session": self.session_id}),
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
        let pending = lock(&self.in_flight).remove(&id);
        if let Some(p) = pending
            && p.completion.try_complete()
        {
            // The response is suppressed; the handler sees the flag at its next check (and, for
            // programs, the exec layer kills the process group).
            p.cancel.cancel();
            let _ = p.ctx.with_call(|server, config, call| {
                server.stopped(config, call, &ToolError::Cancelled)
            });
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
                    format!("method not found: {}", truncate(method, 64)),
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
                format!("unsupported protocol version {}", truncate(version, 32)),
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
            .filter(|t| policy::visible(&config, &self.caller, t))
            .map(|t| t.listing())
            .collect();
        let mut result = json!({});
        // Moved in: `json!` would deep-copy the list (see `output::render`).
        result["tools"] = Value::Array(tools);
        result
    }

    fn tools_call(&self, id: Id, era: Era, params: Map<String, Value>) -> Result<(), RpcError> {
        let invalid = |msg: String| RpcError::new(Some(id.clone()), jsonrpc::INVALID_PARAMS, msg);
        let name = params
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("`name` (a string) is required".into()))?;
        let server = Arc::clone(&self.server);
        let Some(tool) = server.registry.get(name) else {
            return Err(invalid(format!("unknown tool: {}", truncate(name, 64))));
        };
        let config = server.config();
        let request_id = format!("{}-{}", self.session_id, id_text(&id));
        let started = Instant::now();
        let args = match server.admit(
            &config,
            &self.caller,
            tool,
            params.get("arguments"),
            &request_id,
            started,
        ) {
            Ok(a) => a,
            Err(answer) => {
                self.reply(&id, era, answer);
                return Ok(());
            }
        };
        let progress_token = params
            .get("_meta")
            .and_then(|m| m.get("progressToken"))
            .filter(|t| t.is_string() || t.is_i64())
            .cloned();

        let budget = config.resources.deadline_for(tool.def.impact);
        let deadline = started + budget;
        let tool_name = tool.def.name;
        let args = Arc::new(args);
        // Everything the completion paths (worker, deadline, cancellation) share.
        let ctx = Arc::new(CallCtx {
            server: Arc::clone(&server),
            config: Arc::clone(&config),
            caller: Arc::clone(&self.caller),
            tool_name,
            args,
            request_id,
            started,
        });

        let pending = Arc::new(Pending {
            completion: Completion::default(),
            cancel: Cancel::default(),
            ctx: Arc::clone(&ctx),
        });
        {
            let mut map = lock(&self.in_flight);
            if map.contains_key(&id) {
                return Err(RpcError::new(
                    Some(id),
                    jsonrpc::INVALID_REQUEST,
                    "a request with this id is already in flight",
                ));
            }
            if map.len() >= config.limits.max_in_flight {
                let limit = config.limits.max_in_flight;
                server.audit_event(
                    EventKind::LimitExceeded,
                    json!({"limit": "limits.max_in_flight", "threshold": limit, "request_id": ctx.request_id}),
                );
                return Err(RpcError::new(
                    Some(id),
                    jsonrpc::SERVER_BUSY,
                    format!(
                        "too many requests in flight on this connection (limit {limit}); wait for answers before sending more"
                    ),
                ));
            }
            map.insert(id.clone(), Arc::clone(&pending));
        }

        // The deadline fires even if the handler is stuck in a syscall.
        let timer_id = {
            let pending = Arc::clone(&pending);
            let in_flight = Arc::clone(&self.in_flight);
            let sink = Arc::clone(&self.sink);
            let ctx = Arc::clone(&ctx);
            let id = id.clone();
            server.timer.schedule(deadline, move || {
                if pending.completion.try_complete() {
                    pending.cancel.cancel();
                    let err = ToolError::DeadlineExceeded {
                        tool: tool_name.to_string(),
                        ms: u64::try_from(budget.as_millis()).unwrap_or(u64::MAX),
                    };
                    let answer =
                        ctx.with_call(|server, config, call| server.stopped(config, call, &err));
                    sink.send(&jsonrpc::result(&id, with_era(answer, era)));
                    // Only once answered: see the worker below.
                    lock(&in_flight).remove(&id);
                }
            })
        };

        let job = {
            let pending = Arc::clone(&pending);
            let in_flight = Arc::clone(&self.in_flight);
            let sink = Arc::clone(&self.sink);
            let id = id.clone();
            move || {
                if pending.completion.is_complete() {
                    return; // cancelled or timed out while queued
                }
                let progress = |done: f64, total: Option<f64>, message: &str| {
                    if let Some(token) = &progress_token
                        && !pending.completion.is_complete()
                    {
                        let mut p =
                            json!({"progressToken": token, "progress": done, "message": message});
                        if let Some(t) = total {
                            p["total"] = json!(t);
                        }
                        sink.send(&json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": p}));
                    }
                };
                let answer = ctx.with_call(|server, config, call| {
                    server.run(config, call, &pending.cancel, deadline, Some(&progress))
                });
                if !pending.completion.try_complete() {
                    return; // the deadline or a cancellation answered first
                }
                ctx.server.timer.cancel(timer_id);
                sink.send(&jsonrpc::result(&id, with_era(answer, era)));
                // Only once the answer is written: at end of input `drain` waits for this map
                // to empty and then the process exits, which would cut an answer still being
                // written.
                lock(&in_flight).remove(&id);
            }
        };
        if !server.pool.submit(job) {
            if pending.completion.try_complete() {
                server.timer.cancel(timer_id);
                lock(&self.in_flight).remove(&id);
            }
            server.audit_event(
                EventKind::LimitExceeded,
                json!({"limit": "worker queue full", "tool": tool_name}),
            );
            return Err(RpcError::new(
                Some(id),
                jsonrpc::SERVER_BUSY,
                "server busy: every worker is occupied and the queue is full; retry shortly",
            ));
        }
        Ok(())
    }
}

/// A running call's context, shared by whichever completion path answers it.
struct CallCtx {
    server: Arc<Server>,
    config: Arc<crate::config::Config>,
    caller: Arc<Caller>,
    tool_name: &'static str,
    args: Arc<Map<String, Value>>,
    request_id: String,
    started: Instant,
}

impl CallCtx {
    /// Run `f` on the call (the tool is looked up again: a `&Tool` cannot live beside the
    /// `Arc<Server>` that owns it).
    fn with_call(
        &self,
        f: impl FnOnce(&Server, &crate::config::Config, &Call<'_>) -> Value,
    ) -> Value {
        let Some(tool) = self.server.registry.get(self.tool_name) else {
            return output::failure(&ToolError::Failed(
                "internal error: tool table changed".into(),
            ));
        };
        let call = Call {
            caller: &self.caller,
            tool,
            args: &self.args,
            request_id: self.request_id.clone(),
            started: self.started,
        };
        f(&self.server, &self.config, &call)
    }
}

/// The names of the tools `caller` sees under `config`, in `tools/list` order.
fn visible_tools(
    server: &Server,
    config: &crate::config::Config,
    caller: &Caller,
) -> Vec<&'static str> {
    server
        .registry
        .iter()
        .filter(|t| policy::visible(config, caller, t))
        .map(|t| t.def.name)
        .collect()
}

fn id_text(id: &Id) -> String {
    match id {
        Id::Num(n) => n.to_string(),
        Id::Str(s) => truncate(s, 64),
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

/// Echo at most `n` characters of caller-supplied text in an error message.
fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n).collect::<String>() + "…"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::TransportKind;

    #[test]
    fn a_reload_changes_the_list_only_when_what_the_caller_sees_changes() {
        let base = crate::config::parse("", None).unwrap();
        let server = Server::new(base, None).unwrap();
        let caller = Caller::local(TransportKind::Stdio);
        // (old config, new config, whether the caller's tool list changed)
        let cases = [
            ("", "", false),
            ("", "log_level: debug", false),
            ("", "limits: {max_in_flight: 3}", false),
            ("", "queries: {deny: [get_uptime]}", true),
            (
                "queries: {deny: [get_uptime]}",
                "queries: {deny: [get_uptime]}",
                false,
            ),
            ("queries: {deny: [get_uptime]}", "", true),
            ("", "scopes: {core: {enabled: false}}", true),
            ("", "stdio: {scopes: [logs_system]}", true),
            // Enabling a scope with no tools in this build changes nothing visible.
            ("", "scopes: {sensitive: {enabled: true}}", false),
        ];
        for (old, new, changed) in cases {
            let old_c = crate::config::parse(old, None).unwrap();
            let new_c = crate::config::parse(new, None).unwrap();
            assert_eq!(
                visible_tools(&server, &old_c, &caller) != visible_tools(&server, &new_c, &caller),
                changed,
                "{old:?} -> {new:?}"
            );
        }
    }
}
