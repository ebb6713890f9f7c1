//! Arbitrary bytes as a dpkg status file (/var/lib/dpkg/status), through the streaming parser. Property: no panic; every
//! installed package has a valid name, version and architecture, and free text no longer than a
//! kept line; line numbers never go back; reading through a tiny buffer gives the same entries
//! as reading from memory (the stream does not depend on where reads split the input).
#![no_main]

use std::io::BufReader;

use libfuzzer_sys::fuzz_target;
use sysgate::testing::tools::parse::dpkg::{Status, parse_status};

#[path = "common/packages.rs"]
mod packages;

fuzz_target!(|data: &[u8]| {
    let all = parse_status(data);
    packages::check(&all, Status::new(BufReader::with_capacity(7, data)));
});
