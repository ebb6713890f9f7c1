#![forbid(unsafe_code)]
//! The reads the hooks handlers share: whole small files (capped, never a FIFO or device, and
//! without following a symlink where none belongs), and large `/proc` tables line by line.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::error::ToolError;
use crate::tools::Ctx;

/// Open `path` read-only without blocking (a FIFO put in its place cannot hang the call), and
/// refuse anything but a regular file. With `nofollow`, a symlink is refused (`ELOOP`).
pub fn open_regular(path: &Path, nofollow: bool) -> io::Result<File> {
    let mut flags = libc::O_NONBLOCK | libc::O_CLOEXEC;
    if nofollow {
        flags |= libc::O_NOFOLLOW;
    }
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)?;
    if !f.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(f)
}

/// A whole file of at most `max` bytes as text (invalid UTF-8 replaced); more is an error, not
/// a silent cut, so a parser never sees half a line as the end.
pub fn read_small(path: &Path, max: u64, nofollow: bool) -> io::Result<String> {
    let mut buf = Vec::new();
    open_regular(path, nofollow)?
        .take(max + 1)
        .read_to_end(&mut buf)?;
    if buf.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {max} bytes"),
        ));
    }
    Ok(match String::from_utf8(buf) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// Call `each` with every line of a `/proc` table, reading it in pieces (a busy host's
/// `/proc/net/tcp` can be tens of megabytes) and checking the deadline as it goes. Lines that
/// are not UTF-8 are passed lossily; at most `max_lines` are read.
pub fn for_each_line(
    ctx: &Ctx<'_>,
    path: &Path,
    max_lines: usize,
    mut each: impl FnMut(&str),
) -> Result<io::Result<()>, ToolError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => return Ok(Err(e)),
    };
    let mut r = BufReader::with_capacity(64 * 1024, file);
    let mut line = Vec::with_capacity(256);
    for n in 0..max_lines {
        if n % 4096 == 0 {
            ctx.check()?;
        }
        line.clear();
        match r.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => each(&String::from_utf8_lossy(&line)),
            Err(e) => return Ok(Err(e)),
        }
    }
    Ok(Ok(()))
}

/// A result struct as `structuredContent`.
pub fn to_value<T: Serialize>(v: &T) -> Result<Value, ToolError> {
    serde_json::to_value(v)
        .map_err(|e| ToolError::Failed(format!("internal error: cannot encode the result: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_reads_refuse_links_fifos_and_big_files() {
        let dir = crate::testdir::TempDir::new("netfs");
        let f = dir.join("file");
        std::fs::write(&f, "nameserver 10.0.0.1\n").unwrap();
        let link = dir.join("link");
        std::os::unix::fs::symlink(&f, &link).unwrap();
        assert_eq!(read_small(&f, 100, true).unwrap(), "nameserver 10.0.0.1\n");
        assert_eq!(
            read_small(&link, 100, false).unwrap(),
            "nameserver 10.0.0.1\n"
        );
        let e = read_small(&link, 100, true).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ELOOP), "{e}");
        assert!(
            read_small(&f, 5, true)
                .unwrap_err()
                .to_string()
                .contains("larger")
        );
        assert!(read_small(&dir.join("missing"), 5, true).is_err());
        // Not a regular file: refused after a non-blocking open.
        let e = read_small(dir.path(), 5, false).unwrap_err();
        assert!(e.to_string().contains("regular"), "{e}");
    }
}
