//! Arbitrary bytes as `resolv.conf` and `nsswitch.conf`. Property: no panic; the lists stay
//! within their caps; every kept nameserver, domain, option and nsswitch item is of the shape
//! the parser promises (no whitespace, no control characters, no shell or markup characters),
//! so nothing else of a hostile file reaches the answer; ignored lines are numbered in order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sysgate::testing::tools::parse::resolv::{MAX_ITEMS, parse_nsswitch_hosts, parse_resolv_conf};

fn plain(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'_' | b'.' | b':' | b'!' | b'=' | b'[' | b']' | b' '
                )
        })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let r = parse_resolv_conf(&text);
    assert!(r.nameservers.len() <= MAX_ITEMS);
    assert!(r.search.len() <= MAX_ITEMS && r.options.len() <= MAX_ITEMS);
    assert!(r.ignored.len() <= MAX_ITEMS);
    assert!(r.ignored.windows(2).all(|w| w[0].line <= w[1].line));
    for n in &r.nameservers {
        assert!(
            n.zone
                .as_deref()
                .is_none_or(|z| plain(z) && !z.contains(' '))
        );
        assert!(n.zone.is_none() || n.address.is_ipv6());
    }
    for s in r.search.iter().chain(&r.options) {
        assert!(plain(s) && !s.contains(' '), "{s:?}");
    }
    if let Some((items, _)) = parse_nsswitch_hosts(&text) {
        assert!(items.len() <= MAX_ITEMS);
        assert!(items.iter().all(|i| plain(i)), "{items:?}");
    }
});
