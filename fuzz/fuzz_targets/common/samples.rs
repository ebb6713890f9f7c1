//! How the rate targets (diskstats, vmstat) read their input, included by each with `#[path]`:
//! the first byte picks the interval between two samples, including 0 (an empty one), and the
//! rest, as text, splits in two halves at a character boundary: the earlier and the later sample.

/// One fuzz input as an interval and the text of two samples.
pub struct Samples {
    /// The interval in seconds: the first byte / 16.
    pub secs: f64,
    /// The rest of the input, as text (invalid UTF-8 replaced).
    pub text: String,
}

impl Samples {
    pub fn new(data: &[u8]) -> Samples {
        let (secs, rest) = match data.split_first() {
            Some((b, rest)) => (f64::from(*b) / 16.0, rest),
            None => (0.0, data),
        };
        Samples {
            secs,
            text: String::from_utf8_lossy(rest).into_owned(),
        }
    }

    /// The earlier and the later sample: the text's two halves.
    pub fn halves(&self) -> (&str, &str) {
        let text = self.text.as_str();
        text.split_at(text.floor_char_boundary(text.len() / 2))
    }
}
