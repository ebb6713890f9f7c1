#![forbid(unsafe_code)]
//! The `sysgate` binary: everything lives in the library; this only hands over the exit code.

fn main() -> std::process::ExitCode {
    sysgate::cli::main()
}
