#![forbid(unsafe_code)]
//! The one call lifecycle, for every entry point (the stdio session, `sysgate query`, and the
//! transports to come): admit → queue → deadline → run → render → audit → answer exactly once,
//! cancellable.
//!
//! An [`Admitted`] call becomes a [`Running`] one, then [`Server::launch`] arms its deadline and
//! queues it on the pool. Three paths race to complete it: the worker (the handler finished), the
//! timer (the deadline passed) and the client ([`Running::cancel`]). `Completion` lets exactly one
//! of them win; only the winner writes the call's audit records and answers, so a call has one
//! outcome, one cause, recorded once. Whoever wins releases the timer entry and the reply at once:
//! a finished or cancelled call holds nothing but what a handler still running borrows.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::pool::Completion;
use super::timer::TimerId;
use super::{Call, Limit, Server, Snapshot, answer_audited, audit_failure};
use crate::audit::{EventKind, Outcome};
use crate::auth::Caller;
use crate::config::Format;
use crate::error::ToolError;
use crate::exec;
use crate::output::{self, Rendered};
use crate::policy::{self, Admitted};
use crate::sync::lock;
use crate::tools::{Cancel, Compiled, Ctx, FORMAT_ARG, ProgressFn, Tool, Who};

/// Receives the call's answer, exactly once: `Some(result)`, or `None` when the client cancelled
/// (a cancelled request gets no response).
pub type Reply = Box<dyn FnOnce(Option<Value>) + Send>;

/// Sends `notifications/progress` params for this call (only while it is unanswered).
pub type Progress = Box<dyn Fn(Value) + Send + Sync>;

/// Why a call could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    /// Every worker is occupied and the queue is full.
    QueueFull,
    /// The server is shutting down (SIGTERM) and takes no new calls.
    ShuttingDown,
}

impl Busy {
    pub fn message(self) -> &'static str {
        match self {
            Busy::QueueFull => {
                "server busy: every worker is occupied and the queue is full; retry shortly"
            }
            Busy::ShuttingDown => "server shutting down: no new calls are accepted",
        }
    }
}

/// A call between admission and its answer.
pub struct Running {
    server: Arc<Server>,
    snapshot: Arc<Snapshot>,
    caller: Arc<Caller>,
    admitted: Admitted,
    request_id: String,
    started: Instant,
    /// When the deadline's budget starts (see `Running::new`).
    armed: Instant,
    budget: Duration,
    completion: Completion,
    cancel: Cancel,
    timer: std::sync::Mutex<Option<TimerId>>,
    reply: std::sync::Mutex<Option<Reply>>,
    progress: Option<Progress>,
    /// The handler's way to run programs; collects the children for the audit record.
    exec: exec::CallContext,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("request_id", &self.request_id)
            .field("tool", &self.admitted.tool().def.name)
            .finish()
    }
}

impl Running {
    /// A call the gate admitted, under the snapshot it was admitted with. Nothing runs until
    /// [`Server::launch`].
    #[allow(
        clippy::too_many_arguments,
        reason = "each is a separate part of the call; a struct would only rename them"
    )]
    pub fn new(
        server: &Arc<Server>,
        snapshot: Arc<Snapshot>,
        caller: Arc<Caller>,
        admitted: Admitted,
        request_id: String,
        started: Instant,
        progress: Option<Progress>,
        reply: Reply,
    ) -> Arc<Running> {
        let budget = snapshot
            .config
            .resources
            .deadline_for(admitted.tool().def.impact);
        // The deadline is the tool's budget, not the server's one-time setup: a session's first
        // calls can arrive while the built-in redaction patterns are still compiling (see
        // `Server::warm_up`), so wait for them here and count the budget from then.
        let _ = snapshot.redactor();
        let armed = Instant::now();
        let exec = exec::CallContext::new(snapshot.config.resources.exec.clone());
        Arc::new(Running {
            server: Arc::clone(server),
            snapshot,
            caller,
            admitted,
            request_id,
            started,
            armed,
            budget,
            completion: Completion::default(),
            cancel: Cancel::default(),
            timer: std::sync::Mutex::new(None),
            reply: std::sync::Mutex::new(Some(reply)),
            progress,
            exec,
        })
    }

    /// Whether one of the completion paths has taken this call (it is being or was answered).
    pub fn is_answering(&self) -> bool {
        self.completion.is_complete()
    }

    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    fn deadline(&self) -> Instant {
        self.armed + self.budget
    }

    fn call(&self) -> Call<'_> {
        Call {
            caller: &self.caller,
            tool: Some(self.admitted.tool().def.name),
            args: self.admitted.args(),
            request_id: &self.request_id,
            started: self.started,
        }
    }

    fn deadline_error(&self) -> ToolError {
        ToolError::DeadlineExceeded {
            tool: self.admitted.tool().def.name.to_string(),
            ms: u64::try_from(self.budget.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// The client cancelled: the call is recorded as cancelled and gets no answer. A no-op when
    /// it was already answered.
    pub fn cancel(&self) {
        if self.completion.try_complete() {
            // The handler sees the flag at its next check (and, for programs, the exec layer
            // kills the process group).
            self.cancel.cancel();
            let _ = self.stopped(&ToolError::Cancelled);
            self.finish(None);
        }
    }

    /// The deadline passed first.
    fn expire(&self) {
        if self.completion.try_complete() {
            self.cancel.cancel();
            let answer = self.stopped(&self.deadline_error());
            self.finish(Some(answer));
        }
    }

    /// Audit a call stopped by its deadline or by the client; the answer to send.
    fn stopped(&self, err: &ToolError) -> Value {
        let (event, outcome) = if *err == ToolError::Cancelled {
            (EventKind::Query, Outcome::Cancelled)
        } else {
            (EventKind::LimitExceeded, Outcome::Timeout)
        };
        let r = self
            .snapshot
            .call_record(&self.call(), event, outcome)
            .reason(self.snapshot.redact_text(&err.to_string()))
            .children(self.children());
        answer_audited(&self.snapshot, r, err)
    }

    /// The programs the handler ran so far, for the audit record.
    fn children(&self) -> Value {
        serde_json::to_value(self.exec.children()).unwrap_or(Value::Null)
    }

    /// The winner's last step: drop the deadline, hand over the answer, release the drain.
    fn finish(&self, answer: Option<Value>) {
        if let Some(id) = lock(&self.timer).take() {
            self.server.timer.cancel(id);
        }
        let reply = lock(&self.reply).take();
        if let Some(reply) = reply {
            reply(answer);
        }
        let mut live = lock(&self.server.live);
        *live = live.saturating_sub(1);
        if *live == 0 {
            self.server.idle.notify_all();
        }
    }

    /// The worker's part: run the handler and render, then (if nothing else answered meanwhile)
    /// audit and answer.
    fn work(&self) {
        if self.completion.is_complete() {
            return; // cancelled or timed out while queued
        }
        let progress = |done: f64, total: Option<f64>, message: &str| {
            if let Some(p) = &self.progress
                && !self.completion.is_complete()
            {
                let mut v = json!({"progress": done, "message": message});
                if let Some(t) = total {
                    v["total"] = json!(t);
                }
                p(v);
            }
        };
        let rendered = self.execute_and_render(&progress);
        if !self.completion.try_complete() {
            return; // the deadline or a cancellation answered first, and recorded it
        }
        let answer = match rendered {
            // The handler stopped at its deadline before the timer fired: still a timeout.
            Err(ToolError::Cancelled) => self.stopped(&self.deadline_error()),
            other => self.record(other),
        };
        self.finish(Some(answer));
    }

    fn execute_and_render(&self, progress: ProgressFn<'_>) -> Result<Rendered, ToolError> {
        let config = &self.snapshot.config;
        // `format` is the pipeline's argument, not the handler's.
        let mut args = self.admitted.args().clone();
        let format = match args.remove(FORMAT_ARG).as_ref().and_then(Value::as_str) {
            Some("toon") => Format::Toon,
            Some(_) => Format::Json,
            None => config.output.format,
        };
        let tool = self.admitted.tool();
        let value = execute_in(
            &self.server,
            &self.snapshot,
            &self.caller,
            &self.admitted,
            &args,
            &self.cancel,
            self.deadline(),
            self.progress.as_ref().map(|_| progress),
            &self.exec,
        )?;
        output::render(
            &config.output,
            tool.def.name,
            tool.def.impact,
            &compiled(tool)?.trust,
            value,
            format,
        )
    }

    /// The call's audit records, on disk before the answer is returned. If they cannot be
    /// written the answer is a refusal, so no result leaves the server unaudited.
    fn record(&self, rendered: Result<Rendered, ToolError>) -> Value {
        let snap = &self.snapshot;
        let call = self.call();
        let mut records = Vec::new();
        let result = match rendered {
            Ok(r) => {
                let total = r.redactions.total() as u64;
                records.push(
                    snap.call_record(&call, EventKind::Query, Outcome::Success)
                        .output_bytes(r.output_bytes)
                        .redactions(total)
                        .children(self.children()),
                );
                if total > 0 {
                    let detail = serde_json::to_value(&r.redactions).unwrap_or(Value::Null);
                    records.push(
                        snap.call_record(&call, EventKind::Redaction, Outcome::Success)
                            .redactions(total)
                            .detail(detail),
                    );
                }
                if let Some(t) = r.truncation {
                    records.push(
                        snap.call_record(&call, EventKind::LimitExceeded, Outcome::Success)
                            .detail(t),
                    );
                }
                r.result
            }
            Err(e) => {
                records.push(
                    snap.call_record(&call, EventKind::Query, Outcome::Error)
                        .reason(snap.redact_text(&e.to_string()))
                        .children(self.children()),
                );
                output::failure(&e)
            }
        };
        for r in records {
            if let Err(e) = snap.audit(r) {
                return audit_failure(&e);
            }
        }
        result
    }
}

/// A tool's compiled schemas. The gate compiled them before admitting the call, so this does
/// not fail; were it to, the call fails rather than runs unchecked.
fn compiled(tool: &Tool) -> Result<&Compiled, ToolError> {
    tool.compiled()
        .map_err(|e| ToolError::Failed(format!("internal error: {e}")))
}

/// Run an admitted call's handler and check its result against the output schema. Returns
/// `structuredContent`. `args` are the admitted arguments without the pipeline's `format`.
#[allow(
    clippy::too_many_arguments,
    reason = "each is a separate input of the handler's Ctx"
)]
pub fn execute(
    server: &Server,
    snapshot: &Snapshot,
    caller: &Caller,
    admitted: &Admitted,
    args: &serde_json::Map<String, Value>,
    cancel: &Cancel,
    deadline: Instant,
    progress: Option<ProgressFn<'_>>,
) -> Result<Value, ToolError> {
    let exec = exec::CallContext::new(snapshot.config.resources.exec.clone());
    execute_in(
        server, snapshot, caller, admitted, args, cancel, deadline, progress, &exec,
    )
}

/// [`execute`] with the call's [`exec::CallContext`], whose children the lifecycle audits.
#[allow(
    clippy::too_many_arguments,
    reason = "each is a separate input of the handler's Ctx"
)]
fn execute_in(
    server: &Server,
    snapshot: &Snapshot,
    caller: &Caller,
    admitted: &Admitted,
    args: &serde_json::Map<String, Value>,
    cancel: &Cancel,
    deadline: Instant,
    progress: Option<ProgressFn<'_>>,
    exec: &exec::CallContext,
) -> Result<Value, ToolError> {
    let tool = admitted.tool();
    let settings = &snapshot.config.scopes;
    let registry = server.registry;
    let visible = || {
        registry
            .iter()
            .filter(|t| policy::visible(settings, caller, t))
            .map(|t| t.def.name)
            .collect()
    };
    let ctx = Ctx {
        who: Who {
            transport: caller.transport.name(),
            identity: &caller.identity,
            uid: caller.uid,
            scopes: admitted.scopes(),
            visible_tools: &visible,
        },
        redactor: snapshot.redactor(),
        cancel,
        deadline,
        progress,
        exec,
        settings: &snapshot.config.tools,
    };
    let value = (tool.def.handler)(&ctx, args)?;
    // Never hand a client data that breaks the contract we advertised.
    compiled(tool)?.output.validate(&value).map_err(|v| {
        ToolError::Failed(format!(
            "internal error: {} produced output that does not match its schema at `{}` ({})",
            tool.def.name, v.path, v.rule
        ))
    })?;
    Ok(value)
}

impl Server {
    /// Run one admitted call through the lifecycle and wait for its answer (the caller never
    /// cancels, so there always is one, by the deadline at the latest). `sysgate query` uses this.
    pub fn call_and_wait(
        self: &Arc<Self>,
        snapshot: Arc<Snapshot>,
        caller: Arc<Caller>,
        admitted: Admitted,
        request_id: String,
        started: Instant,
    ) -> Result<Value, Busy> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let reply: Reply = Box::new(move |answer| {
            let _ = tx.send(answer);
        });
        let running = Running::new(
            self, snapshot, caller, admitted, request_id, started, None, reply,
        );
        self.launch(&running)?;
        drop(running);
        // Only a cancellation answers `None`, and nothing here can cancel; a dropped sender
        // cannot happen either (the winner always replies), but is an error rather than a hang.
        Ok(match rx.recv() {
            Ok(Some(v)) => v,
            _ => output::failure(&ToolError::Failed(
                "internal error: the call ended without an answer".into(),
            )),
        })
    }

    /// Arm the call's deadline and queue it. On `Err` nothing runs and the reply is never called
    /// (the caller answers "busy"); the refusal is in the audit log.
    pub fn launch(self: &Arc<Self>, running: &Arc<Running>) -> Result<(), Busy> {
        if self.is_closing() {
            return Err(Busy::ShuttingDown);
        }
        *lock(&self.live) += 1;
        // The deadline fires even if the handler is stuck in a syscall.
        let id = {
            let r = Arc::clone(running);
            self.timer.schedule(running.deadline(), move || r.expire())
        };
        *lock(&running.timer) = Some(id);
        let job = {
            let r = Arc::clone(running);
            move || r.work()
        };
        if self.pool.submit(job) {
            return Ok(());
        }
        if running.completion.try_complete() {
            if let Some(id) = lock(&running.timer).take() {
                self.timer.cancel(id);
            }
            // The reply is dropped unused: the caller answers "busy" itself.
            drop(lock(&running.reply).take());
            let mut live = lock(&self.live);
            *live = live.saturating_sub(1);
            if *live == 0 {
                self.idle.notify_all();
            }
        }
        self.audit_limit(
            Limit::WorkerQueue,
            &[("tool", json!(running.admitted.tool().def.name))],
        );
        Err(Busy::QueueFull)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::TransportKind;
    use crate::config::Config;
    use crate::server::Gate;

    fn stall(server: &Arc<Server>, ms: u64) -> (Value, Duration) {
        let snap = server.snapshot();
        let caller = Caller::local(TransportKind::Cli);
        let args = json!({"ms": ms});
        let started = Instant::now();
        let Gate::Admitted(a) = server.gate(
            &snap,
            &caller,
            Some("test_stall"),
            Some(&args),
            "t",
            started,
        ) else {
            panic!("test_stall must be admitted under the defaults");
        };
        let v = server
            .call_and_wait(snap, Arc::new(caller), a, "t".into(), started)
            .unwrap();
        (v, started.elapsed())
    }

    #[test]
    fn a_handler_that_ignores_its_deadline_is_answered_at_the_deadline() {
        let mut config = Config::default();
        config.resources.timeout_minimal = Duration::from_millis(100);
        let server = Server::new(config, None).unwrap();
        let (v, took) = stall(&server, 3_000);
        assert!(
            took < Duration::from_millis(1_500),
            "answered after {took:?}"
        );
        let text = v["content"][0]["text"].as_str().unwrap();
        assert_eq!(v["isError"], true);
        assert!(
            text.contains("test_stall exceeded its deadline of 100 ms"),
            "{text}"
        );
        // A handler that finishes in time is answered with its result.
        let (v, _) = stall(&server, 0);
        assert_eq!(v["isError"], false, "{v}");
    }
}
