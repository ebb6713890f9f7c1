//! Arbitrary bytes as an sshd_config file through the parser and the effective-settings
//! computation. Property: no panic; keywords are lowercase ASCII alphanumerics; every directive
//! has an argument; settings are sorted, unique, and include every default keyword.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sysgate::testing::tools::parse::sshd_config::{
    DEFAULTS, Item, Located, MAX_ARGS, effective, parse,
};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (items, _problems) = parse(&text);
    let mut located = Vec::new();
    for item in items {
        match item {
            Item::Directive {
                line,
                keyword,
                args,
            } => {
                assert!(!keyword.is_empty());
                assert!(
                    keyword
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                );
                assert!(!args.is_empty() && args.len() <= MAX_ARGS);
                located.push(Located {
                    file: 0,
                    line,
                    keyword,
                    args,
                });
            }
            Item::Include { patterns, .. } => assert!(!patterns.is_empty()),
            Item::Match { .. } => {}
        }
    }
    let settings = effective(&located);
    for w in settings.windows(2) {
        assert!(w[0].keyword < w[1].keyword, "{:?}", w);
    }
    for (k, _) in DEFAULTS {
        assert!(settings.iter().any(|s| s.keyword == *k), "{k}");
    }
    assert!(settings.iter().any(|s| s.keyword == "listenaddress"));
});
