//! Arbitrary bytes as rpm -qa --queryformat output, through the streaming parser. Property: no panic; every
//! installed package has a valid name, version and architecture, and free text no longer than a
//! kept line; line numbers never go back; reading through a tiny buffer gives the same entries
//! as reading from memory (the stream does not depend on where reads split the input).
#![no_main]

use std::io::BufReader;

use libfuzzer_sys::fuzz_target;
use sysgate::testing::tools::parse::rpm::{Query, parse_query};

#[path = "common/packages.rs"]
mod packages;

fuzz_target!(|data: &[u8]| {
    let all = parse_query(data);
    packages::check(&all, Query::new(BufReader::with_capacity(7, data)));
});
