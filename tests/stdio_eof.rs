//! End of input on stdio: a client that writes its requests and closes its end at once
//! (`printf '...' | sysgate`) still gets every answer, whole, including a large one that is still
//! being written when the input ends.

mod common;

use std::time::Duration;

use common::{Client, TempDir, write_config};
use serde_json::json;

#[test]
fn answers_in_flight_at_end_of_input_are_written_whole() {
    let dir = TempDir::new("eof");
    let cfg = dir.path("config.yaml");
    write_config(&cfg, "", 0o600);
    let cfg = cfg.to_str().unwrap();
    // The race is between the last answer being written and the process exiting; a few rounds
    // make losing it likely if the order is ever wrong again.
    for round in 0..20 {
        let mut c = Client::spawn(&["--config", cfg]);
        c.send(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"}}}),
        );
        // The largest answer there is: every process, with command lines.
        c.send(
            &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "get_processes", "arguments": {"limit": 500, "sort_by": "pid"}}}),
        );
        c.close_stdin();
        // `recv` fails the test on a line that is not whole JSON.
        let r = c
            .wait_for(&json!(2), Duration::from_secs(10))
            .unwrap_or_else(|| panic!("round {round}: no answer before the process exited"));
        assert_eq!(r["result"]["isError"], json!(false), "round {round}: {r}");
        let returned = r["result"]["structuredContent"]["returned"]
            .as_u64()
            .unwrap();
        assert!(returned > 1, "round {round}: {returned} processes");
        let status = c.child.wait().unwrap();
        assert!(status.success(), "round {round}: exit {status}");
    }
}
