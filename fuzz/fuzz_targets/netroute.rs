//! Arbitrary bytes as `/proc/net/route` and `/proc/net/ipv6_route`. Property: no panic; at most
//! MAX_ROUTES kept; every route has a prefix length within its family, a valid interface name,
//! flag names from the published list, a gateway of its own family; the default routes are a
//! sorted subset that carries traffic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sysgate::testing::tools::parse::netroute::{
    FLAG_NAMES, MAX_ROUTES, default_routes, parse_ipv6_route, parse_route,
};
use sysgate::testing::tools::procfs::is_valid_ifname;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for (routes, v6) in [(parse_route(&text), false), (parse_ipv6_route(&text), true)] {
        assert!(routes.routes.len() <= MAX_ROUTES);
        for r in &routes.routes {
            assert_eq!(r.is_ipv6(), v6);
            assert!(r.prefix_len <= if v6 { 128 } else { 32 });
            assert!(is_valid_ifname(&r.interface));
            assert!(r.gateway.is_none_or(|g| g.is_ipv6() == v6));
            assert!(r.flag_names().iter().all(|n| FLAG_NAMES.contains(n)));
            assert!(!r.kind().is_empty());
        }
        let d = default_routes(&routes.routes);
        assert!(d.windows(2).all(|w| w[0].metric <= w[1].metric));
        assert!(d.iter().all(|r| r.is_default() && !r.is_reject()));
    }
});
