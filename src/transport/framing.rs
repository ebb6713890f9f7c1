#![forbid(unsafe_code)]
//! Newline-delimited framing with a hard size cap, shared by stdio and the Unix socket.
//! A line longer than the cap is discarded up to its newline without ever being buffered whole.

use std::io::{self, BufRead};

/// What one read produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A complete line (without its `\n` or a trailing `\r`), in the caller's buffer.
    Line,
    /// A line over the cap; its bytes were discarded through the next newline.
    TooLong,
    /// End of input (a final unterminated line is returned as `Line` first).
    Eof,
}

/// Read the next non-empty line into `buf` (cleared first), holding at most `max` bytes.
pub fn read_frame(r: &mut impl BufRead, buf: &mut Vec<u8>, max: usize) -> io::Result<Frame> {
    loop {
        buf.clear();
        let mut too_long = false;
        loop {
            let chunk = match r.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                if too_long {
                    return Ok(Frame::TooLong);
                }
                if buf.is_empty() {
                    return Ok(Frame::Eof);
                }
                break;
            }
            let (take, found) = match chunk.iter().position(|b| *b == b'\n') {
                Some(i) => (i, true),
                None => (chunk.len(), false),
            };
            if !too_long {
                if buf.len() + take > max {
                    too_long = true;
                    buf.clear();
                } else {
                    buf.extend_from_slice(&chunk[..take]);
                }
            }
            r.consume(if found { take + 1 } else { take });
            if found {
                break;
            }
        }
        if too_long {
            return Ok(Frame::TooLong);
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        if !buf.iter().all(u8::is_ascii_whitespace) {
            return Ok(Frame::Line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    fn frames(input: &[u8], max: usize, cap: usize) -> Vec<(Frame, Vec<u8>)> {
        // A tiny BufReader capacity exercises lines split across reads.
        let mut r = BufReader::with_capacity(cap, input);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        loop {
            let f = read_frame(&mut r, &mut buf, max).unwrap();
            let done = f == Frame::Eof;
            out.push((f, buf.clone()));
            if done {
                return out;
            }
        }
    }

    #[test]
    fn splits_lines_and_skips_blank_ones() {
        let out = frames(b"one\r\n\n  \ntwo\nthree", 100, 3);
        assert_eq!(out[0], (Frame::Line, b"one".to_vec()));
        assert_eq!(out[1], (Frame::Line, b"two".to_vec()));
        assert_eq!(out[2], (Frame::Line, b"three".to_vec()));
        assert_eq!(out[3].0, Frame::Eof);
    }

    #[test]
    fn oversize_lines_are_discarded_and_reading_continues() {
        let mut input = vec![b'x'; 50];
        input.extend_from_slice(b"\nok\n");
        input.extend(vec![b'y'; 50]);
        let out = frames(&input, 10, 4);
        assert_eq!(out[0].0, Frame::TooLong);
        assert_eq!(out[1], (Frame::Line, b"ok".to_vec()));
        assert_eq!(out[2].0, Frame::TooLong);
        assert_eq!(out[3].0, Frame::Eof);
        // Exactly at the cap is fine.
        let out = frames(b"0123456789\n", 10, 4);
        assert_eq!(out[0], (Frame::Line, b"0123456789".to_vec()));
    }
}
