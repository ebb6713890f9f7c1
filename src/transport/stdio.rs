#![forbid(unsafe_code)]
//! stdio: one compact JSON message per line. stdout carries only MCP (one writer, flushed per
//! message); logs go to stderr. EOF on stdin ends the session cleanly.

use std::io::{self, BufReader, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;

use super::framing::{Frame, read_frame};
use crate::auth::{Caller, TransportKind};
use crate::error::Error;
use crate::protocol::session::{Session, Sink};
use crate::server::Server;

/// A sink that writes whole lines to one writer under a lock.
#[derive(Debug)]
pub struct LineSink<W: Write + Send> {
    out: Mutex<W>,
}

impl<W: Write + Send> LineSink<W> {
    pub fn new(out: W) -> Self {
        LineSink {
            out: Mutex::new(out),
        }
    }
}

impl<W: Write + Send> Sink for LineSink<W> {
    fn send(&self, msg: &Value) {
        let mut line = serde_json::to_vec(msg).unwrap_or_default();
        line.push(b'\n');
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        // A write error means the client went away; the reader will see EOF and end the session.
        let _ = out.write_all(&line).and_then(|()| out.flush());
    }
}

/// Serve one session over stdin/stdout until EOF.
pub fn serve(server: Arc<Server>) -> Result<(), Error> {
    let config = server.config();
    let caller = Caller::local(TransportKind::Stdio);
    // The OS authenticated this caller (it could spawn us); record who it is.
    server.audit_session(&config, &caller);
    let sink: Arc<dyn Sink> = Arc::new(LineSink::new(io::stdout()));
    let session = Session::new(Arc::clone(&server), caller, sink);
    let max = config.limits.max_message_bytes;
    let longest = config.resources.longest_deadline();
    drop(config);

    let mut input = BufReader::with_capacity(64 * 1024, io::stdin());
    let mut buf = Vec::with_capacity(4096);
    loop {
        match read_frame(&mut input, &mut buf, max) {
            Ok(Frame::Line) => session.handle_frame(&buf),
            Ok(Frame::TooLong) => session.frame_too_large(max),
            Ok(Frame::Eof) => break,
            Err(e) => return Err(Error::io("reading stdin", e)),
        }
        // Don't let one huge message pin its buffer for the rest of the session.
        if buf.capacity() > 64 * 1024 {
            buf = Vec::with_capacity(4096);
        }
    }
    // Let calls already running answer (each is bounded by its own deadline).
    session.drain(longest + Duration::from_millis(100));
    Ok(())
}
