#![forbid(unsafe_code)]
//! Command-line parsing (lexopt) and the subcommands.

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use lexopt::prelude::*;
use serde_json::Value;

use crate::auth::{Caller, TransportKind};
use crate::config::Config;
use crate::error::Error;
use crate::server::Server;
use crate::tools::Cancel;
use crate::{output, policy};

const HELP: &str = "\
sysgate: read-mostly access to this Linux host for MCP clients, never a shell

USAGE:
    sysgate [serve] [--transport stdio]     serve MCP (default: stdio)
    sysgate query TOOL [--args JSON]        run one tool call through the same gate, print the result
    sysgate tools [--markdown]              list the tools this build has
    sysgate version | --version             print the version
    sysgate help | --help                   print this help

An MCP client normally spawns `sysgate` itself; see README.md.
";

enum Command {
    Serve,
    Query { tool: String, args: Option<String> },
    Tools { markdown: bool },
    Version,
    Help,
}

fn parse(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<Command, lexopt::Error> {
    let mut p = lexopt::Parser::from_iter(std::iter::once("sysgate".into()).chain(args));
    let mut cmd: Option<String> = None;
    let mut positional = Vec::new();
    let mut query_args = None;
    let mut markdown = false;
    while let Some(arg) = p.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help),
            Short('V') | Long("version") => return Ok(Command::Version),
            Long("transport") => {
                let t: String = p.value()?.string()?;
                if t != "stdio" {
                    return Err(format!("--transport {t}: this build serves `stdio` only").into());
                }
            }
            Long("args") => query_args = Some(p.value()?.string()?),
            Long("markdown") => markdown = true,
            Value(v) if cmd.is_none() => cmd = Some(v.string()?),
            Value(v) => positional.push(v.string()?),
            _ => return Err(arg.unexpected()),
        }
    }
    let mut positional = positional.into_iter();
    let has_args = query_args.is_some();
    let command = match cmd.as_deref() {
        None | Some("serve") => Command::Serve,
        Some("query") => Command::Query {
            tool: positional
                .next()
                .ok_or("query: name the tool, e.g. `sysgate query get_uptime`")?,
            args: query_args,
        },
        Some("tools") => Command::Tools { markdown },
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
    Ok(command)
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cmd = match parse(std::env::args_os().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sysgate: {e}\n\n{HELP}");
            return ExitCode::from(2);
        }
    };
    match run(cmd) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sysgate: {e}");
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

fn run(cmd: Command) -> Result<ExitCode, Error> {
    match cmd {
        Command::Help => stdout_write(HELP)?,
        Command::Version => stdout_write(&format!("sysgate {}\n", crate::VERSION))?,
        Command::Serve => {
            let server = Server::new(Config::default())?;
            crate::transport::stdio::serve(server)?;
        }
        Command::Tools { markdown } => {
            let server = Server::new(Config::default())?;
            let text = if markdown {
                crate::tools::reference_markdown(&server.registry)
            } else {
                server
                    .registry
                    .iter()
                    .map(|t| format!("{}\t{}\t{}\n", t.def.name, t.def.scope, t.def.title))
                    .collect()
            };
            stdout_write(&text)?;
        }
        Command::Query { tool, args } => return query(&tool, args.as_deref()),
    }
    Ok(ExitCode::SUCCESS)
}

/// One tool call through the same gate and handler as a session; prints the `tools/call` result.
fn query(name: &str, args: Option<&str>) -> Result<ExitCode, Error> {
    let server = Server::new(Config::default())?;
    let config = server.config();
    let caller = Caller::local(
        TransportKind::Cli,
        config.scopes.stdio.intersect(config.scopes.enabled),
    );
    let args: Option<Value> = match args {
        None => None,
        Some(text) => Some(
            serde_json::from_str(text)
                .map_err(|e| Error::Usage(format!("--args is not valid JSON: {e}")))?,
        ),
    };
    let tool = server
        .registry
        .get(name)
        .ok_or_else(|| Error::Usage(format!("unknown tool `{name}` (see `sysgate tools`)")))?;
    let result = policy::check(&config, &caller, tool, args.as_ref()).and_then(|args| {
        let deadline = Instant::now() + config.resources.deadline_for(tool.def.impact);
        server.execute(
            &config,
            &caller,
            tool,
            &args,
            &Cancel::default(),
            deadline,
            None,
        )
    });
    let (value, ok) = match result {
        Ok(v) => (output::success(v), true),
        Err(e) => (output::failure(&e), false),
    };
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

    fn p(args: &[&str]) -> Result<Command, lexopt::Error> {
        parse(args.iter().map(|s| std::ffi::OsString::from(*s)))
    }

    #[test]
    fn parses_commands() {
        assert!(matches!(p(&[]), Ok(Command::Serve)));
        assert!(matches!(
            p(&["serve", "--transport", "stdio"]),
            Ok(Command::Serve)
        ));
        assert!(matches!(p(&["--version"]), Ok(Command::Version)));
        match p(&["query", "get_processes", "--args", "{\"limit\":3}"]) {
            Ok(Command::Query { tool, args }) => {
                assert_eq!(tool, "get_processes");
                assert_eq!(args.as_deref(), Some("{\"limit\":3}"));
            }
            _ => panic!("expected query"),
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
    }
}
