#![forbid(unsafe_code)]
//! The `sysgate` binary: everything lives in the library (`sysgate::main` first blocks the
//! handled signals, then parses the command line); this only hands over the exit code.

fn main() -> std::process::ExitCode {
    sysgate::main()
}
