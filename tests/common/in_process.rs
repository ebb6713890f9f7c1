//! Tool calls in process, as a session runs them (gate, handler, output-schema check), with the
//! test's own deadline, cancellation flag and progress sink: for tests that compare a tool's
//! values with another source or drive its cancellation directly.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use sysgate::testing::auth::{Caller, TransportKind};
use sysgate::testing::config::Config;
use sysgate::testing::error::ToolError;
use sysgate::testing::policy;
use sysgate::testing::server::{Server, call};
use sysgate::testing::tools::{Cancel, ProgressFn};

pub fn server() -> &'static Arc<Server> {
    static S: OnceLock<Arc<Server>> = OnceLock::new();
    S.get_or_init(|| Server::new(Config::default(), None).expect("server starts"))
}

/// A tools/call as a session runs it: gate, handler, output-schema check; with our own deadline,
/// cancellation flag and progress sink.
pub fn call_with(
    name: &str,
    args: Value,
    deadline: Option<Instant>,
    cancel: &Cancel,
    progress: Option<ProgressFn<'_>>,
) -> Result<Value, ToolError> {
    let s = server();
    let snap = s.snapshot();
    let config = &snap.config;
    let caller = Caller::local(TransportKind::Cli);
    let tool = s.registry.get(name).expect("tool exists");
    let admitted = policy::check(&config.scopes, s.registry, &caller, Some(name), Some(&args))?;
    let deadline =
        deadline.unwrap_or_else(|| Instant::now() + config.resources.deadline_for(tool.def.impact));
    let v = call::execute(
        s,
        &snap,
        &caller,
        &admitted,
        admitted.args(),
        cancel,
        deadline,
        progress,
    )?;
    // `execute` already validated; say so explicitly, with the path on failure.
    if let Err(e) = tool.compiled().unwrap().output.validate(&v) {
        panic!("{name}: output breaks its schema at {}: {}", e.path, e.rule);
    }
    Ok(v)
}

pub fn call(name: &str, args: Value) -> Value {
    call_with(name, args.clone(), None, &Cancel::default(), None)
        .unwrap_or_else(|e| panic!("{name} {args}: {e}"))
}

pub fn u(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("not an unsigned integer: {v}"))
}

pub fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Call `name` with `args` (a long sample) and cancel it from another thread after 100 ms: the
/// call must end `Cancelled` within a second instead of sleeping out its sample.
pub fn assert_cancelled_mid_call(name: &str, args: Value) {
    let cancel = Arc::new(Cancel::default());
    let c = Arc::clone(&cancel);
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        c.cancel();
    });
    let t = Instant::now();
    let r = call_with(name, args, None, &cancel, None);
    canceller.join().unwrap();
    assert_eq!(r.unwrap_err(), ToolError::Cancelled);
    assert!(
        t.elapsed() < Duration::from_millis(1000),
        "{:?}",
        t.elapsed()
    );
}

/// Call `name` with `args` (a long sample) and a deadline 150 ms away: the call must end
/// `Cancelled` within `within`, as it does when cancelled.
pub fn assert_deadline_stops_call(name: &str, args: Value, within: Duration) {
    let t = Instant::now();
    let r = call_with(
        name,
        args,
        Some(Instant::now() + Duration::from_millis(150)),
        &Cancel::default(),
        None,
    );
    assert_eq!(r.unwrap_err(), ToolError::Cancelled);
    assert!(t.elapsed() < within, "{:?}", t.elapsed());
}

/// The progress events of a sampled call (done, total, message), as a progress sink recorded
/// them: exactly two, the start (0 of 2, its message naming the `ms` sample) and the end (1 of 2).
pub fn assert_sample_progress(ev: &[(f64, Option<f64>, String)], ms: u64) {
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert_eq!((ev[0].0, ev[0].1), (0.0, Some(2.0)));
    assert!(ev[0].2.contains(&format!("{ms} ms")), "{}", ev[0].2);
    assert_eq!((ev[1].0, ev[1].1), (1.0, Some(2.0)));
}
