#![forbid(unsafe_code)]
//! The `sysgate` binary: everything lives in the library; this only hands over the exit code.

fn main() -> std::process::ExitCode {
    // The very first thing, before any thread exists or any work is done: from here on a
    // SIGHUP/SIGTERM/SIGINT stays pending for the server's signal thread instead of killing the
    // process with the default action (`cli::main` unblocks them again for one-shot commands).
    if let Err(e) = sysgate::sys::block_signals() {
        eprintln!("sysgate: error: blocking signals: {e}");
        return std::process::ExitCode::FAILURE;
    }
    sysgate::cli::main()
}
