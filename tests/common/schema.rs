//! Checking tool results through the real binary against the `outputSchema` its `tools/list`
//! publishes (compiled with the server's own validator), so a test proves what a client is told.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sysgate::testing::tools::schema::Schema;

use super::Client;

/// The output schemas this session's `tools/list` publishes, compiled, by tool name.
pub fn listed_output_schemas(c: &mut Client) -> BTreeMap<String, Schema> {
    let list = c.request("tools/list", json!({}));
    list["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("tools/list has no tools: {list}"))
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_owned(),
                Schema::compile(&t["outputSchema"]).unwrap(),
            )
        })
        .collect()
}

/// The output schema this session's `tools/list` publishes for `tool`, compiled.
pub fn listed_output_schema(c: &mut Client, tool: &str) -> Schema {
    listed_output_schemas(c)
        .remove(tool)
        .unwrap_or_else(|| panic!("{tool} is not listed"))
}

/// Panic unless `v` fits `schema`, naming `what` and where and how it breaks the schema.
pub fn assert_fits(schema: &Schema, v: &Value, what: &str) {
    if let Err(e) = schema.validate(v) {
        panic!("{what}: breaks its outputSchema at {}: {}", e.path, e.rule);
    }
}

/// The `result` of tools/call response `r`: it must not be an error and its
/// `structuredContent` must fit `schema` (`what` names the call in a failure).
pub fn ok_result<'a>(r: &'a Value, schema: &Schema, what: &str) -> &'a Value {
    let res = &r["result"];
    assert_eq!(res["isError"], false, "{what}: {r}");
    assert_fits(schema, &res["structuredContent"], what);
    res
}
