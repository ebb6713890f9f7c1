#![forbid(unsafe_code)]
//! The error types. `Error` is for the process (startup, CLI, config); `ToolError` is what a caller
//! of a tool sees, phrased so that it tells the agent what to change.

use std::fmt;
use std::io;

/// A failure of the process itself: always carries enough context to act on.
#[derive(Debug)]
pub enum Error {
    /// Bad command-line usage.
    Usage(String),
    /// An I/O failure, with what we were doing.
    Io { context: String, source: io::Error },
    /// Invalid configuration: which setting, and why.
    Config(String),
}

impl Error {
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) => write!(f, "usage: {m}"),
            Error::Io { context, source } => write!(f, "{context}: {source}"),
            Error::Config(m) => write!(f, "config: {m}"),
        }
    }
}

impl std::error::Error for Error {}

/// Why a tool call did not produce a result. Every variant renders as a message that names what
/// the caller can change; none of them carries secrets or raw OS data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolError {
    /// An argument broke a rule of the input schema: `argument` is a JSON pointer-ish path.
    InvalidArgument { argument: String, rule: String },
    /// The policy gate refused the call.
    Denied(String),
    /// The data source is not available on this host (e.g. no hwmon, program missing).
    Unavailable(String),
    /// The call ran past its deadline and was stopped.
    DeadlineExceeded { tool: String, ms: u64 },
    /// The caller cancelled the call (never rendered: the response is suppressed).
    Cancelled,
    /// Any other failure, already phrased for the caller.
    Failed(String),
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ToolError::InvalidArgument { argument, rule } => {
                write!(f, "invalid argument `{argument}`: {rule}")
            }
            ToolError::Denied(m) => write!(f, "denied: {m}"),
            ToolError::Unavailable(m) => write!(f, "unavailable: {m}"),
            ToolError::DeadlineExceeded { tool, ms } => write!(
                f,
                "{tool} exceeded its deadline of {ms} ms and was stopped; ask for less work (e.g. a smaller `limit` or `sample_ms`)"
            ),
            ToolError::Cancelled => write!(f, "cancelled by the client"),
            ToolError::Failed(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for ToolError {}

/// Caller-supplied text as an error message may echo it: at most `max` characters, with `…`
/// when cut. The one truncation for echoed text (method names, tool names, unknown keys).
pub fn echo(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}

#[cfg(test)]
mod tests {
    use super::echo;

    #[test]
    fn echo_cuts_at_characters_and_marks_the_cut() {
        assert_eq!(echo("abc", 3), "abc");
        assert_eq!(echo("abcd", 3), "abc…");
        assert_eq!(echo("ééé", 2), "éé…");
        assert_eq!(echo("", 0), "");
        assert_eq!(echo("x", 0), "…");
    }
}
