#![forbid(unsafe_code)]
//! The shared server state: configuration, the compiled tool table, the worker pool and the
//! deadline timer. Transports create one `Session` per connection on top of it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Instant;

use serde_json::{Map, Value};

use crate::audit::{AuditLog, EventKind, Outcome, Record};
use crate::auth::Caller;
use crate::config::{self, AuditConfig, Config, Format};
use crate::error::{Error, ToolError};
use crate::output;
use crate::policy;
use crate::sync::lock;
use crate::tools::{Cancel, Ctx, FORMAT_ARG, ProgressFn, Registry, Tool};
use crate::transport::pool::{Pool, Timer};

/// One tool call as the audit log and the output pipeline see it.
#[derive(Debug)]
pub struct Call<'a> {
    pub caller: &'a Caller,
    pub tool: &'a Tool,
    pub args: &'a Map<String, Value>,
    /// Unique within this process: session, then the JSON-RPC id.
    pub request_id: String,
    pub started: Instant,
}

/// Run after every applied reload with the server, the old and the new config; returns false
/// once whoever registered it is gone (it is then dropped).
pub type ReloadHook = Box<dyn Fn(&Server, &Config, &Config) -> bool + Send + Sync>;

/// Everything a connection needs, shared across connections.
pub struct Server {
    config: RwLock<Arc<Config>>,
    /// What `--config` named (None: the default path or built-in defaults), for reloads.
    config_arg: Option<PathBuf>,
    pub registry: Registry,
    pub pool: Pool,
    pub timer: Arc<Timer>,
    audit: RwLock<Option<Arc<AuditLog>>>,
    reload_hooks: Mutex<Vec<ReloadHook>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("config", &self.config)
            .field("config_arg", &self.config_arg)
            .field("registry", &self.registry)
            .field("pool", &self.pool)
            .field("timer", &self.timer)
            .field("audit", &self.audit)
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
        let registry = Registry::new().map_err(Error::Config)?;
        let workers = config.resources.max_concurrent_queries;
        // Queue room for every connection's in-flight budget would be unbounded across
        // connections; a fixed multiple of the workers keeps memory flat and answers "busy".
        let pool = Pool::new(workers, workers * 32);
        let audit = open_audit(config.audit.as_ref()).map_err(Error::Config)?;
        Ok(Arc::new(Server {
            audit: RwLock::new(audit),
            config: RwLock::new(Arc::new(config)),
            config_arg,
            registry,
            pool,
            timer: Timer::start(),
            reload_hooks: Mutex::new(Vec::new()),
        }))
    }

    /// The configuration in force now. A call keeps the `Arc` it started with, so a reload never
    /// changes the rules under a running call.
    pub fn config(&self) -> Arc<Config> {
        Arc::clone(&self.config.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Re-read and validate the config file, then swap it in atomically. Calls in flight keep
    /// the config they started with. On any problem the running config stays and the problems
    /// are returned. On success returns notes (settings that need a restart, warnings).
    pub fn reload(&self) -> Result<Vec<String>, Vec<String>> {
        let mut new = config::load(self.config_arg.as_deref())?;
        let old = self.config();
        let mut notes: Vec<String> = config::carry_restart_only(&old, &mut new)
            .into_iter()
            .map(|k| format!("{k} changed; ignored until restart"))
            .collect();
        if new.audit != old.audit {
            // Open the new log before swapping anything: a bad audit setting rejects the reload.
            let log = open_audit(new.audit.as_ref()).map_err(|e| vec![e])?;
            *self.audit.write().unwrap_or_else(PoisonError::into_inner) = log;
            notes.push("audit settings changed; the audit log was reopened".into());
        }
        notes.extend(new.warnings.iter().cloned());
        crate::log::set_level(new.log_level);
        let new = Arc::new(new);
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = Arc::clone(&new);
        lock(&self.reload_hooks).retain(|hook| hook(self, &old, &new));
        Ok(notes)
    }

    /// Register `hook` to run after every applied reload (see [`ReloadHook`]).
    pub fn on_reload(&self, hook: ReloadHook) {
        lock(&self.reload_hooks).push(hook);
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

    fn audit_log(&self) -> Option<Arc<AuditLog>> {
        self.audit
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Write one audit record (a no-op without an audit log). An error means the record is not
    /// on disk, and whatever it was about must not proceed.
    pub fn audit(&self, record: Record) -> Result<(), String> {
        match self.audit_log() {
            None => Ok(()),
            Some(log) => log.append(record).map_err(|e| e.to_string()),
        }
    }

    /// Audit a server event (startup, shutdown, reload); failures are logged, not fatal.
    pub fn audit_event(&self, event: EventKind, detail: Value) {
        self.audit_or_log(Record::new(event).detail(detail));
    }

    /// For records about the server rather than a call: a failure is logged, nothing is refused.
    fn audit_or_log(&self, record: Record) {
        if let Err(e) = self.audit(record) {
            crate::log::error(&format!("audit log: {e}"));
        }
    }

    /// A session started: its identity and scopes.
    pub fn audit_session(&self, config: &Config, caller: &Caller) {
        let r = Record::new(EventKind::AuthSuccess)
            .client(caller.audit_identity())
            .scopes(policy::effective_scopes(config, caller).names())
            .result(Outcome::Success);
        self.audit_or_log(r);
    }

    fn call_record(
        &self,
        config: &Config,
        call: &Call<'_>,
        event: EventKind,
        outcome: Outcome,
        params: &Option<Value>,
    ) -> Record {
        let r = Record::new(event)
            .request_id(call.request_id.clone())
            .tool(call.tool.def.name)
            .client(call.caller.audit_identity())
            .scopes(policy::effective_scopes(config, call.caller).names())
            .result(outcome)
            .duration(call.started.elapsed());
        match params {
            Some(p) => r.params(p.clone()),
            None => r,
        }
    }

    /// The call's arguments as the audit log records them (`None` when `log_params` is off or
    /// there is no audit log), redacted like results: a secret passed in must not land in the
    /// log. Computed once per call, however many records it writes.
    fn params(&self, config: &Config, call: &Call<'_>) -> Option<Value> {
        config.audit.as_ref().filter(|a| a.log_params)?;
        Some(
            config
                .output
                .redactor()
                .redact(Value::Object(call.args.clone()))
                .map_or_else(|_| Value::String("[unredactable]".into()), |r| r.value),
        )
    }

    /// The gate, audited: the validated arguments, or (when it refuses) the answer to send, with
    /// the refusal already in the audit log. Every entry point (sessions, `sysgate query`) calls
    /// this, so no refusal goes unaudited.
    pub fn admit(
        &self,
        config: &Config,
        caller: &Caller,
        tool: &Tool,
        args: Option<&Value>,
        request_id: &str,
        started: Instant,
    ) -> Result<Map<String, Value>, Value> {
        policy::check(config, caller, tool, args).map_err(|err| {
            // Audit what was asked, as far as it is an object (it failed validation).
            let raw = match args {
                Some(Value::Object(m)) => m.clone(),
                _ => Map::new(),
            };
            let call = Call {
                caller,
                tool,
                args: &raw,
                request_id: request_id.to_string(),
                started,
            };
            let r = self
                .call_record(
                    config,
                    &call,
                    EventKind::QueryDenied,
                    Outcome::Denied,
                    &self.params(config, &call),
                )
                .reason(err.to_string());
            self.answer_audited(r, &err)
        })
    }

    /// A call stopped by its deadline or by the client: audit it. Returns the answer to send (the
    /// caller suppresses it for a cancellation).
    pub fn stopped(&self, config: &Config, call: &Call<'_>, err: &ToolError) -> Value {
        let outcome = if *err == ToolError::Cancelled {
            Outcome::Cancelled
        } else {
            Outcome::Timeout
        };
        let event = if outcome == Outcome::Timeout {
            EventKind::LimitExceeded
        } else {
            EventKind::Query
        };
        let r = self
            .call_record(config, call, event, outcome, &self.params(config, call))
            .reason(err.to_string());
        self.answer_audited(r, err)
    }

    /// Write `record`, then answer with `err`; a record that cannot be written refuses instead.
    fn answer_audited(&self, record: Record, err: &ToolError) -> Value {
        match self.audit(record) {
            Ok(()) => output::failure(err),
            Err(e) => audit_failure(&e),
        }
    }

    /// Run a call whose gate passed: the handler, the output pipeline, then the audit records,
    /// which are on disk before the answer is returned. If they cannot be written the answer is a
    /// refusal, so no result leaves the server unaudited.
    pub fn run(
        &self,
        config: &Config,
        call: &Call<'_>,
        cancel: &Cancel,
        deadline: Instant,
        progress: Option<ProgressFn<'_>>,
    ) -> Value {
        // `format` is the pipeline's argument, not the handler's.
        let mut args = call.args.clone();
        let format = match args.remove(FORMAT_ARG).as_ref().and_then(Value::as_str) {
            Some("toon") => Format::Toon,
            Some(_) => Format::Json,
            None => config.output.format,
        };
        let rendered = self
            .execute(
                config,
                call.caller,
                call.tool,
                &args,
                cancel,
                deadline,
                progress,
            )
            .and_then(|v| output::render(&config.output, call.tool, v, format));
        let params = self.params(config, call);
        let mut records = Vec::new();
        let result = match rendered {
            Ok(r) => {
                let total = r.redactions.total() as u64;
                records.push(
                    self.call_record(config, call, EventKind::Query, Outcome::Success, &params)
                        .output_bytes(r.output_bytes)
                        .redactions(total),
                );
                if total > 0 {
                    let detail = serde_json::to_value(&r.redactions).unwrap_or(Value::Null);
                    records.push(
                        self.call_record(
                            config,
                            call,
                            EventKind::Redaction,
                            Outcome::Success,
                            &params,
                        )
                        .redactions(total)
                        .detail(detail),
                    );
                }
                if let Some(t) = r.truncation {
                    records.push(
                        self.call_record(
                            config,
                            call,
                            EventKind::LimitExceeded,
                            Outcome::Success,
                            &params,
                        )
                        .detail(t),
                    );
                }
                r.result
            }
            Err(e) => {
                records.push(
                    self.call_record(config, call, EventKind::Query, Outcome::Error, &params)
                        .reason(e.to_string()),
                );
                output::failure(&e)
            }
        };
        for r in records {
            if let Err(e) = self.audit(r) {
                return audit_failure(&e);
            }
        }
        result
    }

    /// Run a tool's handler and check its result against the output schema. The gate has
    /// already passed. Returns `structuredContent`.
    #[allow(clippy::too_many_arguments)]
    pub fn execute(
        &self,
        config: &Config,
        caller: &Caller,
        tool: &Tool,
        args: &Map<String, Value>,
        cancel: &Cancel,
        deadline: Instant,
        progress: Option<ProgressFn<'_>>,
    ) -> Result<Value, ToolError> {
        let ctx = Ctx {
            caller,
            config,
            registry: &self.registry,
            cancel,
            deadline,
            progress,
        };
        let value = (tool.def.handler)(&ctx, args)?;
        // Never hand a client data that breaks the contract we advertised.
        tool.output.validate(&value).map_err(|v| {
            ToolError::Failed(format!(
                "internal error: {} produced output that does not match its schema at `{}` ({})",
                tool.def.name, v.path, v.rule
            ))
        })?;
        Ok(value)
    }
}

/// The answer when the audit record could not be written: the call is refused.
fn audit_failure(e: &str) -> Value {
    crate::log::error(&format!("audit log: {e}; refusing the call"));
    output::failure(&ToolError::Failed(
        "refused: the audit log cannot be written on this server, and no call runs unaudited; tell the operator".into(),
    ))
}
