#![forbid(unsafe_code)]
//! The gate's decision table: one line per case, every outcome of [`check`] covered.

use serde_json::{Value, json};

use super::*;
use crate::auth::{Caller, TransportKind};
use crate::scope::Scope;
use crate::tools::Registry;

/// How a case changes the defaults.
#[derive(Clone, Copy)]
enum Setup {
    Defaults,
    /// `scopes.core: false`.
    CoreDisabled,
    /// `queries.deny: [get_uptime]`.
    UptimeDenied,
    /// `stdio.scopes` without `core` (the scope stays enabled).
    StdioWithoutCore,
    /// A caller whose credentials never granted `core`.
    CallerWithoutCore,
    /// `scopes.sensitive.enabled: true` (and so granted to stdio).
    SensitiveOn,
}

fn decide(
    setup: Setup,
    name: Option<&str>,
    args: Option<Value>,
) -> Result<&'static str, &'static str> {
    let mut settings = Settings::default();
    let mut caller = Caller::local(TransportKind::Stdio);
    match setup {
        Setup::Defaults => {}
        Setup::CoreDisabled => settings.enabled.remove(Scope::Core),
        Setup::UptimeDenied => {
            settings.denied_tools.insert("get_uptime".into());
        }
        Setup::StdioWithoutCore => settings.stdio.remove(Scope::Core),
        Setup::CallerWithoutCore => caller.scopes.remove(Scope::Core),
        Setup::SensitiveOn => {
            settings.enabled.insert(Scope::Sensitive);
            settings.stdio.insert(Scope::Sensitive);
        }
    }
    let registry = Registry::global().unwrap();
    match check(&settings, registry, &caller, name, args.as_ref()) {
        Ok(a) => {
            // What was admitted is what was asked, validated.
            assert_eq!(Some(a.tool().def.name), name);
            let always = a.tool().def.name == ALWAYS_CALLABLE;
            assert!(always || a.scopes().contains(a.tool().def.scope));
            Ok("admitted")
        }
        Err(d) => {
            // Every denial has a message for the caller, and a tool exactly when one was found.
            assert!(!d.error().to_string().is_empty());
            assert_eq!(d.tool().is_some(), !d.is_protocol_error(), "{d:?}");
            Err(d.code())
        }
    }
}

/// (setup, tool name, arguments, decision)
type Case<'a> = (
    Setup,
    Option<&'a str>,
    Option<Value>,
    Result<&'a str, &'a str>,
);

#[test]
fn decision_table() {
    use Setup::*;
    let long = "x".repeat(100);
    #[rustfmt::skip]
    let cases: &[Case<'_>] = &[
        (Defaults,          Some("get_uptime"),  None,                          Ok("admitted")),
        (Defaults,          Some("get_uptime"),  Some(Value::Null),             Ok("admitted")),
        (Defaults,          Some("get_uptime"),  Some(json!({})),               Ok("admitted")),
        (Defaults,          Some("get_uptime"),  Some(json!({"format": "toon"})), Ok("admitted")),
        (Defaults,          Some("get_processes"), Some(json!({"limit": 3})),   Ok("admitted")),
        (Defaults,          None,                Some(json!({})),               Err("missing_name")),
        (Defaults,          Some("no_such_tool"), None,                         Err("unknown_tool")),
        (Defaults,          Some(long.as_str()), None,                          Err("unknown_tool")),
        (CoreDisabled,      Some("get_uptime"),  None,                          Err("scope_disabled")),
        (CoreDisabled,      Some("no_such_tool"), None,                         Err("unknown_tool")),
        (UptimeDenied,      Some("get_uptime"),  None,                          Err("tool_denied")),
        (UptimeDenied,      Some("get_load"),    None,                          Ok("admitted")),
        (StdioWithoutCore,  Some("get_uptime"),  None,                          Err("scope_not_held")),
        (CallerWithoutCore, Some("get_uptime"),  None,                          Err("scope_not_held")),
        (Defaults,          Some("get_uptime"),  Some(json!([1])),              Err("invalid_arguments")),
        (Defaults,          Some("get_uptime"),  Some(json!("x")),              Err("invalid_arguments")),
        (Defaults,          Some("get_uptime"),  Some(json!({"nope": 1})),      Err("invalid_arguments")),
        (Defaults,          Some("get_processes"), Some(json!({"limit": -1})),  Err("invalid_arguments")),
        (Defaults,          Some("get_uptime"),  Some(json!({"format": "yaml"})), Err("invalid_arguments")),
        // whoami is always callable (the server's instructions tell agents to call it first);
        // its arguments are still checked.
        (CoreDisabled,      Some("whoami"),      None,                          Ok("admitted")),
        (StdioWithoutCore,  Some("whoami"),      None,                          Ok("admitted")),
        (CallerWithoutCore, Some("whoami"),      None,                          Ok("admitted")),
        (CoreDisabled,      Some("whoami"),      Some(json!({"nope": 1})),      Err("invalid_arguments")),
        // Order: disabled before denied before not held before bad arguments.
        (CoreDisabled,      Some("get_uptime"),  Some(json!([1])),              Err("scope_disabled")),
        (UptimeDenied,      Some("get_uptime"),  Some(json!([1])),              Err("tool_denied")),
        (StdioWithoutCore,  Some("get_uptime"),  Some(json!([1])),              Err("scope_not_held")),
        // Parameter requirements: `required` and `anyOf` of the input schema, before the other
        // rules; a bound (`maximum`) is an invalid argument.
        (Defaults,          Some("test_requirements"), None,                    Err("requirement_unmet")),
        (Defaults,          Some("test_requirements"), Some(json!({})),         Err("requirement_unmet")),
        (Defaults,          Some("test_requirements"), Some(json!({"nope": 1})), Err("requirement_unmet")),
        (Defaults,          Some("test_requirements"), Some(json!({"hours": 24})), Ok("admitted")),
        (Defaults,          Some("test_requirements"), Some(json!({"hours": 25})), Err("invalid_arguments")),
        (Defaults,          Some("test_requirements"), Some(json!({"hours": "1"})), Err("invalid_arguments")),
        (SensitiveOn,       Some("get_open_files"), None,                       Err("requirement_unmet")),
        (SensitiveOn,       Some("get_open_files"), Some(json!({})),            Err("requirement_unmet")),
        (SensitiveOn,       Some("get_open_files"), Some(json!({"limit": 5})),  Err("requirement_unmet")),
        (SensitiveOn,       Some("get_open_files"), Some(json!({"format": "toon"})), Err("requirement_unmet")),
        (SensitiveOn,       Some("get_open_files"), Some(json!({"pid": 1})),    Ok("admitted")),
        (SensitiveOn,       Some("get_open_files"), Some(json!({"path_prefix": "/tmp"})), Ok("admitted")),
        (SensitiveOn,       Some("get_open_files"), Some(json!({"user": "root", "limit": 5})), Ok("admitted")),
        (SensitiveOn,       Some("get_open_files"), Some(json!({"pid": 0})),    Err("invalid_arguments")),
        (SensitiveOn,       Some("get_open_files"), Some(json!({"path_prefix": "/a/../b"})), Err("invalid_arguments")),
        (SensitiveOn,       Some("get_open_files"), Some(json!({"path_prefix": "tmp"})), Err("invalid_arguments")),
        (SensitiveOn,       Some("get_open_files"), Some(json!({"path_prefix": "/"})), Err("invalid_arguments")),
        (SensitiveOn,       Some("get_open_files"), Some(json!({"user": "-rf"})), Err("invalid_arguments")),
        (SensitiveOn,       Some("get_open_files"), Some(json!({"user": "$(id)"})), Err("invalid_arguments")),
        // The scope comes first: a disabled tool says so before its requirements.
        (Defaults,          Some("get_open_files"), Some(json!({})),            Err("scope_disabled")),
        (Defaults,          Some("get_user_accounts"), None,                    Err("scope_disabled")),
        (SensitiveOn,       Some("get_user_accounts"), None,                    Ok("admitted")),
        (SensitiveOn,       Some("get_sudo_config"), None,                      Ok("admitted")),
        (SensitiveOn,       Some("get_ssh_config"), Some(json!({"x": 1})),      Err("invalid_arguments")),
    ];
    for (i, (setup, name, args, want)) in cases.iter().enumerate() {
        assert_eq!(
            decide(*setup, *name, args.clone()),
            *want,
            "case {i}: {name:?} {args:?}"
        );
    }
}

#[test]
fn denial_messages_are_the_ones_callers_saw_before() {
    let registry = Registry::global().unwrap();
    let caller = Caller::local(TransportKind::Stdio);
    let s = Settings::default();
    let d = check(&s, registry, &caller, None, None).unwrap_err();
    assert_eq!(d.protocol_message(), "`name` (a string) is required");
    let long = "y".repeat(70);
    let d = check(&s, registry, &caller, Some(&long), None).unwrap_err();
    assert_eq!(
        d.protocol_message(),
        format!("unknown tool: {}…", "y".repeat(64))
    );
    let mut off = Settings::default();
    off.enabled.remove(Scope::Core);
    let d = check(&off, registry, &caller, Some("get_uptime"), None).unwrap_err();
    assert_eq!(
        d.error().to_string(),
        "denied: tool `get_uptime` belongs to scope `core`, which is disabled on this server; an operator must enable it in the config"
    );
}

#[test]
fn requirement_denials_name_the_arguments() {
    let registry = Registry::global().unwrap();
    let caller = Caller::local(TransportKind::Stdio);
    let mut s = Settings::default();
    s.enabled.insert(Scope::Sensitive);
    s.stdio.insert(Scope::Sensitive);
    let message = |name: &str, args: Value| {
        check(&s, registry, &caller, Some(name), Some(&args))
            .unwrap_err()
            .error()
            .to_string()
    };
    assert_eq!(
        message("get_open_files", json!({})),
        "denied: get_open_files needs one of `pid`, `path_prefix`, `user` (it never lists everything at once)"
    );
    assert_eq!(
        message("test_requirements", json!({})),
        "invalid argument `hours`: is required"
    );
    assert_eq!(
        message("test_requirements", json!({"hours": 48})),
        "invalid argument `hours`: must be between 1 and 24 (got 48)"
    );
}
