#![forbid(unsafe_code)]
//! The shared server state: one reload snapshot (config, audit log, redactor), the process-wide
//! tool table, the worker pool and the deadline timer. Transports create one `Session` per
//! connection on top of it; every tool call, from any entry point, goes through [`call`].

pub mod call;
pub mod pool;
pub mod timer;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::audit::{AuditLog, ClientIdentity, EventKind, Outcome, Record};
use crate::auth::Caller;
use crate::config::{self, AuditConfig, Config};
use crate::error::{Error, ToolError};
use crate::output::redact::Redactor;
use crate::policy::{self, Admitted, Denial};
use crate::sync::{lock, read, wait_timeout, write};
use crate::tools::Registry;
use pool::Pool;
use timer::Timer;

/// One tool call as the audit log sees it.
#[derive(Debug)]
pub struct Call<'a> {
    pub caller: &'a Caller,
    /// The tool's name (as asked, for a call refused before a tool was found).
    pub tool: Option<&'a str>,
    pub args: &'a Map<String, Value>,
    /// Unique within this process: session, then the JSON-RPC id.
    pub request_id: &'a str,
    pub started: Instant,
}

/// A limit that refused or cut something, as the audit log records it (one shape for all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// A message longer than `limits.max_message_bytes` was discarded.
    MessageBytes(usize),
    /// A connection had `limits.max_in_flight` calls running or queued.
    InFlight(usize),
    /// Every worker was busy and the queue was full.
    WorkerQueue,
}

impl Limit {
    /// The `detail` of the `limit_exceeded` record.
    pub fn detail(self) -> Value {
        match self {
            Limit::MessageBytes(n) => {
                json!({"limit": "limits.max_message_bytes", "threshold": n})
            }
            Limit::InFlight(n) => json!({"limit": "limits.max_in_flight", "threshold": n}),
            Limit::WorkerQueue => json!({"limit": "worker queue full"}),
        }
    }
}

/// What reloads swap, all at once: a call keeps the snapshot it started with, so it never sees
/// the new audit log with the old config or the other way round.
#[derive(Debug)]
pub struct Snapshot {
    pub config: Arc<Config>,
    audit: Option<Arc<AuditLog>>,
}

impl Snapshot {
    /// The redactor every result and audited argument goes through.
    pub fn redactor(&self) -> &Redactor {
        self.config.output.redactor()
    }

    /// Write one audit record to this snapshot's log (a no-op without one). An error means the
    /// record is not on disk, and whatever it was about must not proceed.
    pub fn audit(&self, record: Record) -> Result<(), String> {
        match &self.audit {
            None => Ok(()),
            Some(log) => log.append(record).map_err(|e| e.to_string()),
        }
    }

    /// For records about the server rather than a call: a failure is logged, nothing is refused.
    pub fn audit_or_log(&self, record: Record) {
        if let Err(e) = self.audit(record) {
            crate::log::error(&format!("audit log: {e}"));
        }
    }

    fn call_record(&self, call: &Call<'_>, event: EventKind, outcome: Outcome) -> Record {
        let r = Record::new(event)
            .request_id(call.request_id)
            .client(audit_identity(call.caller))
            .scopes(policy::effective_scopes(&self.config.scopes, call.caller).names())
            .result(outcome)
            .duration(call.started.elapsed());
        let r = match call.tool {
            Some(t) => r.tool(t),
            None => r,
        };
        match self.params(call) {
            Some(p) => r.params(p),
            None => r,
        }
    }

    /// The call's arguments as the audit log records them (`None` when `log_params` is off or
    /// there is no audit log), redacted like results: a secret passed in must not land in the log.
    fn params(&self, call: &Call<'_>) -> Option<Value> {
        self.config.audit.as_ref().filter(|a| a.log_params)?;
        let redactor = self.redactor();
        let unredactable = || Value::String("[unredactable]".into());
        let values = redactor
            .redact(Value::Object(call.args.clone()))
            .map_or_else(|_| unredactable(), |r| r.value);
        // Key names too (after the values, so field rules still see the names they match).
        let scrub = |k: &str| match redactor.redact(Value::String(k.to_string())) {
            Ok(r) if r.value.as_str() == Some(k) => None,
            Ok(r) => Some(r.value.as_str().unwrap_or("[REDACTED]").to_string()),
            Err(_) => Some("[unredactable]".to_string()),
        };
        Some(crate::audit::redact_keys(values, &scrub))
    }

    /// `text` through the redactor, for audit fields that may quote the caller (a refusal's or
    /// an error's message can name an argument or echo its value).
    pub fn redact_text(&self, text: &str) -> String {
        match self.redactor().redact(Value::String(text.to_string())) {
            Ok(r) => r.value.as_str().unwrap_or_default().to_string(),
            Err(_) => "[unredactable]".to_string(),
        }
    }
}

/// The identity as the audit log records it.
pub fn audit_identity(caller: &Caller) -> ClientIdentity {
    let id = ClientIdentity::new(caller.transport.name());
    match caller.uid {
        Some(uid) => id.peer_uid(uid),
        None => id,
    }
}

/// What the gate decided, as an entry point acts on it.
#[derive(Debug)]
pub enum Gate {
    /// Run it (through [`call`]).
    Admitted(Admitted),
    /// A tool result to send (`isError`); the refusal is already in the audit log.
    Refused(Value),
    /// The request was malformed (no name, unknown tool): answer JSON-RPC invalid params with
    /// this message. Also in the audit log.
    Invalid(Denial),
}

/// Run after every applied reload with the server, the old and the new config; returns false
/// once whoever registered it is gone (it is then dropped).
pub type ReloadHook = Box<dyn Fn(&Server, &Config, &Config) -> bool + Send + Sync>;

/// Everything a connection needs, shared across connections.
pub struct Server {
    /// The one store reloads swap.
    snapshot: RwLock<Arc<Snapshot>>,
    /// What `--config` named (None: the default path or built-in defaults), for reloads.
    config_arg: Option<PathBuf>,
    pub registry: &'static Registry,
    pool: Pool,
    timer: Arc<Timer>,
    /// Calls admitted to the lifecycle and not yet answered, for the drain on SIGTERM.
    live: Mutex<usize>,
    idle: Condvar,
    /// Set on SIGTERM: new calls are refused while running ones drain.
    closing: AtomicBool,
    reload_hooks: Mutex<Vec<ReloadHook>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("snapshot", &self.snapshot)
            .field("config_arg", &self.config_arg)
            .field("pool", &self.pool)
            .field("timer", &self.timer)
            .field("live", &self.live)
            .field("closing", &self.closing)
            .finish_non_exhaustive()
    }
}

fn open_audit(a: Option<&AuditConfig>) -> Result<Option<Arc<AuditLog>>, String> {
    let Some(a) = a else { return Ok(None) };
    let settings = a.settings().map_err(|e| e.to_string())?;
    AuditLog::open(settings)
        .map(|l| Some(Arc::new(l)))
        .map_err(|e| e.to_string())
}

impl Server {
    pub fn new(config: Config, config_arg: Option<PathBuf>) -> Result<Arc<Server>, Error> {
        let registry = Registry::global().map_err(Error::Config)?;
        let workers = config.resources.max_concurrent_queries;
        // Queue room for every connection's in-flight budget would be unbounded across
        // connections; a fixed multiple of the workers keeps memory flat and answers "busy".
        let pool = Pool::new(workers, workers * 32);
        let audit = open_audit(config.audit.as_ref()).map_err(Error::Config)?;
        Ok(Arc::new(Server {
            snapshot: RwLock::new(Arc::new(Snapshot {
                config: Arc::new(config),
                audit,
            })),
            config_arg,
            registry,
            pool,
            timer: Timer::start(),
            live: Mutex::new(0),
            idle: Condvar::new(),
            closing: AtomicBool::new(false),
            reload_hooks: Mutex::new(Vec::new()),
        }))
    }

    /// The snapshot in force now. A call keeps the `Arc` it started with, so a reload never
    /// changes the rules (or the audit log) under a running call.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&read(&self.snapshot))
    }

    /// The configuration in force now (of [`Server::snapshot`]).
    pub fn config(&self) -> Arc<Config> {
        Arc::clone(&read(&self.snapshot).config)
    }

    /// Re-read and validate the config file, then swap it in (with the audit log it names) in one
    /// store. Calls in flight keep the snapshot they started with. On any problem the running
    /// snapshot stays and the problems are returned. On success returns notes (settings that need
    /// a restart, warnings). Either way one `config_reload` record is written: to the audit log in
    /// force after the decision, except that a reload turning the audit log or redaction off is
    /// recorded in the old log before it is swapped out.
    pub fn reload(&self) -> Result<Vec<String>, Vec<String>> {
        let old = self.snapshot();
        match self.prepare_reload(&old) {
            Err(problems) => {
                old.audit_or_log(
                    Record::new(EventKind::ConfigReload)
                        .result(Outcome::Error)
                        .reason("config reload rejected; the previous config stays in force")
                        .detail(json!({"applied": false, "problems": problems})),
                );
                Err(problems)
            }
            Ok((new, notes)) => {
                let record = Record::new(EventKind::ConfigReload)
                    .result(Outcome::Success)
                    .detail(json!({
                        "applied": true,
                        "config_sha256": new.config.digest,
                        "audit": new.audit.is_some(),
                        "redaction": new.config.output.redaction_on(),
                        "notes": notes,
                    }));
                let weakens = new.audit.is_none()
                    || (old.config.output.redaction_on() && !new.config.output.redaction_on());
                crate::log::set_level(new.config.log_level);
                if weakens {
                    old.audit_or_log(record);
                    *write(&self.snapshot) = Arc::clone(&new);
                } else {
                    *write(&self.snapshot) = Arc::clone(&new);
                    new.audit_or_log(record);
                }
                lock(&self.reload_hooks).retain(|hook| hook(self, &old.config, &new.config));
                Ok(notes)
            }
        }
    }

    /// Register `hook` to run after every applied reload (see [`ReloadHook`]).
    pub fn on_reload(&self, hook: ReloadHook) {
        lock(&self.reload_hooks).push(hook);
    }

    fn prepare_reload(&self, old: &Snapshot) -> Result<(Arc<Snapshot>, Vec<String>), Vec<String>> {
        let mut new = config::load(self.config_arg.as_deref())?;
        let mut notes: Vec<String> = config::carry_restart_only(&old.config, &mut new)
            .into_iter()
            .map(|k| format!("{k} changed; ignored until restart"))
            .collect();
        let audit = if new.audit != old.config.audit {
            // Open the new log before swapping anything: a bad audit setting rejects the reload.
            let log = open_audit(new.audit.as_ref()).map_err(|e| vec![e])?;
            notes.push("audit settings changed; the audit log was reopened".into());
            log
        } else {
            old.audit.clone()
        };
        notes.extend(new.warnings.iter().cloned());
        Ok((
            Arc::new(Snapshot {
                config: Arc::new(new),
                audit,
            }),
            notes,
        ))
    }

    /// Compile the built-in redaction patterns on a background thread, once. Sessions call this
    /// right after answering the handshake, so it neither delays the first answer nor makes the
    /// first tool call pay for it.
    pub fn warm_up(&self) {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            let _ = std::thread::Builder::new()
                .name("sysgate-warmup".into())
                .spawn(config::warm_default_redactor);
        });
    }

    /// Audit a server event (startup, shutdown, reload); failures are logged, not fatal.
    pub fn audit_event(&self, event: EventKind, detail: Value) {
        self.snapshot()
            .audit_or_log(Record::new(event).detail(detail));
    }

    /// A limit refused something; `context` adds where (session, request id, tool).
    pub fn audit_limit(&self, limit: Limit, context: &[(&str, Value)]) {
        let mut detail = limit.detail();
        for (k, v) in context {
            detail[*k] = v.clone();
        }
        self.audit_event(EventKind::LimitExceeded, detail);
    }

    /// A session started: its identity and scopes.
    pub fn audit_session(&self, caller: &Caller) {
        let snap = self.snapshot();
        let r = Record::new(EventKind::AuthSuccess)
            .client(audit_identity(caller))
            .scopes(policy::effective_scopes(&snap.config.scopes, caller).names())
            .result(Outcome::Success);
        snap.audit_or_log(r);
    }

    /// The gate, audited. Every entry point (sessions, `sysgate query`) calls this, so no refusal
    /// goes unaudited, and only what it admits can run.
    pub fn gate(
        &self,
        snap: &Snapshot,
        caller: &Caller,
        name: Option<&str>,
        args: Option<&Value>,
        request_id: &str,
        started: Instant,
    ) -> Gate {
        let denial = match policy::check(&snap.config.scopes, self.registry, caller, name, args) {
            Ok(a) => return Gate::Admitted(a),
            Err(d) => d,
        };
        // Audit what was asked, as far as it is an object (it failed validation).
        let raw = match args {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        };
        let asked = match &denial {
            Denial::UnknownTool { name } => Some(name.as_str()),
            d => d.tool().map(|t| t.def.name),
        };
        let call = Call {
            caller,
            tool: asked,
            args: &raw,
            request_id,
            started,
        };
        let err = denial.error();
        let r = snap
            .call_record(&call, EventKind::QueryDenied, Outcome::Denied)
            .reason(snap.redact_text(&err.to_string()))
            .detail(json!({"denial": denial.code()}));
        if denial.is_protocol_error() {
            snap.audit_or_log(r);
            return Gate::Invalid(denial);
        }
        Gate::Refused(answer_audited(snap, r, &err))
    }

    /// Wait (at most `limit`) until no call admitted to the lifecycle is unanswered.
    pub fn drain(&self, limit: Duration) {
        let end = Instant::now() + limit;
        let mut live = lock(&self.live);
        while *live > 0 {
            let now = Instant::now();
            if now >= end {
                break;
            }
            live = wait_timeout(&self.idle, live, end - now);
        }
    }

    /// Refuse new calls from now on (SIGTERM: running ones drain, then the process exits).
    pub fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
    }

    fn is_closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }
}

/// Write `record`, then answer with `err`; a record that cannot be written refuses instead.
fn answer_audited(snap: &Snapshot, record: Record, err: &ToolError) -> Value {
    match snap.audit(record) {
        Ok(()) => crate::output::failure(err),
        Err(e) => audit_failure(&e),
    }
}

/// The answer when the audit record could not be written: the call is refused.
fn audit_failure(e: &str) -> Value {
    crate::log::error(&format!("audit log: {e}; refusing the call"));
    crate::output::failure(&ToolError::Failed(
        "refused: the audit log cannot be written on this server, and no call runs unaudited; tell the operator".into(),
    ))
}
