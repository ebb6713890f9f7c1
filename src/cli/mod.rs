#![forbid(unsafe_code)]
//! Command-line parsing (lexopt), process hardening at startup, and the subcommands.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use lexopt::prelude::*;
use serde_json::Value;

use crate::audit::{AuditKey, EventKind, SecretSource};
use crate::auth::{Caller, TransportKind};
use crate::config::{self, Config};
use crate::error::Error;
use crate::log;
use crate::server::{Gate, Server};
use crate::sys;

mod token;

const HELP: &str = "\
sysgate: read-mostly access to this Linux host for MCP clients, never a shell

USAGE:
    sysgate [serve] [--config FILE] [--transport stdio]   serve MCP (default: stdio)
    sysgate check-config [--config FILE]                  validate a config without starting
    sysgate query TOOL [--args JSON] [--config FILE]      run one tool call through the same gate
    sysgate audit verify [--config FILE | --key-file F | --key-env VAR] LOG...
                                                          check an audit log's HMAC chain
    sysgate token mint --agent NAME --scopes A,B [--ttl 5m] [--config FILE]
                                                          print an HS256 token signed with the
                                                          configured secret (auth.jwt)
    sysgate token verify TOKEN|- [--config FILE]          explain a token: valid or not, why, and
                                                          the tools it would reach (- reads stdin)
    sysgate connect [--socket PATH]                       relay stdin/stdout to the local socket
                                                          (default /run/sysgate/sysgate.sock),
                                                          e.g. `ssh host sysgate connect`
    sysgate tools [--markdown]                            list the tools this build has
    sysgate version | --version                           print the version
    sysgate help | --help                                 print this help

The config defaults to /etc/sysgate/config.yaml; when that file does not exist and no --config is
given, built-in safe defaults apply. An MCP client normally spawns `sysgate` itself; see README.md.
";

#[derive(Debug)]
enum Command {
    Serve,
    CheckConfig,
    Query {
        tool: String,
        args: Option<String>,
    },
    Tools {
        markdown: bool,
    },
    AuditVerify {
        files: Vec<PathBuf>,
        key: Option<SecretSource>,
    },
    TokenMint {
        agent: String,
        scopes: String,
        ttl: Option<String>,
    },
    TokenVerify {
        token: String,
    },
    Connect {
        socket: PathBuf,
    },
    Version,
    Help,
}

#[derive(Debug)]
struct Invocation {
    command: Command,
    config: Option<PathBuf>,
}

fn parse(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<Invocation, lexopt::Error> {
    let mut p = lexopt::Parser::from_iter(std::iter::once("sysgate".into()).chain(args));
    let mut cmd: Option<String> = None;
    let mut positional = Vec::new();
    let mut query_args = None;
    let mut markdown = false;
    let mut config = None;
    let mut key = None;
    let (mut agent, mut scopes, mut ttl) = (None, None, None);
    let mut socket = None;
    while let Some(arg) = p.next()? {
        match arg {
            Short('h') | Long("help") => {
                return Ok(Invocation {
                    command: Command::Help,
                    config,
                });
            }
            Short('V') | Long("version") => {
                return Ok(Invocation {
                    command: Command::Version,
                    config,
                });
            }
            Long("transport") => {
                let t: String = p.value()?.string()?;
                if t != "stdio" {
                    return Err(format!("--transport {t}: this build serves `stdio` only").into());
                }
            }
            Long("config") => config = Some(PathBuf::from(p.value()?)),
            Long("args") => query_args = Some(p.value()?.string()?),
            Long("markdown") => markdown = true,
            Long("key-file") => key = Some(SecretSource::File(PathBuf::from(p.value()?))),
            Long("key-env") => key = Some(SecretSource::Env(p.value()?.string()?)),
            Long("agent") => agent = Some(p.value()?.string()?),
            Long("scopes") => scopes = Some(p.value()?.string()?),
            Long("ttl") => ttl = Some(p.value()?.string()?),
            Long("socket") => socket = Some(PathBuf::from(p.value()?)),
            Value(v) if cmd.is_none() => cmd = Some(v.string()?),
            Value(v) => positional.push(v.string()?),
            _ => return Err(arg.unexpected()),
        }
    }
    let mut positional = positional.into_iter();
    let has_args = query_args.is_some();
    let command = match cmd.as_deref() {
        None | Some("serve") => Command::Serve,
        Some("check-config") => Command::CheckConfig,
        Some("query") => Command::Query {
            tool: positional
                .next()
                .ok_or("query: name the tool, e.g. `sysgate query get_uptime`")?,
            args: query_args,
        },
        Some("tools") => Command::Tools { markdown },
        Some("audit") => match positional.next().as_deref() {
            Some("verify") => {
                let files: Vec<PathBuf> = positional.by_ref().map(PathBuf::from).collect();
                if files.is_empty() {
                    return Err("audit verify: name the log file(s)".into());
                }
                Command::AuditVerify {
                    files,
                    key: key.take(),
                }
            }
            _ => return Err("audit: the subcommand is `verify`".into()),
        },
        Some("token") => match positional.next().as_deref() {
            Some("mint") => Command::TokenMint {
                agent: agent.take().ok_or("token mint: --agent NAME is required")?,
                scopes: scopes
                    .take()
                    .ok_or("token mint: --scopes A,B is required")?,
                ttl: ttl.take(),
            },
            Some("verify") => Command::TokenVerify {
                token: positional
                    .next()
                    .ok_or("token verify: give the token, or - to read it from stdin")?,
            },
            _ => return Err("token: the subcommands are `mint` and `verify`".into()),
        },
        Some("connect") => Command::Connect {
            socket: socket
                .take()
                .unwrap_or_else(|| PathBuf::from(config::DEFAULT_SOCKET)),
        },
        Some("version") => Command::Version,
        Some("help") => Command::Help,
        Some(other) => {
            return Err(format!("unknown command `{other}` (see `sysgate --help`)").into());
        }
    };
    if let Some(extra) = positional.next() {
        return Err(format!("unexpected argument `{extra}`").into());
    }
    if has_args && !matches!(command, Command::Query { .. }) {
        return Err("--args only goes with `query`".into());
    }
    if key.is_some() {
        return Err("--key-file/--key-env only go with `audit verify`".into());
    }
    if agent.is_some() || scopes.is_some() || ttl.is_some() {
        return Err("--agent/--scopes/--ttl only go with `token mint`".into());
    }
    if socket.is_some() {
        return Err("--socket only goes with `connect`".into());
    }
    Ok(Invocation { command, config })
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    // The very first thing, before any thread exists or any work is done: from here on a
    // SIGHUP/SIGTERM/SIGINT stays pending for the server's signal thread instead of killing the
    // process with the default action (unblocked again below for one-shot commands).
    if let Err(e) = sys::block_signals() {
        eprintln!("sysgate: error: blocking signals: {e}");
        return ExitCode::FAILURE;
    }
    let inv = match parse(std::env::args_os().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sysgate: {e}\n\n{HELP}");
            return ExitCode::from(2);
        }
    };
    // The handled signals are blocked for `serve`'s signal thread; the one-shot commands have
    // no such thread, so Ctrl-C and SIGTERM act on them as on any command-line tool.
    if !matches!(inv.command, Command::Serve) {
        let _ = sys::unblock_signals();
    }
    match run(inv) {
        Ok(code) => code,
        // Usage errors found while running (an unknown tool, bad `--args`) exit like the ones
        // the parser finds.
        Err(e @ Error::Usage(_)) => {
            log::error(&e.to_string());
            ExitCode::from(2)
        }
        Err(e) => {
            log::error(&e.to_string());
            ExitCode::FAILURE
        }
    }
}

fn stdout_write(s: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(s.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("writing stdout", e))
}

fn run(inv: Invocation) -> Result<ExitCode, Error> {
    match inv.command {
        Command::Help => stdout_write(HELP)?,
        Command::Version => stdout_write(&format!("sysgate {}\n", crate::VERSION))?,
        Command::CheckConfig => {
            // Exactly what `serve` runs before it reads a request (the same function, so no
            // check can be missed): the config and its files, the root rule, and the audit log,
            // opened as the server opens it. Only the listener is left out.
            let (config, _server) = match start(inv.config) {
                Ok(started) => started,
                Err(e) => {
                    log::error(&e.to_string());
                    if sys::euid() == 0 && e.to_string().contains(ROOT_REFUSAL) {
                        log::info(
                            "check-config ran as root, so it checked what `serve` would do as \
                             root; run it as the service user (e.g. `sudo -u sysgate sysgate \
                             check-config --config FILE`) to check the config the way the server \
                             will run it",
                        );
                    }
                    return Ok(ExitCode::FAILURE);
                }
            };
            stdout_write(&format!(
                "{}\n{}",
                config::summary(&config),
                crate::exec::program::listing()
            ))?;
        }
        Command::Serve => {
            // Before any thread exists (start() starts the worker pool): the activation
            // variables are removed from the environment here.
            let activated = sys::take_activated_listener()
                .map_err(|e| Error::io("socket activation (LISTEN_FDS)", e))?;
            let (config, server) = start(inv.config)?;
            server.audit_event(
                EventKind::Startup,
                serde_json::json!({
                    "version": crate::VERSION,
                    "transport": "stdio",
                    "config": config.source.as_ref().map(|p| p.display().to_string()),
                    "config_sha256": config.digest,
                    "scopes_enabled": config.scopes.enabled.names(),
                }),
            );
            if let (config::Transport::Unix, Some(u)) = (config.transport, &config.unix) {
                use crate::transport::unix::{self, Listener};
                let listener = match activated {
                    Some(l) => Listener::Activated(l),
                    None => Listener::Bound(unix::bind(&u.path, u.mode, u.group)?),
                };
                spawn_signal_thread(Arc::clone(&server));
                log::info(&format!(
                    "sysgate {} serving the unix socket; {}",
                    crate::VERSION,
                    config::summary(&config)
                ));
                let served = unix::serve(Arc::clone(&server), listener);
                server.audit_event(
                    EventKind::Shutdown,
                    serde_json::json!({"reason": "listener closed"}),
                );
                return served.map(|()| ExitCode::SUCCESS);
            }
            if activated.is_some() {
                log::warn("socket activation passed a socket, but transport is stdio; ignoring it");
            }
            spawn_signal_thread(Arc::clone(&server));
            log::info(&format!(
                "sysgate {} serving stdio; {}",
                crate::VERSION,
                config::summary(&config)
            ));
            let served = crate::transport::stdio::serve(Arc::clone(&server));
            let reason = match &served {
                Ok(()) => "client closed stdin".to_string(),
                Err(e) => e.to_string(),
            };
            server.audit_event(EventKind::Shutdown, serde_json::json!({"reason": reason}));
            served?;
        }
        Command::Tools { markdown } => {
            let server = Server::new(Config::default(), None)?;
            // The reference shows every tool, so every definition must compile.
            server.registry.compile_all().map_err(Error::Config)?;
            let text = if markdown {
                crate::tools::reference_markdown(server.registry)
            } else {
                let mut text: String = server
                    .registry
                    .iter()
                    .map(|t| format!("{}\t{}\t{}\n", t.def.name, t.def.scope, t.def.title))
                    .collect();
                text.push('\n');
                text.push_str(&crate::exec::program::listing());
                text
            };
            stdout_write(&text)?;
        }
        Command::AuditVerify { files, key } => return audit_verify(&files, key, inv.config),
        Command::TokenMint { agent, scopes, ttl } => {
            return token::mint(inv.config.as_deref(), &agent, &scopes, ttl.as_deref());
        }
        Command::TokenVerify { token } => return token::verify(inv.config.as_deref(), &token),
        Command::Connect { socket } => return connect(&socket),
        Command::Query { tool, args } => {
            let (_, server) = start(inv.config)?;
            return query(&server, &tool, args.as_deref());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `sysgate connect`: bytes from stdin to the socket and from the socket to stdout, nothing
/// parsed or trusted; the server names the caller by its uid. Ends when the server closes the
/// connection (or stdin ends and the server has answered).
fn connect(path: &Path) -> Result<ExitCode, Error> {
    let stream = std::os::unix::net::UnixStream::connect(path)
        .map_err(|e| Error::io(format!("connecting to {}", path.display()), e))?;
    let mut to_server = stream
        .try_clone()
        .map_err(|e| Error::io("cloning the connection", e))?;
    std::thread::spawn(move || {
        let _ = relay(&mut std::io::stdin().lock(), &mut to_server);
        // Our input ended: tell the server, which answers what is running and then closes.
        let _ = to_server.shutdown(std::net::Shutdown::Write);
    });
    let mut from_server = stream;
    relay(&mut from_server, &mut std::io::stdout().lock())
        .map_err(|e| Error::io("relaying to stdout", e))?;
    Ok(ExitCode::SUCCESS)
}

/// Copies whatever arrives as soon as it arrives. Not `io::copy`: on Linux it may hand a pipe
/// to `sendfile`/`splice` with a large count, which waits for that much input (or its end)
/// before passing anything on, and an MCP client waits for each answer.
fn relay(from: &mut impl std::io::Read, to: &mut impl Write) -> std::io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        to.write_all(&buf[..n])?;
        to.flush()?;
    }
}

/// How the root refusal starts (check-config adds a hint after it).
const ROOT_REFUSAL: &str = "refusing to run as root (allow_root is false)";

/// Harden the process, load and check the config, refuse unsafe situations, build the server.
/// Everything here happens before any listener opens or any tool runs.
fn start(config_arg: Option<PathBuf>) -> Result<(Arc<Config>, Arc<Server>), Error> {
    // Files we create (audit logs, sockets) are private unless we say otherwise.
    sys::set_umask(0o077);
    // Before the worker pool starts its threads; the setting only bounds memory, so a C library
    // without it is fine.
    let _ = sys::limit_malloc_arenas();
    sys::set_not_dumpable().map_err(|e| Error::io("prctl(PR_SET_DUMPABLE)", e))?;
    sys::disable_core_dumps().map_err(|e| Error::io("setrlimit(RLIMIT_CORE)", e))?;

    let config = config::load(config_arg.as_deref()).map_err(|problems| {
        for p in &problems {
            log::error(p);
        }
        Error::Config(format!(
            "refusing to start: {} problem(s) in the configuration",
            problems.len()
        ))
    })?;
    log::set_level(config.log_level);
    for w in &config.warnings {
        log::warn(w);
    }
    if sys::euid() == 0 {
        if !config.allow_root {
            return Err(Error::Config(format!(
                "{ROOT_REFUSAL}: sysgate needs no privileges for its read-only tools. Run it as an \
                 unprivileged service user, or set `allow_root: true` in the config if you accept what root adds"
            )));
        }
        log::warn(
            "running as root (allow_root: true): tools read with root's rights, e.g. every process's \
             command line and owner, and every mount; a flaw in sysgate would be a root compromise",
        );
    }
    if let Some(gid) = docker_gid()
        && sys::groups().contains(&gid)
    {
        log::warn(
            "the service user is in the `docker` group, which is equivalent to root on this host; \
             remove it unless container tools need it",
        );
    }
    // The program table: a few opens and fstats, once, before any call can need it.
    let _ = crate::exec::program::table();
    let server = Server::new(config, config_arg)?;
    Ok((server.config(), server))
}

fn docker_gid() -> Option<u32> {
    let text = std::fs::read_to_string("/etc/group").ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == "docker").then_some(())?;
        f.nth(1)?.parse().ok()
    })
}

fn spawn_signal_thread(server: Arc<Server>) {
    let _ = std::thread::Builder::new()
        .name("sysgate-signals".into())
        .spawn(move || {
            loop {
                match sys::wait_signal() {
                    sys::Signal::Hangup => match server.reload() {
                        Ok(notes) => {
                            log::info(&format!(
                                "config reloaded; {}",
                                config::summary(&server.config())
                            ));
                            for n in notes {
                                log::warn(&n);
                            }
                        }
                        Err(problems) => {
                            for p in &problems {
                                log::error(p);
                            }
                            log::error(
                                "config reload rejected; the previous config stays in force",
                            );
                        }
                    },
                    sys::Signal::Terminate => {
                        // Calls already running get their answers (each bounded by its own
                        // deadline); new ones are refused meanwhile.
                        log::info("terminating on signal; letting running calls answer");
                        server.close();
                        let longest = server.config().resources.longest_deadline();
                        server.drain(longest + std::time::Duration::from_millis(100));
                        server.audit_event(
                            EventKind::Shutdown,
                            serde_json::json!({"reason": "SIGTERM"}),
                        );
                        std::process::exit(0);
                    }
                }
            }
        });
}

/// `audit verify`: the key comes from the flags, else from the config's audit section.
fn audit_verify(
    files: &[PathBuf],
    key: Option<SecretSource>,
    config_arg: Option<PathBuf>,
) -> Result<ExitCode, Error> {
    let source = match key {
        Some(k) => k,
        None => {
            let config =
                config::load(config_arg.as_deref()).map_err(|p| Error::Config(p.join("; ")))?;
            config.audit.map(|a| a.key).ok_or_else(|| {
                Error::Usage("no audit key: pass --key-file or --key-env, or a --config with an audit section".into())
            })?
        }
    };
    // The key of the log named first (its directory's owner is the service user, see load_for).
    let key = AuditKey::load_for(
        &source,
        files.first().map_or(Path::new("."), |p| p.as_path()),
    )
    .map_err(|e| Error::Config(e.to_string()))?;
    // Exit codes (docs/configuration.md): 0 intact and complete, 1 broken or incomplete, 2 not
    // something that can be verified (usage, not a regular file), 3 nothing verified (no records).
    match crate::audit::verify(files, &key) {
        Ok(report) => {
            stdout_write(&format!("{report}\n"))?;
            Ok(ExitCode::from(if !report.complete() {
                1
            } else if report.records == 0 {
                3
            } else {
                0
            }))
        }
        Err(e) => {
            stdout_write(&format!("{e}\n"))?;
            Ok(ExitCode::from(match e {
                crate::audit::VerifyError::Usage(_) => 2,
                _ => 1,
            }))
        }
    }
}

/// One tool call through the same gate and call lifecycle as a session (the same pool, the same
/// enforced deadline); prints the `tools/call` result.
fn query(server: &Arc<Server>, name: &str, args: Option<&str>) -> Result<ExitCode, Error> {
    let snap = server.snapshot();
    let caller = Caller::local(TransportKind::Cli);
    let args: Option<Value> = match args {
        None => None,
        Some(text) => Some(
            serde_json::from_str(text)
                .map_err(|e| Error::Usage(format!("--args is not valid JSON: {e}")))?,
        ),
    };
    let request_id = format!("{}.cli", std::process::id());
    let started = Instant::now();
    let value = match server.gate(
        &snap,
        &caller,
        Some(name),
        args.as_ref(),
        &request_id,
        started,
    ) {
        Gate::Admitted(admitted) => server
            .call_and_wait(snap, Arc::new(caller), admitted, request_id, started)
            .map_err(|b| Error::Config(b.message().to_string()))?,
        Gate::Refused(answer) => answer,
        Gate::Invalid(_) => {
            return Err(Error::Usage(format!(
                "unknown tool `{name}` (see `sysgate tools`)"
            )));
        }
    };
    let ok = value["isError"] == false;
    let text = serde_json::to_string_pretty(&value).unwrap_or_default();
    stdout_write(&(text + "\n"))?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Invocation, lexopt::Error> {
        parse(args.iter().map(|s| std::ffi::OsString::from(*s)))
    }

    #[test]
    fn parses_commands() {
        assert!(matches!(p(&[]).unwrap().command, Command::Serve));
        let inv = p(&["serve", "--transport", "stdio", "--config", "/x.yaml"]).unwrap();
        assert!(matches!(inv.command, Command::Serve));
        assert_eq!(inv.config, Some(PathBuf::from("/x.yaml")));
        assert!(matches!(
            p(&["--version"]).unwrap().command,
            Command::Version
        ));
        assert!(matches!(
            p(&["check-config"]).unwrap().command,
            Command::CheckConfig
        ));
        match p(&["query", "get_processes", "--args", "{\"limit\":3}"])
            .unwrap()
            .command
        {
            Command::Query { tool, args } => {
                assert_eq!(tool, "get_processes");
                assert_eq!(args.as_deref(), Some("{\"limit\":3}"));
            }
            c => panic!("expected query, got {c:?}"),
        }
        match p(&["audit", "verify", "a.jsonl", "b.jsonl", "--key-env", "K"])
            .unwrap()
            .command
        {
            Command::AuditVerify { files, key } => {
                assert_eq!(files.len(), 2);
                assert_eq!(key, Some(SecretSource::Env("K".into())));
            }
            c => panic!("expected audit verify, got {c:?}"),
        }
    }

    #[test]
    fn rejects_bad_usage() {
        assert!(p(&["--transport", "http"]).is_err());
        assert!(p(&["query"]).is_err());
        assert!(p(&["bogus"]).is_err());
        assert!(p(&["serve", "extra"]).is_err());
        assert!(p(&["--args", "{}"]).is_err());
        assert!(p(&["--nope"]).is_err());
        assert!(p(&["--config"]).is_err());
        assert!(p(&["audit", "verify"]).is_err());
        assert!(p(&["audit", "check", "x"]).is_err());
        assert!(p(&["query", "whoami", "--key-file", "k"]).is_err());
        assert!(p(&["token", "mint", "--scopes", "core"]).is_err());
        assert!(p(&["token", "mint", "--agent", "a"]).is_err());
        assert!(p(&["token", "verify"]).is_err());
        assert!(p(&["token", "revoke", "x"]).is_err());
        assert!(p(&["token", "verify", "t", "extra"]).is_err());
        assert!(p(&["query", "whoami", "--agent", "a"]).is_err());
    }

    #[test]
    fn parses_token_commands() {
        match p(&[
            "token",
            "mint",
            "--agent",
            "ci",
            "--scopes",
            "core,hooks",
            "--ttl",
            "5m",
        ])
        .unwrap()
        .command
        {
            Command::TokenMint { agent, scopes, ttl } => {
                assert_eq!((agent.as_str(), scopes.as_str()), ("ci", "core,hooks"));
                assert_eq!(ttl.as_deref(), Some("5m"));
            }
            c => panic!("{c:?}"),
        }
        assert!(matches!(
            p(&["token", "verify", "-"]).unwrap().command,
            Command::TokenVerify { token } if token == "-"
        ));
    }
}
