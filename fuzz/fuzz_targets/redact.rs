//! Arbitrary text through the default redactor: it must not panic, must leave no AWS access key
//! id behind, and must be idempotent; its redaction-aware cut must keep a prefix of at most the
//! asked number of characters.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use regex::Regex;
use serde_json::{Value, json};
use sysgate::testing::output::redact::{RedactionSettings, Redactor, default_patterns};

static REDACTOR: LazyLock<Redactor> =
    LazyLock::new(|| Redactor::new(&RedactionSettings::default()).expect("defaults compile"));

static AWS_KEY: LazyLock<Regex> = LazyLock::new(|| {
    let spec = default_patterns()
        .into_iter()
        .find(|p| p.name == "aws_access_key")
        .expect("the aws_access_key default exists");
    Regex::new(&spec.pattern).expect("it compiles")
});

fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Object(map) => map.values().for_each(|i| strings(i, out)),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let value = json!({"line": text, "lines": text.split('\n').collect::<Vec<_>>()});
    let once = REDACTOR
        .redact(value)
        .expect("the default fail action never errors");
    let mut all = Vec::new();
    strings(&once.value, &mut all);
    for s in &all {
        assert!(!AWS_KEY.is_match(s), "an AWS key id survived: {s:?}");
    }
    let twice = REDACTOR.redact(once.value.clone()).expect("never errors");
    assert_eq!(twice.value, once.value, "redaction is not idempotent");
    let max = usize::from(data.first().copied().unwrap_or(0));
    let (kept, cut) = REDACTOR.cut(&text, max);
    assert!(text.starts_with(&kept), "the cut is not a prefix");
    assert!(kept.chars().count() <= max || !cut, "the cut kept too much");
    assert_eq!(cut, text.chars().count() > max);
});
