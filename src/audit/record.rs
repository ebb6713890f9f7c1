#![forbid(unsafe_code)]
//! What one audit record says: the event kinds, the caller's identity and the `Record` builder.
//! `seq`, `prev` and `mac` are not here: `AuditLog::append` adds them under its lock.

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::Value;

/// Every kind of event sysgate audits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Startup,
    AuthSuccess,
    AuthFailure,
    Query,
    QueryDenied,
    Redaction,
    RateLimited,
    LimitExceeded,
    ApprovalRequested,
    ApprovalApproved,
    ApprovalDenied,
    ConfigReload,
    Shutdown,
    /// Written by the log itself when its files do not end where the chain head says.
    AuditGap,
}

impl EventKind {
    pub const ALL: [EventKind; 14] = [
        EventKind::Startup,
        EventKind::AuthSuccess,
        EventKind::AuthFailure,
        EventKind::Query,
        EventKind::QueryDenied,
        EventKind::Redaction,
        EventKind::RateLimited,
        EventKind::LimitExceeded,
        EventKind::ApprovalRequested,
        EventKind::ApprovalApproved,
        EventKind::ApprovalDenied,
        EventKind::ConfigReload,
        EventKind::Shutdown,
        EventKind::AuditGap,
    ];

    /// The name written in the `event` field (and used as the syslog MSGID).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Startup => "startup",
            EventKind::AuthSuccess => "auth_success",
            EventKind::AuthFailure => "auth_failure",
            EventKind::Query => "query",
            EventKind::QueryDenied => "query_denied",
            EventKind::Redaction => "redaction",
            EventKind::RateLimited => "rate_limited",
            EventKind::LimitExceeded => "limit_exceeded",
            EventKind::ApprovalRequested => "approval_requested",
            EventKind::ApprovalApproved => "approval_approved",
            EventKind::ApprovalDenied => "approval_denied",
            EventKind::ConfigReload => "config_reload",
            EventKind::Shutdown => "shutdown",
            EventKind::AuditGap => "audit_gap",
        }
    }
}

/// How a call or decision ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Error,
    Denied,
    Timeout,
    Cancelled,
}

/// Who called, as far as the transport could prove it. Every field is optional; absent fields are
/// not written. `peer_uid` is kept as a decimal string so that anonymisation can replace it with a
/// hash without changing the field's type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClientIdentity {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtls_subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwt_sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_uid: Option<String>,
}

impl ClientIdentity {
    pub fn new(transport: impl Into<String>) -> Self {
        ClientIdentity {
            transport: Some(transport.into()),
            ..ClientIdentity::default()
        }
    }
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.ip = Some(ip);
        self
    }
    pub fn mtls_subject(mut self, subject: impl Into<String>) -> Self {
        self.mtls_subject = Some(subject.into());
        self
    }
    pub fn jwt_sub(mut self, sub: impl Into<String>) -> Self {
        self.jwt_sub = Some(sub.into());
        self
    }
    pub fn peer_uid(mut self, uid: u32) -> Self {
        self.peer_uid = Some(uid.to_string());
        self
    }
}

/// One audit event, built by the caller and handed to `AuditLog::append`:
///
/// ```
/// use sysgate::testing::audit::{ClientIdentity, EventKind, Outcome, Record};
/// let r = Record::new(EventKind::Query)
///     .request_id("42")
///     .tool("get_cpu_info")
///     .params(serde_json::json!({"per_cpu": true}))
///     .client(ClientIdentity::new("stdio").peer_uid(1000))
///     .scopes(["core"])
///     .result(Outcome::Success)
///     .duration(std::time::Duration::from_millis(12))
///     .output_bytes(2048)
///     .redactions(0);
/// assert_eq!(r.event(), EventKind::Query);
/// ```
///
/// `params` and `detail` must already be redacted: the log writes what it is given.
///
/// What the caller controls is bounded, so that a few huge calls cannot rotate the history away:
/// `params` beyond [`MAX_PARAMS_BYTES`] become a summary, `request_id` and `reason` are cut at
/// [`MAX_TEXT_BYTES`].
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub(crate) ts: String,
    pub(crate) event: EventKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tool: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) params: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client: Option<ClientIdentity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) scopes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) result: Option<Outcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) duration_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) output_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) redactions: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) detail: Option<Value>,
    /// The programs the call ran: each one's path, pid, exit code or signal, whether sysgate
    /// stopped it, CPU time, peak RSS and output bytes (see `exec::ChildRecord`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) children: Option<Value>,
}

impl Record {
    /// A record of `event`, timestamped now.
    pub fn new(event: EventKind) -> Self {
        Record {
            ts: format_rfc3339_millis(SystemTime::now()),
            event,
            request_id: None,
            tool: None,
            params: None,
            client: None,
            scopes: None,
            result: None,
            duration_ms: None,
            output_bytes: None,
            redactions: None,
            reason: None,
            detail: None,
            children: None,
        }
    }
    pub fn event(&self) -> EventKind {
        self.event
    }
    /// Overrides the timestamp (the event happened earlier than the record was built).
    pub fn at(mut self, time: SystemTime) -> Self {
        self.ts = format_rfc3339_millis(time);
        self
    }
    /// The request's id; the caller chooses it, so beyond [`MAX_TEXT_BYTES`] it is cut.
    pub fn request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(bound_text(id.into()));
        self
    }
    pub fn tool(mut self, name: impl Into<String>) -> Self {
        self.tool = Some(name.into());
        self
    }
    /// The call's parameters, already redacted by the caller. Beyond [`MAX_PARAMS_BYTES`] of
    /// compact JSON only a summary is kept (see [`bound_params`]).
    pub fn params(mut self, params: Value) -> Self {
        self.params = Some(bound_params(params));
        self
    }
    pub fn client(mut self, client: ClientIdentity) -> Self {
        self.client = Some(client);
        self
    }
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }
    pub fn result(mut self, outcome: Outcome) -> Self {
        self.result = Some(outcome);
        self
    }
    /// Written as whole milliseconds (`duration_ms`), saturating.
    pub fn duration(mut self, d: Duration) -> Self {
        self.duration_ms = Some(u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        self
    }
    pub fn output_bytes(mut self, n: u64) -> Self {
        self.output_bytes = Some(n);
        self
    }
    pub fn redactions(mut self, n: u64) -> Self {
        self.redactions = Some(n);
        self
    }
    /// Why something was denied, failed or happened (free text, no secrets).
    /// Why; beyond [`MAX_TEXT_BYTES`] it is cut (an error message may quote the caller).
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(bound_text(reason.into()));
        self
    }
    /// Event-specific data (config hash and version for `startup`, limit and threshold for
    /// `limit_exceeded`, changed setting names for `config_reload`, ...). No secrets.
    pub fn detail(mut self, detail: Value) -> Self {
        self.detail = Some(detail);
        self
    }
    /// The programs the call ran (an array of `exec::ChildRecord`); an empty array is not
    /// written.
    pub fn children(mut self, children: Value) -> Self {
        if children.as_array().is_some_and(|a| !a.is_empty()) {
            self.children = Some(children);
        }
        self
    }
}

/// `2024-12-12T10:30:45.123Z`: RFC 3339, UTC, millisecond precision. Times before 1970 are written
/// as the epoch (a clock that far off is broken; the record is still written).
pub fn format_rfc3339_millis(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// Proleptic Gregorian date of day `days` after 1970-01-01 (H. Hinnant's `civil_from_days`,
/// restricted to non-negative days): shifts the year to start in March so the leap day is last,
/// then splits into 400-year eras of 146097 days.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097; // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of era, 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of (March-based) year, 0..=365
    let mp = (5 * doy + 2) / 153; // March-based month, 0..=11
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

/// Largest `params` (as compact JSON) a record stores whole.
pub const MAX_PARAMS_BYTES: usize = 2048;
/// Bytes of the compact JSON kept as `prefix` when `params` is summarised.
pub const PARAMS_PREFIX_BYTES: usize = 256;
/// Longest `request_id` or `reason` stored; longer ones are cut and marked.
pub const MAX_TEXT_BYTES: usize = 512;

/// `params` as stored: unchanged up to [`MAX_PARAMS_BYTES`] of compact JSON; beyond,
/// `{"truncated": true, "bytes": N, "sha256": "<hex of the compact JSON>", "prefix": "<its first
/// 256 bytes>"}`. The digest lets an operator holding the arguments (redacted the same way)
/// recognise them; the prefix shows what kind of call it was.
pub fn bound_params(params: Value) -> Value {
    let text = match serde_json::to_string(&params) {
        Ok(t) if t.len() > MAX_PARAMS_BYTES => t,
        _ => return params,
    };
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    serde_json::json!({
        "truncated": true,
        "bytes": text.len(),
        "sha256": super::hex(digest.as_ref()),
        "prefix": &text[..floor_char_boundary(&text, PARAMS_PREFIX_BYTES)],
    })
}

/// `value` with every object key passed through `scrub` (`None`: unchanged), at every depth:
/// a secret can arrive as a key name as well as a value. Two keys that scrub to the same text
/// stay apart (`#2`, `#3`, … is appended), so no argument disappears from the record.
pub fn redact_keys(value: Value, scrub: &dyn Fn(&str) -> Option<String>) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = serde_json::Map::with_capacity(map.len());
            for (k, v) in map {
                let v = redact_keys(v, scrub);
                let Some(new) = scrub(&k) else {
                    out.insert(k, v);
                    continue;
                };
                let mut name = new.clone();
                let mut n = 1;
                while out.contains_key(&name) {
                    n += 1;
                    name = format!("{new}#{n}");
                }
                out.insert(name, v);
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| redact_keys(v, scrub)).collect())
        }
        other => other,
    }
}

/// `text` cut to at most [`MAX_TEXT_BYTES`] (at a char boundary), marked with its full length.
fn bound_text(mut text: String) -> String {
    if text.len() > MAX_TEXT_BYTES {
        let full = text.len();
        let marker = format!("… [cut: {full} bytes]");
        text.truncate(floor_char_boundary(&text, MAX_TEXT_BYTES - marker.len()));
        text.push_str(&marker);
    }
    text
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_ms(ms: u64) -> String {
        format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms))
    }

    #[test]
    fn timestamps_match_known_dates() {
        // Expected values from Python's datetime (an independent implementation).
        assert_eq!(at_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(at_ms(951_868_799_999), "2000-02-29T23:59:59.999Z");
        assert_eq!(at_ms(1_734_000_645_123), "2024-12-12T10:50:45.123Z");
        assert_eq!(at_ms(1_709_251_199_500), "2024-02-29T23:59:59.500Z");
        assert_eq!(at_ms(4_102_444_800_000), "2100-01-01T00:00:00.000Z");
        assert_eq!(at_ms(253_402_300_799_999), "9999-12-31T23:59:59.999Z");
        // Before the epoch: clamped, not a panic.
        let before = UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!(format_rfc3339_millis(before), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn consecutive_days_form_a_valid_calendar() {
        // Walks 1970..2400 day by day: every date must be the successor of the one before.
        let mut prev = civil_from_days(0);
        assert_eq!(prev, (1970, 1, 1));
        for day in 1..157_000u64 {
            let (y, m, d) = civil_from_days(day);
            let (py, pm, pd) = prev;
            let leap = (py % 4 == 0 && py % 100 != 0) || py % 400 == 0;
            let month_len = match pm {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            let expected = if pd < month_len {
                (py, pm, pd + 1)
            } else if pm < 12 {
                (py, pm + 1, 1)
            } else {
                (py + 1, 1, 1)
            };
            assert_eq!((y, m, d), expected, "day {day}");
            prev = (y, m, d);
        }
    }

    #[test]
    fn params_are_kept_whole_up_to_the_bound_then_summarised() {
        let small = serde_json::json!({"limit": 5});
        assert_eq!(bound_params(small.clone()), small);
        let at_bound = Value::String("a".repeat(MAX_PARAMS_BYTES - 2));
        assert_eq!(bound_params(at_bound.clone()), at_bound);
        let big = serde_json::json!({"x": "é".repeat(MAX_PARAMS_BYTES)});
        let text = serde_json::to_string(&big).unwrap();
        let b = bound_params(big);
        assert_eq!(b["truncated"], true);
        assert_eq!(b["bytes"], text.len());
        let prefix = b["prefix"].as_str().unwrap();
        assert!(prefix.len() <= PARAMS_PREFIX_BYTES && text.starts_with(prefix));
        let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
        assert_eq!(b["sha256"], super::super::hex(digest.as_ref()));
    }

    #[test]
    fn key_names_are_scrubbed_at_every_depth_without_collisions() {
        let scrub = |k: &str| k.starts_with("AKIA").then(|| "[KEY]".to_string());
        let v = serde_json::json!({"AKIA1": 1, "AKIA2": 2, "ok": {"AKIA3": [{"AKIA4": true}]}});
        let r = redact_keys(v, &scrub);
        assert_eq!(
            r,
            serde_json::json!({"[KEY]": 1, "[KEY]#2": 2, "ok": {"[KEY]": [{"[KEY]": true}]}})
        );
    }

    #[test]
    fn long_reasons_and_ids_are_cut_and_marked() {
        let r = Record::new(EventKind::QueryDenied)
            .reason("ü".repeat(5000))
            .request_id("1".repeat(10_000));
        let reason = r.reason.unwrap();
        assert!(reason.len() <= MAX_TEXT_BYTES, "{}", reason.len());
        assert!(reason.ends_with("[cut: 10000 bytes]"), "{reason}");
        assert!(r.request_id.unwrap().ends_with("[cut: 10000 bytes]"));
        let short = Record::new(EventKind::Query).reason("fine");
        assert_eq!(short.reason.as_deref(), Some("fine"));
    }

    #[test]
    fn absent_fields_are_not_written() {
        let r = Record::new(EventKind::Shutdown).reason("SIGTERM");
        let v = serde_json::to_value(&r).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["event", "reason", "ts"]);
        assert_eq!(v["event"], "shutdown");
    }

    #[test]
    fn event_names_match_serialization() {
        for e in EventKind::ALL {
            assert_eq!(serde_json::to_value(e).unwrap(), e.name());
        }
    }

    #[test]
    fn client_identity_fields() {
        let c = ClientIdentity::new("https")
            .ip("10.0.1.50".parse().unwrap())
            .mtls_subject("CN=proxy")
            .jwt_sub("user@example.com")
            .peer_uid(1000);
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"transport": "https", "ip": "10.0.1.50",
                "mtls_subject": "CN=proxy", "jwt_sub": "user@example.com", "peer_uid": "1000"})
        );
    }
}
