#![forbid(unsafe_code)]
//! stdio: one compact JSON message per line. stdout carries only MCP (one writer, flushed per
//! message); logs go to stderr. EOF on stdin ends the session cleanly.

use std::io::{self, BufReader, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;

use super::framing::{Frame, read_frame};
use crate::auth::{Caller, TransportKind};
use crate::error::Error;
use crate::protocol::session::{Session, Sink};
use crate::server::Server;
use crate::sync::lock;

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

/// A message is serialized into a buffer of at most this many bytes before the writer's lock is
/// taken. Nearly every answer fits, so the lock is held only for the write. A larger answer (500
/// processes are ~280 KB) takes the lock when the first chunk is full and streams the rest in
/// chunks, so the serialized text of a big answer never sits in memory beside its value tree.
const CHUNK: usize = 16 * 1024;

/// Serializes one message into `buf`, spilling full chunks to the locked writer.
struct Chunked<'a, W: Write> {
    out: &'a Mutex<W>,
    guard: Option<MutexGuard<'a, W>>,
    buf: Vec<u8>,
}

impl<W: Write> Chunked<'_, W> {
    fn writer(&mut self) -> &mut W {
        let out = self.out;
        self.guard.get_or_insert_with(|| lock(out))
    }

    fn spill(&mut self) -> io::Result<()> {
        let out = self.out;
        let r = self
            .guard
            .get_or_insert_with(|| lock(out))
            .write_all(&self.buf);
        self.buf.clear();
        r
    }

    /// End the line, write what is buffered and flush.
    fn finish(mut self) -> io::Result<()> {
        self.buf.push(b'\n');
        self.spill()?;
        self.writer().flush()
    }
}

impl<W: Write> Write for Chunked<'_, W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > CHUNK {
            self.spill()?;
            if data.len() >= CHUNK {
                return self.writer().write_all(data).map(|()| data.len());
            }
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write + Send> Sink for LineSink<W> {
    fn send(&self, msg: &Value) {
        let mut w = Chunked {
            out: &self.out,
            guard: None,
            buf: Vec::new(),
        };
        // A write error means the client went away; the reader will see EOF and end the session.
        // (Serializing a `Value` cannot fail otherwise: its map keys are strings.)
        if serde_json::to_writer(&mut w, msg).is_ok() {
            let _ = w.finish();
        }
    }
}

/// Serve one session over stdin/stdout until EOF.
pub fn serve(server: Arc<Server>) -> Result<(), Error> {
    let caller = Caller::local(TransportKind::Stdio);
    // The OS authenticated this caller (it could spawn us); record who it is.
    server.audit_session(&caller);
    let sink: Arc<dyn Sink> = Arc::new(LineSink::new(io::stdout()));
    match serve_lines(server, caller, io::stdin(), sink, None) {
        Ok(()) => Ok(()),
        Err(e) => Err(Error::io("reading stdin", e)),
    }
}

/// Serve one session of newline-delimited messages from `input` until EOF (stdio and each Unix
/// socket connection). At EOF the calls already running answer (each bounded by its deadline).
/// A read error (a Unix socket's idle timeout among them) or a set `broken` flag (the writer
/// could not deliver an answer) means nobody will read the answers: the session's calls are
/// cancelled instead, so a dead peer's queued work does not hold the pool. The error is returned.
pub fn serve_lines(
    server: Arc<Server>,
    caller: Caller,
    input: impl io::Read,
    sink: Arc<dyn Sink>,
    broken: Option<&AtomicBool>,
) -> io::Result<()> {
    let config = server.config();
    let session = Session::new(Arc::clone(&server), caller, sink);
    let max = config.limits.max_message_bytes;
    let longest = config.resources.longest_deadline();
    drop(config);

    let mut input = BufReader::with_capacity(64 * 1024, input);
    let mut buf = Vec::with_capacity(4096);
    let result = loop {
        match read_frame(&mut input, &mut buf, max) {
            Ok(Frame::Line) => session.handle_frame(&buf),
            Ok(Frame::TooLong) => session.frame_too_large(max),
            Ok(Frame::Eof) => break Ok(()),
            Err(e) => break Err(e),
        }
        // Don't let one huge message pin its buffer for the rest of the session.
        if buf.capacity() > 64 * 1024 {
            buf = Vec::with_capacity(4096);
        }
    };
    if result.is_err() || broken.is_some_and(|b| b.load(Ordering::Acquire)) {
        session.cancel_all();
    }
    // Let calls already running answer (each is bounded by its own deadline).
    session.drain(longest + Duration::from_millis(100));
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A writer that records every `write` call, to see chunking and line integrity.
    #[derive(Debug, Default)]
    struct Recorder {
        bytes: Vec<u8>,
        writes: Vec<usize>,
        flushes: usize,
    }

    impl Write for Recorder {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            self.bytes.extend_from_slice(data);
            self.writes.push(data.len());
            Ok(data.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            self.flushes += 1;
            Ok(())
        }
    }

    fn big_message(n: usize) -> Value {
        let items: Vec<Value> = (0..n)
            .map(|i| json!({"pid": i, "name": format!("proc \"{i}\"\n"), "cmdline": "x".repeat(200)}))
            .collect();
        json!({"jsonrpc": "2.0", "id": 7, "result": {"items": items}})
    }

    #[test]
    fn small_message_is_one_write_and_one_flush() {
        let sink = LineSink::new(Recorder::default());
        let msg = json!({"jsonrpc": "2.0", "id": 1, "result": {}});
        sink.send(&msg);
        let rec = sink.out.into_inner().unwrap();
        assert_eq!(rec.writes.len(), 1);
        assert_eq!(rec.flushes, 1);
        let mut expected = serde_json::to_vec(&msg).unwrap();
        expected.push(b'\n');
        assert_eq!(rec.bytes, expected);
    }

    #[test]
    fn large_message_streams_in_bounded_chunks_and_stays_one_line() {
        let sink = LineSink::new(Recorder::default());
        let msg = big_message(2_000);
        sink.send(&msg);
        let rec = sink.out.into_inner().unwrap();
        let mut expected = serde_json::to_vec(&msg).unwrap();
        assert!(
            expected.len() > 4 * CHUNK,
            "the test message must span chunks"
        );
        expected.push(b'\n');
        assert_eq!(rec.bytes, expected, "streamed bytes differ from to_vec");
        assert!(rec.writes.len() >= 4);
        assert!(
            rec.writes.iter().all(|&n| n <= CHUNK + 1),
            "{:?}",
            rec.writes
        );
        assert_eq!(rec.flushes, 1);
        assert_eq!(rec.bytes.iter().filter(|&&b| b == b'\n').count(), 1);
    }

    #[test]
    fn concurrent_large_and_small_messages_never_interleave() {
        let sink = Arc::new(LineSink::new(Recorder::default()));
        let big = big_message(1_000);
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let sink = Arc::clone(&sink);
                let big = big.clone();
                std::thread::spawn(move || {
                    for i in 0..20 {
                        if (i + t) % 3 == 0 {
                            sink.send(&big);
                        } else {
                            sink.send(&json!({"jsonrpc": "2.0", "id": i, "result": {"t": t}}));
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let rec = Arc::try_unwrap(sink).unwrap().out.into_inner().unwrap();
        let lines: Vec<&[u8]> = rec.bytes.split(|&b| b == b'\n').collect();
        assert_eq!(lines.len(), 81, "80 messages, each ending its own line");
        for line in &lines[..80] {
            let v: Value = serde_json::from_slice(line).expect("every line is one whole message");
            assert!(v == big || v["result"]["t"].is_number(), "{v}");
        }
    }
}
