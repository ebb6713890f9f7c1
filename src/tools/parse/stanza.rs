#![forbid(unsafe_code)]
//! Streaming readers shared by the package database parsers: bounded lines, and stanzas
//! (paragraphs of `Name: value` or `X:value` lines separated by blank lines) of which only the
//! fields a parser asks for are kept.
//!
//! Nothing here grows with the input: a line keeps at most its first `max` bytes (the rest is
//! read and dropped, and the line is marked `cut`), and a stanza keeps only the first line of
//! each wanted field, so a 10 MB field, a stanza of a million lines or a file without a newline
//! costs the same memory as a small one. Input is bytes: nothing assumes UTF-8.

use std::io::{self, BufRead};

/// Bytes kept of one line: far above any real name, version or first line of a description.
pub const MAX_LINE: usize = 4096;

/// One physical line, without its `\n`.
#[derive(Debug)]
pub struct Line<'a> {
    pub text: &'a [u8],
    /// The line was longer than the reader keeps; `text` is its start.
    pub cut: bool,
    /// 1-based line number.
    pub number: u64,
}

/// Lines of a reader, each cut at `max` bytes.
#[derive(Debug)]
pub struct Lines<R> {
    reader: R,
    buf: Vec<u8>,
    number: u64,
    max: usize,
}

impl<R: BufRead> Lines<R> {
    pub fn new(reader: R, max: usize) -> Lines<R> {
        Lines {
            reader,
            buf: Vec::new(),
            number: 0,
            max,
        }
    }

    /// The next line, or `None` at the end. A last line without `\n` is still a line.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        self.buf.clear();
        let mut cut = false;
        let mut any = false;
        loop {
            let avail = match self.reader.fill_buf() {
                Ok(a) => a,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if avail.is_empty() {
                if !any {
                    return Ok(None);
                }
                break;
            }
            any = true;
            let (chunk, used, done) = match avail.iter().position(|&b| b == b'\n') {
                Some(i) => (&avail[..i], i + 1, true),
                None => (avail, avail.len(), false),
            };
            let room = self.max - self.buf.len();
            if chunk.len() > room {
                cut = true;
            }
            self.buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
            self.reader.consume(used);
            if done {
                break;
            }
        }
        self.number += 1;
        Ok(Some(Line {
            text: &self.buf,
            cut,
            number: self.number,
        }))
    }
}

/// The first line of one wanted field.
#[derive(Debug, Clone, Default)]
pub struct Slot {
    /// The value with surrounding spaces and tabs trimmed.
    pub value: Vec<u8>,
    /// The line was longer than [`MAX_LINE`]: `value` is incomplete.
    pub cut: bool,
}

/// One stanza: the wanted fields found in it, by index into the field list.
#[derive(Debug, Default)]
pub struct Stanza {
    /// Line number of its first line.
    pub line: u64,
    slots: Vec<Option<Slot>>,
    /// Index of a wanted field that appeared more than once.
    pub duplicate: Option<usize>,
}

impl Stanza {
    pub fn get(&self, field: usize) -> Option<&Slot> {
        self.slots.get(field).and_then(Option::as_ref)
    }

    fn reset(&mut self, fields: usize) {
        self.line = 0;
        self.duplicate = None;
        self.slots.clear();
        self.slots.resize(fields, None);
    }
}

/// How a format spells its lines.
#[derive(Debug, Clone, Copy)]
pub struct Syntax {
    /// The wanted field names.
    pub fields: &'static [&'static [u8]],
    /// deb822 (`Name: value`, names compared without ASCII case, continuation lines start with
    /// a space or tab, a line of only spaces and tabs ends a stanza) or apk (`X:value`, one
    /// case-sensitive letter, no continuation lines, an empty line ends a stanza).
    pub deb822: bool,
}

/// Stanzas of a reader.
#[derive(Debug)]
pub struct Stanzas<R> {
    lines: Lines<R>,
    syntax: Syntax,
    stanza: Stanza,
}

impl<R: BufRead> Stanzas<R> {
    pub fn new(reader: R, syntax: Syntax) -> Stanzas<R> {
        Stanzas {
            lines: Lines::new(reader, MAX_LINE),
            syntax,
            stanza: Stanza::default(),
        }
    }

    /// The next stanza that has at least one line other than blank ones, or `None` at the end.
    pub fn next_stanza(&mut self) -> io::Result<Option<&Stanza>> {
        let fields = self.syntax.fields;
        self.stanza.reset(fields.len());
        let mut started = false;
        while let Some(line) = self.lines.next_line()? {
            let blank = if self.syntax.deb822 {
                line.text.iter().all(|b| *b == b' ' || *b == b'\t')
            } else {
                line.text.is_empty()
            };
            if blank {
                if started {
                    return Ok(Some(&self.stanza));
                }
                continue;
            }
            if !started {
                started = true;
                self.stanza.line = line.number;
            }
            if self.syntax.deb822 && matches!(line.text[0], b' ' | b'\t') {
                // A continuation line: only first lines are kept.
                continue;
            }
            let Some(colon) = line.text.iter().position(|b| *b == b':') else {
                continue;
            };
            let (name, value) = (&line.text[..colon], &line.text[colon + 1..]);
            let found = fields.iter().position(|f| {
                if self.syntax.deb822 {
                    f.eq_ignore_ascii_case(name)
                } else {
                    *f == name
                }
            });
            let Some(i) = found else { continue };
            if self.stanza.slots[i].is_some() {
                self.stanza.duplicate.get_or_insert(i);
                continue;
            }
            self.stanza.slots[i] = Some(Slot {
                value: trim(value).to_vec(),
                cut: line.cut,
            });
        }
        Ok(started.then_some(&self.stanza))
    }
}

/// `b` without leading and trailing spaces, tabs and carriage returns.
pub fn trim(b: &[u8]) -> &[u8] {
    let ws = |c: &u8| matches!(c, b' ' | b'\t' | b'\r');
    let start = b.iter().position(|c| !ws(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !ws(c)).map_or(start, |e| e + 1);
    &b[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_bounded_and_the_last_needs_no_newline() {
        let input = format!("a\n{}\nlast", "x".repeat(10_000));
        let mut l = Lines::new(input.as_bytes(), 8);
        let one = l.next_line().unwrap().unwrap();
        assert_eq!((one.text, one.cut, one.number), (&b"a"[..], false, 1));
        let two = l.next_line().unwrap().unwrap();
        assert_eq!((two.text, two.cut), (&b"xxxxxxxx"[..], true));
        let three = l.next_line().unwrap().unwrap();
        assert_eq!(
            (three.text, three.cut, three.number),
            (&b"last"[..], false, 3)
        );
        assert!(l.next_line().unwrap().is_none());
        // A small BufReader buffer: a line spans many refills.
        let big = format!("{}\nz\n", "y".repeat(100_000));
        let mut l = Lines::new(io::BufReader::with_capacity(16, big.as_bytes()), 4);
        assert!(l.next_line().unwrap().unwrap().cut);
        assert_eq!(l.next_line().unwrap().unwrap().text, b"z");
        assert!(l.next_line().unwrap().is_none());
    }

    const SYNTAX: Syntax = Syntax {
        fields: &[b"Package", b"Version"],
        deb822: true,
    };

    #[test]
    fn stanzas_keep_first_lines_of_wanted_fields() {
        let text = b"\n\npackage: a\nOther: x\n y\nVersion:  1.0 \n \t\nPackage: b\nPackage: c\nnot a field\n";
        let mut s = Stanzas::new(&text[..], SYNTAX);
        let a = s.next_stanza().unwrap().unwrap();
        assert_eq!(a.line, 3);
        assert_eq!(a.get(0).unwrap().value, b"a");
        assert_eq!(a.get(1).unwrap().value, b"1.0");
        assert!(a.duplicate.is_none());
        let b = s.next_stanza().unwrap().unwrap();
        assert_eq!(b.get(0).unwrap().value, b"b");
        assert_eq!(b.duplicate, Some(0));
        assert!(b.get(1).is_none());
        assert!(s.next_stanza().unwrap().is_none());
    }

    #[test]
    fn apk_syntax_is_case_sensitive_and_has_no_continuations() {
        let syntax = Syntax {
            fields: &[b"P", b"V"],
            deb822: false,
        };
        let text = b"P:musl\np:so:libc.so\nV:1.2\n  \n";
        let mut s = Stanzas::new(&text[..], syntax);
        let a = s.next_stanza().unwrap().unwrap();
        assert_eq!(a.get(0).unwrap().value, b"musl");
        assert_eq!(a.get(1).unwrap().value, b"1.2");
        // "  " is not empty: it is a line of the same stanza (and not a field).
        assert!(s.next_stanza().unwrap().is_none());
    }

    #[test]
    fn trim_trims() {
        assert_eq!(trim(b" \ta b\r "), b"a b");
        assert_eq!(trim(b"   "), b"");
        assert_eq!(trim(b""), b"");
    }
}
