#![forbid(unsafe_code)]
//! Pure parsers of `/proc` and `/sys` text. No I/O here: every function takes the text and returns
//! typed data, so each is tested on fixture text (including hostile and truncated input).

/// `/proc/uptime`: seconds since boot and aggregate idle seconds.
pub fn parse_uptime(text: &str) -> Option<(f64, f64)> {
    let mut it = text.split_ascii_whitespace();
    let up = it
        .next()?
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)?;
    let idle = it
        .next()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .unwrap_or(0.0);
    Some((up, idle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime() {
        assert_eq!(
            parse_uptime("350735.47 234388.90\n"),
            Some((350735.47, 234388.90))
        );
        assert_eq!(parse_uptime("12.5"), Some((12.5, 0.0)));
        assert_eq!(parse_uptime(""), None);
        assert_eq!(parse_uptime("abc def"), None);
        assert_eq!(parse_uptime("-5 1"), None);
        assert_eq!(parse_uptime("NaN 1"), None);
    }
}
